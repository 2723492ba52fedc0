"""The shapes (issue 10) in the app: the model page's "which latent dimension follows which factor"
section for the shipped shapes-vae (numbers checked against models.disentangle, and against the
card), hidden for data without factors; the Train page trains a tiny beta-VAE on shapes in colour
and the saved run reports MIG."""
from __future__ import annotations

import base64
import dataclasses
import functools
import importlib.util
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import models
from conftest import APP, assert_clean, run_app
from models import lab
from models import shapes
from models.data import load_dataset
from models.disentangle import mig
from models.factors import TRAVERSAL, reference_factors
from models.lab import LabConfig
from playground import jobs
from playground import training_view as tv

SHAPES_VAE = "shapes-vae"
SHAPES_MODELS = ["shapes-vae", "shapes-vae-beta1"]
ROOT = Path(__file__).resolve().parent.parent


def plotly_matrix(v) -> np.ndarray:
    """A Plotly 2-D array, plain (nested lists) or typed (`{"dtype", "bdata", "shape"}`)."""
    if isinstance(v, dict) and "bdata" in v:
        a = np.frombuffer(base64.b64decode(v["bdata"]), np.dtype(v["dtype"]))
        return a.reshape([int(n) for n in str(v["shape"]).split(",")]).astype(float)
    return np.asarray(v, float)


def metrics_shown(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_the_shipped_shapes_vae_reconstructs_shapes_in_colour():
    m = models.load(SHAPES_VAE)
    images, labels = models.reference("shapes")
    assert m.image_shape == (3, 32, 32) and m.class_names == list(shapes.SHAPES)
    x = m.as_input(images[:500])
    rec = m.decode(m.encode(x))
    err = float(np.abs(rec - x).mean())
    assert err < 0.03, err                                      # per-pixel mean absolute error
    from models.shapes_eval import colour_recovered
    assert colour_recovered(images[:500], rec) >= 0.9
    card = m.card["metrics"]
    assert abs(card["colour_recovered"] - colour_recovered(images, m.decode(m.encode(m.as_input(images))))) < 1e-3


@functools.lru_cache(maxsize=None)
def remeasured(name: str) -> dict:
    """MIG and the colour kept, measured now from the weights on the shipped reference set."""
    from models.shapes_eval import colour_recovered
    m = models.load(name)
    images, _ = models.reference("shapes")
    factors, _names = reference_factors("shapes")
    x = m.as_input(images)
    return dict(mig=mig(m.encode(x), factors).score, colour_recovered=colour_recovered(images, m.decode(m.encode(x))))


@pytest.mark.parametrize("name", SHAPES_MODELS)
def test_readme_and_card_mig_and_colour_are_remeasured_from_the_weights(name):
    spec = importlib.util.spec_from_file_location("cards_table", ROOT / "scripts" / "cards_table.py")
    cards_table = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cards_table)
    printed = cards_table.readme_figures((ROOT / "README.md").read_text(encoding="utf-8"))[name]
    got, card = remeasured(name), models.load(name).card["metrics_reference"]
    for key in ("mig", "colour_recovered"):
        value, half = printed[key]
        assert abs(value - got[key]) <= half + 1e-4, (key, value, got[key])
        assert abs(card[key] - got[key]) <= 1e-3, (key, card[key], got[key])
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("### Shapes", 1)[1].split("\n## ", 1)[0]
    assert f"MIG {got['mig']:.3f}" in section.replace("**", "")


def test_beta_4_is_more_disentangled_than_beta_1():
    assert remeasured("shapes-vae")["mig"] > remeasured("shapes-vae-beta1")["mig"] + 0.05


def test_model_page_shows_which_dimension_follows_which_factor(media):
    at = run_app(model=SHAPES_VAE, proj="pca")
    at.switch_page("views/model.py").run()
    assert_clean(at, "model page, shapes-vae")
    m = models.load(SHAPES_VAE)
    images, _ = models.reference("shapes")
    factors, names = reference_factors("shapes")
    expected = mig(m.encode(m.as_input(images)), factors)
    shown = metrics_shown(at)
    assert shown["MIG"] == f"{expected.score:.3f}"
    assert abs(expected.score - m.card["metrics"]["mig"]) < 5e-4            # the card says the same
    for name, gap in zip(names, expected.gaps):
        assert shown[f"gap: {name}"] == f"{gap:.2f}"
    heat = next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if "factor-mi" in c.proto.id)
    kl = np.asarray(m.card["metrics"]["kl_per_dim_nats"])
    order = np.argsort(-kl, kind="stable")
    active = int((kl > 0.01).sum())
    rows_shown = heat["data"][0]["y"]
    assert rows_shown[:active] == [f"z{d + 1}" for d in order[:active]]       # rows sorted by KL
    assert sorted(rows_shown) == sorted(f"z{d + 1}" for d in range(m.latent_dim))
    assert heat["data"][0]["x"] == list(names)
    z = plotly_matrix(heat["data"][0]["z"])
    shown_order = [int(r[1:]) - 1 for r in rows_shown]
    np.testing.assert_allclose(z, expected.mi[shown_order] / expected.entropy, atol=1e-6)
    traversal = [img for el in at.image for img in el.proto.imgs if img.caption.startswith("traversal")]
    assert len(traversal) == 1
    pic = np.asarray(Image.open(io.BytesIO(media(traversal[0].url))))
    rows = traversal[0].caption.count(" nats, follows ")
    assert pic.ndim == 3 and pic.shape[2] == 3                                # colour
    assert pic.shape[0] == 3 * (rows * 33 + 1) and pic.shape[1] == 3 * (len(TRAVERSAL) * 33 + 1)
    assert rows == int((kl > 0.01).sum())
    kl_text = next(md.value for md in at.markdown if "The KL term pulls" in md.value)
    assert "**β-VAE on shapes** preset" in kl_text and "β-0" not in kl_text, kl_text   # not MNIST's presets


@pytest.mark.parametrize("name", ["mnist-vae", "fashion-mnist-vae"])
def test_the_factor_section_is_hidden_for_data_without_factors(name):
    at = run_app(model=name, proj="pca")
    at.switch_page("views/model.py").run()
    assert_clean(at, f"model page, {name}")
    assert "MIG" not in metrics_shown(at)
    assert not [c for c in at.get("plotly_chart") if "factor-mi" in c.proto.id]
    assert any("the β-0 and β-4 presets" in md.value for md in at.markdown)


@pytest.fixture
def tiny_shapes(monkeypatch, tmp_path):
    """Shapes runs train on 400 pictures (4 steps an epoch at batch 100) and save into a temp folder."""
    user = tmp_path / "runs"
    monkeypatch.setenv(lab.USER_DIR_ENV, str(user))
    d = load_dataset("shapes")
    data = dataclasses.replace(d, train_x=d.train_x[:400], train_y=d.train_y[:400],
                               train_factors=d.train_factors[:400], test_x=d.test_x[:300],
                               test_y=d.test_y[:300], test_factors=d.test_factors[:300])
    monkeypatch.setattr(lab, "training_data", lambda name: data)
    w = jobs.worker()
    started = []
    submit = w.submit
    monkeypatch.setattr(w, "submit", lambda fn, label="": started.append(submit(fn, label)) or started[-1])
    yield user
    for j in started:
        w.cancel(j)


def test_train_page_trains_a_beta_vae_on_shapes_and_the_saved_run_reports_mig(tiny_shapes, media):
    from test_train_page import chart, open_train, said, values, wait_until
    knobs = LabConfig.preset("beta-vae-shapes").to_dict() | dict(epochs=2, batch_size=100, latent_dim=4,
                                                                   channels=4, hidden=32)
    at = open_train(**tv.to_url(knobs))
    assert at.session_state["train_k_dataset"] == "shapes" and at.session_state["train_k_beta"] == 4.0
    at.button(key="train_start").click().run()
    at = wait_until(at, lambda a: "Finished: 8 steps, 2 epochs" in said(a))
    assert_clean(at, "finished shapes run")
    curve = chart(at, "train_mig")
    migs = values(curve["data"][0]["y"])
    assert len(migs) == 2 and all(0 <= v <= 1 for v in migs)
    samples = [img for el in at.image for img in el.proto.imgs if img.caption.startswith("16 samples")]
    pic = np.asarray(Image.open(io.BytesIO(media(samples[0].url))))
    assert pic.ndim == 3 and pic.shape[2] == 3                               # the samples in colour
    at.text_input(key="train_save_name").set_value("tiny-shapes")
    next(b for b in at.button if b.label == "Save").click()
    at.run()
    assert_clean(at, "after save")
    m = models.load(tiny_shapes / "tiny-shapes")
    assert m.image_shape == (3, 32, 32)
    assert [h["mig"] for h in m.card["training"]["history"]] == pytest.approx(migs)
    assert 0 <= m.card["metrics"]["mig"] <= 1 and "x" in m.card["metrics"]["mig_per_factor"]
