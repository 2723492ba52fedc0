"""Which images a VAE's map shows (playground/map_points.py): held-out first, then training, then
what an installed data set adds; the shipped default maps are the ones the code asks for."""
import gzip

import numpy as np
import pytest

import models
from playground import map_points as mp


def test_mnist_default_is_all_10000_digits_held_out_first_and_training_marked():
    p = mp.pool("mnist", models.CHECKPOINTS)
    ref, ref_labels = models.reference("mnist")
    train = np.load(models.CHECKPOINTS / "train" / "mnist.npz", allow_pickle=False)
    assert len(p) == mp.DEFAULT_POINTS == 10_000
    np.testing.assert_array_equal(p.images[:2000], ref)                 # the held-out set as before
    np.testing.assert_array_equal(p.labels[:2000], ref_labels)
    np.testing.assert_array_equal(p.images[2000:], train["images"])
    np.testing.assert_array_equal(p.labels[2000:], train["labels"])
    assert not p.training[:2000].any() and p.training[2000:].all()
    assert len(np.unique(p.images.reshape(len(p), -1), axis=0)) == 10_000   # no image twice
    assert not p.images.flags.writeable                                  # shared by every session


def test_fashion_default_is_10000_of_the_13000_shipped_and_smaller_maps_are_prefixes():
    root = models.CHECKPOINTS
    whole = mp.shipped_pool("fashion-mnist", root)
    assert len(whole) == 13_000 and whole.training.sum() == 10_000
    p = mp.pool("fashion-mnist", root)
    assert len(p) == 10_000 and p.training.sum() == 7_000
    small = mp.pool("fashion-mnist", root, 2_000)
    np.testing.assert_array_equal(small.images, p.images[:2_000])        # a selection survives a resize
    assert not small.training.any()


def test_sizes_offer_steps_below_the_total_and_the_total():
    assert mp.sizes(10_000) == [2_000, 5_000, 10_000]
    assert mp.sizes(13_000) == [2_000, 5_000, 10_000, 13_000]
    assert mp.sizes(70_000) == [2_000, 5_000, 10_000, 20_000, 50_000, 70_000]
    assert mp.sizes(500) == [500]


def test_extend_adds_only_the_installed_images_not_shipped_held_out_first():
    shipped = mp.Pool(np.arange(4, dtype=np.uint8).repeat(784).reshape(4, 28, 28),
                      np.array([0, 1, 2, 3]), np.array([False, False, True, True]), 4)
    test_x = np.full((5, 28, 28), 10, np.uint8) + np.arange(5, dtype=np.uint8)[:, None, None]
    train_x = np.full((6, 28, 28), 20, np.uint8) + np.arange(6, dtype=np.uint8)[:, None, None]
    p = mp.extend(shipped, [0, 3], [1, 4], (test_x, np.arange(5)), (train_x, np.arange(6)))
    assert len(p) == 4 + 3 + 4 and p.shipped == 4
    assert p.images[4:, 0, 0].tolist() == [11, 12, 14, 20, 22, 23, 25]  # shipped ones left out
    assert p.training.tolist() == [False, False, True, True] + [False] * 3 + [True] * 4
    assert p.labels[4:].tolist() == [1, 2, 4, 0, 2, 3, 5]
    assert p.first(6).training.tolist() == [False, False, True, True, False, False]


def _idx(path, arr):
    arr = np.asarray(arr, np.uint8)
    head = bytes([0, 0, 8, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    with gzip.open(path, "wb") as f:
        f.write(head + arr.tobytes())


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """A stand-in for Debian's dataset-fashion-mnist (70,000 images) and a checkpoints folder whose
    shipped Fashion files point into it: 12 test and 20 training images, 3 + 4 of them shipped."""
    from models import data
    rng = np.random.default_rng(0)
    test_x, train_x = rng.integers(0, 255, (12, 28, 28)), rng.integers(0, 255, (20, 28, 28))
    test_y, train_y = np.arange(12) % 10, np.arange(20) % 10
    fashion = tmp_path / "fashion"
    fashion.mkdir()
    for name, arr in (("t10k-images-idx3", test_x), ("t10k-labels-idx1", test_y),
                      ("train-images-idx3", train_x), ("train-labels-idx1", train_y)):
        _idx(fashion / f"{name}-ubyte.gz", arr)
    monkeypatch.setattr(data, "FASHION_DIR", fashion)
    root = tmp_path / "ckpts"
    (root / "reference").mkdir(parents=True)
    (root / "train").mkdir()
    t_idx, r_idx = np.array([2, 5, 7]), np.array([0, 3, 9, 19])
    np.savez(root / "reference" / "fashion-mnist.npz", images=test_x[t_idx].astype(np.uint8),
             labels=test_y[t_idx].astype(np.int16), test_index=t_idx.astype(np.int32))
    np.savez(root / "train" / "fashion-mnist.npz", images=train_x[r_idx].astype(np.uint8),
             labels=train_y[r_idx].astype(np.uint8), train_index=r_idx.astype(np.int32))
    return root, test_x.astype(np.uint8), train_x.astype(np.uint8)


def test_an_installed_data_set_maps_all_its_images_once_with_the_shipped_ones_first(installed):
    root, test_x, train_x = installed
    assert mp.installed_size("fashion-mnist") == 32
    assert mp.available("fashion-mnist", root) == 32
    assert len(mp.pool("fashion-mnist", root, 7)) == 7                    # within what ships: no read
    p = mp.pool("fashion-mnist", root, 70_000)
    assert len(p) == 32 and p.shipped == 7
    rows = {r.tobytes() for r in np.concatenate([test_x, train_x])}
    assert {r.tobytes() for r in p.images} == rows                      # every image, each once
    np.testing.assert_array_equal(p.images[:7], mp.shipped_pool("fashion-mnist", root).images)
    assert p.training.sum() == 20 and not p.training[7:16].any()         # the 9 other test images held out


def test_without_the_installed_data_the_largest_map_is_what_ships(installed, monkeypatch, tmp_path):
    from models import data
    root, _, _ = installed
    monkeypatch.setattr(data, "FASHION_DIR", tmp_path / "nowhere")
    assert mp.installed_size("fashion-mnist") == 0
    assert mp.available("fashion-mnist", root) == 7
    assert len(mp.pool("fashion-mnist", root, 70_000)) == 7


def test_positions_keep_to_1_65535th_of_their_range_in_int16():
    from playground.map_keys import decode_y, encode_y
    y = np.random.default_rng(0).normal(0, 30, (5000, 2)).astype(np.float32)
    enc = encode_y(y)
    assert enc["yq"].dtype == np.int16 and enc["yq"].shape == (5000, 2)
    back = decode_y(enc)
    span = y.max(0) - y.min(0)
    assert back.dtype == np.float32 and (np.abs(back - y) <= span / 65535 * 0.51 + 1e-5).all()
    np.testing.assert_array_equal(back.min(0), y.min(0))                       # ends exact
    flat = np.c_[np.arange(5.0), np.full(5, 2.0)]                              # one coordinate constant
    np.testing.assert_allclose(decode_y(encode_y(flat)), flat, atol=1e-4)
    assert decode_y({"y": y}) is not None and decode_y({}) is None              # older files: plain y


def test_the_installed_pool_is_read_anew_from_another_folder(installed, monkeypatch, tmp_path):
    from models import data
    root, test_x, train_x = installed
    assert len(mp.pool("fashion-mnist", root, 70_000)) == 32
    other = tmp_path / "fashion-other"
    other.mkdir()
    for name in ("t10k-images-idx3", "t10k-labels-idx1"):
        (other / f"{name}-ubyte.gz").write_bytes((data.FASHION_DIR / f"{name}-ubyte.gz").read_bytes())
    _idx(other / "train-images-idx3-ubyte.gz", train_x[:10])
    _idx(other / "train-labels-idx1-ubyte.gz", np.arange(10) % 10)
    monkeypatch.setattr(data, "FASHION_DIR", other)
    p = mp.pool("fashion-mnist", root, 70_000)
    assert len(p) == 7 + 9 + 7 and p.training.sum() == 4 + 7     # 7 shipped, then 9 test, 7 of the 10 train


# ---- bounded caches and what they are keyed by (#14 review) ----------------------------------------

def test_pools_are_held_in_caches_bounded_by_entries_and_bytes():
    from playground.bounded import LRU
    for cache in (mp._SHIPPED, mp._INSTALLED):
        assert isinstance(cache, LRU) and 0 < cache.max_entries <= 8 and cache.max_bytes <= 256 * 2**20
    a = mp.shipped_pool("mnist", models.CHECKPOINTS)
    assert mp.shipped_pool("mnist", models.CHECKPOINTS) is a                  # a hit
    assert mp._SHIPPED.bytes >= a.images.nbytes                              # measured


def test_nearest_size_snaps_to_a_size_offered():
    offered = mp.sizes(13_000)
    assert [mp.nearest_size(n, offered) for n in (1, 3_499, 3_500, 10_001, 999_999)] == \
        [2_000, 2_000, 2_000, 10_000, 13_000]


def test_the_pool_stamp_follows_the_installed_files_only_past_what_ships(installed):
    from models import data
    root, _, train_x = installed
    small, large = mp.pool_stamp("fashion-mnist", root, 7), mp.pool_stamp("fashion-mnist", root, 70_000)
    _idx(data.FASHION_DIR / "train-images-idx3-ubyte.gz", 255 - train_x)   # the data set replaced
    assert mp.pool_stamp("fashion-mnist", root, 7) == small                  # shipped only: same
    assert mp.pool_stamp("fashion-mnist", root, 70_000) != large


def test_a_map_past_what_ships_is_rebuilt_when_the_installed_data_set_changes(installed, monkeypatch):
    """session.latent_map's key holds the stamp of the installed files its points come from."""
    from types import SimpleNamespace

    from models import data
    from playground import session
    root, _, train_x = installed
    monkeypatch.setattr(models, "CHECKPOINTS", root)
    monkeypatch.setattr(session, "_MAPS", session._MapCache())
    fake = SimpleNamespace(kind="vae", dataset="fashion-mnist", card={"weights": {"sha256": "s"}})
    monkeypatch.setattr(session, "load_model", lambda name: fake)
    built = []

    def build_map(m, method, ref, clf, progress=None):
        built.append(ref.images.copy())
        z = np.zeros((len(ref), 2), np.float32)
        return SimpleNamespace(z=z, space=z, y=z, labels=ref.labels, images=ref.images, training=None)
    monkeypatch.setattr(session, "build_map", build_map)
    session.latent_map("m", "pca", quiet=True, points=70_000)
    session.latent_map("m", "pca", quiet=True, points=70_000)
    assert len(built) == 1                                                   # a hit
    _idx(data.FASHION_DIR / "train-images-idx3-ubyte.gz", 255 - train_x)   # the data set replaced
    session.latent_map("m", "pca", quiet=True, points=70_000)
    assert len(built) == 2 and (built[1][7:] != built[0][7:]).any()        # mapped anew, new images


def test_a_tsne_map_build_holds_a_map_build_slot(monkeypatch):
    from types import SimpleNamespace

    from playground import jobs, map_builds, session
    slots = jobs.Slots(1)
    monkeypatch.setattr(map_builds, "_builds", slots)
    monkeypatch.setattr(session, "_MAPS", session._MapCache())
    seen = []

    def build_map(m, method, ref, clf, progress=None):
        seen.append((method, slots.state()))
        z = np.zeros((len(ref), 2), np.float32)
        return SimpleNamespace(z=z, space=z, y=z, labels=ref.labels, images=ref.images, training=None)
    monkeypatch.setattr(session, "build_map", build_map)
    for method in ("tsne", "pca"):
        session.latent_map("mnist-vae", method, quiet=True, points=2_000)
    assert seen == [("tsne", (1, 0)), ("pca", (0, 0))] and slots.state() == (0, 0)


def test_a_waiting_map_build_says_how_many_are_ahead():
    import threading

    from playground import jobs
    from playground.map_builds import map_build_slot
    slots, said, go = jobs.Slots(1, poll_s=0.01), [], threading.Event()

    class Holder:
        def info(self, text, icon=None):
            said.append(text)
            go.set()

        def empty(self):
            said.append("")
    with slots.hold():
        t = threading.Thread(target=lambda: map_build_slot(Holder(), slots).__enter__())
        t.start()
        assert go.wait(10)
    t.join(10)
    assert said[0].startswith("Waiting: 1 ahead of you. At most 1 map is computed at once")
    assert said[-1] == ""                                                    # cleared once started
