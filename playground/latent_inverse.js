// Map position -> latent code in the browser, the same inverse the server applies on release
// (playground/latent_map.py LatentMap.to_latent, playground/projection.py):
// - 'identity': a 2-D model's latent plane, the position is the code;
// - 'pca': exact, z = mean + y @ components + rest, where `rest` holds the hidden components of the
//   server's current code as the page holds them (computed by the server, float32);
// - 'knn': the learned inverse, KNNInverse(k, power, keep_norm, eps): the k nearest map points
//   (squared distances as q.q - 2 q.s + s.s in float64, never negative; ties keep the lower index),
//   weights 1 / (distance + eps)^power normalised, the code their weighted mean, rescaled to the
//   weighted mean norm of the neighbours' codes when keep_norm.
// Positions arrive normalised to the map's extent ((0, 0) bottom left) and are mapped back to map
// coordinates in float64 then rounded to float32, as dragmap.py's `denormalise` does.
// A plain script: no imports, one global `LatentInverse` (used by the page, its worker and tests).

var LatentInverse = (() => {
  const f32 = Math.fround;
  const clampUnit = (x) => Math.min(1, Math.max(0, x));

  function denormalise(uv, extent) {
    const [[x0, x1], [y0, y1]] = extent;
    return [f32(x0 + clampUnit(uv[0]) * (x1 - x0)), f32(y0 + clampUnit(uv[1]) * (y1 - y0))];
  }

  // The k nearest rows of source (n x 2, float32) to q, nearest first: [indices, distances].
  function nearest(source, n, q, k) {
    const qq = q[0] * q[0] + q[1] * q[1];
    const idx = new Int32Array(k).fill(-1), d2 = new Float64Array(k).fill(Infinity);
    for (let i = 0; i < n; i++) {
      const s0 = source[2 * i], s1 = source[2 * i + 1];
      let d = qq - 2 * (q[0] * s0 + q[1] * s1) + (s0 * s0 + s1 * s1);
      if (d < 0) d = 0;
      if (d >= d2[k - 1]) continue;                     // equal distance: the lower index stays
      let j = k - 1;
      while (j > 0 && d2[j - 1] > d) { d2[j] = d2[j - 1]; idx[j] = idx[j - 1]; j--; }
      d2[j] = d; idx[j] = i;
    }
    return [idx, Array.from(d2, Math.sqrt)];
  }

  function knn(inv, y) {
    const { source, target, n, dim, power, eps } = inv;
    const k = Math.min(inv.k, n);
    const [idx, dist] = nearest(source, n, y, k);
    const raw = dist.map((d) => 1 / Math.pow(d + eps, power));
    const total = raw.reduce((a, b) => a + b, 0);
    const w = raw.map((x) => f32(x / total));
    const out = new Float32Array(dim);
    for (let j = 0; j < dim; j++) {
      let acc = 0;
      for (let m = 0; m < k; m++) acc += w[m] * target[idx[m] * dim + j];
      out[j] = acc;
    }
    if (inv.keep_norm) {
      let norm = 0, outNorm = 0;
      for (let m = 0; m < k; m++) {
        let s = 0;
        for (let j = 0; j < dim; j++) { const t = target[idx[m] * dim + j]; s += t * t; }
        norm += w[m] * f32(Math.sqrt(s));
      }
      for (let j = 0; j < dim; j++) outNorm += out[j] * out[j];
      const scale = f32(f32(norm) / Math.max(f32(Math.sqrt(outNorm)), 1e-12));
      for (let j = 0; j < dim; j++) out[j] = out[j] * scale;
    }
    return out;
  }

  function pca(inv, y) {
    const { mean, components, rest, dim } = inv;
    const out = new Float32Array(dim);
    for (let j = 0; j < dim; j++) {
      const proj = f32(y[0] * components[j] + y[1] * components[dim + j]);
      out[j] = f32(mean[j] + proj) + rest[j];
    }
    return out;
  }

  // The code for a normalised position uv under inverse `inv` (see the kinds above).
  function toLatent(inv, uv) {
    const y = denormalise(uv, inv.extent);
    if (inv.kind === 'identity') return Float32Array.from(y);
    if (inv.kind === 'pca') return pca(inv, y);
    if (inv.kind === 'knn') return knn(inv, y);
    throw new Error(`unknown inverse ${inv.kind}`);
  }

  // The inverse's description from the page plus, for 'knn', the map blob (float32 little-endian:
  // n x 2 map coordinates, then n x dim codes).
  function prepare(desc, buffer) {
    const inv = { ...desc };
    if (desc.kind === 'pca') {
      inv.mean = Float32Array.from(desc.mean);
      inv.components = Float32Array.from(desc.components.flat());
      inv.rest = Float32Array.from(desc.rest);
    } else if (desc.kind === 'knn') {
      const all = new Float32Array(buffer);
      if (all.length !== desc.n * (2 + desc.dim)) {
        throw new Error(`the map data holds ${all.length} values, not ${desc.n} x (2 + ${desc.dim})`);
      }
      inv.source = all.subarray(0, 2 * desc.n);
      inv.target = all.subarray(2 * desc.n);
    }
    return inv;
  }

  return { denormalise, nearest, toLatent, prepare };
})();
