"""Which latent dimension follows which known factor, for a model whose reference set records the
factors that made each image (the shapes data: `models.shapes`). What the model page shows.

    found = reference_factors("shapes")             # (factors (N, k), names) or None
    a = analyse(model, images, *found)              # MI matrix, MIG, KL per dimension, order
    grid = traversal(model, z0, a.order, TRAVERSAL) # rows = dimensions, columns = values
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from .disentangle import mig

TRAVERSAL = np.linspace(-3.0, 3.0, 7, dtype=np.float32)


def reference_factors(dataset: str, root: os.PathLike | str | None = None
                      ) -> tuple[np.ndarray, tuple[str, ...]] | None:
    """The known factors stored beside a reference set's images (`factors` (N, k) integer indices
    and `factor_names` (k,)), or None for data without them (MNIST, Fashion-MNIST, adapters)."""
    from . import reference_path
    path = reference_path(dataset, root)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            if "factors" not in z.files or "factor_names" not in z.files:
                return None
            factors, names, n = z["factors"], tuple(str(s) for s in z["factor_names"]), len(z["labels"])
    except (ValueError, KeyError, OSError, EOFError) as e:
        raise ValueError(f"{path}: not a valid reference set ({e})") from None
    if factors.ndim != 2 or len(factors) != n or factors.shape[1] != len(names) \
            or not np.issubdtype(factors.dtype, np.integer):
        raise ValueError(f"{path}: factors must be integers (N, {len(names)}) for its {n} images")
    return factors.astype(np.int64), names


@dataclass(frozen=True)
class FactorAnalysis:
    names: tuple[str, ...]
    mi: np.ndarray             # (d, k) nats
    entropy: np.ndarray        # (k,) nats
    gaps: np.ndarray           # (k,) normalised gap per factor
    score: float               # MIG
    best_dims: np.ndarray      # (k,) the dimension most informative about each factor
    kl: np.ndarray             # (d,) mean KL per dimension, nats
    order: np.ndarray          # dimensions sorted by KL, largest first

    def follows(self, dim: int) -> tuple[str, float]:
        """The factor a dimension knows most about, and the share of its entropy it knows."""
        share = self.mi[dim] / np.where(self.entropy > 0, self.entropy, 1.0)
        j = int(share.argmax())
        return self.names[j], float(share[j])


def analyse(model, images: np.ndarray, factors: np.ndarray, names, batch_size: int = 500
            ) -> FactorAnalysis:
    """Encode the reference images (posterior means) and measure MI, MIG and KL per dimension."""
    if model.kind != "vae":
        raise TypeError(f"{model.name} is a {model.kind}: factors are read from an encoder's codes")
    mus, kls = [], []
    for i in range(0, len(images), batch_size):
        mu, logvar = model.posterior(model.as_input(images[i:i + batch_size]))
        mus.append(mu)
        kls.append(0.5 * (mu ** 2 + np.exp(logvar) - 1 - logvar))
    mu, kl = np.concatenate(mus), np.concatenate(kls).mean(0)
    r = mig(mu, factors)
    return FactorAnalysis(tuple(names), r.mi, r.entropy, r.gaps, r.score, r.best_dims, kl,
                          np.argsort(-kl, kind="stable"))


def traversal(model, z0: np.ndarray, dims, values=TRAVERSAL) -> np.ndarray:
    """Decode z0 with one dimension at a time set to each of `values`: (len(dims) * len(values),
    C, H, W), row by row."""
    z0 = np.asarray(z0, np.float32).reshape(-1)
    zs = np.repeat(z0[None], len(dims) * len(values), 0)
    for r, d in enumerate(dims):
        zs[r * len(values):(r + 1) * len(values), int(d)] = values
    return model.decode(zs)
