"""What only a browser shows: the app in headless Chromium (Debian's), driven by Playwright."""
import re
import time
from urllib.parse import parse_qs, urlparse

from conftest import ARTIFACTS
from playground.selection import decode_selection

EXCEPTION = '[data-testid="stException"]'


def wait_idle(page, timeout=90_000):
    """Wait until Streamlit has finished the current run."""
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.includes('Running')",
        timeout=timeout)
    page.wait_for_timeout(500)


def test_app_loads_switches_model_and_shows_no_exception(page, app_url):
    page.goto(app_url + "/?model=mnist-vae&proj=tsne")
    page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg', timeout=90_000)
    wait_idle(page)
    points = page.locator('[data-testid="stPlotlyChart"] canvas')
    assert points.count() >= 1                                  # WebGL scatter drew
    assert page.locator(EXCEPTION).count() == 0
    page.screenshot(path=str(ARTIFACTS / "browser-map-mnist-vae.png"), full_page=True)

    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').click()
    page.get_by_role("option", name=re.compile("fashion-mnist-gan")).click()
    page.wait_for_url(re.compile("model=fashion-mnist-gan"), timeout=60_000)
    wait_idle(page)
    page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg', timeout=60_000)
    # the GAN map's legend says its colours are the classifier's guesses (a VAE map: true classes)
    page.locator(".legendtitletext", has_text="classifier's guess").wait_for(timeout=60_000)
    assert page.locator(EXCEPTION).count() == 0
    page.screenshot(path=str(ARTIFACTS / "browser-map-fashion-gan.png"), full_page=True)

    page.get_by_role("link", name=re.compile("Interpolate")).click()
    wait_idle(page)
    page.wait_for_selector("text=frames, spherical interpolation", timeout=60_000)
    assert page.locator(EXCEPTION).count() == 0
    page.screenshot(path=str(ARTIFACTS / "browser-interpolate.png"), full_page=True)


POINT_XY = """(i) => { const gd = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
    const L = gd._fullLayout, t = gd._fullData[0], r = gd.getBoundingClientRect();
    return [r.left + L._size.l + L.xaxis.l2p(t.x[i]), r.top + L._size.t + L.yaxis.l2p(t.y[i]),
            Number(t.customdata[i])]; }"""


def selected_heading(page) -> str:
    heads = [h for h in page.locator("h3").all_inner_texts() if "selected" in h]
    return heads[0] if heads else ""


def heading_count(heading: str) -> int:
    """'1,234 selected · 16 shown, …' -> 1234."""
    return int(heading.split(" selected")[0].replace(",", ""))


def url_selection(url: str) -> list[int]:
    return decode_selection(parse_qs(urlparse(url).query).get("sel", [""])[0])


PAGE_STATE = """() => ({url: location.href, heads: [...document.querySelectorAll('h3')].map(h => h.innerText),
    state: document.querySelector('[data-testid="stApp"]').getAttribute('data-test-script-state')})"""


def wait_for_new_selection(page, before: str, timeout_s: float = 30) -> tuple[str, str]:
    """Poll until the URL holds a selection other than `before`'s, the run has finished, and the
    page's heading counts exactly the selection the URL holds: (url, heading). The URL changes in
    the middle of a run (set_selection syncs it before the gallery draws), so waiting for the URL
    alone can return while the old heading, or none, is still on the page."""
    deadline = time.monotonic() + timeout_s
    seen = None
    while True:
        seen = page.evaluate(PAGE_STATE)
        heads = [h for h in seen["heads"] if "selected" in h]
        if (seen["url"] != before and "sel=" in seen["url"] and seen["state"] == "notRunning" and heads
                and heading_count(heads[0]) == len(url_selection(seen["url"]))):
            return seen["url"], heads[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"no new selection shown within {timeout_s} s: {seen}")
        page.wait_for_timeout(200)


def test_every_map_selection_counts_three_boxes_in_a_row_and_a_click(page, app_url):
    page.goto(app_url + "/?model=mnist-vae&proj=tsne")
    page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg', timeout=90_000)
    wait_idle(page)
    # a click on a point selects that point (the default drag mode pans, so clicks select)
    x, y, index = page.evaluate(POINT_XY, 5)
    before = page.url
    page.mouse.click(x, y)
    url, heading = wait_for_new_selection(page, before)
    assert url_selection(url) == [index]
    assert heading.startswith("1 selected")
    assert page.locator("[data-testid='stImage']", has_text=f"#{index} ").count() == 1

    page.locator('[data-testid="stPlotlyChart"] .modebar-btn[data-val="select"]').first.click()
    area = page.locator('[data-testid="stPlotlyChart"] .nsewdrag').first.bounding_box()
    seen = []
    for fx, fy in [(0.2, 0.2), (0.45, 0.45), (0.6, 0.3)]:
        before = page.url
        x0, y0 = area["x"] + fx * area["width"], area["y"] + fy * area["height"]
        page.mouse.move(x0, y0)
        page.mouse.down()
        for t in range(1, 11):
            page.mouse.move(x0 + 14 * t, y0 + 14 * t)
        page.mouse.up()
        url, heading = wait_for_new_selection(page, before)          # else: selection n was lost
        assert heading_count(heading) == len(url_selection(url)) > 0, (heading, url)
        assert page.locator("text=Click a point, or box / lasso several").count() == 0
        assert page.locator("[data-testid='stImage'] img").count() >= 1           # its images show
        seen.append(url)
    assert len(set(seen)) == 3                                                     # three different ones
    assert page.locator(EXCEPTION).count() == 0
    page.screenshot(path=str(ARTIFACTS / "browser-map-selection.png"), full_page=True)


EMPTY_SPOT = """() => { const gd = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
    const L = gd._fullLayout, r = gd.getBoundingClientRect(), w = L._size.w, h = L._size.h;
    const px = [];
    for (const t of gd._fullData) for (let i = 0; i < t.x.length; i++)
        px.push([L.xaxis.l2p(t.x[i]), L.yaxis.l2p(t.y[i])]);
    let best = null;                                       // the grid spot farthest from every point
    for (let gx = 0.05; gx < 1; gx += 0.05) for (let gy = 0.05; gy < 1; gy += 0.05) {
        let d = Infinity;
        for (const [x, y] of px) d = Math.min(d, Math.hypot(x - gx * w, y - gy * h));
        if (!best || d > best[2]) best = [gx * w, gy * h, d];
    }
    return [r.left + L._size.l + best[0], r.top + L._size.t + best[1], best[2]]; }"""


def test_double_click_on_empty_space_clears_a_selection_from_a_link(page, app_url):
    """A selection restored from a link is drawn on a freshly mounted chart; a double-click on empty
    space must clear it (the URL loses `sel`, the gallery goes), as it does for one made in the chart."""
    page.goto(app_url + "/?model=mnist-vae&proj=tsne&sel=0,5")
    page.locator("h3", has_text="2 selected").wait_for(timeout=90_000)
    page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg', timeout=60_000)
    wait_idle(page)
    page.screenshot(path=str(ARTIFACTS / "browser-map-from-link.png"), full_page=True)
    x, y, clearance = page.evaluate(EMPTY_SPOT)
    assert clearance > 15, clearance                       # pixels from the nearest point
    page.mouse.dblclick(x, y)
    page.wait_for_function("() => !location.href.includes('sel=')", timeout=30_000)
    wait_idle(page)
    page.locator("text=Click a point, or box / lasso several").wait_for(timeout=30_000)
    assert selected_heading(page) == ""
    assert page.locator(EXCEPTION).count() == 0
    page.screenshot(path=str(ARTIFACTS / "browser-map-cleared.png"), full_page=True)


def test_drawing_a_digit_encodes_it(page, app_url):
    page.goto(app_url + "/upload?model=mnist-vae&proj=pca")
    canvas = page.locator("canvas[aria-label='drawing pad']")
    canvas.wait_for(timeout=60_000)
    box = canvas.bounding_box()
    x0, y0, w, h = box["x"], box["y"], box["width"], box["height"]
    # a "7": a bar across the top, then a stroke down to the bottom left
    page.mouse.move(x0 + 0.25 * w, y0 + 0.2 * h)
    page.mouse.down()
    for t in range(1, 11):
        page.mouse.move(x0 + (0.25 + 0.5 * t / 10) * w, y0 + 0.2 * h)
    for t in range(1, 16):
        page.mouse.move(x0 + (0.75 - 0.3 * t / 15) * w, y0 + (0.2 + 0.65 * t / 15) * h)
    page.mouse.up()
    page.wait_for_selector("text=your drawing", timeout=60_000)
    page.wait_for_selector("text=Pixel MSE", timeout=60_000)
    wait_idle(page)
    assert page.locator(EXCEPTION).count() == 0
    page.screenshot(path=str(ARTIFACTS / "browser-drawpad.png"), full_page=True)
    assert canvas.is_visible()                                   # the pad and the drawing stay
    lit = page.evaluate("""() => { const c = document.querySelector('canvas[aria-label="drawing pad"]')
        || [...document.querySelectorAll('*')].map(e => e.shadowRoot).filter(Boolean)
              .map(r => r.querySelector('canvas[aria-label="drawing pad"]')).find(Boolean);
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] > 128) n++; return n; }""")
    assert lit > 500, lit
    captions = page.locator("[data-testid='stImage']").all_inner_texts()
    assert any("Nearest reference images" in c for c in captions), captions


DRAG_STATS = """() => { const s = window.__latentDrag; const l = [...s.lat].sort((a, b) => a - b);
    const ts = s.stamps; return { moves: s.moves, updates: s.updates, cells: new Set(s.cells).size,
    p95: l[Math.floor(l.length * 0.95)], span: ts[ts.length - 1] - ts[0] }; }"""


def drag_across(page, canvas, steps=40):
    box = canvas.bounding_box()
    x0, y0, w, h = box["x"], box["y"], box["width"], box["height"]
    page.mouse.move(x0 + 0.15 * w, y0 + 0.2 * h)
    page.mouse.down()
    for i in range(steps):
        t = i / (steps - 1)
        page.mouse.move(x0 + (0.15 + 0.7 * t) * w, y0 + (0.2 + 0.6 * t) * h)
    page.mouse.up()


def test_dragging_the_cursor_updates_the_decoded_image(page, app_url):
    page.goto(app_url + "/drag?model=fashion-mnist-gan&proj=tsne")
    canvas = page.locator("canvas.map")
    canvas.wait_for(timeout=90_000)
    wait_idle(page)
    exact = page.locator("[data-testid='stImage'] img").first
    before = exact.get_attribute("src")
    drag_across(page, canvas)
    stats = page.evaluate(DRAG_STATS)
    assert stats["updates"] >= 30 and stats["cells"] >= 10, stats      # the preview followed the pointer
    page.wait_for_function("(b) => { const i = document.querySelector(\"[data-testid='stImage'] img\");"
                           " return i && i.getAttribute('src') !== b; }", arg=before, timeout=30_000)
    wait_idle(page)
    assert page.locator(EXCEPTION).count() == 0
    page.screenshot(path=str(ARTIFACTS / "browser-drag.png"), full_page=True)
    assert page.locator(".dragmap .legend", has_text="Ankle boot").count() == 1    # colours explained
    # arrow keys nudge the cursor, and the release decodes again
    before = exact.get_attribute("src")
    canvas.focus()
    page.keyboard.press("Shift+ArrowLeft")
    page.wait_for_function("(b) => { const i = document.querySelector(\"[data-testid='stImage'] img\");"
                           " return i && i.getAttribute('src') !== b; }", arg=before, timeout=30_000)
    assert page.locator(EXCEPTION).count() == 0


# A drawn Plotly chart with at least 2,000 points, and whether it takes clicks (the first visit's
# still map is a staticPlot).
MAP_CHART = """(clickable) => [...document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')]
  .some(g => g.querySelector('.main-svg') && (g._fullData || []).reduce((n, t) => n + ((t.x && t.x.length) || 0), 0) >= 2000
             && Boolean(g._context && !g._context.staticPlot) === clickable)"""


def test_a_first_visit_shows_the_still_map_then_the_clickable_one_when_the_browser_has_it(browser):
    """On a fresh server the first visitor sees the default model's still map, and the browser's
    word (first_draw.js) takes the page on to the clickable map; the server's fallback timer, which
    logs that the browser never reported, is not what did it."""
    from conftest import streamlit_server
    from playground.first_draw import FALLBACK_LOG
    with streamlit_server() as (url, log):
        ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
        page = ctx.new_page()
        page.goto(url)
        page.wait_for_function(MAP_CHART, arg=False, timeout=60_000, polling=50)
        page.screenshot(path=str(ARTIFACTS / "browser-first-visit-still.png"))
        page.wait_for_function(MAP_CHART, arg=True, timeout=120_000, polling=100)
        page.get_by_text("10,000 points").wait_for(timeout=60_000)
        assert page.locator('[data-testid="stException"]').count() == 0
        page.screenshot(path=str(ARTIFACTS / "browser-first-visit-live.png"))
        ctx.close()
        with open(log) as f:
            assert FALLBACK_LOG not in f.read(), "the page went on by the fallback timer, not the browser's word"


PAD_PIXELS = """(sel) => {
    const find = (root) => root.querySelector(sel) || [...root.querySelectorAll('*')].map(e => e.shadowRoot)
        .filter(Boolean).map(find).find(Boolean);
    const c = find(document);
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const red = (x0, x1) => { let n = 0;
        for (let y = 0; y < c.height; y++) for (let x = x0; x < x1; x++) {
            const i = 4 * (y * c.width + x); if (d[i + 3] > 0 && d[i] > 200 && d[i + 1] < 120) n++; }
        return n; };
    const under = c.parentElement.querySelector('img.under');
    return {left: red(0, 100), right: red(180, 280), under_hidden: under.hidden,
            under_width: under.naturalWidth, under_src: under.src.slice(0, 21)};
}"""


def test_the_brush_paints_over_the_image_it_hides(page, app_url):
    """Mask mode of the drawing pad: the image shows under the pad, strokes show red over it, and
    the page fills in what was painted (left side painted: the left side is hidden)."""
    page.goto(app_url + "/inpaint?model=mnist-vae&proj=pca")
    page.get_by_text("Paint it with the brush").click(timeout=90_000)
    canvas = page.locator("canvas[aria-label='drawing pad']")
    canvas.wait_for(timeout=60_000)
    wait_idle(page)
    before = page.evaluate(PAD_PIXELS, "canvas[aria-label='drawing pad']")
    assert not before["under_hidden"] and before["under_width"] == 28, before   # the 28 x 28 image shows
    assert before["under_src"] == "data:image/png;base64", before
    assert before["left"] == 0
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
    after = page.evaluate(PAD_PIXELS, "canvas[aria-label='drawing pad']")
    assert after["left"] > 2000 and after["right"] == 0, after                   # the stroke, red, where drawn
    page.screenshot(path=str(ARTIFACTS / "browser-inpaint-brush.png"), full_page=True)
