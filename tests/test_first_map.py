"""The first visit's still map (playground/first_map.py): found without PyTorch, and the very map the
Latent map page then shows."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import models
from playground import first_map, session
from playground.figures import map_figure

ROOT = Path(__file__).resolve().parent.parent


def test_the_preview_is_the_default_models_map_as_the_page_builds_it():
    p = first_map.preview()
    assert p is not None
    name = session.default_model(session.generative_names())
    m = session.load_model(name)
    method = session.default_projection(session.methods_for(m.latent_dim))
    lmap = session.latent_map(name, method)
    assert (p.name, p.method) == (name, method)
    assert lmap.from_cache, "the default map is not shipped: the first visit has nothing to show"
    assert np.array_equal(p.y, lmap.y) and np.array_equal(p.labels, lmap.labels)
    assert p.class_names == m.class_names
    assert len(p.y) == 10_000 and p.training.sum() == 8_000                  # all the digits that ship
    assert np.array_equal(p.training, lmap.training)
    page = map_figure(lmap.y, lmap.labels, m.class_names, label_source=lmap.label_source,
                      axis_titles=session.axis_titles(lmap), dragmode="pan", training=lmap.training)
    still = first_map.figure(p)
    assert [t.name for t in still.data] == [t.name for t in page.data]
    for a, b in zip(still.data, page.data):
        assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y) and a.marker.color == b.marker.color
        assert a.marker.symbol == b.marker.symbol and a.showlegend == b.showlegend
    assert sum(len(t.x) for t in still.data if t.marker.symbol == "circle-open") == 8_000      # training
    assert still.layout.xaxis.title.text == page.layout.xaxis.title.text


def test_the_preview_needs_neither_torch_nor_scikit_learn():
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from playground import first_map; "
            "p = first_map.preview(); first_map.figure(p); "
            "print(p is not None, sorted({'torch', 'sklearn', 'openTSNE'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code, str(ROOT)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["True", "[]"], out.stdout


@pytest.fixture
def root(tmp_path):
    """The default model's card, its reference set, training subset and the shipped maps, in a folder
    to break."""
    src = models.CHECKPOINTS
    (tmp_path / first_map.DEFAULT_MODEL).mkdir()
    shutil.copy(src / first_map.DEFAULT_MODEL / "card.json", tmp_path / first_map.DEFAULT_MODEL)
    shutil.copytree(src / "reference", tmp_path / "reference")
    shutil.copytree(src / "train", tmp_path / "train")
    shutil.copytree(src / "maps", tmp_path / "maps")
    assert first_map.preview(tmp_path) is not None
    return tmp_path


def test_the_checkpoints_variable_is_the_one_models_reads(monkeypatch, root):
    assert first_map.checkpoints_dir() == models.CHECKPOINTS
    monkeypatch.setenv("LATENT_PLAYGROUND_CHECKPOINTS", str(root))
    assert first_map.checkpoints_dir() == root


def test_other_weights_have_no_preview(root):
    """A retrained model's card has another weights hash: the shipped map is not its map."""
    card_path = root / first_map.DEFAULT_MODEL / "card.json"
    card = json.loads(card_path.read_text())
    card["weights"]["sha256"] = "0" * 64
    card_path.write_text(json.dumps(card))
    assert first_map.preview(root) is None


@pytest.mark.parametrize("damage", ["no map", "corrupt map", "damaged data", "short map", "corrupt card", "no reference",
                                    "no training subset", "a gan"])
def test_anything_missing_or_broken_gives_no_preview(root, damage):
    card_path = root / first_map.DEFAULT_MODEL / "card.json"
    maps = sorted((root / "maps").glob(f"{first_map.DEFAULT_MODEL}-tsne-*.npz"))
    if damage == "no map":
        for f in maps:
            f.unlink()
    elif damage == "corrupt map":
        for f in maps:
            f.write_bytes(b"PK\x03\x04 not a zip")
    elif damage == "damaged data":
        for f in maps:
            np.savez_compressed(f, y=np.random.default_rng(0).normal(size=(4000, 2)))
            raw = bytearray(f.read_bytes())
            raw[1000:1050] = bytes(x ^ 0x55 for x in raw[1000:1050])
            f.write_bytes(bytes(raw))
    elif damage == "short map":
        for f in maps:
            np.savez(f, y=np.zeros((10, 2), np.float32))
    elif damage == "corrupt card":
        card_path.write_text("{not json")
    elif damage == "no reference":
        shutil.rmtree(root / "reference")
    elif damage == "no training subset":                # a 2,000-point map: not the one shipped
        shutil.rmtree(root / "train")
    else:
        card = json.loads(card_path.read_text())
        card["kind"] = "gan"
        card_path.write_text(json.dumps(card))
    assert first_map.preview(root) is None
