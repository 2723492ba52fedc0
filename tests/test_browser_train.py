"""The Train page in headless Chromium: press Train, watch the loss curve grow while the run
trains (the page redraws itself once a second, without a click), then save the run and find it in
the model selector."""
import os
import re
from pathlib import Path
from urllib.parse import urlencode

import models
from conftest import ARTIFACTS
from models import lab

EXCEPTION = '[data-testid="stException"]'

# Points of the training curve in the chart titled `title` (Streamlit's theme wraps titles in <b>),
# the most of any such chart: while a redraw replaces a chart, the old one may still be there.
CURVE_POINTS = """(title) => {
  let most = null;
  for (const gd of document.querySelectorAll('.js-plotly-plot')) {
    const t = ((gd.layout && gd.layout.title && gd.layout.title.text) || '').replace(/<[^>]*>/g, '');
    if (t === title && gd.data && gd.data.length) most = Math.max(most || 0, gd.data[0].x.length);
  }
  return most;
}"""


def test_train_shows_a_growing_curve_and_saves_the_run(page, app_url):
    page.goto(app_url + "/train?" + urlencode(dict(epochs=4, batch_size=128, seed=5)))   # 252 steps
    train = page.get_by_role("button", name="Train")
    train.wait_for(timeout=90_000)
    assert page.locator(EXCEPTION).count() == 0
    train.click()
    page.wait_for_url(re.compile(r"job=job-[A-Za-z0-9_-]{12}"), timeout=30_000)

    page.wait_for_function(f"() => ({CURVE_POINTS})('Reconstruction loss') >= 1", timeout=120_000)
    first = page.evaluate(CURVE_POINTS, "Reconstruction loss")
    assert first < 252, "the run ended before the page drew its first curve: make it longer"
    page.wait_for_function(f"() => ({CURVE_POINTS})('Reconstruction loss') > {first}", timeout=60_000)
    later = page.evaluate(CURVE_POINTS, "Reconstruction loss")
    assert later > first                                   # redrawn by the page itself while training
    page.screenshot(path=str(ARTIFACTS / "browser-train-running.png"), full_page=True)

    page.get_by_text("Finished: 252 steps, 4 epochs in").wait_for(timeout=180_000)
    # the finished run's curve holds every step (the status text can land a redraw before the chart)
    try:
        page.wait_for_function(f"(t) => ({CURVE_POINTS})(t) === 252", arg="Reconstruction loss", timeout=30_000)
    finally:
        assert page.evaluate(CURVE_POINTS, "Reconstruction loss") == 252
    assert page.locator(EXCEPTION).count() == 0

    page.get_by_role("textbox", name="Name of the checkpoint").fill("browser-run")
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("Saved as browser-run").wait_for(timeout=120_000)
    folder = Path(os.environ[lab.USER_DIR_ENV]) / "browser-run"
    saved = sorted(p.name for p in folder.parent.iterdir() if p.name.startswith("browser-run"))
    m = models.load(folder.parent / saved[-1])             # -2, -3 … if an earlier test run saved one
    assert m.card["training"]["steps"] == 252 and m.card["training"]["seed"] == 5

    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').click()
    page.get_by_role("option", name=re.compile(rf"{saved[-1]} · z=2 · trained here")).wait_for(timeout=10_000)
    page.keyboard.press("Escape")
    page.screenshot(path=str(ARTIFACTS / "browser-train-saved.png"), full_page=True)
