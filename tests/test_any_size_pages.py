"""Fill in missing parts and Spot anomalies for models that are not 28x28 grey (issue 10): the
shipped 32x32 RGB shapes VAE (project format: every method, every score) and adapter files written
by the tests (an RGB 32x32 VAE: what encode/decode allow, the rest named; a 16x24 GAN: a note).
Outcomes are checked against playground.inpaint / playground.anomaly computed here, and in the
pixels the page shows."""
import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

import byo_models
import models
from conftest import assert_clean, run_app
from models import sources
from playground import anomaly
from playground import inpaint as ip
from playground.imaging import to_uint8

SHAPES = "shapes-vae"
ADAPTERS = {"rgb-vae": (3, 32, 32), "gan": (1, 16, 24), "grey-vae-8": (1, 8, 8), "rgb-vae-16x24": (3, 16, 24),
            "rgb-vae-128": (3, 128, 128)}


@pytest.fixture(scope="module")
def byo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("byo-any-size")
    files = [byo_models.write(folder, kind) for kind in ADAPTERS]
    mp = pytest.MonkeyPatch()
    mp.setenv(sources.ENV_MODELS, ":".join(map(str, files)))
    from playground import session
    session.listings.clear()
    yield {kind: models.load(str(f)) for kind, f in zip(ADAPTERS, files)}
    mp.undo()
    session.listings.clear()


def open_page(model, page):
    at = run_app(model=model, proj="pca")
    at.switch_page(page).run()
    assert_clean(at, f"{page} for {model}")
    assert at.session_state.model == model
    return at


def text(at) -> str:
    return " ".join(str(e.value) for kind in ("markdown", "caption", "info", "warning", "subheader")
                    for e in getattr(at, kind))


def captioned(at, media, start: str) -> list[np.ndarray]:
    return [np.asarray(Image.open(io.BytesIO(media(img.url))))
            for el in at.image for img in el.proto.imgs if img.caption.startswith(start)]


def tiles(grid: np.ndarray, n: int, cols: int, h: int, w: int, factor: int) -> list[np.ndarray]:
    """The n images of `upscale(tile(x, cols), factor)` (1-pixel gaps), at their own size."""
    small = grid[::factor, ::factor]
    out = []
    for i in range(n):
        r, c = divmod(i, cols)
        y0, x0 = 1 + r * (h + 1), 1 + c * (w + 1)
        out.append(small[y0:y0 + h, x0:x0 + w])
    return out


def the_result(at):
    store = at.session_state["_inpaint_results"]
    assert len(store) >= 1
    return list(store.values())[-1]


def errors_table(at):
    [df] = [d for d in at.dataframe if d.proto.id and "inpaint_errors" in d.proto.id] or at.dataframe[:1]
    return df.value


def brush_pad(at) -> dict:
    """The data the page sends the brush pad (a custom component: AppTest sees its proto)."""
    found = []

    def walk(node):
        for child in getattr(node, "children", {}).values():
            if getattr(getattr(child, "proto", None), "component_name", "") == "latent_playground_drawpad":
                found.append(json.loads(child.proto.json))
            walk(child)
    walk(at._tree)
    [data] = found
    return data


# ---- masks at the model's own size (pure) ------------------------------------------------------------
def test_presets_and_the_brush_pad_follow_the_models_height_and_width():
    size = (16, 24)
    top, left = ip.hidden_preset("top", size=size), ip.hidden_preset("left", size=size)
    assert top.shape == left.shape == size
    assert top[:8].all() and not top[8:].any() and left[:, :12].all() and not left[:, 12:].any()
    centre = ip.hidden_preset("centre", size=size)
    rows, cols = np.flatnonzero(centre.any(1)), np.flatnonzero(centre.any(0))
    assert centre.sum() == 64 and (rows[0], rows[-1], cols[0], cols[-1]) == (4, 11, 8, 15)   # 8x8, centred
    rnd = ip.hidden_preset("random", seed=3, size=size)
    assert rnd.sum() == 16 * 24 // 2
    np.testing.assert_array_equal(rnd, ip.hidden_preset("random", seed=3, size=size))
    # the pad keeps the aspect: 24 wide and 16 high -> 264 x 176 screen pixels, 11 to a cell
    assert ip.pad_size(size) == (176, 264) and ip.pad_size((28, 28)) == (280, 280)
    assert ip.pad_size((128, 128)) == (256, 256)
    paint = np.zeros(ip.pad_size(size), np.float32)
    paint[:, :33] = 1.0                                      # three columns of cells
    hidden = ip.hidden_from_strokes(paint, size=size)
    assert hidden.shape == size and hidden[:, :3].all() and not hidden[:, 3:].any()
    with pytest.raises(ValueError, match=r"multiples of 16 \(height\) and 24 \(width\)"):
        ip.hidden_from_strokes(np.zeros((280, 280)), size=size)


def test_a_colour_completion_keeps_the_known_pixels_in_every_channel():
    m = models.load(SHAPES)
    x = m.as_input(models.reference("shapes")[0][:1])[0]            # (3, 32, 32)
    known = ~ip.hidden_preset("centre", size=(32, 32))
    res = ip.pseudo_gibbs(m, x, known, chains=3, steps=3)
    assert res.images.shape == (3, 3, 32, 32)
    np.testing.assert_array_equal(res.images[..., known], np.broadcast_to(x[..., known], (3, 3, known.sum())))
    err = ip.masked_error(res.images, x, known)
    manual = ((res.images - x) ** 2).mean(1)[:, ~known].mean(1)      # per pixel over the channels
    np.testing.assert_allclose(err, manual, rtol=1e-6)
    with pytest.raises(ValueError, match=r"image must have shape \(3, 32, 32\)"):
        ip.pseudo_gibbs(m, x[0], known)


# ---- Fill in: the shapes VAE, every method --------------------------------------------------------------
def test_fill_in_for_the_shapes_vae_is_in_colour_at_32x32(media):
    m = models.load(SHAPES)
    images = models.reference("shapes")[0]
    at = open_page(SHAPES, "views/inpaint.py")
    assert at.radio(key="inpaint_method-vae").options == ["Best codes + Metropolis-within-Gibbs",
                                                          "Metropolis-within-Gibbs", "Pseudo-Gibbs"]
    # default: reference image #0, top half hidden, 8 completions, best codes + MwG
    x, known = images[0].astype(np.float32) / 255, ~ip.hidden_preset("top", size=(32, 32))
    res = the_result(at)
    assert res.images.shape == (8, 3, 32, 32)
    np.testing.assert_array_equal(res.images[..., known], np.broadcast_to(x[..., known], (8, 3, known.sum())))
    np.testing.assert_allclose(errors_table(at)["hidden-pixel MSE"],
                               np.round(ip.masked_error(res.images, x, known), 4))
    # what the page shows: the masked view in colour (hidden pixels flat grey), and the completions
    [seen] = captioned(at, media, "What the model sees")
    masked, truth = tiles(seen, 2, 2, 32, 32, 5)
    assert masked.shape == (32, 32, 3)
    np.testing.assert_array_equal(masked[known], images[0].transpose(1, 2, 0)[known])
    assert (masked[~known] == round(0.35 * 255)).all()
    np.testing.assert_array_equal(truth, images[0].transpose(1, 2, 0))
    assert np.abs(truth.astype(int)[..., 0] - truth[..., 1]).max() > 50          # a colour picture
    [grid] = captioned(at, media, "8 completions")
    shown = tiles(grid, 8, 4, 32, 32, 4)
    np.testing.assert_array_equal(np.stack(shown), to_uint8(res.images))

    # the brush: a 256x256 pad (8 screen pixels a cell) with the left 8 columns painted
    strokes = np.zeros((256, 256, 4), np.uint8)
    strokes[:, :64] = 255
    buf = io.BytesIO()
    Image.fromarray(strokes, "RGBA").save(buf, "PNG")
    at.session_state["inpaint_brush-32x32"] = {"png": "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()}
    at.radio(key="inpaint_mask").set_value("Paint it with the brush").run()
    assert_clean(at, "brush")
    pad = brush_pad(at)
    assert pad["canvas"] == [256, 256]                              # 8 screen pixels a cell
    under = np.asarray(Image.open(io.BytesIO(base64.b64decode(pad["background"].split(",", 1)[1]))))
    np.testing.assert_array_equal(under, images[0].transpose(1, 2, 0))       # the image, in colour
    at.radio(key="inpaint_method-vae").set_value("Pseudo-Gibbs").run()
    assert_clean(at, "brush, pseudo-Gibbs")
    known = np.ones((32, 32), bool)
    known[:, :8] = False
    res = ip.pseudo_gibbs(m, x, known, chains=8, steps=50, seed=0)
    np.testing.assert_allclose(errors_table(at)["hidden-pixel MSE"],
                               np.round(ip.masked_error(res.images, x, known), 4))
    assert "Pseudo-Gibbs accepts every proposal" in text(at)


# ---- Fill in: adapters --------------------------------------------------------------------------------
def test_fill_in_for_an_rgb_adapter_uses_encode_decode_and_says_what_it_cannot(byo, media):
    a = byo["rgb-vae"]
    at = open_page("rgb-vae", "views/inpaint.py")
    assert at.radio(key="inpaint_method-vae-adapter").options == ["Iterative encode-decode"]
    words = text(at)
    assert "no gradients" in words and "Metropolis-within-Gibbs" in words and "cannot run" in words
    images = models.reference(a.dataset)[0]
    # not among the first 8: the reference is decoded prior draws of seed 0, as are the chains' starts
    at.number_input(key=f"inpaint_index-{a.dataset}").set_value(500).run()
    assert_clean(at, "image #500")
    x, known = images[500].astype(np.float32) / 255, ~ip.hidden_preset("top", size=(32, 32))
    res = the_result(at)
    assert res.images.shape == (8, 3, 32, 32)
    np.testing.assert_array_equal(res.images[..., known], np.broadcast_to(x[..., known], (8, 3, known.sum())))
    err = ip.masked_error(res.images, x, known)
    np.testing.assert_allclose(errors_table(at)["hidden-pixel MSE"], np.round(err, 4))
    # its reference images are its own decodings, so the known half pins the code: the hidden half
    # comes back far better than the image's own mean colour would
    baseline = ((x - x[..., known].mean()) ** 2)[..., ~known].mean()
    assert err[0] < 0.05 * baseline, (err[0], baseline)
    [grid] = captioned(at, media, "8 completions")
    np.testing.assert_array_equal(np.stack(tiles(grid, 8, 4, 32, 32, 4)), to_uint8(res.images))


def test_fill_in_for_an_adapter_gan_says_why_not(byo):
    at = open_page("gan", "views/inpaint.py")
    assert "gradients through the generator" in text(at)
    assert not at.dataframe and "_inpaint_results" not in at.session_state


# ---- Spot anomalies -------------------------------------------------------------------------------------
def ranked(at, media, h, w, grow) -> list[np.ndarray]:
    caps = {int(img.caption.split(" · ")[0][1:]): np.asarray(Image.open(io.BytesIO(media(img.url))))
            for el in at.image for img in el.proto.imgs if img.caption.startswith("#")}
    return [caps[r][::grow, ::grow][1:h + 1, 1:w + 1] for r in sorted(caps)]


@pytest.fixture(scope="module")
def shapes_scores():
    m = models.load(SHAPES)
    images = models.reference("shapes")[0]
    return images, anomaly.score_table(m, m.as_input(images))


def test_spot_anomalies_for_the_shapes_vae_ranks_in_colour_and_hides_the_builtin_test(media, shapes_scores):
    images, table = shapes_scores
    assert set(table) == set(anomaly.SCORES)
    at = open_page(SHAPES, "views/anomaly.py")
    for score in ("recon", "elbo"):
        if score != "recon":
            at.radio(key="anomaly_score").set_value(score).run()
            assert_clean(at, score)
        shown = ranked(at, media, 32, 32, 3)
        top = anomaly.most_unusual(table[score], 16)
        assert len(shown) == 16
        np.testing.assert_array_equal(np.stack(shown), images[top].transpose(0, 2, 3, 1))
    assert not [t for t in at.toggle if t.key == "anomaly_run_test"]
    assert "not part of it" in text(at)


@pytest.mark.parametrize("name", ["rgb-vae", "grey-vae-8", "rgb-vae-16x24", "rgb-vae-128"])
def test_spot_anomalies_for_an_adapter_vae_ranks_by_reconstruction_in_its_size_and_colour(byo, media, name):
    """The 16 most unusual reference images, by reconstruction error, each shown at the model's own
    size (8x8 grey, 16x24, 32x32 and 128x128 in colour), enlarged to about 84 pixels."""
    a, (c, h, w) = byo[name], ADAPTERS[name]
    images = models.reference(a.dataset)[0]
    errors = anomaly.reconstruction_error(a, a.as_input(images))
    at = open_page(name, "views/anomaly.py")
    assert at.radio(key="anomaly_score-adapter").options == [anomaly.LABELS["recon"]]
    assert "its only score is the reconstruction error" in text(at)
    shown = ranked(at, media, h, w, max(1, round(84 / max(h, w))))
    top = anomaly.most_unusual(errors, 16)
    np.testing.assert_array_equal(np.stack(shown), images[top].transpose(0, 2, 3, 1) if c == 3 else images[top])
    assert shown[0].shape == ((h, w, 3) if c == 3 else (h, w))
    with pytest.raises(TypeError, match="encoder's variance"):
        anomaly.neg_elbo(a, a.as_input(images[:2]))


def test_spot_anomalies_for_an_adapter_gan_says_why_not(byo):
    at = open_page("gan", "views/anomaly.py")
    assert "needs gradients through the generator" in text(at)
    assert not at.image


# ---- the scores for any shape (pure) ---------------------------------------------------------------------
def test_scores_count_every_channel_and_png_is_rgb_for_colour():
    grey = np.full((1, 3, 32, 32), 0.5, np.float32)
    np.testing.assert_allclose(anomaly.entropy_floor(grey), 3 * 32 * 32 * np.log(2))
    rng = np.random.default_rng(0)
    x = np.zeros((1, 3, 16, 24), np.float32)
    x[0, 0] = rng.random((16, 24)).round(1)                          # red noise, green and blue flat
    buf = io.BytesIO()
    Image.fromarray(np.rint(x[0] * 255).astype(np.uint8).transpose(1, 2, 0), "RGB").save(buf, "PNG")
    assert anomaly.png_bits(x)[0] == 8 * len(buf.getvalue())
    m = models.load(SHAPES)
    xs = m.as_input(models.reference("shapes")[0][:4])
    np.testing.assert_allclose(anomaly.scores(m, xs, "excess"),
                               anomaly.neg_elbo(m, xs) - anomaly.entropy_floor(xs))


# ---- the brush pad in a browser: sized to the model's image ----------------------------------------------
PAD_STATE = """(sel) => {
    const find = (root) => root.querySelector(sel) || [...root.querySelectorAll('*')].map(e => e.shadowRoot)
        .filter(Boolean).map(find).find(Boolean);
    const c = find(document);
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let left = 0, right = 0;
    for (let y = 0; y < c.height; y++) for (let x = 0; x < c.width; x++) {
        const i = 4 * (y * c.width + x);
        if (d[i + 3] > 0 && d[i] > 200 && d[i + 1] < 120) { if (x < c.width / 2) left++; else right++; } }
    const under = c.parentElement.querySelector('img.under');
    const box = c.getBoundingClientRect(), ubox = under.getBoundingClientRect();
    return {width: c.width, height: c.height, shown: [box.width, box.height], under: [ubox.width, ubox.height],
            natural: [under.naturalWidth, under.naturalHeight], left, right};
}"""


def test_the_brush_pad_is_sized_to_a_32x32_colour_image_and_hides_what_was_painted(page, app_url):
    from test_browser import EXCEPTION, wait_idle
    from conftest import ARTIFACTS
    page.goto(app_url + "/inpaint?model=shapes-vae&proj=pca")
    page.get_by_text("Paint it with the brush").click(timeout=90_000)
    canvas = page.locator("canvas[aria-label='drawing pad']")
    canvas.wait_for(timeout=60_000)
    wait_idle(page)
    before = page.evaluate(PAD_STATE, "canvas[aria-label='drawing pad']")
    assert (before["width"], before["height"]) == (256, 256), before          # 8 screen pixels a cell
    assert before["shown"] == [256, 256] and before["under"] == [256, 256], before
    assert before["natural"] == [32, 32] and before["left"] == 0, before
    box = canvas.bounding_box()
    x0, y0, w, h = box["x"], box["y"], box["width"], box["height"]
    page.mouse.move(x0 + 0.12 * w, y0 + 0.05 * h)
    page.mouse.down()
    for t in range(1, 21):
        page.mouse.move(x0 + 0.12 * w, y0 + (0.05 + 0.9 * t / 20) * h)
    page.mouse.up()
    page.locator("[data-testid=stDataFrame]").first.wait_for(timeout=90_000)
    wait_idle(page)
    assert page.locator(EXCEPTION).count() == 0
    after = page.evaluate(PAD_STATE, "canvas[aria-label='drawing pad']")
    assert after["left"] > 1000 and after["right"] == 0, after
    page.screenshot(path=str(ARTIFACTS / "browser-inpaint-brush-shapes.png"), full_page=True)


def test_a_project_format_gan_of_another_size_fills_in_by_masked_optimisation():
    """Masked latent optimisation for a 16x24 colour generator (a LatentModel with torch modules, as
    a project-format checkpoint loads): the completions keep the known pixels in every channel and
    recover the hidden ones of an image the generator makes."""
    import torch
    from models.latent_model import LatentModel

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 3 * 16 * 24), torch.nn.Sigmoid(), torch.nn.Unflatten(1, (3, 16, 24)))
    for p in net.parameters():
        p.requires_grad_(False)
    g = LatentModel("tiny-gan", {"kind": "gan", "latent_dim": 4, "image_shape": [3, 16, 24]}, {"generator": net})
    truth = g.decode(np.array([[0.5, -1.0, 0.3, 1.2]], np.float32))[0]
    known = ~ip.hidden_preset("right", size=(16, 24))
    given = np.where(known, truth, 1.0).astype(np.float32)           # hidden pixels are no evidence
    res = ip.complete(g, given, known, n=4, restarts=8, steps=150)
    assert res.images.shape == (4, 3, 16, 24)
    np.testing.assert_array_equal(res.images[..., known], np.broadcast_to(truth[..., known], (4, 3, known.sum())))
    baseline = ((truth - truth[..., known].mean()) ** 2)[..., ~known].mean()
    assert ip.masked_error(res.images[:1], truth, known)[0] < 0.05 * baseline
