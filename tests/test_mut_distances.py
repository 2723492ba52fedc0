"""playground.distances (the one distance helper; exact k nearest neighbours) on small inputs with
known answers (written against the mutation run: `bash scripts/mutation.sh`, docs/mutation.md)."""
import numpy as np
import pytest

from playground.distances import kneighbors, sq_distances


def test_sq_distances_exact_float64_and_never_negative():
    d2 = sq_distances([0, 0], [[3, 4], [0, 1]])
    assert d2.dtype == np.float64 and d2.tolist() == [[25.0, 1.0]]
    c = np.array([160.7, -375.9, 189.6])                         # |c|^2 - 2 c.c + |c|^2 rounds to -6e-11
    assert (sq_distances(c, np.vstack([c, c])) == 0).all()
    a = np.array([[1e4 + 0.1, 3.3]], np.float32)
    b = (a + np.array([0.5, 0], np.float32)).astype(np.float32)
    d = float(b[0, 0]) - float(a[0, 0])
    np.testing.assert_allclose(sq_distances(a, b), [[d * d]], rtol=1e-9)


def test_kneighbors_exact_nearest_first_with_distances():
    d, i = kneighbors([[0.0], [1.0], [3.0]], [[0.9]], 2)
    assert i.tolist() == [[1, 0]] and i.dtype == np.int64
    np.testing.assert_allclose(d, [[0.1, 0.9]], atol=1e-12)
    d, i = kneighbors([[0.0], [1.0], [3.0]], [[0.9], [2.5]], 3)        # k = n: every row, sorted
    assert i.tolist() == [[1, 0, 2], [2, 1, 0]]
    np.testing.assert_allclose(d, [[0.1, 0.9, 2.1], [0.5, 1.5, 2.5]], atol=1e-12)


def test_kneighbors_ties_keep_the_lower_index_first():
    space = np.zeros((30, 2))
    space[::3] = 1.0                                               # many equal distances
    for k in (1, 5, 20, 30):
        _, i = kneighbors(space, [[0.0, 0.0]], k)
        expect = [j for j in range(30) if j % 3] + [j for j in range(30) if j % 3 == 0]
        assert i[0].tolist() == expect[:k], k


def test_kneighbors_matches_brute_force_in_any_chunking():
    rng = np.random.default_rng(0)
    space, q = rng.normal(size=(300, 8)), rng.normal(size=(23, 8))
    brute = np.argsort(((q[:, None] - space[None]) ** 2).sum(-1), 1, kind="stable")
    for max_cells in (1, 300, 301, 299 * 5, 1 << 23):
        for k in (1, 7):
            d, i = kneighbors(space, q, k, max_cells=max_cells)
            np.testing.assert_array_equal(i, brute[:, :k])
        np.testing.assert_allclose(d, np.sqrt(((q[:, None] - space[i]) ** 2).sum(-1)), rtol=1e-9)


def test_kneighbors_refuses_k_outside_1_to_n():
    for k in (0, 4, -1):
        with pytest.raises(ValueError, match=rf"^k must be between 1 and the number of rows \(3\); got {k}$"):
            kneighbors(np.zeros((3, 2)), np.zeros((1, 2)), k)
