"""playground.latent_map with stand-in models: the map's geometry, cache keys that match the shipped
maps, the cache files, and build_map's outputs and progress for a VAE and a GAN (written against the
mutation run: `bash scripts/mutation.sh`, docs/mutation.md)."""
import hashlib
import json

import numpy as np
import pytest

import models
from playground import latent_map as lm
from playground.projection import IdentityProjection, PCAProjection, TSNEProjection


class FakeVAE:
    """A linear 'VAE': z = flattened image @ w."""
    kind = "vae"

    def __init__(self, name="fake-vae", sha="a" * 64, d=3):
        self.name, self.card = name, {"weights": {"sha256": sha}}
        self.w = np.random.default_rng(0).standard_normal((784, d)).astype(np.float32) / 28
        self.seen = []

    def encode(self, x):
        self.seen.append(x)
        return x.reshape(len(x), -1) @ self.w


class FakeGAN:
    kind = "gan"

    def __init__(self, name="fake-gan", sha="b" * 64):
        self.name, self.card = name, {"weights": {"sha256": sha}}
        self.sampled = []

    def sample(self, n, seed=None):
        self.sampled.append((n, seed))
        return np.random.default_rng(seed).standard_normal((n, 2)).astype(np.float32)

    def decode(self, z):
        v = 1 / (1 + np.exp(-np.asarray(z, np.float32)[:, :1]))          # in (0, 1)
        return np.broadcast_to(v[:, :, None, None], (len(z), 1, 28, 28)).astype(np.float32)


class FakeClassifier:
    def __init__(self, sha="c" * 64):
        self.card = {"weights": {"sha256": sha}}
        self.calls = 0

    def features(self, x):
        self.calls += 1
        m = x.reshape(len(x), -1).mean(1)
        return np.stack([m, m ** 2, np.sin(6 * m)], 1).astype(np.float32)

    def predict_proba(self, x):
        self.calls += 1
        m = x.reshape(len(x), -1).mean(1)
        return np.stack([1 - m, m], 1)


@pytest.fixture
def ref():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 60)
    images = (rng.uniform(0, 60, (60, 28, 28)) + labels[:, None, None] * 60).astype(np.uint8)
    return images, labels


def square_map(embed=None, projection=None):
    y = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], np.float32)
    z = np.array([[0, 0, 0], [2, 0, 0], [0, 2, 0], [2, 2, 0]], np.float32)
    return lm.LatentMap("m", "pca", z, z, y, np.zeros(4, np.int64), "true class", np.zeros((4, 28, 28), np.uint8),
                        projection or PCAProjection().fit(z), embed)


# ---- the map object ------------------------------------------------------------------------------

def test_latent_map_inverse_is_exact_only_for_a_linear_map_of_the_codes():
    m = square_map()
    assert m.exact is True and m.from_cache is False and m.cache_name == ""
    assert (m.inverse_.k, m.inverse_.power, m.inverse_.keep_norm) == (8, 2.0, False)
    np.testing.assert_array_equal(m.inverse_.target_, m.z)
    learned = square_map(embed=lambda z: z)
    assert learned.exact is False and learned.inverse_.keep_norm is True
    assert square_map(projection=TSNEProjection()).exact is False
    assert square_map(projection=object()).exact is False          # no exact_inverse attribute at all


def test_to_latent_exact_with_base_or_learned():
    m = square_map()
    z = m.to_latent(m.place(m.z[1:2]), base=[[2.0, 0.0, 5.0]])
    np.testing.assert_allclose(z, [[2.0, 0.0, 5.0]], atol=1e-5)    # exact, hidden component from the base
    learned = square_map(embed=lambda z: z)
    np.testing.assert_allclose(learned.to_latent([[1.0, 1.0]]), [[2, 2, 0]], atol=1e-4)   # a training point


def test_place_reshapes_and_embeds_before_projecting():
    m = square_map()
    np.testing.assert_allclose(m.place([2, 2, 0]), m.projection.transform([[2, 2, 0]]))
    seen = []
    e = square_map(embed=lambda z: seen.append(z) or z * 0, projection=IdentityProjection())
    e.projection.fit(np.zeros((1, 2)))
    with pytest.raises(ValueError, match=r"x must have shape \(N, 2\)"):     # the embedding went in
        e.place([1, 2, 3, 4, 5, 6])
    assert seen[0].shape == (2, 3) and seen[0].dtype == np.float32


def test_extent_percentiles_and_margin_exact():
    y = np.stack([np.arange(101.0), 2 * np.arange(101.0)], 1)
    m = lm.LatentMap("m", "latent", y, y, y, np.zeros(101, np.int64), "", np.zeros((101, 28, 28), np.uint8),
                     IdentityProjection().fit(y))
    np.testing.assert_allclose(m.extent(), [[1 - 4.9, 99 + 4.9], [2 - 9.8, 198 + 9.8]], rtol=1e-6)
    np.testing.assert_allclose(m.extent(lo=0, hi=100, margin=0), [[0, 100], [0, 200]])
    np.testing.assert_allclose(m.extent(10, 90, 0.5), [[-30, 130], [-60, 260]], rtol=1e-6)
    xs, ys, pts = m.grid(3)
    np.testing.assert_allclose(xs, [-3.9, 50, 103.9], rtol=1e-6)
    np.testing.assert_allclose(ys, [207.8, 100, -7.8], rtol=1e-6)          # row 0 at the top
    assert pts.dtype == np.float32 and pts.shape == (9, 2)
    np.testing.assert_allclose(pts[:4], [[-3.9, 207.8], [50, 207.8], [103.9, 207.8], [-3.9, 100]], rtol=1e-6)


def test_knn_agreement_exact():
    y = np.array([[0, 0], [1, 0], [10, 0], [11, 0]], np.float32)
    assert lm.knn_agreement(y, np.array([0, 0, 1, 0]), k=1) == 0.5
    y11 = np.stack([np.arange(11.0), np.zeros(11)], 1)
    labels = np.array([0] * 6 + [1] * 5)
    assert lm.knn_agreement(y11, labels) == pytest.approx(5 / 11)       # k=10: all the others


def test_methods_for():
    assert lm.methods_for(2) == ["latent", "pca", "tsne"]
    assert lm.methods_for(3) == lm.methods_for(1) == ["pca", "tsne"]


# ---- cache keys ----------------------------------------------------------------------------------

def test_digest_exact_and_key_order_free():
    expect = hashlib.sha256(b'{"a": 1, "b": 2}' + b"raw").hexdigest()
    from playground.map_keys import digest
    assert digest({"b": 2, "a": 1}, b"raw") == expect


def params(method):
    proj = {"pca": PCAProjection, "tsne": TSNEProjection, "latent": IdentityProjection}[method]()
    return {k: v for k, v in vars(proj).items() if not k.endswith("_")}


def card(name):
    return json.loads((models.CHECKPOINTS / name / "card.json").read_text())


@pytest.mark.parametrize("name, method", [("mnist-vae", "pca"), ("mnist-vae", "tsne"), ("mnist-vae2d", "latent")])
def test_cache_key_names_the_shipped_vae_maps(name, method):
    from playground import map_points
    points = map_points.pool("mnist", models.CHECKPOINTS)           # the default size: 10,000 digits
    m = FakeVAE(name, card(name)["weights"]["sha256"])
    key = lm.cache_key(m, method, points.images, params=params(method), training=points.training)
    assert len(key) == 20
    path = models.CHECKPOINTS / models.MAPS_DIR / f"{name}-{method}-{key}.npz"
    assert path.is_file()
    with np.load(path, allow_pickle=False) as f:
        y = lm.decode_y({k: f[k] for k in f.files})
    assert y.shape == (10_000, 2)
    # every part of what the map shows is in its name: the images, which were trained on, the size
    assert key != lm.cache_key(m, method, points.images, params=params(method))
    assert key != lm.cache_key(m, method, points.images, params=params(method), training=~points.training)
    small = points.first(2_000)
    assert key != lm.cache_key(m, method, small.images, params=params(method), training=small.training)


@pytest.mark.parametrize("method", ["pca", "tsne"])
def test_cache_key_names_the_shipped_gan_maps(method):
    g = FakeGAN("mnist-gan", card("mnist-gan")["weights"]["sha256"])
    clf = FakeClassifier(card(models.classifier_name(card("mnist-gan")))["weights"]["sha256"])
    key = lm.cache_key(g, method, None, clf, params=params(method))
    assert (models.CHECKPOINTS / models.MAPS_DIR / f"mnist-gan-{method}-{key}.npz").is_file()


def test_cache_key_changes_with_every_input(ref):
    images, _ = ref
    base = lm.cache_key(FakeVAE(), "pca", images)
    assert base == lm.cache_key(FakeVAE(), "pca", images, params={})
    others = [lm.cache_key(FakeVAE(sha="d" * 64), "pca", images), lm.cache_key(FakeVAE(), "tsne", images),
              lm.cache_key(FakeVAE(), "pca", images[::-1]), lm.cache_key(FakeVAE(), "pca", images, params={"k": 1}),
              lm.cache_key(FakeVAE(), "pca", None), lm.cache_key(FakeGAN(sha="a" * 64), "pca", images),
              lm.cache_key(FakeVAE(), "pca", images, FakeClassifier()),
              lm.cache_key(FakeVAE(), "pca", images, FakeClassifier(sha="e" * 64))]
    assert len({base, *others}) == 1 + len(others)


# ---- cache files ---------------------------------------------------------------------------------

def test_read_cache_takes_the_first_readable_file_of_the_right_size(tmp_path):
    a, b, c = (tmp_path / d for d in "abc")
    for d in (a, b, c):
        d.mkdir()
    np.savez(a / "m.npz", y=np.zeros((3, 2)))                      # wrong number of points
    np.savez(b / "m.npz", z=np.zeros((4, 2)))                      # no "y"
    np.savez(c / "m.npz", y=np.ones((4, 2)), space=np.ones((4, 5)))
    got = lm._read_cache("m.npz", 4, [tmp_path / "missing", a, b, str(c)])
    assert set(got) == {"y", "space"}
    np.testing.assert_array_equal(got["y"], np.ones((4, 2)))
    np.savez(b / "m.npz", y=np.zeros((4, 3)))                      # wrong width
    assert lm._read_cache("m.npz", 4, [b]) is None
    (b / "m.npz").write_bytes(b"garbage")                          # unreadable
    assert lm._read_cache("m.npz", 4, [b, c])["y"][0, 0] == 1
    (b / "m.npz").write_bytes(b"PK\x03\x04 a cut-off zip")          # a truncated npz (zip) file
    assert lm._read_cache("m.npz", 4, [b, c])["y"][0, 0] == 1
    np.savez_compressed(b / "m.npz", y=np.random.default_rng(0).normal(size=(4000, 2)))
    raw = bytearray((b / "m.npz").read_bytes())
    raw[1000:1050] = bytes(x ^ 0x55 for x in raw[1000:1050])            # damaged compressed data
    (b / "m.npz").write_bytes(bytes(raw))
    assert lm._read_cache("m.npz", 4, [b, c])["y"][0, 0] == 1
    np.savez(b / "m.npz", y=np.array([[object()] * 2] * 4, dtype=object))   # a pickle inside: refused
    assert lm._read_cache("m.npz", 4, [b, c])["y"][0, 0] == 1
    (b / "m.npz").unlink()
    (b / "m.npz").mkdir()                                          # not a file
    assert lm._read_cache("m.npz", 4, [b]) is None
    assert lm._read_cache("m.npz", 4, []) is None


def test_write_cache_is_atomic_creates_folders_and_never_raises(tmp_path):
    path = tmp_path / "new" / "deeper" / "m-1.npz"
    lm._write_cache(path, y=np.arange(4.0).reshape(2, 2), labels=np.array([1, 2], np.int16))
    with np.load(path, allow_pickle=False) as f:
        np.testing.assert_array_equal(f["y"], [[0, 1], [2, 3]])
        assert f["labels"].dtype == np.int16
    assert sorted(p.name for p in path.parent.iterdir()) == ["m-1.npz"]     # no temp file left
    blocker = tmp_path / "file"
    blocker.write_text("x")
    lm._write_cache(blocker / "m.npz", y=np.zeros((1, 2)))         # parent is a file: silently skipped
    assert blocker.read_text() == "x"


def test_gan_embedder_is_features_of_decoded_codes():
    g, clf = FakeGAN(), FakeClassifier()
    z = np.array([[0.0, 1.0], [2.0, -1.0]], np.float32)
    np.testing.assert_array_equal(lm.gan_embedder(g, clf)(z), clf.features(g.decode(z)))


# ---- build_map -----------------------------------------------------------------------------------

@pytest.fixture
def fake_tsne(monkeypatch):
    import openTSNE

    import openTSNE.affinity

    class FakeAffinity:
        def __init__(self, data, **kw):
            self.data = np.asarray(data)

    class Fake:
        runs = 0

        def __init__(self, **kw):
            self.kw = kw

        def fit(self, X=None, affinities=None, initialization=None):
            Fake.runs += 1
            self.kw["callbacks"](10, 0.0, None)
            return np.asarray(affinities.data[:, :2], np.float64)
    monkeypatch.setattr(openTSNE, "TSNE", Fake)
    monkeypatch.setattr(openTSNE.affinity, "PerplexityBasedNN", FakeAffinity)
    return Fake


def test_build_map_vae_outputs_progress_and_cache(tmp_path, ref, fake_tsne):
    images, labels = ref
    m, calls = FakeVAE(), []
    built = lm.build_map(m, "tsne", ref, cache_dirs=[tmp_path], write_dir=tmp_path,
                         progress=lambda f, t: calls.append((round(f, 4), t)))
    assert calls == [(0.0, "Step 1 of 2, encoding 60 images: 0 done…"), (0.2, "Step 2 of 2, projecting 60 points…"),
                     (0.2, "t-SNE: finding each of 60 points' nearest neighbours…"),
                     (0.36, "t-SNE: iteration 0 of 120"), (0.4133, "t-SNE: iteration 10 of 120"),
                     (1.0, "Map ready")]
    x = m.seen[0]
    assert x.shape == (60, 1, 28, 28) and x.dtype == np.float32
    np.testing.assert_allclose(x[:, 0], images / 255.0, rtol=1e-6)
    z = (images.reshape(60, -1).astype(np.float32) / 255) @ m.w
    np.testing.assert_allclose(built.z, z, rtol=1e-5)
    np.testing.assert_allclose(built.space, z, rtol=1e-5)
    step = (z[:, :2].max(0) - z[:, :2].min(0)) / 65535               # kept as int16 over its range
    assert (np.abs(built.y - z[:, :2]) <= step * 0.51 + 1e-6).all()
    assert built.y.dtype == built.z.dtype == built.space.dtype == np.float32 and built.labels.dtype == np.int64
    np.testing.assert_array_equal(built.labels, labels)
    assert built.images is images and built.label_source == "true class" and built.embed is None
    assert (built.model, built.method, built.from_cache) == ("fake-vae", "tsne", False)
    key = lm.cache_key(m, "tsne", images, params=params("tsne"))
    assert built.cache_name == f"fake-vae-tsne-{key}.npz"
    assert isinstance(built.projection, TSNEProjection)
    with np.load(tmp_path / built.cache_name, allow_pickle=False) as f:
        assert set(f.files) == {"yq", "y_range"} and f["yq"].dtype == np.int16
        np.testing.assert_array_equal(lm.decode_y({k: f[k] for k in f.files}), built.y)   # as shown
    again = lm.build_map(FakeVAE(), "tsne", ref, cache_dirs=[tmp_path], write_dir=None,
                         progress=lambda f, t: calls.append((f, t)))
    assert fake_tsne.runs == 1 and again.from_cache                # adopted, not refitted
    assert calls[6:] == [(0.0, "Step 1 of 2, encoding 60 images: 0 done…"), (1.0, "Map ready")]
    np.testing.assert_array_equal(again.y, built.y)
    np.testing.assert_allclose(again.place(again.z[:3]), built.y[:3], atol=1e-4)


def test_build_map_pca_cached_is_refit_and_write_dir_none_writes_nothing(tmp_path, ref):
    lm.build_map(FakeVAE(), "pca", ref, cache_dirs=[], write_dir=None)
    assert not list(tmp_path.iterdir())
    first = lm.build_map(FakeVAE(), "pca", ref, cache_dirs=[], write_dir=tmp_path)
    again = lm.build_map(FakeVAE(), "pca", ref, cache_dirs=[tmp_path], write_dir=tmp_path)
    assert again.from_cache and again.exact
    np.testing.assert_allclose(again.projection.transform(again.z), first.y, atol=1e-5)   # projection fitted
    assert len(list(tmp_path.iterdir())) == 1


def test_build_map_refusals_name_the_model(ref):
    with pytest.raises(ValueError, match="^the latent plane is only for 2-D latent spaces$"):
        lm.build_map(FakeVAE(d=3), "latent", ref, cache_dirs=[], write_dir=None)
    plane = lm.build_map(FakeVAE(d=2), "latent", ref, cache_dirs=[], write_dir=None)
    np.testing.assert_array_equal(plane.y, plane.z)
    clf = FakeVAE(name="fake-clf")
    clf.kind = "classifier"
    with pytest.raises(ValueError, match="^fake-clf is a classifier: it has no latent space to map$"):
        lm.build_map(clf, "pca", ref, cache_dirs=[], write_dir=None)
    with pytest.raises(ValueError, match="unknown projection"):
        lm.build_map(FakeVAE(), "umap", ref, cache_dirs=[], write_dir=None)


def test_gan_map_without_classifier_is_pca_of_decoded_pixels(tmp_path):
    """A GAN brought without a classifier for its data: laid out by its decoded pixels, one class,
    and a new code is placed by the same pixels (its decoding), not by a classifier."""
    g = FakeGAN()
    built = lm.build_map(g, "pca", None, None, cache_dirs=[tmp_path], write_dir=tmp_path)
    z = g.sample(lm.GAN_POINTS, seed=lm.GAN_SEED)
    pixels = g.decode(z).reshape(len(z), -1)
    np.testing.assert_allclose(built.space, pixels, rtol=1e-6)
    assert built.label_source == lm.NO_CLASSIFIER_SOURCE and not built.labels.any()
    np.testing.assert_allclose(built.place(z[:5]), built.y[:5], atol=1e-4)
    assert built.images.shape == (lm.GAN_POINTS, 28, 28) and built.images.dtype == np.uint8
    assert "pixels" in lm.describe_inverse(built) or built.exact
    assert "pixels" in lm.describe_placement(built)


def test_build_map_gan_lays_out_decoded_samples_by_classifier_features(tmp_path):
    g, clf, calls = FakeGAN(), FakeClassifier(), []
    built = lm.build_map(g, "pca", None, clf, cache_dirs=[tmp_path], write_dir=tmp_path,
                         progress=lambda f, t: calls.append((f, t)))
    assert g.sampled[0] == (3000, 0) == (lm.GAN_POINTS, lm.GAN_SEED)
    assert calls == [(0.0, "Step 1 of 2, decoding GAN samples…"), (0.1, "Step 1 of 2, classifying the generated images…"),
                     (0.2, "Step 2 of 2, projecting 3,000 points…"), (1.0, "Map ready")]
    z = g.sample(3000, seed=0)
    decoded = g.decode(z)
    np.testing.assert_array_equal(built.z, z)
    np.testing.assert_array_equal(built.images, np.clip(decoded[:, 0] * 255 + 0.5, 0, 255).astype(np.uint8))
    np.testing.assert_allclose(built.space, clf.features(decoded), rtol=1e-6)
    np.testing.assert_array_equal(built.labels, (decoded.reshape(3000, -1).mean(1) > 0.5).astype(int))
    assert built.label_source == "classifier's guess" and built.labels.dtype == np.int64
    np.testing.assert_allclose(built.place(z[:5]), built.y[:5], atol=1e-4)     # through the embedder
    assert not built.exact
    key = lm.cache_key(g, "pca", None, clf, params=params("pca"))
    assert built.cache_name == f"fake-gan-pca-{key}.npz"
    with np.load(tmp_path / built.cache_name, allow_pickle=False) as f:
        assert set(f.files) == {"yq", "y_range", "space", "labels"}
        assert f["space"].dtype == np.float16 and f["labels"].dtype == np.int16
        np.testing.assert_array_equal(f["labels"], built.labels)
    # from the cache: no classification; space and labels come back in working dtypes
    clf2 = FakeClassifier()
    again = lm.build_map(FakeGAN(), "pca", None, clf2, cache_dirs=[tmp_path], write_dir=None)
    assert again.from_cache and clf2.calls == 0
    assert again.space.dtype == np.float32 and again.labels.dtype == np.int64
    np.testing.assert_array_equal(again.labels, built.labels)
    np.testing.assert_allclose(again.space, built.space, atol=2e-3)


def test_build_map_gan_cache_without_features_recomputes_them(tmp_path):
    g, clf = FakeGAN(), FakeClassifier()
    key = lm.cache_key(g, "tsne", None, clf, params=params("tsne"))
    np.savez(tmp_path / f"fake-gan-tsne-{key}.npz", y=np.ones((3000, 2), np.float32))   # an older file: y
    built = lm.build_map(g, "tsne", None, clf, cache_dirs=[tmp_path], write_dir=None)
    assert built.from_cache and clf.calls == 2
    np.testing.assert_array_equal(built.y, np.ones((3000, 2)))
    np.testing.assert_array_equal(built.labels, (built.images.reshape(3000, -1).mean(1) > 127.5).astype(int))


# ---- second mutation pass -------------------------------------------------------------------------

class OvershootGAN(FakeGAN):
    """A decoder whose outputs stray just outside [0, 1] in the first pixels."""

    def decode(self, z):
        out = super().decode(z).copy()
        out[:, 0, 0, :5] = [-0.01, 0.0, 1.0, 1.01, 0.5]
        return out


def test_gan_map_images_are_rounded_and_clipped_to_uint8():
    m = lm.build_map(OvershootGAN(), "pca", None, FakeClassifier(), cache_dirs=[], write_dir=None)
    assert m.images.dtype == np.uint8
    np.testing.assert_array_equal(m.images[:3, 0, :5], [[0, 0, 255, 255, 128]] * 3)


class Float64Classifier(FakeClassifier):
    def features(self, x):
        return super().features(x).astype(np.float64)


def test_map_arrays_have_working_dtypes_whatever_the_inputs(ref):
    images, labels = ref
    vae = lm.build_map(FakeVAE(), "pca", (images, labels.astype(np.int16)), cache_dirs=[], write_dir=None)
    assert vae.labels.dtype == np.int64                              # reference labels are stored as int16
    gan = lm.build_map(FakeGAN(), "pca", None, Float64Classifier(), cache_dirs=[], write_dir=None)
    assert gan.space.dtype == np.float32 and gan.labels.dtype == np.int64


def test_write_cache_renames_a_temp_file_from_beside_the_target(tmp_path, monkeypatch):
    """Same folder, so the same file system: the rename is atomic."""
    import os
    seen = []
    real = os.replace
    monkeypatch.setattr(lm.os, "replace", lambda a, b: (seen.append((a, b)), real(a, b))[1])
    path = tmp_path / "cache" / "m-key.npz"
    lm._write_cache(path, y=np.zeros((2, 2)))
    (src, dst), = seen
    assert dst == path and os.path.dirname(src) == str(path.parent)
    name = os.path.basename(src)
    assert name.startswith("m-key") and name.endswith(".tmp.npz")


def test_captions_describe_the_projection_in_use(ref):
    images, labels = ref
    plane = lm.build_map(FakeVAE(d=2), "latent", ref, cache_dirs=[], write_dir=None)
    pca = lm.build_map(FakeVAE(), "pca", ref, cache_dirs=[], write_dir=None)
    gan_pca = lm.build_map(FakeGAN(), "pca", None, FakeClassifier(), cache_dirs=[], write_dir=None)
    assert lm.describe_inverse(plane) == "The latent plane itself: each position is its own code (z₁, z₂)."
    assert lm.describe_inverse(pca) == ("PCA is a linear projection, so it inverts exactly; the components the "
                                        "map does not show are held fixed.")
    assert lm.describe_inverse(gan_pca) == (
        "PCA of the generated images' classifier features has no inverse back to the latent code: each "
        "position maps to a distance-weighted blend of the codes of its 8 nearest points on the map, so "
        "between clusters the model is guessing.")
    tsne = square_map(projection=TSNEProjection())
    tsne.method = "tsne"
    assert lm.describe_inverse(tsne).startswith("t-SNE has no inverse back to the latent code: each position ")
    other = square_map(projection=object())
    other.method = "umap"
    assert lm.describe_inverse(other).startswith("umap has no inverse")
    assert lm.describe_placement(plane) == "placed at their own codes (the latent plane needs no projection)."
    assert lm.describe_placement(pca) == "placed exactly by the map's own linear projection."
    assert lm.describe_placement(gan_pca) == ("placed exactly by the map's own linear projection of the "
                                              "classifier's features of the decoded image.")
    assert lm.describe_placement(tsne) == ("placed among their nearest map points (t-SNE has no formula for new "
                                           "points; the map is never recomputed).")


def test_by_default_the_shipped_maps_are_found():
    from playground import map_points
    points = map_points.pool("mnist", models.CHECKPOINTS)
    m = FakeVAE("mnist-vae", card("mnist-vae")["weights"]["sha256"])
    built = lm.build_map(m, "tsne", points, write_dir=None)              # default cache folders
    assert built.from_cache and len(built.y) == 10_000
    np.testing.assert_array_equal(built.training, points.training)


def test_the_user_map_cache_is_read_from_the_environment_at_call_time(tmp_path, monkeypatch, ref):
    monkeypatch.delenv("LATENT_PLAYGROUND_CACHE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert lm.user_maps() == tmp_path / "home" / ".cache" / "latent-playground" / "maps"
    monkeypatch.setenv("LATENT_PLAYGROUND_CACHE", str(tmp_path / "set-later"))
    assert lm.user_maps() == tmp_path / "set-later" / "maps"
    built = lm.build_map(FakeVAE(), "pca", ref, cache_dirs=[])          # default write_dir
    assert (tmp_path / "set-later" / "maps" / built.cache_name).is_file()


# ---- any size (issue 10): batches by bytes, the pixel map's cache name, its progress ---------------

class BigVAE:
    """A stand-in VAE of 3 x 128 x 128 images that records the float32 bytes of each batch it is
    given; its code of an image is the image's first pixel in each channel."""
    kind, latent_dim, image_shape = "vae", 3, (3, 128, 128)

    def __init__(self):
        self.name, self.card, self.batches = "big-vae", {"weights": {"sha256": "e" * 64}}, []

    def encode(self, x):
        assert x.dtype == np.float32 and x.shape[1:] == self.image_shape
        self.batches.append(x.nbytes)
        return np.ascontiguousarray(x[:, :, 0, 0])


class BigGAN(FakeGAN):
    """FakeGAN at 3 x 128 x 128 (a flat colour per sample), recording the bytes of each decoding."""
    image_shape = (3, 128, 128)

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.batches = []

    def decode(self, z):
        z = np.asarray(z, np.float32)
        v = 1 / (1 + np.exp(-z[:, :1] * np.array([1, -1, 0.5], np.float32)))     # (n, 3)
        out = np.broadcast_to(v[:, :, None, None], (len(z), 3, 128, 128)).astype(np.float32)
        self.batches.append(out.nbytes)
        return out


def test_a_128x128_rgb_reference_set_is_encoded_within_the_byte_budget():
    """5,000 reference images of 3 x 128 x 128 (the most an adapter's --reference keeps) are 983 MB
    as float32: the map converts and encodes them batch by batch, each at most 32 MB of pixels
    (2,000 at a time were 393 MB), every image once and in order."""
    from models.adapters import MAX_REFERENCE
    from playground.batches import BATCH_BYTES
    n = MAX_REFERENCE
    shade = (np.arange(n) % 256).astype(np.uint8)
    images = np.broadcast_to(shade[:, None, None, None], (n, 3, 128, 128))      # no memory of its own
    m = BigVAE()
    codes = lm.map_codes(m, (images, np.zeros(n, np.int64)))
    assert max(m.batches) <= BATCH_BYTES == 2 ** 25, [b / 2 ** 20 for b in m.batches[:3]]
    assert len(m.batches) > 1 and sum(m.batches) == n * 3 * 128 * 128 * 4
    np.testing.assert_allclose(codes.z * 255, np.repeat(shade[:, None], 3, 1), atol=1e-3)   # in order


def test_a_128x128_rgb_gan_without_classifier_decodes_within_the_byte_budget_and_says_how_far(monkeypatch):
    """The map of a GAN with no classifier decodes its samples in batches of at most 32 MB of
    pixels (256 at a time were 50 MB at 3 x 128 x 128) and the progress bar moves while it does:
    several 'n done' steps before the projection, each further on than the one before."""
    from playground.batches import BATCH_BYTES
    monkeypatch.setattr(lm, "GAN_POINTS", 600)
    g, calls = BigGAN(), []
    built = lm.build_map(g, "pca", None, None, cache_dirs=[], write_dir=None,
                         progress=lambda f, t: calls.append((round(f, 4), t)))
    assert max(g.batches) <= BATCH_BYTES and len(g.batches) == 4, g.batches      # 170 + 170 + 170 + 90
    decoding = [(f, t) for f, t in calls if t.startswith("Step 1 of 2")]
    assert decoding == [(round(0.2 * s / 600, 4), f"Step 1 of 2, decoding 600 GAN samples: {s:,} done…")
                        for s in (0, 170, 340, 510)], decoding
    assert calls[len(decoding)] == (0.2, "Step 2 of 2, projecting 600 points…")
    assert built.images.shape == (600, 3, 128, 128) and built.space.shape == (600, 3 * 18 * 18)


def test_the_pixel_maps_cache_name_says_how_its_pixels_were_made(tmp_path, monkeypatch):
    """A GAN map laid out by averaged pixels is a new map: a file cached under the name it had before
    the pixels were averaged (no word of how they were made) is never read for it, and a different
    averaging is a different name again."""
    monkeypatch.setattr(lm, "GAN_POINTS", 200)
    g = FakeGAN()
    old_name = lm.map_file(g.name, "pca", lm.cache_key(g, "pca", None, None, params=params("pca")))
    np.savez(tmp_path / old_name, **lm.encode_y(np.ones((200, 2), np.float32)))    # readable, right size
    built = lm.build_map(g, "pca", None, None, cache_dirs=[tmp_path], write_dir=tmp_path)
    assert not built.from_cache and built.cache_name != old_name
    assert lm.build_map(g, "pca", None, None, cache_dirs=[tmp_path], write_dir=None).from_cache   # its own
    monkeypatch.setattr(lm, "PIXEL_BUDGET", 512)
    other = lm.build_map(g, "pca", None, None, cache_dirs=[tmp_path], write_dir=None)
    assert not other.from_cache and other.cache_name not in (built.cache_name, old_name)


def test_the_pixel_budget_is_read_when_used_so_the_pixels_follow_the_cache_name(monkeypatch):
    """The cache name records PIXEL_BUDGET as it is when the map is built; the pixels must be
    averaged to that same budget, not to the one the module was imported with."""
    from playground import latent_map
    x = np.random.default_rng(0).random((2, 3, 128, 128), dtype=np.float32)
    assert latent_map.pixel_features(x).shape == (2, 3 * 18 * 18)
    monkeypatch.setattr(latent_map, "PIXEL_BUDGET", 300)
    assert latent_map.pixel_features(x).shape == (2, 3 * 10 * 10)
    assert latent_map.describe_pixels((x * 255).astype(np.uint8)) == ", averaged down to 10 × 10 per channel"
