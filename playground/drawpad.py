"""A drawing pad (Streamlit custom component v2: no build step; CSS and JS in drawpad.css and
drawpad.js beside this module, read at import).

Draw with the mouse, a pen or a finger; light strokes on opaque black like MNIST. When a stroke ends,
the pad sends the picture as a PNG data URL (state value `png`); Clear sends None. The session keeps
one picture (bounded by the canvas size), no list of strokes.

With `background` (an image), the pad is a brush for a mask: the image shows under it, the strokes
over it in colour, and the picture sent is the strokes alone, light on black, as above. `size`
(height, width) sets the canvas in screen pixels (default 280 x 280), so a mask for an image that
is not square keeps the image's aspect.
"""
from __future__ import annotations

import base64
import io
from pathlib import Path

import streamlit as st
from PIL import Image

HTML = """
<div class="pad">
  <div class="stack"><img class="under" hidden alt="the image under the brush">
  <canvas width="280" height="280" aria-label="drawing pad"></canvas></div>
  <div class="row"><button type="button" class="clear">Clear</button>
  <span class="hint"></span></div>
</div>
"""

CSS = Path(__file__).with_name("drawpad.css").read_text(encoding="utf-8")
JS = Path(__file__).with_name("drawpad.js").read_text(encoding="utf-8")
MAX_PNG_CHARS = 2_000_000        # a 280 x 280 drawing is far smaller; anything bigger is not ours

_pad = st.components.v2.component("latent_playground_drawpad", html=HTML, css=CSS, js=JS)


DRAW_HINT = "Draw one digit or item, large, in the middle."
BRUSH_HINT = "Paint over the part to hide."


SIDE = 280                       # the default canvas, square
MIN_SIDE, MAX_SIDE = 64, 560     # a canvas side asked for is kept within these


def drawpad(key: str, background: str | None = None, size: tuple[int, int] = (SIDE, SIDE)) -> bytes | None:
    """Mount the pad; returns the drawing as PNG bytes, or None while it is empty.

    `background`: a PNG data URL shown under the pad (mask mode; see the module's docstring).
    `size`: the canvas's (height, width) in screen pixels, each kept within 64 to 560."""
    height, width = (int(min(max(v, MIN_SIDE), MAX_SIDE)) for v in size)
    previous = (st.session_state.get(key) or {}).get("png")
    if not _is_png_url(previous):
        previous = None
    data = {"width": 20, "png": previous, "background": background, "canvas": [height, width],
            "hint": BRUSH_HINT if background else DRAW_HINT}
    result = _pad(key=key, data=data, on_png_change=lambda: None)
    url = getattr(result, "png", None)
    if not _is_png_url(url):
        return None
    try:
        return checked_png(base64.b64decode(url.split(",", 1)[1], validate=True), MAX_SIDE)
    except ValueError as e:
        st.warning(f"The drawing could not be read: {e}", icon=":material/gesture:")
        return None


def checked_png(raw: bytes, max_side: int) -> bytes:
    """`raw` if it is a PNG no larger than the largest canvas, else ValueError in words. Only the
    header is read: a small data URL can hold a huge, highly compressible picture (9,000 x 9,000 in
    105 KB), which decoding would turn into gigabytes."""
    try:
        with Image.open(io.BytesIO(raw)) as im:
            fmt, (w, h) = im.format, im.size
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise ValueError(f"it is not a picture ({type(e).__name__})") from None
    if fmt != "PNG":
        raise ValueError(f"it is a {fmt}, not a PNG")
    if w > max_side or h > max_side:
        raise ValueError(f"it is {w} x {h} pixels, larger than the pad ({max_side} a side at most)")
    return raw


def _is_png_url(url) -> bool:
    return isinstance(url, str) and url.startswith("data:image/png;base64,") and len(url) <= MAX_PNG_CHARS
