"""The sidebar's note about this session's training run, on every page but the Train page.

The worker stops a run nobody polls for jobs.IDLE_S seconds; the Train page polls its run once a
second, and so does this note (every 2 s, only while the run waits or trains) when the person is on
another page, so going to the latent map does not kill the run. When the run ends it says so until
the person opens the Train page."""
from __future__ import annotations

import streamlit as st

from playground import jobs
from playground import training_view as tv

POLL_S = 2.0
SEEN = "_train_status_seen"        # the job whose end the person has seen (on the Train page)


def _note(job_id: str, train_page) -> dict | None:
    status = jobs.worker().poll(job_id)           # polling tells the worker someone still watches
    words = tv.sidebar_words(status)
    if not words:
        return status
    if tv.is_active(status):
        st.caption(f":material/model_training: {words}")
        st.progress(tv.fraction(status))
        st.page_link(train_page, label="Watch it on the Train page", icon=":material/monitoring:")
    else:
        st.caption(f":material/flag: {words}")
        st.page_link(train_page, label="Open the Train page", icon=":material/model_training:")
    return status


def _live(job_id: str, train_page) -> None:
    if not tv.is_active(_note(job_id, train_page)):
        st.rerun()                                # it ended: one full run, which stops the timer


def show(page_path: str, train_page) -> None:
    """Call on every full run, after st.navigation. Cheap when there is no run: one dict lookup."""
    ss = st.session_state
    job_id = ss.get("train_job")
    if not job_id:
        return
    if ss.get(SEEN) == job_id:
        return
    status = jobs.worker().poll(job_id)
    if status is None:
        return
    if page_path == train_page.url_path:          # the Train page polls and shows it itself
        if not tv.is_active(status):
            ss[SEEN] = job_id                     # and says how it ended
        return
    with st.sidebar:
        if tv.is_active(status):
            st.fragment(run_every=POLL_S)(_live)(job_id, train_page)
        else:
            _note(job_id, train_page)
