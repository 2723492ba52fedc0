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
"""
from __future__ import annotations

import os

ARENAS = 2                 # one per core of the 2-core machine the targets are set for
M_ARENA_MAX = -8           # glibc's malloc.h


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
