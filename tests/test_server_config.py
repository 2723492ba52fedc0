"""The server's configuration as the README's command starts it (.streamlit/config.toml)."""
import tomllib
from pathlib import Path

CONFIG = Path(__file__).resolve().parent.parent / ".streamlit" / "config.toml"


def test_source_edits_do_not_reload_the_apps_modules():
    """Streamlit's file watcher unloads every watched module when any source file changes, and the
    app keeps process-wide state in its modules (training queue, inversion slots, the decoder route's
    weights): after an edit, pages got fresh copies and the drag page's decoder was 'not served'.
    The Dockerfile, the tests and the benches start the server with the watcher off; so does the
    README's command, through this file."""
    server = tomllib.loads(CONFIG.read_text(encoding="utf-8"))["server"]
    assert server.get("fileWatcherType") == "none", server


def test_no_full_garbage_collection_after_every_run():
    """Streamlit runs gc.collect(2) after every run of the page and of each fragment by default;
    with PyTorch's 400,000 objects in the heap that took more than half the server's time
    under load (py-spy on bench/load_test.py), so every release on the drag page paid for it."""
    runner = tomllib.loads(CONFIG.read_text(encoding="utf-8")).get("runner", {})
    assert runner.get("postScriptGC") is False, runner


def test_the_server_reads_the_projects_configuration():
    """The settings above only matter if Streamlit reads this file when started from the project's
    root (as the README, the Dockerfile and the benches do)."""
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", "from streamlit import config; "
                          "print(config.get_option('runner.postScriptGC'), "
                          "config.get_option('server.fileWatcherType'))"],
                         cwd=CONFIG.parent.parent, capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["False", "none"], out.stdout + out.stderr
