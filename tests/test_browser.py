"""What only a browser shows: the app in headless Chromium (Debian's), driven by Playwright."""
import re

from conftest import ARTIFACTS

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
