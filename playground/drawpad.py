"""A drawing pad (Streamlit custom component v2: inline HTML/JS, no build step).

Draw with the mouse, a pen or a finger; light strokes on black like MNIST. When a stroke ends, the pad
sends the picture as a PNG data URL (state value `png`); Clear sends None.
"""
from __future__ import annotations

import base64

import streamlit as st

HTML = """
<div class="pad">
  <canvas width="280" height="280" aria-label="drawing pad"></canvas>
  <div class="row"><button type="button" class="clear">Clear</button>
  <span class="hint">Draw one digit or item, large, in the middle.</span></div>
</div>
"""

CSS = """
.pad { font-family: var(--st-font); }
canvas { background: #000; border-radius: var(--st-base-radius); touch-action: none; cursor: crosshair;
         border: 1px solid var(--st-border-color); }
.row { margin-top: .4rem; display: flex; gap: .8rem; align-items: center; }
button { padding: .3rem .9rem; border: 1px solid var(--st-border-color); border-radius: var(--st-button-radius);
         background: var(--st-background-color); color: var(--st-text-color); cursor: pointer; }
.hint { color: var(--st-text-color); opacity: .6; font-size: .85rem; }
"""

JS = """
export default function({ parentElement, setStateValue, data }) {
  const canvas = parentElement.querySelector('canvas');
  if (canvas.dataset.ready) return;            // mounted once; reruns keep the drawing
  canvas.dataset.ready = '1';
  const ctx = canvas.getContext('2d');
  ctx.lineCap = 'round'; ctx.lineJoin = 'round'; ctx.strokeStyle = '#fff';
  ctx.lineWidth = (data && data.width) || 20;
  if (data && data.png) {                       // a rerun re-created the canvas: put the drawing back
    const img = new Image(); img.onload = () => ctx.drawImage(img, 0, 0); img.src = data.png;
  }
  let drawing = false, last = null;
  const pos = (e) => { const r = canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height]; };
  canvas.addEventListener('pointerdown', (e) => { drawing = true; last = pos(e);
    canvas.setPointerCapture(e.pointerId);
    ctx.beginPath(); ctx.arc(last[0], last[1], ctx.lineWidth / 2, 0, 2 * Math.PI); ctx.fillStyle = '#fff'; ctx.fill(); });
  canvas.addEventListener('pointermove', (e) => { if (!drawing) return; const p = pos(e);
    ctx.beginPath(); ctx.moveTo(last[0], last[1]); ctx.lineTo(p[0], p[1]); ctx.stroke(); last = p; });
  const end = () => { if (!drawing) return; drawing = false; setStateValue('png', canvas.toDataURL('image/png')); };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);
  parentElement.querySelector('.clear').addEventListener('click', () => {
    ctx.clearRect(0, 0, canvas.width, canvas.height); setStateValue('png', null); });
}
"""

_pad = st.components.v2.component("latent_playground_drawpad", html=HTML, css=CSS, js=JS)


def drawpad(key: str) -> bytes | None:
    """Mount the pad; returns the drawing as PNG bytes, or None while it is empty."""
    previous = (st.session_state.get(key) or {}).get("png")
    if not (isinstance(previous, str) and previous.startswith("data:image/png;base64,")):
        previous = None
    result = _pad(key=key, data={"width": 20, "png": previous}, on_png_change=lambda: None)
    url = getattr(result, "png", None)
    if not url or not isinstance(url, str) or not url.startswith("data:image/png;base64,"):
        return None
    try:
        return base64.b64decode(url.split(",", 1)[1], validate=True)
    except ValueError:
        return None
