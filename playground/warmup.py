"""Warm the server before the first visitor: import the heavy modules (torch, scikit-learn, openTSNE)
and load the default model with its shipped map, then pay the Train page's one-off costs
(`models.lab.warm`: its first loss point then comes without a wait for torch's optimiser import),
in a background thread started when the server starts (`playground/server.py`). The first page then finds them ready instead of a white page.

Nothing here is required: a server started with `streamlit run playground/app.py` loads the same
things on the first visit, just later. A failure is logged and the page shows its own message."""
from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger("latent_playground.warmup")
STATE = {"started": None, "map_ready": None, "finished": None, "error": None, "loaded": False}
_lock = threading.Lock()
FIRST_PAGE = threading.Event()      # set by app.py when a page run has finished
LAB_WAIT_S = 30.0                   # the Train page's warm-up waits at most this long for that
# A first visitor sees the default map drawn from numpy before PyTorch loads (app.py, first_map.py).
# Importing PyTorch holds the interpreter lock and starves the server that sends the browser the
# chart library, so the warm-up does not start a step while a visitor waits for that first chart.
# `streamlit run` opens the browser as the server starts: the warm-up gives it ARRIVAL_S to arrive.
ARRIVAL_S = 3.0
VISITOR_WAIT_S = 8.0                # a visitor whose chart never reports drawn holds nothing longer
_waiting: dict[str, float] = {}     # visitor -> when its first chart was sent
_quiet = threading.Condition()


def visitor_waiting(visitor: str) -> None:
    """A visitor's first chart was sent; the browser is fetching the chart library to draw it."""
    with _quiet:
        _waiting[visitor] = time.monotonic()
        _quiet.notify_all()


def visitor_drawn(visitor: str) -> None:
    with _quiet:
        _waiting.pop(visitor, None)
        _quiet.notify_all()


def _wait_for_quiet(first: bool = False) -> None:
    """Block while a visitor waits for its first chart (each for at most VISITOR_WAIT_S); the first
    time, also give a visitor ARRIVAL_S to arrive."""
    with _quiet:
        if first:
            _quiet.wait_for(lambda: bool(_waiting), ARRIVAL_S)
        while True:
            now = time.monotonic()
            for v in [v for v, t in _waiting.items() if now - t >= VISITOR_WAIT_S]:
                del _waiting[v]
            if not _waiting:
                return
            _quiet.wait(max(0.05, VISITOR_WAIT_S - (now - min(_waiting.values()))))


# One import at a time of the heavy modules: two threads importing PyTorch at once (the warm-up and
# a first visitor's run, or several first visitors) can meet Python's import deadlock avoidance and
# get a partially initialised module ("partially initialized module 'torch' has no attribute
# 'Tensor'", seen with 2 sessions opening at once). Every thread imports them through here.
_IMPORTS = threading.Lock()


def import_charts():
    """pandas and Plotly fully imported. Plotly's validators look pandas up in `sys.modules` without
    importing it (`get_module("pandas", should_load=False)`), so a figure built in one session's
    thread while another thread is importing pandas (the warm-up's scikit-learn, torch and openTSNE
    import it; so does Streamlit for a first table) finds a half-made module: "partially initialized
    module 'pandas' has no attribute 'Series'", seen in the 50-session load test and in the
    replicas test. server.py calls this in the main thread before the server takes a connection;
    app.py before its first chart (for `streamlit run playground/app.py`); import_app before a page."""
    with _IMPORTS:
        import pandas  # noqa: F401
        import plotly.graph_objects  # noqa: F401


def import_models():
    """`models` (PyTorch) fully imported, whichever thread gets here first."""
    with _IMPORTS:
        import models
    return models


def import_app():
    """pandas, Plotly, `models` and `playground.session` (scikit-learn, openTSNE) fully imported."""
    import_charts()
    with _IMPORTS:
        import models  # noqa: F401
        from playground import session
    return session


def warm() -> None:
    """Import, load and map what a first visit needs (idempotent; safe to call from any thread)."""
    t0 = time.perf_counter()
    try:
        _wait_for_quiet(first=True)
        import_charts()
        models = import_models()
        models.limit_threads()
        _wait_for_quiet()
        with _IMPORTS:
            from playground import latent_map, projection  # noqa: F401  (scikit-learn, openTSNE)
        session = import_app()
        names = session.generative_names()
        name = session.default_model(names)
        if name is not None:
            method = session.default_projection(session.methods_for(session.load_model(name).latent_dim))
            session.latent_map(name, method, quiet=True)
        STATE["loaded"] = True
        STATE["map_ready"] = time.perf_counter() - t0
        # Last, once the first visitor's page is drawn (it would compete for the 2 cores): the Train
        # page's one-off costs (reading the MNIST training data, torch's optimiser import).
        FIRST_PAGE.wait(LAB_WAIT_S)
        from models import lab
        lab.warm()
        STATE["finished"] = time.perf_counter() - t0
        log.info("warm-up done in %.1f s", STATE["finished"])
    except Exception as e:  # noqa: BLE001 - a warm-up must never take the server down; it is logged
        STATE["error"] = f"{type(e).__name__}: {e}"
        log.warning("warm-up failed (the first visit will load instead): %s", STATE["error"])


def start() -> threading.Thread | None:
    """Start `warm` once per process in a daemon thread."""
    with _lock:
        if STATE["started"] is not None:
            return None
        STATE["started"] = time.time()
    thread = threading.Thread(target=warm, name="latent-playground-warmup", daemon=True)
    thread.start()
    return thread


def loaded() -> bool:
    """Whether this process has imported the heavy modules and loaded the default map (by the
    warm-up, or by a first page run that did it itself and called `mark_loaded`)."""
    return bool(STATE["loaded"])


def mark_loaded() -> None:
    STATE["loaded"] = True


def page_done() -> None:
    """Called by app.py at the end of every run: the first visitor's page is drawn."""
    FIRST_PAGE.set()
