"""playground.preprocess stage by stage on tiny pictures with known answers: exact messages, modes,
thresholds and framing (written against the mutation run: `bash scripts/mutation.sh`, docs/mutation.md)."""
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from playground import preprocess as pp
from playground.preprocess import ImageError, prepare, prepare_image

MNIST = {"dataset": {"name": "mnist"}}
FASHION = {"dataset": {"name": "fashion-mnist"}}


def png(im: Image.Image, fmt="PNG", **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


def refused(data, message, card=MNIST):
    with pytest.raises(ImageError) as e:
        prepare_image(data, card)
    assert str(e.value) == message, str(e.value)


def block(size=(40, 40), box=(10, 10, 30, 30), bg=0, fg=255, mode="L"):
    im = Image.new(mode, size, bg)
    im.paste(fg, box)
    return im


# ---- what is not a picture -----------------------------------------------------------------------

SVG = "This file is an SVG drawing (vector graphics); export it as PNG first."


def test_sniffed_kinds_get_exact_messages():
    refused(b"", "The file is empty.")
    refused(b"  \n<SVG width='1'/>", SVG)
    refused(b'<?xml version="1.0"?>\n<!-- x -->\n<svg/>', SVG)
    refused(b"<!DOCTYPE HTML><p>", "This file is a web page (HTML), not a picture.")
    refused(b"<html><body>", "This file is a web page (HTML), not a picture.")
    refused(b"%PDF-1.7\n", "This file is a PDF document; export the page as PNG first.")
    for proto in (2, 3, 4, 5):
        refused(bytes([0x80, proto]) + b"}q\x00.", "This file is a Python pickle, which is never opened here.")
    not_a_picture = ("This is not a picture we can read: upload a PNG, JPEG, GIF, BMP, WebP or TIFF file.")
    for other in (b"\x80\x01}q.", b"\x80\x06}q.", b"<?xml version='1.0'?><note/>", b"hello"):
        refused(other, not_a_picture)


def test_sniffing_looks_at_the_head_only():
    assert pp._sniff(b" " * 508 + b"<svg/>") is not None          # "<svg" ends at byte 512
    assert pp._sniff(b" " * 509 + b"<svg/>") is None
    assert pp._sniff(b"<?xml?>" + b" " * 4085 + b"<svg") is not None  # "<svg" ends at byte 4096
    assert pp._sniff(b"<?xml?>" + b" " * 4086 + b"<svg") is None
    assert pp._sniff(png(block())) is None


def test_size_limits_exact():
    assert (pp.MAX_BYTES, pp.MAX_PIXELS, pp.MAX_SIDE, pp.WORK_SIDE) == (10 * 2**20, 40_000_000, 20_000, 256)
    refused(b"x" * (10 * 2**20 + 1), "The file is 10.0 MB; the limit is 10 MB.")
    with pytest.raises(ImageError, match="^This is not a picture"):  # exactly 10 MB: not refused for size
        prepare_image(b"x" * (10 * 2**20), MNIST)
    big = "too large to decode safely (limit 40 megapixels, 20,000 a side). Scale it down first."
    refused(png_header_only(20_001, 1), f"The picture is 20,001 x 1 pixels, {big}")
    refused(png_header_only(1, 20_001), f"The picture is 1 x 20,001 pixels, {big}")
    refused(png_header_only(8000, 5001), f"The picture is 8,000 x 5,001 pixels, {big}")
    for ok in ((20_000, 1), (1, 20_000), (8000, 5000)):           # within the limits: only then decoded
        with pytest.raises(ImageError) as e:
            prepare_image(png_header_only(*ok), MNIST)
        assert "too large" not in str(e.value)
    refused(png_header_only(12_000, 12_000),
            "The picture claims to be too large to decode safely (limit 40 megapixels): a decompression bomb, "
            "or a scan to scale down first.")


def test_damaged_header_is_reported_with_the_reason():
    data = bytearray(png(block(), "BMP"))
    data[28] = 7                                                    # 7 bits per pixel
    refused(bytes(data), "The picture is damaged and cannot be read (Unsupported BMP pixel depth (7)).")


# ---- decoding ------------------------------------------------------------------------------------

def test_first_frame_of_an_animation_with_a_note():
    frames = [block(box=(5, 5, 15, 15)), block(box=(25, 25, 35, 35)), block(box=(20, 5, 35, 12))]
    data = png(frames[0], "GIF", save_all=True, append_images=frames[1:])
    p = prepare(data, MNIST)
    assert p.notes[0] == "Animated or multi-page (3 frames): the first frame is used."
    assert p.box == (5, 15, 5, 15)
    assert prepare(png(frames[1], "GIF"), MNIST).notes == []       # one frame: no note


def test_exif_orientation_applied_with_a_note():
    im = block(size=(60, 30), box=(0, 0, 10, 30)).convert("RGB")   # a bar at the left
    exif = Image.Exif()
    exif[0x0112] = 6                                               # rotate 90 degrees clockwise to view
    p = prepare(png(im, "PNG", exif=exif), MNIST)
    assert "Rotated upright as its EXIF orientation says." in p.notes
    assert p.original.size == (30, 60)
    assert p.box[0] == 0 and p.box[1] == 10                        # the bar is now at the top
    exif[0x0112] = 1
    assert not any("EXIF" in n for n in prepare(png(im, "PNG", exif=exif), MNIST).notes)


def test_big_pictures_are_worked_on_at_256_pixels():
    p = prepare(png(block(size=(1000, 500), box=(100, 100, 400, 300))), MNIST)
    assert p.original.size == (256, 128) and p.gray.shape == (128, 256)
    p = prepare(png(block(size=(3000, 6), box=(0, 0, 1500, 6))), MNIST)
    assert p.original.size == (256, 1)                              # never 0 pixels high
    p = prepare(png(block(size=(256, 100))), MNIST)
    assert p.original.size == (256, 100)
    jpeg = prepare(png(block(size=(2000, 1000), box=(200, 200, 800, 800)).convert("RGB"), "JPEG"), MNIST)
    assert jpeg.original.size == (256, 128)


def test_shrink_averages_palette_and_bilevel_pictures():
    one = Image.new("1", (512, 512), 0)
    one.paste(1, (0, 0, 1, 512))                                   # a one-pixel line
    small = pp._shrink(one)
    assert small.mode == "RGBA" and small.size == (256, 256)
    assert np.asarray(small)[:, 0, 0].max() == 128                 # averaged, not dropped or kept whole
    pal = one.convert("P")
    assert pp._shrink(pal).mode == "RGBA"
    wide = Image.fromarray(np.full((300, 600), 40000, np.uint16))
    assert wide.mode == "I;16"
    shrunk = pp._shrink(wide)
    assert shrunk.mode == "I" and shrunk.size == (256, 128) and np.asarray(shrunk).max() == 40000


# ---- modes ---------------------------------------------------------------------------------------

def test_to_channels_integer_and_float_modes_exact():
    rgb, alpha = pp._to_channels(Image.fromarray(np.array([[0, 65535, 32768]], np.uint16)), [])
    assert alpha is None and rgb.shape == (1, 3, 3)
    np.testing.assert_allclose(rgb[0, :, 0], [0, 1, 32768 / 65535])
    np.testing.assert_array_equal(rgb[..., 0], rgb[..., 2])
    i = Image.fromarray(np.array([[0, 255, 51]], np.int32))
    assert i.mode == "I"
    np.testing.assert_allclose(pp._to_channels(i, [])[0][0, :, 1], [0, 1, 0.2])
    i300 = Image.fromarray(np.array([[0, 300]], np.int32))
    np.testing.assert_allclose(pp._to_channels(i300, [])[0][0, :, 0], [0, 300 / 65535])
    big = Image.fromarray(np.array([[100, 70000, 35050]], np.int32))          # beyond 16 bits: stretched
    np.testing.assert_allclose(pp._to_channels(big, [])[0][0, :, 0], [0, 1, 0.5])
    neg = Image.fromarray(np.array([[-10, 10, 0]], np.int32))
    np.testing.assert_allclose(pp._to_channels(neg, [])[0][0, :, 0], [0, 1, 0.5])
    f = Image.fromarray(np.array([[2.0, 4.0, 3.0]], np.float32))
    np.testing.assert_allclose(pp._to_channels(f, [])[0][0, :, 0], [0, 1, 0.5])
    f01 = Image.fromarray(np.array([[0.25, 0.75]], np.float32))               # F is always stretched
    np.testing.assert_allclose(pp._to_channels(f01, [])[0][0, :, 0], [0, 1])
    flat = Image.fromarray(np.full((2, 2), 7.0, np.float32))
    np.testing.assert_array_equal(pp._to_channels(flat, [])[0], np.zeros((2, 2, 3)))


@pytest.mark.parametrize("mode", ["RGBA", "LA", "PA", "RGBa"])
def test_to_channels_alpha_modes(mode):
    im = Image.new("RGBA", (2, 1), (255, 255, 255, 255))
    im.putpixel((1, 0), (255, 255, 255, 0))
    im = im.convert(mode) if mode != "PA" else Image.frombytes("PA", (2, 1), bytes([0, 255, 0, 0]))
    rgb, alpha = pp._to_channels(im, [])
    np.testing.assert_allclose(alpha, [[1, 0]])
    assert rgb.shape == (1, 2, 3) and rgb.dtype == np.float32


def test_to_channels_transparency_info_and_opaque_alpha():
    for mode in ("L", "RGB", "P"):
        im = Image.new(mode, (2, 1), 0)
        im.putpixel((1, 0), 200 if mode != "RGB" else (200, 200, 200))
        im.info["transparency"] = 0 if mode != "RGB" else (0, 0, 0)
        rgb, alpha = pp._to_channels(im, [])
        np.testing.assert_allclose(alpha, [[0, 1]], err_msg=mode)
        im.info.pop("transparency")
        assert pp._to_channels(im, [])[1] is None
    opaque = Image.new("RGBA", (2, 2), (10, 20, 30, 255))
    rgb, alpha = pp._to_channels(opaque, [])
    assert alpha is None
    np.testing.assert_allclose(rgb[0, 0], [10 / 255, 20 / 255, 30 / 255], rtol=1e-6)


def test_to_channels_cmyk_gets_a_note_and_rgb():
    notes = []
    rgb, alpha = pp._to_channels(Image.new("CMYK", (1, 1), (0, 255, 255, 0)), notes)
    assert notes == ["CMYK picture converted to RGB."] and alpha is None
    np.testing.assert_allclose(rgb[0, 0], [1, 0, 0])
    notes = []
    pp._to_channels(Image.new("RGB", (1, 1)), notes)
    assert notes == []


def test_luminance_weights():
    rgb = np.array([[[1, 0, 0], [0, 1, 0], [0, 0, 1]]], np.float32)
    np.testing.assert_allclose(pp._luminance(rgb), [[0.299, 0.587, 0.114]], rtol=1e-6)
    assert pp._luminance(rgb).dtype == np.float32


# ---- transparency --------------------------------------------------------------------------------

def test_composite_dark_ink_goes_on_white_light_ink_on_black():
    gray = np.array([[0.0, 1.0, 1.0, 1.0]])                        # ink dark, transparent pixels white-ish
    alpha = np.array([[1.0, 0.0, 0.0, 0.0]])
    notes = []
    out = pp._composite(gray, alpha, notes)
    np.testing.assert_allclose(out, [[0, 1, 1, 1]])
    assert notes == ["Transparent background filled with white (the drawing is dark)."]
    notes = []
    out = pp._composite(np.array([[0.9, 0.0, 0.5]]), np.array([[1.0, 0.0, 0.5]]), notes)
    np.testing.assert_allclose(out, [[0.9, 0, 0.25]])
    assert notes == ["Transparent background filled with black (the drawing is light)."]
    notes = []
    pp._composite(np.array([[0.5, 0.5]]), np.array([[1.0, 0.6]]), notes)      # ink exactly 0.5: black
    assert "black" in notes[0]
    assert pp._composite(gray, None, notes) is gray


def test_composite_refuses_nothing_solid():
    with pytest.raises(ImageError, match="^The picture is fully transparent: there is nothing in it to encode.$"):
        pp._composite(np.ones((2, 2)), np.full((2, 2), 0.5), [])
    pp._composite(np.ones((2, 2)), np.array([[0.51, 0.0], [0.0, 0.0]]), [])  # one solid pixel is enough


def test_transparent_png_end_to_end():
    im = Image.new("RGBA", (40, 40), (255, 255, 255, 0))
    im.paste((0, 0, 0, 255), (10, 5, 30, 35))
    p = prepare(png(im), MNIST)
    assert "Transparent background filled with white (the drawing is dark)." in p.notes
    assert "Dark on light: inverted to light on dark, as in the training data." in p.notes
    assert p.box == (5, 35, 10, 30)


# ---- polarity, contrast, crop --------------------------------------------------------------------

def test_polarity_stretches_and_drops_faint_pixels_exactly():
    g = np.full((10, 10), 0.1)
    g[4:7, 4:7] = 0.9                                               # ink
    g[1, 1] = 0.2                                                   # (0.2-0.1)/0.8 = 0.125: paper texture
    g[2, 2] = 0.5                                                   # 0.5: a stroke
    notes = []
    out = pp._polarity(g, notes)
    assert notes == []
    assert out[1, 1] == 0 and out[2, 2] == pytest.approx(0.5) and out[5, 5] == pytest.approx(1.0)
    assert out[0, 0] == 0


def test_polarity_inverts_dark_on_light_with_a_note():
    g = np.full((10, 10), 0.9)
    g[4:7, 4:7] = 0.1
    g[2, 2] = 0.5
    notes = []
    out = pp._polarity(g, notes)
    assert notes == ["Dark on light: inverted to light on dark, as in the training data."]
    assert out[5, 5] == pytest.approx(1.0) and out[2, 2] == pytest.approx(0.5) and out[0, 0] == 0
    half = np.full((10, 10), 0.5)                                   # a border of exactly 0.5: not inverted
    half[4:7, 4:7] = 1.0
    notes = []
    assert pp._polarity(half, notes)[5, 5] == pytest.approx(1.0) and notes == []


def test_polarity_thresholds_at_their_boundaries():
    g = np.zeros((10, 10))
    g[3:8, 3:8] = 0.08                                              # contrast exactly 0.08: still content
    assert pp._polarity(g, [])[5, 5] == 1.0
    g[3:8, 3:8] = 0.079                                             # below: flat, nothing
    np.testing.assert_array_equal(pp._polarity(g, []), np.zeros((10, 10)))
    g = np.zeros((10, 10))
    g[3:8, 3:8] = 1.0
    g[1, 1] = 0.2                                                   # exactly INK after stretching: kept
    assert pp._polarity(g, [])[1, 1] == pytest.approx(0.2)
    assert pp.INK == 0.2


def test_polarity_uses_the_995th_percentile_as_full_ink():
    g = np.zeros((20, 20))
    g[5:15, 5:15] = 0.5                                             # 100 pixels of 0.5
    g[0, 0] = 1.0                                                   # one hot pixel (0.25%): not the ink level
    out = pp._polarity(g, [])
    assert out[10, 10] > 0.9 and out[0, 0] == 1.0


def test_content_box_exact():
    g = np.zeros((6, 8))
    g[2, 3] = 0.5
    g[4, 6] = 1.0
    assert pp._content_box(g) == (2, 5, 3, 7)
    assert pp._content_box(np.zeros((3, 3))) is None
    assert all(type(v) is int for v in pp._content_box(g))


def test_blank_pictures_are_refused():
    refused(png(Image.new("L", (30, 30), 128)),
            "The picture is blank (one flat colour): there is nothing in it to encode.")


# ---- framing -------------------------------------------------------------------------------------

def cx_box(a):
    cols = np.flatnonzero(a.max(0) > 0)
    return (cols[0] + cols[-1]) / 2


def test_frame_mnist_box_20_centred_by_mass():
    g = np.zeros((30, 30))
    g[5:15, 10:15] = 1.0                                            # 10 high, 5 wide
    out = pp._frame(g, (5, 15, 10, 15), 20, "mass")
    assert out.shape == (28, 28) and out.dtype == np.float32
    rows, cols = np.flatnonzero(out.max(1) > 0.5), np.flatnonzero(out.max(0) > 0.5)
    assert (rows[0], rows[-1] + 1, cols[0], cols[-1] + 1) == (4, 24, 9, 19)        # 20 x 10, centred
    yy, xx = np.indices(out.shape)
    lop = np.zeros((30, 30))
    lop[0:10, 0:2] = 1.0                                            # heavy left columns ...
    lop[0:10, 5] = 0.3                                              # ... and a faint right one
    out = pp._frame(lop, (0, 10, 0, 6), 20, "mass")
    assert abs(cx_box(out) - 13.5) > 1                              # the box is not centred ...
    cx = (xx * out).sum() / out.sum()
    assert abs(cx - 13.5) <= 0.5                                    # ... the centre of mass is
    box = pp._frame(lop, (0, 10, 0, 6), 20, "box")
    assert abs(cx_box(box) - 13.5) <= 0.5 and abs((xx * box).sum() / box.sum() - 13.5) > 1


def test_frame_box_centring_and_clamping():
    g = np.zeros((30, 30))
    g[0:10, 0:10] = 0.0
    g[0, 0:10] = 1.0                                                # all the mass in the top row
    g[9, 0] = 0.05
    out = pp._frame(g, (0, 10, 0, 10), 20, "mass")
    small = np.clip(pp._resize(g[0:10, 0:10], 20, 20), 0, 1)
    assert out.sum() == pytest.approx(small.sum(), rel=1e-5)       # pushed back inside, nothing cut
    np.testing.assert_allclose(out[8:28, 4:24], small, atol=1e-6)   # top clamped to 28 - 20, left centred
    g = np.zeros((30, 30))
    g[0:14, 0:28] = 1.0
    out = pp._frame(g, (0, 14, 0, 28), 28, "box")                  # Fashion: longer side 28
    rows = np.flatnonzero(out.max(1) > 0.5)
    assert (rows[0], rows[-1]) == (7, 20)
    bottom = np.zeros((30, 30))
    bottom[0:10, 0:10] = 0.05
    bottom[9, 0:10] = 1.0                                           # mass at the bottom: top clamped at 0
    out = pp._frame(bottom, (0, 10, 0, 10), 20, "mass")
    assert out.sum() == pytest.approx(np.clip(pp._resize(bottom[0:10, 0:10], 20, 20), 0, 1).sum(), rel=1e-5)
    assert out[0:20].sum() == pytest.approx(out.sum())


def test_frame_thin_strokes_keep_one_pixel_and_folders_are_stretched():
    g = np.zeros((100, 3))
    g[:, 1] = 1.0
    out = pp._frame(g, (0, 100, 1, 2), 20, "box")                   # 100 x 1 -> 20 x 1, not 20 x 0
    assert (out.max(0) > 0.5).sum() == 1 and (out.max(1) > 0.5).sum() == 20
    g = np.zeros((10, 40))
    g[2:8, 5:35] = 1.0
    out = pp._frame(g, (2, 8, 5, 35), None, "stretch")
    assert out.shape == (28, 28) and out.min() >= 0 and out.max() <= 1
    assert out[3:25, 3:25].min() > 0.9                              # stretched to fill, aspect ignored


def test_resize_is_float_lanczos():
    a = np.full((5, 7), 0.25)
    r = pp._resize(a, 14, 10)
    assert r.shape == (10, 14) and r.dtype == np.float32
    np.testing.assert_allclose(r, 0.25, atol=1e-6)


def test_prepare_uses_the_cards_data_set_framing():
    data = png(block(size=(60, 60), box=(10, 20, 50, 40)))          # 40 wide, 20 high
    assert (pp.FRAMING["mnist"], pp.FRAMING["fashion-mnist"]) == ((20, "mass"), (28, "box"))

    def extent(a):
        rows, cols = np.flatnonzero(a.max(1) > 0.5), np.flatnonzero(a.max(0) > 0.5)
        return rows[-1] + 1 - rows[0], cols[-1] + 1 - cols[0]

    assert extent(prepare_image(data, MNIST)) == (10, 20)
    assert extent(prepare_image(data, FASHION)) == (14, 28)
    for card in ({}, {"dataset": None}, {"dataset": {}}, {"dataset": {"name": "my-folder"}}):
        assert extent(prepare_image(data, card)) == (28, 28), card


def test_prepare_returns_every_stage():
    im = Image.new("RGB", (40, 40), (250, 250, 250))
    im.paste((255, 0, 0), (10, 10, 30, 30))
    p = prepare(png(im), MNIST)
    assert p.image.dtype == np.float32 and p.image.shape == (28, 28) and p.image.max() == pytest.approx(1.0)
    assert p.original.mode == "RGB" and p.original.size == (40, 40)
    assert p.original.getpixel((20, 20)) == (255, 0, 0) and p.original.getpixel((0, 0)) == (250, 250, 250)
    assert p.gray.dtype == np.float32 and p.gray.shape == (40, 40)
    assert p.box == (10, 30, 10, 30)
    assert p.notes == ["Dark on light: inverted to light on dark, as in the training data."]


# ---- second mutation pass -------------------------------------------------------------------------

def test_only_the_listed_formats_are_opened():
    for fmt in ("PPM", "PCX", "ICO", "TGA"):
        refused(png(block().convert("RGB"), fmt),
                "This is not a picture we can read: upload a PNG, JPEG, GIF, BMP, WebP or TIFF file.")


def test_single_frame_formats_and_two_frame_animations():
    assert not any("Animated" in n for n in prepare(png(block().convert("RGB"), "JPEG"), MNIST).notes)
    frames = [block(box=(5, 5, 15, 15)), block(box=(25, 25, 35, 35))]
    p = prepare(png(frames[0], "GIF", save_all=True, append_images=frames[1:]), MNIST)
    assert p.notes[0] == "Animated or multi-page (2 frames): the first frame is used."


def test_truncated_picture_message():
    data = png(Image.effect_noise((200, 200), 60))
    with pytest.raises(ImageError) as e:
        prepare_image(data[: len(data) // 2], MNIST)
    assert str(e.value).startswith("The picture is truncated or damaged and cannot be decoded (")
    assert str(e.value).endswith(").")


def test_tall_thin_pictures_keep_one_pixel_of_width():
    p = prepare(png(block(size=(6, 3000), box=(0, 0, 6, 1500))), MNIST)
    assert p.original.size == (1, 256)


def test_to_channels_sixteen_bit_scale_and_the_8_bit_boundary():
    i16 = Image.fromarray(np.array([[1000, 2000]], np.uint16))
    np.testing.assert_allclose(pp._to_channels(i16, [])[0][0, :, 0], [1000 / 65535, 2000 / 65535])
    i256 = Image.fromarray(np.array([[0, 256]], np.int32))
    np.testing.assert_allclose(pp._to_channels(i256, [])[0][0, :, 0], [0, 256 / 65535])
    i255 = Image.fromarray(np.array([[51, 255]], np.int32))
    np.testing.assert_allclose(pp._to_channels(i255, [])[0][0, :, 0], [0.2, 1.0])
    f = Image.fromarray(np.array([[2.0, 4.0, 3.0]], np.float32))
    assert pp._to_channels(f, [])[0].dtype == np.float64            # stretched in double precision
    assert pp._to_channels(Image.new("RGB", (2, 2)), [])[0].dtype == np.float32


def test_cmyk_note_reaches_prepare():
    im = Image.new("CMYK", (40, 40), (0, 0, 0, 0))
    im.paste((0, 0, 0, 255), (10, 10, 30, 30))
    assert "CMYK picture converted to RGB." in prepare(png(im, "TIFF"), MNIST).notes


def test_low_contrast_on_a_grey_border_is_flat():
    g = np.full((10, 10), 0.3)
    g[3:8, 3:8] = 0.35                                              # contrast 0.05 on a 0.3 border
    np.testing.assert_array_equal(pp._polarity(g, []), np.zeros((10, 10)))


def test_resize_uses_lanczos():
    a = np.zeros((8, 8), np.float32)
    a[:, 4:] = 1.0
    want = np.asarray(Image.fromarray(a, mode="F").resize((20, 20), Image.LANCZOS))
    np.testing.assert_array_equal(pp._resize(a, 20, 20), want)
    assert pp._resize(a, 20, 20).min() < -0.01                      # Lanczos rings: the callers clip


def test_stretched_folder_images_are_clipped_after_lanczos_ringing():
    g = np.zeros((12, 12))
    g[0:12, 0:2] = 1.0
    g[0:12, 10:12] = 1.0
    g[0:2, :] = 1.0                                                 # a hollow frame: rings inside
    out = pp._frame(g, (0, 12, 0, 12), None, "stretch")
    assert out.min() == 0.0 and out.max() == 1.0 and out[14, 14] == 0.0


def test_prepare_centres_an_mnist_digit_by_mass():
    im = Image.new("L", (60, 60), 0)
    im.paste(255, (10, 10, 20, 50))                                 # heavy left bar
    im.paste(90, (20, 10, 40, 14))                                  # faint top arm
    out = prepare_image(png(im), MNIST)
    yy, xx = np.indices(out.shape)
    assert abs((xx * out).sum() / out.sum() - 13.5) <= 0.5
    assert abs(cx_box(out) - 13.5) > 1


def test_frame_odd_sizes_and_edge_clamps():
    g = np.zeros((40, 40))
    g[0:13, 0:28] = 1.0
    out = pp._frame(g, (0, 13, 0, 28), 28, "box")                  # 13 high: top (28 - 13) // 2 = 7
    rows = np.flatnonzero(out.max(1) > 0.5)
    assert (rows[0], rows[-1]) == (7, 19)
    g = np.zeros((40, 40))
    g[0:28, 0:13] = 1.0
    cols = np.flatnonzero(pp._frame(g, (0, 28, 0, 13), 28, "box").max(0) > 0.5)
    assert (cols[0], cols[-1]) == (7, 19)
    wide = np.zeros((40, 40))
    wide[0:5, 0:10] = 0.05
    wide[0:5, 9] = 1.0                                              # mass at the right edge
    out = pp._frame(wide, (0, 5, 0, 10), 20, "mass")               # 20 wide: left clamped at 0
    assert out[:, 0].max() > 0 and out.sum() == pytest.approx(
        np.clip(pp._resize(wide[0:5, 0:10], 20, 10), 0, 1).sum(), rel=1e-5)
    wide = np.zeros((40, 40))
    wide[0:5, 0:10] = 0.05
    wide[0:5, 0] = 1.0                                              # mass at the left edge: clamped at 8
    out = pp._frame(wide, (0, 5, 0, 10), 20, "mass")
    cols = np.flatnonzero(out.max(0) > 0)
    assert (cols[0], cols[-1]) == (8, 27)
    line = np.zeros((3, 100))
    line[1, :] = 1.0
    out = pp._frame(line, (1, 2, 0, 100), 20, "box")                # 1 x 100 -> 1 x 20, not 0 or 2 rows
    assert (out.max(1) > 0.5).sum() == 1 and (out.max(0) > 0.5).sum() == 20


def test_frame_faint_content_is_still_centred_by_mass():
    g = np.zeros((5, 5))
    g[0, 0] = 0.004
    g[0, 1] = 0.001                                                 # total mass well under 1 after scaling
    out = pp._frame(g, (0, 1, 0, 2), 20, "mass")
    yy, xx = np.indices(out.shape)
    assert abs((xx * out).sum() / out.sum() - 13.5) <= 0.5
