"""Exact decodes in the browser while dragging, per shipped generative model (headless Chromium).

    python bench/browser_decode.py                  # every shipped generative model, t-SNE maps
    python bench/browser_decode.py --proj pca --models mnist-vae fashion-mnist-vae
    python bench/browser_decode.py --models fashion-mnist-vae --points 70000   # all of Fashion-MNIST

Starts the app (playground/server.py, which serves the decoder's weights), opens the drag page of
each model, waits for the in-browser decoder, then drags the cursor in 180 pointer moves, one every
8 ms (a 125 Hz mouse: more positions than the decoder can take, so the rate measured is the
decoder's), dispatched in the page, and reads the component's counters
(window.__latentDrag): exact decodes per second while dragging (frames the worker decoded and the
page drew, over the time from the first to the last), pointer-to-pixels p50 and p95 (from each
pointer event to the animation frame after the frame that shows its position or a newer one; a
position superseded while the worker was busy counts from its own event), and the worker's time
per decode (inverse + decoder + pixels; 1000 / it is what the decoder could do). When every move
is decoded, the rate measured is the pointer's, not the decoder's limit. Targets (issue 11): at least 30 decodes a second, p95
under 50 ms. On a shared machine the figures are noisy: the output says so.

--points N opens the page with `n=N` in its URL, the map's size as the Latent map page offers it
(playground/map_points.py sizes: 2,000 ... 50,000 and all; 70,000 Fashion-MNIST images when Debian's
dataset-fashion-mnist is installed; the page snaps another N to the nearest size offered, and a
GAN's map stays 3,000 samples): the line says how many points the map has. A size not yet built is
computed by the app on the first visit (a 70,000-point t-SNE map: a minute or two) and kept in the
user's map cache (~/.cache/latent-playground/maps, or $LATENT_PLAYGROUND_CACHE), so later runs
reuse it. The learned inverse (t-SNE and feature maps) finds the cursor's k nearest map points by a
search over all of them in the worker (playground/latent_inverse.js `nearest`), so its cost grows
with the map: the line prints the inverse's own time per position too (the same script and map data,
200 positions on the page's main thread, mean and p95), beside the worker's whole decode.

Hit-testing: the drag map has no per-point hit test. A pointer event becomes a map position in
constant time (dragmap.js `toUnit`, whatever the map's size); the only per-point work while dragging
is the inverse's nearest-neighbour search above (and the map's drawing, bench/dragmap_draw.py).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import models  # noqa: E402
from page_js import find_in_page  # noqa: E402

STATS = """() => { const s = window.__latentDrag;
    return { decodes: s.decodes, lat: s.decodeLat, stamps: s.decodeStamps, decoder: s.decoder,
             error: s.decoderError, ms: s.decodeMs }; }"""
# The map's size, and the learned inverse's own time per position: latent_inverse.js (passed as
# text, kept out of the page's globals) on the map data the page's worker fetched (the browser's
# cache answers), 200 positions; a batch's mean as well, performance.now() being coarse in a page.
INVERSE_TIMES = """async ([source, positions]) => {
    const map = %s;
    const data = map.__dragState.data, inverse = data.inverse;
    const points = data.n_points || (data.labels ? data.labels.length : null);
    if (!inverse) return { points, kind: null };
    const LI = new Function(source + '\\nreturn LatentInverse;')();
    const buffer = inverse.url ? await (await fetch(inverse.url)).arrayBuffer() : null;
    const inv = LI.prepare(inverse.desc, buffer);
    const times = [], start = performance.now();
    for (const uv of positions) { const t = performance.now(); LI.toLatent(inv, uv); times.push(performance.now() - t); }
    return { points, kind: inverse.desc.kind, times, mean: (performance.now() - start) / positions.length };
}""" % find_in_page(".dragmap")


# Pointer moves dispatched in the page at a fixed pace (a Playwright move per event would pace the
# drag by its own round trips): a loop over the map, between clusters as well as on them.
IN_PAGE_DRAG = """async (canvas, [moves, every]) => {
    const box = canvas.getBoundingClientRect();
    for (let i = 0; i < moves; i++) {
        const t = i / (moves - 1), a = 2 * Math.PI * t + 1.25 * Math.PI;
        canvas.dispatchEvent(new PointerEvent('pointermove', { bubbles: true, pointerId: 1, isPrimary: true,
            clientX: box.left + (0.5 + 0.35 * Math.cos(a)) * box.width,
            clientY: box.top + (0.5 + 0.35 * Math.sin(a)) * box.height }));
        await new Promise((resolve) => setTimeout(resolve, every));
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
}"""


def drag_rate(stamps, new: int) -> float:
    """Frames a second over the drag: the drag's own frames (the last `new` time stamps), from its
    first to its last; never the page's first frame, decoded at rest before the drag began."""
    ts = list(stamps)[-new:] if new > 0 else []
    return (len(ts) - 1) / ((ts[-1] - ts[0]) / 1000) if len(ts) > 1 and ts[-1] > ts[0] else float("nan")


def drag(page, canvas, moves: int, every_ms: int) -> None:
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 0.2 * box["width"], box["y"] + 0.2 * box["height"])
    page.mouse.down()
    canvas.evaluate(IN_PAGE_DRAG, [moves, every_ms])
    page.mouse.up()


def main() -> None:
    generative = [l.name for l in models.available() if l.ok and l.card["kind"] in ("vae", "gan")]
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", nargs="*", default=generative)
    ap.add_argument("--proj", default="tsne")
    ap.add_argument("--moves", type=int, default=180)
    ap.add_argument("--every", type=int, default=8, help="milliseconds between pointer moves (8: a 125 Hz mouse)")
    ap.add_argument("--points", type=int, default=None,
                    help="the map's size (the page's n=; default: the page's, 10,000 for a VAE)")
    args = ap.parse_args()
    if args.points is not None and args.points <= 0:
        ap.error(f"--points must be a positive number of map points, not {args.points}")
    # Maps are built once and kept in the user's map cache (conftest, imported next, would otherwise
    # send them to a throw-away folder and a 70,000-point map would be computed on every run).
    os.environ.setdefault("LATENT_PLAYGROUND_CACHE", str(Path.home() / ".cache" / "latent-playground"))
    from playwright.sync_api import sync_playwright
    from conftest import streamlit_server
    inverse_js = (ROOT / "playground" / "latent_inverse.js").read_text(encoding="utf-8")
    positions = np.random.default_rng(0).uniform(0, 1, (200, 2)).round(5).tolist()

    print(f"Exact decodes in the browser while dragging ({args.moves} pointer moves, one per {args.every} ms), "
          f"headless Chromium, {os.cpu_count()} CPUs. Measured on a shared machine: noisy.")
    with streamlit_server() as (url, _log), sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                              args=["--no-sandbox", "--disable-gpu"])
        for name in args.models:
            proj = args.proj
            page = b.new_page(viewport={"width": 1440, "height": 1100})
            size = f"&n={args.points}" if args.points else ""
            page.goto(f"{url}/drag?model={name}&proj={proj}{size}")
            canvas = page.locator("canvas.map")
            canvas.wait_for(timeout=1_200_000)         # a size not built yet is built first
            page.wait_for_function("() => window.__latentDrag && ['ready', 'failed']"
                                   ".includes(window.__latentDrag.decoder)", timeout=120_000)
            page.wait_for_timeout(1500)
            before = page.evaluate(STATS)
            if before["decoder"] != "ready":
                print(f"  {name:26s} decoder failed: {before['error']}")
                page.close()
                continue
            drag(page, canvas, args.moves, args.every)
            s = page.evaluate(STATS)
            new = s["decodes"] - before["decodes"]
            rate = drag_rate(s["stamps"], new)
            lat = np.array(s["lat"][-new:]) if new else np.array([np.nan])
            worker = np.array(s["ms"][-new:]) if new else np.array([np.nan])
            kept_up = " every move decoded: the rate is the pointer's" if new >= args.moves else ""
            inv = page.evaluate(INVERSE_TIMES, [inverse_js, positions])
            points = f"{inv['points']:,}" if inv["points"] else "?"
            inverse = (f"inverse ({inv['kind']}) mean {inv['mean']:.2f} ms, p95 "
                       f"{np.percentile(inv['times'], 95):.1f} ms a position" if inv["kind"] else "no inverse")
            print(f"  {name:26s} {proj:5s} {points:>7s} points {rate:6.1f} exact decodes/s   pointer -> pixels "
                  f"p50 {np.percentile(lat, 50):5.1f} ms, p95 {np.percentile(lat, 95):5.1f} ms   "
                  f"(worker p50 {np.percentile(worker, 50):4.1f} ms, p95 {np.percentile(worker, 95):4.1f} ms "
                  f"a decode; {inverse}; {new} frames for {args.moves} moves;{kept_up})")
            page.close()
        b.close()


if __name__ == "__main__":
    main()
