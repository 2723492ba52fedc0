"""Uploads: the pure helpers, GAN inversion, and the upload page as a user drives it (AppTest)."""
import io
import json

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

import models
from models.inversion import invert
from playground.uploads import anomaly_percentile, encode_images, nearest
from test_app import assert_clean, run_app


def digit_png(d: int, size=(400, 300)) -> bytes:
    im = Image.new("RGB", size, (240, 238, 230))
    ImageDraw.Draw(im).text((size[0] // 3, -20), str(d), fill=(20, 20, 30), font=ImageFont.load_default(size=260))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def test_anomaly_percentile_ranks_against_the_reference():
    ref = np.arange(100, dtype=float)
    np.testing.assert_allclose(anomaly_percentile([-1, 0, 49.5, 1000], ref), [0, 0, 50, 100])


def test_nearest_matches_brute_force():
    rng = np.random.default_rng(0)
    space, q = rng.normal(size=(500, 16)), rng.normal(size=(7, 16))
    brute = np.argsort(((q[:, None] - space[None]) ** 2).sum(-1), 1)[:, :5]
    np.testing.assert_array_equal(nearest(space, q, 5), brute)


def test_vae_encoding_of_uploads_reconstructs_them():
    m = models.load("mnist-vae")
    x = models.reference("mnist")[0][:8].astype(np.float32) / 255
    enc = encode_images(m, x)
    assert enc.z.shape == (8, 16) and enc.recon.shape == (8, 28, 28)
    np.testing.assert_allclose(enc.mse, ((enc.recon - x) ** 2).mean((1, 2)), rtol=1e-5)


def test_gan_inversion_finds_a_code_far_better_than_chance_and_is_deterministic():
    g = models.load("mnist-gan")
    x = models.reference("mnist")[0][:4, None].astype(np.float32) / 255
    inv = invert(g, x, restarts=4, steps=60, seed=1)
    chance = ((g.decode(g.sample(64, seed=0))[:, None] - x[None]) ** 2).mean((2, 3, 4)).min(0)
    assert (inv.mse < 0.6 * chance).all(), (inv.mse, chance)       # beats the best of 64 random codes
    assert (np.diff(inv.restart_mse, axis=1) >= 0).all()            # best first
    np.testing.assert_allclose(((inv.images - x) ** 2).mean((1, 2, 3)), inv.mse, rtol=1e-5)
    again = invert(g, x, restarts=4, steps=60, seed=1)
    np.testing.assert_array_equal(inv.z, again.z)
    with pytest.raises(TypeError, match="encoder"):
        invert(models.load("mnist-vae"), x)


def upload(at, files):
    at.file_uploader(key="uploads").set_value(files).run()
    return at


def test_upload_page_reports_bad_files_and_encodes_the_good_ones():
    at = run_app(model="mnist-vae", proj="pca")
    at.switch_page("views/upload.py").run()
    assert_clean(at, "empty upload page")
    upload(at, [("seven.png", digit_png(7), "image/png"), ("notes.png", b"just text", "image/png"),
                ("drawing.png", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/png"),
                ("three.png", digit_png(3), "image/png")])
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert len(errors) == 2 and "notes.png" in errors[0] and "drawing.png" in errors[1] and "SVG" in errors[1]
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    stars = [t for t in fig["data"] if t.get("name") == "your images"]
    assert stars and stars[0]["text"] == ["seven.png", "three.png"]
    assert [m.label for m in at.metric] == ["Pixel MSE", "Pixel MSE"]
    captions = [c for el in at.image for c in el.captions]
    assert sum("Nearest reference images" in c for c in captions) == 2
    # the codes are offered as interpolation ends
    at.switch_page("views/interpolate.py").run()
    at.radio(key="interp_source").set_value("Your uploaded images").run()
    assert_clean(at, "interpolate uploads")
    assert at.selectbox(key="interp_uploaded image_a").value == "seven.png"
    assert at.selectbox(key="interp_uploaded image_b").value == "three.png"
    # ...and as the drag cursor's start
    at.switch_page("views/drag.py").run()
    at.selectbox(key="drag_upload").set_value("three.png").run()
    at.button(key="drag_start_upload").click().run()
    assert_clean(at, "drag from upload")
    np.testing.assert_allclose(at.session_state.drag_z, at.session_state["_uploaded_codes"][1]["three.png"], atol=1e-6)


def test_upload_page_inverts_for_a_gan():
    at = run_app(model="fashion-mnist-gan", proj="tsne")
    at.switch_page("views/upload.py").run()
    im = Image.new("RGB", (300, 300), "white")
    ImageDraw.Draw(im).rectangle((60, 40, 240, 260), fill=(40, 40, 40))          # a dark "shirt"
    buf = io.BytesIO()
    im.save(buf, "JPEG")
    upload(at, ("shirt.jpg", buf.getvalue(), "image/jpeg"))
    assert_clean(at, "GAN upload")
    captions = " ".join(c.value for c in at.caption)
    assert "random starts" in captions
    assert at.metric[0].label == "Pixel MSE" and float(at.metric[0].value) < 0.1


def test_every_shipped_gan_ships_its_reference_inversion_errors():
    """Else the upload page would invert reference images at run time (scripts/build_maps.py)."""
    from conftest import GENERATIVE
    from playground.latent_map import SHIPPED_MAPS
    from playground.uploads import GAN_REFERENCE_IMAGES, errors_file

    gans = [models.load(n) for n in GENERATIVE if models.load(n).kind == "gan"]
    assert gans
    for g in gans:
        with np.load(SHIPPED_MAPS / errors_file(g), allow_pickle=False) as f:
            err = f["errors"]
        assert err.shape == (GAN_REFERENCE_IMAGES,) and (err > 0).all() and (err < 0.1).all()
