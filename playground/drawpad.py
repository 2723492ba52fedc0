"""A drawing pad (Streamlit custom component v2: no build step; CSS and JS in drawpad.css and
drawpad.js beside this module, read at import).

Draw with the mouse, a pen or a finger; light strokes on opaque black like MNIST. When a stroke ends,
the pad sends the picture as a PNG data URL (state value `png`); Clear sends None. The session keeps
one picture (bounded by the canvas size), no list of strokes.
"""
from __future__ import annotations

import base64
from pathlib import Path

import streamlit as st

HTML = """
<div class="pad">
  <canvas width="280" height="280" aria-label="drawing pad"></canvas>
  <div class="row"><button type="button" class="clear">Clear</button>
  <span class="hint">Draw one digit or item, large, in the middle.</span></div>
</div>
"""

CSS = Path(__file__).with_name("drawpad.css").read_text(encoding="utf-8")
JS = Path(__file__).with_name("drawpad.js").read_text(encoding="utf-8")
MAX_PNG_CHARS = 2_000_000        # a 280 x 280 drawing is far smaller; anything bigger is not ours

_pad = st.components.v2.component("latent_playground_drawpad", html=HTML, css=CSS, js=JS)


def drawpad(key: str) -> bytes | None:
    """Mount the pad; returns the drawing as PNG bytes, or None while it is empty."""
    previous = (st.session_state.get(key) or {}).get("png")
    if not _is_png_url(previous):
        previous = None
    result = _pad(key=key, data={"width": 20, "png": previous}, on_png_change=lambda: None)
    url = getattr(result, "png", None)
    if not _is_png_url(url):
        return None
    try:
        return base64.b64decode(url.split(",", 1)[1], validate=True)
    except ValueError:
        return None


def _is_png_url(url) -> bool:
    return isinstance(url, str) and url.startswith("data:image/png;base64,") and len(url) <= MAX_PNG_CHARS
