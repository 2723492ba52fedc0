"""Binary data for the browser (the decoder's weights, a map's inverse, its points and its atlas),
served by the app itself (no CDN: it runs offline).

A page publishes a blob under a name that holds a hash of what it depends on (a decoder's weights
sha256 and export format; a map's cache name and the blob's own sha256); the route
`/lp-decoder/<name>.bin` serves it with a year's `immutable` Cache-Control, so each browser fetches
the weights of a model once. Blobs are kept per process in a store bounded by total bytes (least
recently published dropped first); a page publishes again on every run, so the blobs in use stay.

The route exists when the app runs through playground/server.py (`st.App`, the README's command);
`available()` says whether it does, and the page says why the preview is blended when it does not.
"""
from __future__ import annotations

import re
import threading
from collections import OrderedDict

PREFIX = "/lp-decoder"
MAX_BYTES = 160 * 1024 * 1024          # about twenty models' weights and a few maps of 70,000 points
NAME = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")

_lock = threading.Lock()
_blobs: OrderedDict[str, bytes] = OrderedDict()
_routes_made = False


def available() -> bool:
    """Whether this process serves the route (it was started through playground/server.py)."""
    return _routes_made


TYPES = {"bin": "application/octet-stream", "png": "image/png"}      # what a name's suffix serves as


def publish(name: str, blob: bytes, suffix: str = "bin") -> str:
    """Keep `blob` under `name` (a content key) and return its URL path (`.bin`, or `.png` for a
    picture an <img> shows)."""
    if not NAME.match(name):
        raise ValueError(f"a blob name of letters, digits, '.', '_' and '-' only, not {name!r}")
    if suffix not in TYPES:
        raise ValueError(f"a blob is served as one of {sorted(TYPES)}, not {suffix!r}")
    name = f"{name}.{suffix}"
    with _lock:
        _blobs[name] = blob
        _blobs.move_to_end(name)
        total = sum(len(b) for b in _blobs.values())
        while total > MAX_BYTES and len(_blobs) > 1:
            _, dropped = _blobs.popitem(last=False)
            total -= len(dropped)
    return f"{PREFIX}/{name}"


def lookup(name: str, suffix: str = "bin") -> bytes | None:
    with _lock:
        return _blobs.get(f"{name}.{suffix}")


def routes() -> list:
    """The Starlette route for st.App(routes=...)."""
    global _routes_made
    from starlette.responses import Response
    from starlette.routing import Route

    def serving(suffix: str):
        async def serve(request):
            blob = lookup(request.path_params["name"], suffix)
            if blob is None:
                return Response("unknown or expired decoder data: reload the page", status_code=404,
                                media_type="text/plain")
            return Response(blob, media_type=TYPES[suffix],
                            headers={"Cache-Control": "public, max-age=31536000, immutable"})
        return serve

    _routes_made = True
    return [Route(PREFIX + "/{name}." + suffix, serving(suffix), methods=["GET"]) for suffix in TYPES]
