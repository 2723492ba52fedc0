"""MIG (models.disentangle) on codes where the answer is known."""
import numpy as np
import pytest

from models.disentangle import discretise, entropy, mig, mutual_information

rng = np.random.default_rng(0)
N = 4000
FACTORS = np.stack([rng.integers(0, 4, N), rng.integers(0, 8, N), rng.integers(0, 6, N)], 1)


def clean_code(noise=0.0):
    """One dimension per factor (its value plus a little noise), and two noise dimensions."""
    z = np.concatenate([FACTORS.astype(float), rng.standard_normal((N, 2))], 1)
    return z + noise * rng.standard_normal(z.shape)


def test_entropy_of_uniform_factor_is_log_k():
    assert entropy(FACTORS[:, 1]) == pytest.approx(np.log(8), abs=0.01)


def test_discretise_bins_each_dimension_between_its_min_and_max():
    z = np.array([[0.0, 5.0], [1.0, 5.0], [0.5, 5.0]])
    np.testing.assert_array_equal(discretise(z, bins=4), [[0, 0], [3, 0], [2, 0]])


def test_a_perfectly_disentangled_code_scores_near_one():
    r = mig(clean_code(), FACTORS)
    assert r.score > 0.95
    np.testing.assert_array_equal(r.best_dims, [0, 1, 2])
    np.testing.assert_allclose(r.mi[[0, 1, 2], [0, 1, 2]], r.entropy, rtol=0.02)   # I(z;v)=H(v)
    assert r.mi[3:].max() < 0.05                                       # noise dims know nothing


def test_a_rotated_code_scores_low():
    z = clean_code()[:, :3]
    z = (z - z.mean(0)) / z.std(0)
    q, _ = np.linalg.qr(np.array([[1.0, 1, 1], [1, -1, 0.3], [0.2, 1, -1]]))
    r = mig(z @ q, FACTORS)
    assert r.score < 0.3


def test_duplicated_dimension_gives_zero_gap_for_that_factor():
    z = clean_code()
    z = np.concatenate([z, z[:, :1]], 1)                               # factor 0 in two dimensions
    r = mig(z, FACTORS)
    assert r.gaps[0] < 0.02 and r.gaps[1] > 0.95 and r.gaps[2] > 0.95


def test_mutual_information_is_bounded_by_the_factor_entropy():
    mi = mutual_information(clean_code(noise=0.3), FACTORS)
    assert mi.shape == (5, 3) and (mi >= 0).all()
    assert (mi <= np.array([entropy(FACTORS[:, j]) for j in range(3)]) + 1e-9).all()


def test_bad_input_says_what_is_wrong():
    with pytest.raises(ValueError, match="finite"):
        mig(np.full((10, 3), np.nan), FACTORS[:10])
    with pytest.raises(ValueError, match="the codes' N"):
        mig(clean_code(), FACTORS[:10])
    with pytest.raises(ValueError, match="at least two latent dimensions"):
        mig(clean_code()[:, :1], FACTORS)
