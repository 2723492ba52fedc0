// The decoder in the browser: a small float32 interpreter for the layer list that
// playground/decoder_export.py writes (linear, convt, affine, act, unflatten) and one weights blob
// (float32 little-endian; offsets and sizes count float32 values). Generic in latent size, channels
// and image size. `LatentDecoder.build(spec, buffer)` checks the spec against the blob and returns
// { latentDim, imageShape, run(z) -> Float32Array (C x H x W, in [0, 1] after the final sigmoid) }.
// `LatentDecoder.toRGBA(image, shape, rgba)` turns an image into canvas pixels, rounded as the
// server's imaging.to_uint8 does (x * 255 + 0.5, clipped).
//
// In a Web Worker (dragmap.js starts one from this file's text and latent_inverse.js's) it answers:
//   {type: 'model', key, spec, url}      fetch the weights and build    -> {type: 'ready' | 'error', key, message}
//   {type: 'inverse', key, desc, url}    set the map's inverse (latent_inverse.js; url: the map data)
//                                                                      -> {type: 'inverse-ready' | 'error', key, message}
//   {type: 'decode', id, uv}             the code at uv and its pixels -> {type: 'frame', id, uv, z, rgba, shape, ms}
//   {type: 'decode-code', id, z}         the pixels of code z            -> the same
// A plain script: no imports, one global `LatentDecoder`.

var LatentDecoder = (() => {
  const FORMAT = 'latent-playground-decoder/1';

  // erf to about 1.2e-7 relative (Numerical Recipes' erfc, Chebyshev fit): well inside float32.
  function erf(x) {
    const z = Math.abs(x), t = 1 / (1 + 0.5 * z);
    const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
      + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223
      + t * 0.17087277)))))))));
    return x >= 0 ? 1 - r : r - 1;
  }

  const GELU_TANH = Math.sqrt(2 / Math.PI);
  const ACTIVATIONS = {
    relu: () => (x) => (x > 0 ? x : 0),
    leaky_relu: (layer) => { const a = layer.slope; return (x) => (x > 0 ? x : a * x); },
    elu: (layer) => { const a = layer.alpha; return (x) => (x > 0 ? x : a * Math.expm1(x)); },
    gelu: () => (x) => 0.5 * x * (1 + erf(x * Math.SQRT1_2)),
    gelu_tanh: () => (x) => 0.5 * x * (1 + Math.tanh(GELU_TANH * (x + 0.044715 * x * x * x))),
    silu: () => (x) => x / (1 + Math.exp(-x)),
    tanh: () => Math.tanh,
    sigmoid: () => (x) => 1 / (1 + Math.exp(-x)),
  };

  function slice(weights, offset, count, what) {
    if (!Number.isInteger(offset) || offset < 0 || offset + count > weights.length) {
      throw new Error(`${what}: ${count} values at ${offset} lie outside the ${weights.length} weights`);
    }
    return weights.subarray(offset, offset + count);
  }

  function linear(layer, weights, size, where) {
    const n = layer.in, m = layer.out;
    if (size !== n) throw new Error(`${where}: linear takes ${n} values, gets ${size}`);
    const W = slice(weights, layer.w, n * m, where);
    const b = layer.b === null ? null : slice(weights, layer.b, m, where);
    const out = new Float32Array(m);
    return {
      size: m,
      run(x) {
        let o = 0;
        for (; o + 3 < m; o += 4) {                                // four rows share each input load
          const r0 = o * n, r1 = r0 + n, r2 = r1 + n, r3 = r2 + n;
          let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
          for (let i = 0; i < n; i++) {
            const xv = x[i];
            a0 += W[r0 + i] * xv;
            a1 += W[r1 + i] * xv;
            a2 += W[r2 + i] * xv;
            a3 += W[r3 + i] * xv;
          }
          out[o] = (b ? b[o] : 0) + a0;
          out[o + 1] = (b ? b[o + 1] : 0) + a1;
          out[o + 2] = (b ? b[o + 2] : 0) + a2;
          out[o + 3] = (b ? b[o + 3] : 0) + a3;
        }
        for (; o < m; o++) {
          const row = o * n;
          let a0 = 0, a1 = 0, a2 = 0, a3 = 0, i = 0;
          for (; i + 3 < n; i += 4) {
            a0 += W[row + i] * x[i];
            a1 += W[row + i + 1] * x[i + 1];
            a2 += W[row + i + 2] * x[i + 2];
            a3 += W[row + i + 3] * x[i + 3];
          }
          for (; i < n; i++) a0 += W[row + i] * x[i];
          out[o] = (b ? b[o] : 0) + ((a0 + a1) + (a2 + a3));
        }
        return out;
      },
    };
  }

  // Transposed convolution gathered per output pixel: for each output (oy, ox), the input pixels
  // and kernel taps that land on it are listed once at build time; each output is then a few dot
  // products over the input channels, with the weights as (out, kh, kw, in). The input is held per
  // pixel as its nonzero channels only (after a ReLU most are zero: 60-80% in the shipped
  // decoders), so zeros cost nothing; adding only the nonzero terms gives the same sums.
  function convt(layer, weights, size, shape, where) {
    const [cin, ih, iw] = layer.in_shape, [cout, oh, ow] = layer.out_shape;
    const [kh, kw] = layer.kernel, [sh, sw] = layer.stride, [ph, pw] = layer.padding;
    if (!shape || shape[0] !== cin || shape[1] !== ih || shape[2] !== iw || layer.in !== cin || layer.out !== cout) {
      throw new Error(`${where}: transposed convolution takes ${layer.in_shape}, gets ${shape || size}`);
    }
    const P = ih * iw, K = kh * kw, OP = oh * ow;
    const W = slice(weights, layer.w, cin * cout * K, where);     // (in, out, kh, kw)
    const b = layer.b === null ? null : slice(weights, layer.b, cout, where);
    const Wt = new Float32Array(cout * K * cin);                    // (out, kh, kw, in)
    for (let ci = 0; ci < cin; ci++) {
      for (let co = 0; co < cout; co++) {
        for (let k = 0; k < K; k++) Wt[(co * K + k) * cin + ci] = W[(ci * cout + co) * K + k];
      }
    }
    const start = new Int32Array(OP + 1), taps = [];               // taps: [kernel offset, input offset]
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        for (let ky = 0; ky < kh; ky++) {
          const ty = oy + ph - ky;
          if (ty < 0 || ty % sh !== 0 || ty / sh >= ih) continue;
          for (let kx = 0; kx < kw; kx++) {
            const tx = ox + pw - kx;
            if (tx < 0 || tx % sw !== 0 || tx / sw >= iw) continue;
            taps.push((ky * kw + kx) * cin, (ty / sh) * iw + tx / sw);
          }
        }
        start[oy * ow + ox + 1] = taps.length / 2;
      }
    }
    const tap = Int32Array.from(taps);
    const nzStart = new Int32Array(P + 1), nzIdx = new Int32Array(P * cin), nzVal = new Float32Array(P * cin);
    const out = new Float32Array(cout * OP);
    return {
      size: out.length,
      shape: [cout, oh, ow],
      run(x) {
        let nz = 0;
        for (let p = 0; p < P; p++) {
          nzStart[p] = nz;
          for (let ci = 0; ci < cin; ci++) {
            const v = x[ci * P + p];
            if (v !== 0) { nzIdx[nz] = ci; nzVal[nz] = v; nz++; }
          }
        }
        nzStart[P] = nz;
        let co = 0;
        for (; co + 3 < cout; co += 4) {                          // four output channels share each input load
          const w0 = co * K * cin, w1 = w0 + K * cin, w2 = w1 + K * cin, w3 = w2 + K * cin;
          for (let o = 0; o < OP; o++) {
            let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
            for (let t = start[o], end = start[o + 1]; t < end; t++) {
              const k = tap[2 * t], pix = tap[2 * t + 1];
              const p0 = w0 + k, p1 = w1 + k, p2 = w2 + k, p3 = w3 + k;
              for (let j = nzStart[pix], stop = nzStart[pix + 1]; j < stop; j++) {
                const ci = nzIdx[j], xv = nzVal[j];
                a0 += Wt[p0 + ci] * xv;
                a1 += Wt[p1 + ci] * xv;
                a2 += Wt[p2 + ci] * xv;
                a3 += Wt[p3 + ci] * xv;
              }
            }
            out[co * OP + o] = (b ? b[co] : 0) + a0;
            out[(co + 1) * OP + o] = (b ? b[co + 1] : 0) + a1;
            out[(co + 2) * OP + o] = (b ? b[co + 2] : 0) + a2;
            out[(co + 3) * OP + o] = (b ? b[co + 3] : 0) + a3;
          }
        }
        for (; co < cout; co++) {
          const wco = co * K * cin, bias = b ? b[co] : 0, oo = co * OP;
          for (let o = 0; o < OP; o++) {
            let acc = bias;
            for (let t = start[o], end = start[o + 1]; t < end; t++) {
              const wo = wco + tap[2 * t], pix = tap[2 * t + 1];
              for (let j = nzStart[pix], stop = nzStart[pix + 1]; j < stop; j++) acc += Wt[wo + nzIdx[j]] * nzVal[j];
            }
            out[oo + o] = acc;
          }
        }
        return out;
      },
    };
  }

  function affine(layer, weights, size, shape, where) {
    const c = layer.channels;
    if (!shape || shape[0] !== c) throw new Error(`${where}: per-channel affine of ${c} channels gets ${shape || size}`);
    const scale = slice(weights, layer.scale, c, where), shift = slice(weights, layer.shift, c, where);
    const plane = size / c, out = new Float32Array(size);
    return {
      size,
      shape,
      run(x) {
        for (let ch = 0; ch < c; ch++) {
          const s = scale[ch], t = shift[ch], o = ch * plane;
          for (let i = 0; i < plane; i++) out[o + i] = x[o + i] * s + t;
        }
        return out;
      },
    };
  }

  function activation(layer, size, shape, where) {
    const make = ACTIVATIONS[layer.fn];
    if (!make) throw new Error(`${where}: unknown activation ${layer.fn}`);
    const f = make(layer), out = new Float32Array(size);
    return { size, shape, run(x) { for (let i = 0; i < size; i++) out[i] = f(x[i]); return out; } };
  }

  function build(spec, buffer) {
    if (!spec || spec.format !== FORMAT) throw new Error(`unknown decoder format ${spec && spec.format}`);
    const weights = new Float32Array(buffer);
    if (weights.length !== spec.floats) {
      throw new Error(`the weights hold ${weights.length} values, the spec says ${spec.floats}`);
    }
    let size = spec.latent_dim, shape = null;
    const steps = spec.layers.map((layer, i) => {
      const where = `layer ${i} (${layer.op})`;
      let step;
      if (layer.op === 'linear') step = linear(layer, weights, size, where);
      else if (layer.op === 'convt') step = convt(layer, weights, size, shape, where);
      else if (layer.op === 'affine') step = affine(layer, weights, size, shape, where);
      else if (layer.op === 'act') step = activation(layer, size, shape, where);
      else if (layer.op === 'unflatten') {
        const [c, h, w] = layer.shape;
        if (c * h * w !== size) throw new Error(`${where}: cannot unflatten ${size} values to ${layer.shape}`);
        step = { size, shape: [c, h, w], run: (x) => x };
      } else throw new Error(`${where}: unknown layer`);
      size = step.size;
      shape = step.shape || null;
      return step;
    });
    const want = spec.image_shape;
    if (!shape || shape.join() !== want.join()) throw new Error(`the layers end in ${shape || size}, not the image ${want}`);
    const result = new Float32Array(size);
    return {
      latentDim: spec.latent_dim,
      imageShape: want.slice(),
      run(z) {
        if (z.length !== spec.latent_dim) throw new Error(`a code of ${z.length} values; the model takes ${spec.latent_dim}`);
        let x = Float32Array.from(z);
        for (const step of steps) x = step.run(x);
        result.set(x);
        return result;
      },
    };
  }

  const toByte = (x) => Math.min(255, Math.max(0, Math.floor(x * 255 + 0.5)));

  // C x H x W in [0, 1] -> RGBA (grey for one channel, RGB for three).
  function toRGBA(image, shape, rgba) {
    const [c, h, w] = shape, plane = h * w;
    const out = rgba || new Uint8ClampedArray(plane * 4);
    for (let i = 0; i < plane; i++) {
      const r = toByte(image[i]);
      out[4 * i] = r;
      out[4 * i + 1] = c >= 3 ? toByte(image[plane + i]) : r;
      out[4 * i + 2] = c >= 3 ? toByte(image[2 * plane + i]) : r;
      out[4 * i + 3] = 255;
    }
    return out;
  }

  // ---- the worker ------------------------------------------------------------------------------
  function serve(scope) {
    const state = { model: null, modelKey: null, inverse: null, inverseKey: null };
    const fetchBuffer = async (url, what) => {
      let response;
      try {
        response = await fetch(url);
      } catch (error) {
        throw new Error(`could not fetch ${what}: ${error.message || error}`);
      }
      if (!response.ok) throw new Error(`could not fetch ${what}: the server answered ${response.status}`);
      return response.arrayBuffer();
    };
    scope.onmessage = async (event) => {
      const msg = event.data;
      try {
        if (msg.type === 'model') {
          state.model = null;
          state.modelKey = msg.key;
          const model = build(msg.spec, await fetchBuffer(msg.url, 'the weights'));
          if (state.modelKey !== msg.key) return;                    // superseded while fetching
          state.model = model;
          scope.postMessage({ type: 'ready', key: msg.key });
        } else if (msg.type === 'inverse') {
          state.inverse = null;
          state.inverseKey = msg.key;
          const buffer = msg.url ? await fetchBuffer(msg.url, "the map's data") : null;
          if (state.inverseKey !== msg.key) return;
          state.inverse = LatentInverse.prepare(msg.desc, buffer);
          scope.postMessage({ type: 'inverse-ready', key: msg.key });
        } else if (msg.type === 'decode' || msg.type === 'decode-code') {
          if (!state.model || (msg.type === 'decode' && !state.inverse)) {
            scope.postMessage({ type: 'skipped', id: msg.id });
            return;
          }
          const start = performance.now();
          const z = msg.type === 'decode' ? LatentInverse.toLatent(state.inverse, msg.uv) : Float32Array.from(msg.z);
          const rgba = toRGBA(state.model.run(z), state.model.imageShape);
          scope.postMessage({ type: 'frame', id: msg.id, uv: msg.uv, z, rgba, shape: state.model.imageShape,
                              ms: performance.now() - start }, [rgba.buffer]);
        }
      } catch (error) {
        scope.postMessage({ type: 'error', key: msg.key, id: msg.id, message: String(error && error.message || error) });
      }
    };
  }

  return { FORMAT, build, toRGBA, erf, serve };
})();

if (typeof WorkerGlobalScope !== 'undefined' && self instanceof WorkerGlobalScope) LatentDecoder.serve(self);
