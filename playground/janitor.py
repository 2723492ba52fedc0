"""Shut down the sessions Streamlit lets expire, so that a person who left leaves nothing behind.

Streamlit (1.67) keeps a session whose browser went away for `server.disconnectedSessionTTL`
seconds (default 120), so a reconnect finds it again. It keeps them in a TTLCache that drops an
expired session without shutting it down, and only when something else writes to that cache (a
later disconnect): the session's uploaded files stay in the UploadedFileManager and its images in
the media store for the life of the process, and a class that leaves holds its memory until the
next class disconnects (measured: tests/test_load_client.py, bench/load_test.py).

`start()` runs a daemon thread that, every PERIOD_S seconds, reaps the expired sessions from that
cache and shuts each one down as Streamlit does for a session closed on purpose
(`AppSession.shutdown`: its script stopped, its uploads removed, its media references cleared and
orphaned media files removed). A session still within its TTL is left alone, so a reconnect within
the TTL still finds it. If Streamlit's internals are not what this expects, it does nothing. After
a sweep that shut sessions down, the freed heap is handed back to the system (`gc.collect` and, on
glibc, `malloc_trim`), so the server's resident memory goes back down once a class has left
instead of staying at its peak. It is done once more AGAIN_AFTER sweeps later: a session shut
down leaves garbage in reference cycles that becomes collectable only once its script thread has
ended (measured: after a class of 30 had expired and been swept, a full collection then still
freed 51 MB, all numpy arrays the pages had read from `st.cache_data`).
"""
from __future__ import annotations

import logging
import threading
import time

PERIOD_S = 5.0
_log = logging.getLogger(__name__)
_started = False
_start_lock = threading.Lock()


def sweep() -> int:
    """Shut down the sessions whose TTL has passed; returns how many."""
    from streamlit.runtime import Runtime
    if not Runtime.exists():
        return 0
    mgr = getattr(Runtime.instance(), "_session_mgr", None)
    storage = getattr(mgr, "_session_storage", None)
    cache = getattr(storage, "_cache", None)
    lock = getattr(mgr, "_storage_lock", None)
    if cache is None or lock is None or not hasattr(cache, "expire"):
        return 0
    with lock:
        expired = cache.expire()
    for _, info in expired:
        try:
            info.session.shutdown()
        except Exception:                  # noqa: BLE001 - one bad session must not stop the sweep
            _log.exception("shutting down an expired session")
    if expired:
        del info
        give_back_memory()
    return len(expired)


def give_back_memory() -> bool:
    """Collect garbage and return the C heap's free pages to the system (glibc's malloc_trim);
    False where there is no glibc."""
    import ctypes
    import gc
    gc.collect()
    try:
        return bool(ctypes.CDLL("libc.so.6").malloc_trim(0))
    except (OSError, AttributeError):
        return False


AGAIN_AFTER = 2       # sweeps after one that shut sessions down, memory is handed back once more


def step(again: int) -> int:
    """One period: sweep, and hand memory back once more AGAIN_AFTER quiet sweeps after one that
    shut sessions down; returns the new countdown."""
    if sweep():
        return AGAIN_AFTER
    if again:
        again -= 1
        if not again:
            give_back_memory()
    return again


def _run() -> None:
    again = 0
    while True:
        time.sleep(PERIOD_S)
        try:
            again = step(again)
        except Exception:                  # noqa: BLE001 - keep sweeping
            _log.exception("session sweep")
            again = 0


def start() -> None:
    """Start the sweeping thread once per process (idempotent)."""
    global _started
    with _start_lock:
        if not _started:
            _started = True
            threading.Thread(target=_run, daemon=True, name="session-janitor").start()
