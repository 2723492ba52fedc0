// The drag map: a cursor on the latent map whose decoded image follows the pointer.
// A Streamlit custom component (v2), loaded by dragmap.py, which describes the protocol:
// - the browser owns the cursor while the person moves it: every release or arrow key sends
//   {uv, seq, mount}, with a sequence number that grows with each send;
// - the server's cursor (`data.cursor`) is taken only when the server moved it itself
//   (`data.rev` changed: a slider, an upload, a new map) or when it has caught up with the
//   browser's last send (`data.mount`, `data.seq`), so a rerun never puts the cursor back;
// - at rest, once the server has caught up, the preview shows the server's exact decoding
//   (`data.exact`); while moving, the exact decoding of the cursor's code computed in the browser
//   by a Web Worker (decoder.js and latent_inverse.js, whose text dragmap.py puts in WORKER_SOURCE:
//   the same inverse as the server's on release, then the decoder; `data.decoder`, `data.inverse`).
//   The worker gets only the newest position while it is busy. If the decoder cannot start
//   (`data.decoder.error`, a worker error, a failed fetch), the preview blends the four
//   pre-decoded atlas cells around the cursor instead, and the status line says why.
// Coordinates are normalised to the map's extent: (0, 0) bottom left, (1, 1) top right.

const PADDING = 14;              // pixels between the canvas edge and the plot area
const STATS_LIMIT = 2000;        // every array in window.__latentDrag keeps its last 2,000 entries
const KEY_STEP = 0.01;           // an arrow key moves the cursor by 1% of the map (Shift: 5%)
const KEY_STEP_SHIFT = 0.05;
const ARROWS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };
const EXACT_TEXT = "Exact decoding of the cursor's code.";
const BLEND_TEXT = 'Preview blended from pre-decoded images; the exact decoding follows on release.';
const DECODED_TEXT = "Exact decoding of the cursor's code, computed in your browser.";
const LOADING_TEXT = 'Loading the decoder into your browser… Meanwhile the preview is blended from '
  + 'pre-decoded images.';
const failedText = (why) => `The in-browser decoder could not start (${why}). ${BLEND_TEXT}`;

const clampUnit = (x) => Math.min(1, Math.max(0, x));
const roundTo5 = (x) => Number(x.toFixed(5));
const imageReady = (image) => image && image.complete && image.naturalWidth > 0;

function pushBounded(list, value) {
  list.push(value);
  if (list.length > STATS_LIMIT) list.splice(0, list.length - STATS_LIMIT);
}

// Counters and latencies for the browser tests and the bench (bounded ring buffers).
function dragStats() {
  if (!window.__latentDrag) {
    window.__latentDrag = { moves: 0, updates: 0, sends: 0, lat: [], stamps: [], cells: [],
                            cursor: null, released: null, server: null, rev: null, preview: '',
                            // the browser's decoder: 'loading', 'ready' or 'failed' (and why), how
                            // many frames it decoded, when, pointer-to-pixels per frame (ms), the last one
                            decoder: 'off', decoderError: '', decodes: 0, decodeStamps: [], decodeLat: [],
                            decodeMs: [], frame: null };
  }
  return window.__latentDrag;
}

// ---- geometry -----------------------------------------------------------------------------------

function toPixels(canvas, u, v) {
  const { width, height } = canvas;
  return [PADDING + u * (width - 2 * PADDING), height - PADDING - v * (height - 2 * PADDING)];
}

function toUnit(canvas, x, y) {
  const { width, height } = canvas;
  return [clampUnit((x - PADDING) / (width - 2 * PADDING)),
          clampUnit((height - PADDING - y) / (height - 2 * PADDING))];
}

function pointerToUnit(canvas, event) {
  const box = canvas.getBoundingClientRect();
  return toUnit(canvas, (event.clientX - box.left) * canvas.width / box.width,
                (event.clientY - box.top) * canvas.height / box.height);
}

// ---- drawing ------------------------------------------------------------------------------------

// The points on their own canvas, drawn only when the map or the canvas size changes; one colour at a
// time (a fillStyle change per dot costs more than the dot), classes in order like the chart's traces.
function pointsLayer(state) {
  const { map, data } = state;
  const { points, labels, colors } = data;
  // redrawn only when the points (a new text or URL: state.pointsVersion) or the canvas size change
  const key = `${map.width}x${map.height}:${state.pointsVersion}`;
  if (state.pointsKey === key) return state.pointsCanvas;
  const layer = state.pointsCanvas || (state.pointsCanvas = document.createElement('canvas'));
  layer.width = map.width;
  layer.height = map.height;
  const ctx = layer.getContext('2d');
  const byColor = new Map();
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i] % colors.length;
    if (!byColor.has(c)) byColor.set(c, []);
    byColor.get(c).push(i);
  }
  ctx.globalAlpha = 0.8;
  for (const c of [...byColor.keys()].sort((a, b) => a - b)) {
    ctx.fillStyle = colors[c];
    for (const i of byColor.get(c)) {
      const [x, y] = toPixels(map, points[2 * i], points[2 * i + 1]);
      ctx.fillRect(x - 1.5, y - 1.5, 3, 3);
    }
  }
  state.pointsKey = key;
  state.layerDraws = (state.layerDraws || 0) + 1;      // counted by bench/dragmap_draw.py
  return layer;
}

// The atlas (when shown), the points layer and the pins, drawn once per data change on a hidden canvas.
function drawBackground(state) {
  const { map, background, data } = state;
  background.width = map.width;
  background.height = map.height;
  const ctx = background.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, map.width, map.height);
  if (data.show_atlas && imageReady(state.atlas)) {
    ctx.globalAlpha = 0.55;
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(state.atlas, PADDING, PADDING, map.width - 2 * PADDING, map.height - 2 * PADDING);
    ctx.globalAlpha = 1;
  }
  ctx.drawImage(pointsLayer(state), 0, 0);
  MapPoints.drawNote(ctx, state, PADDING + 6, PADDING + 18, map.width - 2 * PADDING - 12);
  ctx.fillStyle = '#000';
  for (const [u, v] of data.pins || []) {
    const [x, y] = toPixels(map, u, v);
    ctx.beginPath(); ctx.moveTo(x, y); ctx.lineTo(x - 6, y - 14); ctx.lineTo(x + 6, y - 14); ctx.fill();
  }
}

// The bilinear blend of the four atlas cells around (u, v); returns which cells, for the stats.
function drawBlend(state, ctx, u, v) {
  const { n, cell } = state.data;
  const cellW = state.data.cell_w || cell;        // cells are the model's image size (height x width)
  const across = u * (n - 1), down = (1 - v) * (n - 1);
  const col0 = Math.floor(across), row0 = Math.floor(down);
  const col1 = Math.min(col0 + 1, n - 1), row1 = Math.min(row0 + 1, n - 1);
  const wx = across - col0, wy = down - row0;
  ctx.globalCompositeOperation = 'lighter';
  const corners = [[row0, col0, (1 - wx) * (1 - wy)], [row0, col1, wx * (1 - wy)],
                   [row1, col0, (1 - wx) * wy], [row1, col1, wx * wy]];
  for (const [row, col, weight] of corners) {
    if (weight <= 0) continue;
    ctx.globalAlpha = weight;
    ctx.drawImage(state.atlas, col * cellW, row * cell, cellW, cell, 0, 0, ctx.canvas.width, ctx.canvas.height);
  }
  ctx.globalAlpha = 1;
  ctx.globalCompositeOperation = 'source-over';
  return `${row0},${col0},${wx.toFixed(2)},${wy.toFixed(2)}`;
}

// The browser's latest decoded frame, scaled to the preview.
function drawFrame(state, ctx) {
  const { frame } = state;
  const [, h, w] = frame.shape;
  const small = state.frameCanvas;
  if (small.width !== w || small.height !== h) { small.width = w; small.height = h; }
  small.getContext('2d').putImageData(new ImageData(frame.rgba, w, h), 0, 0);
  ctx.drawImage(small, 0, 0, ctx.canvas.width, ctx.canvas.height);
}

// The image beside the map: the server's exact decoding at rest, else the browser's exact decoding
// of the cursor's code, else (no decoder) the atlas blend.
function drawPreview(state) {
  const { preview, status } = state;
  const ctx = preview.getContext('2d');
  ctx.globalCompositeOperation = 'source-over';
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, preview.width, preview.height);
  ctx.imageSmoothingEnabled = false;
  const exact = state.exactIsCurrent && imageReady(state.exact);
  const decoded = !exact && state.decoder === 'ready' && state.frame !== null
    && state.frame.rgba instanceof Uint8ClampedArray;
  let shown = '';
  if (exact) {
    ctx.drawImage(state.exact, 0, 0, preview.width, preview.height);
    shown = 'exact';
  } else if (decoded) {
    drawFrame(state, ctx);
    shown = `decoded ${state.frame.id}`;
  } else if (imageReady(state.atlas)) {
    shown = drawBlend(state, ctx, state.cursor[0], state.cursor[1]);
  }
  status.textContent = exact ? EXACT_TEXT : decoded ? DECODED_TEXT
    : state.decoder === 'failed' ? failedText(state.decoderError)
    : state.decoder === 'loading' ? LOADING_TEXT : BLEND_TEXT;
  status.classList.toggle('exact', exact || decoded);
  status.classList.toggle('failed', !exact && state.decoder === 'failed');
  dragStats().preview = exact ? 'exact' : decoded ? 'decoded' : 'blend';
  return shown;
}

function drawCursor(state) {
  const ctx = state.map.getContext('2d');
  ctx.drawImage(state.background, 0, 0);
  const [x, y] = toPixels(state.map, state.cursor[0], state.cursor[1]);
  ctx.lineWidth = 2.5;
  ctx.strokeStyle = '#000';
  ctx.fillStyle = 'rgba(255,215,0,0.85)';
  ctx.beginPath(); ctx.arc(x, y, 9, 0, 2 * Math.PI); ctx.fill(); ctx.stroke();
  ctx.beginPath();
  ctx.moveTo(x - 15, y); ctx.lineTo(x + 15, y); ctx.moveTo(x, y - 15); ctx.lineTo(x, y + 15);
  ctx.stroke();
  return drawPreview(state);
}

function drawLegend(state) {
  const { legend, data } = state;
  const key = JSON.stringify([data.names, data.label_source]);
  if (legend.dataset.key === key) return;
  legend.dataset.key = key;
  legend.replaceChildren();
  const title = document.createElement('div');
  title.className = 'title';
  title.textContent = data.label_source;
  legend.appendChild(title);
  data.names.forEach((name, index) => {
    const row = document.createElement('div');
    const dot = document.createElement('i');
    dot.style.background = data.colors[index % data.colors.length];
    row.append(dot, document.createTextNode(name));
    legend.appendChild(row);
  });
}

// ---- the cursor, owned by the browser while it moves --------------------------------------------

// `start`: the time stamp of the event that moved it (pointer-to-pixels is measured from it).
function moveCursor(state, uv, start) {
  state.cursor = uv;
  state.unsent = true;
  state.exactIsCurrent = false;
  dragStats().cursor = uv.slice();
  requestDecode(state, uv, start);
  return drawCursor(state);
}

// ---- the decoder in a Web Worker ----------------------------------------------------------------

// Workers of mounts that have left the page are ended when a new one starts.
function startWorker(state) {
  const all = window.__latentDecoderWorkers || (window.__latentDecoderWorkers = []);
  for (const entry of all.splice(0)) {
    if (entry.root.isConnected && entry.root !== state.root) all.push(entry); else entry.worker.terminate();
  }
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
  const worker = new Worker(url);
  URL.revokeObjectURL(url);
  worker.onmessage = (event) => workerSaid(state, event.data);
  worker.onerror = (event) => { event.preventDefault(); decoderFailed(state, `worker error: ${event.message || 'unknown'}`); };
  all.push({ root: state.root, worker });
  return worker;
}

function decoderFailed(state, why) {
  state.decoder = 'failed';
  state.decoderError = why;
  state.busy = false;
  state.pending = null;
  const stats = dragStats();
  stats.decoder = 'failed';
  stats.decoderError = why;
  if (state.data) drawCursor(state);
}

function absolute(url) { return new URL(url, window.location.href).href; }

// New data from the server: (re)load the model or the inverse when their keys changed.
function setupDecoder(state, data) {
  const want = data.decoder || { error: 'no decoder was given' };
  if (want.error) {
    if (state.decoderError !== want.error) decoderFailed(state, want.error);
    return;
  }
  if (state.decoder === 'failed' && state.modelKey === want.key) return;
  const inverseKey = data.inverse ? JSON.stringify([data.inverse.key, data.inverse.desc]) : null;
  try {
    if (!state.worker) state.worker = startWorker(state);
    if (state.modelKey !== want.key) {
      state.modelKey = want.key;
      state.modelReady = false;
      state.decoder = 'loading';
      dragStats().decoder = 'loading';
      state.worker.postMessage({ type: 'model', key: want.key, spec: want.spec, url: absolute(want.url) });
    }
    if (inverseKey && state.inverseKey !== inverseKey) {
      state.inverseKey = inverseKey;
      state.inverseReady = false;
      const { desc, url } = data.inverse;
      state.worker.postMessage({ type: 'inverse', key: inverseKey, desc, url: url ? absolute(url) : null });
    }
  } catch (error) {
    decoderFailed(state, `no Web Worker: ${error.message || error}`);
  }
}

function workerSaid(state, msg) {
  const stats = dragStats();
  if (msg.type === 'ready' && msg.key === state.modelKey) state.modelReady = true;
  else if (msg.type === 'inverse-ready' && msg.key === state.inverseKey) state.inverseReady = true;
  else if (msg.type === 'error') { decoderFailed(state, msg.message); return; }
  else if (msg.type === 'frame' || msg.type === 'skipped') {
    state.busy = false;
    if (msg.type === 'frame' && state.decoder !== 'failed') {
      state.frame = { id: msg.id, uv: msg.uv, z: msg.z, shape: msg.shape, rgba: msg.rgba };
      stats.decodes++;
      pushBounded(stats.decodeStamps, performance.now());
      pushBounded(stats.decodeMs, msg.ms);                // the worker's own time per frame
      stats.frame = { id: msg.id, uv: msg.uv, z: Array.from(msg.z), shape: msg.shape, ms: msg.ms, rgba: msg.rgba };
      if (!state.exactIsCurrent) drawPreview(state);
      const start = state.requestStarts.get(msg.id);
      state.requestStarts.delete(msg.id);
      if (start !== undefined) requestAnimationFrame(() => pushBounded(stats.decodeLat, performance.now() - start));
    }
    if (state.pending) {
      const { uv, start } = state.pending;
      state.pending = null;
      requestDecode(state, uv, start);
    }
  }
  if (state.modelReady && state.inverseReady && state.decoder === 'loading') {
    state.decoder = 'ready';
    stats.decoder = 'ready';
    if (!state.frame) requestDecode(state, state.cursor, performance.now());
  }
}

// Decode the code at uv: at once when the worker is free, else when it is (only the newest
// position waits; it keeps the oldest waiting event's time, so pointer-to-pixels counts the wait).
function requestDecode(state, uv, start) {
  if (!state.worker || state.decoder === 'failed' || !state.modelReady || !state.inverseReady) return;
  if (state.busy) {
    state.pending = { uv, start: state.pending ? Math.min(state.pending.start, start) : start };
    return;
  }
  state.busy = true;
  state.requestId += 1;
  state.requestStarts.clear();
  state.requestStarts.set(state.requestId, start);
  state.worker.postMessage({ type: 'decode', id: state.requestId, uv: uv.slice() });
}

function sendCursor(state) {
  state.sentSeq += 1;
  state.unsent = false;
  const value = { uv: state.cursor.map(roundTo5), seq: state.sentSeq, mount: state.mountId };
  dragStats().sends++;
  state.setStateValue('cursor', value);
}

function attachHandlers(state) {
  const { map } = state;
  const started = (event) => {
    state.dragging = true;
    map.setPointerCapture(event.pointerId);
    map.style.cursor = 'grabbing';
    moveCursor(state, pointerToUnit(map, event), event.timeStamp);
  };
  const moved = (event) => {
    if (!state.dragging) return;
    const stats = dragStats(), start = event.timeStamp;
    stats.moves++;
    const cells = moveCursor(state, pointerToUnit(map, event), start);
    stats.updates++;
    pushBounded(stats.stamps, performance.now());
    if (cells !== stats.cells[stats.cells.length - 1]) pushBounded(stats.cells, cells);
    requestAnimationFrame(() => pushBounded(stats.lat, performance.now() - start));
  };
  const ended = () => {
    if (!state.dragging) return;
    state.dragging = false;
    map.style.cursor = 'grab';
    dragStats().released = state.cursor.slice();       // where the last drag ended (bench/drag_speed.py)
    sendCursor(state);
  };
  const nudged = (event) => {
    const arrow = ARROWS[event.key];
    if (!arrow) return;
    event.preventDefault();
    const step = event.shiftKey ? KEY_STEP_SHIFT : KEY_STEP;
    moveCursor(state, [clampUnit(state.cursor[0] + arrow[0] * step),
                       clampUnit(state.cursor[1] + arrow[1] * step)], event.timeStamp);
  };
  const nudgeEnded = (event) => { if (ARROWS[event.key]) sendCursor(state); };
  map.addEventListener('pointerdown', started);
  map.addEventListener('pointermove', moved);
  map.addEventListener('pointerup', ended);
  map.addEventListener('pointercancel', ended);
  map.addEventListener('keydown', nudged);
  map.addEventListener('keyup', nudgeEnded);
}

function createState(root) {
  const state = {
    root,
    map: root.querySelector('canvas.map'),
    preview: root.querySelector('canvas.preview'),
    status: root.querySelector('.status'),
    legend: root.querySelector('.legend'),
    background: document.createElement('canvas'),
    mountId: Math.random().toString(36).slice(2, 12),   // tells this mount's sends from an earlier one's
    sentSeq: 0,                // sequence number of the last cursor sent (0: none yet)
    serverRev: null,           // the server's revision of its own cursor moves last taken
    cursor: [0.5, 0.5],
    dragging: false,
    unsent: false,             // moved by keys or pointer since the last send
    exactIsCurrent: false,     // the server's exact decoding is of the cursor shown
    atlas: null, atlasSrc: null, exact: null, exactSrc: null,
    data: null, setStateValue: null,
    // the browser's decoder (a Web Worker): 'off', 'loading', 'ready' or 'failed' (decoderError)
    worker: null, decoder: 'off', decoderError: '', modelKey: null, modelReady: false,
    inverseKey: null, inverseReady: false,
    busy: false, pending: null, requestId: 0, requestStarts: new Map(),
    frame: null, frameCanvas: document.createElement('canvas'),
  };
  attachHandlers(state);
  return state;
}

function loadImage(state, name, src) {
  if (state[name + 'Src'] === src) return;
  state[name + 'Src'] = src;
  const image = new Image();
  image.onload = () => { if (state[name] === image) { drawBackground(state); drawCursor(state); } };
  image.src = src;
  state[name] = image;
}

// The points and their classes (map_points.js): fetched once per map, or parsed from text.
function unpack(state, data) {
  return { ...data, ...MapPoints.take(state, data, () => {
    state.data = { ...state.data, points: state.pointsParsed, labels: state.labelsParsed };
    drawBackground(state);
    drawCursor(state);
  }) };
}

// A run of the page sent new data: take the server's cursor only when it is newer than ours.
function received(state, data) {
  data = unpack(state, data);
  state.data = data;
  const stats = dragStats();
  stats.server = data.cursor.slice();
  stats.rev = data.rev;
  const serverMoved = data.rev !== state.serverRev;
  const caughtUp = state.sentSeq === 0 || (data.mount === state.mountId && data.seq === state.sentSeq);
  const atRest = !state.dragging && !state.unsent;
  if (serverMoved) state.serverRev = data.rev;
  if (atRest && (serverMoved || caughtUp)) {
    state.cursor = data.cursor.slice();
    state.exactIsCurrent = true;
    stats.cursor = state.cursor.slice();
  }
  drawLegend(state);
  setupDecoder(state, data);
  loadImage(state, 'atlas', data.atlas);
  loadImage(state, 'exact', data.exact);
  drawBackground(state);
  drawCursor(state);
}

export default function ({ parentElement, data, setStateValue }) {
  const root = parentElement.querySelector('.dragmap');
  const state = root.__dragState || (root.__dragState = createState(root));
  state.setStateValue = setStateValue;
  received(state, data);
}
