"""Every cache is bounded (#14): global ones by entries and bytes (playground.bounded), per-session
ones by entries. Each test here fails when its bound is taken away."""
from __future__ import annotations

import re
import threading
from pathlib import Path

import numpy as np
import pytest

from playground import bounded, session
from playground.bounded import LRU, nbytes

ROOT = Path(__file__).resolve().parent.parent
KB = 1024


# ---- the building blocks ---------------------------------------------------------------------------

def test_nbytes_counts_arrays_tensors_modules_and_what_objects_hold():
    import torch
    a = np.zeros((100, 10), np.float32)
    assert nbytes(a) == 4000
    assert nbytes((a, a)) == 4000                               # one array counted once
    assert nbytes({"x": a, "s": "abc", "b": b"12345"}) == 4000 + 1 + 3 + 1 + 1 + 5
    assert nbytes(torch.zeros(10, dtype=torch.float64)) == 80
    assert nbytes(torch.nn.Linear(10, 5)) == (50 + 5) * 4

    class Holder:
        def __init__(self):
            self.images = np.zeros(1000, np.uint8)
    assert 2000 <= nbytes([Holder(), Holder()]) <= 2000 + 2 * len("images")


def test_lru_is_bounded_by_entries():
    lru = LRU(max_entries=3, max_bytes=10**9)
    for i in range(10):
        lru.put(i, np.zeros(10))
    assert list(lru) == [7, 8, 9]


def test_lru_is_bounded_by_bytes_least_recently_used_first():
    lru = LRU(max_entries=100, max_bytes=3 * KB)
    for i in range(3):
        lru.put(i, np.zeros(KB, np.uint8))
    lru.get(0)                                   # used: 1 is now the oldest
    lru.put(3, np.zeros(KB, np.uint8))
    assert list(lru) == [2, 0, 3] and lru.bytes == 3 * KB
    lru.put(4, np.zeros(10 * KB, np.uint8))      # alone over the bound: kept alone, in use
    assert list(lru) == [4]


def test_bounded_cache_data_evicts_by_bytes_and_by_entries():
    calls = []

    @bounded.cache_data(max_entries=3, max_bytes=2 * KB + 100, show_spinner=False)
    def f(i: int, _unhashed=None):
        calls.append(i)
        return np.zeros(KB, np.uint8)

    for i in range(3):
        f(i, object())
    assert calls == [0, 1, 2] and f.ledger.bytes <= 2 * KB + 100
    f(2), f(1)
    assert calls == [0, 1, 2]                    # the two newest are still held
    f(0)
    assert calls == [0, 1, 2, 0]                 # the oldest went for bytes
    f.clear()

    @bounded.cache_data(max_entries=2, max_bytes=10**9, show_spinner=False)
    def g(i: int):
        calls.append(("g", i))
        return i
    for i in (0, 1, 2, 0):
        g(i)
    assert calls[-4:] == [("g", 0), ("g", 1), ("g", 2), ("g", 0)]
    g.clear()


def test_bounded_cache_resource_evicts_by_bytes():
    calls = []

    @bounded.cache_resource(max_entries=10, max_bytes=KB, show_spinner=False)
    def r(i: int):
        calls.append(i)
        return np.zeros(KB, np.uint8)
    r(0), r(1), r(0)
    assert calls == [0, 1, 0]
    r.clear()


# ---- every cache of the app goes through them --------------------------------------------------------

CACHE_CALL = re.compile(r"^\s*(@|\w+\s*=\s*)(st\.cache_data|st\.cache_resource|functools\.lru_cache|lru_cache|"
                        r"functools\.cache)\b")
# Left as they are, with the reason (models/ imports nothing from playground/, so not bounded.py's):
# - training_data: keyed by a data set's name, of which KNOBS allows three, so its entries are
#   bounded by that and its bytes by the data sets themselves;
# - _npz_image_shape: 32 entries of a 3-tuple (a reference file's picture shape, from its header).
ALLOWED = {"models/lab.py": ("def training_data",), "models/checkpoint.py": ("def _npz_image_shape",)}


def test_no_cache_in_the_app_is_left_unbounded_by_bytes():
    """Streamlit's and functools' caches count entries only: every one in playground/ and models/
    must be playground.bounded's (or an `LRU`)."""
    found = []
    for path in [*ROOT.glob("playground/**/*.py"), *ROOT.glob("models/**/*.py")]:
        if path.name == "bounded.py":
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        for n, line in enumerate(lines, 1):
            code = line.split("#")[0]
            allowed = ALLOWED.get(str(path.relative_to(ROOT)))
            if allowed and any(a in later for a in allowed for later in lines[n:n + 2]):
                continue
            if CACHE_CALL.search(code):
                found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not found, "caches bounded by entries only:\n" + "\n".join(found)


@pytest.mark.parametrize("fn", [session._listings, session._load, session._reference,
                                session._reference_errors, session._reference_space, session._atlas],
                         ids=lambda f: f.__name__)
def test_session_caches_have_both_bounds(fn):
    assert isinstance(fn.ledger, LRU)
    assert 0 < fn.max_entries <= 64 and 0 < fn.max_bytes <= 512 * bounded.MB


def test_the_map_cache_is_bounded_by_bytes_and_frees_its_lock_when_a_build_fails():
    cache = session._MapCache(size=10, max_bytes=3 * KB)
    built = []

    def build(i):
        def go():
            built.append(i)
            return np.zeros(KB, np.uint8)
        return go
    for i in range(5):
        cache.get(("m", i), build(i))
    assert list(cache.items) == [("m", 2), ("m", 3), ("m", 4)] and cache.items.bytes == 3 * KB
    cache.get(("m", 4), build(4))
    assert built == [0, 1, 2, 3, 4]              # a hit

    def fail():
        raise RuntimeError("the page that built it reran")
    with pytest.raises(RuntimeError):
        cache.get(("m", 9), fail)
    assert cache.locks == {}                     # nobody waits on a lock that nobody holds
    done = []
    t = threading.Thread(target=lambda: done.append(cache.get(("m", 9), build(9))))
    t.start()
    t.join(10)
    assert done and built[-1] == 9


def test_the_default_map_cache_has_both_bounds():
    assert session._MAPS.items.max_entries <= 64 and session._MAPS.items.max_bytes <= 512 * bounded.MB


# ---- per-session stores are bounded by entries -----------------------------------------------------

def test_uploaded_codes_kept_for_other_pages_are_bounded():
    from streamlit.testing.v1 import AppTest

    def script():
        import numpy as np
        import streamlit as st
        from playground import session
        session.remember_uploads("mnist-vae", {f"u{i}": np.zeros(16) for i in range(200)})
        st.markdown(str(len(session.uploaded_codes("mnist-vae"))))
    at = AppTest.from_function(script, default_timeout=60).run()
    assert not at.exception
    assert at.markdown[0].value == str(session.MAX_UPLOADED_CODES)


def test_the_fill_in_pages_results_are_bounded_per_session():
    from conftest import run_app
    at = run_app(model="mnist-vae", proj="pca")
    at.session_state["_inpaint_results"] = {f"old-{i}": None for i in range(40)}
    at.switch_page("views/inpaint.py").run()
    assert not at.exception
    store = at.session_state["_inpaint_results"]
    from importlib import import_module
    limit = 12                                   # views/inpaint.py MAX_RESULTS
    assert len(store) == limit
    assert "old-0" not in store and any(v is not None for v in store.values())   # the new one stays


def test_sizes_are_measured_while_torch_is_half_imported(monkeypatch):
    """The warm-up imports torch in a thread of its own; a page measuring a cached value meanwhile
    finds `torch` in sys.modules without `nn` or `Tensor` yet, and must not fail ("partially
    initialized module 'torch' has no attribute 'nn'", seen in CI)."""
    import sys
    import types
    import numpy as np
    from playground.bounded import nbytes
    half = types.ModuleType("torch")                    # what sys.modules holds mid-import
    monkeypatch.setitem(sys.modules, "torch", half)
    assert nbytes({"a": np.zeros(10, np.float32), "b": b"xyz", "c": object()}) == 40 + 3 + 3   # keys too


def test_memo_keeps_a_value_for_its_ttl_within_its_bounds_and_clears():
    now = [100.0]
    calls = []

    @bounded.memo(max_entries=2, max_bytes=bounded.MB, ttl=30, clock=lambda: now[0])
    def look(a):
        calls.append(a)
        return [a]

    first = look("x")
    assert look("x") is first and calls == ["x"]              # shared, not recomputed
    now[0] += 29.9
    assert look("x") is first and calls == ["x"]
    now[0] += 0.2                                             # 30 s after it was made: read again
    assert look("x") is not first and calls == ["x", "x"]
    look("y"), look("z")
    assert len(look.ledger) == 2 and "x" not in [k[0] for k in look.ledger]   # bounded by entries
    look.clear()
    look("y")
    assert calls[-1] == "y" and len(look.ledger) == 1


def test_threads_that_miss_a_memo_together_compute_once():
    import threading
    calls, started = [], threading.Barrier(8)

    @bounded.memo(max_entries=2, max_bytes=bounded.MB, ttl=30)
    def slow(a):
        calls.append(a)
        threading.Event().wait(0.05)
        return [a]

    got = []

    def read():
        started.wait()
        got.append(slow("x"))
    threads = [threading.Thread(target=read) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == ["x"] and all(g is got[0] for g in got)
