"""The README's figures come from the model cards and its commands exist."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_readme_table_matches_the_cards():
    table = subprocess.run([sys.executable, str(ROOT / "scripts" / "cards_table.py")],
                           capture_output=True, text=True, check=True).stdout.strip().splitlines()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(table) >= 9
    missing = [row for row in table if row not in readme]
    assert not missing, "README table is stale; paste `python scripts/cards_table.py`:\n" + "\n".join(missing)


def test_readme_names_files_that_exist():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for path in ("requirements.txt", "requirements-dev.txt", "playground/app.py", ".ci/run",
                 "scripts/get_data.sh", "scripts/train_all.sh", "docs/screenshot-map.png"):
        assert path in readme and (ROOT / path).exists(), path
