"""The Encode, Sample, Interpolate and Model pages as a person drives them (AppTest): what they show,
checked against what the models compute independently of the page."""
import base64
import io
import json

import numpy as np
import pytest
from PIL import Image, ImageDraw

import models
from conftest import GENERATIVE
from playground.preprocess import prepare
from conftest import assert_clean, run_app


# ---- reading what a page showed -------------------------------------------------------------------

def images_captioned(at, media, start: str) -> list[np.ndarray]:
    """Every image on the page whose caption starts with `start`, as an array."""
    return [np.asarray(Image.open(io.BytesIO(media(img.url))))
            for el in at.image for img in el.proto.imgs if img.caption.startswith(start)]


def tile_pixels(shown: np.ndarray, scale: int) -> np.ndarray:
    """A 28x28 tile that the page showed as `upscale(tile(x, 1), scale)`: back to floats in [0, 1]."""
    small = shown[::scale, ::scale]
    small = small[..., 0] if small.ndim == 3 else small
    return small[1:29, 1:29].astype(np.float32) / 255.0


def download(at, media, key: str) -> bytes:
    button = next(b for b in at.get("download_button") if b.proto.id.endswith(f"-{key}"))
    return media(button.proto.url)


def plotly_array(v) -> np.ndarray:
    """A Plotly array, plain or typed (`{"dtype": ..., "bdata": base64}`)."""
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), np.dtype(v["dtype"]))
    return np.asarray(v, np.float64)


def csv_codes(data: bytes) -> np.ndarray:
    lines = data.decode().strip().splitlines()
    assert lines[0].startswith("frame,z1")
    return np.array([[float(v) for v in line.split(",")[1:]] for line in lines[1:]], np.float32)


def reference_png(index: int, side: int = 112) -> bytes:
    """A held-out MNIST digit as a person might upload it: a bigger grayscale PNG."""
    img = Image.fromarray(models.reference("mnist")[0][index]).resize((side, side), Image.BILINEAR)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def first_of_class(label: int) -> int:
    return int(np.flatnonzero(models.reference("mnist")[1] == label)[0])


def upload(at, files):
    at.file_uploader(key="uploads").set_value(files).run()
    return at


def page_text(at) -> str:
    parts = [e.value for kind in ("markdown", "caption", "info", "warning", "error", "subheader")
             for e in getattr(at, kind)]
    return " ".join(str(p) for p in parts)


# ---- Encode ---------------------------------------------------------------------------------------

def test_each_upload_gets_its_own_code_and_a_faithful_reconstruction(media):
    """Held-out digits re-uploaded as PNG: each reconstruction is close to its own input (pixel MSE
    bound, measured on the images the page shows) and is still read as its digit by the classifier."""
    seven, three = first_of_class(7), first_of_class(3)
    at = run_app(model="mnist-vae", proj="pca")
    at.switch_page("views/upload.py").run()
    upload(at, [("seven.png", reference_png(seven), "image/png"),
                ("three.png", reference_png(three), "image/png")])
    assert_clean(at, "two digits")
    seen = [tile_pixels(a, 4) for a in images_captioned(at, media, "What the model sees")]
    recon = [tile_pixels(a, 4) for a in images_captioned(at, media, "Reconstruction")]
    assert len(seen) == len(recon) == 2
    mse = [float(((r - s) ** 2).mean()) for r, s in zip(recon, seen)]
    assert max(mse) < 0.03, mse                            # the VAE's held-out MSE is 0.013
    assert float(((recon[0] - recon[1]) ** 2).mean()) > 4 * max(mse)   # two different codes
    shown = [float(m.value) for m in at.metric]
    np.testing.assert_allclose(shown, mse, atol=2e-3)       # the metric is the error of what is shown
    clf = models.load("mnist-classifier")
    assert list(clf.predict_proba(np.stack(recon)[:, None]).argmax(1)) == [7, 3]
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    stars = next(t for t in fig["data"] if t.get("name") == "your images")
    x, y = plotly_array(stars["x"]), plotly_array(stars["y"])
    assert np.hypot(x[1] - x[0], y[1] - y[0]) > 0.5                       # they land apart


def test_every_file_gets_a_verdict_whatever_its_type():
    """The uploader filters no type (a browser would drop an .svg without a word); every file is
    either encoded or named with the reason it was not."""
    at = run_app(model="mnist-vae", proj="pca")
    at.switch_page("views/upload.py").run()
    assert at.file_uploader(key="uploads").allowed_type == []
    upload(at, [("drawing.svg", b"<svg xmlns='http://www.w3.org/2000/svg'><circle r='4'/></svg>", "image/svg+xml"),
                ("seven.png", reference_png(first_of_class(7)), "image/png"),
                ("page.html", b"<!DOCTYPE html><html><body>7</body></html>", "text/html")])
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 2
    assert "drawing.svg" in errors[0] and "SVG" in errors[0]
    assert "page.html" in errors[1] and "HTML" in errors[1]
    assert [m.label for m in at.metric] == ["Pixel MSE"]
    assert any("1 of 3 files encoded" in c.value for c in at.caption)


def test_transparent_upload_is_previewed_on_a_checkerboard_not_black(media):
    im = Image.new("RGBA", (200, 200), (0, 0, 0, 0))                 # hidden pixels are black
    ImageDraw.Draw(im).line((100, 30, 100, 170), fill=(20, 20, 20, 255), width=18)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    at = run_app(model="mnist-vae", proj="pca")
    at.switch_page("views/upload.py").run()
    upload(at, ("one.png", buf.getvalue(), "image/png"))
    assert_clean(at, "transparent upload")
    [shown] = images_captioned(at, media, "Uploaded")
    gray = shown[..., :3].mean(-1) if shown.ndim == 3 else shown
    corner = gray[: gray.shape[0] // 4, : gray.shape[1] // 4]
    assert corner.mean() > 180 and corner.std() > 5, (corner.mean(), corner.std())   # light squares


def test_drawing_is_encoded_without_a_note_about_transparency():
    im = Image.new("RGBA", (280, 280), (0, 0, 0, 0))                 # the pad: white ink, transparent
    ImageDraw.Draw(im).line((140, 40, 140, 240), fill=(255, 255, 255, 255), width=20)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    at = run_app(model="mnist-vae", proj="pca")
    at.switch_page("views/upload.py").run()
    at.session_state["drawpad"] = {"png": "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()}
    at.run()
    assert_clean(at, "drawing")
    assert [m.label for m in at.metric] == ["Pixel MSE"] and float(at.metric[0].value) < 0.05
    assert "Transparent" not in page_text(at)
    assert any(s.value == "#### your drawing" for s in at.markdown)


def test_uploads_are_shown_again_when_coming_back_until_forgotten():
    at = run_app(model="mnist-vae", proj="pca")
    at.switch_page("views/upload.py").run()
    upload(at, [("seven.png", reference_png(first_of_class(7)), "image/png"),
                ("three.png", reference_png(first_of_class(3)), "image/png")])
    at.switch_page("views/map.py").run()
    at.switch_page("views/upload.py").run()
    assert_clean(at, "back on the upload page")
    assert [s.value for s in at.markdown if s.value.startswith("####")] == ["#### seven.png", "#### three.png"]
    assert any("gave earlier" in i.value for i in at.info)
    at.button(key="forget_uploads").click().run()
    assert_clean(at, "forgotten")
    assert not at.metric and any("Nothing uploaded" in i.value for i in at.info)
    at.switch_page("views/interpolate.py").run()
    assert "Your uploaded images" not in at.radio(key="interp_source").options


def test_emptying_the_uploader_forgets_its_files():
    at = run_app(model="mnist-vae", proj="pca")
    at.switch_page("views/upload.py").run()
    upload(at, ("seven.png", reference_png(first_of_class(7)), "image/png"))
    assert [m.label for m in at.metric] == ["Pixel MSE"]
    upload(at, None)
    assert not at.metric and any("Nothing uploaded" in i.value for i in at.info)


# ---- Interpolate: the ends are the codes the person chose ------------------------------------------

def test_interpolation_ends_are_the_chosen_codes(media):
    """Map points, prior seeds, uploads and pins: the first and last frames' codes (the page's CSV
    download) are the chosen codes, computed here without the page."""
    m = models.load("mnist-vae")
    ref = models.reference("mnist")[0]
    at = run_app(model="mnist-vae", proj="pca")
    at.switch_page("views/interpolate.py").run()

    # two map points: the map's codes are the posterior means of the reference images
    at.number_input(key="ia-mnist-vae").set_value(3).run()
    at.number_input(key="ib-mnist-vae").set_value(17).run()
    assert_clean(at, "map ends")
    path = csv_codes(download(at, media, "dl_codes"))
    np.testing.assert_allclose(path[[0, -1]], m.encode(ref[[3, 17], None] / 255.0), atol=1e-5)

    # two prior samples with a seed
    at.radio(key="interp_source").set_value("Random codes from the prior").run()
    at.number_input(key="interp_seed").set_value(5).run()
    path = csv_codes(download(at, media, "dl_codes"))
    np.testing.assert_allclose(path[[0, -1]], m.sample(2, seed=5), atol=1e-6)

    # two uploads: the codes of the prepared pictures
    files = {"seven.png": reference_png(first_of_class(7)), "three.png": reference_png(first_of_class(3))}
    expected = {n: m.encode(prepare(d, m.card).image[None, None])[0] for n, d in files.items()}
    at.switch_page("views/upload.py").run()
    upload(at, [(n, d, "image/png") for n, d in files.items()])
    at.switch_page("views/interpolate.py").run()
    at.radio(key="interp_source").set_value("Your uploaded images").run()
    at.selectbox(key="interp_uploaded image_a").set_value("three.png").run()
    at.selectbox(key="interp_uploaded image_b").set_value("seven.png").run()
    assert_clean(at, "upload ends")
    path = csv_codes(download(at, media, "dl_codes"))
    np.testing.assert_allclose(path[0], expected["three.png"], atol=1e-5)
    np.testing.assert_allclose(path[-1], expected["seven.png"], atol=1e-5)

    # two pins dropped on the drag page (at the uploads' codes), kept by session.remember_pins
    at.switch_page("views/drag.py").run()
    for name in ("seven.png", "three.png"):
        at.selectbox(key="drag_upload").set_value(name).run()
        at.button(key="drag_start_upload").click().run()
        at.button(key="drag_pin").click().run()
    at.switch_page("views/interpolate.py").run()
    at.radio(key="interp_source").set_value("Pins from the drag page").run()
    assert_clean(at, "pin ends")
    assert at.selectbox(key="interp_pin_a").value == "pin 1"
    path = csv_codes(download(at, media, "dl_codes"))
    np.testing.assert_allclose(path[0], expected["seven.png"], atol=1e-5)
    np.testing.assert_allclose(path[-1], expected["three.png"], atol=1e-5)
    # ...and the frames shown are those codes decoded
    [strip] = images_captioned(at, media, "10 frames")
    first = tile_pixels(strip, 3)
    np.testing.assert_allclose(first, m.decode(expected["seven.png"][None])[0, 0], atol=2 / 255)


# ---- Sample ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", [n for n in GENERATIVE if models.classifier_name(models.load(n).card)
                                  in {l.name for l in models.available()}])      # shapes-vae has none
def test_sample_page_draws_the_classifiers_votes(name):
    m = models.load(name)
    at = run_app(model=name, proj="pca")
    at.switch_page("views/sample.py").run()
    assert_clean(at, f"sample {name}")
    charts = [c for c in at.get("plotly_chart") if "sample-votes" in c.proto.id]
    assert len(charts) == 1, f"{name}: no chart of the classifier's votes on the Sample page"
    bars = json.loads(charts[0].proto.spec)["data"][0]
    clf = models.load(models.classifier_name(m.card))
    images = m.decode(m.sample(64, seed=0, temperature=1.0, truncation=None))
    expected = np.bincount(clf.predict_proba(images).argmax(1), minlength=len(m.class_names)) / 64
    assert [str(x) for x in bars["x"]] == [str(c) for c in m.class_names]
    np.testing.assert_allclose(bars["y"], expected, atol=1e-9)
    assert not at.warning


def test_a_broken_classifier_is_named_on_the_sample_page(tmp_path, monkeypatch, fresh_streamlit_caches):
    import shutil
    root = tmp_path / "ckpts"
    for name in ("mnist-vae", "mnist-classifier", "reference"):
        shutil.copytree(models.CHECKPOINTS / name, root / name)
    w = root / "mnist-classifier" / "model.safetensors"
    w.write_bytes(w.read_bytes()[:1000])
    monkeypatch.setattr(models, "CHECKPOINTS", root)
    at = run_app(model="mnist-vae", proj="pca")
    at.switch_page("views/sample.py").run()
    assert not at.exception
    assert not [c for c in at.get("plotly_chart") if "sample-votes" in c.proto.id]
    warnings = " ".join(w.value for w in at.warning)
    assert "mnist-classifier" in warnings and "truncated" in warnings, warnings


@pytest.mark.parametrize("damage, reason", [("tampered", "sha256"), ("truncated", "truncated")])
def test_a_gans_broken_classifier_stops_its_map_pages_with_the_reason(tmp_path, monkeypatch, damage, reason,
                                                                      fresh_streamlit_caches):
    """A GAN's map is laid out by its classifier's features: with that checkpoint broken, the pages
    built on the map say which classifier and why, instead of raising CheckpointError; the Sample
    and model pages still work without it."""
    import shutil
    root = tmp_path / "ckpts"
    for name in ("mnist-gan", "mnist-classifier", "reference"):
        shutil.copytree(models.CHECKPOINTS / name, root / name)
    w = root / "mnist-classifier" / "model.safetensors"
    data = bytearray(w.read_bytes())
    if damage == "tampered":
        data[len(data) // 2] ^= 0xFF             # same size: only the sha256 check finds it
    else:
        data = data[:1000]
    w.write_bytes(bytes(data))
    monkeypatch.setattr(models, "CHECKPOINTS", root)
    at = run_app(model="mnist-gan", proj="pca")
    for page in ("views/map.py", "views/drag.py", "views/interpolate.py", "views/upload.py"):
        at.switch_page(page).run()
        assert not at.exception, f"{page}: {[e.value for e in at.exception]}"
        errors = " ".join(e.value for e in at.error)
        assert "mnist-classifier" in errors and reason in errors and "mnist-gan" in errors, (page, errors)
        assert not at.get("plotly_chart") and not at.image, f"{page} went on past the error"
    at.switch_page("views/sample.py").run()
    assert not at.exception and not at.error
    assert at.image, "the Sample page shows its samples without the classifier"
    warnings = " ".join(w.value for w in at.warning)
    assert "mnist-classifier" in warnings and reason in warnings, warnings
    at.switch_page("views/model.py").run()
    assert_clean(at, "model page")


@pytest.mark.parametrize("setting", ["temperature 0", "truncation 0.2"])
def test_codes_crowded_at_zero_are_explained_not_called_mode_collapse(setting):
    at = run_app(model="mnist-gan", proj="pca")
    at.switch_page("views/sample.py").run()
    if setting == "temperature 0":
        at.slider(key="temperature").set_value(0.0).run()
        assert any("single code z = 0" in i.value for i in at.info)
    else:
        at.toggle(key="truncate").set_value(True).run()
        at.slider(key="trunc_threshold").set_value(0.2).run()
        assert any("near z = 0" in i.value and "truncation at 0.2" in i.value for i in at.info)
    assert_clean(at, setting)
    assert "mode collapse" not in page_text(at)
    at.slider(key="temperature").set_value(1.0).run()
    at.toggle(key="truncate").set_value(False).run()
    assert not at.info and "mode collapse" in page_text(at)


# ---- Model ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["mnist-vae", "mnist-gan"])
def test_model_page_names_metrics_for_people_and_keeps_legends_in_view(name):
    at = run_app(model=name, proj="pca")
    at.switch_page("views/model.py").run()
    assert_clean(at, f"model {name}")
    card = models.load(name).card
    shown = {str(v) for t in at.table for v in t.value.iloc[:, 0]}      # first column: the names
    raw = {k for k in list(card["metrics"]) + list(card["training"]) if "_" in k}
    assert shown and not shown & raw, shown & raw
    assert "Classifier Inception Score (higher is better)" in shown or "Reconstruction pixel MSE" in shown
    curves = [json.loads(c.proto.spec) for c in at.get("plotly_chart") if "hist-" in c.proto.id]
    assert curves
    for fig in curves:
        assert fig["layout"]["legend"]["orientation"] == "h" and fig["layout"]["legend"]["y"] < 0
        assert all("_" not in t["name"] for t in fig["data"]), [t["name"] for t in fig["data"]]


def test_codes_csv_reads_back_exactly():
    from playground.interpolation import codes_csv
    path = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32) * 10
    text = codes_csv(path)
    assert text.splitlines()[0] == "frame,z1,z2,z3" and text.splitlines()[3].startswith("2,")
    np.testing.assert_array_equal(csv_codes(text.encode()), path)
