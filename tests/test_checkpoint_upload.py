"""A checkpoint folder uploaded in the browser: checked like a shipped one, installed atomically,
bounded, listed for every page; anything else refused in words."""
import json

import pytest

import models
from conftest import assert_clean, run_app
from playground import checkpoint_upload as cu


def files_of(ckpt: str, **card_edits):
    folder = models.CHECKPOINTS / ckpt
    card = json.loads((folder / "card.json").read_text())
    card.update(card_edits)
    return [("card.json", json.dumps(card).encode()), ("model.safetensors", (folder / "model.safetensors").read_bytes())]


def test_a_shipped_pair_installs_and_loads(tmp_path):
    dest = cu.install(files_of("mnist-vae2d"), tmp_path)
    assert dest == tmp_path / "mnist-vae2d" and models.load(dest).latent_dim == 2
    assert [p.name for p in tmp_path.iterdir()] == ["mnist-vae2d"]          # no temp folder left


@pytest.mark.parametrize("files, words", [
    (lambda: files_of("mnist-vae2d")[:1], "model.safetensors missing"),
    (lambda: files_of("mnist-vae2d") + [("model.py", b"import os")], "model.py: a checkpoint folder holds exactly"),
    (lambda: [("card.json", b"{nope"), files_of("mnist-vae2d")[1]], "card.json is not valid JSON"),
    (lambda: files_of("mnist-vae2d", name="../../etc"), "the card's name must be"),
    (lambda: [files_of("mnist-vae2d")[0], ("model.safetensors", files_of("mnist-vae")[1][1])], "bytes but the card says"),
    (lambda: files_of("mnist-classifier"), "is a classifier: upload a VAE or a GAN"),
    (lambda: [files_of("mnist-vae2d")[0], ("model.safetensors", b"x" * len(files_of("mnist-vae2d")[1][1]))], "sha256"),
])
def test_bad_uploads_are_refused_and_leave_nothing(tmp_path, files, words):
    with pytest.raises(cu.UploadError, match=words.replace("(", r"\(")):
        cu.install(files(), tmp_path)
    assert not any(tmp_path.iterdir()) if tmp_path.exists() else True


def test_a_name_is_not_replaced_and_only_the_last_are_kept(tmp_path):
    cu.install(files_of("mnist-vae2d"), tmp_path)
    with pytest.raises(cu.UploadError, match="already uploaded"):
        cu.install(files_of("mnist-vae2d"), tmp_path)
    cu.install(files_of("mnist-vae"), tmp_path, limit=1)
    assert [p.name for p in tmp_path.iterdir()] == ["mnist-vae"]


def test_the_sidebar_box_adds_a_checkpoint_for_every_page():
    import shutil
    from playground import session
    session.listings.clear()
    try:
        at = run_app(model="mnist-vae", proj="pca")
        at.file_uploader(key="ckpt_files").set_value(
            [(n, d, "application/octet-stream") for n, d in files_of("fashion-mnist-vae2d")])
        next(b for b in at.button if b.label == "Add").click()
        at.run()
        assert_clean(at, "after adding")
        name = "fashion-mnist-vae2d (uploaded)"
        assert any(name in str(s.value) for s in at.sidebar.success), [s.value for s in at.sidebar.success]
        at = run_app(model=name, proj="pca")
        assert at.session_state.model == name
        assert_clean(at, "the uploaded model's map")
    finally:                                        # the test's user folder is shared by the session:
        shutil.rmtree(cu.uploads_dir(), ignore_errors=True)     # a failure must not leave the upload
        session.listings.clear()


def test_the_upload_limit_takes_the_shipped_models_and_a_missing_file_may_be_a_refused_one():
    import tomllib
    limit = tomllib.loads((models.CHECKPOINTS.parent / ".streamlit" / "config.toml").read_text())["server"]["maxUploadSize"]
    biggest = max(p.stat().st_size for p in models.CHECKPOINTS.glob("*-v*/model.safetensors"))
    assert biggest > 10 * 2 ** 20 and biggest < limit * 2 ** 20            # fashion-mnist-vae's 14 MB fits
    at = run_app(model="mnist-vae", proj="pca")
    at.file_uploader(key="ckpt_files").set_value([(n, d, "application/json") for n, d in files_of("mnist-vae2d")[:1]])
    next(b for b in at.button if b.label == "Add").click()
    at.run()
    said = [e.value for e in at.sidebar.error]
    assert any("model.safetensors missing" in e and f"over {limit} MB" in e for e in said), said


def edited(ckpt: str, edit):
    files = files_of(ckpt)
    card = json.loads(files[0][1])
    edit(card)
    return [("card.json", json.dumps(card).encode()), files[1]]


@pytest.mark.parametrize("edit, words", [
    (lambda c: (c.update(latent_dim=-3), c["architecture"]["vae"]["args"].update(latent_dim=-3)),
     "latent_dim must be a whole number of at least 1, not -3"),
    (lambda c: c["architecture"]["vae"]["args"].update(channels=-3), "cannot build 'vae': .*negative dimension"),
    (lambda c: c["architecture"]["vae"]["args"].update(hidden=10 ** 7), "over the 50 million the app loads"),
    (lambda c: c.update(dataset="mnist"), "dataset must be an object with a name"),
    (lambda c: c.update(class_names=[{"x": 1}] * 10), "class_names must be strings"),
    (lambda c: c["dataset"].update(name="shapes"), "data set 'shapes', whose pictures are 3x32x32"),
])
def test_cards_that_would_break_a_page_are_refused_in_words(tmp_path, edit, words):
    with pytest.raises(cu.UploadError, match=words):
        cu.install(edited("mnist-vae2d", edit), tmp_path)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("where, error, words", [
    ("replace", OSError(28, "No space left on device"), r"could not be installed \(OSError: .*No space left"),
    ("load", MemoryError("no memory for the weights"), r"could not be installed \(MemoryError: no memory"),
    ("load", RuntimeError("something torch says"), r"could not be installed \(RuntimeError: something torch"),
])
def test_any_other_failure_is_an_upload_error_and_leaves_nothing(tmp_path, monkeypatch, where, error, words):
    def fail(*a, **k):
        raise error
    if where == "replace":
        monkeypatch.setattr(cu.os, "replace", fail)
    else:
        monkeypatch.setattr(cu.models, "load", fail)
    with pytest.raises(cu.UploadError, match=words):
        cu.install(files_of("mnist-vae2d"), tmp_path)
    assert not any(tmp_path.iterdir())


def test_two_uploads_of_one_name_at_once_install_one_and_refuse_the_other(tmp_path, monkeypatch):
    """Installs are serialised: both cannot pass the 'already uploaded' look before either renames."""
    import threading
    import time
    real, inside, most = cu.models.load, [0], [0]

    def slow_load(folder):
        inside[0] += 1
        most[0] = max(most[0], inside[0])
        time.sleep(0.3)                             # a window for the other thread (no time asserted)
        inside[0] -= 1
        return real(folder)
    monkeypatch.setattr(cu.models, "load", slow_load)
    results = []

    def one():
        try:
            results.append(cu.install(files_of("mnist-vae2d"), tmp_path))
        except cu.UploadError as e:
            results.append(e)
    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] == 1
    assert sorted(type(r).__name__ for r in results) == ["PosixPath", "UploadError"]
    assert "already uploaded" in str(next(r for r in results if isinstance(r, cu.UploadError)))
    assert [p.name for p in tmp_path.iterdir()] == ["mnist-vae2d"]
