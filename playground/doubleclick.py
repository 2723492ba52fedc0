"""A double-click on a Plotly chart, reported to the server (an invisible component; its JS is in
doubleclick.js beside this module).

Why: st.plotly_chart tells the server about a double-click (Plotly's deselect) only when the
browser holds a selection made in that chart; it sends the empty selection only if the chart's
stored value is not empty already. A chart mounted with a selection drawn from elsewhere (a link,
a page revisit, another model's view) holds none, so "double-click to clear" never reached the
server and the selection stayed."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import streamlit as st

JS = Path(__file__).with_name("doubleclick.js").read_text(encoding="utf-8")

_component = st.components.v2.component("latent_playground_doubleclick", js=JS)


def on_double_click(chart_key: str, callback: Callable[[], None], *, key: str) -> None:
    """Run `callback` (before the next run, like a widget's) when the chart drawn with Streamlit key
    `chart_key` is double-clicked."""
    _component(key=key, data={"chart": chart_key}, on_doubleclick_change=callback, height=0)
