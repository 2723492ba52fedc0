"""Pure math: projections, their inverses, interpolation, image helpers."""
import numpy as np
import pytest

from playground.interpolation import interpolate, lerp, slerp
from playground.projection import IdentityProjection, KNNInverse, PCAProjection, TSNEProjection, make
from playground.imaging import atlas, gif_bytes, tile, to_uint8


def blobs(n=300, d=16, k=3, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 6, (k, d))
    labels = rng.integers(0, k, n)
    return (centres[labels] + rng.normal(0, 1, (n, d))).astype(np.float32), labels


def test_pca_inverse_is_exact_for_points_in_the_plane_and_with_a_base():
    x, _ = blobs()
    p = PCAProjection().fit(x)
    y = p.transform(x)
    # with each point as its own base, inverse(transform(x)) gives x back exactly
    np.testing.assert_allclose(p.inverse(y, base=x), x, atol=1e-4)
    # without a base, the other components sit at the mean: the result projects back to y
    z = p.inverse(y)
    np.testing.assert_allclose(p.transform(z), y, atol=1e-4)
    np.testing.assert_allclose((z - p.mean_) @ p.basis_[2:].T, 0, atol=1e-4)
    assert p.explained_variance_ratio_[0] >= p.explained_variance_ratio_[1]


def test_pca_matches_sklearn_up_to_sign():
    from sklearn.decomposition import PCA
    x, _ = blobs()
    ours = PCAProjection().fit_transform(x)
    ref = PCA(2).fit_transform(x)
    for j in range(2):
        assert abs(np.corrcoef(ours[:, j], ref[:, j])[0, 1]) > 0.9999


def test_knn_inverse_hits_training_points_and_blends_between():
    src = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], np.float32)
    tgt = np.array([[0.0], [10.0], [20.0], [30.0]], np.float32)
    inv = KNNInverse(k=2).fit(src, tgt)
    np.testing.assert_allclose(inv.predict(src), tgt, atol=1e-3)
    mid = inv.predict([[0.5, 0.0]])[0, 0]
    assert 4.9 < mid < 5.1


def test_knn_inverse_keep_norm_stays_on_the_shell():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((500, 64)).astype(np.float32)
    y = rng.uniform(0, 1, (500, 2)).astype(np.float32)
    plain = KNNInverse(k=8).fit(y, z).predict(rng.uniform(0, 1, (50, 2)))
    kept = KNNInverse(k=8, keep_norm=True).fit(y, z).predict(rng.uniform(0, 1, (50, 2)))
    shell = np.sqrt(64)
    assert np.linalg.norm(plain, axis=1).mean() < 0.8 * shell          # averaging shrinks
    assert abs(np.linalg.norm(kept, axis=1).mean() - shell) < 0.1 * shell


def test_tsne_separates_blobs_and_places_new_points_near_their_cluster():
    x, labels = blobs(n=400, k=3)
    p = TSNEProjection(n_jobs=1).fit(x)
    y = p.embedding_
    assert y.shape == (400, 2)
    from playground.latent_map import knn_agreement
    assert knn_agreement(y, labels) > 0.95
    new, new_labels = blobs(n=30, k=3, seed=0)                  # same centres, fresh noise
    placed = p.transform(new + 0.01)
    centroid = np.stack([y[labels == c].mean(0) for c in range(3)])
    nearest = np.linalg.norm(placed[:, None] - centroid[None], axis=2).argmin(1)
    assert (nearest == new_labels).mean() > 0.9
    # a cached embedding is adopted without refitting
    q = TSNEProjection().fit(x, embedding=y)
    np.testing.assert_array_equal(q.embedding_, y)


def test_identity_projection_and_factory():
    z = np.random.default_rng(0).standard_normal((10, 2)).astype(np.float32)
    p = make("latent").fit(z)
    np.testing.assert_array_equal(p.inverse(p.transform(z)), z)
    with pytest.raises(ValueError, match="2-D"):
        IdentityProjection().fit(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="unknown projection"):
        make("umap3d")


@pytest.mark.parametrize("method", ["linear", "spherical"])
def test_interpolation_end_points_equal_the_inputs(method):
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(16), rng.standard_normal(16)
    path = interpolate(a, b, 7, method)
    assert path.shape == (7, 16)
    np.testing.assert_allclose(path[0], a, atol=1e-6)
    np.testing.assert_allclose(path[-1], b, atol=1e-6)


def test_slerp_keeps_the_norm_and_lerp_does_not():
    rng = np.random.default_rng(2)
    a = rng.standard_normal(64)
    b = rng.standard_normal(64)
    b *= np.linalg.norm(a) / np.linalg.norm(b)                  # same length at both ends
    s, l = slerp(a, b, 11), lerp(a, b, 11)
    np.testing.assert_allclose(np.linalg.norm(s, axis=1), np.linalg.norm(a), rtol=1e-5)
    assert np.linalg.norm(l[5]) < 0.85 * np.linalg.norm(a)     # the straight line dips inside
    # the angle moves uniformly
    cos = (s[:-1] * s[1:]).sum(1) / np.linalg.norm(s[:-1], axis=1) / np.linalg.norm(s[1:], axis=1)
    assert np.ptp(cos) < 1e-5


def test_slerp_degenerate_cases():
    a = np.ones(4)
    np.testing.assert_allclose(slerp(a, a, 5), np.repeat(a[None], 5, 0), atol=1e-6)
    opp = slerp(a, -a, 5)
    np.testing.assert_allclose(np.linalg.norm(opp, axis=1), 2.0, rtol=1e-5)
    np.testing.assert_allclose(opp[-1], -a, atol=1e-6)
    np.testing.assert_allclose(slerp(np.zeros(4), a, 3)[1], a / 2, atol=1e-6)
    with pytest.raises(ValueError):
        slerp(a, a, 1)
    with pytest.raises(ValueError, match="shape"):
        lerp(np.ones(3), np.ones(4), 3)


def test_image_helpers():
    imgs = np.random.default_rng(0).uniform(0, 1, (6, 1, 28, 28)).astype(np.float32)
    t = tile(imgs, 3, pad=1)
    assert t.shape == (2 * 29 + 1, 3 * 29 + 1) and t.dtype == np.uint8
    np.testing.assert_array_equal(t[1:29, 1:29], to_uint8(imgs)[0])
    a = atlas(imgs, 2, 3)
    assert a.shape == (56, 84)
    np.testing.assert_array_equal(a[28:, 28:56], to_uint8(imgs)[4])
    gif = gif_bytes(imgs)
    assert gif[:6] == b"GIF89a"
    from PIL import Image
    import io
    with Image.open(io.BytesIO(gif)) as im:
        assert im.n_frames == 6 + 4                              # forth and back


def test_tsne_schedule_keeps_scikit_learns_trustworthiness_on_a_small_set():
    """The short schedule (exact neighbours, FFT, 40 + 80 iterations) against scikit-learn's full
    1,000-iteration t-SNE on 500 of scikit-learn's own 8x8 digits (shipped with it: no download):
    trustworthiness (k=10) within 0.01 (bench/tsne_speed.py holds it to 0.005 at 10,000 codes)."""
    from sklearn.datasets import load_digits
    from sklearn.manifold import TSNE, trustworthiness

    x = load_digits().data[:500].astype(np.float32)
    ours = TSNEProjection(n_jobs=1).fit_transform(x)
    theirs = TSNE(n_components=2, random_state=0, n_jobs=1).fit_transform(x)
    tw_ours, tw_theirs = trustworthiness(x, ours, n_neighbors=10), trustworthiness(x, theirs, n_neighbors=10)
    assert tw_ours > 0.95 and tw_ours >= tw_theirs - 0.01, (tw_ours, tw_theirs)


def test_knn_inverse_on_a_large_map_uses_a_tree_with_the_brute_force_answers():
    """From TREE_MIN points the neighbours come from a k-d tree (a 70,000-point map's atlas took
    seconds by brute force): the same neighbours, weights and predictions as brute force."""
    rng = np.random.default_rng(0)
    y = rng.uniform(0, 10, (KNNInverse.TREE_MIN + 500, 2)).astype(np.float32)
    z = rng.standard_normal((len(y), 16)).astype(np.float32)
    q = np.r_[rng.uniform(-1, 11, (300, 2)), y[:5]].astype(np.float32)       # and on points themselves
    tree = KNNInverse(k=8, keep_norm=True).fit(y, z)
    brute = KNNInverse(k=8, keep_norm=True).fit(y, z)
    brute.TREE_MIN = len(y) + 1
    (i1, d1, w1), (i2, d2, w2) = tree.weights(q), brute.weights(q)
    assert "tree_" in tree.__dict__ and "tree_" not in brute.__dict__
    np.testing.assert_array_equal(i1, i2)
    np.testing.assert_allclose(d1, d2, atol=1e-5)
    np.testing.assert_allclose(w1[:300], w2[:300], rtol=1e-4)
    np.testing.assert_allclose(tree.predict(q), brute.predict(q), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(tree.predict(y[:5]), z[:5], atol=1e-3)           # a point returns its code
    one = tree.weights(q[:1])
    assert one[0].shape == (1, 8) and one[0].dtype == np.int64
    tree.fit(y[::-1], z[::-1])                                                   # a refit: a new tree
    np.testing.assert_allclose(tree.predict(y[:5]), z[:5], atol=1e-3)
