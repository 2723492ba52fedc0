"""Every page, for models brought by their person (adapter files written by the tests): a grey
28x28 VAE with classes, an RGB 32x32 VAE, and a 16x24 GAN with no classifier for its data.
Each page must render without an exception or an error, in the model's own size and colour."""
import io

import numpy as np
import pytest
from PIL import Image

import byo_models
from conftest import assert_clean, run_app
from models import adapters, sources

PAGES = ["views/map.py", "views/drag.py", "views/interpolate.py", "views/upload.py", "views/sample.py",
         "views/model.py", "views/inpaint.py", "views/anomaly.py", "views/quality.py", "views/judge.py"]
SHAPES = {"grey-vae": (1, 28, 28), "rgb-vae": (3, 32, 32), "gan": (1, 16, 24)}


@pytest.fixture(scope="module")
def byo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("byo")
    files = [byo_models.write(folder, kind) for kind in SHAPES]
    mp = pytest.MonkeyPatch()
    mp.setenv(sources.ENV_MODELS, ":".join(map(str, files)))
    from playground import session
    session.listings.clear()
    yield files
    mp.undo()
    session.listings.clear()


def page_text(at) -> str:
    return " ".join(str(e.value) for kind in ("markdown", "caption", "info", "warning", "subheader")
                    for e in getattr(at, kind))


def shown_images(at, media) -> list[np.ndarray]:
    return [np.asarray(Image.open(io.BytesIO(media(img.url)))) for el in at.image for img in el.proto.imgs]


@pytest.mark.parametrize("name", list(SHAPES))
@pytest.mark.parametrize("page", PAGES)
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
    # 64 samples in 8 columns with 1-pixel gaps, upscaled 3x
    assert grid.shape[:2] == (3 * (8 * (h + 1) + 1), 3 * (8 * (w + 1) + 1))
    if name == "gan":       # no classifier for its data: no votes, and a note saying why
        assert not at.get("plotly_chart") and "no classifier" in page_text(at).lower()


def test_gan_without_classifier_map_is_pca_of_pixels_and_says_so(byo):
    at = run_app(model="gan", proj="pca")
    assert_clean(at, "map")
    text = page_text(at).lower()
    assert "pixels" in text and "no classifier" in text


def png(array) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.asarray(array, np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def captioned(at, media, start: str) -> list[np.ndarray]:
    return [np.asarray(Image.open(io.BytesIO(media(img.url))))
            for el in at.image for img in el.proto.imgs if img.caption.startswith(start)]


@pytest.mark.parametrize("name", ["rgb-vae", "grey-vae"])
def test_an_upload_is_framed_to_the_models_size_and_keeps_colour_for_rgb(byo, media, name):
    """A red square on black, 90x60: the RGB model sees it red at 32x32; the grey one grey at 28x28.
    Its reconstruction is shown beside it, and its code is offered to the other pages."""
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
    else:
        assert small.ndim == 2 or (small[..., 0] == small[..., 1]).all()
    assert captioned(at, media, "Reconstruction")
    assert list(at.session_state["_uploaded_codes"][1]) == ["red.png"]


def test_interpolation_downloads_are_in_the_models_size_and_colour(byo, media):
    """The RGB model's GIF frames and PNG grid are colour 32x32 tiles; the 16x24 GAN's are 16 high
    and 24 wide (not square)."""
    for name, (c, h, w) in (("rgb-vae", SHAPES["rgb-vae"]), ("gan", SHAPES["gan"])):
        at = run_app(model=name, proj="pca")
        at.switch_page("views/interpolate.py").run()
        assert_clean(at, name)
        button = next(b for b in at.get("download_button") if b.proto.id.endswith("-dl_gif"))
        gif = Image.open(io.BytesIO(media(button.proto.url)))
        frame = np.asarray(gif.convert("RGB"))
        assert frame.shape[0] * w == frame.shape[1] * h, frame.shape          # the model's aspect
        spread = np.abs(frame[..., 0].astype(int) - frame[..., 1]).mean()
        assert (spread > 5) == (c == 3), spread
