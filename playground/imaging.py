"""Images as bytes for the browser and for downloads. Pure numpy + Pillow."""
from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image


def to_uint8(images) -> np.ndarray:
    """Images for showing: grey (N, 1, H, W) or (N, H, W) -> uint8 (N, H, W); colour (N, 3, H, W)
    or (N, H, W, 3) -> uint8 (N, H, W, 3), as Pillow and Streamlit take it. Floats are in [0, 1]."""
    a = np.asarray(images)
    if a.ndim == 4 and a.shape[1] == 1:
        a = a[:, 0]
    elif a.ndim == 4 and a.shape[1] == 3:              # channels first (the models' order)
        a = a.transpose(0, 2, 3, 1)
    elif not (a.ndim == 3 or (a.ndim == 4 and a.shape[-1] == 3)):
        raise ValueError(f"images must be (N, H, W), (N, 1 or 3, H, W) or (N, H, W, 3); got {a.shape}")
    if a.dtype == np.uint8:
        return a
    return np.clip(a * 255.0 + 0.5, 0, 255).astype(np.uint8)


def to_float(images) -> np.ndarray:
    """uint8 images (any shape) -> float32 in [0, 1]; the one place this conversion lives."""
    return np.asarray(images, np.uint8).astype(np.float32) / 255.0


def tile(images, cols: int, pad: int = 1, background: int = 48) -> np.ndarray:
    """Lay N images out in rows of `cols`, separated by `pad` pixels of `background`."""
    imgs = to_uint8(images)
    n, h, w = imgs.shape[:3]
    cols = max(1, min(cols, n))
    rows = -(-n // cols)
    canvas = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, *imgs.shape[3:]), background, np.uint8)
    r, c = np.divmod(np.arange(n), cols)
    for i in range(n):                               # n <= a few hundred: cheap
        y0, x0 = pad + r[i] * (h + pad), pad + c[i] * (w + pad)
        canvas[y0:y0 + h, x0:x0 + w] = imgs[i]
    return canvas


def atlas(images, rows: int, cols: int) -> np.ndarray:
    """A seamless grid (no padding) of rows x cols images, row 0 at the top."""
    imgs = to_uint8(images)
    h, w = imgs.shape[1:3]
    rest = imgs.shape[3:]                            # (3,) for colour
    return imgs.reshape(rows, cols, h, w, *rest).swapaxes(1, 2).reshape(rows * h, cols * w, *rest)


def upscale(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement, so small digits stay crisp in the page."""
    return np.repeat(np.repeat(image, factor, 0), factor, 1)


def png_bytes(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, np.uint8)).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def png_data_url(image: np.ndarray) -> str:
    """A uint8 image as a `data:image/png;base64,...` URL (for components and Plotly layout images)."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode()


def checkerboard(h: int, w: int, cell: int = 8, light: int = 255, dark: int = 204) -> np.ndarray:
    """The usual 'transparent' pattern: (h, w) uint8 squares of `cell` pixels."""
    yy, xx = np.indices((h, w))
    return np.where((yy // cell + xx // cell) % 2 == 0, light, dark).astype(np.uint8)


def has_alpha(im: Image.Image) -> bool:
    return im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in im.info


def on_checkerboard(im: Image.Image, cell: int = 8) -> Image.Image:
    """A picture with transparency composited on a checkerboard (RGB), so transparent parts show as
    transparent instead of as whatever colour the hidden pixels happen to have (often black)."""
    rgba = np.asarray(im.convert("RGBA"), np.float32) / 255.0
    board = checkerboard(*rgba.shape[:2], cell=cell).astype(np.float32)[..., None] / 255.0
    a = rgba[..., 3:]
    return Image.fromarray(np.uint8(np.clip(rgba[..., :3] * a + board * (1 - a), 0, 1) * 255 + 0.5))


def preview(data: bytes, max_side: int = 256) -> Image.Image | None:
    """What a person gave, for showing: upright, at most `max_side`, transparency on a checkerboard.
    None when the picture has no transparency (then the prepared picture's own copy will do).
    Call only on bytes that `preprocess.prepare` has accepted (it checks size and format first)."""
    from PIL import ImageOps
    with Image.open(io.BytesIO(data)) as im:
        im.seek(0)
        if not has_alpha(im):
            return None
        im = ImageOps.exif_transpose(im.convert("RGBA"))
    im.thumbnail((max_side, max_side))
    return on_checkerboard(im, cell=max(4, max(im.size) // 16))


def flatten_png(data: bytes, background: int = 0) -> bytes:
    """PNG bytes with any transparency composited onto a grey level (0 = black): the drawing pad
    paints light strokes on a transparent canvas shown as black, so black is what the person saw."""
    with Image.open(io.BytesIO(data)) as im:
        rgba = np.asarray(im.convert("RGBA"), np.float32) / 255.0
    a = rgba[..., 3:]
    rgb = rgba[..., :3] * a + (background / 255.0) * (1 - a)
    return png_bytes(np.uint8(np.clip(rgb, 0, 1) * 255 + 0.5))


def gif_bytes(frames, scale: int = 4, ms_per_frame: int = 80, bounce: bool = True) -> bytes:
    """An animated GIF of the frames (forth and back when `bounce`), looping forever."""
    imgs = [Image.fromarray(upscale(f, scale)) for f in to_uint8(frames)]
    if bounce and len(imgs) > 2:
        imgs = imgs + imgs[-2:0:-1]
    buf = io.BytesIO()
    imgs[0].save(buf, format="GIF", save_all=True, append_images=imgs[1:], duration=ms_per_frame,
                 loop=0, disposal=2)
    return buf.getvalue()
