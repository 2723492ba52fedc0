"""Dragging through latent space: browser-side update rate and latency, server-side work per step.

    python bench/drag_speed.py                   # starts the app on a free port, drives Debian's chromium
    python bench/drag_speed.py --while-training  # the same while another tab trains the default preset
In the browser (headless Chromium, Playwright): drags the cursor across the map in 60 pointer moves
and reads the component's own counters: preview updates per second while dragging, the time from
each pointer event to the frame that shows its image (p50, p95), and how many of those frames were
exact decodes by the in-browser decoder; then releases the cursor at 8 new points and times each
release to the moment the exact decoding of that point is on screen (the browser decoder's frame of
the released point, or the server's image, whichever first) and to the server's own exact image. On the server: the learned or exact
inverse + decode + PNG encode of one cursor position (what a release costs), best of 50.
"""
from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

from _common import best_of, models
from playground.imaging import png_bytes, tile, upscale
from playground.latent_map import build_map

ROOT = Path(__file__).resolve().parent.parent
CASES = [("mnist-vae", "tsne"), ("mnist-vae", "pca"), ("fashion-mnist-gan", "tsne")]


def server_step():
    print("Server work per drag step (inverse + decode + PNG), best of 50:")
    for name, method in CASES:
        m = models.load(name)
        ref = models.reference(m.dataset) if m.kind == "vae" else None
        clf = models.load(models.classifier_name(m.card)) if m.kind == "gan" else None
        lmap = build_map(m, method, ref, clf, write_dir=None)
        pos = lmap.y[:1] + 0.37
        base = lmap.z[:1]

        def step():
            z = lmap.to_latent(pos, base=base)
            return png_bytes(upscale(tile(m.decode(z), 1), 5))
        print(f"  {name:20s} {method:5s} {best_of(step, 50) * 1000:6.2f} ms")


def start_training(b, url: str) -> None:
    """Another tab presses Train on the default preset and keeps watching (so the run is not idle)."""
    page = b.new_page(viewport={"width": 1440, "height": 1100})
    page.goto(f"{url}/train")
    page.get_by_role("button", name="Train", exact=True).click(timeout=120_000)
    page.get_by_text("step", exact=False).first.wait_for(timeout=120_000)
    print("  (a default-preset run is training in another tab)")


# The exact decoding of the point where the drag ended is on screen: the server's (preview 'exact'), or
# the browser decoder's frame of that very point (preview 'decoded', frame.uv == released).
EXACT_SHOWN = """() => { const s = window.__latentDrag; if (s.preview === 'exact') return true;
    return s.preview === 'decoded' && s.frame && s.released
        && Math.abs(s.frame.uv[0] - s.released[0]) < 1e-9 && Math.abs(s.frame.uv[1] - s.released[1]) < 1e-9; }"""


def release_times(page, canvas, n: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Release the cursor at n new points; seconds from each release to its exact decoding on screen
    (from the browser's decoder or the server, whichever first), and to the server's own."""
    box = canvas.bounding_box()
    x0, y0, w, h = box["x"], box["y"], box["width"], box["height"]
    rng = np.random.default_rng(0)
    first, server = [], []
    for fx, fy in rng.uniform(0.2, 0.8, size=(n, 2)):
        page.mouse.move(x0 + fx * w, y0 + fy * h)
        page.mouse.down()
        page.mouse.move(x0 + (fx + 0.02) * w, y0 + (fy + 0.02) * h, steps=3)
        page.wait_for_function("() => window.__latentDrag.preview !== 'exact'", timeout=30_000, polling=5)
        t0 = time.perf_counter()
        page.mouse.up()
        page.wait_for_function(EXACT_SHOWN, timeout=60_000, polling=5)
        first.append(time.perf_counter() - t0)
        page.wait_for_function("() => window.__latentDrag.preview === 'exact'", timeout=60_000, polling=5)
        server.append(time.perf_counter() - t0)
        page.wait_for_timeout(300)
    return np.array(first), np.array(server)


def browser(while_training: bool = False):
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # server.py, as the README starts the app: it also serves the browser decoder's weights
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "playground" / "server.py"),
                             "--server.headless", "true", "--server.port", str(port)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(url + "/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        print("\nIn the browser (headless Chromium), a drag of 60 pointer moves:")
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"])
            if while_training:
                start_training(b, url)
            for name, method in CASES:
                page = b.new_page(viewport={"width": 1440, "height": 1100})
                page.goto(f"{url}/drag?model={name}&proj={method}")
                canvas = page.locator("canvas.map")
                canvas.wait_for(timeout=120_000)
                page.wait_for_function("() => window.__latentDrag && ['ready', 'failed'].includes("
                                       "window.__latentDrag.decoder)", timeout=120_000)
                decoder = page.evaluate("() => [window.__latentDrag.decoder, window.__latentDrag.decoderError]")
                page.wait_for_timeout(1000)
                box = canvas.bounding_box()
                x0, y0, w, h = box["x"], box["y"], box["width"], box["height"]
                t_drag = page.evaluate("() => performance.now()")
                page.mouse.move(x0 + 0.1 * w, y0 + 0.1 * h)
                page.mouse.down()
                for i in range(60):
                    t = i / 59
                    page.mouse.move(x0 + (0.1 + 0.8 * t) * w, y0 + (0.1 + 0.8 * t) * h)
                    page.wait_for_timeout(16)                  # a hand moves at about 60 events a second
                page.mouse.up()
                s = page.evaluate("""(t0) => { const s = window.__latentDrag; const ts = s.stamps;
                    const ds = s.decodeStamps.filter((t) => t >= t0);
                    return { updates: s.updates, lat: s.lat, span: ts[ts.length - 1] - ts[0],
                             cells: new Set(s.cells).size, decodes: ds.length,
                             dspan: ds.length > 1 ? ds[ds.length - 1] - ds[0] : 0 }; }""", t_drag)
                lat = np.array(s["lat"])
                exact = (f"   exact decodes in the browser {s['decodes'] / (s['dspan'] / 1000):5.1f}/s"
                         if s["dspan"] else "   no exact decodes in the browser")
                print(f"  {name:20s} {method:5s} {s['updates'] / (s['span'] / 1000):6.1f} updates/s   "
                      f"pointer -> frame p50 {np.percentile(lat, 50):5.1f} ms, p95 {np.percentile(lat, 95):5.1f} ms"
                      f"   ({s['cells']} distinct previews)" + exact)
                if decoder[0] == "ready":     # the page's own limit: a 125 Hz pointer paced in the page
                    from browser_decode import STATS, drag as paced_drag
                    t_paced = page.evaluate("() => performance.now()")
                    paced_drag(page, canvas, 180, 8)
                    q = page.evaluate("""(t0) => { const ts = window.__latentDrag.decodeStamps.filter((t) => t >= t0);
                        return [ts.length, ts.length > 1 ? ts[ts.length - 1] - ts[0] : 0]; }""", t_paced)
                    if q[1]:
                        print(f"  {'':20s} {'':5s} 180 moves paced in the page every 8 ms: "
                              f"{q[0] / (q[1] / 1000):5.1f} exact previews a second (the page's limit)")
                print(f"  {'':20s} {'':5s} in-browser decoder: {decoder[0]}" + (f" ({decoder[1]})" if decoder[1] else ""))
                rel, srv = (a * 1000 for a in release_times(page, canvas))
                print(f"  {'':20s} {'':5s} release -> exact image on screen p50 {np.percentile(rel, 50):5.0f} ms, "
                      f"p95 {np.percentile(rel, 95):5.0f} ms; the server's own p50 {np.percentile(srv, 50):5.0f} ms, "
                      f"p95 {np.percentile(srv, 95):5.0f} ms (8 releases)")
                page.close()
            b.close()
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--while-training", action="store_true",
                    help="measure while another tab trains the Train page's default preset")
    args = ap.parse_args()
    if not args.while_training:
        server_step()
    browser(args.while_training)
