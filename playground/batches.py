"""How many images go through a model at once: sized by bytes, not by a count. A batch of 2,000
images is 6 MB of float32 pixels at 28 x 28 grey but 393 MB at 128 x 128 RGB (and a reference set
of 5,000 such images is 983 MB converted at once), so the map's encoding and decoding and the
anomaly scores take at most BATCH_BYTES of float32 pixels at a time, whatever the model's size."""
from __future__ import annotations

import math

BATCH_BYTES = 2 ** 25            # 32 MB of float32 pixels a batch (170 images of 3 x 128 x 128)


def images_per_batch(shape, most: int | None = None, budget: int | None = None) -> int:
    """Images of `shape` (C, H, W) whose float32 pixels fit in `budget` bytes (default BATCH_BYTES,
    read at call time), at least 1 and at most `most`."""
    budget = BATCH_BYTES if budget is None else budget
    n = max(1, int(budget) // (4 * math.prod(int(s) for s in shape)))
    return n if most is None else max(1, min(n, int(most)))
