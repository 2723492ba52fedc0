"""The Quality against diversity page through AppTest: its figures are the measured ones (the card's
at temperature 1), the grid follows the choices, and without a classifier it says so and shows none."""
import json
import shutil

import numpy as np
import pytest

import models
from models.metrics import judge, sample_quality, split_halves

from conftest import assert_clean, run_app

PAGE = "views/quality.py"
SLOW = 900          # seconds an AppTest run may take: ten settings of 1,000 samples on a busy machine


def chart(at):
    charts = [c for c in at.get("plotly_chart") if "quality-tradeoff" in c.proto.id]
    return json.loads(charts[0].proto.spec) if charts else None


def traces(spec, name, axis):
    """The trace called `name` in the temperature (axis "x") or truncation column."""
    cols = {"temperature": {"x", "x3", "x5", "x7"}, "truncation": {"x2", "x4", "x6", "x8"}}[axis]
    return [t for t in spec["data"] if t["name"] == name and t.get("xaxis", "x") in cols]


def page_text(at) -> str:
    return " ".join(e.value for e in (*at.markdown, *at.caption, *at.info, *at.warning))


@pytest.fixture(scope="module")
def gan_page():
    at = run_app(model="mnist-gan", proj="pca")
    at.switch_page(PAGE).run(timeout=SLOW)
    return at


def test_page_plots_the_measured_figures_against_temperature_and_truncation(gan_page):
    at = gan_page
    assert_clean(at, "quality page")
    spec = chart(at)
    assert spec is not None, "no trade-off chart"
    m = models.load("mnist-gan")
    card = m.card["metrics_reference"]
    [p_t], [r_t] = traces(spec, "precision (quality)", "temperature"), traces(spec, "recall (variety)", "temperature")
    assert p_t["x"] == [0.25, 0.5, 0.75, 1.0, 1.25, 1.5]
    one = p_t["x"].index(1.0)
    assert (p_t["y"][one], r_t["y"][one]) == (card["precision"], card["recall"])   # the card's figures
    [p_tr] = traces(spec, "precision (quality)", "truncation")
    assert p_tr["x"] == [0.5, 1.0, 1.5, 2.0]
    # FD, IS and coverage beside them: the figures measured now for a truncation the card lacks
    clf = models.load("mnist-classifier")
    images, _ = models.reference("mnist")
    real = judge(clf, split_halves(images[:, None].astype(np.float32) / 255)[1])[0]
    want = sample_quality(m, clf, real, len(real), seed=0, truncation=1.0)
    for name, key in (("FD", "frechet_distance"), ("IS", "inception_score"),
                      ("class coverage", "class_coverage"), ("precision (quality)", "precision")):
        [tr] = traces(spec, name, "truncation")
        assert tr["y"][tr["x"].index(1.0)] == pytest.approx(want[key], abs=1e-9), name
    # the real ceiling drawn dashed in the precision/recall panels is the card's real figure
    dashed = {round(s["y0"], 4) for s in spec["layout"]["shapes"] if s["line"].get("dash") == "dash"}
    assert {card["precision_real_test"], card["recall_real_test"]} <= dashed
    text = page_text(at)
    assert "sharper samples cost variety" in text and "mode collapse" in text and "low recall" in text
    table = at.dataframe[0].value
    assert list(table["setting"])[-1] == "real images (ceiling)" and len(table) == 6 + 4 + 1
    assert not at.get("progress"), "the progress bar is left on the page"


def test_the_grid_follows_the_choices(gan_page):
    at = gan_page
    at.multiselect(key="quality_temps").set_value([1.0, 0.5]).run(timeout=SLOW)
    at.multiselect(key="quality_truncs").set_value([1.0]).run(timeout=SLOW)
    assert_clean(at, "smaller grid")
    spec = chart(at)
    assert traces(spec, "recall (variety)", "temperature")[0]["x"] == [0.5, 1.0]
    assert traces(spec, "recall (variety)", "truncation")[0]["x"] == [1.0]
    at.multiselect(key="quality_temps").set_value([]).run(timeout=SLOW)
    at.multiselect(key="quality_truncs").set_value([]).run(timeout=SLOW)
    assert chart(at) is None and any("Pick at least one" in i.value for i in at.info)


@pytest.mark.parametrize("damage", ["missing", "truncated"])
def test_without_a_classifier_the_page_says_so_and_shows_no_metrics(tmp_path, monkeypatch, damage,
                                                                    fresh_streamlit_caches):
    root = tmp_path / "ckpts"
    for name in ("mnist-vae", "mnist-classifier", "reference"):
        shutil.copytree(models.CHECKPOINTS / name, root / name)
    w = root / "mnist-classifier" / "model.safetensors"
    if damage == "missing":
        shutil.rmtree(root / "mnist-classifier")
    else:
        w.write_bytes(w.read_bytes()[:1000])
    monkeypatch.setattr(models, "CHECKPOINTS", root)
    at = run_app(model="mnist-vae", proj="pca")
    at.switch_page(PAGE).run(timeout=SLOW)
    assert not at.exception and not at.error, [e.value for e in (*at.exception, *at.error)]
    assert chart(at) is None and not at.dataframe
    warning = " ".join(w.value for w in at.warning)
    assert "mnist-classifier" in warning and "none is shown" in warning, warning
    assert ("no such checkpoint" if damage == "missing" else "truncated") in warning, warning


@pytest.mark.parametrize("images", [0, 6])
def test_without_enough_real_images_the_page_says_so(tmp_path, monkeypatch, images, fresh_streamlit_caches):
    """No reference set for the data set, or one too small for two k = 3 manifolds: a warning, no chart."""
    root = tmp_path / "ckpts"
    for name in ("mnist-vae", "mnist-classifier"):
        shutil.copytree(models.CHECKPOINTS / name, root / name)
    if images:
        (root / "reference").mkdir()
        x, y = models.reference("mnist")
        np.savez(root / "reference" / "mnist.npz", images=x[:images], labels=y[:images])
    monkeypatch.setattr(models, "CHECKPOINTS", root)
    at = run_app(model="mnist-vae", proj="pca")
    at.switch_page(PAGE).run(timeout=SLOW)
    assert not at.exception, [e.value for e in at.exception]
    assert chart(at) is None and not at.get("progress")
    warning = " ".join(w.value for w in at.warning)
    assert ("no reference set" if not images else "too small") in warning, warning
