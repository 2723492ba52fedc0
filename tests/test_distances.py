"""The shared distance helpers: exact, and light enough for the app's first page."""
import subprocess
import sys

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

from conftest import ROOT
from playground.distances import kneighbors, sq_distances


def test_squared_distances_are_exact_and_never_negative():
    d = sq_distances([[0, 0], [1, 1]], [[3, 4], [1, 1]])
    np.testing.assert_allclose(d, [[25, 2], [13, 0]])
    assert (sq_distances(np.full((3, 4), 1e8), np.full((2, 4), 1e8)) >= 0).all()


@pytest.mark.parametrize("n, d, k", [(2000, 2, 8), (500, 16, 10), (40, 3, 40)])
def test_kneighbors_matches_scikit_learn(n, d, k):
    rng = np.random.default_rng(n)
    space, queries = rng.normal(size=(n, d)).astype(np.float32), rng.normal(size=(64, d)).astype(np.float32)
    want_d, want_i = NearestNeighbors(n_neighbors=k).fit(space).kneighbors(queries)
    got_d, got_i = kneighbors(space, queries, k, max_cells=3 * n)      # several chunks
    np.testing.assert_array_equal(got_i, want_i)
    np.testing.assert_allclose(got_d, want_d, atol=1e-5)


def test_kneighbors_orders_ties_by_index_and_checks_k():
    d, i = kneighbors([[1.0], [-1.0], [1.0], [5.0]], [[0.0]], 3)
    assert i.tolist() == [[0, 1, 2]] and d.tolist() == [[1.0, 1.0, 1.0]]
    with pytest.raises(ValueError, match="k must be between 1 and the number of rows"):
        kneighbors([[0.0]], [[0.0]], 2)


def test_the_first_page_modules_do_not_import_scikit_learn():
    code = ("import sys; sys.path.insert(0, %r); import playground.latent_map, playground.session; "
            "print('sklearn' in sys.modules, 'scipy' in sys.modules)" % str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split()[-2:] == ["False", "False"], out
