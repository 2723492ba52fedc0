"""playground.ink step by step on small synthetic pictures with known answers: the paper's surface,
polarity, lines, components, stroke width; and the stages the Encode page shows."""
import io

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

import models
from playground import ink
from playground.preprocess import ImageError, prepare, prepare_many
from playground.stages import auto_region, from_percent, percent, read_number, stage_images

MNIST = {"dataset": {"name": "mnist"}}


def png(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.uint8(np.round(np.clip(a, 0, 1) * 255))).save(buf, "PNG")
    return buf.getvalue()


def bar(shape, top, bottom, left, right, value=1.0):
    a = np.zeros(shape, np.float32)
    a[top:bottom, left:right] = value
    return a


def lighting(h, w):
    """A lamp on the left and a dark corner: paper from 0.35 to 0.95."""
    yy, xx = np.mgrid[0:h, 0:w] / np.array([h, w])[:, None, None]
    return (0.95 - 0.45 * xx - 0.15 * yy * xx).astype(np.float32)


# ---- lighting ------------------------------------------------------------------------------------

def test_paper_surface_follows_the_light_and_ignores_the_ink():
    light = lighting(200, 260)
    ink_cov = bar((200, 260), 40, 160, 120, 135) + bar((200, 260), 40, 52, 90, 170)   # a 7-ish mark
    gray = light * (1 - 0.85 * np.clip(ink_cov, 0, 1))
    surface = ink.paper_surface(gray)
    assert np.abs(surface - light).max() < 0.02                  # the paper as lit, not pulled by the ink


def test_flatten_finds_dark_ink_under_a_gradient_where_the_border_says_otherwise():
    light = lighting(200, 260)
    light *= 1 - 0.55 * np.clip((np.arange(260) - 90) / 60, 0, 1)     # a soft shadow over half the page
    stroke = bar((200, 260), 50, 150, 60, 72)
    gray = light * (1 - 0.8 * stroke)
    assert np.median(np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])) < 0.5
    f = ink.flatten(gray)
    assert f.dark_ink
    assert f.ink[60:140, 62:70].min() > 0.7 and np.percentile(f.ink[stroke == 0], 99) < 0.25
    assert f.ink[:, 90:150].max() < 0.3                           # the shadow's edge is not ink


def test_flatten_keeps_light_ink_on_black_and_big_shapes_to_the_border_rule():
    g = bar((100, 100), 20, 80, 45, 55)
    f = ink.flatten(g)
    assert not f.dark_ink and f.ink[50, 50] == pytest.approx(1.0) and f.ink[5, 5] == 0
    big = np.ones((40, 40), np.float32)
    big[10:30, 10:30] = 0.3                                       # a quarter of the picture, flat paper
    f = ink.flatten(big)
    assert f.dark_ink and f.ink[20, 20] == pytest.approx(0.7, abs=0.01) and f.ink[2, 2] == pytest.approx(0)


def test_local_contrast_lifts_faint_ink_but_not_paper_grain():
    a = np.zeros((120, 240), np.float32)
    a[40:80, 30:36] = 0.9                                         # dark ink on the left
    a[40:80, 200:206] = 0.5                                       # faint ink on the right
    a[100, 120] = 0.05                                            # grain
    out = ink.local_contrast(a)
    assert out[60, 33] == pytest.approx(1.0, abs=0.02) and out[60, 203] > 0.9
    assert out[100, 120] < 0.12                                   # at most doubled
    np.testing.assert_allclose(ink.local_contrast(np.full((20, 20), 0.05, np.float32)), 0.05)   # all paper


# ---- lines ---------------------------------------------------------------------------------------

def ruled(h=200, w=260, step=20, tilt_deg=0.0, value=0.45):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    v = yy - xx * np.tan(np.deg2rad(tilt_deg))
    return np.where(np.abs((v % step) - step / 2) < 0.8, value, 0).astype(np.float32)


@pytest.mark.parametrize("tilt", [0.0, 3.0, -7.0])
def test_ruled_lines_go_and_a_crossing_stroke_stays(tilt):
    lines = ruled(tilt_deg=tilt)
    stroke = bar(lines.shape, 30, 170, 120, 127)
    out, n = ink.remove_lines(np.maximum(lines, stroke))
    assert n >= 8
    inner = out[12:-12, 12:-12]                  # (a line's stub in a corner touches the border: find_digits drops it)
    assert inner[:, :88].max() < 0.15 and inner[:, 138:].max() < 0.15              # the lines are gone
    assert out[33:167, 121:126].min() > 0.9                                         # the stroke is whole


def test_a_stroke_lying_along_a_line_keeps_what_is_darker_than_the_line():
    lines = ruled(value=0.4)
    row = int(np.flatnonzero(lines[:, 5] > 0)[3])
    stroke = bar(lines.shape, row - 1, row + 2, 80, 160)                          # a 7's bar on a line
    out, _ = ink.remove_lines(np.maximum(lines, stroke))
    assert out[row, 90:150].min() > 0.5


def test_one_straight_stroke_is_not_paper():
    one = bar((200, 260), 5, 195, 120, 126)                                          # a 1 filling the picture
    out, n = ink.remove_lines(one)
    assert n == 0 and np.array_equal(out, one)


def test_squared_paper_and_a_margin_go():
    grid = np.maximum(ruled(h=200, w=260, step=14, value=0.5), ruled(h=260, w=200, step=14, value=0.5).T)
    digit = bar(grid.shape, 60, 140, 100, 108) + bar(grid.shape, 60, 68, 100, 160)
    out, n = ink.remove_lines(np.maximum(grid, np.clip(digit, 0, 1)))
    assert n >= 20
    keep = np.clip(digit, 0, 1) > 0
    assert out[~ndimage.binary_dilation(keep, iterations=2)].max() < 0.15
    assert (out[keep] >= 0.5).mean() > 0.85                       # bars along lines keep what is darker


# ---- components ----------------------------------------------------------------------------------

def test_specks_border_marks_and_far_marks_are_dropped_strokes_of_one_digit_kept():
    m = np.zeros((200, 260), bool)
    m[60:140, 120:128] = True                                     # the body of a 5 ...
    m[50:56, 118:160] = True                                      # ... and its top bar, not touching it
    m[10, 10] = m[190, 30] = True                                 # specks
    m[:, 250:] = True                                             # the table at the border
    m[170:176, 40:50] = True                                      # a small tick far away
    d = ink.find_digits(m)
    assert len(d.boxes) == 1 and d.boxes[0] == (50, 140, 118, 160)
    assert d.masks[0][52, 150] and d.masks[0][100, 124]
    assert d.dropped[10, 10] and d.dropped[100, 255] and d.dropped[172, 45]


def test_several_digits_left_to_right_and_a_four_in_two_strokes_is_one():
    m = np.zeros((120, 400), bool)
    m[20:100, 300:308] = True                                     # a 1 on the right
    m[20:70, 40:46] = m[64:70, 40:80] = True                      # a 4: the L ...
    m[30:100, 70:76] = True                                       # ... and its upright, a second stroke
    m[20:100, 160:200] = True                                     # something in the middle
    m[40:80, 170:190] = False
    d = ink.find_digits(m)
    assert [b[2] for b in d.boxes] == [40, 160, 300]
    assert d.masks[0][25, 42] and d.masks[0][90, 72]


def test_touching_digits_are_cut_at_their_waist_and_a_wide_bar_is_not():
    m = np.zeros((120, 300), bool)
    yy, xx = np.mgrid[0:120, 0:300]
    ring = lambda cx: (np.hypot(yy - 60, xx - cx) <= 40) & (np.hypot(yy - 60, xx - cx) >= 32)
    m |= ring(80) | ring(158)                                      # "00" written touching: one component
    d = ink.find_digits(m)
    assert len(d.boxes) == 2 and d.boxes[0][2] == 40 and d.boxes[1][3] == 199
    bar = np.zeros((120, 300), bool)
    bar[50:62, 40:260] = True                                      # one long mark with no waist
    assert len(ink.find_digits(bar).boxes) == 1


def test_a_page_line_that_escaped_remove_lines_is_not_a_digit():
    m = np.zeros((200, 260), bool)
    m[10:170, 20:23] = True                                        # a margin, faded out at both ends
    m[80:140, 120:128] = m[80:86, 110:150] = True                  # the digit
    d = ink.find_digits(m)
    assert d.boxes == [(80, 140, 110, 150)] and d.dropped[100, 21]


def test_ink_touching_the_border_stays_when_nothing_else_is_there():
    m = np.zeros((60, 30), bool)
    m[0:10, :] = True                                             # a bar along the top: all there is
    m[40, 15] = True                                              # and one speck
    d = ink.find_digits(m)
    assert d.boxes == [(0, 10, 0, 30)]
    assert ink.find_digits(np.zeros((5, 5), bool)).boxes == []


# ---- pen and font --------------------------------------------------------------------------------

@pytest.mark.parametrize("width", [2, 5, 9])
def test_stroke_width_of_a_bar(width):
    assert ink.stroke_width(bar((100, 100), 10, 90, 40, 40 + width) > 0) == pytest.approx(width, abs=1.0)


def test_mnist_stroke_is_measured_on_the_reference_set():
    images = models.reference("mnist")[0][:300]
    ratios = []
    for a in images:
        up = np.asarray(Image.fromarray(a).resize((112, 112), Image.BICUBIC), np.float32) / 255 > 0.5
        rows, cols = np.flatnonzero(up.any(1)), np.flatnonzero(up.any(0))
        ratios.append(ink.stroke_width(up) / max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1))
    assert np.median(ratios) == pytest.approx(ink.MNIST_STROKE, abs=0.01)
    lo, hi = np.percentile(ratios, [10, 90])
    assert ink.STROKE_RANGE[0] == pytest.approx(lo, abs=0.015) and ink.STROKE_RANGE[1] == pytest.approx(hi, abs=0.015)


@pytest.mark.parametrize("width", [2, 30])
def test_thin_and_thick_strokes_are_brought_to_mnist_width(width):
    shape = (200, 200)
    m = bar(shape, 20, 180, 100 - width // 2, 100 - width // 2 + width) > 0       # a 1, 160 tall
    out, ratio = ink.normalise_strokes(m.astype(np.float32), m, (20, 180, 100 - width // 2, 100 - width // 2 + width))
    assert ratio == pytest.approx(width / 160, abs=0.01)
    assert ink.stroke_width(out > 0.5) == pytest.approx(ink.MNIST_STROKE * 160, abs=2.0)


def test_pen_strokes_in_range_and_filled_shapes_are_left_alone():
    m = bar((200, 200), 20, 180, 92, 110) > 0                      # 18 of 160: MNIST-like
    out, ratio = ink.normalise_strokes(m * 0.7, m, (20, 180, 92, 110))
    assert ratio == 1.0 and np.array_equal(out, m * 0.7)
    block = bar((100, 100), 20, 60, 20, 60) > 0                    # a filled square: not a pen stroke
    assert ink.normalise_strokes(block * 1.0, block, (20, 60, 20, 60))[1] == 1.0


# ---- through prepare -----------------------------------------------------------------------------

def two_digits_with_a_dot():
    a = np.ones((200, 256), np.float32)
    a[50:150, 60:70] = 0.1                                        # a 1
    a[50:150, 180:190] = a[50:60, 180:230] = 0.1                  # a 7-ish
    a[180:184, 20:24] = 0.1                                       # a dot far away
    return a


def test_prepare_many_and_a_hand_set_region():
    data = png(two_digits_with_a_dot())
    p = prepare(data, MNIST)
    assert len(p.digits) == 2 and [b[2] for b in p.boxes] == [60, 180]
    assert p.dropped[181, 21] and not p.mask[181, 21]
    assert any("2 digits found" in n for n in p.notes) and any("Left out" in n for n in p.notes)
    assert len(prepare_many(data, MNIST)) == 2
    q = prepare(data, MNIST, region=(0.1, 0.9, 0.5, 1.0))          # only the right half: the 7
    assert len(q.digits) == 1 and q.box == (50, 150, 180, 230)
    corner = prepare(data, MNIST, region=(0.85, 1.0, 0.0, 0.2))   # the person asks for the dot: it is used
    assert corner.box == (180, 184, 20, 24)
    with pytest.raises(ImageError, match="blank"):
        prepare(data, MNIST, region=(0.0, 0.1, 0.0, 0.1))


def test_stage_pictures_and_region_sliders():
    p = prepare(png(two_digits_with_a_dot()), MNIST)
    pics = stage_images(p)
    assert pics["flattened"].shape == (200, 256, 3) and pics["ink"].shape == (200, 256, 3)
    assert tuple(pics["ink"][100, 65]) == (255, 255, 255) and tuple(pics["ink"][181, 21]) == (230, 60, 60)
    assert tuple(pics["ink"][50, 60]) == (60, 200, 90)                             # the crop's outline
    assert pics["crop"].shape == (100, 170, 3)                                     # both digits
    region = auto_region(p)
    assert region == pytest.approx((0.25 - 0.04, 0.75 + 0.04, 60 / 256 - 0.04, 230 / 256 + 0.04))
    rows, cols = percent(region)
    assert rows == (21, 79) and cols == (19, 94)
    assert from_percent((79, 21), (16, 16)) == (0.21, 0.79, 0.16, 0.17)
    assert read_number([2, 0, 2, 4], [str(i) for i in range(10)]) == "2024"
    assert read_number([1, 8], ["T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                                "Sneaker", "Bag", "Ankle boot"]) == "Trouser, Bag"


def test_a_picture_of_many_digits_gives_the_first_twelve():
    a = np.ones((60, 256), np.float32)
    for k in range(15):
        a[15:45, 8 + 16 * k:12 + 16 * k] = 0.1                    # fifteen 1s in a row
    p = prepare(png(a), MNIST)
    assert len(p.digits) == 12 and p.boxes[0][2] == 8 and p.boxes[-1][2] == 8 + 16 * 11
    assert "15 digits found: the first 12 from the left are used." in p.notes


@pytest.mark.parametrize("size", [16, 40, 100])
def test_a_picture_of_only_specks_is_blank_not_a_crash(size):
    """A lone dot, a corner pixel or a sparse dot grid leaves nothing after the speck filter: the
    person gets the blank-picture message (which the Encode page shows per file), not a traceback."""
    mnist = {"dataset": {"name": "mnist"}}
    dot = np.full((size, size), 255, np.uint8)
    dot[size // 2, size // 2] = 0
    corner = np.full((size, size), 255, np.uint8)
    corner[1, 1] = 0
    grid = np.full((size, size), 255, np.uint8)
    grid[::7, ::7] = 0
    for picture in (dot, corner, grid):
        with pytest.raises(ImageError, match="blank|nothing"):
            prepare(png(picture), mnist)
        with pytest.raises(ImageError, match="blank|nothing"):
            prepare_many(png(picture), mnist)
