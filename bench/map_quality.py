"""How much class structure each map shows: 10-nearest-neighbour class agreement in 2-D.

    python bench/map_quality.py
Chance is about 0.1 for ten balanced classes. For GANs the raw-z PCA is printed too: it is the blob
that the feature layout replaces."""
from __future__ import annotations

import numpy as np

from _common import generative
from playground.latent_map import build_map, knn_agreement, methods_for
from playground.projection import PCAProjection


def main():
    print(f"{'model':22s} {'projection':12s} {'10-NN agreement':>16s}  labels")
    for m, ref, clf in generative():
        for method in methods_for(m.latent_dim):
            lmap = build_map(m, method, ref, clf, write_dir=None)
            print(f"{m.name:22s} {method:12s} {knn_agreement(lmap.y, lmap.labels):16.3f}  {lmap.label_source}")
        if m.kind == "gan":
            raw = PCAProjection().fit_transform(lmap.z)
            print(f"{m.name:22s} {'raw z, PCA':12s} {knn_agreement(raw, lmap.labels):16.3f}  "
                  "(for comparison: no structure)")


if __name__ == "__main__":
    main()
