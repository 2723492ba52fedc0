"""The drag map: a cursor on the latent map whose decoded image follows the pointer, live.

A Streamlit custom component (v2: HTML, CSS and JS inline, no build step; the CSS and JS live in
dragmap.css and dragmap.js beside this module and are read at import, with decoder.js and
latent_inverse.js, which also run as the component's Web Worker). While the pointer moves, the
preview is the exact decoding of the cursor's code, computed in the browser: the worker maps the
position to a code with the server's own inverse (`decoder`: the decoder exported by
decoder_export.py, its weights fetched once from decoder_route.py's URL; `inverse`: described by
decoder_inverse.py) and runs the decoder, with no server round trip. If the decoder cannot start
(`decoder` says why, or the worker or the fetch fails), the preview blends the four cells around the
cursor of an atlas decoded in advance over an n x n grid (one sprite), and the page says so.

Who owns the cursor:
- the browser, while the person moves it. Each release or arrow key sends the state value `cursor`
  = {uv: [u, v], seq, mount}: `seq` grows with every send of one mount (`mount`), so every press is
  a new value and the server applies each exactly once (`read_cursor`, `BrowserCursor.key`);
- the server, when it moves the cursor itself (a slider, an upload, a new map): it then raises
  `rev`. The browser takes the server's `cursor` only when `rev` changed or when the server has
  caught up with its last send (`seq`/`mount` echo the last one applied), so a rerun that was
  started by an earlier press never puts the cursor back;
- at rest, once caught up, the preview shows `exact`, the server's exact decoding of the cursor's
  code, so the preview and the exact decoding always agree when nothing moves.

Coordinates sent either way are normalised to the map's extent: (0, 0) bottom left, (1, 1) top
right. The extent covers every point plus a margin (`full_extent`), so each point can be reached.
`window.__latentDrag` keeps counters and the last 2,000 per-move latencies for the tests and bench.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from playground.bounded import MB, LRU
from playground.figures import PALETTE

HTML = """
<div class="dragmap">
  <canvas class="map" width="560" height="560" tabindex="0"
          aria-label="latent map: drag the cursor, or use the arrow keys"></canvas>
  <div class="side">
    <canvas class="preview" width="168" height="168" aria-label="decoded image under the cursor"></canvas>
    <div class="status"></div>
    <div class="legend"></div>
    <div class="hint">Drag anywhere, also between clusters. Arrow keys nudge (Shift: more).</div>
  </div>
</div>
"""
CSS = Path(__file__).with_name("dragmap.css").read_text(encoding="utf-8")
_HERE = Path(__file__).parent
WORKER_JS = "\n".join((_HERE / f).read_text(encoding="utf-8") for f in ("latent_inverse.js", "decoder.js"))
JS = (f"const WORKER_SOURCE = {json.dumps(WORKER_JS)};\n" + (_HERE / "map_points.js").read_text(encoding="utf-8")
      + "\n" + (_HERE / "dragmap.js").read_text(encoding="utf-8"))
CELL = 28                      # pixels per atlas cell

_component = st.components.v2.component("latent_playground_dragmap", html=HTML, css=CSS, js=JS)


# ---- geometry (pure) ----------------------------------------------------------------------------

def full_extent(y: np.ndarray, margin: float = 0.05) -> np.ndarray:
    """[[xmin, xmax], [ymin, ymax]] covering every point, plus `margin` of the range on each side."""
    y = np.asarray(y, np.float64)
    lo, hi = y.min(0), y.max(0)
    span = hi - lo
    pad = np.where(span > 0, span * margin, 1.0)       # all points on one line: a unit margin
    return np.stack([lo - pad, hi + pad], 1)


def grid_points(extent: np.ndarray, n: int) -> np.ndarray:
    """An n x n grid over `extent`, row by row, row 0 at the top (largest y): (n*n, 2) float32."""
    (x0, x1), (y0, y1) = extent
    gx, gy = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y1, y0, n))
    return np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)


def normalise(y: np.ndarray, extent: np.ndarray) -> np.ndarray:
    """Map coordinates -> [0, 1]^2 of the extent."""
    (x0, x1), (y0, y1) = extent
    return (np.asarray(y, np.float64) - [x0, y0]) / [x1 - x0, y1 - y0]


def denormalise(uv, extent: np.ndarray) -> np.ndarray:
    (x0, x1), (y0, y1) = extent
    uv = np.clip(np.asarray(uv, np.float64), 0, 1)
    return (np.array([x0, y0]) + uv * [x1 - x0, y1 - y0]).astype(np.float32)


# ---- what the browser sends ---------------------------------------------------------------------

@dataclass(frozen=True)
class BrowserCursor:
    u: float
    v: float
    seq: int
    mount: str

    @property
    def key(self) -> tuple[str, int]:
        """Which send this was: each (mount, seq) is applied once."""
        return self.mount, self.seq


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def read_cursor(value) -> BrowserCursor | None:
    """The component's `cursor` state value as sent by dragmap.js, or None if absent or malformed."""
    if not isinstance(value, dict):
        return None
    uv, seq, mount = value.get("uv"), value.get("seq"), value.get("mount")
    if not (isinstance(uv, (list, tuple)) and len(uv) == 2 and all(_finite(c) for c in uv)):
        return None
    if not (isinstance(seq, int) and not isinstance(seq, bool) and seq > 0 and isinstance(mount, str)):
        return None
    return BrowserCursor(min(max(float(uv[0]), 0.0), 1.0), min(max(float(uv[1]), 0.0), 1.0), seq, mount)


# ---- the component ------------------------------------------------------------------------------

# The points and their classes, made once per map rather than once per run: every release reruns
# the page, and Streamlit JSON-encodes (twice: once to send, once sorted for the widget's identity)
# and hashes everything a component is given on every run. Served through decoder_route.py, they
# leave each run's data altogether (the page sends a URL; the browser fetches it once per map); where
# the route is not served (the app run without playground/server.py) they go inline as JSON text,
# which passes through json.dumps as one copy. Keyed by the arrays' bytes (a hash), shared by every
# session.
_encoded = LRU(max_entries=16, max_bytes=64 * MB)


def _points_key(pts: np.ndarray, lab: np.ndarray) -> str:
    return hashlib.blake2b(f"{pts.shape}|{lab.shape}|".encode() + pts.tobytes() + lab.tobytes(),
                           digest_size=16).hexdigest()


def encode_points(points_uv: np.ndarray, labels: np.ndarray) -> tuple[str, str]:
    """(points, labels) as JSON text: the points' coordinates flattened, rounded to 4 decimals
    (a tenth of a pixel on a 560-pixel map), and the classes as integers."""
    pts = np.ascontiguousarray(points_uv, np.float64)
    lab = np.ascontiguousarray(labels).astype(np.int64)
    key = "text-" + _points_key(pts, lab)
    hit = _encoded.get(key)
    if hit is None:
        hit = (json.dumps(np.round(pts.ravel(), 4).tolist(), separators=(",", ":")),
               json.dumps(lab.tolist(), separators=(",", ":")))
        _encoded.put(key, hit, len(hit[0]) + len(hit[1]))
    return hit


# Read-only arrays shared by every session (a map's, from the caches) are the same objects run after
# run: found by identity, they are not converted and hashed again on every run (1 ms at 70,000
# points). The entry holds the arrays, so their ids cannot be reused while it is kept.
_by_identity = LRU(max_entries=16, max_bytes=16 * 1024)


def _frozen(a) -> bool:
    """A numpy array that nothing can write to: read-only, and so is every array it is a view of,
    down to memory it owns or immutable bytes."""
    if not isinstance(a, np.ndarray):
        return False
    while isinstance(a, np.ndarray):
        if a.flags.writeable:
            return False
        a = a.base
    return a is None or isinstance(a, bytes)


def points_blob(points_uv: np.ndarray, labels: np.ndarray) -> tuple[str, bytes]:
    """(name, blob) of the points for the browser to fetch: n x 2 coordinates as float32 then n
    classes as int32, little-endian (dragmap.js `pointsFrom`); the name holds the blob's hash."""
    if not (_frozen(points_uv) and _frozen(labels)):
        return _points_blob(points_uv, labels)
    same = (id(points_uv), id(labels))
    seen = _by_identity.get(same)
    if seen is not None and seen[0] is points_uv and seen[1] is labels:
        return seen[2]
    hit = _points_blob(points_uv, labels)
    _by_identity.put(same, (points_uv, labels, hit), 64)
    return hit


def _points_blob(points_uv, labels) -> tuple[str, bytes]:
    pts = np.ascontiguousarray(points_uv, "<f4").reshape(-1, 2)
    lab = np.ascontiguousarray(labels).astype("<i4").reshape(-1)
    if len(pts) != len(lab):
        raise ValueError(f"{len(pts)} points but {len(lab)} classes")
    key = "blob-" + _points_key(pts, lab)
    hit = _encoded.get(key)
    if hit is None:
        blob = pts.tobytes() + lab.tobytes()
        hit = (f"points-{hashlib.blake2b(blob, digest_size=16).hexdigest()}", blob)
        _encoded.put(key, hit, len(blob))
    return hit


def points_data(points_uv: np.ndarray, labels: np.ndarray) -> dict:
    """The points' part of the component's data: a URL to fetch when the app serves one, else text."""
    from playground import decoder_route
    if decoder_route.available():
        name, blob = points_blob(points_uv, labels)
        return dict(points_url=decoder_route.publish(name, blob), n_points=int(len(labels)))
    points_text, labels_text = encode_points(points_uv, labels)
    return dict(points=points_text, labels=labels_text, n_points=int(len(labels)))


def picture_url(png: bytes, name: str) -> str:
    """A PNG for the component to show: the URL of `name` (a content key) on the app's route, which
    the browser fetches once and caches, or, where the route is not served, a data URL. A data URL
    is in the run's data, which Streamlit encodes and sends on every run: the drag map's atlas is a
    230 kB one."""
    from playground import decoder_route
    if decoder_route.available():
        return decoder_route.publish(name, png, "png")
    import base64
    return "data:image/png;base64," + base64.b64encode(png).decode()


def dragmap(key: str, *, points_uv: np.ndarray, labels: np.ndarray, atlas_url: str, n: int,
            cursor_uv, rev: int, applied: BrowserCursor | None, exact_url: str, show_atlas: bool,
            pins_uv=(), names=(), label_source: str = "", decoder: dict | None = None,
            inverse: dict | None = None, cell: tuple[int, int] = (CELL, CELL)) -> BrowserCursor | None:
    """Mount the drag map; returns the last cursor the browser sent (or None).

    `cursor_uv` is the server's cursor, `rev` the count of the server's own moves of it, `applied`
    the browser send it reflects, `exact_url` its exact decoding (a PNG data URL). `decoder` is
    {key, spec, url} for the browser's decoder or {error: why not}; `inverse` is {key, desc, url}
    (url: the learned inverse's data, or None). `cell`: the atlas cell's (height, width), the model's
    image size."""
    data = dict(**points_data(points_uv, labels), colors=PALETTE, atlas=atlas_url,
                n=int(n), cell=int(cell[0]), cell_w=int(cell[1]), cursor=[float(c) for c in np.clip(cursor_uv, 0, 1)], rev=int(rev),
                seq=applied.seq if applied else None, mount=applied.mount if applied else None,
                exact=exact_url, show_atlas=bool(show_atlas),
                pins=[[float(a), float(b)] for a, b in pins_uv],
                names=[str(name) for name in names], label_source=str(label_source),
                decoder=decoder or {"error": "no decoder was given"}, inverse=inverse)
    result = _component(key=key, data=data, on_cursor_change=lambda: None)
    return read_cursor(getattr(result, "cursor", None))
