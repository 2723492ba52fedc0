"""First visit after a server start: our app against a minimal Streamlit app with one Plotly chart of
the same size, measured side by side in one run, in headless Chromium.

For each round, each app gets a fresh server; the browser opens it as soon as the health check
answers, and we time, from the navigation's start:
  - first text: the first moment the page shows any text of the app (not a white page);
  - first chart: the first moment a Plotly chart with at least 1,000 points has drawn;
  - clickable: the first moment such a chart takes clicks (our first chart is the shipped map as a
    still picture, drawn before PyTorch loads; the page's own chart replaces it).
Both from the navigation and from the command that started the server (the browser opens the page
as soon as the health check answers, as `streamlit run` does).
Prints the median of the rounds and the ratio (the bar: our first chart within 1.5x of the minimal app).

    python bench/first_chart.py [--rounds 3]
"""
from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MINIMAL = '''
import numpy as np
import plotly.graph_objects as go
import streamlit as st

st.title("Minimal app")
y = np.random.default_rng(0).normal(size=(10000, 2))   # the default map's size (map_points.DEFAULT_POINTS)
st.plotly_chart(go.Figure(go.Scattergl(x=y[:, 0], y=y[:, 1], mode="markers")))
'''
# A drawn Plotly chart holding at least 1,000 points (the app's loading placeholder is an empty chart).
CHART = ("() => [...document.querySelectorAll('[data-testid=\"stPlotlyChart\"] .js-plotly-plot')]"
         ".some(g => g.querySelector('.main-svg') && (g._fullData || [])"
         ".reduce((n, t) => n + ((t.x && t.x.length) || 0), 0) >= 1000)")
# The same, clickable: the Latent map page itself (the first visit first shows the shipped map as a
# still picture while PyTorch loads; see playground/first_map.py).
LIVE = CHART.replace(".some(g => ", ".some(g => g._context && !g._context.staticPlot && ")
TEXT = ('() => [...document.querySelectorAll(\'[data-testid="stMain"] *, [data-testid="stSidebar"] *\')]'
        '.some(e => e.children.length === 0 && e.textContent.trim().length > 3 && e.offsetParent !== null)')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(script: Path):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats",
         "false", "--server.fileWatcherType", "none"], cwd=ROOT, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < 60:
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=1).status == 200:
                return proc, url, t0
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{script} did not start")


def visit(browser, url: str, started: float) -> tuple[float, ...]:
    """Seconds from the navigation to the first text, the first chart and the first clickable chart,
    and from the command that started the server to each."""
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    t0 = time.perf_counter()
    page.goto(url, wait_until="commit")
    page.wait_for_function(TEXT, timeout=120_000, polling=50)
    first_text = time.perf_counter() - t0
    page.wait_for_function(CHART, timeout=120_000, polling=50)
    first_chart = time.perf_counter() - t0
    page.wait_for_function(LIVE, timeout=120_000, polling=50)
    live = time.perf_counter() - t0
    page.close()
    return (first_text, first_chart, live) + tuple(t + t0 - started for t in (first_text, first_chart, live))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    minimal = Path(tempfile.mkdtemp(prefix="lp-minimal-")) / "minimal_app.py"
    minimal.write_text(MINIMAL)
    apps = {"minimal app": minimal, "Latent Playground": ROOT / "playground" / "server.py",
            "app.py, not warmed": ROOT / "playground" / "app.py"}
    times = {name: [] for name in apps}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                    args=["--no-sandbox", "--disable-gpu"])
        for r in range(args.rounds):
            order = list(apps) if r % 2 == 0 else list(apps)[::-1]     # alternate who goes first
            for name in order:
                proc, url, started = serve(apps[name])
                try:
                    times[name].append(visit(browser, url, started))
                finally:
                    proc.terminate()
                    proc.wait(10)
        browser.close()
    print(f"first visit after a server start, median of {args.rounds} rounds (headless Chromium):")
    for clock, (ti, ci, li) in (("from the browser's navigation (the server already answers)", (0, 1, 2)),
                                ("from the command that starts the server", (3, 4, 5))):
        print(f" {clock}:")
        med = {}
        for name, ts in times.items():
            text, chart = statistics.median(t[ti] for t in ts), statistics.median(t[ci] for t in ts)
            med[name] = chart
            live = statistics.median(t[li] for t in ts)
            print(f"  {name:18s} first text {text:5.2f} s   first chart {chart:5.2f} s   "
                  f"(rounds: {', '.join(f'{t[ci]:.2f}' for t in ts)})   clickable {live:5.2f} s")
        for name in list(apps)[1:]:
            print(f"  ratio of first charts, {name}: {med[name] / med['minimal app']:.2f}x (bar: 1.5x)")


if __name__ == "__main__":
    main()
