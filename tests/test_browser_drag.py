"""The drag page in headless Chromium (Debian's), driven by Playwright: what only a browser shows.

Every arrow press and every slider step counts however fast they come, and at rest the preview beside
the map is the server's exact decoding, pixel for pixel.
"""
import functools
import io
from urllib.parse import urljoin

import numpy as np
from PIL import Image

import models
from conftest import ARTIFACTS

EXCEPTION = '[data-testid="stException"]'
CANVAS, PADDING = 560, 14                   # dragmap.py's canvas size and dragmap.js's PADDING

# the browser's cursor, the last cursor the server sent, and what the preview shows ('exact', 'blend')
DRAG = "() => window.__latentDrag || null"
CAUGHT_UP = """() => { const s = window.__latentDrag;
    return !!(s && s.cursor && s.server
              && Math.abs(s.cursor[0] - s.server[0]) < 1e-6 && Math.abs(s.cursor[1] - s.server[1]) < 1e-6); }"""


# the server's cursor is at (u, v): the run that applied the browser's last input has reached the map
SERVER_AT = """([u, v]) => { const s = window.__latentDrag;
    return !!(s && s.server && Math.abs(s.server[0] - u) < 1e-5 && Math.abs(s.server[1] - v) < 1e-5); }"""
# a run started by the atlas toggle has drawn the map and finished (Streamlit's own script-state hook)
ATLAS_RUN_DONE = """() => { const roots = [document, ...[...document.querySelectorAll('*')]
        .map(e => e.shadowRoot).filter(Boolean)];
    const map = roots.map(r => r.querySelector('.dragmap')).find(Boolean);
    const app = document.querySelector('[data-testid="stApp"]');
    return !!(map && map.__dragState && map.__dragState.data && map.__dragState.data.show_atlas
              && app && app.getAttribute('data-test-script-state') === 'notRunning'); }"""


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


@functools.lru_cache(maxsize=1)
def _drag_start():
    """The drag page's map (mnist-vae, PCA) and its first code, where a new session's cursor starts."""
    from playground.latent_map import build_map
    m = models.load("mnist-vae")
    from playground import map_points                 # the page's map: the default 10,000 digits
    lmap = build_map(m, "pca", map_points.pool("mnist", models.CHECKPOINTS), write_dir=None)
    return m, lmap


def z1_slider_start() -> float:
    """What the z1 slider shows at the start: the first code's z1 on the slider's 0.05 grid."""
    from playground.steering import slider_value
    _, lmap = _drag_start()
    return slider_value(float(lmap.z[0][0]), -4.0, 4.0, 0.05)


def server_cursor_with_z1(z1: float) -> list[float]:
    """Where the server draws the cursor once it has set the start code's z1 to `z1` (as drag.py does)."""
    from playground.dragmap import full_extent, normalise
    from playground.steering import axis_directions
    m, lmap = _drag_start()
    z = axis_directions(m.latent_dim)[0].set(lmap.z[0], z1)
    return np.clip(normalise(lmap.place(z), full_extent(lmap.y))[0], 0, 1).tolist()


def test_every_slider_step_counts(page, app_url):
    open_drag_page(page, app_url)
    slider = page.locator('[data-testid="stSlider"] input[type=range]').first     # z1
    start = round(z1_slider_start() + 0.05, 2)
    slider.focus()
    page.keyboard.press("ArrowRight")           # onto the slider's 0.05 grid
    page.wait_for_function(SERVER_AT, arg=server_cursor_with_z1(start), timeout=30_000)
    assert float(slider.input_value()) == start
    slider.focus()
    for _ in range(10):                         # each step lands while the previous one's run is going
        page.keyboard.press("ArrowRight")
        page.wait_for_timeout(300)              # the pace of a person's presses, not a wait for the app
    end = round(start + 0.5, 2)
    page.wait_for_function(SERVER_AT, arg=server_cursor_with_z1(end), timeout=30_000)   # the server's code
    assert float(slider.input_value()) == end                                           # and the browser's
    # a rerun of the page's fragment draws the sliders from the server's code: z1 is still there
    page.get_by_text("Show the decoded atlas behind the points").click()
    page.wait_for_function(ATLAS_RUN_DONE, timeout=30_000)
    assert float(slider.input_value()) == end
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


# Every point the page sent, and how many of (a sample of) them have ink under them on the map's
# background layer (points and pins, without the cursor).
POINTS_DRAWN = """() => { const roots = [document, ...[...document.querySelectorAll('*')]
        .map(e => e.shadowRoot).filter(Boolean)];
    const map = roots.map(r => r.querySelector('.dragmap')).find(Boolean);
    const s = map.__dragState, pts = s.data.points, layer = s.background;
    const W = layer.width, H = layer.height, pad = %d;
    const px = layer.getContext('2d').getImageData(0, 0, W, H).data;
    const inkAt = (x, y) => { const i = (Math.round(y) * W + Math.round(x)) * 4;
                              return px[i] + px[i + 1] + px[i + 2] < 3 * 235; };
    const n = pts.length / 2, step = Math.ceil(n / 400);
    let sampled = 0, inked = 0;
    for (let i = 0; i < n; i += step) {
      sampled++;
      if (inkAt(pad + pts[2 * i] * (W - 2 * pad), H - pad - pts[2 * i + 1] * (H - 2 * pad))) inked++;
    }
    return { n, labels: s.data.labels.length, sampled, inked, first: [pts[0], pts[1]],
             allNumbers: pts.every(Number.isFinite), url: s.pointsUrl, inline: 'points' in s.data &&
             typeof s.data.points === 'string', note: s.pointsNote, atlasSrc: s.data.atlas,
             atlasWidth: s.atlas && s.atlas.complete ? s.atlas.naturalWidth : 0 }; }""" % PADDING
POINTS_LOADED = """() => { const roots = [document, ...[...document.querySelectorAll('*')]
        .map(e => e.shadowRoot).filter(Boolean)];
    const map = roots.map(r => r.querySelector('.dragmap')).find(Boolean);
    return map && map.__dragState && map.__dragState.data.points.length > 0; }"""


def test_the_map_draws_every_point_the_page_sent_where_it_lies(page, app_url):
    """The points travel as a binary blob made once per map and fetched once by the browser (not in
    every run's data); the browser must turn it back into 10,000 points with their classes and draw
    a dot under each."""
    open_drag_page(page, app_url)
    page.wait_for_function(POINTS_LOADED, timeout=30_000)
    got = page.evaluate(POINTS_DRAWN)
    assert got["url"].startswith("/lp-decoder/points-") and not got["inline"] and not got["note"], got
    assert got["n"] == 10_000 and got["labels"] == 10_000, got
    assert got["allNumbers"], got
    # the atlas too is served (fetched once), not a 230 kB data URL in every run's data
    assert got["atlasSrc"].startswith("/lp-decoder/atlas-") and got["atlasSrc"].endswith(".png"), got
    page.wait_for_function(POINTS_LOADED.replace("map.__dragState.data.points.length > 0",
                                                 "map.__dragState.atlas.complete && map.__dragState.atlas.naturalWidth > 0"),
                           timeout=30_000)
    assert page.evaluate(POINTS_DRAWN)["atlasWidth"] == 24 * 28
    assert got["inked"] == got["sampled"], got                 # a dot under every sampled point


def script_idle(page, timeout=180_000):
    """Until the app's run has finished (Streamlit's own script state), and stays so for a second."""
    for _ in range(2):
        page.wait_for_timeout(1000)
        page.wait_for_function("""() => { const a = document.querySelector('[data-testid="stApp"]');
            return a && a.getAttribute('data-test-script-state') === 'notRunning'; }""", timeout=timeout)


def test_points_that_cannot_be_fetched_are_said_on_the_map(page, app_url):
    """If the points' blob cannot be fetched, the map says so in words instead of staying empty."""
    page.route("**/lp-decoder/points-*", lambda route: route.fulfill(status=404, body="gone"))
    open_drag_page(page, app_url)
    page.wait_for_function("""() => { const roots = [document, ...[...document.querySelectorAll('*')]
        .map(e => e.shadowRoot).filter(Boolean)];
        const map = roots.map(r => r.querySelector('.dragmap')).find(Boolean);
        return map && /Could not load the map's points \\(the server answered 404\\)/
            .test(map.__dragState.pointsNote); }""", timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "browser-drag-points-failed.png"))


SCROLLED = """() => { const main = document.querySelector('[data-testid=stMain]');
    return main && main.scrollHeight > main.clientHeight ? main.scrollTop : window.scrollY; }"""


def test_opening_a_slider_tab_keeps_the_persons_place_on_the_page(page, app_url):
    """Only the open tab's sliders are made, so a tab's content comes with the fragment's next run.
    Scrolled to the bottom, opening the class tab must not shrink the page meanwhile and move the
    view (a new user saw it jump by 320 px, the sliders below the screen): the tabs keep one height."""
    open_drag_page(page, app_url)
    page.evaluate("""() => { const main = document.querySelector('[data-testid=stMain]');
        main.scrollTop = main.scrollHeight; window.scrollTo(0, document.body.scrollHeight); }""")
    page.wait_for_timeout(500)
    start = page.evaluate(SCROLLED)
    assert start > 200, start                                   # scrolled down to the sliders
    for name in ("Between two classes", "Principal directions", "Latent dimensions (16)"):
        page.get_by_role("tab", name=name).click()
        seen = set()
        for _ in range(20):                                     # while the tab's content arrives
            page.wait_for_timeout(50)
            seen.add(page.evaluate(SCROLLED))
        script_idle(page)
        seen.add(page.evaluate(SCROLLED))
        assert seen == {start}, (name, start, sorted(seen))
    assert page.locator(EXCEPTION).count() == 0


def test_switching_model_then_projection_keeps_the_class_slider(page, app_url):
    """Seen by a new user in Chromium: on the drag page, another model in the sidebar and then PCA
    made the sliders' section fail ("list indices must be integers or slices, not str": the class
    selectboxes' values came back as text). The class choice is now per map and read leniently."""
    page.goto(f"{app_url}/drag")                 # as a person arrives: no model or projection in the link
    page.locator("canvas.map").wait_for(timeout=120_000)
    script_idle(page)
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first.click()
    page.locator('[role="option"]').filter(has_text="fashion-mnist-vae ·").first.click()
    script_idle(page)
    page.get_by_text("PCA", exact=True).click()
    script_idle(page)
    assert "model=fashion-mnist-vae&" in page.url and "proj=pca" in page.url, page.url
    assert page.locator(EXCEPTION).count() == 0, page.locator(EXCEPTION).first.inner_text()
    page.get_by_role("tab", name="Between two classes").click()
    page.get_by_text("From class").wait_for(timeout=30_000)
    assert page.get_by_text("T-shirt/top → Trouser").count() >= 1          # the class slider, Fashion's names
