"""Shapes: a data family the project makes itself (no download), with known factors.

Small RGB pictures (32x32, uint8, channels first) of one coloured shape on black. Every image is
one combination of six discrete factors, each drawn from a fixed list of values:

    shape     square, circle, triangle, cross
    colour    red, green, blue, yellow, magenta, cyan
    size      4 sizes (circumradius 4 to 8.5 px)
    x, y      8 positions each (centre 9 to 23 px)
    rotation  6 angles in [0, 90) degrees (a circle looks the same at every angle)

Rendering is anti-aliased by each pixel's signed distance to the shape's edge (coverage =
clip(0.5 - distance, 0, 1)), pure numpy, so the same factors give the same bytes on any machine.

    images, factors = generate(1000, seed=0)    # uint8 (N, 3, 32, 32), int64 (N, 6)
    train, held_out = split(seed=0)             # disjoint factor combinations
"""
from __future__ import annotations

import numpy as np

IMAGE_SIZE = 32
SHAPES = ("square", "circle", "triangle", "cross")
COLOURS = {
    "red": (230, 40, 40), "green": (40, 200, 60), "blue": (50, 90, 240),
    "yellow": (235, 215, 40), "magenta": (220, 50, 220), "cyan": (40, 215, 225),
}
SIZES = (4.0, 5.5, 7.0, 8.5)                            # circumradius in pixels
POSITIONS = tuple(float(p) for p in np.linspace(9, 23, 8))  # centre, pixels from the top/left edge
ROTATIONS = tuple(float(a) for a in np.arange(6) * 15.0)    # degrees

FACTORS = ("shape", "colour", "size", "x", "y", "rotation")
FACTOR_VALUES: dict[str, tuple] = {
    "shape": SHAPES, "colour": tuple(COLOURS), "size": SIZES,
    "x": POSITIONS, "y": POSITIONS, "rotation": ROTATIONS,
}
FACTOR_SIZES = tuple(len(FACTOR_VALUES[f]) for f in FACTORS)
N_COMBINATIONS = int(np.prod(FACTOR_SIZES))
CLASS_NAMES = list(SHAPES)          # the class of an image is its shape (maps colour by shape)
REFERENCE_SIZE = 2000               # held-out combinations shipped in checkpoints/reference/shapes.npz
TRAIN_SIZE = 20000                  # training combinations drawn from the rest


def check_factors(factors) -> np.ndarray:
    """Validate (N, 6) factor indices; returns them as int64."""
    f = np.asarray(factors)
    if f.ndim != 2 or f.shape[1] != len(FACTORS):
        raise ValueError(f"factors must have shape (N, {len(FACTORS)}) ({', '.join(FACTORS)}); "
                         f"got {f.shape}")
    if f.size and not np.issubdtype(f.dtype, np.integer):
        raise ValueError("factors must be integer indices")
    f = f.astype(np.int64)
    bad = (f < 0) | (f >= np.asarray(FACTOR_SIZES))
    if bad.any():
        j = int(np.argwhere(bad)[0, 1])
        raise ValueError(f"factor {FACTORS[j]!r} takes indices 0 to {FACTOR_SIZES[j] - 1}")
    return f


def sample_factors(n: int, seed: int = 0) -> np.ndarray:
    """n independent uniform draws of every factor (repeats possible). Same seed, same draws."""
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, k, int(n)) for k in FACTOR_SIZES], 1).astype(np.int64)


def all_factors() -> np.ndarray:
    """Every combination once, in row-major order of FACTORS: (N_COMBINATIONS, 6)."""
    grids = np.meshgrid(*[np.arange(k) for k in FACTOR_SIZES], indexing="ij")
    return np.stack([g.ravel() for g in grids], 1).astype(np.int64)


def split(seed: int = 0, n_train: int = TRAIN_SIZE, n_held_out: int = REFERENCE_SIZE
          ) -> tuple[np.ndarray, np.ndarray]:
    """(training factors, held-out factors): disjoint sets of combinations, fixed by `seed`."""
    if n_train + n_held_out > N_COMBINATIONS:
        raise ValueError(f"only {N_COMBINATIONS} combinations exist")
    perm = np.random.default_rng(seed).permutation(N_COMBINATIONS)
    combos = all_factors()
    return combos[perm[n_held_out:n_held_out + n_train]], combos[perm[:n_held_out]]


def _signed_distance(shape: str, u: np.ndarray, v: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Distance in pixels from each point (u, v), in the shape's own frame (centre 0, y down), to
    the edge of a shape of circumradius r: negative inside."""
    if shape == "circle":
        return np.hypot(u, v) - 0.85 * r
    if shape == "square":
        return _box(u, v, r / np.sqrt(2), r / np.sqrt(2))
    if shape == "cross":
        arm = r * 0.32
        return np.minimum(_box(u, v, r * 0.95, arm), _box(u, v, arm, r * 0.95))
    if shape == "triangle":                 # equilateral, apex up; edges at distance r/2 from the centre
        d = np.full(u.shape, -np.inf)
        for a in (90.0, 210.0, 330.0):      # outward normals of the three edges (y down: apex at -v)
            t = np.deg2rad(a)
            d = np.maximum(d, u * np.cos(t) + v * np.sin(t) - r / 2)
        return d                            # max of half-planes: exact inside, close enough at corners
    raise ValueError(f"unknown shape {shape!r}")


def _box(u, v, hx, hy):
    qx, qy = np.abs(u) - hx, np.abs(v) - hy
    outside = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0))
    return outside + np.minimum(np.maximum(qx, qy), 0)


def render(factors, chunk: int = 4096) -> np.ndarray:
    """uint8 images (N, 3, 32, 32) for factor indices (N, 6)."""
    f = check_factors(factors)
    out = np.zeros((len(f), 3, IMAGE_SIZE, IMAGE_SIZE), np.uint8)
    pix = np.arange(IMAGE_SIZE, dtype=np.float64) + 0.5               # pixel centres
    colours = np.asarray(list(COLOURS.values()), np.float64)
    for lo in range(0, len(f), chunk):
        fc = f[lo:lo + chunk]
        r = np.asarray(SIZES)[fc[:, 2]][:, None, None]
        cx = np.asarray(POSITIONS)[fc[:, 3]][:, None, None]
        cy = np.asarray(POSITIONS)[fc[:, 4]][:, None, None]
        th = np.deg2rad(np.asarray(ROTATIONS)[fc[:, 5]])[:, None, None]
        dx, dy = pix[None, None, :] - cx, pix[None, :, None] - cy
        u = np.cos(th) * dx + np.sin(th) * dy                           # rotate the frame by -angle
        v = -np.sin(th) * dx + np.cos(th) * dy
        alpha = np.zeros((len(fc), IMAGE_SIZE, IMAGE_SIZE))
        for s, name in enumerate(SHAPES):
            m = fc[:, 0] == s
            if m.any():
                alpha[m] = np.clip(0.5 - _signed_distance(name, u[m], v[m], r[m]), 0.0, 1.0)
        img = alpha[:, None] * colours[fc[:, 1]][:, :, None, None]
        out[lo:lo + chunk] = np.rint(img).astype(np.uint8)
    return out


def generate(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n images with independently drawn factors: (uint8 (N, 3, 32, 32), int64 factors (N, 6))."""
    f = sample_factors(n, seed)
    return render(f), f
