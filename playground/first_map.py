"""The default model's shipped map, drawn before PyTorch has loaded.

A first visit after a server start waits for PyTorch, scikit-learn and the model (2-3 s on a small
machine). The map it is waiting for is already on disk: the shipped projection of the default
model's codes (the first `map_points.DEFAULT_POINTS` of its data set's shipped images). This module finds it with numpy and JSON alone (the same file name that
`latent_map.project` reads, from `map_keys`), so app.py can show it at once, as a still picture
that the real page then replaces. Anything missing or unreadable gives None: then there is no
preview, and the page that follows says what is wrong."""
from __future__ import annotations

import json
import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .map_keys import decode_y, map_file, map_key
from .map_points import DEFAULT_POINTS, shipped_pool
from .projection import make

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = "mnist-vae"      # a newcomer's first view: the README's first picture
DEFAULT_PROJECTION = "tsne"


def checkpoints_dir() -> Path:
    """Where `models.CHECKPOINTS` points (the same environment variable, read without torch)."""
    return Path(os.environ.get("LATENT_PLAYGROUND_CHECKPOINTS", ROOT / "checkpoints"))


@dataclass(frozen=True)
class Preview:
    name: str
    method: str
    y: np.ndarray               # (N, 2) map positions
    labels: np.ndarray          # (N,) true classes of the images
    class_names: list[str]
    training: np.ndarray | None = None   # (N,) bool: the model was trained on this image


def preview(root: Path | None = None) -> Preview | None:
    """The default VAE's shipped map with its reference labels, or None if any part is missing."""
    root = checkpoints_dir() if root is None else Path(root)
    try:
        card = json.loads((root / DEFAULT_MODEL / "card.json").read_text())
        if card.get("kind") != "vae":
            return None
        method = "latent" if int(card["latent_dim"]) == 2 else DEFAULT_PROJECTION
        points = shipped_pool(card["dataset"]["name"], root).first(DEFAULT_POINTS)
        images, labels = points.images, points.labels
        params = {k: v for k, v in vars(make(method)).items() if not k.endswith("_")}
        key = map_key(card["weights"]["sha256"], "vae", method, images, None, params, points.training)
        with np.load(root / "maps" / map_file(DEFAULT_MODEL, method, key), allow_pickle=False) as f:
            y = decode_y({k: f[k] for k in f.files})
        if y is None or y.shape != (len(images), 2) or labels.shape != (len(images),):
            return None
        return Preview(DEFAULT_MODEL, method, y, labels.astype(np.int64), list(card["class_names"]),
                       points.training)
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile, zlib.error):
        return None


def figure(p: Preview):
    """The map as the Latent map page draws it (same colours, legend and axes), for a still chart."""
    from .figures import map_figure
    titles = ("z₁", "z₂") if p.method == "latent" else ("t-SNE 1", "t-SNE 2")
    return map_figure(p.y, p.labels, p.class_names, label_source="true class", axis_titles=titles,
                      dragmode="pan", training=p.training)
