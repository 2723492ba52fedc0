"""Threads take turns at the interpreter lock every millisecond in the server (playground/gil.py):
the app and server.py set it, whichever starts the process. The time it saves is printed by
bench/gil_wait.py (no wall-clock assertions here)."""
import subprocess
import sys
from pathlib import Path

from playground import gil

ROOT = Path(__file__).resolve().parent.parent


def _interval_after(code: str) -> float:
    out = subprocess.run([sys.executable, "-c", code + "; import sys; print(sys.getswitchinterval())"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return float(out.stdout.split()[-1])


def test_share_the_gil_sets_the_interval_and_is_idempotent():
    before = sys.getswitchinterval()
    try:
        assert gil.share_the_gil() == gil.SWITCH_INTERVAL_S == 0.001
        assert gil.share_the_gil() == 0.001
        assert sys.getswitchinterval() == 0.001
    finally:
        sys.setswitchinterval(before)


def test_the_server_module_sets_it_at_import():
    assert _interval_after("import sys; sys.path.insert(0, '.'); import playground.server") == 0.001


def test_the_app_script_sets_it():
    code = ("import sys; sys.setswitchinterval(0.005); "
            "from streamlit.testing.v1 import AppTest; "
            "at = AppTest.from_file('playground/app.py', default_timeout=300).run(); "
            "assert not at.exception, at.exception")
    assert _interval_after(code) == 0.001
