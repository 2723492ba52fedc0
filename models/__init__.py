"""Latent Playground models: architectures, checkpoint IO, training and metrics (no Streamlit).

    import models
    models.available()              # every checkpoint folder, with its card or why it is broken
    m = models.load("mnist-vae")    # LatentModel: m.card, m.encode, m.decode, m.sample
    images, labels = models.reference(m.dataset)
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .checkpoint import CheckpointError, check_weights_file, load_modules, read_card
from .latent_model import LatentModel

CHECKPOINTS = Path(os.environ.get("LATENT_PLAYGROUND_CHECKPOINTS",
                                  Path(__file__).resolve().parent.parent / "checkpoints"))
REFERENCE_DIR = "reference"
MAPS_DIR = "maps"                      # projections shipped for the app (playground.latent_map)
TRAIN_DIR = "train"                    # compact training subsets (models.data.load_shipped)
NOT_CHECKPOINTS = {REFERENCE_DIR, MAPS_DIR, TRAIN_DIR}

__all__ = ["available", "load", "reference", "classifier_name", "limit_threads", "Listing", "LatentModel", "CheckpointError", "CHECKPOINTS",
           "REFERENCE_DIR", "MAPS_DIR", "NOT_CHECKPOINTS"]


@dataclass(frozen=True)
class Listing:
    """One checkpoint folder: its card if the card is sound, else the reason it is not."""
    name: str
    path: Path
    card: dict | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None


def available(root: os.PathLike | str | None = None) -> list[Listing]:
    """List every checkpoint folder under `root`, sorted by name; broken ones carry `.error`."""
    root = Path(root or CHECKPOINTS)
    out = []
    if not root.is_dir():
        return out
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
                         and p.name not in NOT_CHECKPOINTS):
        try:
            card = read_card(folder)
            check_weights_file(folder, card)
            out.append(Listing(folder.name, folder, card, None))
        except CheckpointError as e:
            out.append(Listing(folder.name, folder, None, str(e)))
    return out


def load(name: os.PathLike | str, root: os.PathLike | str | None = None) -> LatentModel:
    """Load a checkpoint by folder name (under `root`), or by a folder path (a `Path`, or a string
    with a slash: e.g. a run saved from the Train page), verifying card, size, sha256 and shapes."""
    if isinstance(name, Path) or os.sep in str(name) or "/" in str(name):
        folder = Path(name).expanduser()
        if not folder.is_dir():
            raise CheckpointError(folder, "no such checkpoint folder")
        card = read_card(folder)
        return LatentModel(name=folder.name, card=card, modules=load_modules(folder, card))
    root = Path(root or CHECKPOINTS)
    folder = root / name
    if not folder.is_dir():
        known = ", ".join(l.name for l in available(root)) or "none"
        raise CheckpointError(folder, f"no such checkpoint (available: {known})")
    card = read_card(folder)
    return LatentModel(name=name, card=card, modules=load_modules(folder, card))


def classifier_name(card: dict) -> str:
    """The checkpoint whose classifier judges a model's images: the card's own choice, else the
    data set's (`<dataset>-classifier`). The one rule every page, script and metric uses."""
    return card.get("classifier") or f"{card['dataset']['name']}-classifier"


def limit_threads(n: int | None = None) -> int:
    """Bound torch's intra-op threads (default: the machine's cores). Called by entry points (the
    app, training, scripts), never as a side effect of importing `models`."""
    n = max(1, min(n or os.cpu_count() or 1, os.cpu_count() or 1))
    torch.set_num_threads(n)
    return n


def reference_path(dataset: str, root: os.PathLike | str | None = None) -> Path:
    return Path(root or CHECKPOINTS) / REFERENCE_DIR / f"{dataset}.npz"


def reference(dataset: str, root: os.PathLike | str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The held-out reference set shipped for `dataset`: uint8 images (N, 28, 28) and int labels."""
    path = reference_path(dataset, root)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no reference set for data set {dataset!r}")
    try:
        with np.load(path, allow_pickle=False) as z:
            images, labels = z["images"], z["labels"]
    except (ValueError, KeyError, OSError, EOFError) as e:
        raise ValueError(f"{path}: not a valid reference set ({e})") from None
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28) \
            or labels.shape != (len(images),):
        raise ValueError(f"{path}: expected uint8 images (N, 28, 28) and N labels")
    labels = labels.astype(np.int64)
    images.flags.writeable = labels.flags.writeable = False      # shared between sessions: read-only
    return images, labels
