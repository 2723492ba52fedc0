"""The map builder: caching by checkpoint hash, atomic cache files, GAN layout by features."""
import numpy as np
import pytest

import models
from playground import latent_map as lm


class FakeVAE:
    """A linear 'VAE' with a card, enough for the map builder."""
    kind = "vae"

    def __init__(self, sha="a" * 64, d=4):
        self.name, self.latent_dim = "fake-vae", d
        self.card = {"weights": {"sha256": sha}}
        self.w = np.random.default_rng(0).standard_normal((784, d)).astype(np.float32) / 28

    def encode(self, x):
        return x.reshape(len(x), -1) @ self.w

    def decode(self, z):
        return np.clip(np.asarray(z) @ self.w.T, 0, 1).reshape(-1, 1, 28, 28).astype(np.float32)


@pytest.fixture
def ref():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 120)
    images = (rng.uniform(0, 60, (120, 28, 28)) + labels[:, None, None] * 60).astype(np.uint8)
    return images, labels


def test_map_is_cached_and_reused(tmp_path, ref):
    calls = []
    first = lm.build_map(FakeVAE(), "tsne", ref, cache_dirs=[tmp_path], write_dir=tmp_path,
                         progress=lambda f, t: calls.append(f))
    assert not first.from_cache and len(list(tmp_path.glob("*.npz"))) == 1
    assert calls[-1] == 1.0 and all(0 <= c <= 1 for c in calls)
    second = lm.build_map(FakeVAE(), "tsne", ref, cache_dirs=[tmp_path], write_dir=tmp_path)
    assert second.from_cache
    np.testing.assert_array_equal(first.y, second.y)
    assert not list(tmp_path.glob("*.tmp*"))                      # atomic write left nothing behind


def test_cache_invalidates_when_the_checkpoint_or_data_changes(tmp_path, ref):
    lm.build_map(FakeVAE(), "tsne", ref, cache_dirs=[tmp_path], write_dir=tmp_path)
    changed = lm.build_map(FakeVAE(sha="b" * 64), "tsne", ref, cache_dirs=[tmp_path], write_dir=tmp_path)
    assert not changed.from_cache
    images, labels = ref
    other = lm.build_map(FakeVAE(), "tsne", (images[::-1].copy(), labels[::-1].copy()),
                         cache_dirs=[tmp_path], write_dir=tmp_path)
    assert not other.from_cache
    assert len(list(tmp_path.glob("*.npz"))) == 3


def test_a_corrupt_cache_file_is_recomputed(tmp_path, ref):
    lm.build_map(FakeVAE(), "pca", ref, cache_dirs=[tmp_path], write_dir=tmp_path)
    (f,) = tmp_path.glob("*.npz")
    f.write_bytes(b"garbage")
    again = lm.build_map(FakeVAE(), "pca", ref, cache_dirs=[tmp_path], write_dir=tmp_path)
    assert not again.from_cache and again.y.shape == (120, 2)


def test_pca_map_inverse_is_exact_and_place_matches(tmp_path, ref):
    m = lm.build_map(FakeVAE(), "pca", ref, cache_dirs=[], write_dir=None)
    assert m.exact
    np.testing.assert_allclose(m.place(m.z), m.y, atol=1e-4)
    z = m.to_latent(m.y[:5], base=m.z[:5])
    np.testing.assert_allclose(z, m.z[:5], atol=1e-4)
    xs, ys, pts = m.grid(4)
    assert pts.shape == (16, 2) and ys[0] > ys[-1]               # row 0 is the top of the map


def test_latent_plane_requires_two_dimensions(ref):
    with pytest.raises(ValueError, match="2-D"):
        lm.build_map(FakeVAE(d=4), "latent", ref, cache_dirs=[], write_dir=None)
    m = lm.build_map(FakeVAE(d=2), "latent", ref, cache_dirs=[], write_dir=None)
    np.testing.assert_array_equal(m.y, m.z)


def test_knn_agreement_chance_and_perfect():
    rng = np.random.default_rng(0)
    y = rng.uniform(0, 1, (1000, 2))
    assert lm.knn_agreement(y, rng.integers(0, 10, 1000)) < 0.2
    labels = (y[:, 0] > 0.5).astype(int)
    assert lm.knn_agreement(y, labels) > 0.95


def test_methods_for():
    assert lm.methods_for(2) == ["latent", "pca", "tsne"]
    assert lm.methods_for(16) == ["pca", "tsne"]


def test_the_shipped_maps_are_looked_for_in_the_checkpoints_folder_of_the_moment(tmp_path, monkeypatch, ref):
    """models.CHECKPOINTS may change after import (a test, a script, the training page's folder):
    the shipped maps are where it points when a map is built, not where it pointed at import."""
    monkeypatch.setattr(models, "CHECKPOINTS", tmp_path / "ckpts")
    monkeypatch.setenv("LATENT_PLAYGROUND_CACHE", str(tmp_path / "user"))  # an empty user cache
    assert lm.shipped_maps() == tmp_path / "ckpts" / models.MAPS_DIR
    shipped = lm.build_map(FakeVAE(), "pca", ref, cache_dirs=[tmp_path / "ckpts" / "maps"],
                           write_dir=tmp_path / "ckpts" / "maps")          # as scripts/build_maps.py ships it
    assert not shipped.from_cache
    found = lm.build_map(FakeVAE(), "pca", ref, write_dir=None)            # default cache folders
    assert found.from_cache and found.cache_name == shipped.cache_name
    np.testing.assert_array_equal(found.y, shipped.y)


def test_the_user_cache_is_where_the_environment_points_when_a_map_is_built(tmp_path, monkeypatch, ref):
    """LATENT_PLAYGROUND_CACHE may be set after import: build_map writes a new map to, and finds it
    again in, the folder it names at the time of the call (it used to be bound at import)."""
    monkeypatch.setenv("LATENT_PLAYGROUND_CACHE", str(tmp_path / "later"))
    assert lm.user_maps() == tmp_path / "later" / "maps"
    built = lm.build_map(FakeVAE(), "pca", ref)                            # default write_dir
    assert not built.from_cache
    assert [p.name for p in (tmp_path / "later" / "maps").iterdir()] == [built.cache_name]
    again = lm.build_map(FakeVAE(), "pca", ref, write_dir=None)            # default cache folders
    assert again.from_cache and again.cache_name == built.cache_name
