"""The drag map's drawing at 10,000 and 70,000 points, in headless Chromium, without the app.

    python bench/dragmap_draw.py [--points 10000 70000] [--moves 120]
Loads playground/dragmap.js into a bare page with the component's markup, gives it N random points
(10 classes, as the JSON text the app sends when it does not serve them as a blob) and no
browser decoder (so the preview is the atlas blend: this measures the map's
drawing, not the decoder), then times: the first run of the page's data (the points layer drawn),
a second run with the same data (the layer reused), and --moves pointer moves while dragging
(each redraws the map from the layers, the cursor and the preview): ms per move and the moves per
second that allows. Needs Debian's chromium and Playwright. On a shared machine: noisy.

No hit-testing figure: the drag map has no per-point hit test (no hover or pick of a point). A
pointer event becomes a map position in constant time (dragmap.js `toUnit`), whatever the map's
size. The per-point work while dragging is the learned inverse's nearest-neighbour search in the
decoder's worker (latent_inverse.js `nearest`), timed by `bench/browser_decode.py --points N`."""
from __future__ import annotations

import argparse
import base64
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BLANK_PNG = ("data:image/png;base64," + base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082")).decode())

PAGE = """<!doctype html><html><body>
<div class="dragmap"><canvas class="map" width="560" height="560" tabindex="0"></canvas>
<canvas class="preview" width="168" height="168"></canvas><div class="status"></div>
<div class="legend"></div></div></body></html>"""

MEASURE = """async ([data, moves]) => {
  const root = document.querySelector('.dragmap');
  const run = (d) => { const t = performance.now(); window.dragmap({ parentElement: document.body,
      data: d, setStateValue: () => {} }); return performance.now() - t; };
  const first = run(data);
  const second = run(JSON.parse(JSON.stringify(data)));          // a rerun: same map, new object
  const map = root.querySelector('canvas.map');
  const box = map.getBoundingClientRect();
  const ev = (type, i) => new PointerEvent(type, { pointerId: 1, bubbles: true, isPrimary: true,
      clientX: box.left + box.width * (0.2 + 0.6 * (i % 60) / 60), clientY: box.top + box.height * 0.5 });
  try { map.setPointerCapture = () => {}; } catch (e) {}
  map.dispatchEvent(ev('pointerdown', 0));
  const times = [];
  for (let i = 1; i <= moves; i++) {
    const t = performance.now();
    map.dispatchEvent(ev('pointermove', i));
    times.push(performance.now() - t);
    await new Promise(r => requestAnimationFrame(r));
  }
  map.dispatchEvent(ev('pointerup', moves));
  times.sort((a, b) => a - b);
  return { first, second, median: times[times.length >> 1], p95: times[Math.floor(times.length * 0.95)],
           layerDraws: root.__dragState.layerDraws ?? '-' };
}"""


def data_for(n: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0.15, 0.85, (10, 2))
    labels = rng.integers(0, 10, n)
    uv = np.clip(centres[labels] + rng.normal(0, 0.06, (n, 2)), 0, 1)
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
               "#bcbd22", "#17becf"]
    return dict(points=json.dumps(np.round(uv.ravel(), 4).tolist()), labels=json.dumps(labels.tolist()),
                colors=palette,
                atlas=BLANK_PNG, n=24, cell=28, cell_w=28, cursor=[0.5, 0.5], rev=1, seq=None, mount=None,
                exact=BLANK_PNG, show_atlas=False, pins=[], names=[str(i) for i in range(10)],
                label_source="true class", decoder={"error": "not measured here"}, inverse=None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, nargs="+", default=[10_000, 70_000])
    ap.add_argument("--moves", type=int, default=120)
    ap.add_argument("--js", type=Path, default=ROOT / "playground" / "dragmap.js",
                    help="another version of dragmap.js to compare (e.g. from git show)")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    source = (ROOT / "playground" / "map_points.js").read_text() + "\n" + args.js.read_text()
    source = source.replace("export default function", "window.dragmap = function")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        print(f"{'points':>8s} {'first data (ms)':>16s} {'same data again (ms)':>21s} "
              f"{'move median (ms)':>17s} {'move p95 (ms)':>14s} {'moves/s allowed':>16s}  layer draws")
        for n in args.points:
            page = browser.new_page()
            page.set_content(PAGE)
            page.add_script_tag(content=source, type="module")
            page.wait_for_function("typeof window.dragmap === 'function'")
            r = page.evaluate(MEASURE, [data_for(n), args.moves])
            print(f"{n:8,d} {r['first']:16.1f} {r['second']:21.1f} {r['median']:17.2f} {r['p95']:14.2f} "
                  f"{1000 / max(r['p95'], 1e-3):16.0f}  {r['layerDraws']}")
            page.close()
        browser.close()
    print("moves/s allowed: 1000 / p95 of one move's drawing (the screen shows at most 60 of them)")


if __name__ == "__main__":
    main()
