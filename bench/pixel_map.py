"""The map of a GAN with no classifier (laid out by its decoded pixels) at 128 x 128 RGB: memory and time.

    python bench/pixel_map.py [--side 128] [--channels 3] [--points 3000] [--raw]

Writes a linear numpy adapter of that size (as the tests' `rgb-gan-128`) to a temporary folder and
builds its PCA map once, in a fresh process, without any cache: prints the process's peak RSS
before and after, the seconds taken and the bytes the map holds (what the shared map cache counts).
`--raw` lays it out by the full pixels instead (the behaviour before `latent_map.PIXEL_BUDGET`): at
3,000 points of 128 x 128 x 3 that is an SVD of 3,000 x 49,152, minutes and gigabytes; try
`--points 500` first. On a shared machine: noisy."""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ADAPTER = '''
import numpy as np

class Model:
    kind, latent_dim, image_shape, name = "gan", 6, {shape!r}, "bench-pixel-gan"

    def __init__(self):
        rng = np.random.default_rng(7)
        n = int(np.prod(self.image_shape))
        self.w = (rng.standard_normal((self.latent_dim, n)) * 0.8).astype(np.float32)
        self.b = (rng.standard_normal(n) * 0.3).astype(np.float32)

    def decode(self, z):
        x = 1 / (1 + np.exp(-(np.asarray(z, np.float32) @ self.w + self.b)))
        return x.reshape(len(z), *self.image_shape).astype(np.float32)

def load():
    return Model()
'''


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--side", type=int, default=128)
    p.add_argument("--channels", type=int, default=3, choices=(1, 3))
    p.add_argument("--points", type=int, default=3000)
    p.add_argument("--raw", action="store_true", help="full pixels, as before the pixel budget")
    a = p.parse_args()
    import models
    from playground import bounded, latent_map
    latent_map.GAN_POINTS = a.points
    if a.raw:                       # every pixel, as before (gan_codes and the embedder look it up)
        latent_map.pixel_features = lambda x: x.reshape(len(x), -1)
    folder = Path(tempfile.mkdtemp())
    path = folder / "bench_pixel_gan.py"
    path.write_text(ADAPTER.format(shape=(a.channels, a.side, a.side)))
    m = models.load(str(path))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t = time.perf_counter()
    lmap = latent_map.build_map(m, "pca", write_dir=None, cache_dirs=())
    took = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    mb = 2 ** 20
    print(f"{a.points:,} points of {a.channels}x{a.side}x{a.side}, "
          f"{'full pixels' if a.raw else f'pixels averaged to {lmap.space.shape[1]:,} numbers'}: "
          f"peak RSS {before:.0f} -> {after:.0f} MB, built in {took:.1f} s")
    print(f"the map holds {bounded.nbytes(lmap) / mb:.0f} MB: images {lmap.images.nbytes / mb:.0f} MB, "
          f"pixels laid out {lmap.space.nbytes / mb:.0f} MB, projection {bounded.nbytes(lmap.projection) / mb:.0f} MB")


if __name__ == "__main__":
    main()
