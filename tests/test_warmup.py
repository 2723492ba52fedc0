"""The server warms up before the first visitor: `playground/server.py` is an st.App whose lifespan
starts `playground.warmup`, which loads the default model and its map into the shared cache."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

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
    from playground.map_points import DEFAULT_POINTS
    import models
    from playground import map_points
    stamp = map_points.pool_stamp("mnist", models.CHECKPOINTS, DEFAULT_POINTS)    # the images mapped
    assert (session.DEFAULT_MODEL, sha, session.DEFAULT_PROJECTION, DEFAULT_POINTS, stamp) in keys, keys


def test_a_first_run_shows_the_shipped_map_then_the_page_once_the_browser_has_it(monkeypatch):
    """A first visit after a server start shows the default model's shipped map at once, as a still
    picture, and stops there (no PyTorch import competes with the browser fetching the chart
    library); when the browser reports the chart (first_draw), the next run loads the models and
    the page replaces the picture with the clickable map of the same points."""
    import json

    from conftest import assert_clean, run_app
    from playground import first_map, warmup
    from test_map_page import plotly_array
    monkeypatch.setitem(warmup.STATE, "loaded", False)
    monkeypatch.setattr(warmup, "_waiting", {})
    at = run_app()
    assert_clean(at, "first run")
    assert not warmup.loaded()
    assert len(warmup._waiting) == 1, "the warm-up was not told a visitor waits for its first chart"
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    shipped = first_map.preview()
    fig = json.loads(charts[0].proto.spec)
    assert sum(len(plotly_array(t["x"])) for t in fig["data"]) == len(shipped.y) == 10_000
    assert json.loads(charts[0].proto.config or "{}").get("staticPlot") is True
    assert not [h for h in at.header if h.value == "Latent map"], "the page ran before the browser drew the map"
    assert any("shown while PyTorch and the model load" in c.value for c in at.caption)

    at.session_state["_first_map_drawn"] = True         # what first_draw.js reports
    at.run()
    assert_clean(at, "second run")
    assert warmup.loaded()
    charts = at.get("plotly_chart")
    assert len(charts) == 1, f"{len(charts)} charts: the still picture was left on the page"
    fig = json.loads(charts[0].proto.spec)
    assert len(fig["data"]) >= 10 and "customdata" in fig["data"][0]
    xs = np.sort(np.concatenate([plotly_array(t["x"]) for t in fig["data"]]))
    assert np.allclose(xs, np.sort(shipped.y[:, 0]), atol=1e-4), "the page's map is not the one shown first"


def test_the_warm_up_waits_while_a_visitor_waits_for_its_first_chart(monkeypatch):
    import threading
    import time

    from playground import warmup
    monkeypatch.setattr(warmup, "VISITOR_WAIT_S", 60.0)
    monkeypatch.setattr(warmup, "ARRIVAL_S", 0.01)
    monkeypatch.setattr(warmup, "_waiting", {})
    warmup.visitor_waiting("a")
    waiter = threading.Thread(target=warmup._wait_for_quiet, kwargs={"first": True})
    waiter.start()
    time.sleep(0.5)
    assert waiter.is_alive(), "the warm-up went on while the visitor's first chart was on its way"
    warmup.visitor_drawn("a")
    waiter.join(5)
    assert not waiter.is_alive()
    # a visitor whose chart never reports is waited for at most VISITOR_WAIT_S, then forgotten
    monkeypatch.setattr(warmup, "VISITOR_WAIT_S", 0.3)
    warmup.visitor_waiting("gone")
    waiter = threading.Thread(target=warmup._wait_for_quiet)
    waiter.start()
    waiter.join(30)
    assert not waiter.is_alive() and "gone" not in warmup._waiting


def test_a_first_visit_whose_browser_never_reports_goes_on_by_itself(monkeypatch):
    """If first_draw's component never reports (its script blocked), Streamlit's own fragment timer
    takes the page on once FALLBACK_S have passed since the still map was sent."""
    import time

    from conftest import APP, assert_clean
    from streamlit.testing.v1 import AppTest

    from playground import first_draw, warmup
    monkeypatch.setitem(warmup.STATE, "loaded", False)
    monkeypatch.setattr(warmup, "_waiting", {})
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["_first_map_sent"] = time.monotonic() - first_draw.FALLBACK_S + 60   # not yet
    at.run()
    assert not warmup.loaded() and len(warmup._waiting) == 1
    at.session_state["_first_map_sent"] = time.monotonic() - first_draw.FALLBACK_S - 1     # past it
    at.run()
    assert_clean(at, "after the fallback")
    assert warmup.loaded() and not warmup._waiting
    assert [h.value for h in at.header if h.value == "Latent map"]


def test_a_first_visit_to_another_page_or_model_opens_that_page_not_the_default_map(monkeypatch):
    """The still map is the default model's Latent map: a first visit by a link to another page, or
    naming another model, gets no preview and runs its own page at once (a run that stops before
    the navigation would lose the page's address: the Train link opened the map)."""
    from conftest import APP, assert_clean
    from streamlit.testing.v1 import AppTest

    from playground import warmup
    for page, query, title in (("views/train.py", {}, "Train a model"),
                               (None, {"model": "fashion-mnist-vae"}, "Latent map"),
                               (None, {"proj": "pca"}, "Latent map")):
        monkeypatch.setitem(warmup.STATE, "loaded", False)
        monkeypatch.setattr(warmup, "_waiting", {})
        at = AppTest.from_file(APP, default_timeout=120)
        if page:
            at.switch_page(page)
        for k, v in query.items():
            at.query_params[k] = v
        at.run()
        assert_clean(at, title)
        assert warmup.loaded(), f"{title}: the first run stopped at the preview"
        assert [h.value for h in at.header if h.value == title], [h.value for h in at.header]


def test_heavy_imports_go_one_thread_at_a_time():
    """Two threads importing PyTorch at once can get a partially initialised module ("partially
    initialized module 'torch' has no attribute 'Tensor'": seen in CI with two sessions opening at
    once), so the page's import waits while another thread (the warm-up) holds the import lock."""
    import threading
    from playground import warmup
    done = threading.Event()
    t = threading.Thread(target=lambda: (warmup.import_app(), done.set()), daemon=True)
    with warmup._IMPORTS:                       # another thread is mid-import
        t.start()
        assert not done.wait(0.5), "the page imported while another thread held the import lock"
    assert done.wait(30)
    t.join(5)
    app = (ROOT / "playground" / "app.py").read_text(encoding="utf-8")
    assert app.count("warmup.import_app()") == 2 and "\nimport models\n" not in app


def test_a_page_run_finds_pandas_fully_imported():
    """Streamlit imports pandas lazily (a first table or data frame); two first visitors of a fresh
    replica importing it at once got "partially initialized module 'pandas' has no attribute
    'Series'". Every page run goes through warmup.import_app, which imports it under the lock."""
    import subprocess
    import sys
    code = ("import sys; sys.path.insert(0, '.'); from playground import warmup; warmup.import_app(); "
            "import sys; p = sys.modules.get('pandas'); print(bool(p and hasattr(p, 'Series')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert out.stdout.strip().splitlines()[-1] == "True", out.stdout + out.stderr


def test_pandas_is_imported_before_any_session_can_build_a_chart():
    """server.py imports pandas in the main thread, before the server takes a connection; app.py
    before the first chart it builds (the still first map)."""
    import subprocess
    import sys
    code = ("import sys; sys.path.insert(0, '.'); import playground.server; "
            "p = sys.modules.get('pandas'); print(bool(p and hasattr(p, 'Series')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert out.stdout.strip().splitlines()[-1] == "True", out.stdout + out.stderr
    app = (ROOT / "playground" / "app.py").read_text(encoding="utf-8")
    assert 0 <= app.index("warmup.import_charts()") < app.index("import first_map")
