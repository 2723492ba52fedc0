"""playground/allocator.py: the server caps glibc's arenas before it starts threads."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Six threads alive at once (an exited thread's arena is reused), each allocating blocks that go
# to malloc (over pymalloc's 512 bytes, under the mmap threshold): glibc gives each new thread a new
# arena up to its limit.
PROBE = """
import sys, threading
sys.path.insert(0, {root!r})
from playground import allocator
applied = allocator.limit_arenas(2) if sys.argv[1] == "limit" else None
keep, together = [], threading.Barrier(6)
def work():
    keep.extend(bytearray(100_000) for _ in range(4))
    together.wait()
threads = [threading.Thread(target=work) for _ in range(6)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(applied, allocator.arenas_in_use())
"""


def probe(mode: str, env=None) -> tuple[str, int]:
    """(whether the cap was applied, arenas made) in a fresh process, with no limit in its environment
    but `env`; skips where there is no glibc."""
    import os
    clean = {k: v for k, v in os.environ.items() if k not in ("MALLOC_ARENA_MAX", "GLIBC_TUNABLES")}
    out = subprocess.run([sys.executable, "-c", PROBE.format(root=str(ROOT)), mode], capture_output=True,
                         text=True, check=True, env=clean | (env or {}))
    applied, arenas = out.stdout.split()
    if arenas == "None":
        pytest.skip("no glibc: nothing to cap")
    return applied, int(arenas)


def test_two_arenas_when_limited_more_without():
    applied, limited = probe("limit")
    assert applied == "True" and limited <= 2, limited
    assert probe("none")[1] > 2                       # the probe would see more: the cap is what holds


@pytest.mark.parametrize("env", [{"MALLOC_ARENA_MAX": "4"}, {"GLIBC_TUNABLES": "glibc.malloc.arena_max=4"}])
def test_an_arena_limit_set_by_the_person_wins(env):
    applied, arenas = probe("limit", env)
    assert applied == "False" and 2 < arenas <= 4, arenas


def test_the_server_caps_the_arenas_before_it_imports_anything_that_starts_threads():
    text = (ROOT / "playground" / "server.py").read_text(encoding="utf-8")
    assert text.index("limit_arenas()") < text.index("import streamlit")


def test_no_arenas_is_refused():
    from playground.allocator import limit_arenas
    with pytest.raises(ValueError):
        limit_arenas(0)


# Blocks of 1 MB, each freed before the next: is each a mapping of its own? glibc marks such a chunk
# IS_MMAPPED (bit 1 of the size word just before the pointer). By default glibc maps the first (over
# its starting threshold, 128 KB), then raises its threshold past 1 MB when that one is freed, and
# the next ones stay in the arena, where a class's large temporaries pin its pages.
MMAP_PROBE = """
import ctypes, sys
sys.path.insert(0, {root!r})
from playground import allocator
applied = allocator.map_large_blocks() if sys.argv[1] == "map" else None
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
flags = []
for _ in range(3):
    p = libc.malloc(1_000_000)
    flags.append(bool(ctypes.c_size_t.from_address(p - 8).value & 2))
    libc.free(p)
print(applied, all(flags), any(flags))
"""


def mmap_probe(mode: str, env=None) -> tuple[str, bool, bool]:
    import os
    clean = {k: v for k, v in os.environ.items() if k not in ("MALLOC_MMAP_THRESHOLD_", "GLIBC_TUNABLES")}
    try:
        out = subprocess.run([sys.executable, "-c", MMAP_PROBE.format(root=str(ROOT)), mode], capture_output=True,
                             text=True, check=True, env=clean | (env or {}))
    except subprocess.CalledProcessError as e:
        if "libc.so.6" in e.stderr:
            pytest.skip("no glibc")
        raise
    applied, every, some = out.stdout.split()
    return applied, every == "True", some == "True"


def test_large_blocks_get_their_own_mapping_every_time_and_not_without():
    applied, every, _ = mmap_probe("map")
    assert applied == "True" and every                 # each mapped, and unmapped when freed
    _, every, some = mmap_probe("none")
    assert some and not every                          # glibc's default: the first only


@pytest.mark.parametrize("env", [{"MALLOC_MMAP_THRESHOLD_": "4194304"},
                                 {"GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=4194304"}])
def test_a_threshold_set_by_the_person_wins(env):
    applied, _, some = mmap_probe("map", env)
    assert applied == "False" and not some             # their 4 MB keeps 1 MB blocks in the arena


def test_the_server_maps_large_blocks_before_it_imports_streamlit():
    text = (ROOT / "playground" / "server.py").read_text(encoding="utf-8")
    assert text.index("map_large_blocks()") < text.index("import streamlit")


def test_a_threshold_out_of_range_is_refused():
    from playground.allocator import map_large_blocks
    for bad in (0, 1024, 64 * 2**20):
        with pytest.raises(ValueError):
            map_large_blocks(bad)
