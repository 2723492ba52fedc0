"""The drawing pad's picture from the browser is checked before anything decodes it."""
import base64
import io

import numpy as np
import pytest
from PIL import Image

from conftest import assert_clean, run_app
from playground.drawpad import MAX_SIDE, checked_png


def png(w: int, h: int, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.new("L", (w, h)).save(buf, format=fmt)
    return buf.getvalue()


def test_a_pad_sized_png_passes_unchanged():
    raw = png(280, 280)
    assert checked_png(raw, MAX_SIDE) == raw


@pytest.mark.parametrize("raw, words", [
    (png(4000, 4000), "4000 x 4000 pixels"),         # 30 KB of data URL, 16 MB once decoded
    (png(280, 280, "JPEG"), "not a PNG"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "not a picture"),
    (b"", "not a picture"),
], ids=["4000-pixels", "jpeg", "truncated-png", "empty"])
def test_a_huge_or_foreign_picture_is_refused_in_words(raw, words):
    with pytest.raises(ValueError, match=words):
        checked_png(raw, MAX_SIDE)


def test_the_brush_page_says_a_huge_picture_was_refused_and_keeps_working():
    """A websocket client can send any data URL as the pad's value: a 4,000-pixel picture is refused
    before decoding (a 9,000 x 9,000 one took 4.4 GB before this check) and the page says so."""
    at = run_app(model="mnist-vae", proj="pca")
    at.switch_page("views/inpaint.py").run()
    at.session_state["inpaint_brush"] = {"png": "data:image/png;base64," + base64.b64encode(png(4000, 4000)).decode()}
    at.radio(key="inpaint_mask").set_value("Paint it with the brush").run()
    assert_clean(at, "a huge brush picture")
    assert any("could not be read" in w.value and "4000 x 4000" in w.value for w in at.warning), \
        [w.value for w in at.warning]
    assert any("Paint the part to hide" in i.value for i in at.info)         # nothing hidden: it waits
