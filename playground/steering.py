"""Steering a latent code: directions to move along and the cursor's coordinates on them (pure numpy).

A direction is a vector u in latent space with an origin o; the coordinate of a code z along it is
c = (z - o) . u / |u|^2, and setting it to c' moves z by (c' - c) u. So a slider always shows where
the cursor is, and moving the slider moves only that coordinate.

- `axis_directions`: one per latent dimension (for small latents);
- `principal_directions`: the principal axes of a set of codes (GANSpace-style), origin their mean,
  scaled to one standard deviation, so a coordinate of +/-2 is two standard deviations;
- `class_direction`: from one class's mean code to another's (0 at the first mean, 1 at the second).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from playground.distances import sq_distances


@dataclass(frozen=True)
class Direction:
    name: str
    u: np.ndarray          # (d,)
    origin: np.ndarray     # (d,)

    def coordinate(self, z: np.ndarray) -> float:
        return float((np.asarray(z, np.float64) - self.origin) @ self.u / (self.u @ self.u))

    def set(self, z: np.ndarray, c: float) -> np.ndarray:
        """z moved along this direction so that its coordinate becomes `c`."""
        z = np.asarray(z, np.float64)
        return (z + (c - self.coordinate(z)) * self.u).astype(np.float32)


def axis_directions(d: int) -> list[Direction]:
    eye = np.eye(d)
    return [Direction(f"z{i + 1}", eye[i], np.zeros(d)) for i in range(d)]


def principal_directions(z: np.ndarray, k: int = 5) -> list[Direction]:
    z = np.asarray(z, np.float64)
    mean = z.mean(0)
    _, s, vt = np.linalg.svd(z - mean, full_matrices=False)
    sd = s / np.sqrt(max(len(z) - 1, 1))
    share = s ** 2 / (s ** 2).sum()
    return [Direction(f"PC {i + 1} ({share[i]:.0%} of variance)", vt[i] * sd[i], mean)
            for i in range(min(k, len(sd)))]


def class_direction(z: np.ndarray, labels: np.ndarray, a: int, b: int, names=None) -> Direction:
    """Raises ValueError, with a reason a person can read, when there is no such direction."""
    z, labels = np.asarray(z, np.float64), np.asarray(labels)
    na, nb = (names[a], names[b]) if names else (str(a), str(b))
    for c, name in ((a, na), (b, nb)):
        if not (labels == c).any():
            raise ValueError(f"no point of the map has the class {name!r}")
    ma, mb = z[labels == a].mean(0), z[labels == b].mean(0)
    if np.allclose(ma, mb):
        raise ValueError(f"{na!r} and {nb!r} have the same mean code")
    return Direction(f"{na} → {nb}", mb - ma, ma)


def class_index(value, names, default: int) -> int:
    """The class a selectbox of class indices holds, as an index into `names`: the index itself, or
    (a browser may hand a selectbox's value back as text after its options were rebuilt) its digits
    or the class's name; anything else, or out of range, is `default`."""
    n = len(names)
    if isinstance(value, str):
        if value.strip().isdigit():
            value = int(value.strip())
        elif value in names:
            return list(names).index(value)
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and 0 <= value < n:
        return int(value)
    return default


def slider_value(coordinate: float, lo: float, hi: float, step: float) -> float:
    """The value a slider from `lo` to `hi` in steps of `step` shows for a coordinate: clipped to
    the range and put on the slider's grid (a browser slider snaps to its grid, so a value off the
    grid would come back changed, as if the person had moved it)."""
    snapped = lo + round((min(max(coordinate, lo), hi) - lo) / step) * step
    return round(min(max(snapped, lo), hi), 10)


def prior_shell(z: np.ndarray) -> float:
    """|z| / sqrt(d): about 1 for codes a standard Gaussian prior would draw."""
    z = np.asarray(z, np.float64)
    return float(np.linalg.norm(z) / np.sqrt(z.shape[-1]))


def data_distance(z: np.ndarray, codes: np.ndarray, typical: float) -> float:
    """Distance from z to its nearest code, in units of the codes' median nearest-neighbour distance."""
    if not typical > 0:
        raise ValueError(f"the typical distance between codes is {typical}: the codes coincide")
    d = np.sqrt(sq_distances(z, codes).min())
    return float(d / typical)


def distance_label(far: float, kind: str) -> str:
    """The drag page's verdict on `data_distance`: a VAE's map points are encoded real images, a GAN's
    are samples the generator drew, so a GAN's code is never said to be near real data."""
    close, points, every = (("real data", "data points", "every data point") if kind == "vae" else
                            ("the map's samples", "map samples", "every map sample"))
    return (f"close to the codes of {close}" if far < 1.5 else f"between {points}" if far < 4 else
            f"far from {every}: the model is guessing")


def typical_nn_distance(codes: np.ndarray, sample: int = 500, seed: int = 0) -> float:
    """Median distance from a code to its nearest other code (on a sample, for speed)."""
    codes = np.asarray(codes, np.float64)
    idx = np.random.default_rng(seed).permutation(len(codes))[:sample]
    d2 = sq_distances(codes[idx], codes)
    d2[np.arange(len(idx)), idx] = np.inf
    return float(np.median(np.sqrt(d2.min(1))))
