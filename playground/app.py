"""Latent Playground, the Streamlit script: `streamlit run playground/server.py` starts it with a
warmed server (or `streamlit run playground/app.py`, which loads everything on the first visit)."""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

# An empty chart, shown while the heavy modules load, so the browser loads the chart library in the
# meantime (plotly.js is fetched only when a page first shows a chart).
LOADING_FIGURE = {"data": [{"type": "scatter", "x": [], "y": [], "hoverinfo": "skip"}], "layout": {"height": 40, "margin": dict(l=0, r=0, t=0, b=0),
                                         "xaxis": {"visible": False}, "yaxis": {"visible": False}}}

st.set_page_config(page_title="Latent Playground", page_icon=":material/explore:", layout="wide")
with st.sidebar:                            # shown at once, before the heavy imports below
    st.title(":material/explore: Latent Playground")

from playground import warmup  # noqa: E402  (light: no torch)
from playground import janitor  # noqa: E402  (expired sessions are shut down: #14)
from playground.gil import share_the_gil  # noqa: E402

janitor.start()
share_the_gil()                             # page runs are threads: a torch call waits less for the lock
warmup.import_charts()                      # before any chart is built: see warmup.import_charts

PAGES = [
    st.Page("views/map.py", title="Latent map", icon=":material/scatter_plot:", default=True),
    st.Page("views/drag.py", title="Drag through latent space", url_path="drag", icon=":material/pan_tool:"),
    st.Page("views/interpolate.py", title="Interpolate", url_path="interpolate", icon=":material/animation:"),
    st.Page("views/upload.py", title="Encode your images", url_path="upload", icon=":material/upload:"),
    st.Page("views/sample.py", title="Sample the prior", url_path="sample", icon=":material/casino:"),
    st.Page("views/model.py", title="How this model works", url_path="model", icon=":material/school:"),
    st.Page("views/inpaint.py", title="Fill in missing parts", url_path="inpaint", icon=":material/healing:"),
    st.Page("views/anomaly.py", title="Spot anomalies", url_path="anomaly", icon=":material/troubleshoot:"),
    st.Page("views/quality.py", title="Quality against diversity", url_path="quality", icon=":material/balance:"),
    st.Page("views/judge.py", title="Real or generated?", url_path="judge", icon=":material/how_to_vote:"),
    st.Page("views/train.py", title="Train a model", url_path="train", icon=":material/model_training:"),
]


page = st.navigation(PAGES)     # first: a run that stops early below keeps the page's address


ss = st.session_state
if not warmup.loaded():     # the first run in this process, or one while the server still warms up
    from playground import first_map  # noqa: E402  (numpy and JSON: no torch)
    shipped = (first_map.preview() if page is PAGES[0]      # the default model's Latent map only
               and st.query_params.get("model", first_map.DEFAULT_MODEL) == first_map.DEFAULT_MODEL
               else None)
    if shipped is not None and st.query_params.get("proj", shipped.method) != shipped.method:
        shipped = None                                      # a link to another projection
    if shipped is not None and not ss.get("_first_map_drawn"):
        # The still map, then stop: PyTorch loads on the next run, once the browser has drawn it
        # (see first_draw.py for why). No spinner here: this run ends at once.
        st.caption(f"Starting up (only after a server start): **{shipped.name}**'s map of "
                   f"{len(shipped.y):,} reference images, shown while PyTorch and the model load: "
                   "it becomes clickable in a moment.")
        st.plotly_chart(first_map.figure(shipped), key="first_map",
                        config={"staticPlot": True, "displayModeBar": False})
        from playground.first_draw import go_on_after, on_drawn  # noqa: E402
        from streamlit.runtime.scriptrunner import get_script_run_ctx  # noqa: E402
        visitor = getattr(get_script_run_ctx(), "session_id", "")
        warmup.visitor_waiting(visitor)

        def drawn():
            ss._first_map_drawn = True
            warmup.visitor_drawn(visitor)
        on_drawn("first_map", drawn, key="first_map_drawn")
        go_on_after(ss.setdefault("_first_map_sent", time.monotonic()), drawn)
        st.stop()
    with st.spinner("Starting up: loading PyTorch and the models (only after a server start)…",
                    show_time=True):
        preload = st.empty()
        with preload.container():
            if shipped is not None:     # the still map stays while torch loads
                st.caption(f"**{shipped.name}**'s map of {len(shipped.y):,} reference images, "
                           "shown while the model loads: it becomes clickable in a moment.")
                st.plotly_chart(first_map.figure(shipped), key="first_map",
                                config={"staticPlot": True, "displayModeBar": False})
            else:                       # no shipped map: the browser still fetches the chart library
                st.plotly_chart(LOADING_FIGURE, config={"staticPlot": True, "displayModeBar": False})
        session = warmup.import_app()        # one thread at a time: see warmup._IMPORTS
        import models  # noqa: E402
        preload.empty()
    warmup.mark_loaded()
else:
    session = warmup.import_app()
    import models  # noqa: E402
from playground import train_status  # noqa: E402

models.limit_threads()

session.init_state()
if "_start_url" not in ss:      # the link this session opened with: sync_url below keeps only the
    ss._start_url = st.query_params.to_dict()    # shared keys, so a page reads its own from here


with st.sidebar:
    names = session.generative_names()
    broken = [l for l in session.listings() if not l.ok]
    if not names:
        st.error("No usable checkpoints were found in `checkpoints/`. "
                 "Train one with `python -m models.train` (see the README).")
    else:
        if ss.get("model") not in names:
            ss.model = session.default_model(names)
        st.selectbox("Model", names, key="model", format_func=session.model_label,
                     on_change=session.model_switched,
                     help="Every checkpoint in checkpoints/: VAEs (encoder + decoder) and GANs "
                          "(generator + discriminator), for MNIST digits and Fashion-MNIST.")
        st.caption(session.model_summary(ss.model))
        try:
            methods = session.current_methods()
        except models.CheckpointError as e:       # passed the cheap listing checks, failed loading
            st.error(f"**{ss.model}** cannot be loaded: {e}")
            methods = []
        if methods and ss.get("proj") not in methods:
            ss.proj = session.default_projection(methods)
        if methods:
            st.radio("Projection to 2-D", methods, key="proj", format_func=session.method_label,
                     help="PCA: linear, exactly invertible. t-SNE: keeps neighbourhoods, so clusters "
                          "show; its inverse is learned from nearest neighbours. A 2-D latent space "
                          "needs no projection.")
    from playground.checkpoint_upload_ui import add_checkpoint_box
    add_checkpoint_box()
    if broken:
        with st.expander(f":material/warning: {len(broken)} checkpoint(s) could not be loaded"):
            for l in broken:
                st.caption(f"**{l.name}**: {l.error}")
    if ss.get("url_warning"):
        st.warning(ss.pop("url_warning"))

if names:
    session.sync_url()
session.note_page(page.url_path)
if names:
    train_status.show(page.url_path, PAGES[-1])     # keeps a run alive while its person is elsewhere
if names:
    try:
        page.run()
    except models.CheckpointError as e:
        from models.adapters import AdapterError
        if not isinstance(e, AdapterError):
            raise
        if not e.broken:       # one input's bad answer: this page only, the model stays usable
            st.error(f"**{ss.model}**: {e.problem}. The model is still usable: try another input.")
        else:  # an adapter file that failed in the middle of a page: from now on it is listed as broken
            st.error(f"**{ss.model}** stopped working: {e.problem}. It is listed as broken from now on "
                     "(see the sidebar); pick another model. The other models are not affected.")
            session.listings.clear()
warmup.page_done()
