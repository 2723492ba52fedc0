"""JavaScript shared by the browser tests and the benches that drive the app's pages.

Streamlit custom components (v2) such as the drag map and the scrubber live in shadow roots, which
`document.querySelector` does not look into.
"""
import json


def find_in_page(selector: str) -> str:
    """A JavaScript expression: the first element matching `selector` in the document or in any
    shadow root of the page (undefined when there is none)."""
    return ("[document, ...[...document.querySelectorAll('*')].map(e => e.shadowRoot).filter(Boolean)]"
            f".map(r => r.querySelector({json.dumps(selector)})).find(Boolean)")
