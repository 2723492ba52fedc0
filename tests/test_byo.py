"""Bring your own model: adapter files (good and hostile), the server's sources (--checkpoints,
--model, --reference, the environment), reference folders, and state_dict conversion."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

import byo_models
import models
from conftest import ROOT, assert_clean, run_app
from models import adapters, sources
from models.convert import convert, main as convert_main

EXAMPLE_PTH = ROOT / "examples" / "pytorch_examples_vae.pth"
EXAMPLE_ADAPTER = ROOT / "examples" / "pytorch_examples_vae.py"


@pytest.fixture
def quick_timeout(monkeypatch):
    monkeypatch.setattr(adapters, "TIMEOUT_S", 1.0)


# ---- adapters -------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, shape", [("grey-vae", (1, 28, 28)), ("rgb-vae", (3, 32, 32)), ("gan", (1, 16, 24)),
                                         ("grey-vae-8", (1, 8, 8)), ("rgb-gan-128", (3, 128, 128)),
                                         ("rgb-vae-128", (3, 128, 128)), ("rgb-vae-16x24", (3, 16, 24))])
def test_an_adapter_is_a_latent_model(tmp_path, kind, shape):
    m = models.load(str(byo_models.write(tmp_path, kind)))
    assert (m.kind, m.image_shape, m.name) == ("gan" if "gan" in kind else "vae", shape, kind)
    z = m.sample(5, seed=3)
    np.testing.assert_array_equal(z, m.sample(5, seed=3))
    x = m.decode(z)
    assert x.shape == (5, *shape) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    np.testing.assert_allclose(m.decode(z[0]), x[:1], atol=1e-6)     # one code, as LatentModel takes it
    if m.kind == "vae":
        assert m.encode(x).shape == (5, m.latent_dim)
        with pytest.raises(ValueError, match=r"images must have shape \(N, " + ", ".join(map(str, shape))):
            m.encode(np.zeros((1, 1, 9, 9), np.float32))
    else:
        with pytest.raises(TypeError, match="no encoder"):
            m.encode(x)
    images, labels = models.reference(m.dataset)
    assert images.dtype == np.uint8 and len(images) == len(labels)
    assert images.shape[1:] == (shape[1:] if shape[0] == 1 else shape)


def test_a_gan_adapters_own_sample_is_used(tmp_path):
    m = models.load(str(byo_models.write(tmp_path, "gan")))
    np.testing.assert_allclose(m.sample(4, seed=9), np.random.default_rng(9).standard_normal((4, 5)), rtol=1e-6)
    np.testing.assert_allclose(m.sample(4, seed=9, temperature=0.5),
                               0.5 * np.random.default_rng(9).standard_normal((4, 5)), rtol=1e-6)


@pytest.mark.parametrize("name", list(byo_models.HOSTILE))
def test_a_hostile_adapter_is_refused_with_the_reason(tmp_path, quick_timeout, name):
    source, words = byo_models.HOSTILE[name]
    path = byo_models.write(tmp_path, name, source=source)
    with pytest.raises(models.CheckpointError) as e:
        models.load(str(path))
    assert words in str(e.value) and str(path.resolve()) in str(e.value)


@pytest.mark.parametrize("body, words", [
    ("if len(z) > 2: raise MemoryError('too many codes')", "decode raised MemoryError: too many codes"),
    ("if len(z) > 2: return np.full((len(z), 3, 32, 32), np.nan, np.float32)", "decode returned NaN"),
    ("if len(z) > 2: return np.full((len(z), 3, 32, 32), 7, np.float32)", "values from 7 to 7"),
])
def test_a_bad_answer_to_one_input_fails_that_call_only(tmp_path, body, words):
    """It passes the probe (2 codes), then answers a bigger batch badly: that call says so, in
    words, and the model stays usable for other inputs (it is not listed broken)."""
    path = byo_models.write(tmp_path, "later", source=byo_models.numpy_model(
        decode_body=body + "\n        " + byo_models.GOOD_DECODE))
    m = models.load(str(path))
    with pytest.raises(adapters.AdapterError, match="bad answer for this input") as e:
        m.decode(np.zeros((3, 4), np.float32))
    assert words in str(e.value) and not e.value.broken
    assert m.decode(np.zeros((1, 4), np.float32)).shape == (1, 3, 32, 32)     # still usable
    assert adapters.broken_reason(path.resolve(), m.sha) is None
    assert models.load(str(path)) is m


def test_a_call_that_times_out_breaks_the_model_while_it_runs(tmp_path, quick_timeout):
    """A timed-out call is left running: the model is broken (for everyone) until it ends, since
    adapter code need not be thread-safe; then, the slowness having passed, it is usable again."""
    body = "if len(z) > 2: __import__('time').sleep(2.5)\n        " + byo_models.GOOD_DECODE
    path = byo_models.write(tmp_path, "slowish", source=byo_models.numpy_model(decode_body=body))
    m = models.load(str(path))
    with pytest.raises(adapters.AdapterError, match="decode took over 1 s") as e:
        m.decode(np.zeros((3, 4), np.float32))
    assert e.value.broken
    assert adapters.broken_reason(path.resolve(), m.sha) == "decode took over 1 s (the limit for one call)"
    with pytest.raises(adapters.AdapterError, match="took over"):
        m.decode(np.zeros((1, 4), np.float32))          # broken now, even for a small batch
    with pytest.raises(adapters.AdapterError, match="took over"):
        models.load(str(path))
    e.value.thread.join()                                # the slow call ends
    assert adapters.broken_reason(path.resolve(), m.sha) is None
    assert m.decode(np.zeros((1, 4), np.float32)).shape == (1, 3, 32, 32)


def test_an_edited_adapter_file_is_loaded_again(tmp_path):
    path = byo_models.write(tmp_path, "rgb-vae")
    a = models.load(str(path))
    path.write_text(path.read_text() + "\n# edited\n")
    b = models.load(str(path))
    assert a is not b and a.sha != b.sha and a.dataset != b.dataset


# ---- reference folders ----------------------------------------------------------------------------

def test_a_reference_folder_is_read_at_the_models_size_and_unreadable_files_are_counted(tmp_path):
    ref = tmp_path / "ref"
    (ref / "sub").mkdir(parents=True)
    Image.fromarray(np.full((40, 50, 3), (200, 30, 10), np.uint8)).save(ref / "a.png")
    Image.fromarray(np.full((20, 20), 128, np.uint8)).save(ref / "sub" / "b.jpg")
    (ref / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (ref / "notes.txt").write_text("not a picture")
    m = models.load(str(byo_models.write(tmp_path, "rgb-vae")), reference=ref)
    images, labels = models.reference(m.dataset)
    assert images.shape == (2, 3, 32, 32) and not labels.any()
    np.testing.assert_array_equal(images[0, :, 5, 5], [200, 30, 10])       # colour kept
    assert "2 reference images" in m.reference_note and "2 unreadable file(s) skipped" in m.reference_note
    assert not m.reference_generated


def test_without_any_reference_the_map_uses_decoded_prior_samples_and_says_so(tmp_path):
    m = models.load(str(byo_models.write(tmp_path, "rgb-vae")))
    images, _ = models.reference(m.dataset)
    assert len(images) == adapters.PRIOR_REFERENCE and m.reference_generated
    assert "no reference images were given" in m.reference_note


def test_an_empty_reference_folder_says_so(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "x.png").write_bytes(b"nope")
    m = models.load(str(byo_models.write(tmp_path, "rgb-vae")), reference=tmp_path / "empty")
    with pytest.raises(adapters.AdapterError, match=r"no readable images .*1 unreadable file\(s\) skipped"):
        models.reference(m.dataset)


# ---- where models come from -----------------------------------------------------------------------

def test_sources_from_the_command_line_and_the_environment(tmp_path):
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    s = sources.parse(["--model", str(a), "--reference", str(tmp_path / "ra"), "--checkpoints",
                       str(tmp_path / "c1"), str(tmp_path / "c2"), "--model", str(b), "--server.port", "1"],
                      environ={sources.ENV_DIRS: str(tmp_path / "c3"), sources.ENV_MODELS: str(tmp_path / "e.py")})
    assert s.checkpoint_dirs == (tmp_path / "c1", tmp_path / "c2", tmp_path / "c3")
    assert s.adapters == ((a, tmp_path / "ra"), (b, None), (tmp_path / "e.py", None))
    assert not s.problems
    too_many = sources.parse(["--model", str(a), "--reference", "x", "--reference", "y"], environ={})
    assert "2 --reference folder(s) for 1 --model file(s)" in too_many.problems[0]


def test_sources_parse_the_command_line_once_and_resolve_paths_every_time(tmp_path, monkeypatch):
    """Every page run asks for the sources: the command line is parsed once per argv, but the
    variables, the working directory, HOME and symlinks are read on every call."""
    built = []
    real = sources.parser
    monkeypatch.setattr(sources, "parser", lambda: built.append(1) or real())
    monkeypatch.chdir(tmp_path)
    assert sources.parse(["--checkpoints", "c1"], environ={}).checkpoint_dirs == (tmp_path / "c1",)
    assert sources.parse(["--checkpoints", "c1"], environ={}).checkpoint_dirs == (tmp_path / "c1",)
    assert len(built) == 1                                                        # parsed once
    assert sources.parse(["--checkpoints", "c2"], environ={}).checkpoint_dirs == (tmp_path / "c2",)
    assert len(built) == 2
    assert sources.parse(["--checkpoints", "c2"], environ={sources.ENV_DIRS: "c3"}).checkpoint_dirs == (
        tmp_path / "c2", tmp_path / "c3")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    assert sources.parse(["--checkpoints", "c2"], environ={}).checkpoint_dirs == (tmp_path / "sub" / "c2",)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert sources.parse(["--model", "~/m.py"], environ={}).adapters == ((tmp_path / "home" / "m.py", None),)
    monkeypatch.setenv("HOME", str(tmp_path / "other"))
    assert sources.parse(["--model", "~/m.py"], environ={}).adapters == ((tmp_path / "other" / "m.py", None),)
    # a "current" symlink swapped at deployment is followed to its new target
    (tmp_path / "v1").mkdir()
    (tmp_path / "v2").mkdir()
    (tmp_path / "current").symlink_to(tmp_path / "v1")
    assert sources.parse(["--checkpoints", str(tmp_path / "current")], environ={}).checkpoint_dirs == (tmp_path / "v1",)
    (tmp_path / "current").unlink()
    (tmp_path / "current").symlink_to(tmp_path / "v2")
    assert sources.parse(["--checkpoints", str(tmp_path / "current")], environ={}).checkpoint_dirs == (tmp_path / "v2",)


def test_listing_names_broken_adapters_and_keeps_the_others(tmp_path, monkeypatch, quick_timeout):
    good = byo_models.write(tmp_path, "rgb-vae")
    bad = byo_models.write(tmp_path, "nan", source=byo_models.HOSTILE["nan"][0])
    slow = byo_models.write(tmp_path, "slow", source=byo_models.HOSTILE["slow"][0])
    ckpts = tmp_path / "elsewhere"
    convert(EXAMPLE_PTH, "pytorch-examples-vae", ckpts / "examples-vae")
    monkeypatch.setenv(sources.ENV_MODELS, ":".join(map(str, (good, bad, slow, tmp_path / "gone.py"))))
    monkeypatch.setenv(sources.ENV_DIRS, str(ckpts))
    from playground import session
    session.listings.clear()
    try:
        listed = {l.name: l for l in session.listings()}
        assert listed["rgb-vae"].ok and listed["examples-vae"].ok
        assert "NaN" in listed["nan"].error and "took over" in listed["slow"].error
        assert listed["gone"].error == "no such adapter file"
        assert "mnist-vae" in listed and listed["mnist-vae"].ok
        at = run_app(model="rgb-vae", proj="pca")
        assert_clean(at, "map of the good adapter beside broken ones")
        broken = " ".join(str(c.value) for c in at.sidebar.caption)
        assert "**nan**: decode returned NaN" in broken and "**slow**: decode took over" in broken
        at = run_app(model="examples-vae", proj="pca")
        assert_clean(at, "a converted checkpoint from another folder")
        assert at.session_state.model == "examples-vae"
    finally:
        session.listings.clear()


def test_an_adapter_answering_badly_in_a_page_is_reported_and_stays_listed(tmp_path, monkeypatch):
    methods = ("def reference(self):\n"            # 16 images: the map encodes them, and fails
               "        return np.full((16, 3, 32, 32), 100, np.uint8), None\n\n"
               "    def encode(self, x):\n"
               "        if len(x) > 2: raise MemoryError('too many images')\n"
               "        return np.zeros((len(x), 4), np.float32)")
    path = byo_models.write(tmp_path, "later", source=byo_models.numpy_model(methods=methods))
    monkeypatch.setenv(sources.ENV_MODELS, str(path))
    from playground import session
    session.listings.clear()
    try:
        at = run_app(model="later", proj="pca")
        assert not at.exception
        assert ("**later**: the adapter gave a bad answer for this input: encode raised MemoryError: "
                "too many images. The model is still usable") in at.error[0].value
        at = run_app(model="later", proj="pca")            # a new visit: the model is still there
        assert at.session_state.model == "later"
        assert not any("too many images" in str(c.value) for c in at.sidebar.caption)
        assert {l.name: l for l in session.listings()}["later"].ok
    finally:
        session.listings.clear()


def test_a_probe_failure_still_lists_the_adapter_broken(tmp_path, monkeypatch):
    path = byo_models.write(tmp_path, "nan", source=byo_models.HOSTILE["nan"][0])
    monkeypatch.setenv(sources.ENV_MODELS, str(path))
    from playground import session
    session.listings.clear()
    try:
        assert "decode returned NaN" in {l.name: l for l in session.listings()}["nan"].error
    finally:
        session.listings.clear()


def test_declared_weights_files_and_version_are_in_the_models_sha(tmp_path):
    """Retraining a weights file the adapter reads (declared in `weights_files`) or bumping its
    `version` gives a new "weights sha256", so every cache keyed by it (maps on disk) is new."""
    weights = tmp_path / "w.npy"
    np.save(weights, np.ones(3, np.float32))
    source = lambda version: byo_models.numpy_model(
        extra_attrs=f"weights_files = ['w.npy']\n    version = {version!r}")
    path = byo_models.write(tmp_path, "declares", source=source("1"))
    a = models.load(str(path))
    assert a.sha != adapters.file_sha256(path)
    np.save(weights, np.full(3, 2, np.float32))          # retrained: same file name, new content
    b = models.load(str(path))
    assert b is not a and b.sha != a.sha and b.dataset != a.dataset
    assert models.load(str(path)) is b
    path.write_text(source("2"))
    c = models.load(str(path))
    assert c.sha not in (a.sha, b.sha)
    weights.unlink()
    with pytest.raises(adapters.AdapterError, match="a declared weights file cannot be read"):
        models.load(str(path))


def test_the_example_adapter_declares_its_pth():
    m = models.load(str(EXAMPLE_ADAPTER))
    assert m.sha == adapters.source_sha(EXAMPLE_ADAPTER.resolve(), (str(EXAMPLE_PTH.resolve()),), "")
    assert m.sha != adapters.file_sha256(EXAMPLE_ADAPTER)


# ---- state_dict conversion ------------------------------------------------------------------------

def test_the_example_state_dict_converts_and_matches_its_adapter(tmp_path):
    out = tmp_path / "examples-vae"
    assert convert_main([str(EXAMPLE_PTH), "--arch", "pytorch-examples-vae", "--out", str(out)]) == 0
    converted, adapter = models.load(out), models.load(str(EXAMPLE_ADAPTER))
    card = json.loads((out / "card.json").read_text())
    assert card["training"]["converted_from"] == EXAMPLE_PTH.name and card["latent_dim"] == 20
    x = converted.as_input(models.reference("mnist")[0][:64])
    np.testing.assert_allclose(converted.encode(x), adapter.encode(x), atol=1e-5)
    np.testing.assert_allclose(converted.decode(converted.encode(x)), adapter.decode(adapter.encode(x)), atol=1e-5)
    assert ((converted.decode(converted.encode(x)) - x) ** 2).mean() < 0.03     # it learned digits


def test_a_state_dict_that_does_not_fit_names_the_keys(tmp_path, capsys):
    state = torch.load(EXAMPLE_PTH, weights_only=True)
    state.pop("fc22.bias")
    state["fc5.weight"] = torch.zeros(3)
    state["fc1.weight"] = torch.zeros(400, 100)
    bad = tmp_path / "bad.pth"
    torch.save(state, bad)
    assert convert_main([str(bad), "--arch", "pytorch-examples-vae", "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert "missing keys: fc22.bias" in err and "unexpected keys: fc5.weight" in err
    assert "fc1.weight is (400, 100), expected (400, 784)" in err
    assert not (tmp_path / "o").exists()


def test_a_pickled_object_is_never_loaded(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("unpickled!",))
    path = tmp_path / "evil.pth"
    torch.save({"fc1.weight": Evil()}, path)
    with pytest.raises(models.CheckpointError, match="weights_only=True"):
        convert(path, "pytorch-examples-vae", tmp_path / "o")
    nested = tmp_path / "nested.pth"
    torch.save({"state_dict": torch.load(EXAMPLE_PTH, weights_only=True), "epoch": 3}, nested)
    assert convert(nested, "pytorch-examples-vae", tmp_path / "ok").is_dir()


def test_a_card_whose_image_shape_the_decoder_does_not_make_is_refused(ckpt_copy):
    root = ckpt_copy("mnist-vae")
    card_path = root / "mnist-vae" / "card.json"
    card = json.loads(card_path.read_text())
    card["image_shape"] = [3, 32, 32]
    card["dataset"]["name"] = "my-pictures"     # a known family's shape is refused earlier, by read_card
    card_path.write_text(json.dumps(card))
    with pytest.raises(models.CheckpointError, match=r"image_shape \[3, 32, 32\] but the decoder makes \[1, 28, 28\]"):
        models.load("mnist-vae", root)


def test_a_failing_reference_breaks_the_model_with_the_reason(tmp_path):
    path = byo_models.write(tmp_path, "badref", source=byo_models.numpy_model(
        methods="def reference(self):\n        return np.zeros((3, 3, 8, 8), np.uint8), None"))
    m = models.load(str(path))
    with pytest.raises(adapters.AdapterError, match=r"reference\(\) images must be uint8 \(N, 3, 32, 32\)"):
        models.reference(m.dataset)
    assert adapters.broken_reason(path.resolve(), m.sha).startswith("its reference images:")


def test_a_reference_folder_without_its_model_is_listed_as_a_problem(tmp_path, monkeypatch):
    from playground import session
    monkeypatch.setattr("sys.argv", ["app.py", "--reference", str(tmp_path)])
    session.listings.clear()
    try:
        listed = {l.name: l for l in session.listings()}
        assert "1 --reference folder(s) for 0 --model file(s)" in listed["--reference"].error
    finally:
        session.listings.clear()


def test_loaded_adapters_are_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(adapters, "MAX_LOADED", 2)
    path = byo_models.write(tmp_path, "rgb-vae")
    for i in range(4):                                 # four versions of one file
        path.write_text(path.read_text() + f"\n# version {i}\n")
        models.load(str(path))
    assert len(adapters._loaded) <= 2
    assert sum(m.path == path.resolve() for m in adapters._by_dataset.values()) <= 2


def test_checkpoints_may_name_one_checkpoint_folder_or_a_missing_one(tmp_path, monkeypatch):
    one = convert(EXAMPLE_PTH, "pytorch-examples-vae", tmp_path / "models" / "examples-vae")
    (tmp_path / "models" / "other").mkdir()                 # a sibling that is not named: not listed
    monkeypatch.setattr("sys.argv", ["app.py", "--checkpoints", str(one), str(tmp_path / "nowhere")])
    from playground import session
    session.listings.clear()
    try:
        listed = {l.name: l for l in session.listings()}
        assert listed["examples-vae"].ok and listed["examples-vae"].path == one
        assert "other" not in listed
        assert listed["nowhere"].error == "no such checkpoint folder"
        assert isinstance(session.load_model("examples-vae"), models.LatentModel)
    finally:
        session.listings.clear()


def test_is_adapter_is_one_test_for_models_and_cards(tmp_path):
    from playground import anomaly, inpaint, session
    adapter = models.load(str(byo_models.write(tmp_path, "rgb-vae")))
    converted = models.load(convert(EXAMPLE_PTH, "pytorch-examples-vae", tmp_path / "examples-vae"))
    assert adapters.is_adapter(adapter) and adapters.is_adapter(adapter.card)
    assert not adapters.is_adapter(converted) and not adapters.is_adapter(converted.card)
    assert not adapters.is_adapter(None)
    for m, want in ((adapter, True), (converted, False)):
        assert session.is_adapter(m) == anomaly.is_adapter(m) == want
        assert (inpaint.methods(m)[0] == ["Iterative encode-decode"]) == want


def test_a_failed_load_is_tried_again_after_a_while(tmp_path, monkeypatch):
    """A load that failed (slow disk, a file not there yet) is not cached for good."""
    flag = tmp_path / "ready"
    path = byo_models.write(tmp_path, "waits", source=byo_models.numpy_model(
        before_load=f"assert __import__('pathlib').Path({str(flag)!r}).exists(), 'not ready yet'"))
    with pytest.raises(adapters.AdapterError, match="not ready yet"):
        models.load(str(path))
    flag.touch()
    monkeypatch.setattr(adapters, "RETRY_S", 1e9)
    with pytest.raises(adapters.AdapterError, match="not ready yet"):
        models.load(str(path))                         # remembered: not imported on every run
    monkeypatch.setattr(adapters, "RETRY_S", 0.0)
    assert models.load(str(path)).kind == "vae"


# ---- a GAN without a classifier: its map is laid out by its decoded pixels, averaged down ---------

def test_pixel_features_average_each_image_down_to_1024_numbers():
    from playground.latent_map import area_matrix, pixel_features
    blocks = np.random.default_rng(0).random((2, 1, 32, 32), dtype=np.float32)
    x = blocks.repeat(4, 2).repeat(4, 3)                              # (2, 1, 128, 128) of 4x4 blocks
    np.testing.assert_allclose(pixel_features(x), blocks.reshape(2, -1), atol=1e-6)
    rgb = np.random.default_rng(1).random((1, 3, 100, 50), dtype=np.float32)
    small = pixel_features(rgb).reshape(1, 3, 26, 13)                 # 1,014 numbers, the aspect kept
    np.testing.assert_allclose(small.mean((2, 3)), rgb.mean((2, 3)), atol=1e-5)   # area: means kept
    np.testing.assert_allclose(area_matrix(100, 26).sum(1), 1, atol=1e-6)
    assert pixel_features(np.zeros((1, 3, 128, 128), np.float32)).shape == (1, 3 * 18 * 18)
    grey = np.random.default_rng(2).random((4, 1, 16, 24), dtype=np.float32)
    np.testing.assert_array_equal(pixel_features(grey), grey.reshape(4, -1))   # small: as it is


def test_a_128x128_gan_map_by_pixels_keeps_the_images_and_little_else(tmp_path, monkeypatch):
    """3,000 decoded 128 x 128 RGB samples are 590 MB of float32 pixels (and their PCA basis as much
    again, after an SVD of minutes): the map decodes in batches and lays out pixels averaged down to
    18 x 18 per channel, so it holds each point's image and 2 x 972 floats. Fewer points here, the
    same per point."""
    from playground import bounded, latent_map
    monkeypatch.setattr(latent_map, "GAN_POINTS", 300)
    m = models.load(str(byo_models.write(tmp_path, "rgb-gan-128")))
    batches, decode = [], m.decode
    monkeypatch.setattr(m, "decode", lambda z: batches.append(len(z)) or decode(z))
    lmap = latent_map.build_map(m, "pca", write_dir=None, cache_dirs=())
    assert max(batches) <= latent_map.DECODE_BATCH, batches
    assert lmap.images.shape == (300, 3, 128, 128) and lmap.space.shape == (300, 3 * 18 * 18)
    per_point = 3 * 128 * 128 + 2 * 4 * 3 * 18 * 18 + 1024            # image, pixels, PCA basis row
    assert bounded.nbytes(lmap) < 300 * per_point, bounded.nbytes(lmap) / 300
    np.testing.assert_allclose(lmap.place(lmap.z[:5]), lmap.y[:5], atol=1e-3)   # placed as laid out
    assert "pixels, averaged down to 18 × 18 per channel" in latent_map.describe_inverse(lmap)
    assert "pixels, averaged down to 18 × 18 per channel" in latent_map.describe_placement(lmap)


# ---- --reference DIR, end to end ------------------------------------------------------------------

def reference_folder(folder, good: int):
    """`good` small pictures of a red square on grey at different places, and 2 unreadable files."""
    folder.mkdir(parents=True)
    for i in range(good):
        a = np.full((40, 60, 3), 90, np.uint8)
        a[5 + 3 * i:20 + 3 * i, 10 + 4 * i:30 + 4 * i] = (220, 30, 30)
        Image.fromarray(a).save(folder / f"{i:02d}.png")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (folder / "readme.txt").write_text("not a picture")
    return folder


def map_points_shown(at) -> int:
    """How many points the Latent map's chart draws (Plotly sends numbers as typed arrays)."""
    import base64
    fig = json.loads(next(c for c in at.get("plotly_chart") if "-map-" in c.proto.id).proto.spec)
    data = [t["customdata"] for t in fig["data"] if t.get("customdata") is not None]
    return sum(len(np.frombuffer(base64.b64decode(d["bdata"]), d["dtype"])) if isinstance(d, dict) else len(d)
               for d in data)


@pytest.mark.parametrize("how", ["command line", "environment"])
def test_a_models_reference_folder_makes_its_map_and_the_page_says_what_was_skipped(tmp_path, monkeypatch, how):
    """`--model X --reference D` (or LATENT_PLAYGROUND_MODELS / LATENT_PLAYGROUND_REFERENCES): the
    VAE's map shows D's readable images, one point each, and says 2 unreadable files were skipped."""
    good = {"command line": 5, "environment": 7}[how]
    ref = reference_folder(tmp_path / "ref", good)
    # each its own name (the same file with two folders: the next test)
    name = {"command line": "folder-vae-cli", "environment": "folder-vae-env"}[how]
    path = byo_models.write(tmp_path, name, source=byo_models.numpy_model(
        "vae", 4, (3, 16, 24), extra_attrs=f"name = {name!r}"))
    if how == "command line":
        monkeypatch.setattr("sys.argv", ["app.py", "--model", str(path), "--reference", str(ref)])
    else:
        monkeypatch.setenv(sources.ENV_MODELS, str(path))
        monkeypatch.setenv(sources.ENV_REFERENCES, str(ref))
    from playground import session
    session.listings.clear()
    try:
        at = run_app(model=name, proj="pca")
        assert_clean(at, f"a reference folder given on the {how}")
        assert at.session_state.model == name
        captions = [str(c.value) for c in at.caption]
        assert f"Reference set: {good} reference images from {ref}; 2 unreadable file(s) skipped." in captions
        assert map_points_shown(at) == good
    finally:
        session.listings.clear()


def test_the_same_adapter_file_with_two_reference_folders_maps_each_folders_images(tmp_path, monkeypatch):
    """One adapter file given with --reference A, then (in the same process: another server start
    in a test run, a script) with --reference B: each map shows its own folder's images, not the
    first folder's (the adapter's data set name and the in-memory map key hold the folder), and the
    Encode page ranks and finds neighbours among that folder's images too."""
    from playground import session
    path = byo_models.write(tmp_path, "two-folders", source=byo_models.numpy_model(
        "vae", 4, (3, 16, 24), extra_attrs="name = 'two-folders'"))
    try:
        for folder, good in (("a", 5), ("b", 7), ("a", 5)):
            ref = tmp_path / folder
            if not ref.exists():
                reference_folder(ref, good)
            monkeypatch.setattr("sys.argv", ["app.py", "--model", str(path), "--reference", str(ref)])
            session.listings.clear()
            at = run_app(model="two-folders", proj="pca")
            assert_clean(at, f"--reference {folder}")
            captions = [str(c.value) for c in at.caption]
            assert f"Reference set: {good} reference images from {ref}; 2 unreadable file(s) skipped." in captions
            assert map_points_shown(at) == good, folder
            # the Encode page's neighbours and error ranking: the same folder's images
            assert len(session.reference_space("two-folders")[0]) == good, folder
            assert len(session.reference_errors("two-folders").errors) == good, folder
    finally:
        session.listings.clear()


def test_the_encode_pages_reference_codes_of_a_128x128_rgb_vae_are_encoded_within_the_byte_budget(tmp_path, monkeypatch):
    """The Encode page's neighbours are found among the reference images' codes: encoded a batch
    of at most 32 MB of float32 pixels at a time (300 images of 3 x 128 x 128 at once were 59 MB;
    an adapter's --reference keeps up to 5,000: 983 MB)."""
    from playground import session
    from playground.batches import BATCH_BYTES
    path = byo_models.write(tmp_path, "rgb-vae-128")
    monkeypatch.setenv(sources.ENV_MODELS, str(path))
    session.listings.clear()
    try:
        m = session.load_model("rgb-vae-128")
        batches, encode = [], m.encode
        monkeypatch.setattr(m, "encode", lambda x: batches.append(np.asarray(x).nbytes) or encode(x))
        session._reference_space.clear()                      # the same file content may be cached
        images, space, _ = session.reference_space("rgb-vae-128")
        assert max(batches) <= BATCH_BYTES and sum(batches) == images.size * 4, batches
        np.testing.assert_allclose(space, encode(m.as_input(images)), rtol=1e-4, atol=1e-5)   # in order
    finally:
        session.listings.clear()


def test_a_gan_without_classifier_finds_neighbours_in_its_maps_averaged_pixels(tmp_path, monkeypatch):
    """The Encode page finds a GAN's nearest reference images in the space its map is laid out in:
    without a classifier, the pixels averaged down (`latent_map.pixel_features`, 972 numbers at
    3 x 128 x 128, not 49,152: 5,000 references were 983 MB), the references and the query alike."""
    from playground import session
    from playground.latent_map import pixel_features
    rng = np.random.default_rng(0)
    ref = tmp_path / "ref"
    ref.mkdir()
    for i in range(6):
        Image.fromarray(rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)).save(ref / f"{i}.png")
    monkeypatch.setenv(sources.ENV_MODELS, str(byo_models.write(tmp_path, "rgb-gan-128")))
    monkeypatch.setenv(sources.ENV_REFERENCES, str(ref))
    session.listings.clear()
    session._reference_space.clear()
    try:
        m = session.load_model("rgb-gan-128")
        images, space, _ = session.reference_space("rgb-gan-128")
        assert len(images) == 6 and space.shape == (6, 3 * 18 * 18), space.shape
        np.testing.assert_allclose(space, pixel_features(m.as_input(images)), rtol=1e-5, atol=1e-6)
        query = session.classifier_features("rgb-gan-128", m.as_input(images[:2]))
        np.testing.assert_allclose(query, space[:2], rtol=1e-5, atol=1e-6)   # one space for both sides
    finally:
        session.listings.clear()
        session._reference_space.clear()
