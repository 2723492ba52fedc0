"""Which latent dimension follows which factor: the mutual information gap (MIG), pure numpy.

Chen et al. 2018, "Isolating Sources of Disentanglement in VAEs": for each known factor v_j, the
mutual information I(z_i; v_j) with every latent dimension z_i, and the gap between the largest and
the second largest, divided by the factor's entropy H(v_j). A gap of 1 means one dimension carries
all of the factor and no other carries any; 0 means the two best dimensions carry it equally (or
none does). MIG is the mean gap over the factors.

The latent codes are discretised first, each dimension into `bins` equal-width bins between its
minimum and maximum (20, as in disentanglement_lib's MIG), so every quantity is a count.

    mi = mutual_information(codes, factors)      # (latent dims, factors), nats
    report = mig(codes, factors)                 # .score, .gaps, .mi, .entropy, .best_dims
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BINS = 20


def discretise(codes, bins: int = BINS) -> np.ndarray:
    """(N, d) float codes -> (N, d) int bin indices 0..bins-1, equal-width bins per dimension."""
    z = np.asarray(codes, dtype=np.float64)
    if z.ndim != 2 or len(z) == 0:
        raise ValueError(f"codes must be a non-empty (N, d) array; got shape {z.shape}")
    if not np.isfinite(z).all():
        raise ValueError("codes must be finite")
    if bins < 2:
        raise ValueError(f"bins must be at least 2, not {bins}")
    lo, hi = z.min(0), z.max(0)
    width = np.where(hi > lo, hi - lo, 1.0)
    return np.clip(((z - lo) / width * bins).astype(np.int64), 0, bins - 1)


def entropy(labels) -> float:
    """Entropy in nats of a discrete variable's empirical distribution."""
    _, counts = np.unique(np.asarray(labels), return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum())


def _mi(a: np.ndarray, b: np.ndarray) -> float:
    """I(a; b) in nats for two discrete integer variables, from their joint counts."""
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    joint = np.zeros((ai.max() + 1, bi.max() + 1))
    np.add.at(joint, (ai, bi), 1.0)
    p = joint / joint.sum()
    pa, pb = p.sum(1, keepdims=True), p.sum(0, keepdims=True)
    nz = p > 0
    return float(max((p[nz] * np.log(p[nz] / (pa @ pb)[nz])).sum(), 0.0))


def mutual_information(codes, factors, bins: int = BINS) -> np.ndarray:
    """(d, k) matrix of I(z_i; v_j) in nats: discretised latent dimensions against factor indices."""
    zd = discretise(codes, bins)
    f = np.asarray(factors)
    if f.ndim != 2 or len(f) != len(zd):
        raise ValueError(f"factors must be (N, k) with the codes' N = {len(zd)}; got shape {f.shape}")
    return np.array([[_mi(zd[:, i], f[:, j]) for j in range(f.shape[1])] for i in range(zd.shape[1])])


@dataclass(frozen=True)
class MIG:
    score: float                  # mean normalised gap over the factors, 0..1
    gaps: np.ndarray              # (k,) normalised gap per factor
    mi: np.ndarray                # (d, k) mutual information, nats
    entropy: np.ndarray           # (k,) H(v_j), nats
    best_dims: np.ndarray         # (k,) the dimension with the most information about each factor

    def per_factor(self, names) -> dict[str, float]:
        return {str(n): round(float(g), 4) for n, g in zip(names, self.gaps)}


def mig(codes, factors, bins: int = BINS) -> MIG:
    """The mutual information gap of `codes` (N, d) for the known `factors` (N, k); needs d >= 2.

    A factor that never varies in the data (entropy 0) has gap 0 (and is not counted in the mean)."""
    mi = mutual_information(codes, factors, bins)
    if mi.shape[0] < 2:
        raise ValueError("MIG needs at least two latent dimensions (a gap between the best two)")
    f = np.asarray(factors)
    h = np.array([entropy(f[:, j]) for j in range(f.shape[1])])
    top = -np.sort(-mi, axis=0)
    varies = h > 0
    gaps = np.where(varies, (top[0] - top[1]) / np.where(varies, h, 1.0), 0.0)
    score = float(gaps[varies].mean()) if varies.any() else 0.0
    return MIG(score, gaps, mi, h, mi.argmax(0))
