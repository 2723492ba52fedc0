"""Fewer C heaps, so memory freed after a class goes back to the system.

glibc gives each new thread its own heap ("arena"), up to 8 per core. A Streamlit server runs every
page run in a new thread, so under load the freed memory ends up spread over 16 arenas of 64 MB,
each holding a few live blocks that keep their pages resident after the sessions have gone (the
janitor's malloc_trim returns only whole free pages). Measured with bench/load_test.py, 30
sessions: memory after they expired +10.5% to +12.3% of the baseline with glibc's default, +8.0%
with the cap, release p95 unchanged (52 ms). `limit_arenas()` sets glibc's M_ARENA_MAX from inside
the process, first thing in playground/server.py, so the README's command gets it without an
environment variable. Arenas made before that stay: Streamlit's command line has started a thread
pool by then, so the server has three arenas, and no more however many page runs follow. A limit
set by whoever starts the server (MALLOC_ARENA_MAX, or GLIBC_TUNABLES with glibc.malloc.arena_max)
wins. Does nothing where there is no glibc.

Large blocks get a mapping of their own (`map_large_blocks()`): what is left after a class has gone
is not live data (heaptrack: the live heap grew 2.5 MB while the resident heap grew 57 MB, and a
malloc_trim then gives back nothing) but arena pages pinned by a few small live blocks among freed
ones. glibc puts a block under its mmap threshold in an arena, and raises that threshold (up to
32 MB) each time it frees a mapped block, so under load a page run's large temporaries (images,
PNGs, protobuf messages, numpy arrays) end up in the arenas, between blocks that stay. A fixed
threshold of 256 KB keeps them out: each is its own mapping, unmapped when freed. Measured with
bench/load_test.py, memory after 30 sessions expired: +7.7% to +7.9% of the baseline (five runs at
64 KB or 256 KB) against +9.6% to +14.3% (five runs) with glibc's default. 64 KB cost CPU: with 50
sessions and a training run the server did 18.9 releases a second instead of 23.4, p95 2.4 s
against 0.62 s; at 256 KB 23.2 a second, p95 0.59 s, as without. A threshold set by whoever
starts the server (MALLOC_MMAP_THRESHOLD_, or GLIBC_TUNABLES with glibc.malloc.mmap_threshold) wins.
"""
from __future__ import annotations

import os

ARENAS = 2                 # one per core of the 2-core machine the targets are set for
M_ARENA_MAX = -8           # glibc's malloc.h
M_MMAP_THRESHOLD = -3      # glibc's malloc.h
MMAP_THRESHOLD = 256 * 1024


def limit_arenas(n: int = ARENAS) -> bool:
    """Cap glibc's arenas at n; False if not applied (no glibc, or a limit set in the environment)."""
    if n < 1:
        raise ValueError(f"at least one arena, not {n}")
    if os.environ.get("MALLOC_ARENA_MAX") or "glibc.malloc.arena_max" in os.environ.get("GLIBC_TUNABLES", ""):
        return False
    import ctypes
    try:
        return bool(ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, int(n)))
    except (OSError, AttributeError):
        return False


def map_large_blocks(threshold: int = MMAP_THRESHOLD) -> bool:
    """Give every block of `threshold` bytes or more its own mapping, returned to the system when it
    is freed (glibc's M_MMAP_THRESHOLD, fixed: glibc no longer raises it). False if not applied (no
    glibc, or a threshold set in the environment)."""
    if not 4096 <= threshold <= 32 * 2**20:
        raise ValueError(f"a threshold from 4 KB to 32 MB, not {threshold} bytes")
    if os.environ.get("MALLOC_MMAP_THRESHOLD_") or \
            "glibc.malloc.mmap_threshold" in os.environ.get("GLIBC_TUNABLES", ""):
        return False
    import ctypes
    try:
        return bool(ctypes.CDLL("libc.so.6").mallopt(M_MMAP_THRESHOLD, int(threshold)))
    except (OSError, AttributeError):
        return False


def arenas_in_use() -> int | None:
    """How many arenas glibc has made (malloc_info's heaps), or None without glibc."""
    import ctypes
    import tempfile
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.fopen.restype = ctypes.c_void_p
        libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
        libc.fclose.argtypes = [ctypes.c_void_p]
    except (OSError, AttributeError):
        return None
    with tempfile.NamedTemporaryFile(suffix=".xml") as f:
        stream = libc.fopen(f.name.encode(), b"w")
        if not stream:
            return None
        try:
            libc.malloc_info(0, stream)
        finally:
            libc.fclose(stream)
        return open(f.name, encoding="utf-8").read().count("<heap nr=")
