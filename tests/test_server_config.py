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
