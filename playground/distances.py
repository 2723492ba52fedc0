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
