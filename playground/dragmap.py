"""The drag map: a cursor on the latent map whose decoded image follows the pointer, live.

A Streamlit custom component (v2: inline HTML/CSS/JS, no build step). The browser holds the map's
points and an atlas of images decoded in advance over an n x n grid (one sprite); while the pointer
moves, the preview blends the four atlas cells around it (bilinear), with no server round trip. On
release (or after arrow keys) it sends the cursor's position; Python then decodes that exact point.

Coordinates sent either way are normalised to the atlas extent: (0, 0) bottom left, (1, 1) top right.
`window.__latentDrag` keeps counters and per-move latencies for the browser test and bench.
"""
from __future__ import annotations

import base64

import numpy as np
import streamlit as st

from playground.figures import PALETTE
from playground.imaging import png_bytes

HTML = """
<div class="dragmap">
  <canvas class="map" width="560" height="560" tabindex="0"
          aria-label="latent map: drag the cursor, or use the arrow keys"></canvas>
  <div class="side">
    <canvas class="preview" width="168" height="168" aria-label="decoded image under the cursor"></canvas>
    <div class="where"></div>
    <div class="legend"></div>
    <div class="hint">Drag anywhere, also between clusters. Arrow keys nudge (Shift: more).
    The preview blends pre-decoded images; releasing decodes the exact point.</div>
  </div>
</div>
"""

CSS = """
.dragmap { display: flex; gap: 1.2rem; align-items: flex-start; flex-wrap: wrap; font-family: var(--st-font); }
canvas.map { border: 1px solid var(--st-border-color); border-radius: var(--st-base-radius); cursor: grab;
             touch-action: none; background: #fff; max-width: 100%; }
canvas.map:focus { outline: 2px solid var(--st-primary-color); }
canvas.preview { background: #000; border-radius: var(--st-base-radius); image-rendering: pixelated; }
.side { width: 190px; }
.where { margin-top: .5rem; font-size: .9rem; color: var(--st-text-color); }
.where b { font-weight: 600; }
.legend { margin-top: .5rem; font-size: .8rem; color: var(--st-text-color); display: grid;
          grid-template-columns: 1fr 1fr; gap: .1rem .6rem; }
.legend i { display: inline-block; width: .7rem; height: .7rem; border-radius: 50%; margin-right: .3rem;
            vertical-align: -1px; }
.hint { margin-top: .5rem; font-size: .8rem; color: var(--st-text-color); opacity: .65; }
"""

JS = """
export default function({ parentElement, data, setStateValue }) {
  const root = parentElement.querySelector('.dragmap');
  const S = root.__s || (root.__s = { init: false });
  S.data = data;
  const map = root.querySelector('canvas.map'), pv = root.querySelector('canvas.preview');
  const where = root.querySelector('.where');
  const W = map.width, H = map.height, P = 14;            // padding around the plot area
  const toPx = (u, v) => [P + u * (W - 2 * P), H - P - v * (H - 2 * P)];
  const toUV = (x, y) => [Math.min(1, Math.max(0, (x - P) / (W - 2 * P))),
                          Math.min(1, Math.max(0, (H - P - y) / (H - 2 * P)))];
  const stats = window.__latentDrag || (window.__latentDrag = { moves: 0, updates: 0, lat: [], stamps: [], cells: [] });

  function drawBase() {                                    // points (+ atlas) once per data change
    const b = S.base || (S.base = document.createElement('canvas'));
    b.width = W; b.height = H;
    const c = b.getContext('2d');
    c.fillStyle = '#fff'; c.fillRect(0, 0, W, H);
    if (S.data.show_atlas && S.sprite && S.sprite.complete) {
      c.globalAlpha = 0.55; c.imageSmoothingEnabled = false;
      c.drawImage(S.sprite, P, P, W - 2 * P, H - 2 * P); c.globalAlpha = 1;
    }
    const pts = S.data.points, lab = S.data.labels, col = S.data.colors;
    for (let i = 0; i < lab.length; i++) {
      const [x, y] = toPx(pts[2 * i], pts[2 * i + 1]);
      c.fillStyle = col[lab[i] % col.length]; c.globalAlpha = 0.8; c.fillRect(x - 1.5, y - 1.5, 3, 3);
    }
    c.globalAlpha = 1;
    for (const [u, v] of (S.data.pins || [])) {
      const [x, y] = toPx(u, v);
      c.fillStyle = '#000'; c.beginPath(); c.moveTo(x, y); c.lineTo(x - 6, y - 14); c.lineTo(x + 6, y - 14); c.fill();
    }
  }

  function nearest(u, v) {                                  // 2-D distance to the closest point
    const pts = S.data.points; let best = Infinity;
    for (let i = 0; i < pts.length; i += 2) {
      const du = pts[i] - u, dv = pts[i + 1] - v, d = du * du + dv * dv; if (d < best) best = d;
    }
    return Math.sqrt(best) / S.data.typical;
  }

  function drawPreview(u, v) {                              // bilinear blend of 4 atlas cells
    const ctx = pv.getContext('2d'); ctx.globalCompositeOperation = 'source-over';
    ctx.fillStyle = '#000'; ctx.fillRect(0, 0, pv.width, pv.height);
    if (!S.sprite || !S.sprite.complete) return '';
    const n = S.data.n, cell = S.data.cell;
    const fu = u * (n - 1), fr = (1 - v) * (n - 1);
    const c0 = Math.floor(fu), r0 = Math.floor(fr), c1 = Math.min(c0 + 1, n - 1), r1 = Math.min(r0 + 1, n - 1);
    const wx = fu - c0, wy = fr - r0;
    ctx.imageSmoothingEnabled = false; ctx.globalCompositeOperation = 'lighter';
    for (const [r, c, w] of [[r0, c0, (1 - wx) * (1 - wy)], [r0, c1, wx * (1 - wy)], [r1, c0, (1 - wx) * wy], [r1, c1, wx * wy]]) {
      if (w <= 0) continue;
      ctx.globalAlpha = w;
      ctx.drawImage(S.sprite, c * cell, r * cell, cell, cell, 0, 0, pv.width, pv.height);
    }
    ctx.globalAlpha = 1; ctx.globalCompositeOperation = 'source-over';
    const d = nearest(u, v);
    const label = d < 1.5 ? 'on the data' : d < 4 ? 'between data points' : 'far from any data: the model is guessing here';
    where.innerHTML = `map distance to the nearest point: <b>${d.toFixed(1)}×</b> the typical gap — ${label}`;
    return `${r0},${c0},${wx.toFixed(2)},${wy.toFixed(2)}`;
  }

  function draw() {
    const ctx = map.getContext('2d');
    ctx.drawImage(S.base, 0, 0);
    const [x, y] = toPx(S.cursor[0], S.cursor[1]);
    ctx.lineWidth = 2.5; ctx.strokeStyle = '#000'; ctx.fillStyle = 'rgba(255,215,0,0.85)';
    ctx.beginPath(); ctx.arc(x, y, 9, 0, 2 * Math.PI); ctx.fill(); ctx.stroke();
    ctx.beginPath(); ctx.moveTo(x - 15, y); ctx.lineTo(x + 15, y); ctx.moveTo(x, y - 15); ctx.lineTo(x, y + 15); ctx.stroke();
    return drawPreview(S.cursor[0], S.cursor[1]);
  }

  const send = () => setStateValue('cursor', [Number(S.cursor[0].toFixed(5)), Number(S.cursor[1].toFixed(5))]);

  if (!S.init) {
    S.init = true;
    const at = (e) => { const r = map.getBoundingClientRect();
      return toUV((e.clientX - r.left) * W / r.width, (e.clientY - r.top) * H / r.height); };
    map.addEventListener('pointerdown', (e) => { S.dragging = true; map.setPointerCapture(e.pointerId);
      map.style.cursor = 'grabbing'; S.cursor = at(e); draw(); });
    map.addEventListener('pointermove', (e) => {
      if (!S.dragging) return;
      const t0 = e.timeStamp; stats.moves++;
      S.cursor = at(e);
      const sig = draw(); stats.updates++; stats.stamps.push(performance.now());
      if (sig !== stats.cells[stats.cells.length - 1]) stats.cells.push(sig);
      requestAnimationFrame(() => stats.lat.push(performance.now() - t0));
    });
    const end = () => { if (!S.dragging) return; S.dragging = false; map.style.cursor = 'grab'; send(); };
    map.addEventListener('pointerup', end); map.addEventListener('pointercancel', end);
    map.addEventListener('keydown', (e) => {
      const step = e.shiftKey ? 0.05 : 0.01;
      const d = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] }[e.key];
      if (!d) return;
      e.preventDefault();
      S.cursor = [Math.min(1, Math.max(0, S.cursor[0] + d[0])), Math.min(1, Math.max(0, S.cursor[1] + d[1]))];
      draw();
    });
    map.addEventListener('keyup', (e) => { if (e.key.startsWith('Arrow')) send(); });
  }
  const legend = root.querySelector('.legend');
  const key = JSON.stringify([data.names, data.label_source]);
  if (legend.dataset.key !== key) {                        // class colours, as on the other maps
    legend.dataset.key = key; legend.replaceChildren();
    const title = document.createElement('div'); title.style.gridColumn = '1 / -1';
    title.textContent = data.label_source; title.style.opacity = '.7'; legend.appendChild(title);
    data.names.forEach((name, c) => { const row = document.createElement('div');
      const dot = document.createElement('i'); dot.style.background = data.colors[c % data.colors.length];
      row.appendChild(dot); row.appendChild(document.createTextNode(name)); legend.appendChild(row); });
  }
  if (!S.dragging) S.cursor = data.cursor.slice();
  if (S.spriteSrc !== data.atlas) {
    S.spriteSrc = data.atlas;
    S.sprite = new Image();
    S.sprite.onload = () => { drawBase(); draw(); };
    S.sprite.src = data.atlas;
  }
  drawBase(); draw();
}
"""

_component = st.components.v2.component("latent_playground_dragmap", html=HTML, css=CSS, js=JS)


def normalise(y: np.ndarray, extent: np.ndarray) -> np.ndarray:
    """Map coordinates -> [0, 1]^2 of the atlas extent (may fall outside for outlying points)."""
    (x0, x1), (y0, y1) = extent
    return (np.asarray(y, np.float64) - [x0, y0]) / [x1 - x0, y1 - y0]


def denormalise(uv, extent: np.ndarray) -> np.ndarray:
    (x0, x1), (y0, y1) = extent
    uv = np.clip(np.asarray(uv, np.float64), 0, 1)
    return (np.array([x0, y0]) + uv * [x1 - x0, y1 - y0]).astype(np.float32)


def sprite_url(atlas_image: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(atlas_image)).decode()


def dragmap(key: str, *, points_uv: np.ndarray, labels: np.ndarray, sprite: str, n: int,
            cursor_uv, typical: float, show_atlas: bool, pins_uv=(), names=(), label_source: str = ""):
    """Mount the drag map; returns the last released cursor position (u, v) or None."""
    data = dict(points=np.round(np.asarray(points_uv, np.float64).ravel(), 4).tolist(),
                labels=np.asarray(labels).astype(int).tolist(), colors=PALETTE, atlas=sprite, n=int(n),
                cell=28, cursor=[float(c) for c in np.clip(cursor_uv, 0, 1)], typical=float(typical),
                show_atlas=bool(show_atlas), pins=[[float(a), float(b)] for a, b in pins_uv],
                names=[str(n_) for n_ in names], label_source=str(label_source))
    result = _component(key=key, data=data, on_cursor_change=lambda: None)
    cur = getattr(result, "cursor", None)
    if isinstance(cur, (list, tuple)) and len(cur) == 2 and all(isinstance(c, (int, float)) for c in cur):
        return float(cur[0]), float(cur[1])
    return None
