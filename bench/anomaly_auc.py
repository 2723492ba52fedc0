"""ROC AUC of each anomaly score: a model's own reference images against the other data set's.

    python bench/anomaly_auc.py                 # mnist-vae vs Fashion, fashion-mnist-vae vs MNIST
    python bench/anomaly_auc.py --all           # every shipped VAE
    python bench/anomaly_auc.py --samples 16 --importance   # the importance-weighted bound, 16 draws
    python bench/anomaly_auc.py --gan 32        # also each GAN, inverting 32 images of each set

1.0: every unfamiliar image outscores every familiar one; 0.5: chance; below 0.5 the unfamiliar set
looks more typical (the ELBO of a Fashion-MNIST model on MNIST: Nalisnick et al., 2019). Uses the
whole shipped reference sets (MNIST 2,000, Fashion-MNIST 3,000), as the Spot anomalies page does."""
from __future__ import annotations

import argparse
import time

import numpy as np

from _common import models       # puts the repo on sys.path and limits threads first
from playground import anomaly

OTHER = {"mnist": "fashion-mnist", "fashion-mnist": "mnist"}


def images(dataset: str, n: int | None = None) -> np.ndarray:
    x = models.reference(dataset)[0]
    if n is not None:
        x = x[np.random.default_rng(0).permutation(len(x))[:n]]
    return x[:, None].astype(np.float32) / 255


def table(m, x, samples: int, importance: bool) -> dict:
    t = anomaly.score_table(m, x, samples=samples)
    if importance:
        elbo = anomaly.neg_elbo(m, x, samples=samples, importance=True)
        t.update(elbo=elbo, complexity=elbo / np.log(2) - anomaly.png_bits(x),
                 excess=elbo - anomaly.entropy_floor(x))
    return t


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--all", action="store_true", help="every shipped VAE, not just the two of the page's test")
    p.add_argument("--samples", type=int, default=1, help="draws of z per image for the ELBO (the page: 1)")
    p.add_argument("--importance", action="store_true", help="the importance-weighted bound instead of the ELBO")
    p.add_argument("--gan", type=int, default=0, metavar="N", help="also each GAN, inverting N images per set")
    args = p.parse_args()

    names = [l.name for l in models.available() if l.ok and l.card["kind"] == "vae"] if args.all \
        else ["mnist-vae", "fashion-mnist-vae"]
    bound = f"{'IWAE' if args.importance else 'ELBO'}, {args.samples} draw{'s' * (args.samples > 1)} of z"
    print(f"ROC AUC, own reference images against the other data set's ({bound})")
    print(f"{'model':24s} {'against':14s} " + " ".join(f"{s:>10s}" for s in anomaly.SCORES) + "   mean score own / other")
    for name in names:
        m = models.load(name)
        t0 = time.perf_counter()
        own, other = (table(m, images(d), args.samples, args.importance) for d in (m.dataset, OTHER[m.dataset]))
        auc = [anomaly.roc_auc(own[s], other[s]) for s in anomaly.SCORES]
        means = ", ".join(f"{s} {own[s].mean():.4g} / {other[s].mean():.4g}" for s in ("elbo",))
        print(f"{name:24s} {OTHER[m.dataset]:14s} " + " ".join(f"{a:10.4f}" for a in auc)
              + f"   {means} ({time.perf_counter() - t0:.0f} s)")
    if args.gan:
        for l in models.available():
            if not (l.ok and l.card["kind"] == "gan"):
                continue
            g = models.load(l.name)
            t0 = time.perf_counter()
            own = anomaly.scores(g, images(g.dataset, args.gan))
            other = anomaly.scores(g, images(OTHER[g.dataset], args.gan))
            print(f"{g.name:24s} {OTHER[g.dataset]:14s} {anomaly.roc_auc(own, other):10.4f} (recon by inversion, "
                  f"{args.gan} images per set; {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
