"""Start the app with its server warmed: `streamlit run playground/server.py`.

The same app as `streamlit run playground/app.py` (the Streamlit script), wrapped in `st.App` so
that heavy modules, the default model and its map load in the background as soon as the server
starts (see playground/warmup.py), not when the first person opens the page."""
from __future__ import annotations

import sys
from contextlib import asynccontextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from playground.allocator import limit_arenas, map_large_blocks  # noqa: E402
from playground.openmp import idle_threads_sleep  # noqa: E402

limit_arenas()           # before any thread mallocs: see playground/allocator.py
map_large_blocks()       # before anything allocates much: see playground/allocator.py
idle_threads_sleep()     # before anything loads torch: see playground/openmp.py

import streamlit as st  # noqa: E402

from playground.gil import share_the_gil  # noqa: E402

share_the_gil()          # before any session's thread: see playground/gil.py

from playground.warmup import import_charts  # noqa: E402  (light: no torch)

import_charts()          # pandas in the main thread, before any session's thread: see import_charts


@asynccontextmanager
async def lifespan(_app):
    from playground import warmup
    warmup.start()
    yield


from playground.decoder_route import routes as decoder_routes  # noqa: E402  (the browser decoder's weights)

app = st.App(Path(__file__).with_name("app.py"), lifespan=lifespan,   # absolute: also for uvicorn
             routes=decoder_routes())
