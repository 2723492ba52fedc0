"""Selections of map points: kept whole, written compactly into the URL, and shown by a sample that
spreads over the selected region. Pure numpy.

>>> decode_selection(encode_selection([5, 2, 9], 10), 10)
[5, 2, 9]
"""
from __future__ import annotations

import base64

import numpy as np

LIST_LIMIT = 64          # up to this many indices the URL lists them ("sel=5,2,9"); past it, a bitmask
BITMASK_PREFIX = "m"     # "sel=m<base64url of the packed bits>": 2,000 points cost 336 characters


def unique_indices(indices, n_points: int) -> list[int]:
    """Valid indices (0 <= i < n_points), first occurrence kept, order kept."""
    out = dict.fromkeys(int(i) for i in indices if 0 <= int(i) < n_points)
    return list(out)


def encode_selection(indices, n_points: int) -> str:
    """A URL value for a selection: the indices themselves when few, else a bitmask over the map."""
    sel = unique_indices(indices, n_points)
    if len(sel) <= LIST_LIMIT:
        return ",".join(map(str, sel))
    bits = np.zeros(n_points, bool)
    bits[sel] = True
    return BITMASK_PREFIX + base64.urlsafe_b64encode(np.packbits(bits).tobytes()).decode().rstrip("=")


def decode_selection(text: str | None, n_points: int | None = None) -> list[int]:
    """Inverse of `encode_selection`; anything malformed is dropped, never raised.

    Without `n_points` (not known yet), a bitmask is read as far as it goes."""
    text = (text or "").strip()
    if text.startswith(BITMASK_PREFIX):
        raw = text[len(BITMASK_PREFIX):]
        try:
            data = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        except (ValueError, TypeError):
            return []
        bits = np.unpackbits(np.frombuffer(data, np.uint8)).astype(bool)
        idx = np.flatnonzero(bits).tolist()
    else:
        idx = [int(p) for p in (part.strip() for part in text.split(",")) if p.isdigit()]
    limit = n_points if n_points is not None else 1 << 31
    return unique_indices(idx, limit)


def representative(indices, y: np.ndarray, k: int = 16) -> list[int]:
    """Up to k of the selected points, spread over the selection's region of the map.

    Farthest-point sampling in map coordinates, starting from the point nearest the selection's
    centre: each next point is the one farthest from all chosen so far. Deterministic."""
    sel = np.asarray(list(dict.fromkeys(int(i) for i in indices)), dtype=int)
    if len(sel) <= k:
        return sel.tolist()
    pts = np.asarray(y, np.float64)[sel]
    first = int(np.argmin(((pts - pts.mean(0)) ** 2).sum(1)))
    chosen = [first]
    dist = ((pts - pts[first]) ** 2).sum(1)
    for _ in range(k - 1):
        nxt = int(np.argmax(dist))
        chosen.append(nxt)
        dist = np.minimum(dist, ((pts - pts[nxt]) ** 2).sum(1))
    return sel[chosen].tolist()
