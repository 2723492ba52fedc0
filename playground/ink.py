"""Find the digits' ink in a photo of paper (pure: numpy + scipy.ndimage).

    flatten(gray)            -> Flat: light ink on a black, even background; the paper's lighting gone
    remove_lines(ink)        -> the same without ruled / squared lines and margins, and how many went
    find_digits(ink, keep)   -> Digits: the ink of each digit, left to right; specks, marks at the
                                border and small marks far from the digits dropped
    normalise_strokes(ink)   -> the digit redrawn with MNIST's typical stroke width

Every step works on the decoded picture at most `preprocess.WORK_SIDE` pixels a side, and each is
a few scipy.ndimage calls: a robust smooth surface through the paper (least squares on a coarse
grid), connected components, distance transforms, morphology.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

FIT_SIDE = 64             # the paper's surface is fitted on a grid at most this big...
FIT_DEGREE = 4            # ... as a polynomial of this degree in x and y
INK = 0.2                 # after flattening, what counts as ink (of the local full ink level)
LOCAL = 1 / 6             # contrast is normalised over windows of this share of the picture's side
MNIST_STROKE = 0.112      # MNIST's median stroke width / its digit's longer side (reference set)
STROKE_RANGE = (0.075, 0.17)   # MNIST's 10th-90th percentile: thinner strokes are drawn wider...
THICK = STROKE_RANGE[1]   # ... thicker ones thinner (0.2 here lost a clean 8 and a rotated 7 of the corpus)
CONTRAST = 1.9            # strokes varying more than this (thick and thin: a bold serif) are redrawn
BLOB = 0.35               # stroke width / side above this: a filled shape, never redrawn


@dataclass
class Flat:
    ink: np.ndarray            # float32 (H, W): ink 0..1 on a black, even background
    dark_ink: bool             # the picture had dark ink on light paper


@dataclass
class Digits:
    boxes: list[tuple[int, int, int, int]]    # (top, bottom, left, right) per digit, left to right
    masks: list[np.ndarray]                   # bool (H, W) per digit: its ink
    dropped: np.ndarray                       # bool (H, W): ink left out (specks, border and far marks)


# ---- lighting ------------------------------------------------------------------------------------

def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    return np.linspace(-1, 1, h, dtype=np.float64), np.linspace(-1, 1, w, dtype=np.float64)


def _basis(y: np.ndarray, x: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Separable monomials y^i x^j with i + j <= FIT_DEGREE (each as its row and column factor)."""
    return [(y ** i, x ** j) for i in range(FIT_DEGREE + 1) for j in range(FIT_DEGREE + 1 - i)]


def paper_surface(gray: np.ndarray) -> np.ndarray:
    """A smooth surface through the majority of the picture (the paper, lit as it was): a
    polynomial fitted by least squares to a coarse copy, again and again without the pixels far
    from it (the ink, whatever its colour), so ink, lines and marks do not pull it."""
    h, w = gray.shape
    f = max(1, int(np.ceil(max(h, w) / FIT_SIDE)))
    hs, ws = h // f, w // f
    small = gray[:hs * f, :ws * f].reshape(hs, f, ws, f).mean((1, 3))
    y, x = _grid(hs, ws)
    a = np.stack([np.outer(r, c).ravel() for r, c in _basis(y, x)], 1)
    values = small.ravel()
    fit = np.full(values.shape, np.median(values))
    coef = None
    for _ in range(5):
        r = values - fit
        dev = np.abs(r - np.median(r))
        keep = dev <= max(3 * 1.4826 * np.median(dev), 0.02)
        if keep.sum() < a.shape[1] * 3:
            break
        ak = a[keep]                          # normal equations: lstsq's SVD is 30x slower here
        coef = np.linalg.solve(ak.T @ ak + 1e-9 * np.eye(a.shape[1]), ak.T @ values[keep])
        fit = a @ coef
    if coef is None:
        return np.full((h, w), float(np.median(values)), np.float32)
    # evaluate at full size: sum of outer products, pixel centres mapped like the coarse grid's
    yy = np.clip((np.arange(h) + 0.5) / f - 0.5, 0, hs - 1)
    xx = np.clip((np.arange(w) + 0.5) / f - 0.5, 0, ws - 1)
    yf = -1 + 2 * yy / max(hs - 1, 1)
    xf = -1 + 2 * xx / max(ws - 1, 1)
    out = np.zeros((h, w))
    for c, (r, col) in zip(coef, _basis(yf, xf)):
        out += c * np.outer(r, col)
    return out.astype(np.float32)


def flatten(gray: np.ndarray) -> Flat:
    """Remove the paper's lighting (shadows, gradients, vignetting) and decide which side the ink is
    on. `gray` is luminance in [0, 1]."""
    paper = paper_surface(gray)
    r = gray - paper
    spread = max(float(np.percentile(np.abs(r), 50)) * 6, 0.06)
    dark, light = int((r < -spread).sum()), int((r > spread).sum())
    if dark > 1.5 * light or light > 1.5 * dark:
        dark_ink = dark > light
    else:                                         # as much either way (big shapes): the border decides
        border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
        dark_ink = float(np.median(border)) > 0.5
    if dark_ink:                                  # ink absorbs a share of the light the paper gets
        ink = 1.0 - gray / np.maximum(paper, 0.03)
    else:                                         # light ink adds to a dark background
        ink = (gray - paper) / np.maximum(1.0 - paper, 0.03)
    return Flat(np.clip(ink, 0, 1).astype(np.float32), dark_ink)


def local_contrast(ink: np.ndarray) -> np.ndarray:
    """Ink divided by the full ink level near it (a smoothed local maximum), so faint ink in one part
    of the picture counts like dark ink in another; at most doubled, so paper grain stays grain."""
    full = float(np.percentile(ink, 99.9))
    if full < 0.08:                                               # nothing but paper
        return ink
    k = max(3, int(max(ink.shape) * LOCAL) | 1)
    level = ndimage.gaussian_filter(ndimage.maximum_filter(ink, size=k), k / 4)
    return np.clip(ink / np.maximum(level, 0.5 * full), 0, 1).astype(np.float32)


# ---- paper: ruled and squared lines -----------------------------------------------------------------

ANGLES = np.deg2rad(np.arange(-12, 12.5, 1.0))
FINE = np.deg2rad(np.arange(-0.6, 0.65, 0.15))
LINE_INK = 0.05           # what counts as a line pixel
LINE_COVER = 0.4          # a line has ink over at least this share of the picture's width (height)
LINE_EDGE = 0.08          # its edges: the neighbouring offsets with ink over this share
MARGIN_COVER = 0.75       # a single crossing line (a margin) has ink over this share of its length
EDGE_GAP = 0.1           # and its ink reaches within this share of the picture's edges at both ends
LINE_THICK = 0.035        # and is at most this share of the side thick


def _profile(ys, xs, a, vertical):
    v = (xs * np.cos(a) + ys * np.sin(a)) if vertical else (ys * np.cos(a) - xs * np.sin(a))
    lo = np.floor(v.min())
    hist = np.bincount(np.floor(v - lo).astype(np.int64))
    return float((hist.astype(np.float64) ** 2).sum()), hist, lo


def _extent(bins: np.ndarray, along: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The smallest and largest position `along` in each of `n` bins (inf / -inf where empty)."""
    first, last = np.full(n, np.inf), np.full(n, -np.inf)
    np.minimum.at(first, bins, along)
    np.maximum.at(last, bins, along)
    return first, last


def _lines_at(ys: np.ndarray, xs: np.ndarray, length: int, span: int, vertical: bool):
    """Straight lines among ink pixels (ys, xs) running across a picture `length` long, from near
    one edge to near the other (a row of 1s in a tight crop stops short of the edges): (angle,
    [(offset from, offset to, share covered)]) at the angle where the pixels line up best (a peaky
    projection), found to 1 degree and then to 0.15."""
    if ys.size == 0:
        return 0.0, []
    a = max(ANGLES, key=lambda a: _profile(ys, xs, a, vertical)[0])
    a = max(a + FINE, key=lambda a: _profile(ys, xs, a, vertical)[0])
    _, hist, lo = _profile(ys, xs, a, vertical)
    # every pixel's offset: how long the line at each offset is inside the picture
    h, w = (span, length) if not vertical else (length, span)
    yy, xx = np.mgrid[0:h, 0:w]
    v = (xx * np.cos(a) + yy * np.sin(a)) if vertical else (yy * np.cos(a) - xx * np.sin(a))
    along = ((yy * np.cos(a) - xx * np.sin(a)) if vertical else (xx * np.cos(a) + yy * np.sin(a))).ravel()
    b = np.floor(v - lo).astype(np.int64).ravel()
    inside = (b >= 0) & (b < len(hist))
    b, along = b[inside], along[inside]
    chord = np.bincount(b, minlength=len(hist)).astype(np.float64)
    ends = _extent(b, along, len(hist))                             # where each offset's chord starts, ends
    iv = (xs * np.cos(a) + ys * np.sin(a)) if vertical else (ys * np.cos(a) - xs * np.sin(a))
    ib = np.clip(np.floor(iv - lo).astype(np.int64), 0, len(hist) - 1)
    ink_ends = _extent(ib, (ys * np.cos(a) - xs * np.sin(a)) if vertical else (xs * np.cos(a) + ys * np.sin(a)),
                       len(hist))
    long = chord >= 0.15 * length
    cover = hist / np.maximum(chord, 1)
    base = float(np.median(cover[long])) if long.any() else 0.0     # crossing lines, grain
    strong = long & (cover >= max(LINE_COVER, base + 0.3))
    runs, i, n = [], 0, len(hist)
    while i < n:
        if not strong[i]:
            i += 1
            continue
        start, stop = i, i
        while stop < n and strong[stop]:
            stop += 1
        rim = max(LINE_EDGE, 2 * base, 0.25 * float(cover[start:stop].max()))
        for _ in range(2):                           # its anti-aliased edges, a pixel or two
            if start > 0 and long[start - 1] and cover[start - 1] >= rim:
                start -= 1
            if stop < n and long[stop] and cover[stop] >= rim:
                stop += 1
        near = slice(max(start - 1, 0), stop + 1)               # a line slightly off the angle drifts a bin
        first, last = ends[0][near].min(), ends[1][near].max()
        reach = (ink_ends[0][near].min() - first <= EDGE_GAP * (last - first)
                 and last - ink_ends[1][near].max() <= EDGE_GAP * (last - first))
        if stop - start <= max(4, LINE_THICK * span) and reach:
            runs.append((lo + start, lo + stop, float(cover[start:stop].max())))
        i = stop
    return a, runs


def _medians(groups: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The median of `values` in each group 0..groups.max() (0 for an empty group), in one sort."""
    order = np.lexsort((values, groups))
    g, v = groups[order], values[order]
    k = int(groups.max()) + 1
    start = np.searchsorted(g, np.arange(k))
    count = np.bincount(g, minlength=k)
    lo = np.clip(start + (count - 1) // 2, 0, len(v) - 1)
    hi = np.clip(start + count // 2, 0, len(v) - 1)
    return np.where(count > 0, (v[lo] + v[hi]) / 2, 0.0)


def _fences(offsets: np.ndarray, values: np.ndarray) -> np.ndarray:
    """A line's own ink at each offset across it: the median of its values along it, plus three
    robust deviations (its grain); strokes lying along or across it are outliers, up to half its
    length."""
    mid = _medians(offsets, values)
    return mid + 3 * 1.4826 * _medians(offsets, np.abs(values - mid[offsets]))


def remove_lines(ink: np.ndarray) -> tuple[np.ndarray, int]:
    """Ruled and squared paper and margins: long, thin, straight lines across the picture. Each
    line's own ink (the median of its core's values along it, and their grain) comes off, and a
    pixel keeps at least the fainter of the values just beyond the line's two sides, so a stroke
    crossing a line stays whole, one lying along it keeps what is darker than the line, and the
    line alone goes. Lines are removed only where there are at least two parallel ones (paper's
    ruling), and then a single crossing one that runs nearly all the way (a margin) as well: one
    straight stroke, such as a 1 filling the picture, is never taken for paper. Returns the ink
    without the lines and how many lines went."""
    h, w = ink.shape
    if min(h, w) < 16:
        return ink, 0
    ys, xs = np.nonzero(ink > LINE_INK)
    ys, xs = ys.astype(np.float64), xs.astype(np.float64)
    ah, rows = _lines_at(ys, xs, w, h, vertical=False)
    av, cols = _lines_at(ys, xs, h, w, vertical=True)
    if len(rows) < 2 and len(cols) < 2:
        return ink, 0
    # a single line across the ruling (a margin) must run nearly all the way: a tall stroke does not
    rows = [r for r in rows if len(rows) > 1 or r[2] >= MARGIN_COVER]
    cols = [c for c in cols if len(cols) > 1 or c[2] >= MARGIN_COVER]
    out = ink.copy()
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    for a, runs, vertical in ((ah, rows, False), (av, cols, True)):
        if runs:
            out = _take_off(out, yy, xx, a, runs, vertical)
    return out, len(rows) + len(cols)


def _take_off(ink: np.ndarray, yy, xx, a: float, runs, vertical: bool) -> np.ndarray:
    """Remove the lines `runs` (offsets across them at angle `a`) from `ink`, all at once."""
    v = ((xx * np.cos(a) + yy * np.sin(a)) if vertical else (yy * np.cos(a) - xx * np.sin(a))).ravel()
    normal = np.array([np.sin(a), np.cos(a)]) if vertical else np.array([np.cos(a), -np.sin(a)])
    lo = np.array([r[0] for r in runs]) - 1.0                  # each line's band: its run and a pixel more
    hi = np.array([r[1] for r in runs]) + 1.0
    line = np.searchsorted(lo, v, side="right") - 1
    on = line >= 0
    on[on] = v[on] < hi[line[on]]
    pix = np.flatnonzero(on)
    if pix.size == 0:
        return ink
    line, pv = line[on], v[on]
    py, px = yy.ravel()[pix], xx.ravel()[pix]
    off = pv - (lo + hi)[line] / 2                             # from the line's centre
    d = ((hi - lo)[line] - 2) / 2 + 2.0                        # just beyond its sides
    cy, cx = py - off * normal[0], px - off * normal[1]
    side = [ndimage.map_coordinates(ink, [cy + s * d * normal[0], cx + s * d * normal[1]], order=1, mode="nearest")
            for s in (-1, 1)]
    # the line's own ink (the fence of its values along it, at the offset across it where that is
    # highest: its core) comes off; a stroke darker than the line keeps the rest, and one crossing
    # it keeps its sides' ink
    vals = ink.ravel()[pix]
    width = int(np.ceil((hi - lo).max())) + 1
    group = line * width + np.floor(pv - lo[line]).astype(np.int64)
    fences = _fences(group, vals)
    level = np.zeros(len(runs))
    np.maximum.at(level, np.arange(len(fences)) // width, fences)
    out = ink.copy()
    out.ravel()[pix] = np.maximum(np.minimum(*side), vals - level[line])
    return out


# ---- what is the digit ----------------------------------------------------------------------------

def _disk(r: float) -> np.ndarray:
    k = int(np.ceil(r))
    yy, xx = np.mgrid[-k:k + 1, -k:k + 1]
    return xx ** 2 + yy ** 2 <= r * r + 0.25


def _gap(a, b) -> float:
    """Distance between two boxes (top, bottom, left, right); 0 if they overlap."""
    dy = max(0, max(a[0], b[0]) - min(a[1], b[1]))
    dx = max(0, max(a[2], b[2]) - min(a[3], b[3]))
    return float(np.hypot(dy, dx))


def _x_overlap(a, b) -> float:
    """Shared columns of two boxes as a share of the narrower one's width."""
    shared = min(a[3], b[3]) - max(a[2], b[2])
    return shared / max(1, min(a[3] - a[2], b[3] - b[2]))


def _union(a, b):
    return (min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3]))


SPECK = 0.02              # a component with less ink than this share of the biggest one's is a speck
NEAR = 0.3                # a small mark this close (share of the digit's height) belongs to the digit
DIGIT_HEIGHT = 0.5        # a digit is at least this share of the tallest digit's height
RULING = 0.75             # a thin mark this long (share of the picture) is a paper line
WIDE = 1.6                # a digit is at most this wide for its height (MNIST: 1.05 at the 90th percentile)
SAME_DIGIT = 0.3          # tall pieces sharing this share of their width are one digit


def find_digits(mask: np.ndarray) -> Digits:
    """The ink that makes digits, each digit on its own, left to right.

    Components are found after bridging one-pixel gaps (a pen that skipped). Specks go; marks
    touching the picture's border go, unless nothing else is there; tall components are digits or
    parts of one (tall pieces sharing their columns are one digit: a 4 in two strokes); a smaller
    mark joins the digit it is near (the top bar of a 5) and is dropped when it is far from all."""
    h, w = mask.shape
    empty = Digits([], [], np.zeros_like(mask))
    if not mask.any():
        return empty
    bridge = _disk(max(1.0, 0.006 * max(h, w)))
    joined = ndimage.binary_closing(np.pad(mask, 3), structure=bridge)[3:-3, 3:-3] | mask
    labels, n = ndimage.label(joined, structure=np.ones((3, 3), bool))
    labels = np.where(mask, labels, 0)
    area = np.bincount(labels.ravel(), minlength=n + 1)
    boxes = {i + 1: (s[0].start, s[0].stop, s[1].start, s[1].stop)
             for i, s in enumerate(ndimage.find_objects(labels)) if s is not None}
    ids = [i for i in boxes if area[i] > 0]
    if not ids:
        return empty
    biggest = max(area[i] for i in ids)
    ids = [i for i in ids if area[i] >= max(2, SPECK * biggest)]
    if not ids:                                        # nothing but specks: a blank picture
        return empty
    touching = {i for i in ids if boxes[i][0] == 0 or boxes[i][2] == 0 or boxes[i][1] == h or boxes[i][3] == w}
    inner = [i for i in ids if i not in touching]
    if inner and max(boxes[i][1] - boxes[i][0] for i in inner) >= 0.08 * h:
        ids = inner                                   # the border's marks go when a digit is inside
    ruling = [i for i in ids if _ruling(boxes[i], h, w)]
    if len(ruling) < len(ids):                         # a line across the page that remove_lines missed
        ids = [i for i in ids if i not in ruling]
    tallest = max(boxes[i][1] - boxes[i][0] for i in ids)
    tall = sorted((i for i in ids if boxes[i][1] - boxes[i][0] >= DIGIT_HEIGHT * tallest),
                  key=lambda i: boxes[i][2])
    groups: list[tuple[list[int], tuple]] = []
    for i in tall:                                    # left to right: join a piece to an overlapping digit
        for g, (members, box) in enumerate(groups):
            if _x_overlap(box, boxes[i]) >= SAME_DIGIT:
                groups[g] = (members + [i], _union(box, boxes[i]))
                break
        else:
            groups.append(([i], boxes[i]))
    for i in sorted(set(ids) - set(tall), key=lambda i: -area[i]):
        near = [(_gap(box, boxes[i]) / max(1, box[1] - box[0]), g) for g, (_, box) in enumerate(groups)]
        d, g = min(near)
        if d <= NEAR:
            members, box = groups[g]
            groups[g] = (members + [i], _union(box, boxes[i]))
    tallest = max(box[1] - box[0] for _, box in groups)
    groups = sorted((gr for gr in groups if gr[1][1] - gr[1][0] >= DIGIT_HEIGHT * tallest),
                    key=lambda gr: (gr[1][2] + gr[1][3]) / 2)
    pieces = [p for members, _ in groups for p in _split(np.isin(labels, members))]
    pieces.sort(key=lambda p: (p[1][2] + p[1][3]) / 2)
    masks = [m for m, _ in pieces]
    kept = np.any(masks, 0) if masks else np.zeros_like(mask)
    return Digits([b for _, b in pieces], masks, mask & ~kept)


def _ruling(box, h: int, w: int) -> bool:
    """A thin straight mark running across most of the picture: a paper line, not a digit."""
    t, b, l, r = box
    return (b - t >= RULING * h and r - l <= 0.05 * w) or (r - l >= RULING * w and b - t <= 0.05 * h)


def _box_of(m: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.flatnonzero(m.any(1)), np.flatnonzero(m.any(0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _split(m: np.ndarray, depth: int = 3) -> list[tuple[np.ndarray, tuple[int, int, int, int]]]:
    """Digits written touching ("03" in one stroke of ink): a group wider than WIDE times its height
    is cut at its thinnest column between 30% and 70% of its width, if that is a waist (at most
    half the ink of the thickest column there), again for each part."""
    t, b, l, r = box = _box_of(m)
    if depth == 0 or r - l <= WIDE * (b - t):
        return [(m, box)]
    ink = m[t:b, l:r].sum(0)
    lo, hi = l + int(0.3 * (r - l)), l + int(0.7 * (r - l))
    window = ink[lo - l:hi - l + 1]
    cut = lo + int(np.argmin(window))
    if window.min() > 0.35 * window.max():                 # no narrow waist: one wide mark, not two digits
        return [(m, box)]
    left, right = m.copy(), m.copy()
    left[:, cut:] = False
    right[:, :cut] = False
    if not left.any() or not right.any():
        return [(m, box)]
    return _split(left, depth - 1) + _split(right, depth - 1)


# ---- pen and font ---------------------------------------------------------------------------------

def _ridge(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance to the paper inside `mask`, and the strokes' middles (its local maxima)."""
    inside = ndimage.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]
    return inside, mask & (inside >= ndimage.maximum_filter(inside, 3))


def stroke_width(mask: np.ndarray) -> float:
    """Typical stroke width in pixels: twice the median distance to the paper along the strokes'
    middles (the ridge of the distance transform), less the centre pixel's half."""
    if not mask.any():
        return 0.0
    inside, ridge = _ridge(mask)
    return float(2 * np.median(inside[ridge]) - 1)


def stroke_contrast(mask: np.ndarray) -> float:
    """How much the stroke width varies: the 90th over the 10th percentile of the half-widths
    along the middles. A pen: 1.2-1.6; a bold serif font (thick stems, thin hairlines): 2 or more."""
    if not mask.any():
        return 1.0
    inside, ridge = _ridge(mask)
    v = inside[ridge]
    return float(np.percentile(v, 90) / max(np.percentile(v, 10), 0.5))


def normalise_strokes(ink: np.ndarray, mask: np.ndarray, box) -> tuple[np.ndarray, float]:
    """The digit in `box` with its strokes `MNIST_STROKE` of its longer side wide when they are far
    thinner or thicker (a fineliner, a marker, a bold font): the strokes' middle lines drawn again
    at that width. Returns the new ink and the width ratio found (1.0 if left alone)."""
    t, b, l, r = box
    m = mask[t:b, l:r]
    side = max(b - t, r - l)
    width = stroke_width(m)
    ratio = width / max(side, 1)
    contrast = stroke_contrast(m)
    if side < 12 or ratio > BLOB or (STROKE_RANGE[0] <= ratio <= THICK and contrast < CONTRAST):
        return ink * mask, 1.0
    pad = int(np.ceil(MNIST_STROKE * side)) + 2
    mp = np.pad(m, pad)
    inside = ndimage.distance_transform_edt(mp)
    ridge = mp & (inside >= ndimage.maximum_filter(inside, 3) - 0.5)
    to_ridge = ndimage.distance_transform_edt(~ridge)
    half = MNIST_STROKE * side / 2
    redrawn = np.clip(half + 0.5 - to_ridge, 0, 1).astype(np.float32)       # anti-aliased edge
    if ratio > THICK and contrast < CONTRAST:
        eroded = np.clip(inside - (width - 2 * half) / 2 + 0.5, 0, 1)
        redrawn = np.maximum(redrawn, eroded).astype(np.float32)
    out = np.zeros_like(ink)
    H, W = ink.shape
    top, left = t - pad, l - pad
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + mp.shape[0], H), min(left + mp.shape[1], W)
    out[y0:y1, x0:x1] = redrawn[y0 - top:y1 - top, x0 - left:x1 - left]
    return out, ratio
