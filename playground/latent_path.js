// Paths in the browser (the Interpolate page's scrubber): the code at position t in [0, 1] of a
// linear or spherical interpolation, as playground/interpolation.py computes its frames (frame k of
// n is t = k / (n - 1)), and a freehand stroke resampled to evenly spaced points.
// A plain script: no imports, one global `LatentPath`.

var LatentPath = (() => {
  const norm = (a) => Math.sqrt(a.reduce((s, x) => s + x * x, 0));

  function lerpAt(a, b, t) {
    return Float32Array.from(a, (x, i) => (1 - t) * x + t * b[i]);
  }

  // interpolation.slerp: the angle moves uniformly, the norm linearly from |a| to |b|.
  function slerpAt(a, b, t) {
    const na = norm(a), nb = norm(b), d = a.length;
    if (na < 1e-12 || nb < 1e-12) return lerpAt(a, b, t);
    if (t <= 0) return Float32Array.from(a);
    if (t >= 1) return Float32Array.from(b);
    const ua = a.map((x) => x / na), ub = b.map((x) => x / nb);
    const omega = Math.acos(Math.min(1, Math.max(-1, ua.reduce((s, x, i) => s + x * ub[i], 0))));
    let direction;
    if (omega < 1e-6) {
      direction = ua;
    } else if (Math.PI - omega < 1e-6) {           // opposite: the same great circle as the server's
      let k = 0;
      for (let i = 1; i < d; i++) if (Math.abs(ua[i]) < Math.abs(ua[k])) k = i;
      const perp = ua.map((x, i) => (i === k ? 1 : 0) - ua[k] * x);
      const np = norm(perp);
      direction = ua.map((x, i) => Math.cos(t * Math.PI) * x + Math.sin(t * Math.PI) * perp[i] / np);
    } else {
      const s = Math.sin(omega), wa = Math.sin((1 - t) * omega) / s, wb = Math.sin(t * omega) / s;
      direction = ua.map((x, i) => wa * x + wb * ub[i]);
    }
    const length = (1 - t) * na + t * nb;
    return Float32Array.from(direction, (x) => x * length);
  }

  function codeAt(a, b, t, method) {
    return method === 'linear' ? lerpAt(a, b, t) : slerpAt(a, b, t);
  }

  // `n` points evenly spaced by length along the polyline `points` ([[u, v], ...]), ends included.
  function resample(points, n) {
    if (points.length < 2) return points.length ? Array.from({ length: n }, () => points[0].slice()) : [];
    const cum = [0];
    for (let i = 1; i < points.length; i++) {
      cum.push(cum[i - 1] + Math.hypot(points[i][0] - points[i - 1][0], points[i][1] - points[i - 1][1]));
    }
    const total = cum[cum.length - 1], out = [];
    let j = 1;
    for (let k = 0; k < n; k++) {
      const at = total * k / (n - 1);
      while (j < points.length - 1 && cum[j] < at) j++;
      const span = cum[j] - cum[j - 1], f = span > 0 ? (at - cum[j - 1]) / span : 0;
      out.push([points[j - 1][0] + f * (points[j][0] - points[j - 1][0]),
                points[j - 1][1] + f * (points[j][1] - points[j - 1][1])]);
    }
    return out;
  }

  return { lerpAt, slerpAt, codeAt, resample };
})();
