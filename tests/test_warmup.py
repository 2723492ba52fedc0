"""The server warms up before the first visitor: `playground/server.py` is an st.App whose lifespan
starts `playground.warmup`, which loads the default model and its map into the shared cache."""
from pathlib import Path

from streamlit.web.server.app_discovery import discover_asgi_app

ROOT = Path(__file__).resolve().parent.parent


def test_server_py_is_an_app_that_streamlit_run_discovers():
    found = discover_asgi_app(ROOT / "playground" / "server.py")
    assert found.is_asgi_app and found.app_name == "app"


def test_warm_up_loads_the_default_model_and_its_map_into_the_shared_cache(fresh_streamlit_caches):
    from playground import session, warmup
    session._MAPS.items.clear()
    warmup.warm()
    assert warmup.STATE["error"] is None
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
