"""playground.uploads with stand-in models (no torch work): exact errors, percentiles, neighbours, the
shipped-errors file and its fallback, and the session's bounded file store (written against the
mutation run: `bash scripts/mutation.sh`, docs/mutation.md)."""
import json

import numpy as np
import pytest

import models
from playground import uploads as up


class FakeVAE:
    kind, name = "vae", "fake-vae"

    def __init__(self):
        self.card = {"weights": {"sha256": "a" * 64}}
        self.seen = []

    def encode(self, x):
        self.seen.append(x)
        return x.reshape(len(x), -1).mean(1, keepdims=True) * np.ones((1, 2), np.float32)

    def decode(self, z):
        return np.full((len(z), 1, 28, 28), 0.5, np.float32)


class FakeGAN:
    kind = "gan"

    def __init__(self, name="fake-gan", sha="b" * 64):
        self.name = name
        self.card = {"weights": {"sha256": sha}}


class FakeInvert:
    """Stands in for models.inversion.invert: the 'best code' of an image is its mean pixel."""

    def __init__(self):
        self.calls = []

    def __call__(self, model, x, progress=None):
        self.calls.append((model, x, progress))
        n = len(x)
        from models.inversion import Inversion
        return Inversion(z=x.reshape(n, -1).mean(1, keepdims=True), mse=x.reshape(n, -1).mean(1) / 10,
                         restart_mse=np.tile(np.arange(3.0), (n, 1)), images=1 - x)


@pytest.fixture
def fake_invert(monkeypatch):
    f = FakeInvert()
    monkeypatch.setattr(up, "invert", f)
    return f


# ---- encoding ----------------------------------------------------------------------------------

def test_encode_images_vae_exact_mse_and_shapes():
    m = FakeVAE()
    x = np.zeros((3, 28, 28), np.float64)
    x[1] = 0.5
    x[2] = 1.0
    enc = up.encode_images(m, x)
    assert m.seen[0].shape == (3, 1, 28, 28) and m.seen[0].dtype == np.float32
    np.testing.assert_allclose(enc.z, [[0, 0], [0.5, 0.5], [1, 1]])
    assert enc.recon.shape == (3, 28, 28)
    np.testing.assert_allclose(enc.mse, [0.25, 0.0, 0.25])
    assert enc.restart_mse is None


def test_encode_images_gan_inverts_and_passes_progress(fake_invert):
    g, say = FakeGAN(), (lambda f, t: None)
    x = np.full((2, 28, 28), 0.25)
    enc = up.encode_images(g, x, progress=say)
    model, xs, progress = fake_invert.calls[0]
    assert model is g and progress is say and xs.shape == (2, 1, 28, 28) and xs.dtype == np.float32
    np.testing.assert_allclose(enc.z, [[0.25], [0.25]])
    np.testing.assert_allclose(enc.mse, [0.025, 0.025])
    np.testing.assert_allclose(enc.recon, np.full((2, 28, 28), 0.75))
    np.testing.assert_array_equal(enc.restart_mse, [[0, 1, 2], [0, 1, 2]])


def test_reference_errors_vae_uses_every_image_as_floats():
    m = FakeVAE()
    ref = np.zeros((5, 28, 28), np.uint8)
    ref[2] = 255
    err = up.reference_errors(m, ref)
    np.testing.assert_allclose(err, [0.25, 0.25, 0.25, 0.25, 0.25])
    np.testing.assert_allclose(m.seen[0][2], 1.0)
    assert len(m.seen[0]) == 5


def test_reference_errors_gan_inverts_a_fixed_subset(fake_invert):
    ref = (np.arange(100, dtype=np.uint8)[:, None, None] * np.ones((1, 28, 28), np.uint8))
    say = lambda f, t: None                                            # noqa: E731
    err = up.reference_errors(FakeGAN(), ref, progress=say)
    perm = np.random.default_rng(0).permutation(100)
    _, xs, progress = fake_invert.calls[0]
    assert len(err) == up.GAN_REFERENCE_IMAGES == 64 and progress is say
    np.testing.assert_allclose(xs[:, 0, 0, 0], perm[:64] / 255, rtol=1e-6)
    np.testing.assert_allclose(err, perm[:64] / 2550, rtol=1e-5)
    up.reference_errors(FakeGAN(), ref, n=5)
    np.testing.assert_allclose(fake_invert.calls[1][1][:, 0, 0, 0], perm[:5] / 255, rtol=1e-6)


# ---- the shipped errors' file name --------------------------------------------------------------

def test_errors_file_names_the_shipped_file_of_each_gan():
    """The name ties weights + inversion settings; a wrong name would mean live inversions forever."""
    for name in ("mnist-gan", "fashion-mnist-gan"):
        card = json.loads((models.CHECKPOINTS / name / "card.json").read_text())
        g = FakeGAN(name, card["weights"]["sha256"])
        fname = up.errors_file(g)
        assert fname.startswith(f"{name}-inversion-errors-") and fname.endswith(".npz")
        assert len(fname) == len(f"{name}-inversion-errors-") + 16 + 4
        assert (models.CHECKPOINTS / models.MAPS_DIR / fname).is_file(), fname


def test_errors_file_follows_the_weights_and_each_inversion_default_but_not_progress(monkeypatch):
    import models.inversion as inversion

    base = up.errors_file(FakeGAN())
    assert up.errors_file(FakeGAN()) == base
    assert up.errors_file(FakeGAN(sha="c" * 64)) != base
    assert up.errors_file(FakeGAN(name="other")) == base.replace("fake-gan", "other")

    def same(model, x, restarts=12, steps=150, lr=0.1, prior_weight=1e-3, seed=0, progress=print):
        pass

    def more_steps(model, x, restarts=12, steps=151, lr=0.1, prior_weight=1e-3, seed=0, progress=None):
        pass

    monkeypatch.setattr(inversion, "invert", same)
    assert up.errors_file(FakeGAN()) == base                     # progress is not a setting
    monkeypatch.setattr(inversion, "invert", more_steps)
    assert up.errors_file(FakeGAN()) != base


# ---- ranking and neighbours ---------------------------------------------------------------------

def test_anomaly_percentile_counts_strictly_better_references():
    ref = [3.0, 1.0, 2.0, 2.0]                                   # unsorted on purpose
    np.testing.assert_allclose(up.anomaly_percentile([2.0, 0.5, 3.5, 3.0], ref), [25, 0, 100, 75])
    np.testing.assert_allclose(up.anomaly_percentile(np.array([2.0]), np.array(ref)), [25])


def test_sq_distances_exact_and_never_negative():
    d2 = up.sq_distances([0.0, 0.0], [[3.0, 4.0], [1.0, 0.0]])
    assert d2.shape == (1, 2)
    np.testing.assert_allclose(d2, [[25.0, 1.0]])
    d2 = up.sq_distances(np.array([[1.0, 1.0], [2.0, 2.0]], np.float32), [1.0, 1.0])
    np.testing.assert_allclose(d2, [[0.0], [2.0]])
    c = np.array([160.7, -375.9, 189.6])                         # rounds to -6e-11 without the floor
    assert (up.sq_distances(c, np.vstack([c, c])) == 0).all()
    big = np.array([[1e4 + 0.1, 3.3]], np.float32)               # float64 inside: no float32 rounding
    other = (big + np.array([0.5, 0], np.float32)).astype(np.float32)
    d = float(other[0, 0]) - float(big[0, 0])
    np.testing.assert_allclose(up.sq_distances(big, other), [[d * d]], rtol=1e-9)
    np.testing.assert_allclose(up.sq_distances(other, big), [[d * d]], rtol=1e-9)


def test_nearest_exact_order_ties_and_k():
    space = np.array([[0.0], [5.0], [1.0], [3.0], [1.0]])
    np.testing.assert_array_equal(up.nearest(space, [[0.9]], k=3), [[2, 4, 0]])
    np.testing.assert_array_equal(up.nearest(space, [0.9], k=1), [[2]])
    np.testing.assert_array_equal(up.nearest(space, [[0.0], [5.0]], k=5), [[0, 2, 4, 3, 1], [1, 3, 2, 4, 0]])
    np.testing.assert_array_equal(up.nearest(space, [[2.6]], k=50), [[3, 2, 4, 1, 0]])   # k > N: all
    assert up.nearest(np.zeros((10, 2)) + np.arange(10)[:, None], [[0.0, 0.0]]).shape == (1, 5)   # k=5


# ---- the reference errors an upload is ranked against --------------------------------------------

def write_errors(folder, model, errors, key="errors"):
    np.savez(folder / up.errors_file(model), **{key: np.asarray(errors)})


def test_shipped_errors_read_and_refused_with_reasons(tmp_path):
    g = FakeGAN()
    name = up.errors_file(g)
    err, why = up.shipped_errors(g, tmp_path)
    assert err is None and why == (f"{name} is not in {tmp_path} (scripts/build_maps.py writes it for "
                                   "these weights)")
    write_errors(tmp_path, g, np.array([0.01, 0.02], np.float32))
    err, why = up.shipped_errors(g, str(tmp_path))
    assert why == name and err.dtype == np.float64
    np.testing.assert_allclose(err, [0.01, 0.02], rtol=1e-6)
    write_errors(tmp_path, g, [0.0, 0.5])
    assert up.shipped_errors(g, tmp_path)[0] is not None           # zero is a valid error
    for bad, shape in (([[0.1, 0.2]], "(1, 2)"), ([], "(0,)"), ([0.1, np.nan], "(2,)"), ([0.1, np.inf], "(2,)"),
                       ([0.1, -0.1], "(2,)")):
        write_errors(tmp_path, g, bad)
        assert up.shipped_errors(g, tmp_path) == (None, f"{name} holds no usable errors (shape {shape})")
    write_errors(tmp_path, g, [0.1], key="other")
    err, why = up.shipped_errors(g, tmp_path)
    assert err is None and why.startswith(f"{name} cannot be read (KeyError: ")
    (tmp_path / name).write_bytes(b"not an npz")
    err, why = up.shipped_errors(g, tmp_path)
    assert err is None and why.startswith(f"{name} cannot be read (") and "Error: " in why
    np.savez(tmp_path / name, errors=np.array([object()], dtype=object))
    err, why = up.shipped_errors(g, tmp_path)
    assert err is None and why.startswith(f"{name} cannot be read (ValueError: ")   # never unpickled


def test_load_reference_errors_vae_uses_every_image():
    ref = np.zeros((1234, 28, 28), np.uint8)
    r = up.load_reference_errors(FakeVAE(), ref, maps_dir="/nonexistent")
    assert r.source == "all 1,234 reference images" and r.warning is None and len(r.errors) == 1234


def test_load_reference_errors_gan_prefers_the_shipped_file(tmp_path, fake_invert):
    g = FakeGAN()
    write_errors(tmp_path, g, [0.01, 0.02, 0.03])
    r = up.load_reference_errors(g, np.zeros((20, 28, 28), np.uint8), tmp_path)
    assert not fake_invert.calls
    assert r.source == f"3 reference images inverted ahead of time ({up.errors_file(g)})" and r.warning is None
    np.testing.assert_allclose(r.errors, [0.01, 0.02, 0.03])


def test_load_reference_errors_gan_falls_back_visibly(tmp_path, fake_invert):
    g = FakeGAN()
    say = lambda f, t: None                                            # noqa: E731
    r = up.load_reference_errors(g, np.zeros((20, 28, 28), np.uint8), tmp_path, progress=say)
    assert len(fake_invert.calls) == 1 and fake_invert.calls[0][2] is say
    assert len(r.errors) == up.GAN_LIVE_IMAGES == 12
    assert r.source == "only 12 reference images, inverted just now"
    name = up.errors_file(g)
    assert r.warning == (f"The shipped inversion errors of fake-gan were not used: {name} is not in {tmp_path} "
                         "(scripts/build_maps.py writes it for these weights). The percentile is ranked against "
                         "only 12 reference images inverted just now, so it is coarse.")


# ---- files kept for the session -----------------------------------------------------------------

def test_unique_names():
    assert up.unique_names(["a.png", "b.png", "a.png", "a.png", "b.png"]) == \
        ["a.png", "b.png", "a.png (2)", "a.png (3)", "b.png (2)"]
    assert up.unique_names(iter(["x"])) == ["x"]
    assert up.unique_names([]) == []


class Size:
    """Stands in for a file's bytes: only its length matters."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n


def test_keep_latest_bounds_by_count_and_bytes_keeping_the_newest_in_order():
    files = [(f"f{i}", b"x" * 10) for i in range(6)]
    assert [n for n, _ in up.keep_latest(files, max_files=3, max_bytes=1000)] == ["f3", "f4", "f5"]
    assert [n for n, _ in up.keep_latest(files, max_files=10, max_bytes=30)] == ["f3", "f4", "f5"]   # 30 fits
    assert [n for n, _ in up.keep_latest(files, max_files=10, max_bytes=29)] == ["f4", "f5"]
    assert up.keep_latest(iter(files), max_files=1)[0] == ("f5", b"x" * 10)
    # an older small file does not slip in behind a big one that no longer fits
    assert [n for n, _ in up.keep_latest([("old", b"x"), ("big", b"x" * 50), ("new", b"x")], 10, 40)] == ["new"]
    assert up.keep_latest([], 3, 10) == []


def test_keep_latest_defaults_16_files_and_40_mib():
    assert (up.MAX_KEPT_FILES, up.MAX_KEPT_BYTES) == (16, 40 * 2**20)
    many = [(f"f{i}", b"") for i in range(20)]
    assert [n for n, _ in up.keep_latest(many)] == [f"f{i}" for i in range(4, 20)]
    big = [("a", Size(20 * 2**20)), ("b", Size(20 * 2**20)), ("c", Size(20 * 2**20))]
    assert [n for n, _ in up.keep_latest(big)] == ["b", "c"]
    assert [n for n, _ in up.keep_latest(big + [("d", Size(1))])] == ["c", "d"]


def test_nearest_matches_brute_force_on_random_codes():
    rng = np.random.default_rng(0)
    space, q = rng.normal(size=(500, 16)), rng.normal(size=(7, 16))
    brute = np.argsort(((q[:, None] - space[None]) ** 2).sum(-1), 1)
    for k in (1, 5, 40):
        np.testing.assert_array_equal(up.nearest(space, q, k), brute[:, :k])
