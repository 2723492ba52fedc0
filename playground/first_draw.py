"""Report when the browser has drawn a chart (an invisible component; its JS is in first_draw.js).

Why: on a first visit after a server start, app.py shows the default model's shipped map at once
(playground/first_map.py) and only then loads PyTorch. Importing PyTorch holds Python's global
lock for over a second, and the server, in the same process, then serves the chart library
(plotly.js, several MB, fetched by the browser only when a page first shows a chart) slowly:
measured, the first chart came 1.2 s later. So the page waits for the browser to say the chart is
drawn, and the import comes after."""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Callable

import streamlit as st

JS = Path(__file__).with_name("first_draw.js").read_text(encoding="utf-8")

_component = st.components.v2.component("latent_playground_first_draw", js=JS)


def on_drawn(chart_key: str, callback: Callable[[], None], *, key: str) -> None:
    """Run `callback` (before the next run, like a widget's) once the chart drawn with Streamlit key
    `chart_key` is on screen, or after 8 s if it never is."""
    _component(key=key, data={"chart": chart_key}, on_drawn_change=callback, height=0)


FALLBACK_S = 10.0       # the page goes on by itself this long after the chart was sent


log = logging.getLogger("latent_playground.first_draw")
FALLBACK_LOG = "the browser did not report its first chart"


@st.fragment(run_every=1.0)
def _fallback(since: float, after_s: float, callback: Callable[[], None]) -> None:
    if time.monotonic() - since >= after_s:
        log.warning("%s within %.0f s: the page went on by itself", FALLBACK_LOG, after_s)
        callback()
        st.rerun(scope="app")


def go_on_after(since: float, callback: Callable[[], None], after_s: float = FALLBACK_S) -> None:
    """If the component above never reports (its script blocked or broken), Streamlit's own timer
    runs `callback` and reruns the page `after_s` seconds after `since` (time.monotonic()): the
    visitor never stays on the still picture."""
    _fallback(since, after_s, callback)
