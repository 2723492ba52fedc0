"""The drag page for an RGB 32x32 VAE brought as an adapter file, in headless Chromium: the server is
started with the adapter named in the environment (as `-- --model FILE` would), and the preview
beside the map shows the model's colour images: at rest the server's exact decoding."""
import io
from urllib.parse import urljoin

import numpy as np
import pytest
from PIL import Image

import byo_models
from conftest import ARTIFACTS, streamlit_server
from models import sources
from test_browser_drag import CAUGHT_UP, DRAG, EXCEPTION, point_at, settle, wait_idle


@pytest.fixture(scope="module")
def rgb_app_url(tmp_path_factory):
    path = byo_models.write(tmp_path_factory.mktemp("byo-browser"), "rgb-vae")
    mp = pytest.MonkeyPatch()
    mp.setenv(sources.ENV_MODELS, str(path))          # the server process inherits it
    try:
        with streamlit_server() as (url, _log):
            yield url
    finally:
        mp.undo()


def preview_rgb(page) -> np.ndarray:
    rgba = page.locator("canvas.preview").evaluate(
        "c => [c.width, c.height, ...c.getContext('2d').getImageData(0, 0, c.width, c.height).data]")
    w, h = rgba[:2]
    return np.array(rgba[2:], np.uint8).reshape(h, w, 4)[..., :3]


def exact_rgb(page) -> np.ndarray:
    img = page.locator("[data-testid='stImage']", has_text="Exact decoding at the cursor").locator("img")
    response = page.request.get(urljoin(page.url, img.get_attribute("src")))
    assert response.ok
    return np.asarray(Image.open(io.BytesIO(response.body())).convert("RGB"))


def test_drag_page_shows_an_rgb_models_colour_images(page, rgb_app_url):
    page.goto(f"{rgb_app_url}/drag?model=rgb-vae&proj=pca")
    canvas = page.locator("canvas.map")
    canvas.wait_for(timeout=120_000)
    wait_idle(page)
    page.wait_for_function(CAUGHT_UP, timeout=30_000)
    page.mouse.move(*point_at(canvas, 0.3, 0.3))
    page.mouse.down()
    for t in np.linspace(0, 1, 10):
        page.mouse.move(*point_at(canvas, 0.3 + 0.4 * t, 0.3 + 0.3 * t))
    page.mouse.up()
    settle(page)
    assert page.locator(EXCEPTION).count() == 0
    exact = exact_rgb(page)
    assert exact.shape == (5 * 34, 5 * 34, 3)                   # 32x32 tiled with a 1-px frame, 5x
    inner = exact[5:-5, 5:-5].astype(int)
    assert np.abs(inner[..., 0] - inner[..., 1]).mean() > 10   # colour, not grey
    preview = preview_rgb(page).astype(int)
    assert page.evaluate(DRAG)["preview"] == "exact"
    # the preview is the exact decoding scaled to its canvas: the same colours on average, per channel
    np.testing.assert_allclose(preview.reshape(-1, 3).mean(0), inner.reshape(-1, 3).mean(0), atol=6)
    assert np.abs(preview[..., 0] - preview[..., 1]).mean() > 10
    page.screenshot(path=str(ARTIFACTS / "browser-drag-rgb-adapter.png"), full_page=True)
