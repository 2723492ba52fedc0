"""Which images a VAE's map shows: every image the project ships or finds installed, in one order.

The pool of a data set is its held-out reference set (`checkpoints/reference/`) first, then the
shipped training subset (`checkpoints/train/`), then, when the full data set is installed (Debian's
`dataset-fashion-mnist`: 70,000 images), the installed images not shipped, held-out ones before
training ones. A map of n points shows the pool's first n, so a smaller map's points are the first
points of every larger one (a selection survives a change of size) and the shipped maps stay valid
whether or not the data set is installed. Each point says whether the model was trained on it.

Pure numpy and torch-free for the shipped part (the first page reads it before PyTorch has loaded);
the installed part imports `models.data` only when asked for.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from playground.bounded import MB, LRU

DEFAULT_POINTS = 10_000          # MNIST: all 10,000 digits the project ships; Fashion-MNIST: 10,000 of 13,000
SIZES = (2_000, 5_000, 10_000, 20_000, 50_000)
POOLED = ("mnist", "fashion-mnist")  # data sets with a shipped training subset beside the reference
REFERENCE_DIR, TRAIN_DIR = "reference", "train"      # as in models/__init__.py (which imports torch)


@dataclass(frozen=True)
class Pool:
    images: np.ndarray           # uint8 (N, 28, 28)
    labels: np.ndarray           # int64 (N,)
    training: np.ndarray         # bool (N,): the model's training data (else held out)
    shipped: int                 # how many of them ship in checkpoints/ (the first ones)

    def __len__(self) -> int:
        return len(self.images)

    def first(self, n: int) -> "Pool":
        """The first n points (all of them when n is larger)."""
        n = max(1, min(int(n), len(self)))
        return Pool(self.images[:n], self.labels[:n], self.training[:n], min(self.shipped, n))


def _read(path: Path, index_key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with np.load(path, allow_pickle=False) as f:
        images, labels = f["images"], f["labels"].astype(np.int64)
        index = f[index_key].astype(np.int64) if index_key in f.files else np.full(len(images), -1)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28) \
            or labels.shape != (len(images),) or index.shape != (len(images),):
        raise ValueError(f"{path}: expected uint8 images (N, 28, 28), N labels and N indices")
    return images, labels, index


def _freeze(*arrays):
    for a in arrays:
        a.setflags(write=False)


# Process-wide, bounded by entries and bytes (tests/test_bounds.py): keyed by the folder, the data set
# and the stamp (size, mtime) of the shipped files; the installed pool also by the installed data's.
_SHIPPED = LRU(max_entries=4, max_bytes=64 * MB)       # 13,000 Fashion-MNIST images are 10 MB
_INSTALLED = LRU(max_entries=2, max_bytes=128 * MB)    # 70,000 images are 55 MB: two at most


def _memo(cache: LRU, key, build):
    value = cache.get(key)
    if value is None:
        value = build()
        cache.put(key, value)
    return value


def _shipped(root: str, dataset: str, stamp: tuple) -> tuple[Pool, np.ndarray, np.ndarray]:
    return _memo(_SHIPPED, (root, dataset, stamp), lambda: _read_shipped(root, dataset))


def _read_shipped(root: str, dataset: str) -> tuple[Pool, np.ndarray, np.ndarray]:
    ref = _read(Path(root) / REFERENCE_DIR / f"{dataset}.npz", "test_index")
    train_path = Path(root) / TRAIN_DIR / f"{dataset}.npz"
    train = _read(train_path, "train_index") if train_path.is_file() else (
        np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64), np.zeros(0, np.int64))
    images = np.concatenate([ref[0], train[0]])
    labels = np.concatenate([ref[1], train[1]])
    training = np.r_[np.zeros(len(ref[0]), bool), np.ones(len(train[0]), bool)]
    _freeze(images, labels, training)
    return Pool(images, labels, training, len(images)), ref[2], train[2]


def _stamp(root: Path, dataset: str) -> tuple:
    out = []
    for sub in (REFERENCE_DIR, TRAIN_DIR):
        try:
            st = (root / sub / f"{dataset}.npz").stat()
            out.append((st.st_size, st.st_mtime_ns))
        except OSError:
            out.append(None)
    return tuple(out)


def shipped_pool(dataset: str, root: Path | str) -> Pool:
    """The reference set, then the shipped training subset. Raises OSError / ValueError when the
    reference set is missing or malformed."""
    root = Path(root)
    return _shipped(str(root), dataset, _stamp(root, dataset))[0]


def extend(shipped: Pool, test_index, train_index, test: tuple, train: tuple) -> Pool:
    """The shipped pool followed by the installed images it lacks: held-out ones (`test`: images,
    labels; `test_index` says which of them ship) before training ones. Pure: unit-tested."""
    parts_x, parts_y, parts_t = [shipped.images], [shipped.labels], [shipped.training]
    for (x, y), index, is_training in ((test, test_index, False), (train, train_index, True)):
        rest = np.setdiff1d(np.arange(len(x)), np.asarray(index)[np.asarray(index) >= 0])
        parts_x.append(np.asarray(x)[rest])
        parts_y.append(np.asarray(y, np.int64)[rest])
        parts_t.append(np.full(len(rest), is_training))
    images, labels, training = np.concatenate(parts_x), np.concatenate(parts_y), np.concatenate(parts_t)
    _freeze(images, labels, training)
    return Pool(images, labels, training, len(shipped))


def _idx_count(path: Path) -> int:
    """The first dimension of a gzipped idx file, from its header (8 bytes), without reading it all."""
    import gzip
    with gzip.open(path, "rb") as f:
        head = f.read(8)
    return int.from_bytes(head[4:8], "big") if len(head) == 8 and head[:2] == b"\x00\x00" else 0


def installed_size(dataset: str) -> int:
    """How many images the installed full data set has (0 when it is not installed)."""
    from models import data
    try:
        if dataset == "fashion-mnist":
            return sum(_idx_count(data.FASHION_DIR / f"{k}-labels-idx1-ubyte.gz") for k in ("train", "t10k"))
        if dataset == "mnist":
            return 10_000 if data._mnist_dir() is not None else 0
    except (OSError, EOFError):
        return 0
    return 0


def _installed(root: str, dataset: str, stamp: tuple, source: str) -> Pool:
    return _memo(_INSTALLED, (root, dataset, stamp, source),
                 lambda: _read_installed(root, dataset, stamp))


def _read_installed(root: str, dataset: str, stamp: tuple) -> Pool:
    from models.data import DataError, load_dataset
    shipped, test_index, train_index = _shipped(root, dataset, stamp)
    try:
        d = load_dataset(dataset, source="full")
    except DataError:
        return shipped
    if (test_index < 0).any() or (train_index < 0).any():     # shipped files without their indices
        return shipped
    return extend(shipped, test_index, train_index, (d.test_x, d.test_y), (d.train_x, d.train_y))


def _files_stamp(paths) -> tuple:
    out = []
    for p in paths:
        try:
            st = p.stat()
            out.append((p.name, st.st_size, st.st_mtime_ns))
        except OSError:
            out.append((p.name, None))
    return tuple(out)


def _source_stamp(dataset: str) -> tuple:
    """Where the installed data set is read from and the size and mtime of each of its files (part
    of the cache keys: a data set installed, removed or replaced is never met by an old pool or map)."""
    from models import data
    if dataset == "fashion-mnist":
        folder = data.FASHION_DIR
        files = [folder / f"{k}-ubyte.gz" for k in
                 ("train-images-idx3", "train-labels-idx1", "t10k-images-idx3", "t10k-labels-idx1")]
    else:
        folder = data._mnist_dir() or data.DATA_DIR
        files = [folder / "src" / "digits" / f"{d}.json" for d in range(10)]
    return (str(folder), _files_stamp(files))


def pool_stamp(dataset: str, root: Path | str, n: int | None = None) -> tuple:
    """What `pool(dataset, root, n)` depends on besides its arguments, for the keys of caches built
    from it (the maps): the shipped files' sizes and mtimes and, when n reaches past them into the
    installed data set, its files' too."""
    root = Path(root)
    n = DEFAULT_POINTS if n is None else int(n)
    shipped = (str(root), _stamp(root, dataset))
    if n > len(shipped_pool(dataset, root)):
        return shipped, _source_stamp(dataset)
    return shipped, None


def pool(dataset: str, root: Path | str, n: int | None = None) -> Pool:
    """The first n images of the pool (default: DEFAULT_POINTS); reads the installed data set only
    when n is larger than what ships."""
    root = Path(root)
    n = DEFAULT_POINTS if n is None else int(n)
    shipped = shipped_pool(dataset, root)
    if n > len(shipped) and installed_size(dataset) > len(shipped):
        return _installed(str(root), dataset, _stamp(root, dataset), _source_stamp(dataset)).first(n)
    return shipped.first(n)


def sizes(total: int) -> list[int]:
    """The sizes a person can pick from a pool of `total` images: the standard steps below it, and
    all of them."""
    return [s for s in SIZES if s < total] + [int(total)]


def nearest_size(n: int, offered: list[int]) -> int:
    """The size in `offered` nearest to n (the smaller of two as near)."""
    return min(offered, key=lambda k: (abs(k - int(n)), k))


def available(dataset: str, root: Path | str) -> int:
    """How many points the largest map of `dataset` can have here (shipped, or installed if more)."""
    shipped = len(shipped_pool(dataset, root))
    installed = installed_size(dataset)
    return installed if installed > shipped else shipped
