"""Take the README's screenshots from a running app in Debian's headless Chromium.

    streamlit run playground/app.py &         # then:
    python scripts/screenshots.py [--url http://localhost:8501] [--out docs]
"""
from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

SHOTS = {   # file name: (path and query, what to wait for, viewport height)
    "screenshot-map.png": ("/?model=mnist-vae&proj=tsne&sel=3,17,25,41,60,77,91,110", "[data-testid='stImage'] img", 1150),
    "screenshot-gan-map.png": ("/?model=fashion-mnist-gan&proj=tsne", ".legendtitletext", 1000),
    "screenshot-interpolate.png": ("/interpolate?model=mnist-vae&proj=tsne&sel=3,17", "[data-testid='stImage'] img", 1000),
    "screenshot-model.png": ("/model?model=mnist-gan&proj=tsne", "[data-testid='stPlotlyChart'] .main-svg", 1000),
}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://localhost:8501")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "docs")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                    args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        for name, (path, ready, height) in SHOTS.items():
            page.set_viewport_size({"width": 1440, "height": height})
            page.goto(args.url + path)
            page.wait_for_selector(ready, timeout=120_000)
            page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
                                   " || !document.querySelector('[data-testid=\"stStatusWidget\"]')"
                                   ".innerText.includes('Running')", timeout=120_000)
            page.wait_for_timeout(1500)
            if page.locator("[data-testid='stException']").count():
                raise SystemExit(f"{name}: the page shows an exception")
            page.screenshot(path=str(args.out / name))
            print("wrote", args.out / name)
        browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
