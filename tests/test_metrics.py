import numpy as np
import pytest

from models.metrics import frechet_distance, inception_score


def test_inception_score_bounds():
    confident = np.eye(10)[np.arange(1000) % 10]
    assert inception_score(confident) == pytest.approx(10, rel=1e-6)
    collapsed = np.eye(10)[np.zeros(1000, int)]
    assert inception_score(collapsed) == pytest.approx(1, rel=1e-6)
    assert inception_score(np.full((100, 10), 0.1)) == pytest.approx(1, rel=1e-6)


def test_frechet_distance():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((5000, 8))
    assert frechet_distance(a, a) == pytest.approx(0, abs=1e-6)
    b = a + 3.0                                    # shifted mean: distance = |shift|^2 = 8 * 9
    assert frechet_distance(a, b) == pytest.approx(72, rel=1e-3)
    c = a * 2.0                                    # covariance 4I vs I: trace term 8 * (1 + 4 - 4)
    assert frechet_distance(a, c) == pytest.approx(8, rel=0.05)
