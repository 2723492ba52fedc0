"""Cold t-SNE: scikit-learn's TSNE (defaults) against the app's TSNEProjection, run back to back.

    python bench/tsne_speed.py [--n 10000] [--large 70000] [--rounds 1]
Codes: fashion-mnist-vae's posterior means of the first --n images of the Fashion-MNIST map pool
(playground/map_points.py: the 3,000 held-out reference images, then shipped training images; the
installed data set when --n is larger than what ships). Prints time and trustworthiness (k=10) side
by side on the same data, the speed-up, then the app's time for a --large map (all 70,000
Fashion-MNIST images when Debian's dataset-fashion-mnist is installed; otherwise a labelled stand-in:
the shipped codes tiled with jitter) with its 10-NN class agreement; scikit-learn is not run there
(its Barnes-Hut would take many minutes). On a shared machine compare the ratio, not the seconds."""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
from sklearn.manifold import TSNE, trustworthiness

from _common import models
from playground import map_points
from playground.latent_map import knn_agreement
from playground.projection import TSNEProjection


def codes(n: int) -> tuple[np.ndarray, np.ndarray, str]:
    m = models.load("fashion-mnist-vae")
    pool = map_points.pool("fashion-mnist", models.CHECKPOINTS, n)
    src = f"{len(pool):,} Fashion-MNIST images of the map pool ({int(pool.training.sum()):,} training)"
    z = np.concatenate([m.encode(pool.images[i:i + 5000, None].astype(np.float32) / 255)
                        for i in range(0, len(pool), 5000)])
    labels = pool.labels
    if len(z) < n:                                       # not installed: a stand-in of the right size
        reps = -(-n // len(z))
        z = np.tile(z, (reps, 1))[:n] + np.random.default_rng(0).normal(0, 0.05, (n, z.shape[1])).astype(np.float32)
        labels = np.tile(labels, reps)[:n]
        src += f", tiled with jitter to {n:,} (STAND-IN: dataset-fashion-mnist is not installed)"
    return z.astype(np.float32), labels, src


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--large", type=int, default=70_000, help="0: skip the large map")
    ap.add_argument("--rounds", type=int, default=1, help="alternate ours and scikit-learn's this many times")
    args = ap.parse_args()
    models.limit_threads(2)
    print(f"load average at start: {os.getloadavg()[0]:.2f} (the machine may be shared: figures are noisy)")
    z, _, src = codes(args.n)
    print(f"data: {len(z):,} latent codes of dimension {z.shape[1]} ({src})")
    ours = TSNEProjection(n_jobs=2)
    label = (f"app TSNEProjection (openTSNE {ours.gradient.upper()}, {ours.neighbors} kNN, "
             f"perplexity {ours.perplexity:g}, {ours.early_exaggeration_iter}+{ours.n_iter} iters)")
    times = {label: [], "scikit-learn TSNE (defaults)": []}
    outs = {}
    for _ in range(args.rounds):
        t = time.perf_counter()
        outs[label] = TSNEProjection(n_jobs=2).fit_transform(z)
        times[label].append(time.perf_counter() - t)
        t = time.perf_counter()
        outs["scikit-learn TSNE (defaults)"] = TSNE(n_components=2, random_state=0, n_jobs=2).fit_transform(z)
        times["scikit-learn TSNE (defaults)"].append(time.perf_counter() - t)
    print(f"{'method':80s} {'seconds':>8s} {'trustworthiness@10':>20s}")
    tw = {}
    for name, y in outs.items():
        tw[name] = trustworthiness(z, y, n_neighbors=10)
        print(f"{name:80s} {np.median(times[name]):8.1f} {tw[name]:20.4f}")
    (n0, s0), (n1, s1) = [(k, np.median(v)) for k, v in times.items()]
    ratios = [b / a for a, b in zip(times[n0], times[n1])]
    print(f"speed-up {s1 / s0:.1f}x (per round: {', '.join(f'{r:.1f}x' for r in ratios)}), "
          f"trustworthiness difference {tw[n0] - tw[n1]:+.4f}")
    if args.large:
        zl, labels, src = codes(args.large)
        print(f"large map: {len(zl):,} codes ({src})")
        t = time.perf_counter()
        y = TSNEProjection(n_jobs=2).fit_transform(zl)
        sec = time.perf_counter() - t
        print(f"{label:80s} {sec:8.1f} s for {len(zl):,} points, 10-NN class agreement "
              f"{knn_agreement(y, labels):.3f} (scikit-learn not run at this size)")


if __name__ == "__main__":
    main()
