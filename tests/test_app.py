"""The app as a user drives it, through Streamlit's AppTest (no browser)."""
import base64
import json
import shutil

import numpy as np

import pytest

import models
from playground.latent_map import methods_for

from conftest import GENERATIVE, assert_clean, run_app

PAGES = ["views/map.py", "views/drag.py", "views/interpolate.py", "views/upload.py", "views/sample.py", "views/model.py"]


def n_values(v) -> int:
    """Length of a Plotly array, plain or typed (`{"dtype": ..., "bdata": base64}` in Plotly 7)."""
    if isinstance(v, dict) and "bdata" in v:
        return len(base64.b64decode(v["bdata"])) // np.dtype(v["dtype"]).itemsize
    return len(v)


CASES = [(name, method) for name in GENERATIVE
         for method in methods_for(models.load(name).latent_dim)]


@pytest.mark.parametrize("name, method", CASES)
def test_every_page_renders_for_every_model_and_projection(name, method):
    at = run_app(model=name, proj=method)
    assert at.session_state.model == name and at.session_state.proj == method
    for page in PAGES:
        at.switch_page(page).run()
        assert_clean(at, f"{name}/{method}/{page}")
    assert at.query_params["model"] == [name] or at.query_params["model"] == name


def test_map_page_shows_chart_legend_and_atlas():
    at = run_app(model="mnist-vae", proj="pca")
    assert_clean(at, "map")
    charts = at.get("plotly_chart")
    assert charts, "no Plotly chart on the map page"
    fig = json.loads(charts[0].proto.spec)
    shown = [t.get("name") for t in fig["data"] if t.get("showlegend", True)]
    assert [str(d) for d in range(10)] == shown[:10]                 # one legend entry per class
    classes = [t for t in fig["data"] if t.get("name") in shown[:10]]  # held out, training: hollow
    assert sum(n_values(t["x"]) for t in classes) == 10_000             # every digit that ships
    assert fig["data"][0]["type"] == "scattergl"
    captions = [c for el in at.image for c in el.captions]
    assert any("2-D manifold" in c and "exactly" in c for c in captions), captions


def test_switching_model_and_projection():
    at = run_app()
    assert_clean(at, "default")
    at.sidebar.selectbox(key="model").set_value("fashion-mnist-gan").run()
    assert_clean(at, "switched to GAN")
    assert at.session_state.model == "fashion-mnist-gan"
    assert at.query_params["model"] in ("fashion-mnist-gan", ["fashion-mnist-gan"])
    at.sidebar.radio(key="proj").set_value("tsne").run()
    assert_clean(at, "switched to t-SNE")
    assert at.query_params["proj"] in ("tsne", ["tsne"])
    at.sidebar.selectbox(key="model").set_value("mnist-vae2d").run()
    assert_clean(at, "switched to 2-D VAE")
    assert at.sidebar.radio(key="proj").options[0].startswith("Latent plane")


def test_each_model_opens_on_its_own_default_projection():
    """A 2-D model opens on its latent plane (it needs no projection), any other on t-SNE; picking
    another model in the sidebar goes to that model's default, while a link keeps its projection."""
    at = run_app()
    assert at.session_state.model == "mnist-vae" and at.session_state.proj == "tsne"
    at.sidebar.radio(key="proj").set_value("pca").run()
    for name, proj in [("mnist-vae2d", "latent"), ("fashion-mnist-vae2d", "latent"), ("mnist-vae", "tsne"),
                       ("fashion-mnist-gan", "tsne")]:
        at.sidebar.selectbox(key="model").set_value(name).run()
        assert_clean(at, f"switched to {name}")
        assert at.session_state.proj == proj, name
        assert at.query_params["proj"] in (proj, [proj])
    at = run_app(model="mnist-vae2d")
    assert at.session_state.proj == "latent"
    at = run_app(model="mnist-vae2d", proj="pca")               # a link's explicit projection stays
    assert at.session_state.proj == "pca"


def test_query_params_restore_model_projection_and_selection():
    at = run_app(model="mnist-vae", proj="tsne", sel="3,17,42")
    assert_clean(at, "restored")
    assert at.session_state.model == "mnist-vae" and at.session_state.proj == "tsne"
    assert at.session_state.sel == [3, 17, 42]
    assert any("3 selected" in s.value for s in at.subheader)
    # the interpolation page starts from the first two selected points
    at.switch_page("views/interpolate.py").run()
    assert_clean(at, "interpolate")
    assert at.number_input(key="ia-mnist-vae").value == 3
    assert at.number_input(key="ib-mnist-vae").value == 17


def test_unknown_model_in_link_falls_back_with_a_warning():
    at = run_app(model="no-such-model", sel="x,1")
    assert not at.exception
    assert at.session_state.model in GENERATIVE
    assert any("no-such-model" in w.value for w in at.sidebar.warning)
    assert at.session_state.sel == [1]


def test_a_links_model_name_is_shown_literally_and_cut_short():
    """The sidebar warning is Markdown: the link's text must not render (or fill the sidebar)."""
    at = run_app(model="**bold**`<b>x</b>\n\n# " + "y" * 5000)
    assert not at.exception
    warning = " ".join(w.value for w in at.sidebar.warning)
    assert "model `**bold**?<b>x</b>??# " + "y" * 19 + "…`, which is not available" in warning
    assert len(warning) < 200


def test_interpolation_controls():
    at = run_app(model="mnist-gan", proj="pca")
    at.switch_page("views/interpolate.py").run()
    at.radio(key="interp_source").set_value("Random codes from the prior").run()
    at.slider(key="interp_frames").set_value(64).run()
    at.radio(key="interp_method").set_value("linear").run()
    assert_clean(at, "64 linear frames")
    assert "64 frames" in at.image[0].captions[0]


def test_a_broken_checkpoint_is_reported_and_the_rest_work(tmp_path, monkeypatch, fresh_streamlit_caches):
    root = tmp_path / "ckpts"
    for name in ("mnist-vae", "mnist-classifier"):
        shutil.copytree(models.CHECKPOINTS / name, root / name)
    shutil.copytree(models.CHECKPOINTS / "reference", root / "reference")
    shutil.copytree(models.CHECKPOINTS / "mnist-gan", root / "mnist-gan")
    w = root / "mnist-gan" / "model.safetensors"
    w.write_bytes(w.read_bytes()[:1000])
    monkeypatch.setattr(models, "CHECKPOINTS", root)
    at = run_app(model="mnist-gan")
    assert not at.exception
    assert at.session_state.model == "mnist-vae"
    # the broken one is listed with its reason in the sidebar
    captions = " ".join(c.value for c in at.sidebar.caption)
    assert "mnist-gan" in captions and "truncated" in captions


def test_a_tampered_selected_checkpoint_shows_why_and_the_app_stays_up(tmp_path, monkeypatch, fresh_streamlit_caches):
    root = tmp_path / "ckpts"
    for name in ("mnist-vae", "mnist-classifier", "reference"):
        shutil.copytree(models.CHECKPOINTS / name, root / name)
    w = root / "mnist-vae" / "model.safetensors"
    data = bytearray(w.read_bytes())
    data[-1] ^= 0xFF                                   # same size, different bytes: only sha256 tells
    w.write_bytes(bytes(data))
    monkeypatch.setattr(models, "CHECKPOINTS", root)
    at = run_app(model="mnist-vae")
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert "sha256" in errors and "mnist-vae" in errors
