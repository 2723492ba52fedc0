"""Loading the shipped checkpoints, and refusing broken ones with a message that names the file."""
import json
import re

import numpy as np
import pytest

import models
from models.checkpoint import CheckpointError, sha256_file

from conftest import GENERATIVE, SHIPPED

EXPECTED = {f"{ds}-{k}" for ds in ("mnist", "fashion-mnist")
            for k in ("vae", "vae2d", "gan", "classifier")}


def test_every_expected_checkpoint_is_shipped_and_sound():
    listings = {l.name: l for l in models.available()}
    assert EXPECTED <= set(listings), f"missing: {EXPECTED - set(listings)}"
    for name in EXPECTED:
        assert listings[name].ok, listings[name].error


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_card_is_complete_and_weights_match(name):
    m = models.load(name)
    card = m.card
    for key in ("kind", "architecture", "latent_dim", "image_shape", "dataset", "class_names",
                "training", "metrics", "weights"):
        assert key in card
    assert card["dataset"]["source"] and card["dataset"]["license"]
    for key in ("lr", "batch_size", "epochs", "optimizer", "activation", "seed", "seconds"):
        assert key in card["training"], key
    assert sha256_file(models.CHECKPOINTS / name / "model.safetensors") == card["weights"]["sha256"]
    assert len(card["class_names"]) == 10
    if name.endswith("vae2d"):
        assert m.latent_dim == 2
    elif name.endswith("vae"):
        assert m.latent_dim == 16
    elif name.endswith("gan"):
        assert 32 <= m.latent_dim <= 128


@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist"])
def test_reference_sets(dataset):
    images, labels = models.reference(dataset)
    assert images.dtype == np.uint8 and images.shape[1:] == (28, 28)
    assert len(images) >= 2000 and labels.shape == (len(images),)
    assert set(np.unique(labels)) == set(range(10))


@pytest.mark.parametrize("name", GENERATIVE)
def test_decode_shapes_ranges_and_seeded_sampling(name):
    m = models.load(name)
    z = m.sample(5, seed=123)
    assert z.shape == (5, m.latent_dim) and z.dtype == np.float32
    np.testing.assert_array_equal(z, m.sample(5, seed=123))
    assert not np.array_equal(z, m.sample(5, seed=124))
    np.testing.assert_allclose(m.sample(4, seed=1, temperature=0.5), 0.5 * m.sample(4, seed=1), rtol=1e-6)
    x = m.decode(z)
    assert x.shape == (5, *m.image_shape) and x.dtype == np.float32
    assert x.min() >= 0 and x.max() <= 1
    np.testing.assert_array_equal(x, m.decode(z))          # eval mode: decoding is deterministic
    with pytest.raises(ValueError, match="latent codes of shape"):
        m.decode(np.zeros((2, m.latent_dim + 1)))


@pytest.mark.parametrize("name", [n for n in GENERATIVE if "vae" in n])
def test_vae_encode_reconstructs_reference_images(name):
    m = models.load(name)
    images, _ = models.reference(m.dataset)
    x = m.as_input(images[:64])
    z = m.encode(x)
    assert z.shape == (64, m.latent_dim)
    mu, logvar = m.posterior(x)
    np.testing.assert_array_equal(mu, z)
    assert (np.exp(logvar) > 0).all()
    rec = m.decode(z)
    mse = float(((rec - x) ** 2).mean())
    blank = float(((x.mean(0, keepdims=True) - x) ** 2).mean())
    # far better than predicting the mean image; a 2-D code can hold less (card: MSE 0.043 vs 0.067)
    assert mse < (0.8 if m.latent_dim == 2 else 0.4) * blank, (mse, blank)
    c, h, w = m.image_shape
    with pytest.raises(ValueError, match=re.escape(f"(N, {c}, {h}, {w})")):
        m.encode(np.zeros((2, h, w + 1), np.float32))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        m.encode(np.full((1, c, h, w), 255.0, np.float32))


def test_gan_has_no_encoder_but_a_discriminator():
    m = models.load("mnist-gan")
    with pytest.raises(TypeError, match="no encoder"):
        m.encode(np.zeros((1, 1, 28, 28), np.float32))
    p = m.discriminate(m.decode(m.sample(4, seed=0)))
    assert p.shape == (4,) and ((p >= 0) & (p <= 1)).all()


# ---- broken checkpoints -------------------------------------------------------------------------

def _assert_refused(root, name, pattern):
    with pytest.raises(CheckpointError, match=pattern) as e:
        models.load(name, root)
    assert name in str(e.value)                               # the message names the file
    listing = {l.name: l for l in models.available(root)}
    return e.value, listing


def test_truncated_weights_are_refused(ckpt_copy):
    root = ckpt_copy("mnist-vae")
    w = root / "mnist-vae" / "model.safetensors"
    w.write_bytes(w.read_bytes()[: w.stat().st_size // 2])
    _, listing = _assert_refused(root, "mnist-vae", "truncated")
    assert not listing["mnist-vae"].ok and "truncated" in listing["mnist-vae"].error   # seen when listing


def test_tampered_weights_are_refused(ckpt_copy):
    root = ckpt_copy("mnist-vae")
    w = root / "mnist-vae" / "model.safetensors"
    data = bytearray(w.read_bytes())
    data[-10] ^= 0xFF
    w.write_bytes(bytes(data))
    _assert_refused(root, "mnist-vae", "sha256")


def test_corrupt_but_consistent_file_is_refused(ckpt_copy):
    """Even a card that matches the bytes cannot make garbage load."""
    root = ckpt_copy("mnist-vae")
    w = root / "mnist-vae" / "model.safetensors"
    w.write_bytes(b"\x00" * 100)
    card_path = root / "mnist-vae" / "card.json"
    card = json.loads(card_path.read_text())
    card["weights"].update(sha256=sha256_file(w), bytes=100)
    card_path.write_text(json.dumps(card))
    _assert_refused(root, "mnist-vae", "safetensors")


def test_mismatched_shapes_are_refused(ckpt_copy):
    root = ckpt_copy("mnist-vae")
    card_path = root / "mnist-vae" / "card.json"
    card = json.loads(card_path.read_text())
    card["architecture"]["vae"]["args"]["hidden"] = 64
    card_path.write_text(json.dumps(card))
    _assert_refused(root, "mnist-vae", "do not fit")


@pytest.mark.parametrize("edit, pattern", [
    (lambda c: c.pop("metrics"), "lacks metrics"),
    (lambda c: c.update(kind="diffusion"), "unknown kind"),
    (lambda c: c.update(latent_dim=3), "contradicts"),
    (lambda c: c["architecture"]["vae"].update({"class": "os.system"}), "architecture"),
    (lambda c: c.update(image_shape=[2, 32, 32]), "channels must be 1"),
    (lambda c: c.update(image_shape=[1, 4, 28]), "height and width must be 8 to 128"),
])
def test_card_contradictions_are_refused(ckpt_copy, edit, pattern):
    root = ckpt_copy("mnist-vae")
    card_path = root / "mnist-vae" / "card.json"
    card = json.loads(card_path.read_text())
    edit(card)
    card_path.write_text(json.dumps(card))
    _, listing = _assert_refused(root, "mnist-vae", pattern)
    assert not listing["mnist-vae"].ok and pattern.split()[0] in listing["mnist-vae"].error


def test_a_broken_checkpoint_does_not_hide_the_others(ckpt_copy):
    root = ckpt_copy("mnist-vae")
    ckpt_copy("mnist-gan")
    (root / "mnist-vae" / "card.json").write_text("{not json")
    (root / "mnist-vae" / "model.safetensors").unlink()
    listing = {l.name: l for l in models.available(root)}
    assert not listing["mnist-vae"].ok and "JSON" in listing["mnist-vae"].error
    assert listing["mnist-gan"].ok
    assert models.load("mnist-gan", root).decode(np.zeros((1, 64))).shape == (1, 1, 28, 28)


def test_missing_weights_and_unknown_names(ckpt_copy):
    root = ckpt_copy("mnist-vae")
    (root / "mnist-vae" / "model.safetensors").unlink()
    _assert_refused(root, "mnist-vae", "missing")
    with pytest.raises(CheckpointError, match="no such checkpoint.*mnist-vae"):
        models.load("nope", root)


def test_no_shipped_checkpoint_contains_pickles():
    assert SHIPPED and all(l.ok for l in models.available()), [l.error for l in models.available()]
    for name in SHIPPED:
        folder = models.CHECKPOINTS / name
        assert {p.name for p in folder.iterdir()} == {"card.json", "model.safetensors"}, folder
    # reference sets and shipped maps: plain npz arrays that load without pickle
    arrays = [*(models.CHECKPOINTS / models.REFERENCE_DIR).iterdir(), *(models.CHECKPOINTS / models.MAPS_DIR).iterdir()]
    assert len(arrays) >= 2 + 2 * len(GENERATIVE)
    for path in arrays:
        assert path.suffix == ".npz", path
        with np.load(path, allow_pickle=False) as z:
            for key in z.files:
                assert z[key].dtype != object, (path, key)


def test_reserved_folders_are_not_listed_as_checkpoints():
    names = {l.name for l in models.available()}
    assert not names & models.NOT_CHECKPOINTS
