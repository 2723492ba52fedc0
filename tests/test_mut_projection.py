"""playground.projection on small inputs with known answers: exact weights, exact PCA bases, the
settings that reach openTSNE, and error messages that name the argument (written against the mutation
run: `bash scripts/mutation.sh`, docs/mutation.md)."""
import numpy as np
import pytest

from playground import projection as pj
from playground.projection import IdentityProjection, KNNInverse, PCAProjection, TSNEProjection, make


# ---- _check_2d ------------------------------------------------------------------------------------

def test_check_2d_promotes_one_row_casts_to_float32_and_names_the_argument():
    a = pj._check_2d([1, 2, 3], "x")
    assert a.shape == (1, 3) and a.dtype == np.float32
    assert pj._check_2d(np.ones((2, 3), np.float64), "x", 3).dtype == np.float32
    with pytest.raises(ValueError, match=r"^x must have shape \(N, d\); got \(2, 2, 2\)$"):
        pj._check_2d(np.zeros((2, 2, 2)), "x")
    with pytest.raises(ValueError, match=r"^query must have shape \(N, 3\); got \(2, 2\)$"):
        pj._check_2d(np.zeros((2, 2)), "query", 3)


# ---- KNNInverse ----------------------------------------------------------------------------------

LINE = np.array([[0.0], [1.0], [3.0]], np.float32)


def test_knn_defaults():
    inv = KNNInverse()
    assert (inv.k, inv.power, inv.keep_norm, inv.eps) == (8, 2.0, False, 1e-6)


def test_knn_weights_are_inverse_squared_distances_normalised():
    inv = KNNInverse(k=3).fit(LINE, [[0.0], [10.0], [30.0]])
    idx, dist, w = inv.weights([[0.5]])
    assert sorted(idx[0].tolist()[:2]) == [0, 1] and idx[0, 2] == 2
    np.testing.assert_allclose(np.sort(dist[0]), [0.5, 0.5, 2.5], atol=1e-6)
    raw = 1 / (np.array([0.5, 0.5, 2.5]) + 1e-6) ** 2
    np.testing.assert_allclose(w[0][np.argsort(dist[0])], raw / raw.sum(), rtol=1e-5)
    assert w.dtype == np.float32
    np.testing.assert_allclose(inv.predict([[0.5]]), [[(0 + 10 + 30 / 25) / (2 + 1 / 25)]], rtol=1e-5)
    assert inv.predict([[0.5]]).dtype == np.float32


def test_knn_power_and_eps_are_used():
    inv = KNNInverse(k=2, power=1.0, eps=0.5).fit(LINE, [[0.0], [10.0], [30.0]])
    _, dist, w = inv.weights([[0.0]])                           # neighbours at 0 and 1
    raw = 1 / (np.sort(dist[0]) + 0.5)                          # 2 and 2/3
    np.testing.assert_allclose(np.sort(w[0])[::-1], raw / raw.sum(), rtol=1e-6)
    np.testing.assert_allclose(inv.predict([[0.0]]), [[2.5]], rtol=1e-6)


def test_knn_query_on_a_training_point_returns_its_target_almost_exactly():
    inv = KNNInverse().fit(LINE, [[0.0], [10.0], [30.0]])      # default eps 1e-6
    np.testing.assert_allclose(inv.predict(LINE), [[0.0], [10.0], [30.0]], atol=1e-4)


def test_knn_uses_at_most_k_neighbours_and_at_most_all_points():
    rng = np.random.default_rng(0)
    src, tgt = rng.normal(size=(12, 2)), rng.normal(size=(12, 3))
    idx, dist, w = KNNInverse().fit(src, tgt).weights(src[:2])
    assert idx.shape == dist.shape == w.shape == (2, 8)
    np.testing.assert_allclose(w.sum(1), 1, rtol=1e-6)
    idx, _, _ = KNNInverse(k=8).fit(src[:3], tgt[:3]).weights(src[:1])   # fewer points than k
    assert sorted(idx[0].tolist()) == [0, 1, 2]


def test_knn_fit_checks_its_inputs_with_named_messages():
    with pytest.raises(ValueError, match="^source and target need the same number of rows$"):
        KNNInverse().fit(np.zeros((3, 2)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"^source must have shape"):
        KNNInverse().fit(np.zeros((3, 2, 1)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"^target must have shape"):
        KNNInverse().fit(np.zeros((3, 2)), np.zeros((3, 2, 1)))
    inv = KNNInverse().fit(np.zeros((3, 2)), np.zeros((3, 5)))
    with pytest.raises(ValueError, match=r"^query must have shape \(N, 2\); got \(1, 3\)$"):
        inv.predict(np.zeros((1, 3)))


def test_keep_norm_rescales_to_the_weighted_mean_norm_exactly():
    src = np.array([[0.0, 0.0], [2.0, 0.0]], np.float32)
    for scale in (1.0, 0.1):                                   # also below 1: the floor is only 1e-12
        tgt = np.array([[3.0, 0.0], [0.0, 4.0]], np.float32) * scale
        plain = KNNInverse(k=2).fit(src, tgt).predict([[1.0, 0.0]])        # equal weights
        np.testing.assert_allclose(plain, [[1.5 * scale, 2.0 * scale]], rtol=1e-5)
        kept = KNNInverse(k=2, keep_norm=True).fit(src, tgt).predict([[1.0, 0.0]])
        np.testing.assert_allclose(kept, [[2.1 * scale, 2.8 * scale]], rtol=1e-5)   # |.| = 3.5 * scale
        assert kept.dtype == np.float32


def test_keep_norm_leaves_a_zero_blend_at_zero():
    src = np.array([[0.0], [2.0]], np.float32)
    out = KNNInverse(k=2, keep_norm=True).fit(src, [[1.0, 0.0], [-1.0, 0.0]]).predict([[1.0]])
    np.testing.assert_allclose(out, [[0.0, 0.0]], atol=1e-6)


# ---- PCA -----------------------------------------------------------------------------------------

CROSS = np.array([[3, 1], [-1, 1], [1, 2], [1, 0]], np.float32)       # mean (1, 1); variance 8 along x, 2 along y


def test_pca_on_a_known_cross():
    p = PCAProjection().fit(CROSS)
    assert p.n_components == 2
    np.testing.assert_allclose(p.mean_, [1, 1])
    np.testing.assert_allclose(p.basis_, np.eye(2), atol=1e-6)
    np.testing.assert_allclose(p.explained_variance_ratio_, [0.8, 0.2], rtol=1e-6)
    assert p.basis_.dtype == p.explained_variance_ratio_.dtype == np.float32
    np.testing.assert_allclose(p.embedding_, [[2, 0], [-2, 0], [0, 1], [0, -1]], atol=1e-6)
    assert p.embedding_.dtype == np.float32
    np.testing.assert_array_equal(p.fit_transform(CROSS), p.embedding_)


def test_pca_signs_make_each_directions_largest_entry_positive():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(50, 4)) * [4, 3, 2, 1] @ np.linalg.qr(rng.normal(size=(4, 4)))[0]
    for flip in (1, -1):
        p = PCAProjection().fit(flip * x)
        top = p.basis_[np.arange(4), np.abs(p.basis_).argmax(1)]
        assert (top > 0).all(), p.basis_
    # flipping the data flips the embedding, not the basis
    np.testing.assert_allclose(PCAProjection().fit(-x).embedding_, -PCAProjection().fit(x).embedding_, atol=1e-4)
    # a basis whose largest entries sit in different columns: row-wise choice matters
    y = np.array([[0.0, 3.0, 0.0], [0.0, -3.0, 0.0], [-1.0, 0.0, 0.5], [1.0, 0.0, -0.5]])
    np.testing.assert_allclose(PCAProjection().fit(y).basis_[:2], [[0, 1, 0], [1, 0, -0.5] / np.sqrt(1.25)],
                               atol=1e-6)


def test_pca_explained_variance_ratio_sums_to_one_even_for_tiny_or_zero_variance():
    p = PCAProjection().fit(CROSS * 1e-3)
    np.testing.assert_allclose(p.explained_variance_ratio_, [0.8, 0.2], rtol=1e-4)
    flat = PCAProjection().fit(np.ones((5, 3)))
    np.testing.assert_array_equal(flat.explained_variance_ratio_, [0, 0, 0])


def test_pca_n_components_transform_and_messages():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 4)).astype(np.float32)
    p = PCAProjection(n_components=3).fit(x)
    assert p.components_.shape == (3, 4)
    np.testing.assert_array_equal(p.components_, p.basis_[:3])
    np.testing.assert_allclose(p.transform(x), (x - x.mean(0)) @ p.basis_[:3].T, atol=1e-5)
    assert p.transform(x).dtype == np.float32
    with pytest.raises(ValueError, match=r"^x must have shape \(N, 4\)"):
        p.transform(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"^y must have shape \(N, 3\)"):
        p.inverse(np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"^base must have shape \(N, 4\)"):
        p.inverse(np.zeros((1, 3)), base=np.zeros((1, 3)))
    with pytest.raises(ValueError, match=r"^x must have shape \(N, d\)"):
        PCAProjection().fit(np.zeros((2, 2, 2)))


def test_pca_inverse_exact_values_with_and_without_a_base():
    p = PCAProjection().fit(np.array([[1, 0, 5], [-1, 0, 5], [0, 2, 5], [0, -2, 5], [0, 0, 6], [0, 0, 4]],
                                     np.float32))
    # basis: y (variance 8), x (2), z (2) - ties between x and z broken by SVD; take the first two
    y = p.transform([[0.5, 1.0, 5.7]])
    z = p.inverse(y)
    assert z.dtype == np.float32
    np.testing.assert_allclose(p.transform(z), y, atol=1e-5)
    rest = p.basis_[2]
    assert abs(float((z[0] - p.mean_) @ rest)) < 1e-5           # hidden component at the mean
    zb = p.inverse(y, base=[0.5, 1.0, 5.7])
    np.testing.assert_allclose(zb, [[0.5, 1.0, 5.7]], atol=1e-5)  # all components back
    zb2 = p.inverse(np.vstack([y, y]), base=[[0.5, 1.0, 5.7], [0.0, 0.0, 5.0]])
    np.testing.assert_allclose(zb2[0], [0.5, 1.0, 5.7], atol=1e-5)
    np.testing.assert_allclose(zb2[1], z[0], atol=1e-5)          # a base at the mean: same as no base


# ---- t-SNE ---------------------------------------------------------------------------------------

def test_tsne_defaults_are_the_measured_schedule():
    t = TSNEProjection()
    assert (t.perplexity, t.early_exaggeration_iter, t.n_iter, t.gradient, t.neighbors, t.n_jobs,
            t.random_state) == (10.0, 40, 80, "fft", "exact", 2, 0)


class FakeTSNE:
    """Stands in for openTSNE.TSNE: records its settings and what it was given, calls the callback
    every `callbacks_every_iters` iterations."""
    seen = []

    def __init__(self, **kw):
        self.kw = kw
        FakeTSNE.seen.append(self)

    def fit(self, X=None, affinities=None, initialization=None):
        self.affinities, self.initialization = affinities, initialization
        total = self.kw["early_exaggeration_iter"] + self.kw["n_iter"]
        every = self.kw["callbacks_every_iters"]
        self.returned = [self.kw["callbacks"](it, 0.0, None) for it in range(every, total + 2 * every, every)]
        return np.arange(2 * len(initialization), dtype=np.float64).reshape(-1, 2)


class FakeAffinity:
    seen = []

    def __init__(self, data, **kw):
        self.n, self.kw = len(data), kw
        FakeAffinity.seen.append(self)


@pytest.fixture
def fake_tsne(monkeypatch):
    import openTSNE
    import openTSNE.affinity
    FakeTSNE.seen, FakeAffinity.seen = [], []
    monkeypatch.setattr(openTSNE, "TSNE", FakeTSNE)
    monkeypatch.setattr(openTSNE.affinity, "PerplexityBasedNN", FakeAffinity)
    return FakeTSNE


def test_tsne_passes_its_settings_to_opentsne(fake_tsne):
    x = np.random.default_rng(0).normal(size=(400, 3))
    calls = []
    t = TSNEProjection(perplexity=25.0, early_exaggeration_iter=30, n_iter=20, gradient="bh",
                       neighbors="annoy", n_jobs=1, random_state=5)
    y = t.fit_transform(x, progress=lambda f, s: calls.append((round(f, 4), s)))
    kw = fake_tsne.seen[0].kw
    assert {k: v for k, v in kw.items() if k != "callbacks"} == dict(
        early_exaggeration_iter=30, n_iter=20, negative_gradient_method="bh", n_jobs=1, random_state=5,
        callbacks_every_iters=10, verbose=False)
    aff = FakeAffinity.seen[0]
    assert aff.n == 400 and aff.kw == dict(perplexity=25.0, method="annoy", n_jobs=1, random_state=5)
    assert fake_tsne.seen[0].affinities is aff                    # the neighbours found once, used
    init = fake_tsne.seen[0].initialization                       # PCA initialisation, scaled small
    assert init.shape == (400, 2) and 0 < np.std(init[:, 0]) < 1e-3
    assert y.dtype == np.float32 and y.shape == (400, 2)
    np.testing.assert_array_equal(y, np.arange(800).reshape(-1, 2))
    assert calls == [(0.0, "t-SNE: finding each of 400 points' nearest neighbours…"),
                     (0.2, "t-SNE: iteration 0 of 50"), (0.36, "t-SNE: iteration 10 of 50"),
                     (0.52, "t-SNE: iteration 20 of 50"), (0.68, "t-SNE: iteration 30 of 50"),
                     (0.84, "t-SNE: iteration 40 of 50"), (1.0, "t-SNE: iteration 50 of 50"),
                     (1.0, "t-SNE: iteration 50 of 50")]
    assert fake_tsne.seen[0].returned == [False] * 6              # never asks openTSNE to stop


def test_tsne_perplexity_bounded_by_the_number_of_points(fake_tsne):
    for n, perplexity in [(4, 2.0), (10, 3.0), (31, 10.0), (400, 10.0), (70_000, 10.0)]:
        TSNEProjection().fit(np.zeros((n, 2)) + np.arange(n)[:, None])
        kw = FakeAffinity.seen[-1].kw
        assert (kw["perplexity"], kw["method"]) == (perplexity, "exact"), n
        kw = fake_tsne.seen[-1].kw
        assert (kw["early_exaggeration_iter"], kw["n_iter"], kw["negative_gradient_method"]) == (40, 80, "fft")


def test_tsne_without_progress_runs_quietly(fake_tsne):
    t = TSNEProjection().fit(np.arange(20.0).reshape(10, 2))
    assert fake_tsne.seen[0].returned == [False] * 13 and t.embedding_.shape == (10, 2)


def test_tsne_adopts_a_cached_embedding_and_places_new_points_by_its_neighbours(fake_tsne):
    x = np.arange(24, dtype=np.float32).reshape(12, 2)
    emb = np.stack([np.arange(12.0), np.zeros(12)], 1)
    t = TSNEProjection().fit(x, embedding=emb)
    assert not fake_tsne.seen                                     # no refit
    assert t.embedding_.dtype == np.float32
    np.testing.assert_array_equal(t.embedding_, emb)
    np.testing.assert_array_equal(t.source_, x)
    np.testing.assert_allclose(t.transform(x[3]), [[3.0, 0.0]], atol=1e-4)
    assert (t.forward_.k, t.forward_.power, t.forward_.keep_norm) == (10, 2.0, False)
    idx, _, _ = t.forward_.weights(x[:1])
    assert idx.shape == (1, 10)
    with pytest.raises(ValueError, match="^cached embedding does not match the data$"):
        TSNEProjection().fit(x, embedding=emb[:5])
    with pytest.raises(ValueError, match=r"^embedding must have shape \(N, 2\)"):
        TSNEProjection().fit(x, embedding=np.zeros((12, 3)))
    with pytest.raises(ValueError, match=r"^x must have shape"):
        TSNEProjection().fit(np.zeros((2, 2, 2)), embedding=emb)


# ---- identity and the factory --------------------------------------------------------------------

def test_identity_projection_copies_and_checks():
    z = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    p = IdentityProjection()
    y = p.fit_transform(z)
    np.testing.assert_array_equal(y, z)
    z[0, 0] = 99
    assert p.embedding_[0, 0] == 1.0                              # a copy, not a view
    t = p.transform(z)
    inv = p.inverse(z)
    z[1, 1] = -7
    assert t[1, 1] == 4.0 and inv[1, 1] == 4.0
    with pytest.raises(ValueError, match="^the latent plane needs 2-D latent codes$"):
        IdentityProjection().fit(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"^x must have shape \(N, 2\)"):
        p.transform(np.zeros((1, 3)))
    with pytest.raises(ValueError, match=r"^y must have shape \(N, 2\)"):
        p.inverse(np.zeros((1, 3)))
    with pytest.raises(ValueError, match=r"^x must have shape \(N, d\)"):
        IdentityProjection().fit(np.zeros((2, 2, 2)))


def test_make_builds_each_method_with_its_params_and_names_the_choices():
    assert isinstance(make("pca"), PCAProjection) and make("pca", n_components=3).n_components == 3
    assert isinstance(make("tsne"), TSNEProjection) and make("tsne", perplexity=5.0).perplexity == 5.0
    assert isinstance(make("latent"), IdentityProjection)
    with pytest.raises(ValueError, match=r"^unknown projection 'umap'; choose one of \['latent', 'pca', 'tsne'\]$"):
        make("umap")


# ---- second mutation pass -------------------------------------------------------------------------

def test_keep_norm_rescales_each_query_by_its_own_norm():
    src = np.array([[0.0, 0.0], [2.0, 0.0], [10.0, 0.0], [12.0, 0.0]], np.float32)
    tgt = np.array([[3.0, 0.0], [0.0, 4.0], [0.3, 0.0], [0.0, 0.4]], np.float32)
    kept = KNNInverse(k=2, keep_norm=True).fit(src, tgt).predict([[1.0, 0.0], [11.0, 0.0]])
    np.testing.assert_allclose(kept, [[2.1, 2.8], [0.21, 0.28]], rtol=1e-5)


def test_pca_inverse_holds_the_hidden_components_at_the_base_not_the_mean():
    rng = np.random.default_rng(4)
    x = (rng.normal(size=(40, 4)) * [5.0, 3.0, 2.0, 1.0] + [3.0, -2.0, 5.0, 1.0]).astype(np.float32)
    p = PCAProjection().fit(x)
    b = np.array([[1.0, 2.0, 3.0, 4.0], [-3.0, 0.5, 7.0, -1.0]], np.float32)
    np.testing.assert_allclose(p.inverse(p.transform(b), base=b), b, atol=1e-4)
    np.testing.assert_allclose(p.inverse(p.transform(b) + 1.0, base=b) - b,
                               np.ones((2, 2)) @ p.components_, atol=1e-4)
