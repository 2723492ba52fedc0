"""App-side figures: cached map load time, and decoding + image-encoding interpolation frames.

    python bench/app_perf.py
"""
from __future__ import annotations

import time

import numpy as np

from _common import best_of, generative
from playground.imaging import gif_bytes, png_bytes, tile
from playground.interpolation import slerp
from playground.latent_map import build_map, methods_for


def main():
    print("Map ready from the shipped cache (load model, encode/sample, read projection):")
    for m, ref, clf in generative():
        for method in methods_for(m.latent_dim):
            t = time.perf_counter()
            lmap = build_map(m, method, ref, clf, write_dir=None)
            dt = time.perf_counter() - t
            print(f"  {m.name:22s} {method:7s} {dt * 1000:7.0f} ms  {'cached' if lmap.from_cache else 'COMPUTED (not shipped)'}")
    print("\n64 interpolation frames (slerp -> decode in one batch -> PNG strip), best of 5:")
    for m, _, _ in generative():
        a, b = m.sample(2, seed=0)

        def frames():
            return png_bytes(tile(m.decode(slerp(a, b, 64)), 16))

        dec = best_of(lambda: m.decode(slerp(a, b, 64)))
        total = best_of(frames)
        gif = best_of(lambda: gif_bytes(m.decode(slerp(a, b, 64))), 3)
        print(f"  {m.name:22s} decode {dec * 1000:6.1f} ms   decode+PNG {total * 1000:6.1f} ms   "
              f"decode+GIF {gif * 1000:6.1f} ms")
    m = next(g[0] for g in generative() if g[0].kind == "vae")
    z = m.sample(1, seed=0)
    one = best_of(lambda: png_bytes((m.decode(z)[0, 0] * 255).astype(np.uint8)), 50)
    print(f"\nOne decode + PNG ({m.name}): {one * 1000:.2f} ms")


if __name__ == "__main__":
    main()
