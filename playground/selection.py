"""Selections of map points: kept whole, written compactly into the URL, and shown by a sample that
spreads over the selected region. Pure numpy.

A URL value lists up to LIST_LIMIT indices in order ("sel=5,2,9"). A larger selection is a bitmask
over the map, which keeps the set but not the order; the first ORDERED_HEAD indices (the ends of the
Interpolate page) are listed in front of it, so a shared link interpolates between the same two
("sel=5,2,m<base64url>"). A value from a link is untrusted: it is read within MAX_POINTS, junk and
out-of-range parts are left out, and what was left out is said in words (`Decoded.warning`).

>>> decode_selection(encode_selection([5, 2, 9], 10), 10)
[5, 2, 9]
"""
from __future__ import annotations

import base64
import binascii
from typing import NamedTuple

import numpy as np

LIST_LIMIT = 64          # up to this many indices the URL lists them ("sel=5,2,9"); past it, a bitmask
BITMASK_PREFIX = "m"     # "sel=m<base64url of the packed bits>": 2,000 points cost 336 characters
ORDERED_HEAD = 2         # a bitmask keeps the set; these first indices are listed in front, in order
MAX_POINTS = 70_000      # no map is larger (all of MNIST): a link's index at or past it is refused
MAX_DIGITS = 7           # a list part longer than this is not read as a number at all


class Decoded(NamedTuple):
    indices: list[int]           # the selection, first occurrence kept, order kept
    warning: str | None = None   # what was left out of the value, in words for a person (else None)


def literal(text: str, limit: int = 24) -> str:
    """Untrusted text (a value from a link) for a message shown as Markdown: a code span, so nothing
    in it is read as Markdown, HTML or a Streamlit directive; at most `limit` characters, then '…';
    backticks and unprintable characters (line breaks, bidi overrides) become '?'."""
    clean = "".join(c if c != "`" and c.isprintable() else "?" for c in text[: limit + 1])
    return f"`{clean[:limit] + '…' if len(clean) > limit else clean}`"


def unique_indices(indices, n_points: int) -> list[int]:
    """Valid indices (0 <= i < n_points), first occurrence kept, order kept."""
    out = dict.fromkeys(int(i) for i in indices if 0 <= int(i) < n_points)
    return list(out)


def encode_selection(indices, n_points: int) -> str:
    """A URL value for a selection of a map of `n_points`: the indices themselves when few, else
    the first ORDERED_HEAD of them and a bitmask as long as the largest index needs."""
    sel = unique_indices(indices, min(n_points, MAX_POINTS))
    if len(sel) <= LIST_LIMIT:
        return ",".join(map(str, sel))
    bits = np.zeros(max(sel) + 1, bool)
    bits[sel] = True
    mask = BITMASK_PREFIX + base64.urlsafe_b64encode(np.packbits(bits).tobytes()).decode().rstrip("=")
    return ",".join([*map(str, sel[:ORDERED_HEAD]), mask])


def _bitmask(raw: str, n_points: int) -> tuple[list[int], str | None]:
    """Indices set in a base64url bitmask, read no further than `n_points` bits."""
    limit = -(-n_points // 24) * 4                       # base64 characters of n_points bits, padded
    note = None
    if not raw:
        return [], "its bitmask is empty"
    if len(raw) > limit:
        note = f"its bitmask is longer than a map of {n_points:,} points, so only the start was read"
        raw = raw[:limit]                                 # a multiple of 4 characters
    elif len(raw) % 4 == 1:                 # 1 spare char holds no byte: base64url never ends so
        raw = raw[:-1]
        note = "its bitmask ends in a stray character (no whole byte), which was not read"
    try:
        data = base64.b64decode(raw.translate(str.maketrans("-_", "+/")) + "=" * (-len(raw) % 4),
                                validate=True)
    except (binascii.Error, ValueError):
        return [], "its bitmask is not valid base64url, so it was not read"
    bits = np.unpackbits(np.frombuffer(data, np.uint8))[:n_points]
    return np.flatnonzero(bits).tolist(), note


def parse_selection(text: str | None, n_points: int | None = None) -> Decoded:
    """Inverse of `encode_selection` for a value from a link: never raises, never allocates more
    than a map of min(n_points, MAX_POINTS) needs; what it leaves out is said in `warning`."""
    limit = MAX_POINTS if n_points is None else min(n_points, MAX_POINTS)
    idx, junk, beyond, notes = [], [], 0, []
    for part in (p.strip() for p in (text or "").split(",")):
        if not part:
            continue
        if part.startswith(BITMASK_PREFIX):
            found, note = _bitmask(part[len(BITMASK_PREFIX):], limit)
            idx += found
            notes += [note] if note else []
        elif part.isascii() and part.isdigit():              # ASCII: int('²') would raise
            if len(part) <= MAX_DIGITS and int(part) < limit:  # never int() of 5,000 digits
                idx.append(int(part))
            else:
                beyond += 1
        else:
            junk.append(part)
    if junk:
        notes.append(f"{len(junk):,} part(s) are not point numbers (such as {literal(junk[0], 12)}) "
                     "and were left out")
    if beyond:
        notes.append(f"{beyond:,} point number(s) are past the last of the {limit:,} points and were "
                     "left out")
    warning = ("The link's selection was read in part: " + "; ".join(notes) + ".") if notes else None
    return Decoded(unique_indices(idx, limit), warning)


def decode_selection(text: str | None, n_points: int | None = None) -> list[int]:
    """The indices of `parse_selection` (what it left out is dropped, never raised)."""
    return parse_selection(text, n_points).indices


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


def class_counts(counts, names) -> str:
    """"3: 844 · 8: 543 · 0: 477": each class present in the selection with its count, most first
    (a colon and a separator, so a digit class and its count never read as one number)."""
    order = sorted(range(len(counts)), key=lambda c: (-int(counts[c]), c))
    return " · ".join(f"{names[c]}: {int(counts[c]):,}" for c in order if counts[c])
