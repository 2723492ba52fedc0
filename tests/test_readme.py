"""The README's table is the one scripts/cards_table.py prints, and its commands exist.

This checks the table's *format* only: that the README shows the cards' reference-set figures.
Whether those figures are true is tests/test_model_quality.py's job (it re-measures them from the
weights), so a card and README falsified together still fail there."""
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

import models

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("cards_table", ROOT / "scripts" / "cards_table.py")
cards_table = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cards_table)
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_table_is_the_generated_one():
    table = cards_table.table().splitlines()
    assert len(table) >= 11                                 # header, rule, 9 shipped checkpoints
    missing = [row for row in table if row not in README]
    assert not missing, "README table is stale; paste `python scripts/cards_table.py`:\n" + "\n".join(missing)


def test_cards_table_script_runs():
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "cards_table.py")],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == cards_table.table()


@pytest.mark.parametrize("name", [l.name for l in models.available() if l.ok])
def test_printed_figures_read_back_as_the_cards(name):
    """The parser the figure tests rely on reads every printed figure back, to its printed digits."""
    card = models.load(name).card
    figures = card["metrics_reference"]
    parsed = cards_table.parse_figures(cards_table.figures_text(card, figures))
    assert parsed, name
    for key, (value, half) in parsed.items():
        assert abs(value - figures[key]) <= half * 1.0001, (key, value, figures[key])


def test_a_card_without_reference_figures_says_they_are_copied():
    card = dict(models.load("mnist-vae").card)
    card.pop("metrics_reference")
    assert cards_table.row(card).endswith(cards_table.COPIED + " |")


def test_readme_names_files_that_exist():
    for path in ("requirements.txt", "requirements-dev.txt", "playground/app.py", ".ci/run",
                 "scripts/get_data.sh", "scripts/train_all.sh", "docs/screenshot-map.png"):
        assert path in README and (ROOT / path).exists(), path
