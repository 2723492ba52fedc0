import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Maps computed during tests go to a throw-away cache, never the user's.
os.environ.setdefault("LATENT_PLAYGROUND_CACHE", tempfile.mkdtemp(prefix="lp-test-cache-"))
# Runs saved from the Train page go to a throw-away folder, and the user's own saved runs never
# show up in a test's model list.
os.environ.setdefault("LATENT_PLAYGROUND_USER_DIR", tempfile.mkdtemp(prefix="lp-test-user-"))
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")

import models  # noqa: E402
from playground import warmup  # noqa: E402

# This process has imported PyTorch and the models: AppTest runs of app.py go straight to the page.
# (The first visit of a fresh server, which first shows the shipped map while PyTorch loads, is
# tested in test_warmup.py and test_first_map.py, and by the browser tests' own server.)
warmup.mark_loaded()

SHIPPED = [l.name for l in models.available()]
GENERATIVE = [l.name for l in models.available() if l.ok and l.card["kind"] in ("vae", "gan")]


APP = str(ROOT / "playground" / "app.py")


def run_app(**query):
    """The app as a person opens it with these URL parameters, run once through AppTest."""
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


def assert_clean(at, where: str):
    """No exception and no st.error on the page."""
    assert not at.exception, f"{where}: {[e.value for e in at.exception]}"
    errors = [e.value for e in at.error]
    assert not errors, f"{where}: {errors}"


@pytest.fixture
def ckpt_copy(tmp_path):
    """Copy one shipped checkpoint into a temp root so a test can break it."""
    def make(name: str) -> Path:
        dst = tmp_path / "ckpts"
        dst.mkdir(exist_ok=True)
        shutil.copytree(models.CHECKPOINTS / name, dst / name)
        return dst
    return make


@pytest.fixture
def fresh_streamlit_caches():
    import streamlit as st
    from playground import session
    st.cache_data.clear()
    st.cache_resource.clear()
    session.listings.clear()            # a bounded.memo, not a Streamlit cache
    yield
    st.cache_data.clear()
    st.cache_resource.clear()
    session.listings.clear()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(script: str = "server.py", args=()):
    """A fresh Streamlit server on loopback running playground/<script> (the README's command by
    default), with `args` after `--` for the app; yields its URL and the path of its log."""
    port = _free_port()
    log = open(tempfile.mktemp(prefix="streamlit-", suffix=".log"), "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "playground" / script),
         "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
         *(["--", *args] if args else [])],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=1).status == 200:
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(f"streamlit did not start; see {log.name}")
        yield url, log.name
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def app_url():
    """A real Streamlit server on loopback, for browser tests."""
    with streamlit_server() as (url, _log):
        yield url


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); .ci/run installs it")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
    pg = ctx.new_page()
    yield pg
    ctx.close()


@pytest.fixture
def media(monkeypatch):
    """Bytes of every image and download a page produced, by their URL (AppTest keeps them in a
    media store it throws away after each run)."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    files = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def record(self, path_or_data, mimetype, kind, filename=None):
        file_id = original(self, path_or_data, mimetype, kind, filename)
        files[file_id] = self._files_by_id[file_id].content
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", record)
    return lambda url: files[url.rsplit("/", 1)[-1].split(".")[0]]
