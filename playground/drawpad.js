// The drawing pad: light strokes on an opaque black canvas, like MNIST (Streamlit component v2,
// loaded by drawpad.py). When a stroke ends the pad sends the picture as a PNG data URL (state
// value `png`); Clear sends null. Nothing else is kept: no list of strokes, one canvas.

const INK = '#fff';
const PAPER = '#000';

function fillPaper(ctx) {                    // opaque, so the PNG has no transparency to explain
  ctx.fillStyle = PAPER;
  ctx.fillRect(0, 0, ctx.canvas.width, ctx.canvas.height);
}

function pointerPosition(canvas, event) {
  const box = canvas.getBoundingClientRect();
  return [(event.clientX - box.left) * canvas.width / box.width,
          (event.clientY - box.top) * canvas.height / box.height];
}

function attachHandlers(canvas, ctx, clearButton, setStateValue) {
  let drawing = false, last = null;
  const started = (event) => {
    drawing = true;
    last = pointerPosition(canvas, event);
    canvas.setPointerCapture(event.pointerId);
    ctx.beginPath();
    ctx.arc(last[0], last[1], ctx.lineWidth / 2, 0, 2 * Math.PI);
    ctx.fillStyle = INK;
    ctx.fill();
  };
  const moved = (event) => {
    if (!drawing) return;
    const next = pointerPosition(canvas, event);
    ctx.beginPath(); ctx.moveTo(last[0], last[1]); ctx.lineTo(next[0], next[1]); ctx.stroke();
    last = next;
  };
  const ended = () => {
    if (!drawing) return;
    drawing = false;
    setStateValue('png', canvas.toDataURL('image/png'));
  };
  const cleared = () => { fillPaper(ctx); setStateValue('png', null); };
  canvas.addEventListener('pointerdown', started);
  canvas.addEventListener('pointermove', moved);
  canvas.addEventListener('pointerup', ended);
  canvas.addEventListener('pointercancel', ended);
  clearButton.addEventListener('click', cleared);
}

export default function ({ parentElement, setStateValue, data }) {
  const canvas = parentElement.querySelector('canvas');
  if (canvas.dataset.ready) return;          // mounted once; reruns keep the drawing
  canvas.dataset.ready = '1';
  const ctx = canvas.getContext('2d');
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  ctx.strokeStyle = INK;
  ctx.lineWidth = (data && data.width) || 20;
  fillPaper(ctx);
  if (data && data.png) {                     // a rerun re-created the canvas: put the drawing back
    const image = new Image();
    image.onload = () => ctx.drawImage(image, 0, 0);
    image.src = data.png;
  }
  attachHandlers(canvas, ctx, parentElement.querySelector('.clear'), setStateValue);
}
