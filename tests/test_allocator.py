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
    import os
    out = subprocess.run([sys.executable, "-c", PROBE.format(root=str(ROOT)), mode], capture_output=True,
                         text=True, check=True, env={k: v for k, v in os.environ.items()
                                                     if k != "MALLOC_ARENA_MAX"} | (env or {}))
    applied, arenas = out.stdout.split()
    return applied, int(arenas)


def test_two_arenas_when_limited_more_without():
    if probe("none")[1] is None:
        pytest.skip("no glibc")
    applied, limited = probe("limit")
    assert applied == "True" and limited <= 2, limited
    assert probe("none")[1] > 2                       # the probe would see more: the cap is what holds


def test_an_arena_limit_set_by_the_person_wins():
    applied, arenas = probe("limit", {"MALLOC_ARENA_MAX": "4"})
    assert applied == "False" and 2 < arenas <= 4, arenas


def test_the_server_caps_the_arenas_before_anything_else():
    text = (ROOT / "playground" / "server.py").read_text(encoding="utf-8")
    assert text.index("limit_arenas()") < text.index("import streamlit")


def test_no_arenas_is_refused():
    from playground.allocator import limit_arenas
    with pytest.raises(ValueError):
        limit_arenas(0)
