"""The server warms up before the first visitor: `playground/server.py` is an st.App whose lifespan
starts `playground.warmup`, which loads the default model and its map into the shared cache."""
import json
import subprocess
import sys
from pathlib import Path

from streamlit.web.server.app_discovery import discover_asgi_app

ROOT = Path(__file__).resolve().parent.parent


def test_server_py_is_an_app_that_streamlit_run_discovers():
    found = discover_asgi_app(ROOT / "playground" / "server.py")
    assert found.is_asgi_app and found.app_name == "app"


# Runs server.py's `app` through the ASGI lifespan protocol, as uvicorn or `streamlit run` does at
# server start, with the warm-up thread's work replaced by an event: prints whether the lifespan
# started the warm-up (warmup.start) and its thread ran, by the time startup completed.
LIFESPAN_PROBE = """
import asyncio, importlib.util, json, sys, threading
from pathlib import Path
ROOT = Path(sys.argv[1])
sys.path.insert(0, str(ROOT))
from playground import warmup
ran = threading.Event()
warmup.warm = ran.set
spec = importlib.util.spec_from_file_location("lp_server", ROOT / "playground" / "server.py")
server = importlib.util.module_from_spec(spec)
spec.loader.exec_module(server)

async def main():
    inbox, sent = asyncio.Queue(), []
    await inbox.put({"type": "lifespan.startup"})
    async def send(message):
        sent.append(message["type"])
        if message["type"] == "lifespan.startup.complete":
            sent.append({"started": warmup.STATE["started"] is not None, "ran": ran.wait(30)})
            await inbox.put({"type": "lifespan.shutdown"})
    await server.app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, send)
    return sent
print(json.dumps(asyncio.run(asyncio.wait_for(main(), 90))))
"""


def test_the_servers_lifespan_starts_the_warm_up():
    """Starting server.py's app (its lifespan, with Streamlit's runtime) starts the warm-up thread
    before the server takes its first request. In a child process: Streamlit's runtime is one per
    process, and AppTest runs in this one."""
    out = subprocess.run([sys.executable, "-c", LIFESPAN_PROBE, str(ROOT)], cwd=ROOT / "tests",
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    sent = json.loads(out.stdout.strip().splitlines()[-1])
    assert sent == ["lifespan.startup.complete", {"started": True, "ran": True},
                    "lifespan.shutdown.complete"], (sent, out.stderr[-3000:])


def test_warm_up_loads_the_default_model_and_its_map_into_the_shared_cache(fresh_streamlit_caches):
    from playground import session, warmup
    session._MAPS.items.clear()
    warmup.page_done()
    warmup.warm()
    assert warmup.STATE["error"] is None
    from models import lab
    assert "torch" in lab._warmed, "the Train page's one-off costs were left for the first Train press"
    assert 0 < warmup.STATE["map_ready"] <= warmup.STATE["finished"]
    keys = list(session._MAPS.items)
    sha = session.load_model(session.DEFAULT_MODEL).card["weights"]["sha256"]
    assert (session.DEFAULT_MODEL, sha, session.DEFAULT_PROJECTION) in keys


def test_a_first_run_preloads_the_chart_library_and_leaves_only_the_map(monkeypatch):
    """While the heavy modules load, the page shows a spinner and an empty placeholder chart (so the
    browser fetches plotly.js meanwhile); once loaded, the placeholder is gone and the one chart on
    the page is the map with all its points."""
    from conftest import assert_clean, run_app
    from playground import warmup
    monkeypatch.setitem(warmup.STATE, "loaded", False)
    at = run_app()
    assert_clean(at, "first run")
    assert warmup.loaded()
    charts = at.get("plotly_chart")
    assert len(charts) == 1, f"{len(charts)} charts: the loading placeholder was left on the page"
    import json
    fig = json.loads(charts[0].proto.spec)
    assert len(fig["data"]) >= 10 and "customdata" in fig["data"][0]


def test_the_train_warm_up_waits_for_the_first_page_to_be_drawn(monkeypatch, fresh_streamlit_caches):
    """The Train page's one-off costs come after the first visitor's page, not competing with it."""
    import threading
    import time

    from models import lab
    from playground import warmup
    calls = []
    monkeypatch.setattr(lab, "warm", lambda: calls.append(time.monotonic()))
    monkeypatch.setattr(warmup, "FIRST_PAGE", threading.Event())
    monkeypatch.setattr(warmup, "LAB_WAIT_S", 60.0)
    monkeypatch.setitem(warmup.STATE, "map_ready", None)
    thread = threading.Thread(target=warmup.warm)
    thread.start()
    deadline = time.monotonic() + 60
    while warmup.STATE["map_ready"] is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    assert calls == [], "the Train warm-up ran before the first page was drawn"
    done = time.monotonic()
    warmup.page_done()
    thread.join(10)
    assert len(calls) == 1 and calls[0] >= done
