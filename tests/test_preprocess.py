"""playground.preprocess: hostile files get a clear ImageError fast; real pictures come out MNIST-like."""
import io
import pickle
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw, ImageFont

import models
from playground.preprocess import ImageError, prepare, prepare_image

MNIST = {"dataset": {"name": "mnist"}}
FASHION = {"dataset": {"name": "fashion-mnist"}}
FOLDER = {"dataset": {"name": "my-folder"}}


def encode(im: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def digit_on_paper(digit: int, size=(1200, 900), at=(600, 150), ink=(30, 30, 40), paper=(235, 230, 220)):
    im = Image.new("RGB", size, paper)
    ImageDraw.Draw(im).text(at, str(digit), fill=ink, font=ImageFont.load_default(size=400))
    return im


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims width x height pixels but holds a few bytes: a decompression bomb's header."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


def same_picture(a, b, tol=0.03) -> bool:
    """Equal up to a one-pixel shift (centring by mass can round either way)."""
    return min(np.abs(np.roll(a, (dy, dx), (0, 1)) - b).mean()
               for dy in (-1, 0, 1) for dx in (-1, 0, 1)) < tol


def assert_model_input(a):
    assert a.shape == (28, 28) and a.dtype == np.float32
    assert a.min() >= 0 and a.max() <= 1 and a.max() > 0.5


HOSTILE = {
    "empty": (b"", "empty"),
    "text named .png": (b"hello, this is not a picture\n" * 10, "not a picture"),
    "pickle named .png": (pickle.dumps({"a": 1}, protocol=4), "pickle"),
    "svg": (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', "SVG"),
    "html": (b"<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>", "HTML"),
    "pdf": (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "PDF"),
    "decompression bomb": (png_header_only(50_000, 50_000), "too large"),
    "too large a side": (png_header_only(30_000, 10), "too large"),
    "random bytes": (bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8)), "not a picture"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_files_get_a_clear_message(name):
    data, words = HOSTILE[name]
    with pytest.raises(ImageError, match=f"(?i){words}"):
        prepare_image(data, MNIST)


def test_truncated_pictures_are_refused_with_a_message():
    for fmt in ("PNG", "JPEG", "WEBP", "TIFF", "GIF", "BMP"):
        data = encode(digit_on_paper(3, size=(300, 300), at=(100, 0)).convert("RGB" if fmt != "GIF" else "P"), fmt)
        with pytest.raises(ImageError, match="(?i)damaged|truncated|not a picture"):
            prepare_image(data[: len(data) // 2], MNIST)


def test_oversized_upload_is_refused_before_decoding():
    with pytest.raises(ImageError, match="limit is 10 MB"):
        prepare_image(b"\x89PNG" + b"\0" * (11 * 2**20), MNIST)


@pytest.mark.parametrize("im", [
    Image.new("L", (1, 1), 0), Image.new("L", (1, 1), 255), Image.new("RGB", (640, 480), (250, 250, 250)),
    Image.new("RGBA", (64, 64), (0, 0, 0, 0))], ids=["1x1 black", "1x1 white", "blank paper", "transparent"])
def test_blank_pictures_say_there_is_nothing_to_encode(im):
    with pytest.raises(ImageError, match="(?i)blank|transparent"):
        prepare_image(encode(im), MNIST)


def test_dark_ink_on_light_paper_becomes_light_on_dark_and_is_framed_like_mnist():
    p = prepare(encode(digit_on_paper(7), "JPEG"), MNIST)
    a = p.image
    assert_model_input(a)
    assert any("inverted" in n for n in p.notes)
    assert a[0].max() == 0 and a[-1].max() == 0 and a[:, 0].max() == 0 and a[:, -1].max() == 0
    rows, cols = np.flatnonzero(a.max(1) > 0.05), np.flatnonzero(a.max(0) > 0.05)
    assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 <= 22            # the 20x20 box (+ resampling)
    yy, xx = np.indices(a.shape)
    cy, cx = (yy * a).sum() / a.sum(), (xx * a).sum() / a.sum()
    assert abs(cy - 13.5) < 1.0 and abs(cx - 13.5) < 1.0                     # centred by mass


def test_fashion_framing_fills_the_square_and_light_on_dark_stays():
    im = Image.new("RGB", (400, 300), (0, 0, 0))
    ImageDraw.Draw(im).rectangle((50, 100, 349, 199), fill=(200, 200, 200))   # a wide light "bag"
    p = prepare(encode(im), FASHION)
    assert not any("inverted" in n for n in p.notes)
    cols = np.flatnonzero(p.image.max(0) > 0.5)
    assert cols[0] <= 1 and cols[-1] >= 26                                  # longer side spans 28
    rows = np.flatnonzero(p.image.max(1) > 0.5)
    assert abs((rows[0] + rows[-1]) / 2 - 13.5) <= 1                         # centred by its box


def test_folder_models_get_the_stretch_their_training_used():
    im = Image.new("L", (200, 80), 0)
    ImageDraw.Draw(im).rectangle((20, 10, 179, 59), fill=255)
    assert (prepare_image(encode(im), FOLDER) > 0.9).all()


def test_exif_orientation_is_applied():
    upright = digit_on_paper(7, size=(900, 1200), at=(250, 300))
    stored = upright.rotate(90, expand=True)                      # a camera stores it sideways...
    exif = Image.Exif()
    exif[0x0112] = 6                                               # ...and says "turn 90° clockwise to view"
    p = prepare(encode(stored, "JPEG", exif=exif), MNIST)
    ref = prepare_image(encode(upright, "JPEG"), MNIST)
    assert any("EXIF" in n for n in p.notes)
    assert same_picture(p.image, ref)


@pytest.mark.parametrize("mode", ["P", "LA", "RGBA", "CMYK", "I;16", "I", "F", "1"])
def test_any_mode_becomes_the_same_digit(mode):
    base = digit_on_paper(4, size=(400, 300), at=(120, -40)).convert("L")
    ref = prepare_image(encode(base), MNIST)
    if mode == "I;16":
        im = Image.fromarray((np.asarray(base, np.uint16) * 257).astype(np.uint16))
    elif mode in ("I", "F"):
        im = Image.fromarray(np.asarray(base, np.int32 if mode == "I" else np.float32) * (1 if mode == "I" else 1 / 255))
    elif mode == "1":
        im = base.convert("1", dither=Image.Dither.NONE)        # a thresholded 1-bit scan
    else:
        im = base.convert(mode)
    fmt = "TIFF" if mode in ("CMYK", "I", "F", "I;16") else "PNG"
    got = prepare_image(encode(im, fmt), MNIST)
    assert_model_input(got)
    assert same_picture(got, ref, 0.06 if mode == "1" else 0.03), mode   # "1": hard edges


def test_transparent_background_is_composited_against_the_ink():
    dark = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    ImageDraw.Draw(dark).text((80, -30), "3", fill=(0, 0, 0, 255), font=ImageFont.load_default(size=300))
    light = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    ImageDraw.Draw(light).text((80, -30), "3", fill=(255, 255, 255, 255), font=ImageFont.load_default(size=300))
    a, b = prepare(encode(dark), MNIST), prepare(encode(light), MNIST)
    assert any("white" in n for n in a.notes) and any("black" in n for n in b.notes)
    assert_model_input(a.image)
    assert same_picture(a.image, b.image)                # black ink on nothing = white ink on nothing


def test_animated_gif_uses_the_first_frame():
    frames = [digit_on_paper(d, size=(300, 300), at=(80, -40)).convert("P") for d in (1, 8)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    p = prepare(data, MNIST)
    assert any("first frame" in n for n in p.notes)
    assert np.abs(p.image - prepare_image(encode(frames[0], "GIF"), MNIST)).mean() < 1e-6


def test_a_huge_legitimate_photo_is_fine():
    im = digit_on_paper(2, size=(7000, 5000), at=(3000, 1500))
    im = im.resize((7000, 5000))
    ImageDraw.Draw(im).text((3000, 1500), "2", fill=(20, 20, 20), font=ImageFont.load_default(size=2500))
    data = encode(im, "JPEG", quality=85)
    a = prepare_image(data, MNIST)               # its speed is measured by bench/upload_speed.py
    assert_model_input(a)


def test_typeset_digits_come_back_as_their_class_after_encode_decode():
    """Dark on light, off-centre, in a big frame: what a phone photo of a digit looks like."""
    vae, clf = models.load("mnist-vae"), models.load("mnist-classifier")
    prepared, naive = [], []
    for d in range(10):
        data = encode(digit_on_paper(d, at=(150 + 60 * d, 100 + 20 * d)), "JPEG")
        prepared.append(prepare_image(data, vae.card))
        with Image.open(io.BytesIO(data)) as im:            # what a naive resize would feed the model
            naive.append(np.asarray(im.convert("L").resize((28, 28)), np.float32) / 255)
    x = np.stack(prepared)[:, None]
    right = (clf.predict_proba(vae.decode(vae.encode(x))).argmax(1) == np.arange(10)).sum()
    naive_right = (clf.predict_proba(np.stack(naive)[:, None]).argmax(1) == np.arange(10)).sum()
    assert right >= 8, right                    # typeset, not handwritten: 8 of 10 survive the VAE
    assert naive_right <= 3, naive_right        # and without the preprocessing, almost none do


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_fuzz_random_bytes_only_ever_raise_image_error(data):
    try:
        a = prepare_image(data, MNIST)
    except ImageError as e:
        assert str(e)
    else:
        assert a.shape == (28, 28) and np.isfinite(a).all()


_SEED_PNG = encode(digit_on_paper(5, size=(64, 64), at=(10, -10)).convert("L"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(_SEED_PNG) - 1), st.integers(0, 255)), max_size=8),
       st.integers(8, len(_SEED_PNG)))
def test_fuzz_mutated_pngs_only_ever_raise_image_error(edits, cut):
    data = bytearray(_SEED_PNG[:cut])
    for i, v in edits:
        if i < len(data):
            data[i] = v
    try:
        a = prepare_image(bytes(data), MNIST)
    except ImageError as e:
        assert str(e)
    else:
        assert a.shape == (28, 28) and a.dtype == np.float32 and 0 <= a.min() and a.max() <= 1
