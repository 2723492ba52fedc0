"""Uploads: the pure helpers, GAN inversion, and the upload page as a user drives it (AppTest)."""
import io
import json

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

import models
from models.inversion import invert
from playground.latent_map import shipped_maps
from playground.uploads import (GAN_REFERENCE_IMAGES, anomaly_percentile, encode_images, errors_file,
                                keep_latest, load_reference_errors, nearest, sq_distances, unique_names)
from conftest import assert_clean, run_app


def shipped_errors_of(name: str) -> np.ndarray:
    """The one shipped inversion-errors file of a GAN, found by its pattern (not by `errors_file`)."""
    [path] = shipped_maps().glob(f"{name}-inversion-errors-*.npz")
    with np.load(path, allow_pickle=False) as f:
        return f["errors"]


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
    # ranked against the shipped inversion errors of this GAN, not a few inverted live
    assert not at.warning, [w.value for w in at.warning]
    assert f"Ranked against {GAN_REFERENCE_IMAGES} reference images inverted ahead of time" in captions
    assert "fashion-mnist-gan-inversion-errors-" in captions
    shipped = shipped_errors_of("fashion-mnist-gan")
    mse = float(at.metric[0].value)                          # shown with 4 decimals
    possible = {f"{p:.0f}" for p in anomaly_percentile([mse - 5e-5, mse, mse + 5e-5], shipped)}
    shown = next(e.proto.text for e in at.get("progress") if "More unusual" in e.proto.text)
    assert shown.split("than ")[1].split("%")[0] in possible, (shown, possible)


def test_every_shipped_gan_ships_its_reference_inversion_errors():
    """Else the upload page would invert reference images at run time (scripts/build_maps.py)."""
    from conftest import GENERATIVE

    gans = [models.load(n) for n in GENERATIVE if models.load(n).kind == "gan"]
    assert gans
    for g in gans:
        with np.load(shipped_maps() / errors_file(g), allow_pickle=False) as f:
            err = f["errors"]
        assert err.shape == (GAN_REFERENCE_IMAGES,) and (err > 0).all() and (err < 0.1).all()


GANS = [n for n in ("mnist-gan", "fashion-mnist-gan")]


@pytest.mark.parametrize("name", GANS)
def test_the_shipped_inversion_errors_are_what_uploads_are_ranked_against(name):
    g = models.load(name)
    shipped = shipped_errors_of(name)
    ref = load_reference_errors(g, models.reference(g.dataset)[0], shipped_maps())
    assert ref.warning is None, ref.warning
    np.testing.assert_array_equal(ref.errors, shipped)
    assert errors_file(g) in ref.source and f"{GAN_REFERENCE_IMAGES} reference images" in ref.source


def test_missing_or_unreadable_gan_errors_are_said_and_a_few_measured_now(tmp_path, monkeypatch):
    import playground.uploads as uploads
    monkeypatch.setattr(uploads, "GAN_LIVE_IMAGES", 2)
    g = models.load("mnist-gan")
    ref_images = models.reference("mnist")[0]
    missing = load_reference_errors(g, ref_images, tmp_path)
    assert len(missing.errors) == 2 and (missing.errors > 0).all()
    assert errors_file(g) in missing.warning and "is not in" in missing.warning
    assert "only 2 reference images" in missing.warning and "only 2" in missing.source
    (tmp_path / errors_file(g)).write_bytes(b"not an npz")
    broken = load_reference_errors(g, ref_images, tmp_path)
    assert "cannot be read" in broken.warning and errors_file(g) in broken.warning
    np.savez(tmp_path / errors_file(g), errors=np.array([np.nan, 1.0]))
    assert "no usable errors" in load_reference_errors(g, ref_images, tmp_path).warning


def test_a_vae_is_ranked_against_its_whole_reference_set():
    m = models.load("mnist-vae")
    images = models.reference("mnist")[0][:50]
    ref = load_reference_errors(m, images, "/nonexistent")
    assert ref.warning is None and len(ref.errors) == 50 and "all 50" in ref.source
    np.testing.assert_allclose(ref.errors, encode_images(m, images / 255.0).mse, rtol=1e-6)


def test_sq_distances_are_squared_euclidean_and_never_negative():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(4, 3)) * 1e3, rng.normal(size=(6, 3)) * 1e3
    np.testing.assert_allclose(sq_distances(a, b), ((a[:, None] - b[None]) ** 2).sum(-1), rtol=1e-9)
    assert (sq_distances(a, a).diagonal() >= 0).all()
    assert sq_distances(a, a).diagonal().max() < 1e-6


def test_keep_latest_keeps_the_newest_within_both_bounds():
    files = [(f"f{i}", b"x" * 10) for i in range(5)]
    assert keep_latest(files, max_files=3, max_bytes=100) == files[2:]
    assert keep_latest(files, max_files=10, max_bytes=25) == files[3:]
    assert keep_latest(files, max_files=10, max_bytes=1000) == files
    assert keep_latest([], 3, 10) == []


def test_unique_names_number_repeats():
    assert unique_names(["a.png", "b.png", "a.png", "a.png"]) == ["a.png", "b.png", "a.png (2)", "a.png (3)"]


@pytest.mark.parametrize("names, expected", [
    (["a.png", "a.png", "a.png (2)"], ["a.png", "a.png (2)", "a.png (2) (2)"]),   # a real 'a.png (2)' after
    (["a.png (2)", "a.png", "a.png"], ["a.png (2)", "a.png", "a.png (3)"]),       # ... or before the repeat
    (["a.png", "a.png (2)", "a.png", "a.png", "a.png (3)", "a.png (2)"], None),
])
def test_unique_names_are_distinct_even_when_a_file_has_a_numbered_name(names, expected):
    out = unique_names(names)
    assert len(out) == len(names) and len(set(out)) == len(out), out       # every file its own key
    assert out[0] == names[0]                                              # the first keeps its name
    assert all(o == n or o.startswith(n + " (") for n, o in zip(names, out)), out
    if expected is not None:
        assert out == expected


def test_preview_shows_transparency_on_a_checkerboard_and_flatten_paints_it_black():
    from playground.imaging import flatten_png, preview
    from playground.preprocess import prepare as prep
    im = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    ImageDraw.Draw(im).rectangle((24, 8, 40, 56), fill=(255, 255, 255, 255))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    shown = np.asarray(preview(buf.getvalue()))
    assert shown.shape == (64, 64, 3)
    assert set(np.unique(shown[:4, :4])) == {255} and set(np.unique(shown[:, :8])) == {204, 255}
    assert (shown[30, 30] == 255).all()
    opaque = io.BytesIO()
    im.convert("RGB").save(opaque, "PNG")
    assert preview(opaque.getvalue()) is None                     # nothing transparent to show
    flat = Image.open(io.BytesIO(flatten_png(buf.getvalue())))
    assert flat.mode == "RGB" and np.asarray(flat)[0, 0].tolist() == [0, 0, 0]
    assert np.asarray(flat)[30, 30].tolist() == [255, 255, 255]
    card = models.load("mnist-vae").card
    assert not any("Transparent" in n for n in prep(flatten_png(buf.getvalue()), card).notes)
    np.testing.assert_allclose(prep(flatten_png(buf.getvalue()), card).image, prep(buf.getvalue(), card).image,
                               atol=1e-6)                         # the same input the model saw before


def test_the_upload_page_says_when_a_gan_has_no_shipped_errors(ckpt_copy, monkeypatch, fresh_streamlit_caches):
    import playground.uploads as uploads
    ckpt_copy("mnist-gan")
    ckpt_copy("mnist-classifier")
    root = ckpt_copy("reference")                                   # a checkpoints folder without maps/
    monkeypatch.setattr(models, "CHECKPOINTS", root)                # the app looks there at call time
    monkeypatch.setattr(uploads, "GAN_LIVE_IMAGES", 2)
    at = run_app(model="mnist-gan", proj="pca")
    at.switch_page("views/upload.py").run()
    upload(at, ("seven.png", digit_png(7), "image/png"))
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "were not used" in warnings and "inversion-errors" in warnings and "only 2" in warnings


def test_image_uploaders_tell_the_browser_the_image_limit_not_the_servers():
    """The server takes files of up to 32 MB (for checkpoints in the sidebar); a picture is refused
    above preprocess.MAX_BYTES (10 MB), so the Encode and Fill in pages' drop zones say 10 MB, as
    their labels do, and the browser refuses a bigger picture before sending it."""
    from playground.preprocess import MAX_BYTES
    for page, key in (("views/upload.py", "uploads"), ("views/inpaint.py", "inpaint_upload")):
        at = run_app(model="mnist-vae")
        at.switch_page(page).run()
        if key == "inpaint_upload":
            at.radio(key="inpaint_source").set_value("Upload one").run()
        assert_clean(at, page)
        up = at.file_uploader(key=key)
        assert up.proto.max_upload_size_mb == MAX_BYTES // 2**20 == 10, (page, up.proto.max_upload_size_mb)
        assert f"up to {MAX_BYTES // 2**20} MB" in up.proto.label, up.proto.label
