"""Precompute the latent maps of every shipped generative checkpoint into checkpoints/maps/.

    python scripts/build_maps.py            # all models, all projections, the default size
    python scripts/build_maps.py mnist-vae  # only these models (and only their stale maps removed)
VAE maps show the first map_points.DEFAULT_POINTS images of the data set's shipped pool.
The app finds these by hash, so a retrained checkpoint simply gets a fresh map on first use."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import models  # noqa: E402
from playground.latent_map import build_map, knn_agreement, methods_for, shipped_maps  # noqa: E402
from playground import map_points  # noqa: E402
from playground.uploads import errors_file, reference_errors  # noqa: E402


def main(names: list[str]) -> int:
    models.limit_threads()
    maps_dir = shipped_maps()
    maps_dir.mkdir(parents=True, exist_ok=True)
    keep = set()
    for l in models.available():
        if not l.ok or l.card["kind"] not in ("vae", "gan") or (names and l.name not in names):
            continue
        m = models.load(l.name)
        ref = (map_points.pool(m.dataset, models.CHECKPOINTS) if m.dataset in map_points.POOLED
               else models.reference(m.dataset)) if m.kind == "vae" else None
        clf = models.load(models.classifier_name(m.card)) if m.kind == "gan" else None
        for method in methods_for(m.latent_dim):
            t = time.perf_counter()
            lmap = build_map(m, method, ref, clf, cache_dirs=[maps_dir], write_dir=maps_dir)
            keep.add(lmap.cache_name)
            print(f"{l.name:24s} {method:7s} {time.perf_counter() - t:6.1f} s  "
                  f"10-NN class agreement {knn_agreement(lmap.y, lmap.labels):.3f}"
                  f"{'  (cached)' if lmap.from_cache else ''}")
        if m.kind == "gan":                 # reference errors for the upload page's anomaly percentile
            name = errors_file(m)
            keep.add(name)
            if not (maps_dir / name).is_file():
                t = time.perf_counter()
                err = reference_errors(m, models.reference(m.dataset)[0])
                np.savez_compressed(maps_dir / name, errors=err)
                print(f"{l.name:24s} inverted {len(err)} reference images in {time.perf_counter() - t:.1f} s, "
                      f"MSE median {np.median(err):.4f}")
    stale = [p for p in maps_dir.glob("*.npz") if p.name not in keep
             and (not names or any(p.name.startswith(f"{n}-") and p.name[len(n) + 1:].split("-")[0]
                                   in ("pca", "tsne", "latent", "inversion") for n in names))]
    for p in stale:
        p.unlink()
        print(f"removed stale {p.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
