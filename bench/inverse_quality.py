"""How well the map inverts: for held-out map points, inverse(position) against the true latent code.

    python bench/inverse_quality.py
For every model and projection, 10% of the map's points are held out, the inverse is fitted on the
rest (PCA: exact, nothing to fit), and for each held-out point we decode inverse(its 2-D position):
- latent error: |z_hat - z| relative to the median distance between two random codes (1.0 = chance);
- class agreement: the data set's classifier gives the decoded image the point's class (its true class
  for a VAE's reference image, the classifier's own guess for a GAN sample).
"""
from __future__ import annotations

import numpy as np

from _common import generative, models
from playground.latent_map import build_map, methods_for
from playground.projection import KNNInverse


def main():
    rng = np.random.default_rng(0)
    print(f"{'model':24s} {'map':7s} {'inverse':9s} {'latent error':>12s} {'class agreement':>16s}"
          f" {'(decoding the true z)':>22s}")
    for m, ref, clf_model in generative():
        clf = clf_model or models.load(models.classifier_name(m.card))
        for method in methods_for(m.latent_dim):
            lmap = build_map(m, method, ref, clf_model, write_dir=None)
            n = len(lmap.y)
            held = rng.permutation(n)[: n // 10]
            rest = np.setdiff1d(np.arange(n), held)
            if lmap.exact:
                z_hat, how = lmap.to_latent(lmap.y[held]), "exact"
            else:
                inv = KNNInverse(k=8, power=2.0, keep_norm=True).fit(lmap.y[rest], lmap.z[rest])
                z_hat, how = inv.predict(lmap.y[held]), "learned"
            z = lmap.z[held]
            pairs = rng.integers(0, n, (2000, 2))
            chance = np.median(np.linalg.norm(lmap.z[pairs[:, 0]] - lmap.z[pairs[:, 1]], axis=1))
            err = np.median(np.linalg.norm(z_hat - z, axis=1)) / chance
            agree = (clf.predict_proba(m.decode(z_hat)).argmax(1) == lmap.labels[held]).mean()
            base = (clf.predict_proba(m.decode(z)).argmax(1) == lmap.labels[held]).mean()
            print(f"{m.name:24s} {method:7s} {how:9s} {err:12.2f} {agree:16.1%} {base:22.1%}")


if __name__ == "__main__":
    main()
