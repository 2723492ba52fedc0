"""The Interpolate page's scrubber: the path's frames decoded live in the browser.

A Streamlit custom component (v2; JS and CSS in scrubber.js/.css beside this module, with the
browser decoder's worker source, decoder.js and latent_inverse.js, and latent_path.js). Two ways
to move along a path, each frame the exact decoding computed in the browser:
- the slider scrubs the interpolation between the two ends (`za`, `zb`, `method`: the codes at any
  position t, as playground/interpolation.py computes frame k of n at t = k / (n - 1));
- "Draw a path": a freehand stroke on the map; it plays back as an animation (each position mapped
  to a code by the map's own inverse, as on the drag page), the slider scrubs it, and the stroke is
  sent to the server (state value `drawn` = {path: [[u, v], ...], seq}) for a GIF of its frames.
Positions are normalised to the map's extent ((0, 0) bottom left), as on the drag map.
If the decoder cannot start, the page says so and the strip of frames below stays the way to see
the path. `window.__latentScrub` holds counters and the last frame for tests.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import streamlit as st

from playground.dragmap import WORKER_JS, points_data
from playground.figures import PALETTE

MAX_DRAWN = 256                       # points of a drawn path the server takes (the page sends 48)

HTML = """
<div class="scrubber">
  <canvas class="map" width="420" height="420" tabindex="0"
          aria-label="latent map: the path, and a pad to draw your own"></canvas>
  <div class="side">
    <canvas class="preview" width="168" height="168" aria-label="decoded image at the position"></canvas>
    <input class="position" type="range" min="0" max="1000" value="0" aria-label="position along the path">
    <div class="buttons">
      <button class="draw" type="button">Draw a path</button>
      <button class="play" type="button">Play</button>
      <button class="line" type="button">Back to the line</button>
    </div>
    <div class="status"></div>
  </div>
</div>
"""
_HERE = Path(__file__).parent
CSS = (_HERE / "scrubber.css").read_text(encoding="utf-8")
JS = (f"const WORKER_SOURCE = {json.dumps(WORKER_JS)};\n"
      + (_HERE / "map_points.js").read_text(encoding="utf-8") + "\n"
      + (_HERE / "latent_path.js").read_text(encoding="utf-8") + "\n"
      + (_HERE / "scrubber.js").read_text(encoding="utf-8"))

_component = st.components.v2.component("latent_playground_scrubber", html=HTML, css=CSS, js=JS)


def read_drawn(value) -> tuple[int, np.ndarray] | None:
    """The `drawn` state value as scrubber.js sends it: (seq, (n, 2) positions in [0, 1]), or None
    if absent or malformed (too few or too many points, not numbers)."""
    if not isinstance(value, dict):
        return None
    path, seq = value.get("path"), value.get("seq")
    if not (isinstance(seq, int) and not isinstance(seq, bool) and isinstance(path, list)
            and 2 <= len(path) <= MAX_DRAWN):
        return None
    if not all(isinstance(p, (list, tuple)) and len(p) == 2 and all(
            isinstance(c, (int, float)) and not isinstance(c, bool) and math.isfinite(c) for c in p) for p in path):
        return None
    return seq, np.clip(np.asarray(path, np.float64), 0, 1)


def scrubber(key: str, *, points_uv, labels, path_uv, za, zb, method: str, decoder: dict,
             inverse: dict):
    """Mount the scrubber; returns the last drawn path (seq, positions) or None. The points go as
    the drag map's do (dragmap.points_data: a blob fetched once per map, not in every run's data)."""
    data = dict(**points_data(points_uv, labels), colors=PALETTE,
                path=np.round(np.clip(np.asarray(path_uv, np.float64), 0, 1), 5).tolist(),
                za=np.asarray(za, np.float64).tolist(), zb=np.asarray(zb, np.float64).tolist(),
                method="linear" if method in ("linear", "lerp") else "spherical",
                decoder=decoder, inverse=inverse)
    result = _component(key=key, data=data, on_drawn_change=lambda: None)
    return read_drawn(getattr(result, "drawn", None))
