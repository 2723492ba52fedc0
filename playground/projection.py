"""2-D projections of latent codes, in scikit-learn's estimator shape, each with an inverse.

- `PCAProjection`: linear; `inverse` is exact (the discarded components are held at the mean, or at
  a given point's values).
- `TSNEProjection`: openTSNE (exact neighbours, FFT gradients, short schedule: see `bench/tsne_speed.py`);
  no inverse exists, so `inverse` is learned from the
  (2-D, latent) pairs by `KNNInverse`; `transform` places new points by the same neighbour weighting
  that openTSNE uses to initialise its own `transform`, without re-optimising the map.
- `IdentityProjection`: a 2-D latent space is its own map.

Hyperparameters live in `__init__`; learned state ends with `_` and exists after `fit`.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from .distances import kneighbors

Progress = Callable[[float, str], None]


def _check_2d(x, name: str, dim: int | None = None) -> np.ndarray:
    a = np.asarray(x, dtype=np.float32)
    if a.ndim == 1:
        a = a[None]
    if a.ndim != 2 or (dim is not None and a.shape[1] != dim):
        raise ValueError(f"{name} must have shape (N, {dim or 'd'}); got {np.shape(x)}")
    return a


class KNNInverse:
    """Distance-weighted k-nearest-neighbour regression from one space to another.

    Weights are 1 / (distance + eps)^power, so a query on a training point returns that point's target
    (up to eps), and queries between points blend their neighbours. `keep_norm` rescales each output to
    the weighted mean norm of its neighbours: averaging Gaussian codes shrinks them towards the origin,
    off the prior's typical shell."""

    def __init__(self, k: int = 8, power: float = 2.0, keep_norm: bool = False, eps: float = 1e-6):
        self.k, self.power, self.keep_norm, self.eps = k, power, keep_norm, eps

    def fit(self, source, target) -> "KNNInverse":
        self.source_ = _check_2d(source, "source")
        self.target_ = _check_2d(target, "target")
        if len(self.source_) != len(self.target_):
            raise ValueError("source and target need the same number of rows")
        self.k_ = min(self.k, len(self.source_))
        self.__dict__.pop("tree_", None)                      # a refit gets a new tree
        return self

    # From this many source rows a k-d tree (built once, on first use) finds the neighbours: brute
    # force over a 70,000-point map took seconds for an atlas's few hundred queries. Below it, exact
    # brute force (ties to the lower index).
    TREE_MIN = 4096

    def neighbours(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(distances, indices), nearest first, of each query row's k nearest source rows."""
        if len(self.source_) < self.TREE_MIN:
            return kneighbors(self.source_, q, self.k_)
        tree = self.__dict__.get("tree_")
        if tree is None:
            from scipy.spatial import cKDTree
            tree = self.tree_ = cKDTree(np.asarray(self.source_, np.float64))
        dist, idx = tree.query(np.asarray(q, np.float64), k=self.k_)
        return dist.reshape(len(q), self.k_), idx.reshape(len(q), self.k_).astype(np.int64)

    def weights(self, query) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Neighbour indices, distances and normalised weights for each query row."""
        q = _check_2d(query, "query", self.source_.shape[1])
        dist, idx = self.neighbours(q)
        w = 1.0 / (dist + self.eps) ** self.power
        return idx, dist, (w / w.sum(1, keepdims=True)).astype(np.float32)

    def predict(self, query) -> np.ndarray:
        idx, _, w = self.weights(query)
        neigh = self.target_[idx]                                     # (Q, k, d)
        out = np.einsum("qk,qkd->qd", w, neigh)
        if self.keep_norm:
            norm = np.einsum("qk,qk->q", w, np.linalg.norm(neigh, axis=2))
            out *= (norm / np.maximum(np.linalg.norm(out, axis=1), 1e-12))[:, None]
        return out.astype(np.float32)


class PCAProjection:
    name = "pca"
    exact_inverse = True

    def __init__(self, n_components: int = 2):
        self.n_components = n_components

    def fit(self, x, progress: Progress | None = None) -> "PCAProjection":
        x = _check_2d(x, "x")
        self.mean_ = x.mean(0)
        _, s, vt = np.linalg.svd(x - self.mean_, full_matrices=False)
        vt *= np.sign(vt[np.arange(len(vt)), np.abs(vt).argmax(1)])[:, None]   # deterministic signs
        self.basis_ = vt.astype(np.float32)                          # all directions, by variance
        self.explained_variance_ratio_ = (s ** 2 / max((s ** 2).sum(), 1e-12)).astype(np.float32)
        self.embedding_ = self.transform(x)
        return self

    @property
    def components_(self) -> np.ndarray:
        return self.basis_[: self.n_components]

    def fit_transform(self, x, progress: Progress | None = None) -> np.ndarray:
        return self.fit(x, progress).embedding_

    def transform(self, x) -> np.ndarray:
        return ((_check_2d(x, "x", len(self.mean_)) - self.mean_) @ self.components_.T).astype(np.float32)

    def inverse(self, y, base=None) -> np.ndarray:
        """Exact: the map's coordinates set the first components; the others are held at `base`'s
        values (one code or one per row), or at the mean when `base` is None."""
        y = _check_2d(y, "y", self.n_components)
        z = self.mean_ + y @ self.components_
        if base is not None:
            b = _check_2d(base, "base", len(self.mean_)) - self.mean_
            rest = self.basis_[self.n_components:]
            z = z + (b @ rest.T) @ rest
        return z.astype(np.float32)


class TSNEProjection:
    name = "tsne"
    exact_inverse = False

    # Measured on 10,000 Fashion-MNIST VAE codes (bench/tsne_speed.py, scikit-learn run back to back):
    # exact neighbours (scikit-learn's k-d tree: 16-D codes, 1-2 s where openTSNE's Annoy took 5-11 s),
    # perplexity 10 (30 neighbours, not 90), FFT-interpolated repulsion and 40 + 80 iterations score a
    # trustworthiness (k=10) within 0.001 of scikit-learn's 1,000-iteration Barnes-Hut run at over 10x
    # its speed, and map 70,000 points in well under 90 s on a 2-core CPU. The earlier Barnes-Hut
    # schedule (theta 1.0, perplexity 30, Annoy, 60 + 120) was 4.9-6.3x.
    def __init__(self, perplexity: float = 10.0, early_exaggeration_iter: int = 40, n_iter: int = 80,
                 gradient: str = "fft", neighbors: str = "exact", n_jobs: int = 2, random_state: int = 0):
        self.perplexity = perplexity
        self.early_exaggeration_iter = early_exaggeration_iter
        self.n_iter = n_iter
        self.gradient = gradient
        self.neighbors = neighbors
        self.n_jobs = n_jobs
        self.random_state = random_state

    def fit(self, x, progress: Progress | None = None, embedding=None) -> "TSNEProjection":
        """Fit openTSNE on `x`, or adopt a cached `embedding` of the same rows without refitting."""
        x = _check_2d(x, "x")
        if embedding is None:
            embedding = self._run_tsne(x, progress)
        self.embedding_ = _check_2d(embedding, "embedding", 2)
        if len(self.embedding_) != len(x):
            raise ValueError("cached embedding does not match the data")
        self.source_ = x
        self.forward_ = KNNInverse(k=10, power=2.0).fit(x, self.embedding_)
        return self

    def _run_tsne(self, x: np.ndarray, progress: Progress | None) -> np.ndarray:
        from openTSNE import TSNE, affinity, initialization

        say = progress or (lambda f, t: None)
        total = self.early_exaggeration_iter + self.n_iter
        every = 10
        state = {"done": 0}
        # the neighbour search is about a fifth of the time; the iterations share the rest
        say(0.0, f"t-SNE: finding each of {len(x):,} points' nearest neighbours…")
        perplexity = min(self.perplexity, max(2.0, (len(x) - 1) / 3))
        aff = affinity.PerplexityBasedNN(x, perplexity=perplexity, method=self.neighbors,
                                         n_jobs=self.n_jobs, random_state=self.random_state)
        init = initialization.pca(x, random_state=self.random_state)
        say(0.2, f"t-SNE: iteration 0 of {total}")

        def callback(iteration, error, embedding):
            state["done"] = min(state["done"] + every, total)
            say(0.2 + 0.8 * state["done"] / total, f"t-SNE: iteration {state['done']} of {total}")
            return False

        tsne = TSNE(early_exaggeration_iter=self.early_exaggeration_iter, n_iter=self.n_iter,
                    negative_gradient_method=self.gradient, n_jobs=self.n_jobs,
                    random_state=self.random_state, callbacks=callback, callbacks_every_iters=every,
                    verbose=False)
        return np.asarray(tsne.fit(affinities=aff, initialization=init), dtype=np.float32)

    def fit_transform(self, x, progress: Progress | None = None) -> np.ndarray:
        return self.fit(x, progress).embedding_

    def transform(self, x) -> np.ndarray:
        """Place new points into the existing map (neighbour-weighted; the map is never refit)."""
        return self.forward_.predict(x)


class IdentityProjection:
    name = "latent"
    exact_inverse = True

    def fit(self, x, progress: Progress | None = None) -> "IdentityProjection":
        x = _check_2d(x, "x")
        if x.shape[1] != 2:
            raise ValueError("the latent plane needs 2-D latent codes")
        self.embedding_ = x.copy()
        return self

    def fit_transform(self, x, progress: Progress | None = None) -> np.ndarray:
        return self.fit(x, progress).embedding_

    def transform(self, x) -> np.ndarray:
        return _check_2d(x, "x", 2).copy()

    def inverse(self, y, base=None) -> np.ndarray:
        return _check_2d(y, "y", 2).copy()


METHODS = {"pca": PCAProjection, "tsne": TSNEProjection, "latent": IdentityProjection}
LABELS = {"pca": "PCA", "tsne": "t-SNE", "latent": "Latent plane (2-D)"}


def make(method: str, **params):
    if method not in METHODS:
        raise ValueError(f"unknown projection {method!r}; choose one of {sorted(METHODS)}")
    return METHODS[method](**params)
