"""The drag page in headless Chromium (Debian's), driven by Playwright: what only a browser shows.

Every arrow press and every slider step counts however fast they come, and at rest the preview beside
the map is the server's exact decoding, pixel for pixel.
"""
import io
from urllib.parse import urljoin

import numpy as np
from PIL import Image

from conftest import ARTIFACTS

EXCEPTION = '[data-testid="stException"]'
CANVAS, PADDING = 560, 14                   # dragmap.py's canvas size and dragmap.js's PADDING

# the browser's cursor, the last cursor the server sent, and what the preview shows ('exact', 'blend')
DRAG = "() => window.__latentDrag || null"
CAUGHT_UP = """() => { const s = window.__latentDrag;
    return !!(s && s.cursor && s.server
              && Math.abs(s.cursor[0] - s.server[0]) < 1e-6 && Math.abs(s.cursor[1] - s.server[1]) < 1e-6); }"""


def wait_idle(page, timeout=90_000):
    """Wait until Streamlit has finished the current run."""
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.includes('Running')",
        timeout=timeout)
    page.wait_for_timeout(500)


def settle(page):
    """Wait for the runs the browser's sends started, and for the server to have the browser's cursor."""
    wait_idle(page)
    page.wait_for_timeout(1500)
    wait_idle(page)
    page.wait_for_function(CAUGHT_UP, timeout=30_000)


def open_drag_page(page, app_url, model="mnist-vae", proj="pca"):
    page.goto(f"{app_url}/drag?model={model}&proj={proj}")
    canvas = page.locator("canvas.map")
    canvas.wait_for(timeout=120_000)
    wait_idle(page)
    page.wait_for_function(CAUGHT_UP, timeout=30_000)
    return canvas


def point_at(canvas, u, v):
    """Page coordinates of the map position (u, v) (normalised: 0, 0 bottom left)."""
    box = canvas.bounding_box()
    scale = box["width"] / CANVAS
    return (box["x"] + (PADDING + u * (CANVAS - 2 * PADDING)) * scale,
            box["y"] + (CANVAS - PADDING - v * (CANVAS - 2 * PADDING)) * scale)


def test_every_quick_arrow_press_counts(page, app_url):
    canvas = open_drag_page(page, app_url)
    page.mouse.click(*point_at(canvas, 0.3, 0.5))
    settle(page)
    np.testing.assert_allclose(page.evaluate(DRAG)["server"], [0.3, 0.5], atol=2e-3)
    start, rev = page.evaluate(DRAG)["cursor"], page.evaluate(DRAG)["rev"]
    canvas.focus()
    for gap in [0, 0, 0, 60, 120, 200, 0, 300, 60, 0]:   # runs started by earlier presses overlap later ones
        page.keyboard.press("ArrowRight")
        page.wait_for_timeout(gap)
    settle(page)
    stats = page.evaluate(DRAG)
    assert stats["sends"] == 11, stats["sends"]                             # a click and ten presses
    np.testing.assert_allclose(stats["cursor"], [start[0] + 0.10, start[1]], atol=1e-4)
    np.testing.assert_allclose(stats["server"], [start[0] + 0.10, start[1]], atol=1e-4)   # the server's
    assert stats["rev"] == rev                  # the server never moved the cursor itself meanwhile
    assert page.locator(EXCEPTION).count() == 0


def test_every_slider_step_counts(page, app_url):
    open_drag_page(page, app_url)
    slider = page.locator('[data-testid="stSlider"] input[type=range]').first     # z1
    slider.focus()
    page.keyboard.press("ArrowRight")           # onto the slider's 0.05 grid
    wait_idle(page)
    page.wait_for_timeout(1000)
    start = float(slider.input_value())
    slider.focus()
    for _ in range(10):                         # each step lands while the previous one's run is going
        page.keyboard.press("ArrowRight")
        page.wait_for_timeout(300)
    wait_idle(page)
    page.wait_for_timeout(1500)
    wait_idle(page)
    assert float(slider.input_value()) == round(start + 0.5, 2)
    # a rerun of the whole page shows the server's coordinate: the server counted every step too
    page.get_by_text("Show the decoded atlas behind the points").click()
    wait_idle(page)
    page.wait_for_timeout(1000)
    assert float(slider.input_value()) == round(start + 0.5, 2)
    assert page.locator(EXCEPTION).count() == 0


def preview_pixels(page) -> np.ndarray:
    """The preview canvas as 28 x 28 grey levels (the centre of each 6 x 6 block)."""
    rgba = page.locator("canvas.preview").evaluate(
        "c => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)")
    image = np.array(rgba, np.uint8).reshape(168, 168, 4)
    return image[3::6, 3::6, 0]


def exact_pixels(page) -> np.ndarray:
    """The server's 'Exact decoding at the cursor' image (28 x 28 tiled with 1 px, enlarged 5x)."""
    img = page.locator("[data-testid='stImage']", has_text="Exact decoding at the cursor").locator("img")
    response = page.request.get(urljoin(page.url, img.get_attribute("src")))
    assert response.ok
    image = np.asarray(Image.open(io.BytesIO(response.body())).convert("L"))
    assert image.shape == (150, 150)
    return image[7:145:5, 7:145:5]


def test_at_rest_the_preview_is_the_exact_decoding_and_one_verdict_is_shown(page, app_url):
    canvas = open_drag_page(page, app_url)
    page.mouse.move(*point_at(canvas, 0.25, 0.25))
    page.mouse.down()
    for t in np.linspace(0, 1, 15):
        page.mouse.move(*point_at(canvas, 0.25 + 0.45 * t, 0.25 + 0.5 * t))
    page.mouse.up()
    settle(page)
    preview, exact = preview_pixels(page), exact_pixels(page)
    assert exact.max() > 100                                       # a digit, not a black square
    assert np.abs(preview.astype(int) - exact).max() <= 2, np.abs(preview.astype(int) - exact).max()
    assert page.evaluate(DRAG)["preview"] == "exact"
    # one distance verdict on the page (the component's shadow root included), with its explanation
    verdicts = page.evaluate("""() => { const roots = [document, ...[...document.querySelectorAll('*')]
        .map(e => e.shadowRoot).filter(Boolean)];
        return roots.flatMap(r => [...r.querySelectorAll('*')]).filter(e => [...e.childNodes]
            .some(n => n.nodeType === Node.TEXT_NODE && n.textContent.includes('typical gap')))
            .map(e => e.textContent); }""")
    assert len(verdicts) == 1, verdicts
    assert page.get_by_text("Measured in latent space").count() == 1
    assert page.locator(EXCEPTION).count() == 0
    page.screenshot(path=str(ARTIFACTS / "browser-drag-at-rest.png"), full_page=True)
