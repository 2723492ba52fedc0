"""playground/openmp.py: the server's idle OpenMP threads sleep; set before torch loads, or not at all."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import os, sys
sys.path.insert(0, {root!r})
if sys.argv[1] == "torch-first":
    import torch
from playground.openmp import idle_threads_sleep
print(idle_threads_sleep(), os.environ.get("OMP_WAIT_POLICY"))
"""


def probe(mode: str, **env) -> list[str]:
    import os
    clean = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"} | env
    out = subprocess.run([sys.executable, "-c", PROBE.format(root=str(ROOT)), mode], capture_output=True,
                         text=True, check=True, env=clean)
    return out.stdout.split()


def test_set_before_torch_loads():
    assert probe("first") == ["True", "PASSIVE"]


def test_too_late_once_torch_is_loaded_and_the_persons_choice_wins():
    assert probe("torch-first") == ["False", "None"]           # libgomp has read it already
    assert probe("first", OMP_WAIT_POLICY="ACTIVE") == ["False", "ACTIVE"]


def test_the_server_sets_it_before_it_imports_anything():
    text = (ROOT / "playground" / "server.py").read_text(encoding="utf-8")
    assert text.index("idle_threads_sleep()") < text.index("import streamlit")
