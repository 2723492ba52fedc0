"""Cold t-SNE of 10,000 latent codes: scikit-learn's TSNE (defaults) against the app's TSNEProjection.

    python bench/tsne_speed.py [--n 10000]
Codes: fashion-mnist-vae's posterior means of the 10,000 Fashion-MNIST test images (needs Debian's
dataset-fashion-mnist; without it, the 3,000-image reference set is tiled with jitter to 10,000).
Prints time and trustworthiness (k=10) side by side, in one run, on the same data."""
from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.manifold import TSNE, trustworthiness

from _common import models
from playground.projection import TSNEProjection


def codes(n: int) -> tuple[np.ndarray, str]:
    m = models.load("fashion-mnist-vae")
    try:
        from models.data import load_dataset
        x = load_dataset("fashion-mnist").test_x[:n]
        src = f"{len(x)} Fashion-MNIST test images"
    except Exception:
        ref, _ = models.reference("fashion-mnist")
        x = np.resize(ref, (n, 28, 28))
        src = f"reference set tiled to {n}"
    z = m.encode(x[:, None].astype(np.float32) / 255)
    if len(z) < n:
        z = np.resize(z, (n, z.shape[1]))
    z = z + np.random.default_rng(0).normal(0, 1e-3, z.shape).astype(np.float32)
    return z[:n], src


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    args = ap.parse_args()
    z, src = codes(args.n)
    print(f"data: {len(z)} latent codes of dimension {z.shape[1]} ({src})")
    rows = []
    t = time.perf_counter()
    ours = TSNEProjection(n_jobs=2)
    y_ours = ours.fit_transform(z)
    label = (f"app TSNEProjection (openTSNE BH θ={ours.theta}, "
             f"{ours.early_exaggeration_iter}+{ours.n_iter} iters)")
    rows.append((label, time.perf_counter() - t, y_ours))
    t = time.perf_counter()
    y_sk = TSNE(n_components=2, random_state=0, n_jobs=2).fit_transform(z)
    rows.append(("scikit-learn TSNE (defaults)", time.perf_counter() - t, y_sk))
    print(f"{'method':52s} {'seconds':>8s} {'trustworthiness@10':>20s}")
    tw = {}
    for name, sec, y in rows:
        tw[name] = trustworthiness(z, y, n_neighbors=10)
        print(f"{name:52s} {sec:8.1f} {tw[name]:20.4f}")
    (n0, s0, _), (n1, s1, _) = rows
    print(f"speed-up {s1 / s0:.1f}x, trustworthiness difference {tw[n0] - tw[n1]:+.4f}")


if __name__ == "__main__":
    main()
