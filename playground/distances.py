"""The one distance helper the pages share (uploads' neighbours, the drag page's verdict). Pure numpy."""
from __future__ import annotations

import numpy as np


def sq_distances(queries: np.ndarray, space: np.ndarray) -> np.ndarray:
    """(Q, N) squared Euclidean distances between rows, never negative.

    >>> sq_distances([[0, 0]], [[3, 4], [0, 1]]).tolist()
    [[25.0, 1.0]]
    """
    q = np.atleast_2d(np.asarray(queries, np.float64))
    s = np.atleast_2d(np.asarray(space, np.float64))
    d2 = (q ** 2).sum(1)[:, None] - 2 * q @ s.T + (s ** 2).sum(1)[None]
    return np.maximum(d2, 0.0)


def kneighbors(space: np.ndarray, queries: np.ndarray, k: int, max_cells: int = 1 << 23
               ) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest rows of `space` for each query, nearest first: (distances (Q, k), indices (Q, k)).

    Brute force in float64, in chunks of queries so at most `max_cells` distances exist at once (64 MB).
    Ties keep the lower index first. Plain numpy: no scikit-learn import on the app's first page.

    >>> d, i = kneighbors([[0.0], [1.0], [3.0]], [[0.9]], 2)
    >>> i.tolist(), d.round(2).tolist()
    ([[1, 0]], [[0.1, 0.9]])
    """
    space = np.atleast_2d(np.asarray(space, np.float64))
    queries = np.atleast_2d(np.asarray(queries, np.float64))
    n = len(space)
    if not 1 <= k <= n:
        raise ValueError(f"k must be between 1 and the number of rows ({n}); got {k}")
    chunk = max(1, max_cells // max(n, 1))
    dist = np.empty((len(queries), k))
    idx = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), chunk):
        d2 = sq_distances(queries[start:start + chunk], space)
        part = np.argpartition(d2, k - 1, axis=1)[:, :k] if k < n else np.broadcast_to(np.arange(n), d2.shape)
        part = np.sort(part, axis=1)                                   # lower index first among ties
        order = np.argsort(np.take_along_axis(d2, part, 1), axis=1, kind="stable")
        best = np.take_along_axis(part, order, 1)
        idx[start:start + chunk] = best
        dist[start:start + chunk] = np.sqrt(np.take_along_axis(d2, best, 1))
    return dist, idx
