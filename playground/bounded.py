"""Caches bounded by entries and by bytes.

`st.cache_data` and `st.cache_resource` take `max_entries` but know nothing of size: 16 entries of a
few kB and 16 of 200 MB are the same to them. `cache_data(max_entries=..., max_bytes=...)` and
`cache_resource(...)` here are those decorators with a ledger beside them: every value computed is
measured (`nbytes`: arrays, tensors, models' parameters, bytes and strings, through containers and
objects), and while the values computed and not yet evicted weigh more than `max_bytes`, or number
more than `max_entries`, the oldest are cleared from Streamlit's cache by their arguments
(`cached.clear(...)`). The ledger holds only the hashed arguments (never `_`-prefixed ones, which
Streamlit does not hash either, so no map or model is kept alive by it) and is a superset of what
Streamlit holds (Streamlit may evict earlier on its own), so the bytes held never exceed the bound (but for one value that alone is larger: it is kept alone).

`LRU` is the same bound for a plain process-wide dictionary (`session._MapCache` uses it).
Every cache in playground/ and models/ goes through one of these (tests/test_bounds.py checks).
"""
from __future__ import annotations

import dataclasses
import functools
import inspect
import sys
import threading
import time
from collections import OrderedDict

import numpy as np

MB = 2**20


def nbytes(obj, _seen: set | None = None) -> int:
    """Approximate bytes held by `obj`: numpy arrays and torch tensors by their buffers, a torch
    module by its parameters and buffers, bytes and strings by length, containers, dataclasses and
    plain objects by what they hold (each object counted once)."""
    seen = set() if _seen is None else _seen
    if id(obj) in seen or obj is None or isinstance(obj, (bool, int, float, complex, type)):
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        return int(obj.nbytes) if obj.base is None or id(obj.base) not in seen else 0
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return len(obj)
    if isinstance(obj, str):
        return len(obj)
    # torch only if it is fully imported: another thread may be importing it right now (the
    # warm-up), and a half-made module has no Tensor or nn yet ("partially initialized module
    # 'torch' has no attribute 'nn'", seen in CI); no tensor can exist before the import ends.
    torch = sys.modules.get("torch")
    tensor = getattr(torch, "Tensor", None)
    module = getattr(getattr(torch, "nn", None), "Module", None)
    if tensor is not None and module is not None:
        if isinstance(obj, tensor):
            return obj.element_size() * obj.nelement()
        if isinstance(obj, module):
            return sum(nbytes(t, seen) for t in [*obj.parameters(), *obj.buffers()])
    if isinstance(obj, dict):
        return sum(nbytes(k, seen) + nbytes(v, seen) for k, v in obj.items())
    if isinstance(obj, (list, tuple, set, frozenset)):
        return sum(nbytes(v, seen) for v in obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return sum(nbytes(getattr(obj, f.name, None), seen) for f in dataclasses.fields(obj))
    held = getattr(obj, "__dict__", None)
    total = nbytes(held, seen) if isinstance(held, dict) else 0
    for slot in getattr(type(obj), "__slots__", ()):
        total += nbytes(getattr(obj, slot, None), seen)
    return total


class LRU:
    """A thread-safe least-recently-used dictionary bounded by entries and by `nbytes` of its values."""

    def __init__(self, max_entries: int, max_bytes: int, on_evict=None):
        if max_entries < 1 or max_bytes < 1:
            raise ValueError("LRU: max_entries and max_bytes must be positive")
        self.max_entries, self.max_bytes, self.on_evict = max_entries, max_bytes, on_evict
        self._items: OrderedDict = OrderedDict()      # key -> (value, bytes)
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self):
        with self._lock:
            return iter(list(self._items))

    def __contains__(self, key) -> bool:
        return key in self._items

    @property
    def bytes(self) -> int:
        return self._bytes

    def get(self, key, default=None):
        with self._lock:
            if key not in self._items:
                return default
            self._items.move_to_end(key)
            return self._items[key][0]

    def put(self, key, value, size: int | None = None) -> None:
        """Keep `value` (its size measured unless given), then evict the least recently used until
        both bounds hold; a value alone over `max_bytes` is kept alone (it is in use)."""
        size = nbytes(value) if size is None else size
        evicted = []
        with self._lock:
            if key in self._items:
                self._bytes -= self._items.pop(key)[1]
            self._items[key] = (value, size)
            self._bytes += size
            while len(self._items) > 1 and (len(self._items) > self.max_entries or self._bytes > self.max_bytes):
                k, (_, s) = self._items.popitem(last=False)
                self._bytes -= s
                evicted.append(k)
        if self.on_evict is not None:
            for k in evicted:
                self.on_evict(k)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0


def _bounded(st_decorator, max_entries: int, max_bytes: int, **kwargs):
    def wrap(fn):
        sig = inspect.signature(fn)
        hashed = [p for p in sig.parameters if not p.startswith("_")]

        def evict(key):
            cached.clear(**dict(key))

        ledger = LRU(max_entries, max_bytes, on_evict=evict)

        @functools.wraps(fn)
        def compute(*args, **kw):
            value = fn(*args, **kw)
            bound = sig.bind(*args, **kw)
            bound.apply_defaults()
            key = tuple((name, bound.arguments[name]) for name in hashed)
            ledger.put(key, None, nbytes(value))
            return value

        cached = st_decorator(max_entries=max_entries, **kwargs)(compute)
        cached.ledger, cached.max_entries, cached.max_bytes = ledger, max_entries, max_bytes
        whole_clear = cached.clear

        def clear(*args, **kw):
            if not args and not kw:
                ledger.clear()
            whole_clear(*args, **kw)
        cached.clear = clear
        return cached
    return wrap


def cache_data(*, max_entries: int, max_bytes: int, **kwargs):
    """`st.cache_data(max_entries=...)` that also keeps the values it holds under `max_bytes`."""
    import streamlit as st
    return _bounded(st.cache_data, max_entries, max_bytes, **kwargs)


def cache_resource(*, max_entries: int, max_bytes: int, **kwargs):
    """`st.cache_resource(max_entries=...)` that also keeps the values it holds under `max_bytes`."""
    import streamlit as st
    return _bounded(st.cache_resource, max_entries, max_bytes, **kwargs)


def memo(*, max_entries: int, max_bytes: int, ttl: float, clock=time.monotonic):
    """A process-wide memo of a function of hashable positional arguments, bounded like the others
    and each value kept `ttl` seconds: `st.cache_resource` without Streamlit's per-call cost (it
    inspects the function's signature and hashes every argument on each call, about 0.15 ms), for a
    cheap lookup read many times in every run. Values are shared, never copied: callers only read.
    A miss computes under the memo's lock, so threads that miss together compute once (as
    st.cache_resource does); meant for quick functions, since one key's computation holds the others."""
    def wrap(fn):
        ledger = LRU(max_entries, max_bytes)
        lock = threading.Lock()

        def fresh(args):
            hit = ledger.get(args)
            return hit if hit is not None and clock() < hit[0] else None

        @functools.wraps(fn)
        def cached(*args):
            hit = fresh(args)
            if hit is None:
                with lock:
                    hit = fresh(args)                 # another thread may have computed it meanwhile
                    if hit is None:
                        value = fn(*args)
                        hit = (clock() + ttl, value)
                        ledger.put(args, hit, nbytes(value))
            return hit[1]

        cached.ledger, cached.max_entries, cached.max_bytes, cached.ttl = ledger, max_entries, max_bytes, ttl
        cached.clear = ledger.clear
        return cached
    return wrap
