"""Paths between latent codes. Pure numpy."""
from __future__ import annotations

import numpy as np


def _ends(a, b) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"end points differ in shape: {a.shape} vs {b.shape}")
    return a, b


def lerp(a, b, steps: int) -> np.ndarray:
    """`steps` codes on the straight line from a to b, both included."""
    if steps < 2:
        raise ValueError("an interpolation needs at least 2 frames")
    a, b = _ends(a, b)
    t = np.linspace(0.0, 1.0, steps)[:, None]
    return ((1 - t) * a + t * b).astype(np.float32)


def slerp(a, b, steps: int) -> np.ndarray:
    """Spherical interpolation: the angle moves uniformly and the norm moves linearly from |a| to |b|.

    Under a Gaussian prior most mass lies on a shell of radius ~sqrt(d); the straight line between two
    codes dips inside it (towards the mean), spherical interpolation stays on it."""
    if steps < 2:
        raise ValueError("an interpolation needs at least 2 frames")
    a, b = _ends(a, b)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na < 1e-12 or nb < 1e-12:
        return lerp(a, b, steps)
    ua, ub = a / na, b / nb
    omega = np.arccos(np.clip(ua @ ub, -1.0, 1.0))
    t = np.linspace(0.0, 1.0, steps)[:, None]
    if omega < 1e-6:
        direction = np.repeat(ua[None], steps, 0)
    elif np.pi - omega < 1e-6:                     # opposite: any great circle; pick a stable one
        perp = np.eye(len(a))[np.argmin(np.abs(ua))]
        perp = perp - (perp @ ua) * ua
        perp /= np.linalg.norm(perp)
        direction = np.cos(t * np.pi) * ua + np.sin(t * np.pi) * perp
    else:
        direction = (np.sin((1 - t) * omega) * ua + np.sin(t * omega) * ub) / np.sin(omega)
    out = direction * ((1 - t) * na + t * nb)
    out[0], out[-1] = a, b
    return out.astype(np.float32)


def interpolate(a, b, steps: int, method: str = "slerp") -> np.ndarray:
    if method in ("slerp", "spherical"):
        return slerp(a, b, steps)
    if method in ("lerp", "linear"):
        return lerp(a, b, steps)
    raise ValueError(f"unknown interpolation {method!r}: use 'linear' or 'spherical'")


def codes_csv(path) -> str:
    """The frames' latent codes as CSV (a header `frame,z1,...,zd`, one row per frame), with enough
    digits (9 significant) that float32 codes read back exactly."""
    path = np.atleast_2d(np.asarray(path, np.float32))
    head = ",".join(["frame"] + [f"z{j + 1}" for j in range(path.shape[1])])
    rows = (",".join([str(i)] + [f"{v:.9g}" for v in row]) for i, row in enumerate(path.tolist()))
    return "\n".join([head, *rows]) + "\n"
