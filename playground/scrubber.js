// The Interpolate page's scrubber (scrubber.py describes it): every position along the path, or
// along a freehand path drawn on the map, decoded exactly in the browser by the decoder's Web
// Worker (decoder.js, latent_inverse.js; WORKER_SOURCE) with the codes from latent_path.js.

const PAD = 12;
const STEPS = 1000;                  // the slider's resolution
const DRAWN_SENT = 48;               // points of a drawn path sent to the server (its GIF's frames)
const DRAWN_KEPT = 400;              // points of a drawn path the slider and the animation move along
const PLAY_MS = 4000;                // one pass of the animation
const READY_TEXT = 'Each image is decoded in your browser as you move the slider.';
const DRAW_TEXT = 'Draw on the map: press, move, release.';
const DRAWN_TEXT = 'Your path: each position is mapped to a code as on the drag page, then decoded in your browser.';

function scrubStats() {
  if (!window.__latentScrub) {
    window.__latentScrub = { decoder: 'off', decoderError: '', decodes: 0, frame: null, mode: 'line',
                             playing: false, sent: 0 };
  }
  return window.__latentScrub;
}

const toPixels = (c, u, v) => [PAD + u * (c.width - 2 * PAD), c.height - PAD - v * (c.height - 2 * PAD)];
const clampUnit = (x) => Math.min(1, Math.max(0, x));

function toUnit(canvas, event) {
  const box = canvas.getBoundingClientRect();
  const x = (event.clientX - box.left) * canvas.width / box.width;
  const y = (event.clientY - box.top) * canvas.height / box.height;
  return [clampUnit((x - PAD) / (canvas.width - 2 * PAD)), clampUnit((canvas.height - PAD - y) / (canvas.height - 2 * PAD))];
}

// The point at fraction t along a polyline of evenly spaced points.
function along(points, t) {
  if (!points.length) return null;
  const at = clampUnit(t) * (points.length - 1), i = Math.min(Math.floor(at), points.length - 2);
  if (i < 0) return points[0].slice();
  const f = at - i;
  return [points[i][0] + f * (points[i + 1][0] - points[i][0]), points[i][1] + f * (points[i + 1][1] - points[i][1])];
}

function drawMap(state) {
  const { map, data } = state;
  const ctx = map.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, map.width, map.height);
  ctx.globalAlpha = 0.7;
  for (let i = 0; i < data.labels.length; i++) {
    const [x, y] = toPixels(map, data.points[2 * i], data.points[2 * i + 1]);
    ctx.fillStyle = data.colors[data.labels[i] % data.colors.length];
    ctx.fillRect(x - 1, y - 1, 2, 2);
  }
  ctx.globalAlpha = 1;
  MapPoints.drawNote(ctx, state, PAD + 4, PAD + 16, map.width - 2 * PAD - 8);
  const line = (points, colour, width) => {
    if (points.length < 2) return;
    ctx.strokeStyle = colour; ctx.lineWidth = width; ctx.beginPath();
    points.forEach(([u, v], i) => { const [x, y] = toPixels(map, u, v); if (i) ctx.lineTo(x, y); else ctx.moveTo(x, y); });
    ctx.stroke();
  };
  line(data.path, state.mode === 'line' ? '#000' : 'rgba(0,0,0,0.3)', 2);
  line(state.stroke, state.mode === 'line' ? 'rgba(214,39,40,0.35)' : '#d62728', 2.5);
  const here = state.mode === 'line' ? along(data.path, state.t) : along(state.drawn, state.t);
  if (here) {
    const [x, y] = toPixels(map, here[0], here[1]);
    ctx.fillStyle = 'rgba(255,215,0,0.9)'; ctx.strokeStyle = '#000'; ctx.lineWidth = 2;
    ctx.beginPath(); ctx.arc(x, y, 7, 0, 2 * Math.PI); ctx.fill(); ctx.stroke();
  }
}

function setStatus(state) {
  const text = state.decoder === 'failed'
    ? `The in-browser decoder could not start (${state.decoderError}): the slider cannot show frames; the strip above shows the path's frames.`
    : state.decoder !== 'ready' ? 'Loading the decoder into your browser…'
    : state.drawing ? DRAW_TEXT : state.mode === 'drawn' ? DRAWN_TEXT : READY_TEXT;
  state.status.textContent = text;
  state.play.disabled = state.decoder !== 'ready';
  state.play.textContent = state.playing ? 'Pause' : 'Play';
  state.lineButton.disabled = state.mode === 'line';
  state.drawButton.textContent = state.drawing ? 'Drawing…' : 'Draw a path';
}

// ---- the worker ---------------------------------------------------------------------------------

function failed(state, why) {
  state.decoder = 'failed'; state.decoderError = why; state.playing = false;
  Object.assign(scrubStats(), { decoder: 'failed', decoderError: why, playing: false });
  setStatus(state);
}

function setup(state) {
  const { decoder, inverse } = state.data;
  if (decoder.error) { if (state.decoderError !== decoder.error) failed(state, decoder.error); return; }
  const abs = (url) => new URL(url, window.location.href).href;
  try {
    if (!state.worker) {
      // workers of mounts that have left the page (dragmap.js's too) are ended when a new one starts
      const all = window.__latentDecoderWorkers || (window.__latentDecoderWorkers = []);
      for (const entry of all.splice(0)) if (entry.root.isConnected) all.push(entry); else entry.worker.terminate();
      const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
      state.worker = new Worker(url);
      URL.revokeObjectURL(url);
      all.push({ root: state.root, worker: state.worker });
      state.worker.onmessage = (event) => said(state, event.data);
      state.worker.onerror = (event) => { event.preventDefault(); failed(state, `worker error: ${event.message || 'unknown'}`); };
    }
    if (state.modelKey !== decoder.key) {
      state.modelKey = decoder.key; state.modelReady = false; state.decoder = 'loading';
      state.worker.postMessage({ type: 'model', key: decoder.key, spec: decoder.spec, url: abs(decoder.url) });
    }
    const inverseKey = JSON.stringify([inverse.key, inverse.desc]);
    if (state.inverseKey !== inverseKey) {
      state.inverseKey = inverseKey; state.inverseReady = false;
      state.worker.postMessage({ type: 'inverse', key: inverseKey, desc: inverse.desc, url: inverse.url ? abs(inverse.url) : null });
    }
  } catch (error) {
    failed(state, `no Web Worker: ${error.message || error}`);
  }
}

function said(state, msg) {
  const stats = scrubStats();
  if (msg.type === 'ready' && msg.key === state.modelKey) state.modelReady = true;
  else if (msg.type === 'inverse-ready' && msg.key === state.inverseKey) state.inverseReady = true;
  else if (msg.type === 'error') { failed(state, msg.message); return; }
  else if (msg.type === 'frame' || msg.type === 'skipped') {
    state.busy = false;
    if (msg.type === 'frame') {
      const [, h, w] = msg.shape, small = state.small;
      if (small.width !== w || small.height !== h) { small.width = w; small.height = h; }
      small.getContext('2d').putImageData(new ImageData(msg.rgba, w, h), 0, 0);
      const ctx = state.preview.getContext('2d');
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(small, 0, 0, state.preview.width, state.preview.height);
      stats.decodes++;
      stats.frame = { ...state.requests.get(msg.id), z: Array.from(msg.z), shape: msg.shape, rgba: msg.rgba };
    }
    state.requests.delete(msg.id);
    if (state.pending) { const p = state.pending; state.pending = null; request(state, p); }
  }
  if (state.modelReady && state.inverseReady && state.decoder === 'loading') {
    state.decoder = 'ready'; stats.decoder = 'ready';
    setStatus(state);
    show(state);
  }
}

// Decode what position t shows: a code of the interpolation, or a position of the drawn path.
function request(state, what) {
  if (state.decoder !== 'ready') return;
  if (state.busy) { state.pending = what; return; }
  state.busy = true;
  state.requestId += 1;
  state.requests.set(state.requestId, what);
  if (what.mode === 'line') {
    const z = LatentPath.codeAt(state.data.za, state.data.zb, what.t, state.data.method);
    state.worker.postMessage({ type: 'decode-code', id: state.requestId, z });
  } else {
    state.worker.postMessage({ type: 'decode', id: state.requestId, uv: what.uv });
  }
}

function show(state) {
  drawMap(state);
  const what = { mode: state.mode, t: state.t };
  if (state.mode === 'drawn') what.uv = along(state.drawn, state.t);
  request(state, what);
}

// ---- the person's input -------------------------------------------------------------------------

function setT(state, t) {
  state.t = clampUnit(t);
  state.slider.value = String(Math.round(state.t * STEPS));
  show(state);
}

function animate(state) {
  if (!state.playing) return;
  const now = performance.now(), dt = now - (state.lastTick || now);
  state.lastTick = now;
  let t = state.t + dt / PLAY_MS;
  if (t > 1) t = 0;
  setT(state, t);
  requestAnimationFrame(() => animate(state));
}

function setPlaying(state, playing) {
  state.playing = playing && state.decoder === 'ready';
  scrubStats().playing = state.playing;
  state.lastTick = null;
  setStatus(state);
  if (state.playing) requestAnimationFrame(() => animate(state));
}

function attach(state) {
  const { map } = state;
  state.slider.addEventListener('input', () => { setPlaying(state, false); setT(state, Number(state.slider.value) / STEPS); });
  state.play.addEventListener('click', () => setPlaying(state, !state.playing));
  state.drawButton.addEventListener('click', () => {
    state.drawing = true; setPlaying(state, false); map.classList.add('drawing'); setStatus(state);
  });
  state.lineButton.addEventListener('click', () => {
    state.mode = 'line'; scrubStats().mode = 'line'; setPlaying(state, false); setStatus(state); setT(state, 0);
  });
  map.addEventListener('pointerdown', (event) => {
    if (!state.drawing) return;
    map.setPointerCapture(event.pointerId);
    state.stroking = true;
    state.stroke = [toUnit(map, event)];
    drawMap(state);
  });
  map.addEventListener('pointermove', (event) => {
    if (!state.stroking) return;
    state.stroke.push(toUnit(map, event));
    drawMap(state);
  });
  const ended = () => {
    if (!state.stroking) return;
    state.stroking = false; state.drawing = false; map.classList.remove('drawing');
    if (state.stroke.length < 2) { setStatus(state); return; }
    state.drawn = LatentPath.resample(state.stroke, DRAWN_KEPT);
    state.mode = 'drawn';
    state.sentSeq += 1;
    const path = LatentPath.resample(state.stroke, DRAWN_SENT).map(([u, v]) => [Number(u.toFixed(5)), Number(v.toFixed(5))]);
    state.setStateValue('drawn', { path, seq: state.sentSeq });
    Object.assign(scrubStats(), { mode: 'drawn', sent: state.sentSeq, drawnSent: path });
    setT(state, 0);
    setPlaying(state, true);
  };
  map.addEventListener('pointerup', ended);
  map.addEventListener('pointercancel', ended);
}

function create(root) {
  const state = {
    root, map: root.querySelector('canvas.map'), preview: root.querySelector('canvas.preview'),
    slider: root.querySelector('input.position'), status: root.querySelector('.status'),
    play: root.querySelector('button.play'), drawButton: root.querySelector('button.draw'),
    lineButton: root.querySelector('button.line'), small: document.createElement('canvas'),
    data: null, setStateValue: null, t: 0, mode: 'line', drawing: false, stroking: false,
    stroke: [], drawn: [], sentSeq: 0, playing: false, lastTick: null,
    worker: null, decoder: 'off', decoderError: '', modelKey: null, modelReady: false,
    inverseKey: null, inverseReady: false, busy: false, pending: null, requestId: 0, requests: new Map(),
  };
  attach(state);
  return state;
}

export default function ({ parentElement, data, setStateValue }) {
  const root = parentElement.querySelector('.scrubber');
  const state = root.__scrubState || (root.__scrubState = create(root));
  const pathChanged = state.data && JSON.stringify([state.data.za, state.data.zb, state.data.method])
    !== JSON.stringify([data.za, data.zb, data.method]);
  state.data = { ...data, ...MapPoints.take(state, data, () => {        // map_points.js
    state.data = { ...state.data, points: state.pointsParsed, labels: state.labelsParsed };
    drawMap(state);
  }) };
  state.setStateValue = setStateValue;
  setup(state);
  setStatus(state);
  if (pathChanged && state.mode === 'line') setT(state, state.t);
  else drawMap(state);
}
