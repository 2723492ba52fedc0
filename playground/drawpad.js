// The drawing pad: light strokes on an opaque black canvas, like MNIST (Streamlit component v2,
// loaded by drawpad.py). When a stroke ends the pad sends the picture as a PNG data URL (state
// value `png`); Clear sends null. Nothing else is kept: no list of strokes, one canvas.
//
// Mask mode (`data.background`, an image's data URL): the image shows under the pad and the strokes
// show over it in a translucent colour; what is sent is the same strokes white on transparent, drawn
// on a second canvas that nobody sees (transparent reads as black on the server: imaging.flatten_png).

const INK = '#fff';
const PAPER = '#000';
const MASK_INK = '#ff3d3d';

function fillPaper(ctx) {                    // opaque, so the PNG has no transparency to explain
  ctx.fillStyle = PAPER;
  ctx.fillRect(0, 0, ctx.canvas.width, ctx.canvas.height);
}

function pointerPosition(canvas, event) {
  const box = canvas.getBoundingClientRect();
  return [(event.clientX - box.left) * canvas.width / box.width,
          (event.clientY - box.top) * canvas.height / box.height];
}

function setPen(ctx, width, colour) {
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  ctx.strokeStyle = ctx.fillStyle = colour;
  ctx.lineWidth = width;
}

// Every stroke goes to each context: the one shown and, in mask mode, the white one that is sent.
function attachHandlers(canvas, contexts, sent, clearButton, setStateValue, clear) {
  let drawing = false, last = null;
  const started = (event) => {
    drawing = true;
    last = pointerPosition(canvas, event);
    canvas.setPointerCapture(event.pointerId);
    for (const ctx of contexts) {
      ctx.beginPath();
      ctx.arc(last[0], last[1], ctx.lineWidth / 2, 0, 2 * Math.PI);
      ctx.fill();
    }
  };
  const moved = (event) => {
    if (!drawing) return;
    const next = pointerPosition(canvas, event);
    for (const ctx of contexts) {
      ctx.beginPath(); ctx.moveTo(last[0], last[1]); ctx.lineTo(next[0], next[1]); ctx.stroke();
    }
    last = next;
  };
  const ended = () => {
    if (!drawing) return;
    drawing = false;
    setStateValue('png', sent.toDataURL('image/png'));
  };
  const cleared = () => { contexts.forEach(clear); setStateValue('png', null); };
  canvas.addEventListener('pointerdown', started);
  canvas.addEventListener('pointermove', moved);
  canvas.addEventListener('pointerup', ended);
  canvas.addEventListener('pointercancel', ended);
  clearButton.addEventListener('click', cleared);
}

export default function ({ parentElement, setStateValue, data }) {
  const canvas = parentElement.querySelector('canvas');
  parentElement.querySelector('.hint').textContent = (data && data.hint) || '';
  const under = parentElement.querySelector('img.under');
  if (data && data.background && under.getAttribute('src') !== data.background) {
    under.src = data.background;              // a new image under the same strokes
  }
  if (canvas.dataset.ready) return;          // mounted once; reruns keep the drawing
  canvas.dataset.ready = '1';
  if (data && Array.isArray(data.canvas)) {  // (height, width) in screen pixels: the image's aspect
    const [h, w] = data.canvas;
    canvas.height = h; canvas.width = w;
    for (const el of [parentElement.querySelector('.stack'), canvas, under]) {
      el.style.width = `${w}px`; el.style.height = `${h}px`;
    }
  }
  const width = (data && data.width) || 20;
  const ctx = canvas.getContext('2d');
  const mask = Boolean(data && data.background);
  if (!mask) {
    setPen(ctx, width, INK);
    fillPaper(ctx);
    if (data && data.png) {                   // a rerun re-created the canvas: put the drawing back
      const image = new Image();
      image.onload = () => ctx.drawImage(image, 0, 0);
      image.src = data.png;
    }
    attachHandlers(canvas, [ctx], canvas, parentElement.querySelector('.clear'), setStateValue, fillPaper);
    return;
  }
  // mask mode: the image under a transparent pad
  under.hidden = false;
  canvas.classList.add('mask');
  const sent = document.createElement('canvas');
  sent.width = canvas.width; sent.height = canvas.height;
  const white = sent.getContext('2d');
  setPen(ctx, width, MASK_INK);
  setPen(white, width, INK);
  if (data.png) {                             // put the strokes back, white and in colour
    const image = new Image();
    image.onload = () => {
      white.drawImage(image, 0, 0);
      ctx.drawImage(image, 0, 0);
      ctx.globalCompositeOperation = 'source-in';
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.globalCompositeOperation = 'source-over';
    };
    image.src = data.png;
  }
  const clear = (c) => c.clearRect(0, 0, c.canvas.width, c.canvas.height);
  attachHandlers(canvas, [ctx, white], sent, parentElement.querySelector('.clear'), setStateValue, clear);
}
