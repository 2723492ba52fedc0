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


# ---- cards checked for meaning, and built on the meta device before any memory ------------------

@pytest.mark.parametrize("edit, pattern", [
    (lambda c: c.update(dataset="mnist"), "dataset must be an object with a name"),
    (lambda c: c["dataset"].pop("name"), "dataset must be an object with a name"),
    (lambda c: c.update(class_names=list(range(10))), "class_names must be strings"),
    (lambda c: c["dataset"].update(name="shapes"),
     r"the card says data set 'shapes', whose pictures are 3x32x32, but its image_shape is 1x28x28"),
    (lambda c: (c.update(latent_dim=-3), c["architecture"]["vae"]["args"].update(latent_dim=-3)),
     "latent_dim must be a whole number of at least 1, not -3"),
])
def test_cards_that_would_break_a_page_are_refused_in_words(ckpt_copy, edit, pattern):
    """A --checkpoints folder (or an upload, or models.convert output) whose card the pages would
    trip on: refused when listed and when loaded, naming the card."""
    root = ckpt_copy("mnist-vae")
    card_path = root / "mnist-vae" / "card.json"
    card = json.loads(card_path.read_text())
    edit(card)
    card_path.write_text(json.dumps(card))
    _, listing = _assert_refused(root, "mnist-vae", pattern)
    assert not listing["mnist-vae"].ok and re.search(pattern, listing["mnist-vae"].error)


@pytest.fixture
def builds(monkeypatch):
    """Every build the loader makes, by device; a build for real of an oversized card fails the
    test instead of allocating."""
    import torch
    from models import checkpoint as ck
    real, seen = ck.build, []

    def spy(cls, args):
        device = torch.get_default_device().type
        seen.append(device)
        if device != "meta" and args.get("hidden", 0) > 10_000:
            raise AssertionError(f"built {cls} with hidden={args['hidden']} for real")
        return real(cls, args)
    monkeypatch.setattr(ck, "build", spy)
    return seen


def test_an_oversized_card_is_refused_before_anything_is_allocated(ckpt_copy, builds):
    root = ckpt_copy("mnist-vae")
    card_path = root / "mnist-vae" / "card.json"
    card = json.loads(card_path.read_text())
    card["architecture"]["vae"]["args"]["hidden"] = 10 ** 7           # 31 billion parameters: 125 GB
    card_path.write_text(json.dumps(card))
    _assert_refused(root, "mnist-vae", r"needs [\d,]+ parameters .*over the 50 million the app loads")
    assert builds and set(builds) == {"meta"}


def test_weights_that_do_not_fit_are_refused_from_the_header_before_a_real_build(ckpt_copy, builds):
    root = ckpt_copy("mnist-vae")
    card_path = root / "mnist-vae" / "card.json"
    card = json.loads(card_path.read_text())
    card["architecture"]["vae"]["args"].update(hidden=20_000, channels=1)   # ~4 M parameters: under the
                                                                            # cap, unlike the file's
    card_path.write_text(json.dumps(card))
    _assert_refused(root, "mnist-vae", r"weights do not fit the ConvVAE in the card \(size mismatch")
    assert builds and set(builds) == {"meta"}
    assert models.load("mnist-vae", models.CHECKPOINTS).latent_dim == 16 and builds[-1] == "cpu"


def test_a_card_whose_constructor_fails_is_refused_in_words(ckpt_copy):
    """torch raises RuntimeError for a negative size: that is a CheckpointError naming the card."""
    root = ckpt_copy("mnist-vae")
    card_path = root / "mnist-vae" / "card.json"
    card = json.loads(card_path.read_text())
    card["architecture"]["vae"]["args"]["channels"] = -3
    card_path.write_text(json.dumps(card))
    e, _ = _assert_refused(root, "mnist-vae", r"cannot build 'vae': .*negative dimension -3")
    assert e.path.name == "card.json"


def test_a_card_asking_for_millions_of_layers_is_refused_unbuilt(ckpt_copy, builds):
    root = ckpt_copy("mnist-vae")
    card_path = root / "mnist-vae" / "card.json"
    card = json.loads(card_path.read_text())
    card["architecture"]["vae"]["args"]["hidden_layers"] = 1000        # meta-building 10**7 would take minutes
    card_path.write_text(json.dumps(card))
    _assert_refused(root, "mnist-vae", r"asks for hidden_layers 1000, more than the \d+ tensors")
    assert builds == []


def test_family_shapes_come_from_the_reference_npz_header(tmp_path):
    from models.checkpoint import _npz_image_shape, family_shape
    grey, colour = tmp_path / "g.npz", tmp_path / "c.npz"
    np.savez(grey, images=np.zeros((5, 20, 24), np.uint8), labels=np.zeros(5))
    np.savez(colour, images=np.zeros((5, 3, 16, 16), np.uint8), labels=np.zeros(5))
    assert _npz_image_shape(str(grey), 1, 1) == (1, 20, 24)
    assert _npz_image_shape(str(colour), 1, 1) == (3, 16, 16)
    assert [family_shape(d) for d in ("mnist", "fashion-mnist", "shapes", "my-pictures", "../x")] == \
        [(1, 28, 28), (1, 28, 28), (3, 32, 32), None, None]



def test_an_installed_reference_set_decides_its_familys_shape(tmp_path, monkeypatch):
    from models.checkpoint import family_shape
    (tmp_path / models.REFERENCE_DIR).mkdir()
    np.savez(tmp_path / models.REFERENCE_DIR / "mnist.npz", images=np.zeros((5, 3, 16, 16), np.uint8),
             labels=np.zeros(5))
    monkeypatch.setattr(models, "CHECKPOINTS", tmp_path)
    assert family_shape("mnist") == (3, 16, 16)               # read from the header, not assumed
    assert family_shape("shapes") == (3, 32, 32)              # not installed there: the known shape


def test_convert_refuses_a_data_set_of_another_picture_shape(tmp_path):
    """models.convert writes no checkpoint that read_card would then refuse."""
    from models.convert import convert
    pth = models.CHECKPOINTS.parent / "examples" / "pytorch_examples_vae.pth"
    if not pth.is_file():
        pytest.skip("no example state_dict")
    with pytest.raises(CheckpointError, match="data set 'shapes', whose pictures are 3x32x32"):
        convert(pth, "pytorch-examples-vae", tmp_path / "o", dataset="shapes")
    assert not (tmp_path / "o").exists()
