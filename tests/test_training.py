"""A tiny end-to-end training run on a folder of images writes a loadable checkpoint."""
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import models
from models import data as data_mod
from models.data import DataError, load_folder
from models.train import main, shift_augment


@pytest.fixture
def image_folder(tmp_path):
    """Two classes of dark-on-light shapes, as a person would photograph them."""
    root = tmp_path / "photos"      # not "shapes": that name is the shapes family (3x32x32)
    rng = np.random.default_rng(0)
    for cls in ("bar", "box"):
        (root / cls).mkdir(parents=True)
        for i in range(12):
            a = np.full((40, 40), 235, np.uint8)
            o = rng.integers(4, 10)
            if cls == "bar":
                a[5:35, 17 + o - 7:23 + o - 7] = 20
            else:
                a[o:o + 20, o:o + 20] = 20
            Image.fromarray(a).save(root / cls / f"{i}.png")
    (root / "bar" / "notes.txt").write_text("not an image")
    (root / "box" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    return root


def test_folder_loader_inverts_polarity_and_skips_unreadable(image_folder):
    ds = load_folder(image_folder)
    assert ds.class_names == ["bar", "box"]
    assert len(ds.train_x) + len(ds.test_x) == 24 and ds.info["skipped"] == 1
    assert ds.train_x.mean() < 100                       # light-on-dark after inversion


def test_empty_folder_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "a.png").write_text("nope")
    with pytest.raises(DataError, match="no readable images"):
        load_folder(tmp_path / "empty")


def test_missing_data_sets_say_how_to_get_them(tmp_path, monkeypatch):
    monkeypatch.setattr(data_mod, "FASHION_DIR", tmp_path / "nowhere")
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        data_mod.load_dataset("fashion-mnist")
    monkeypatch.setattr(data_mod, "DATA_DIR", tmp_path / "nowhere")
    monkeypatch.setattr(data_mod, "REPO", tmp_path / "nowhere")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError, match="get_data.sh"):
        data_mod.load_dataset("mnist")
    assert main(["vae", "--dataset", "mnist", "--out", str(tmp_path), "--quiet"]) == 2


@pytest.mark.parametrize("kind", ["classifier", "vae", "gan"])
def test_tiny_training_run_writes_a_loadable_checkpoint(image_folder, tmp_path, kind):
    out = tmp_path / "ckpts"
    args = [kind, "--dataset", str(image_folder), "--out", str(out), "--epochs", "2",
            "--max-steps", "3", "--batch-size", "8", "--quiet", "--latent-dim", "4", "--seed", "1"]
    assert main(args) == 0
    name = f"photos-{kind}"
    m = models.load(name, out)
    card = json.loads((out / name / "card.json").read_text())
    assert card["training"]["steps"] == 3 and card["training"]["history"]
    assert card["class_names"] == ["bar", "box"]
    if kind == "classifier":
        assert m.predict_proba(np.zeros((3, 1, 28, 28), np.float32)).shape == (3, 2)
        assert 0 <= card["metrics"]["test_accuracy"] <= 1
    else:
        assert m.decode(m.sample(2, seed=0)).shape == (2, 1, 28, 28)
    if kind == "vae":
        assert "test_neg_elbo_nats" in card["metrics"]
    # a second run refuses to overwrite, unless forced
    before = (out / name / "model.safetensors").read_bytes()
    assert main(args) == 2
    assert (out / name / "model.safetensors").read_bytes() == before
    assert main(args + ["--force", "--seed", "2"]) == 0
    assert (out / name / "model.safetensors").read_bytes() != before
    assert not [p for p in out.iterdir() if p.name.startswith(".")]   # no temp folders left


def test_shift_augment_moves_content_without_changing_it():
    import torch
    x = torch.zeros(50, 1, 28, 28)
    x[:, :, 12:16, 12:16] = 1.0
    y = shift_augment(x, 2, torch.Generator().manual_seed(0))
    assert torch.allclose(y.sum((1, 2, 3)), x.sum((1, 2, 3)))       # nothing cropped
    assert (y != x).any(dim=(1, 2, 3)).float().mean() > 0.5          # most images moved


def test_evaluate_recomputes_the_card_metrics(image_folder, tmp_path, capsys):
    from models.evaluate import main as evaluate
    out = tmp_path / "ckpts"
    common = ["--dataset", str(image_folder), "--out", str(out), "--epochs", "1", "--max-steps", "2",
              "--batch-size", "8", "--quiet"]
    assert main(["classifier", *common]) == 0
    assert main(["vae", *common, "--latent-dim", "3"]) == 0
    card = json.loads((out / "photos-vae" / "card.json").read_text())
    capsys.readouterr()
    assert evaluate(["photos-vae", "--root", str(out)]) == 0
    printed = capsys.readouterr().out
    row = next(l for l in printed.splitlines() if "recon_class_accuracy" in l).split()
    assert float(row[1]) == float(row[2]) == card["metrics"]["recon_class_accuracy"]
    # --write stores what it measured; a tampered card value is corrected
    card["metrics"]["test_recon_mse"] = 123.0
    (out / "photos-vae" / "card.json").write_text(json.dumps(card))
    assert evaluate(["photos-vae", "--root", str(out), "--write"]) == 0
    assert json.loads((out / "photos-vae" / "card.json").read_text())["metrics"]["test_recon_mse"] < 1
    assert evaluate(["no-such-model", "--root", str(out)]) == 2


def _common(image_folder, out, *extra):
    return ["--dataset", str(image_folder), "--out", str(out), "--epochs", "2", "--batch-size", "8",
            "--quiet", "--latent-dim", "3", *extra]


def test_one_history_row_per_epoch_and_reference_figures_recorded(image_folder, tmp_path, capsys):
    """The single epoch loop: every kind writes one history row per epoch; with a reference set
    for the data set, the card also gets `metrics_reference`, which evaluate --reference re-measures."""
    from models.evaluate import main as evaluate
    out = tmp_path / "ckpts"
    assert main(["reference", "--dataset", str(image_folder), "--out", str(out)]) == 0
    assert main(["classifier", *_common(image_folder, out)]) == 0
    assert main(["vae", *_common(image_folder, out)]) == 0
    for name, keys in (("photos-classifier", {"train_accuracy", "test_accuracy"}),
                       ("photos-vae", {"train_loss", "test_neg_elbo", "test_kl"})):
        card = json.loads((out / name / "card.json").read_text())
        assert [r["epoch"] for r in card["training"]["history"]] == [1, 2]
        assert all(keys <= set(r) for r in card["training"]["history"])
    card = json.loads((out / "photos-vae" / "card.json").read_text())
    assert card["classifier"] == "photos-classifier" == models.classifier_name(card)
    ref = card["metrics_reference"]
    assert "reference" in ref["measured_on"] and 0 <= ref["recon_class_accuracy"] <= 1
    capsys.readouterr()
    assert evaluate(["--reference", "photos-vae", "--root", str(out)]) == 0
    row = next(l for l in capsys.readouterr().out.splitlines() if "test_neg_elbo_nats" in l).split()
    assert float(row[1]) == float(row[2]) == ref["test_neg_elbo_nats"]


def test_no_classifier_is_a_visible_note_in_the_card(image_folder, tmp_path, capsys):
    out = tmp_path / "ckpts"
    assert main(["vae", *_common(image_folder, out, "--max-steps", "2")]) == 0
    assert "no checkpoint 'photos-classifier'" in capsys.readouterr().err
    card = json.loads((out / "photos-vae" / "card.json").read_text())
    assert "photos-classifier" in card["metrics"]["not_measured"] and card["classifier"] is None
    assert "recon_class_accuracy" not in card["metrics"]


def test_a_broken_or_missing_classifier_stops_training_before_it_starts(image_folder, tmp_path, capsys):
    out = tmp_path / "ckpts"
    assert main(["classifier", *_common(image_folder, out, "--max-steps", "1")]) == 0
    weights = out / "photos-classifier" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-10])                     # truncated: broken
    capsys.readouterr()
    assert main(["vae", *_common(image_folder, out)]) == 2
    assert "classifier for metrics is unusable" in capsys.readouterr().err
    assert not (out / "photos-vae").exists()
    assert main(["vae", *_common(image_folder, out, "--classifier", "nope")]) == 2
    assert "--classifier nope" in capsys.readouterr().err


def test_evaluate_does_not_import_training():
    import subprocess
    import sys
    code = ("import sys, models.evaluate; "
            "print(sorted(m for m in sys.modules if m in ('models.train', 'models.measure')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(Path(__file__).resolve().parent.parent)).stdout
    assert out.strip() == "['models.measure']"
