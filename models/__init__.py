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


def load(name: os.PathLike | str, root: os.PathLike | str | None = None,
         reference: os.PathLike | str | None = None) -> LatentModel:
    """Load a checkpoint by folder name (under `root`), or by a folder path (a `Path`, or a string
    with a slash: e.g. a run saved from the Train page), verifying card, size, sha256 and shapes;
    or an adapter file (`something.py`, see `models.adapters`; `reference`: its folder of images)."""
    if str(name).endswith(".py"):
        from .adapters import load_adapter
        return load_adapter(name, reference)
    if isinstance(name, Path) or os.sep in str(name) or "/" in str(name):
        folder = Path(name).expanduser()
        if not folder.is_dir():
            raise CheckpointError(folder, "no such checkpoint folder")
        card = read_card(folder)
        return _checked(LatentModel(name=folder.name, card=card, modules=load_modules(folder, card)), folder)
    root = Path(root or CHECKPOINTS)
    folder = root / name
    if not folder.is_dir():
        known = ", ".join(l.name for l in available(root)) or "none"
        raise CheckpointError(folder, f"no such checkpoint (available: {known})")
    card = read_card(folder)
    return _checked(LatentModel(name=name, card=card, modules=load_modules(folder, card)), folder)


def _checked(m: LatentModel, folder: Path) -> LatentModel:
    """A generative model whose decoder makes images of another shape than its card says is refused
    (a card may name any image_shape; the architecture decides what comes out)."""
    if m.kind in ("vae", "gan"):
        got = tuple(m.decode(np.zeros((1, m.latent_dim), np.float32)).shape[1:])
        if got != m.image_shape:
            raise CheckpointError(Path(folder) / "card.json", f"the card says image_shape {list(m.image_shape)} "
                                                              f"but the decoder makes {list(got)}")
    return m


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
    """The held-out reference set shipped for `dataset`: uint8 images (grey (N, H, W), colour
    (N, 3, H, W)) and int labels; an adapter model's (`models.adapters`) by its data set name."""
    from .adapters import PREFIX, reference as adapter_reference
    if dataset.startswith(PREFIX):
        return adapter_reference(dataset)
    path = reference_path(dataset, root)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no reference set for data set {dataset!r}")
    try:
        with np.load(path, allow_pickle=False) as z:
            images, labels = z["images"], z["labels"]
    except (ValueError, KeyError, OSError, EOFError) as e:
        raise ValueError(f"{path}: not a valid reference set ({e})") from None
    if images.dtype != np.uint8 or not (images.ndim == 3 or (images.ndim == 4 and images.shape[1] == 3)) \
            or labels.shape != (len(images),):
        raise ValueError(f"{path}: expected uint8 images (N, H, W) or (N, 3, H, W) and N labels")
    labels = labels.astype(np.int64)
    images.flags.writeable = labels.flags.writeable = False      # shared between sessions: read-only
    return images, labels
