// A map's points and their classes, as dragmap.py `points_data` sends them: a URL to fetch once per
// map (`points_url`: n x 2 float32 coordinates, then n int32 classes, little-endian) or, when the
// app does not serve that URL, JSON text (`points`, `labels`), parsed again only when it changes.
// Shared by dragmap.js and scrubber.js (their Python modules put this file's text before theirs).
// `MapPoints.take(store, data, onChange)` returns {points, labels}: empty until a fetch arrives;
// `store.pointsNote` says in words what is loading or what failed; `store.pointsVersion` grows
// whenever the points change; onChange() runs when a fetch arrives or fails; `drawNote` draws the
// note on a canvas.

const MapPoints = (() => {
  function pointsFrom(buffer, n) {
    if (buffer.byteLength !== 12 * n) throw new Error(`${buffer.byteLength} bytes for ${n} points`);
    return { points: new Float32Array(buffer, 0, 2 * n), labels: new Int32Array(buffer, 8 * n, n) };
  }

  function changed(store, points, labels, note) {
    Object.assign(store, { pointsParsed: points, labelsParsed: labels, pointsNote: note });
    store.pointsVersion = (store.pointsVersion || 0) + 1;
  }

  function fetchPoints(store, url, n, onChange) {
    store.pointsUrl = url;
    changed(store, [], [], `Loading the map's ${Number(n).toLocaleString('en-US')} points…`);
    fetch(new URL(url, window.location.href).href)
      .then((response) => {
        if (!response.ok) throw new Error(`the server answered ${response.status}`);
        return response.arrayBuffer();
      })
      .then((buffer) => {
        if (store.pointsUrl !== url) return;                   // another map was sent meanwhile
        const { points, labels } = pointsFrom(buffer, n);
        changed(store, points, labels, '');
        onChange();
      })
      .catch((error) => {
        if (store.pointsUrl !== url) return;
        store.pointsUrl = null;                                // the next run of the page tries again
        changed(store, [], [], `Could not load the map's points (${error.message || error}); they are asked for again when the page next updates (your next move).`);
        onChange();
      });
  }

  function take(store, data, onChange) {
    if (typeof data.points_url === 'string') {
      if (store.pointsUrl !== data.points_url) fetchPoints(store, data.points_url, data.n_points, onChange);
    } else if (typeof data.points === 'string' && typeof data.labels === 'string') {
      store.pointsUrl = null;
      if (store.pointsText !== data.points || store.labelsText !== data.labels) {
        store.pointsText = data.points;
        store.labelsText = data.labels;
        changed(store, JSON.parse(data.points), JSON.parse(data.labels), '');
      }
    } else if (store.pointsParsed === undefined) {
      changed(store, [], [], '');
    }
    return { points: store.pointsParsed, labels: store.labelsParsed };
  }

  // What is loading or what failed, in words at the top left of the map's plot area.
  function drawNote(ctx, store, x, y, width) {
    if (!store.pointsNote) return;
    ctx.fillStyle = '#555';
    ctx.font = '13px sans-serif';
    ctx.fillText(store.pointsNote, x, y, width);
  }

  return { take, pointsFrom, drawNote };
})();
