"""Pictures of what preprocessing did to an upload, for the Encode page (pure: numpy + Pillow).

    stage_images(p)   -> {"flattened", "ink", "crop"}: uint8 RGB arrays of `preprocess.Prepared`
    auto_region(p)    -> the digits' crop as shares of the picture (what the crop sliders start at)
    percent(region) / from_percent(rows, cols): between shares and the sliders' percentages
    read_number(labels, class_names) -> "2024" for digits, "Trouser, Bag" otherwise
"""
from __future__ import annotations

import numpy as np
from PIL import Image

KEPT = (255, 255, 255)       # ink kept, in the ink picture
DROPPED = (230, 60, 60)      # ink left out (specks, border and stray marks)
BOX = (60, 200, 90)          # each digit's crop


def _u8(a: np.ndarray) -> np.ndarray:
    return np.uint8(np.round(np.clip(a, 0, 1) * 255))


def _outline(rgb: np.ndarray, box, colour) -> None:
    t, b, l, r = box
    h, w = rgb.shape[:2]
    b, r = min(b, h) - 1, min(r, w) - 1
    if b < t or r < l:
        return
    rgb[t, l:r + 1] = rgb[b, l:r + 1] = colour
    rgb[t:b + 1, l] = rgb[t:b + 1, r] = colour


def stage_images(p) -> dict[str, np.ndarray]:
    """The flattened picture (light ink on black), the ink mask (kept white, left out red, each
    digit's crop outlined) and the crop of the original around the digit(s)."""
    flat = p.flat if p.flat is not None else p.gray
    flattened = np.repeat(_u8(flat)[..., None], 3, 2)
    ink = np.zeros(flat.shape + (3,), np.uint8)
    if p.dropped is not None:
        ink[p.dropped] = DROPPED
    ink[p.mask if p.mask is not None else p.gray > 0] = KEPT
    for box in p.boxes or [p.box]:
        _outline(ink, box, BOX)
    original = np.asarray(p.original.convert("RGB"))
    t, b, l, r = union(p.boxes or [p.box])
    crop = original[t:b, l:r]
    return {"flattened": flattened, "ink": ink, "crop": crop if crop.size else original}


def union(boxes) -> tuple[int, int, int, int]:
    return (min(b[0] for b in boxes), max(b[1] for b in boxes), min(b[2] for b in boxes), max(b[3] for b in boxes))


def auto_region(p, margin: float = 0.04) -> tuple[float, float, float, float]:
    """Every digit's crop together, a little wider, as shares (top, bottom, left, right)."""
    h, w = p.gray.shape
    t, b, l, r = union(p.boxes or [p.box])
    return (max(0.0, t / h - margin), min(1.0, b / h + margin), max(0.0, l / w - margin), min(1.0, r / w + margin))


def percent(region) -> tuple[tuple[int, int], tuple[int, int]]:
    """Shares (top, bottom, left, right) -> the sliders' ((top, bottom), (left, right)) in whole percent."""
    t, b, l, r = region
    return (int(np.floor(t * 100)), int(np.ceil(b * 100))), (int(np.floor(l * 100)), int(np.ceil(r * 100)))


def from_percent(rows, cols) -> tuple[float, float, float, float]:
    (t, b), (l, r) = sorted(rows), sorted(cols)
    return t / 100, max(b, t + 1) / 100, l / 100, max(r, l + 1) / 100


def read_number(labels, class_names) -> str:
    """What a classifier read in each digit, left to right: '2024' when every class is one
    character (digits), the class names with commas otherwise."""
    names = [class_names[int(i)] for i in labels]
    return "".join(names) if all(len(n) == 1 for n in names) else ", ".join(names)


def small(a: np.ndarray, side: int = 256) -> Image.Image:
    """An RGB array as a picture at most `side` pixels a side (nearest: the pixels as computed)."""
    im = Image.fromarray(a)
    if max(im.size) < side // 2:
        f = max(1, side // max(im.size))
        im = im.resize((im.width * f, im.height * f), Image.NEAREST)
    return im
