"""Streamlit glue for the process-wide bound on GAN inversions (`jobs.inversions()`).

`with inversion_slot(): ...` waits for a slot, showing "Waiting: 2 ahead of you" in the page while
it waits, and `stay_connected(progress)` wraps an inversion's progress callback so that a person who
closed the tab mid-inversion stops it at its next progress report: their slot goes to the next one
instead of being held for the rest of a computation nobody will see. A rerun of the page (the person
changed something) also ends the wait or the inversion, at the next progress report: Streamlit
raises its stop there, and the slot is freed on the way out.
"""
from __future__ import annotations

from contextlib import contextmanager

import streamlit as st

from playground import jobs


def client_connected() -> bool:
    """False once this session's browser has gone (its websocket closed); True outside a server."""
    try:
        from streamlit.runtime import Runtime
        from streamlit.runtime.scriptrunner import get_script_run_ctx
        ctx = get_script_run_ctx()
        if ctx is None or not Runtime.exists():
            return True
        return Runtime.instance().is_active_session(ctx.session_id)
    except Exception:                  # noqa: BLE001 - an unknown runtime: assume someone is there
        return True


def _gone() -> None:
    """The client left: end this run quietly (Streamlit's own stop), freeing what it held."""
    st.stop()


def waiting_text(ahead: int, limit: int) -> str:
    return (f"Waiting: {ahead} ahead of you. At most {limit} "
            f"{'inversion runs' if limit == 1 else 'inversions run'} at once on this server, so "
            "that one person's inversion does not slow every other page down; yours starts when a "
            "place is free.")


@contextmanager
def inversion_slot(slots: jobs.Slots | None = None):
    """Hold one of the server's inversion slots for the block, showing the queue position while
    waiting (nothing is shown when a slot is free at once)."""
    slots = slots or jobs.inversions()
    note = None

    def waiting(ahead: int) -> None:
        nonlocal note
        if not client_connected():
            _gone()
        if note is None:
            note = st.empty()
        note.info(waiting_text(ahead, slots.limit), icon=":material/hourglass_top:")

    try:
        with slots.hold(waiting=waiting):
            if note is not None:
                note.empty()
            yield
    finally:
        if note is not None:
            note.empty()


def stay_connected(progress):
    """`progress` (share, text) that first checks the client is still there (else stops the run)."""
    def report(share, text):
        if not client_connected():
            _gone()
        if progress is not None:
            progress(share, text)
    return report
