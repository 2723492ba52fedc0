"""The browser decoder's data for a page (drag map, scrubber): the model's exported decoder and the
map's inverse, published at decoder_route.py's URLs. Caches are bounded and keyed by the weights
sha256 and the map's cache name (which holds the hashes of everything the map depends on)."""
from __future__ import annotations

import hashlib
import logging

import numpy as np

from playground import decoder_route
from playground.bounded import MB, cache_resource
from playground.decoder_export import ExportError, export_decoder
from playground.decoder_inverse import inverse_desc, map_blob

log = logging.getLogger(__name__)
NOT_SERVED = ("the app was not started with `streamlit run playground/server.py`, which serves the "
              "decoder's weights")


@cache_resource(show_spinner=False, max_entries=16, max_bytes=256 * MB)
def browser_decoder(name: str, sha: str, _m) -> tuple[dict | None, bytes | None, str]:
    """The decoder exported for the browser (spec, weights), or why it cannot be."""
    try:
        spec, blob = export_decoder(_m)
    except ExportError as e:
        return None, None, str(e)
    except Exception as e:           # noqa: BLE001  (a bug in the export must not crash the page)
        log.exception("exporting the decoder of %s for the browser failed", name)
        return None, None, f"the decoder could not be exported for the browser ({type(e).__name__}: {e})"
    return spec, blob, ""


@cache_resource(show_spinner=False, max_entries=8, max_bytes=512 * MB)
def _map_data(map_name: str, _lmap) -> tuple[str, bytes | None]:
    """The learned inverse's blob and its content name (None for an exact inverse)."""
    if _lmap.exact:
        return "", None
    blob = map_blob(_lmap)
    return f"map-{hashlib.sha256(blob).hexdigest()[:24]}", blob


def decoder_data(name: str, m) -> dict:
    """{key, spec, url} of the model's decoder for the browser, or {error: why the page cannot}."""
    if not decoder_route.available():
        return {"error": NOT_SERVED}
    spec, blob, why = browser_decoder(name, m.card["weights"]["sha256"], m)
    if spec is None:
        return {"error": why}
    key = f"decoder-{spec['weights_sha256']}-{spec['blob_sha256'][:16]}"
    return {"key": key, "spec": spec, "url": decoder_route.publish(key, blob)}


def inverse_data(lmap, extent: np.ndarray, base=None) -> dict:
    """{key, desc, url}: the map's inverse as the browser runs it (PCA keeps base's hidden part)."""
    name, blob = _map_data(lmap.cache_name, lmap)
    url = decoder_route.publish(name, blob) if blob is not None and decoder_route.available() else None
    return {"key": name or lmap.cache_name, "desc": inverse_desc(lmap, extent, base=base), "url": url}
