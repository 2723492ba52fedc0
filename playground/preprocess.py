"""Turn any uploaded picture into the input a model was trained on (pure: Pillow, numpy, scipy):
28x28 for the shipped models; any other size, in colour for an RGB model (`_prepare_sized`).

    prepare_image(data, card) -> float32 (28, 28) in [0, 1], or raises ImageError (a message for a person)
    prepare_many(data, card)  -> [float32 (28, 28)]: one per digit in the picture, left to right
    prepare(data, card, region=None) -> Prepared: the same, plus the intermediate stages and notes to show

Photos are not MNIST. In order: refuse what is not an image (or is too big to decode safely), apply
the EXIF orientation, take the first frame of an animation, turn any mode (palette, 16-bit, CMYK,
alpha...) into grayscale, composite transparency onto the background that contrasts with the ink.
Then, for MNIST digits (`playground.ink`): remove the paper's lighting and decide which side the
ink is on, normalise the contrast locally, remove ruled and squared lines, keep the digits' ink
(specks, marks at the border and stray marks far from the digits are dropped), split several
digits left to right, and redraw strokes far thinner or thicker than MNIST's at its width. For the
other data sets, as before: make the background dark and the content light, stretch the contrast.
Last, crop to the content and frame it as the data set was framed:
- MNIST: the digit scaled into a 20x20 box and centred by its centre of mass in 28x28;
- Fashion-MNIST: the product scaled so its longer side is 28 and centred by its bounding box;
- a folder of the user's own images: stretched to 28x28, as `models.data.load_folder` does.
A person can give the region to look in (`region`, shares of the picture) when the automatic
choice is wrong: then all the ink inside it is the one digit.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from playground import ink as inkmod

FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF")
MAX_BYTES = 10 * 1024 * 1024          # the server's cap is 32 MB (.streamlit/config.toml, for checkpoints)
MAX_PIXELS = 40_000_000               # e.g. 7,300 x 5,500: refused before decoding beyond this
MAX_SIDE = 20_000
WORK_SIDE = 256                       # everything after decoding happens at most this big
INK = 0.2                             # after contrast stretch, what counts as content

FRAMING = {                           # data set -> (box side, centring)
    "mnist": (20, "mass"),
    "fashion-mnist": (28, "box"),
}


class ImageError(ValueError):
    """An upload that cannot become a model input; the message is meant for the person."""


Box = tuple[int, int, int, int]                # (top, bottom, left, right) in the working image
BLANK = "The picture is blank (one flat colour): there is nothing in it to encode."
INVERTED = "Dark on light: inverted to light on dark, as in the training data."


@dataclass
class Prepared:
    image: np.ndarray                         # float32 (H, W), or (3, H, W) in colour, in [0, 1]: what the model sees
    original: Image.Image                     # the decoded picture (oriented, at most WORK_SIDE), RGB
    gray: np.ndarray                          # float32 working image, light content on dark
    box: Box                                  # content crop in `gray`: (top, bottom, left, right)
    notes: list[str] = field(default_factory=list)
    flat: np.ndarray | None = None            # float32: light ink on black, lighting and paper lines gone
    mask: np.ndarray | None = None            # bool: the ink kept (every digit)
    dropped: np.ndarray | None = None         # bool: ink left out (specks, border and stray marks)
    digits: list[np.ndarray] = field(default_factory=list)   # (28, 28) per digit, left to right
    boxes: list[Box] = field(default_factory=list)           # each digit's crop in `gray`
    main: int = 0                             # which digit `image` is (the one with the most ink)


def prepare_image(data: bytes, card: dict) -> np.ndarray:
    """Bytes of a PNG/JPEG/GIF/BMP/WebP/TIFF -> float32 (28, 28) in [0, 1], framed like `card`'s data.
    A picture of several digits gives the one with the most ink (`prepare_many` gives them all)."""
    return prepare(data, card).image


def prepare_many(data: bytes, card: dict) -> list[np.ndarray]:
    """One float32 (28, 28) input per digit in the picture, left to right ("2024" on a sticky note
    gives four). Data sets other than MNIST give one input per picture."""
    return prepare(data, card).digits


def prepare(data: bytes, card: dict, region: tuple[float, float, float, float] | None = None) -> Prepared:
    """Every stage of turning `data` into model inputs. `region` = (top, bottom, left, right) as
    shares (0..1) of the picture: look only there, and take all the ink in it as the one digit."""
    notes: list[str] = []
    im = _open(data, notes)
    rgb, alpha = _to_channels(im, notes)
    gray = _luminance(rgb)
    gray = _composite(gray, alpha, notes)
    dataset = (card.get("dataset") or {}).get("name", "")
    side, centring = FRAMING.get(dataset, (None, "stretch"))
    shown = Image.fromarray(np.uint8(np.clip(rgb, 0, 1) * 255))
    shape = tuple(card.get("image_shape") or (1, 28, 28))
    if shape != (1, 28, 28):                 # a model of another size or in colour: the whole picture
        return _prepare_sized(rgb, alpha, gray, shown, notes, region, shape)
    if dataset == "mnist" and min(gray.shape) >= MIN_PHOTO_SIDE:
        return _prepare_digits(gray, shown, notes, region, side, centring)
    gray = _polarity(gray, notes)
    if region is not None:
        gray = _within(gray, region)
        notes.append("Crop set by hand: everything inside it is the picture.")
    box = _content_box(gray)
    if box is None:
        raise ImageError(BLANK)
    out = _frame(gray, box, side, centring).astype(np.float32)
    gray = gray.astype(np.float32)
    return Prepared(out, shown, gray, box, notes, flat=gray, mask=gray > 0, dropped=np.zeros(gray.shape, bool),
                    digits=[out], boxes=[box])


def _prepare_sized(rgb, alpha, gray, shown, notes, region, shape) -> Prepared:
    """For a model of any other (channels, height, width): grey models as a user's folder is
    prepared (light content on dark, cropped to it, stretched to the model's size); colour models
    keep their colour: the picture (or `region` of it) stretched to the model's size, as
    `models.adapters.read_image_folder` reads a reference folder. `image` is (H, W) when grey,
    (3, H, W) in colour."""
    c, h, w = shape
    if c == 1:
        g = _polarity(gray, notes)
        if region is not None:
            g = _within(g, region)
            notes.append("Crop set by hand: everything inside it is the picture.")
        box = _content_box(g)
        if box is None:
            raise ImageError(BLANK)
        t, b, l, r = box
        out = np.clip(_resize(g[t:b, l:r], w, h), 0, 1).astype(np.float32)
        g = g.astype(np.float32)
        return Prepared(out, shown, g, box, notes, flat=g, mask=g > 0, dropped=np.zeros(g.shape, bool),
                        digits=[out], boxes=[box])
    if alpha is not None:
        rgb = rgb * alpha[..., None]
        notes.append("Transparent background filled with black.")
    box = _region_box(gray.shape, region) if region is not None else (0, gray.shape[0], 0, gray.shape[1])
    if region is not None:
        notes.append("Crop set by hand: everything inside it is the picture.")
    t, b, l, r = box
    crop = rgb[t:b, l:r]
    if float(crop.max() - crop.min()) < 1e-3:
        raise ImageError(BLANK)
    out = np.stack([np.clip(_resize(crop[..., k], w, h), 0, 1) for k in range(3)]).astype(np.float32)
    notes.append(f"Stretched to {w} × {h} pixels, colour kept (this model takes RGB).")
    g = gray.astype(np.float32)
    return Prepared(out, shown, g, box, notes, flat=g, mask=np.ones(g.shape, bool),
                    dropped=np.zeros(g.shape, bool), digits=[out], boxes=[box])


# ---- digits in photos (MNIST) ------------------------------------------------------------------

MIN_PHOTO_SIDE = 16       # smaller pictures are taken as they are (no lighting, lines or components)
MAX_DIGITS = 12          # digits read from one picture (each is encoded and shown)
MIN_CONTRAST = 0.08       # ink fainter than this against the paper everywhere: a blank picture


def _within(g: np.ndarray, region) -> np.ndarray:
    """`g` with everything outside `region` (shares of the height and width) set to 0."""
    t, b, l, r = _region_box(g.shape, region)
    out = np.zeros_like(g)
    out[t:b, l:r] = g[t:b, l:r]
    return out


def _region_box(shape, region) -> Box:
    h, w = shape
    t, b, l, r = (float(np.clip(v, 0, 1)) for v in region)
    t, b = sorted((t, b))
    l, r = sorted((l, r))
    t, l = int(np.floor(t * h)), int(np.floor(l * w))
    return t, max(int(np.ceil(b * h)), t + 1), l, max(int(np.ceil(r * w)), l + 1)


def _prepare_digits(gray, shown, notes, region, side, centring) -> Prepared:
    flat = inkmod.flatten(gray)
    if flat.dark_ink:
        notes.append(INVERTED)
    x, lines = inkmod.remove_lines(flat.ink)
    if lines:
        notes.append(f"Paper lines removed ({lines} ruled or squared lines and margins).")
    if float(np.percentile(x, 99.9)) < MIN_CONTRAST and x.max() < 0.5:
        x = np.zeros_like(x)
    x = inkmod.local_contrast(x)
    g = np.where(x >= INK, x, 0).astype(np.float32)
    if region is not None:
        g = _within(g, region)
        notes.append("Crop set by hand: all the ink inside it is the digit.")
        found = inkmod.Digits([_content_box(g)], [g > 0], np.zeros(g.shape, bool)) if g.any() else None
    else:
        found = inkmod.find_digits(g > 0)
    if found is None or not found.boxes:
        raise ImageError(BLANK)
    if len(found.boxes) > MAX_DIGITS:
        notes.append(f"{len(found.boxes)} digits found: the first {MAX_DIGITS} from the left are used.")
        found = inkmod.Digits(found.boxes[:MAX_DIGITS], found.masks[:MAX_DIGITS], found.dropped)
    if found.dropped.any():
        notes.append("Left out ink that is not part of a digit (specks, marks at the border or far "
                     "from the digits).")
    digits, boxes, mass = [], [], []
    redrawn = 0
    for m, box in zip(found.masks, found.boxes):
        d, ratio = inkmod.normalise_strokes(g, m, box)
        redrawn += ratio != 1.0
        digits.append(_frame(d, _content_box(d), side, centring).astype(np.float32))
        boxes.append(box)
        mass.append(float(g[m].sum()))
    if redrawn:
        notes.append("Strokes redrawn at the training data's typical width (a very thin or thick pen).")
    if len(digits) > 1:
        notes.append(f"{len(digits)} digits found, read left to right.")
    main = int(np.argmax(mass))
    mask = np.any(found.masks, 0)
    return Prepared(digits[main], shown, g, boxes[main], notes, flat=x, mask=mask, dropped=found.dropped,
                    digits=digits, boxes=boxes, main=main)


# ---- decoding -----------------------------------------------------------------------------------

def _sniff(data: bytes) -> str | None:
    head = data[:512].lstrip().lower()
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in data[:4096].lower()):
        return "an SVG drawing (vector graphics); export it as PNG first"
    if head.startswith((b"<!doctype html", b"<html")):
        return "a web page (HTML), not a picture"
    if data[:1] == b"\x80" and data[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "a Python pickle, which is never opened here"
    if head.startswith(b"%pdf"):
        return "a PDF document; export the page as PNG first"
    return None


def _open(data: bytes, notes: list[str]) -> Image.Image:
    if not data:
        raise ImageError("The file is empty.")
    if len(data) > MAX_BYTES:
        raise ImageError(f"The file is {len(data) / 2**20:.1f} MB; the limit is {MAX_BYTES // 2**20} MB.")
    what = _sniff(data)
    if what:
        raise ImageError(f"This file is {what}.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=FORMATS)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ImageError(f"The picture claims to be too large to decode safely (limit "
                         f"{MAX_PIXELS / 1e6:.0f} megapixels): a decompression bomb, or a scan to scale down first.") from None
    except UnidentifiedImageError:
        raise ImageError("This is not a picture we can read: upload a PNG, JPEG, GIF, BMP, WebP or TIFF "
                         "file.") from None
    except (OSError, ValueError, SyntaxError) as e:
        raise ImageError(f"The picture is damaged and cannot be read ({e}).") from None
    w, h = im.size
    if w < 1 or h < 1:
        raise ImageError("The picture has no pixels.")
    if w > MAX_SIDE or h > MAX_SIDE or w * h > MAX_PIXELS:
        raise ImageError(f"The picture is {w:,} x {h:,} pixels, too large to decode safely "
                         f"(limit {MAX_PIXELS / 1e6:.0f} megapixels, {MAX_SIDE:,} a side). Scale it down first.")
    frames = getattr(im, "n_frames", 1)
    if frames > 1:
        notes.append(f"Animated or multi-page ({frames} frames): the first frame is used.")
        im.seek(0)
    try:
        if im.format == "JPEG":                  # decode a big JPEG at 1/2 .. 1/8 scale: fast, less memory
            im.draft(im.mode, (WORK_SIDE * 2, WORK_SIDE * 2))
        im.load()
        if im.getexif().get(0x0112, 1) not in (1, None):
            notes.append("Rotated upright as its EXIF orientation says.")
        im = ImageOps.exif_transpose(im)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, EOFError) as e:
        raise ImageError(f"The picture is truncated or damaged and cannot be decoded ({e}).") from None
    if max(im.size) > WORK_SIDE:
        im = _shrink(im)
    return im


def _shrink(im: Image.Image) -> Image.Image:
    scale = WORK_SIDE / max(im.size)
    size = (max(1, round(im.size[0] * scale)), max(1, round(im.size[1] * scale)))
    if im.mode in ("P", "1"):
        im = im.convert("RGBA")
    if im.mode.startswith("I;16"):
        im = im.convert("I")
    return im.resize(size, Image.BOX)


def _to_channels(im: Image.Image, notes: list[str]) -> tuple[np.ndarray, np.ndarray | None]:
    """Any mode -> RGB float in [0, 1] (H, W, 3) and alpha in [0, 1] (or None)."""
    mode = im.mode
    if mode.startswith("I") or mode == "F":          # 16/32-bit integer or float grayscale
        a = np.asarray(im, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") or (mode == "I" and a.max() > 255) else 255.0
        if mode == "F" or a.max() > top or a.min() < 0:
            lo, hi = float(a.min()), float(a.max())
            a = (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
        else:
            a = a / top
        g = np.clip(a, 0, 1)
        return np.repeat(g[..., None], 3, 2), None
    has_alpha = mode in ("RGBA", "LA", "PA", "La", "RGBa") or (mode == "P" and "transparency" in im.info) \
        or (mode in ("L", "RGB") and "transparency" in im.info)
    if mode == "CMYK":
        notes.append("CMYK picture converted to RGB.")
    if has_alpha:
        a = np.asarray(im.convert("RGBA"), dtype=np.float32) / 255.0
        alpha = a[..., 3]
        if alpha.min() >= 1.0:
            alpha = None
        return a[..., :3], alpha
    return np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0, None


def _luminance(rgb: np.ndarray) -> np.ndarray:
    return rgb @ np.array([0.299, 0.587, 0.114], dtype=rgb.dtype)


def _composite(gray: np.ndarray, alpha: np.ndarray | None, notes: list[str]) -> np.ndarray:
    """Put transparent pixels on the background that contrasts with the visible ink."""
    if alpha is None:
        return gray
    solid = alpha > 0.5
    if not solid.any():
        raise ImageError("The picture is fully transparent: there is nothing in it to encode.")
    ink = float(np.average(gray, weights=alpha + 1e-6))
    bg = 1.0 if ink < 0.5 else 0.0
    notes.append(f"Transparent background filled with {'white' if bg else 'black'} (the drawing is "
                 f"{'dark' if bg else 'light'}).")
    return alpha * gray + (1 - alpha) * bg


# ---- polarity, contrast, crop, frame ------------------------------------------------------------

def _polarity(gray: np.ndarray, notes: list[str]) -> np.ndarray:
    """Make the background dark (0) and the content light, with the contrast stretched to [0, 1]."""
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    bg = float(np.median(border))
    if bg > 0.5:
        gray = 1.0 - gray
        bg = 1.0 - bg
        notes.append("Dark on light: inverted to light on dark, as in the training data.")
    ink = np.percentile(gray, 99.5)
    if ink - bg < 0.08:                     # nearly flat: no content to speak of
        return np.zeros_like(gray)
    g = np.clip((gray - bg) / (ink - bg), 0, 1)
    g[g < INK] = 0.0                        # paper texture and shadows go; strokes stay
    return g


def _content_box(g: np.ndarray) -> tuple[int, int, int, int] | None:
    rows, cols = np.flatnonzero(g.max(1) > 0), np.flatnonzero(g.max(0) > 0)
    if rows.size == 0:
        return None
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _resize(a: np.ndarray, w: int, h: int) -> np.ndarray:
    return np.asarray(Image.fromarray(a.astype(np.float32), mode="F").resize((w, h), Image.LANCZOS))


def _frame(g: np.ndarray, box, side: int | None, centring: str) -> np.ndarray:
    t, b, l, r = box
    crop = g[t:b, l:r]
    if side is None:                                         # a user's folder: stretched, like training
        return np.clip(_resize(crop, 28, 28), 0, 1)
    h, w = crop.shape
    s = side / max(h, w)
    nw, nh = max(1, round(w * s)), max(1, round(h * s))
    small = np.clip(_resize(crop, nw, nh), 0, 1)
    out = np.zeros((28, 28), np.float32)
    if centring == "mass" and small.sum() > 0:
        yy, xx = np.indices(small.shape)
        cy, cx = (yy * small).sum() / small.sum(), (xx * small).sum() / small.sum()
        top, left = int(round(13.5 - cy)), int(round(13.5 - cx))
    else:
        top, left = (28 - nh) // 2, (28 - nw) // 2
    top, left = min(max(top, 0), 28 - nh), min(max(left, 0), 28 - nw)
    out[top:top + nh, left:left + nw] = small
    return out
