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
    from playground import session
    session.listings.clear()
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
    import shutil
    shutil.rmtree(cu.uploads_dir())                 # the test's user folder is shared by the session
    session.listings.clear()
