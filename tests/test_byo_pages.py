"""Every page, for models brought by their person (adapter files written by the tests): a grey
28x28 VAE with classes, an RGB 32x32 VAE, and a 16x24 GAN with no classifier for its data; and the
edges of "any size from 8x8 to 128x128, 1 or 3 channels": a grey 8x8 VAE, an RGB 128x128 GAN with
no classifier, an RGB 128x128 VAE and an RGB 16x24 VAE (not square). Each page must render without an exception or an
error, in the model's own size and colour.

Time: each page is rendered once per model, by the test that checks its outcome where there is one
(sample, interpolation, drag, upload, the GANs' map, model and judge pages) and otherwise by the
sweep (COVERED: what the outcome tests render, each asserting the page clean too). The 128x128
models cost most: the RGB 128 VAE goes through every page (it runs more paths: encoding, uploads,
anomalies, inpainting); the RGB 128 GAN through the pages whose GAN path differs (map, drag, sample,
model: all four in outcome tests, and interpolation and judge), with a map of GAN_POINTS_HERE samples
instead of 3,000 (the map's cost at full size: bench/pixel_map.py)."""
import io

import numpy as np
import pytest
from PIL import Image

import byo_models
from streamlit.elements.lib.image_utils import MAXIMUM_CONTENT_WIDTH

from conftest import assert_clean, run_app
from models import adapters, sources

PAGES = ["views/map.py", "views/drag.py", "views/interpolate.py", "views/upload.py", "views/sample.py",
         "views/model.py", "views/inpaint.py", "views/anomaly.py", "views/quality.py", "views/judge.py"]
SHAPES = {"grey-vae": (1, 28, 28), "rgb-vae": (3, 32, 32), "gan": (1, 16, 24),
          "grey-vae-8": (1, 8, 8), "rgb-gan-128": (3, 128, 128), "rgb-vae-128": (3, 128, 128),
          "rgb-vae-16x24": (3, 16, 24)}
GANS = [name for name in SHAPES if "gan" in name]
VAES = [name for name in SHAPES if name not in GANS]
GAN_128_PAGES = ["views/map.py", "views/drag.py", "views/sample.py", "views/model.py"]
# (model, page) rendered and asserted clean by an outcome test below (same lists as their parameters)
COVERED = {(name, page) for name in SHAPES for page in ("views/sample.py", "views/interpolate.py", "views/drag.py")} \
    | {(name, "views/upload.py") for name in VAES} \
    | {(name, page) for name in GANS for page in ("views/map.py", "views/model.py", "views/judge.py")}
SWEEP = [(name, page) for name in SHAPES for page in PAGES if (name, page) not in COVERED
         and (name != "rgb-gan-128" or page in GAN_128_PAGES)]
GAN_POINTS_HERE = 400


@pytest.fixture(scope="module")
def byo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("byo")
    files = [byo_models.write(folder, kind) for kind in SHAPES]
    mp = pytest.MonkeyPatch()
    mp.setenv(sources.ENV_MODELS, ":".join(map(str, files)))
    from playground import latent_map, session
    mp.setattr(latent_map, "GAN_POINTS", GAN_POINTS_HERE)
    mp.setattr(session, "_MAPS", session._MapCache())       # these smaller maps stay in this module
    session.listings.clear()
    yield files
    mp.undo()
    session.listings.clear()


def page_text(at) -> str:
    return " ".join(str(e.value) for kind in ("markdown", "caption", "info", "warning", "subheader")
                    for e in getattr(at, kind))


def shown_images(at, media) -> list[np.ndarray]:
    return [np.asarray(Image.open(io.BytesIO(media(img.url)))) for el in at.image for img in el.proto.imgs]


def test_every_page_is_rendered_for_every_model_by_one_test():
    rendered = set(SWEEP) | COVERED
    assert {(n, p) for n in SHAPES for p in PAGES if n != "rgb-gan-128" or p in GAN_128_PAGES} <= rendered
    assert {p for n, p in rendered if n == "rgb-vae-128"} == set(PAGES)          # one 128 model: all ten


@pytest.mark.parametrize("name, page", SWEEP)
def test_every_page_works_for_a_model_brought_by_its_person(byo, media, name, page):
    at = run_app(model=name, proj="pca")
    assert at.session_state.model == name, "the adapter model is not listed"
    at.switch_page(page).run()
    assert_clean(at, f"{page} for {name}")
    assert at.session_state.model == name


@pytest.mark.parametrize("name", list(SHAPES))
def test_sample_page_shows_the_models_own_size_and_colour(byo, media, name):
    at = run_app(model=name, proj="pca")
    at.switch_page("views/sample.py").run()
    assert_clean(at, name)
    grid = shown_images(at, media)[0]
    c, h, w = SHAPES[name]
    assert (grid.ndim == 3 and grid.shape[2] == 3) == (c == 3), grid.shape
    # 64 samples in 8 columns with 1-pixel gaps, upscaled 3x; Streamlit shrinks a wider picture to
    # its maximum content width (a 128x128 model's 3,099 pixels to 1,460), keeping the aspect
    tall, wide = 3 * (8 * (h + 1) + 1), 3 * (8 * (w + 1) + 1)
    s = min(1.0, MAXIMUM_CONTENT_WIDTH / wide)
    assert grid.shape[:2] == (round(tall * s), round(wide * s)), grid.shape
    centres = lambda n: ((3 * (1 + np.arange(n)) + 1.5) * s).astype(int)
    first = grid[centres(h)][:, centres(w)].astype(int)              # the first sample, pixel for pixel
    assert first.std() > 1, "the first sample is one flat colour"
    if c == 3:
        assert np.abs(first[..., 0] - first[..., 1]).mean() > 5, "an RGB model's samples shown grey"
    if name in GANS:        # no classifier for its data: no votes, and a note saying why
        assert not at.get("plotly_chart") and "no classifier" in page_text(at).lower()


@pytest.mark.parametrize("name", GANS)
def test_gan_without_classifier_map_is_pca_of_pixels_and_says_so(byo, name):
    at = run_app(model=name, proj="pca")
    assert_clean(at, "map")
    text = page_text(at).lower()
    assert "pixels" in text and "no classifier" in text
    averaged = "pixels**, averaged down to 18 × 18 per channel" in text   # 128 x 128 RGB: averaged
    assert averaged == (name == "rgb-gan-128"), text


def png(array) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.asarray(array, np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def captioned(at, media, start: str) -> list[np.ndarray]:
    return [np.asarray(Image.open(io.BytesIO(media(img.url))))
            for el in at.image for img in el.proto.imgs if img.caption.startswith(start)]


@pytest.mark.parametrize("name", VAES)
def test_an_upload_is_framed_to_the_models_size_and_keeps_colour_for_rgb(byo, media, name):
    """A red square on black, 90x60: an RGB model sees the whole picture stretched to its size, red
    in the middle and black at the corners (32x32, 16x24); a grey one sees it grey, cropped to the
    square, which fills its frame (28x28, 8x8). Its reconstruction is shown beside it, and its code
    is offered to the other pages."""
    picture = np.zeros((60, 90, 3), np.uint8)
    picture[10:50, 20:70] = (230, 20, 20)
    at = run_app(model=name, proj="pca")
    at.switch_page("views/upload.py").run()
    at.file_uploader(key="uploads").set_value([("red.png", png(picture), "image/png")]).run()
    assert_clean(at, f"upload for {name}")
    c, h, w = SHAPES[name]
    seen = captioned(at, media, f"What the model sees ({h} × {w})")
    assert len(seen) == 1
    small = seen[0][::4, ::4][1:h + 1, 1:w + 1]          # upscale(tile(x, 1), 4): 1-pixel frame
    if c == 3:
        assert small.shape == (h, w, 3)
        red = small[h // 2, w // 2]
        assert red[0] > 200 and red[1] < 40 and red[2] < 40, red     # colour kept
        assert small[0, 0].max() < 20 and small[-1, -1].max() < 20, small[0, 0]   # the whole picture
    else:
        assert small.ndim == 2, small.shape                          # grey, as the model takes it
        assert small.min() > 200, small                              # cropped to the square: it fills
    assert captioned(at, media, "Reconstruction")
    assert list(at.session_state["_uploaded_codes"][1]) == ["red.png"]


@pytest.mark.parametrize("name", list(SHAPES))
def test_interpolation_downloads_are_in_the_models_size_and_colour(byo, media, name):
    """The GIF's frames are each one decoded image at 4x, the PNG grid a tile of them at 2x: the
    model's own height and width (16x24 not square, 8x8, 128x128), in colour for an RGB model."""
    c, h, w = SHAPES[name]
    at = run_app(model=name, proj="pca")
    at.switch_page("views/interpolate.py").run()
    assert_clean(at, name)
    button = {b.proto.id.rsplit("-", 1)[-1]: b for b in at.get("download_button")}
    frame = np.asarray(Image.open(io.BytesIO(media(button["dl_gif"].proto.url))).convert("RGB"))
    assert frame.shape == (4 * h, 4 * w, 3), frame.shape
    spread = np.abs(frame[..., 0].astype(int) - frame[..., 1]).mean()
    assert (spread > 5) == (c == 3), spread
    grid = np.asarray(Image.open(io.BytesIO(media(button["dl_png"].proto.url))))
    assert (grid.ndim == 3) == (c == 3), grid.shape
    rows, cols = (grid.shape[0] // 2 - 1) / (h + 1), (grid.shape[1] // 2 - 1) / (w + 1)
    assert rows == int(rows) >= 1 and cols == int(cols) > 1, (grid.shape, h, w)
    if name in GANS:            # no classifier: its map is laid out by pixels, and the caption says so
        placed = [c.value for c in at.caption if c.value.startswith("The frames are placed")]
        assert len(placed) == 1 and "pixels" in placed[0] and "classifier" not in placed[0], placed


@pytest.mark.parametrize("name", list(SHAPES))
def test_the_drag_pages_exact_image_is_in_the_models_size_and_colour(byo, media, name):
    c, h, w = SHAPES[name]
    at = run_app(model=name, proj="pca")
    at.switch_page("views/drag.py").run()
    assert_clean(at, name)
    exact = captioned(at, media, "Exact decoding at the cursor")
    assert len(exact) == 1
    assert exact[0].shape == ((5 * (h + 2), 5 * (w + 2), 3) if c == 3 else (5 * (h + 2), 5 * (w + 2))), exact[0].shape
    image = exact[0][5:-5:5, 5:-5:5].astype(int)                        # the decoding, pixel for pixel
    assert image.shape[:2] == (h, w) and image.std() > 1
    if c == 3:
        assert np.abs(image[..., 0] - image[..., 1]).mean() > 5, "an RGB model's decoding shown grey"


@pytest.mark.parametrize("name", GANS)
def test_the_model_and_judge_pages_of_a_gan_without_classifier_hide_is_and_fd_and_say_why(byo, name):
    """No classifier for its data: the model page shows no Inception Score or Fréchet distance and
    says why; Real or generated? has no real images to play against (the adapter has no
    reference()) and says so, with no IS or FD either."""
    from playground import session
    at = run_app(model=name, proj="pca")
    at.switch_page("views/model.py").run()
    assert_clean(at, f"model page for {name}")
    assert session.NO_CLASSIFIER in [str(c.value) for c in at.caption]
    metrics = " ".join(str(x.label) for x in at.metric)
    assert "Inception" not in metrics and "Fréchet" not in metrics, metrics
    at.switch_page("views/judge.py").run()
    assert_clean(at, f"judge page for {name}")
    assert any("came with no real images" in str(i.value) for i in at.info), [i.value for i in at.info]
    assert not [x for x in at.metric if "FD" in x.label or "IS" in x.label]
