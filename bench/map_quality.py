"""How much class structure each map shows: 10-nearest-neighbour class agreement in 2-D.

    python bench/map_quality.py [--points N]
VAE maps of MNIST and Fashion-MNIST show the data set's map pool (playground/map_points.py: by default
the 10,000 points the app shows, held-out images first, then training images). Chance is about 0.1
for ten balanced classes. For GANs the raw-z PCA is printed too: it is the blob that the feature
layout replaces."""
from __future__ import annotations

import argparse

from _common import generative, models
from playground import map_points
from playground.latent_map import build_map, knn_agreement, methods_for
from playground.projection import PCAProjection


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=map_points.DEFAULT_POINTS)
    args = ap.parse_args()
    print(f"{'model':22s} {'projection':12s} {'points':>7s} {'10-NN agreement':>16s}  labels")
    for m, ref, clf in generative():
        if m.kind == "vae" and m.dataset in map_points.POOLED:
            ref = map_points.pool(m.dataset, models.CHECKPOINTS, args.points)
        for method in methods_for(m.latent_dim):
            lmap = build_map(m, method, ref, clf, write_dir=None)
            print(f"{m.name:22s} {method:12s} {len(lmap.y):7,d} {knn_agreement(lmap.y, lmap.labels):16.3f}  "
                  f"{lmap.label_source}")
        if m.kind == "gan":
            raw = PCAProjection().fit_transform(lmap.z)
            print(f"{m.name:22s} {'raw z, PCA':12s} {len(raw):7,d} {knn_agreement(raw, lmap.labels):16.3f}  "
                  "(for comparison: no structure)")


if __name__ == "__main__":
    main()
