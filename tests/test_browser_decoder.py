"""The decoder and the inverse in the browser (playground/decoder.js, playground/latent_inverse.js) in
headless Chromium, against torch and the server's inverse; then on the drag page itself.

- parity: 1,000 random codes per shipped generative model, decoded by the exported spec in the
  browser, differ from `model.decode` by at most 2/255 per pixel;
- the inverse: random map positions give the server's code (learned inverse, exact PCA with the
  hidden components of the cursor's code, the latent plane);
- the page: held still mid-drag, the preview is the server's exact decoding of that point; when the
  weights cannot be fetched, or the route is not served, the page says so and the preview is the
  blend of the four atlas cells around the cursor, following the pointer.
"""
import base64
import io
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import models
from conftest import ARTIFACTS, GENERATIVE
from page_js import find_in_page
from playground.decoder_export import export_decoder
from playground.decoder_inverse import inverse_desc, map_blob

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "playground" / f for f in ("latent_inverse.js", "decoder.js", "latent_path.js")]
TOLERANCE = 2 / 255

B64_TO_BUFFER = "b => Uint8Array.from(atob(b), c => c.charCodeAt(0)).buffer"
DECODE_ALL = """([spec, weights, codes, dim]) => {
    const buffer = Uint8Array.from(atob(weights), c => c.charCodeAt(0)).buffer;
    const model = LatentDecoder.build(spec, buffer);
    const z = new Float32Array(Uint8Array.from(atob(codes), c => c.charCodeAt(0)).buffer);
    const n = z.length / dim, size = model.imageShape.reduce((a, b) => a * b, 1);
    const out = new Float32Array(n * size);
    for (let i = 0; i < n; i++) out.set(model.run(z.subarray(i * dim, (i + 1) * dim)), i * size);
    let s = ''; const bytes = new Uint8Array(out.buffer);
    for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
    return btoa(s); }"""
INVERT_ALL = """([desc, blob, uvs]) => {
    const buffer = blob ? Uint8Array.from(atob(blob), c => c.charCodeAt(0)).buffer : null;
    const inv = LatentInverse.prepare(desc, buffer);
    return uvs.map(uv => Array.from(LatentInverse.toLatent(inv, uv))); }"""


def b64(a) -> str:
    return base64.b64encode(a if isinstance(a, bytes) else np.ascontiguousarray(a, "<f4").tobytes()).decode()


@pytest.fixture
def scripts_page(page):
    page.set_content("<!doctype html><html><body></body></html>")
    for path in SOURCES:
        page.add_script_tag(content=path.read_text(encoding="utf-8"))
    return page


@pytest.mark.parametrize("name", GENERATIVE)
def test_browser_decodes_1000_random_codes_like_torch(scripts_page, name):
    m = models.load(name)
    spec, blob = export_decoder(m)
    rng = np.random.default_rng(11)
    z = (rng.standard_normal((1000, m.latent_dim)) * rng.uniform(0.3, 2.0, (1000, 1))).astype(np.float32)
    out = scripts_page.evaluate(DECODE_ALL, [spec, b64(blob), b64(z), m.latent_dim])
    browser = np.frombuffer(base64.b64decode(out), "<f4").reshape(1000, *spec["image_shape"])
    want = m.decode(z)
    diff = np.abs(browser - want).max()
    assert diff <= TOLERANCE, f"{name}: max difference {diff * 255:.3f}/255"


def test_browser_runs_every_activation_odd_geometry_and_colour(scripts_page):
    """What no shipped model has yet: every activation, GELU's tanh form, BatchNorm far from the
    identity, non-square kernels, strides and paddings, output padding, an RGB image."""
    import torch
    from torch import nn
    from models.architectures import ACTIVATIONS, ConvVAE
    from playground.decoder_export import export_layers
    from test_decoder_export import Fake, codes, odd_layers, randomise_batchnorm
    cases = []
    for activation in sorted(ACTIVATIONS):
        torch.manual_seed(1)
        fake = Fake("vae", ConvVAE(latent_dim=5, channels=4, hidden=12, activation=activation, hidden_layers=2), 5)
        cases.append((activation, *export_decoder(fake), fake.decode, 5))
    layers = odd_layers()
    net = randomise_batchnorm(nn.Sequential(*layers)).eval()
    with torch.inference_mode():
        shape = net(torch.zeros(1, 4)).shape[1:]
    cases.append(("odd", *export_layers(layers, 4, shape),
                  lambda z: net(torch.from_numpy(z)).detach().numpy(), 4))
    for what, spec, blob, decode, dim in cases:
        z = codes(dim, 64, seed=4)
        out = scripts_page.evaluate(DECODE_ALL, [spec, b64(blob), b64(z), dim])
        got = np.frombuffer(base64.b64decode(out), "<f4").reshape(64, *spec["image_shape"])
        assert np.abs(got - decode(z)).max() < 1e-5, what


def test_browser_refuses_a_spec_it_cannot_run(scripts_page):
    """A layer the interpreter does not know, or weights that do not match the spec, stop the build
    with a message (the worker sends it to the page, which falls back and shows it)."""
    from torch import nn
    from playground.decoder_export import export_layers
    spec, blob = export_layers([nn.Linear(3, 4), nn.Unflatten(1, (1, 2, 2))], 3, (1, 2, 2))
    build = "([spec, weights]) => { try { LatentDecoder.build(spec, " + B64_TO_BUFFER.replace("b =>", "(b =>") \
        + ")(weights)); return 'built'; } catch (e) { return e.message; } }"
    unknown = {**spec, "layers": [*spec["layers"], {"op": "conv2d"}]}
    assert "unknown layer" in scripts_page.evaluate(build, [unknown, b64(blob)])
    assert "the weights hold 15 values" in scripts_page.evaluate(build, [spec, b64(blob[:-4])])
    assert scripts_page.evaluate(build, [spec, b64(blob)]) == "built"


# ---- the inverse ----------------------------------------------------------------------------------

def build(name, method):
    from playground.latent_map import build_map
    m = models.load(name)
    ref = models.reference(m.dataset) if m.kind == "vae" else None
    clf = models.load(models.classifier_name(m.card)) if m.kind == "gan" else None
    return m, build_map(m, method, ref, clf, write_dir=None)


@pytest.mark.parametrize("name, method, kind", [("mnist-vae", "tsne", "knn"), ("mnist-vae", "pca", "pca"),
                                                ("mnist-vae2d", "latent", "identity"),
                                                ("fashion-mnist-gan", "pca", "knn")])
def test_browser_inverse_gives_the_servers_code(scripts_page, name, method, kind):
    from playground.dragmap import denormalise, full_extent
    m, lmap = build(name, method)
    extent = full_extent(lmap.y)
    base = lmap.z[5] + 0.3                                   # the cursor's code: its hidden PCA part counts
    desc = inverse_desc(lmap, extent, base=base)
    assert desc["kind"] == kind
    blob = map_blob(lmap) if kind == "knn" else None
    rng = np.random.default_rng(3)
    uvs = np.round(rng.uniform(0, 1, (300, 2)), 5)
    # some positions right on map points, where the learned inverse's weights are steepest
    near = np.clip((lmap.y[:20] - extent[:, 0]) / (extent[:, 1] - extent[:, 0]), 0, 1)
    uvs = np.concatenate([uvs, near])
    got = np.array(scripts_page.evaluate(INVERT_ALL, [desc, blob and b64(blob), uvs.tolist()]), np.float32)
    want = np.stack([lmap.to_latent(denormalise(uv, extent)[None], base=base[None])[0] for uv in uvs])
    scale = np.abs(want).max()
    np.testing.assert_allclose(got, want, atol=1e-5 * scale, rtol=0)


def test_browser_inverse_on_a_70000_point_map_is_the_servers_k_d_tree(scripts_page):
    """All 70,000 Fashion-MNIST images make a map this large (Debian's data set installed): the
    browser searches every point (latent_inverse.js `nearest`) where the server's KNNInverse uses a
    k-d tree from 4,096 points; both must find the same neighbours and give the same code, between
    clusters, right on points, and at the last points of the map."""
    from playground.dragmap import denormalise, full_extent
    from playground.projection import KNNInverse
    rng = np.random.default_rng(70)
    n, dim = 70_000, 16
    centres = rng.uniform(-120, 120, (10, 2))
    source = (centres[rng.integers(0, 10, n)] + rng.normal(0, 9, (n, 2))).astype(np.float32)
    target = rng.standard_normal((n, dim)).astype(np.float32)
    inv = KNNInverse(k=8, power=2.0, keep_norm=True).fit(source, target)
    assert len(source) >= inv.TREE_MIN                       # the server's side is the k-d tree
    extent = full_extent(source)
    desc = {"kind": "knn", "extent": extent.tolist(), "dim": dim, "n": n, "k": inv.k_,
            "power": inv.power, "keep_norm": inv.keep_norm, "eps": inv.eps}
    blob = source.astype("<f4").tobytes() + target.astype("<f4").tobytes()
    on_points = np.clip((source[np.r_[:10, n - 10:n]] - extent[:, 0]) / (extent[:, 1] - extent[:, 0]), 0, 1)
    uvs = np.concatenate([np.round(rng.uniform(0, 1, (200, 2)), 5), on_points])
    got = np.array(scripts_page.evaluate(INVERT_ALL, [desc, b64(blob), uvs.tolist()]), np.float32)
    want = np.stack([inv.predict(denormalise(uv, extent)[None])[0] for uv in uvs])
    np.testing.assert_allclose(got, want, atol=1e-5 * np.abs(want).max(), rtol=0)


# ---- the drag page --------------------------------------------------------------------------------

FRAME_AT_CURSOR = """() => { const s = window.__latentDrag;
    return !!(s && s.frame && s.cursor && s.frame.uv[0] === s.cursor[0] && s.frame.uv[1] === s.cursor[1]); }"""
FRAME = "() => { const f = window.__latentDrag.frame; return { ...f, rgba: Array.from(f.rgba) }; }"


def decoder_ready(page):
    page.wait_for_function("() => window.__latentDrag && ['ready', 'failed'].includes(window.__latentDrag.decoder)",
                           timeout=60_000)
    stats = page.evaluate("() => window.__latentDrag")
    assert stats["decoder"] == "ready", stats["decoderError"]


@pytest.mark.parametrize("model, proj", [("mnist-vae", "tsne"), ("fashion-mnist-gan", "pca"), ("mnist-vae", "pca")])
def test_held_still_mid_drag_the_preview_is_the_servers_exact_decoding(page, app_url, model, proj):
    from test_browser_drag import exact_pixels, open_drag_page, point_at, preview_pixels, settle
    canvas = open_drag_page(page, app_url, model, proj)
    decoder_ready(page)
    before = page.evaluate("() => window.__latentDrag.decodes")
    page.mouse.move(*point_at(canvas, 0.3, 0.35))
    page.mouse.down()
    for t in np.linspace(0, 1, 20):
        page.mouse.move(*point_at(canvas, 0.3 + 0.33 * t, 0.35 + 0.3 * t))
    page.wait_for_function(FRAME_AT_CURSOR, timeout=30_000)          # held still: the newest frame is here
    page.wait_for_timeout(300)
    frame = page.evaluate(FRAME)
    stats = page.evaluate("() => window.__latentDrag")
    assert stats["preview"] == "decoded" and stats["decodes"] > before, stats["preview"]
    status = page.locator(".dragmap .status").inner_text()
    assert "computed in your browser" in status, status
    h, w = frame["shape"][1:]
    held = np.array(frame["rgba"], np.uint8).reshape(h, w, 4)[..., 0]
    assert held.max() > 100                                           # an image, not a black square
    assert np.abs(preview_pixels(page).astype(int) - held).max() == 0   # the canvas shows that frame
    page.mouse.up()
    settle(page)
    exact = exact_pixels(page)                                       # the server's decoding of the release
    assert np.abs(exact.astype(int) - held).max() <= 2, np.abs(exact.astype(int) - held).max()
    page.screenshot(path=str(ARTIFACTS / f"browser-decoder-{model}-{proj}.png"), full_page=True)


DRAG_MAP = find_in_page(".dragmap")
ATLAS_READY = f"""() => {{ const m = {DRAG_MAP}, a = m && m.__dragState && m.__dragState.atlas;
    return !!(a && a.complete && a.naturalWidth > 0); }}"""
# the atlas the drag map blends (its red channel: grey levels, base64), its grid and cell size
ATLAS = f"""() => {{ const s = ({DRAG_MAP}).__dragState, img = s.atlas;
    const c = document.createElement('canvas');
    c.width = img.naturalWidth; c.height = img.naturalHeight;
    const ctx = c.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const px = ctx.getImageData(0, 0, c.width, c.height).data, red = new Uint8Array(px.length / 4);
    for (let i = 0; i < red.length; i++) red[i] = px[4 * i];
    let text = '';
    for (let i = 0; i < red.length; i += 8192) text += String.fromCharCode(...red.subarray(i, i + 8192));
    return {{ red: btoa(text), width: c.width, height: c.height, n: s.data.n, cell: s.data.cell,
             cellW: s.data.cell_w || s.data.cell }}; }}"""


def atlas_blend(atlas: dict, uv) -> np.ndarray:
    """The bilinear blend of the four atlas cells around map position uv ((0, 0) bottom left; the
    atlas's first row of cells is the map's top), in grey levels."""
    n, h, w = atlas["n"], atlas["cell"], atlas["cellW"]
    grid = np.frombuffer(base64.b64decode(atlas["red"]), np.uint8).reshape(atlas["height"], atlas["width"])
    across, down = uv[0] * (n - 1), (1 - uv[1]) * (n - 1)
    col0, row0 = int(across), int(down)
    col1, row1 = min(col0 + 1, n - 1), min(row0 + 1, n - 1)
    wx, wy = across - col0, down - row0
    cell = lambda row, col: grid[row * h:(row + 1) * h, col * w:(col + 1) * w].astype(float)   # noqa: E731
    return ((1 - wx) * (1 - wy) * cell(row0, col0) + wx * (1 - wy) * cell(row0, col1)
            + (1 - wx) * wy * cell(row1, col0) + wx * wy * cell(row1, col1))


def drag_and_check_the_blend(page, canvas):
    """With the decoder failed, press and drag to one map position, then on to another far from it,
    the pointer held down: at each, the preview must be the blend of the four atlas cells around
    the cursor (not the black square drawPreview starts from), and differ between the two. Leaves
    the pointer down."""
    from test_browser_drag import point_at, preview_pixels
    page.wait_for_function(ATLAS_READY, timeout=30_000)
    atlas = page.evaluate(ATLAS)
    page.mouse.move(*point_at(canvas, 0.1, 0.1))
    page.mouse.down()
    shown = []
    for a, b in [((0.1, 0.1), (0.2, 0.25)), ((0.2, 0.25), (0.8, 0.8))]:
        for t in np.linspace(0, 1, 10):
            page.mouse.move(*point_at(canvas, a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])))
        stats = page.evaluate("() => window.__latentDrag")
        assert stats["preview"] == "blend" and stats["decodes"] == 0, stats["preview"]
        np.testing.assert_allclose(stats["cursor"], b, atol=0.01)
        preview, want = preview_pixels(page).astype(float), atlas_blend(atlas, stats["cursor"])
        assert want.max() > 100, b                                   # the atlas has an image there
        assert preview.max() > 100, (b, preview.max())               # an image, not a black square
        error, blank = np.abs(preview - want).mean(), want.mean()
        assert error <= 2, (b, error, blank)                         # the blend at the cursor
        shown.append(preview)
    moved = np.abs(shown[0] - shown[1]).mean()
    assert moved > 10, moved                                         # it follows the pointer


def test_without_the_weights_the_page_says_so_and_blends_the_atlas(page, app_url):
    from test_browser_drag import open_drag_page
    page.route("**/lp-decoder/decoder-*", lambda route: route.abort())      # the weights only
    canvas = open_drag_page(page, app_url, "mnist-vae", "tsne")
    page.wait_for_function("() => window.__latentDrag && window.__latentDrag.decoder === 'failed'", timeout=60_000)
    drag_and_check_the_blend(page, canvas)
    status = page.locator(".dragmap .status")
    assert status.is_visible()
    assert "The in-browser decoder could not start" in status.inner_text(), status.inner_text()
    assert "blended from pre-decoded images" in status.inner_text()
    page.screenshot(path=str(ARTIFACTS / "browser-decoder-fallback.png"), full_page=True)
    page.mouse.up()


def test_started_without_the_route_the_page_says_why_and_blends_the_atlas(page):
    """`streamlit run playground/app.py` has no /lp-decoder route (only playground/server.py mounts
    it): the page says why the preview is blended, blends the atlas while dragging, and still draws
    the map's points and its atlas (sent inline instead)."""
    from conftest import streamlit_server
    from playground.decoder_page import NOT_SERVED
    from test_browser_drag import open_drag_page
    asked = []
    page.on("request", lambda request: asked.append(request.url) if "/lp-decoder/" in request.url else None)
    with streamlit_server("app.py") as (url, _log):
        canvas = open_drag_page(page, url, "mnist-vae", "tsne")
        page.wait_for_function("() => window.__latentDrag && window.__latentDrag.decoder === 'failed'",
                               timeout=60_000)
        assert page.evaluate("() => window.__latentDrag.decoderError") == NOT_SERVED
        drag_and_check_the_blend(page, canvas)
        status = page.locator(".dragmap .status").inner_text()
        assert f"The in-browser decoder could not start ({NOT_SERVED})" in status, status
        assert "blended from pre-decoded images" in status, status
        drawn = page.evaluate(f"""() => {{ const s = ({DRAG_MAP}).__dragState;
            return {{ points: s.data.points.length / 2, atlas: s.atlas.naturalWidth, note: s.pointsNote || '' }}; }}""")
        assert drawn["points"] == 10_000 and drawn["atlas"] > 0 and not drawn["note"], drawn
        page.screenshot(path=str(ARTIFACTS / "browser-decoder-not-served.png"), full_page=True)
        page.mouse.up()
    assert asked == [], asked                      # nothing asked of a route that is not there


ASK_DEADLINE_S = 60


def test_the_weights_come_over_the_network_once_per_model(page, app_url):
    """Weights go to the browser once per model and are cached: a release (a run that publishes the
    weights again), a projection switch and back (a new component each time, so a new worker that
    asks for the weights again), another model and a second visit: each model's weights come under
    one URL, over the network once; every later ask is answered by the browser's cache. Each step
    waits until its ask has finished (Playwright reports a request in its own time), no longer."""
    from test_browser_drag import CAUGHT_UP, point_at
    shas = {m: models.load(m).card["weights"]["sha256"] for m in ("mnist-vae", "fashion-mnist-gan")}
    asked, transferred = {}, {}

    def finished(request):
        if "/lp-decoder/decoder-" in request.url:
            name = request.url.rsplit("/", 1)[-1]
            asked[name] = asked.get(name, 0) + 1
            if request.sizes()["responseBodySize"] > 0:          # body bytes came over the network
                transferred[name] = transferred.get(name, 0) + 1
    page.on("requestfinished", finished)

    def asks_finished(model: str, count: int, after: str):
        """Until `count` asks for the model's weights have finished (under any URL)."""
        deadline = time.monotonic() + ASK_DEADLINE_S
        while sum(n for name, n in asked.items() if shas[model] in name) < count:
            assert time.monotonic() < deadline, \
                f"{after}: ask {count} for {model}'s weights not seen in {ASK_DEADLINE_S} s; asked {asked}"
            page.wait_for_timeout(50)

    def visit(model: str, proj: str):
        page.goto(f"{app_url}/drag?model={model}&proj={proj}")
        page.locator("canvas.map").wait_for(timeout=120_000)
        decoder_ready(page)                      # a new page: its stats start afresh

    visit("mnist-vae", "tsne")
    asks_finished("mnist-vae", 1, "the first visit")
    canvas = page.locator("canvas.map")
    page.mouse.move(*point_at(canvas, 0.3, 0.3))
    page.mouse.down()
    for t in np.linspace(0, 1, 8):
        page.mouse.move(*point_at(canvas, 0.3 + 0.3 * t, 0.3 + 0.1 * t))
    page.mouse.up()
    page.wait_for_function(CAUGHT_UP, timeout=60_000)      # the release's run has reached the page
    for count, proj in [(2, "PCA"), (3, "t-SNE")]:
        page.get_by_text(proj, exact=True).click()
        asks_finished("mnist-vae", count, f"switching to {proj}")   # the new component's worker asked
    assert "proj=tsne" in page.url, page.url
    visit("fashion-mnist-gan", "pca")                                            # another model
    asks_finished("fashion-mnist-gan", 1, "another model")
    visit("mnist-vae", "tsne")                                                   # a second visit
    asks_finished("mnist-vae", 4, "the second visit")
    for model, sha in shas.items():
        urls = [name for name in asked if sha in name]
        assert len(urls) == 1, (model, asked)                    # one URL for the model's weights
        assert transferred.get(urls[0]) == 1, (model, asked, transferred)
    assert len(asked) == 2, asked


# ---- the Interpolate page's scrubber --------------------------------------------------------------

def test_path_codes_in_the_browser_are_the_servers_frames(scripts_page):
    from playground.interpolation import interpolate
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((2, 16)).astype(np.float32)
    for za, zb in [(a, b), (a, -a), (a, a * 2), (np.zeros(16, np.float32), b)]:   # usual, opposite, same direction, zero
        for method in ("linear", "spherical"):
            want = interpolate(za, zb, 7, method)
            got = scripts_page.evaluate("([a, b, m]) => [0, 1, 2, 3, 4, 5, 6].map(k => "
                                        "Array.from(LatentPath.codeAt(a, b, k / 6, m)))",
                                        [za.tolist(), zb.tolist(), method])
            np.testing.assert_allclose(np.array(got, np.float32), want, atol=1e-5, err_msg=method)
    pts = scripts_page.evaluate("() => LatentPath.resample([[0, 0], [1, 0], [1, 1]], 5)")
    np.testing.assert_allclose(pts, [[0, 0], [0.5, 0], [1, 0], [1, 0.5], [1, 1]], atol=1e-12)


SCRUB_STATE = "() => { const el = " + find_in_page(".scrubber") + """;
    return el && el.__scrubState ? { za: el.__scrubState.data.za, zb: el.__scrubState.data.zb,
                                     method: el.__scrubState.data.method, url: el.__scrubState.pointsUrl,
                                     n: el.__scrubState.data.points.length / 2,
                                     labels: el.__scrubState.data.labels.length,
                                     inline: typeof el.__scrubState.data.points === 'string' } : null; }"""
SCRUB_FRAME = "() => { const f = window.__latentScrub.frame; return f && { ...f, rgba: Array.from(f.rgba) }; }"


def test_scrubber_decodes_every_position_and_a_drawn_path_plays_and_exports(page, app_url):
    from playground.interpolation import interpolate
    from test_browser_drag import wait_idle
    page.goto(f"{app_url}/interpolate?model=mnist-vae&proj=tsne")
    slider = page.locator(".scrubber input.position")
    slider.wait_for(timeout=120_000)
    wait_idle(page)
    page.wait_for_function("() => window.__latentScrub && ['ready', 'failed'].includes(window.__latentScrub.decoder)",
                           timeout=60_000)
    assert page.evaluate("() => window.__latentScrub.decoder") == "ready", page.evaluate("() => window.__latentScrub")
    page.wait_for_function(f"() => {{ const s = ({SCRUB_STATE})(); return s && s.n > 0; }}", timeout=30_000)
    ends = page.evaluate(SCRUB_STATE)
    # the map's points came as the drag map's do: a blob fetched once, not text in every run's data
    assert ends["url"].startswith("/lp-decoder/points-") and not ends["inline"], ends
    assert ends["n"] == ends["labels"] == 10_000, ends
    za, zb = np.array(ends["za"], np.float32), np.array(ends["zb"], np.float32)
    m = models.load("mnist-vae")
    want = interpolate(za, zb, 5, ends["method"])
    for k in (1, 3):                                          # t = 0.25 and 0.75: frames 1 and 3 of 5
        before = page.evaluate("() => window.__latentScrub.decodes")
        slider.evaluate(f"el => {{ el.value = '{250 * k}'; el.dispatchEvent(new Event('input')); }}")
        page.wait_for_function(f"() => window.__latentScrub.decodes > {before} && window.__latentScrub.frame.t === {k / 4}",
                               timeout=30_000)
        frame = page.evaluate(SCRUB_FRAME)
        np.testing.assert_allclose(frame["z"], want[k], atol=1e-5)
        pixels = np.array(frame["rgba"], np.uint8).reshape(28, 28, 4)[..., 0].astype(int)
        exact = np.clip(m.decode(want[k][None])[0, 0] * 255 + 0.5, 0, 255).astype(int)
        assert np.abs(pixels - exact).max() <= 2
    # a freehand path: it plays back, and the server offers its frames as a GIF
    page.get_by_role("button", name="Draw a path").click()
    box = page.locator(".scrubber canvas.map").bounding_box()
    page.mouse.move(box["x"] + 0.2 * box["width"], box["y"] + 0.7 * box["height"])
    page.mouse.down()
    for t in np.linspace(0, 1, 25):
        page.mouse.move(box["x"] + (0.2 + 0.6 * t) * box["width"],
                        box["y"] + (0.7 - 0.5 * t + 0.2 * np.sin(6 * t)) * box["height"])
    page.mouse.up()
    page.wait_for_function("() => window.__latentScrub.mode === 'drawn' && window.__latentScrub.playing", timeout=10_000)
    start = page.evaluate("() => window.__latentScrub.decodes")
    page.wait_for_function(f"() => window.__latentScrub.decodes > {start + 5}", timeout=30_000)   # it plays
    button = page.get_by_role("button", name="Download your drawn path as GIF (48 frames)")
    button.wait_for(timeout=60_000)
    with page.expect_download() as download:
        button.click()
    gif = Image.open(download.value.path())
    assert gif.n_frames == 48                                  # one way along the drawn path
    first = np.asarray(gif.convert("L")).astype(int)
    gif.seek(47)
    assert np.abs(np.asarray(gif.convert("L")).astype(int) - first).mean() > 5     # it moved
    page.screenshot(path=str(ARTIFACTS / "browser-scrubber.png"), full_page=True)
