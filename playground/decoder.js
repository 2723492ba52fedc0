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
        for (let o = 0; o < m; o++) {
          let acc = b ? b[o] : 0;
          const row = o * n;
          for (let i = 0; i < n; i++) acc += W[row + i] * x[i];
          out[o] = acc;
        }
        return out;
      },
    };
  }

  // Transposed convolution as one matrix product (every input pixel times every (out channel,
  // ky, kx) weight, in contiguous runs over pixels), then each product added where it lands.
  function convt(layer, weights, size, shape, where) {
    const [cin, ih, iw] = layer.in_shape, [cout, oh, ow] = layer.out_shape;
    const [kh, kw] = layer.kernel, [sh, sw] = layer.stride, [ph, pw] = layer.padding;
    if (!shape || shape[0] !== cin || shape[1] !== ih || shape[2] !== iw || layer.in !== cin || layer.out !== cout) {
      throw new Error(`${where}: transposed convolution takes ${layer.in_shape}, gets ${shape || size}`);
    }
    const P = ih * iw, R = cout * kh * kw;
    const W = slice(weights, layer.w, cin * R, where);            // (in, out, kh, kw)
    const b = layer.b === null ? null : slice(weights, layer.b, cout, where);
    const cols = new Float32Array(R * P), out = new Float32Array(cout * oh * ow);
    return {
      size: out.length,
      shape: [cout, oh, ow],
      run(x) {
        cols.fill(0);
        for (let ci = 0; ci < cin; ci++) {
          const xo = ci * P, wo = ci * R;
          for (let r = 0; r < R; r++) {
            const w = W[wo + r];
            if (w === 0) continue;
            const co = r * P;
            for (let p = 0; p < P; p++) cols[co + p] += w * x[xo + p];
          }
        }
        for (let c = 0; c < cout; c++) out.fill(b ? b[c] : 0, c * oh * ow, (c + 1) * oh * ow);
        for (let c = 0; c < cout; c++) {
          for (let ky = 0; ky < kh; ky++) {
            for (let kx = 0; kx < kw; kx++) {
              const r = (c * kh + ky) * kw + kx;
              for (let iy = 0; iy < ih; iy++) {
                const oy = iy * sh - ph + ky;
                if (oy < 0 || oy >= oh) continue;
                const orow = (c * oh + oy) * ow, crow = r * P + iy * iw;
                for (let ix = 0; ix < iw; ix++) {
                  const ox = ix * sw - pw + kx;
                  if (ox >= 0 && ox < ow) out[orow + ox] += cols[crow + ix];
                }
              }
            }
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
        } else if (msg.type === 'decode') {
          if (!state.model || !state.inverse) {
            scope.postMessage({ type: 'skipped', id: msg.id });
            return;
          }
          const start = performance.now();
          const z = LatentInverse.toLatent(state.inverse, msg.uv);
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
