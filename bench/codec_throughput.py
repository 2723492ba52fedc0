"""Encode/decode throughput of every shipped generative checkpoint on the CPU.

    python bench/codec_throughput.py
Prints images per second at batch 1 and 256, plus the time to decode one image and PNG-encode it.
"""
from __future__ import annotations

import io
import time

import numpy as np
from PIL import Image

from _common import models


def rate(fn, batch: int, min_seconds: float = 0.5) -> float:
    fn()                                                      # warm-up
    n, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < min_seconds:
        fn()
        n += 1
    return n * batch / elapsed


def png(x: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray((x[0] * 255 + 0.5).astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def main():
    import torch
    models.limit_threads()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'model':24s} {'enc b=1':>10s} {'enc b=256':>10s} {'dec b=1':>10s} {'dec b=256':>10s} "
          f"{'dec+png ms':>10s}   (images/s)")
    for l in models.available():
        if not l.ok or l.card["kind"] not in ("vae", "gan"):
            continue
        m = models.load(l.name)
        images, _ = models.reference(m.dataset)
        x1, x256 = (images[:n, None].astype(np.float32) / 255 for n in (1, 256))
        z1, z256 = m.sample(1, seed=0), m.sample(256, seed=0)
        enc = [f"{rate(lambda: m.encode(x), len(x)):10.0f}" for x in (x1, x256)] if m.can_encode \
            else [f"{'-':>10s}"] * 2
        dec = [f"{rate(lambda: m.decode(z), len(z)):10.0f}" for z in (z1, z256)]
        one = 1000 / rate(lambda: png(m.decode(z1)[0]), 1)
        print(f"{l.name:24s} {enc[0]} {enc[1]} {dec[0]} {dec[1]} {one:10.2f}")


if __name__ == "__main__":
    main()
