"""The Fill in missing parts page (issue 13) through AppTest: what it shows is what the API gives."""
import base64
import json

import numpy as np
import pytest

import models
from conftest import assert_clean, run_app
from playground import inpaint as ip


def open_page(model):
    at = run_app(model=model, proj="pca")
    at.switch_page("views/inpaint.py").run()
    return at


def errors_table(at):
    [df] = [d for d in at.dataframe if d.proto.id and "inpaint_errors" in d.proto.id] or at.dataframe[:1]
    return df.value


def map_traces(at):
    [chart] = [c for c in at.get("plotly_chart") if "inpaint-map" in c.proto.id]
    return {t.get("name"): t for t in json.loads(chart.proto.spec)["data"]}


def values(v):
    """A Plotly trace's array, plain or binary-encoded ({'bdata', 'dtype'})."""
    if isinstance(v, dict):
        return np.frombuffer(base64.b64decode(v["bdata"]), v["dtype"])
    return np.asarray(v)


def test_a_held_out_digit_is_completed_and_its_hidden_pixel_error_shown():
    m = models.load("mnist-vae")
    images = models.reference("mnist")[0]
    at = open_page("mnist-vae")
    assert_clean(at, "inpaint default")
    # default: reference digit #0, top half hidden, 8 completions, seed 0, best codes + MwG
    x, known = images[0].astype(np.float32) / 255, ~ip.hidden_preset("top")
    res = ip.complete(m, x, known, n=8, seed=0)
    table = errors_table(at)
    np.testing.assert_allclose(table["hidden-pixel MSE"], np.round(ip.masked_error(res.images, x, known), 4))
    np.testing.assert_allclose(table["score"], np.round(res.score, 2))
    traces = map_traces(at)
    assert len(values(traces["path"]["x"])) == res.chains.shape[1]              # the first chain, step by step
    assert len(values(traces["completions"]["x"])) == 8                          # one star per completion

    # another digit and another mask: the page follows
    at.number_input(key="inpaint_index-mnist").set_value(5).run()
    at.radio(key="inpaint_mask").set_value("Left half").run()
    assert_clean(at, "inpaint left half")
    x, known = images[5].astype(np.float32) / 255, ~ip.hidden_preset("left")
    res = ip.complete(m, x, known, n=8, seed=0)
    np.testing.assert_allclose(errors_table(at)["hidden-pixel MSE"],
                               np.round(ip.masked_error(res.images, x, known), 4))


def test_missing_image_or_mask_says_what_to_do():
    at = open_page("mnist-vae")
    at.radio(key="inpaint_mask").set_value("Paint it with the brush").run()
    assert_clean(at, "brush, nothing painted")
    assert any("Paint the part to hide" in i.value for i in at.info)
    assert not at.dataframe
    at.radio(key="inpaint_source").set_value("Draw one").run()
    assert_clean(at, "nothing drawn")
    assert any("Pick a held-out image, draw one or upload one" in i.value for i in at.info)


def test_metropolis_within_gibbs_alone_reports_its_acceptance_rate():
    m = models.load("mnist-vae")
    at = open_page("mnist-vae")
    at.radio(key="inpaint_method-vae").set_value("Metropolis-within-Gibbs").run()
    assert_clean(at, "MwG")
    x, known = models.reference("mnist")[0][0].astype(np.float32) / 255, ~ip.hidden_preset("top")
    res = ip.metropolis_within_gibbs(m, x, known, chains=8, steps=50, seed=0)
    assert any(f"acceptance: {res.accept:.0%}" in c.value for c in at.caption)
    np.testing.assert_allclose(errors_table(at)["hidden-pixel MSE"],
                               np.round(ip.masked_error(res.images, x, known), 4))


@pytest.mark.parametrize("name", ["mnist-gan"])
def test_a_gan_fills_in_by_masked_latent_optimisation(name):
    m = models.load(name)
    at = open_page(name)
    assert_clean(at, f"inpaint {name}")
    assert at.radio(key="inpaint_method-gan").options == ["Masked latent optimisation"]
    x, known = models.reference(m.dataset)[0][0].astype(np.float32) / 255, ~ip.hidden_preset("top")
    res = ip.complete(m, x, known, n=8, seed=0)
    np.testing.assert_allclose(errors_table(at)["hidden-pixel MSE"],
                               np.round(ip.masked_error(res.images, x, known), 4))
    assert "path" not in map_traces(at)                                   # no chain for a GAN


def _strokes_png(hidden_cols: int) -> str:
    """What the brush sends: white strokes on a transparent 280 x 280 pad (here: the left columns)."""
    import io
    from PIL import Image
    a = np.zeros((280, 280, 4), np.uint8)
    a[:, :hidden_cols * 10] = 255
    buf = io.BytesIO()
    Image.fromarray(a, "RGBA").save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def test_the_brush_hides_what_was_painted_over_the_image():
    """The brush pad sends strokes on transparent paper (it shows the image under them): the painted
    columns, and only they, are hidden; the map's stars are the completions, not 'your images'."""
    m = models.load("mnist-vae")
    x = models.reference("mnist")[0][0].astype(np.float32) / 255
    at = open_page("mnist-vae")
    at.session_state["inpaint_brush"] = {"png": _strokes_png(9)}
    at.radio(key="inpaint_mask").set_value("Paint it with the brush").run()
    assert_clean(at, "brush over the left nine columns")
    known = np.ones((28, 28), bool)
    known[:, :9] = False
    res = ip.complete(m, x, known, n=8, seed=0)
    np.testing.assert_allclose(errors_table(at)["hidden-pixel MSE"],
                               np.round(ip.masked_error(res.images, x, known), 4))
    names = set(map_traces(at))
    assert "completions" in names and "your images" not in names, names
    assert any("Paint over the part to hide" in c.value for c in at.caption)
