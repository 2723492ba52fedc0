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


def warm() -> None:
    """Import, load and map what a first visit needs (idempotent; safe to call from any thread)."""
    t0 = time.perf_counter()
    try:
        import models
        models.limit_threads()
        from playground import latent_map, projection  # noqa: F401  (scikit-learn, openTSNE)
        from playground import session
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
