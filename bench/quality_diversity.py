"""Quality against diversity: precision, recall, FD, IS and class coverage of every shipped VAE and
GAN as sampling temperature and truncation change (the Quality page's figures, for all models).

    nice -n 10 python bench/quality_diversity.py                  # default grid, all models
    python bench/quality_diversity.py mnist-gan --temperatures 0.5 1 --truncations 1
    python bench/quality_diversity.py --markdown                  # the README's table rows

Each setting: as many seeded samples (seed 0) as the reference set's odd half (1,000 MNIST,
1,500 Fashion-MNIST), judged against that half in the data set's classifier's feature space, k = 3;
"real" is the even half against the odd half (what a perfect model gets with this many images).
At temperature 1 without truncation the figures are the cards' `metrics_reference` precision and
recall (`python -m models.evaluate --reference`).
"""
from __future__ import annotations

import argparse

import numpy as np

from _common import models
from models.metrics import real_quality, sample_quality

KEYS = ("precision", "recall", "frechet_distance", "inception_score", "class_coverage")
HEAD = ("P", "R", "FD", "IS", "cover")


def row(label: str, f: dict) -> str:
    return f"  {label:22s} " + " ".join(f"{f[k]:>8.3f}" for k in KEYS)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("names", nargs="*", help="models (default: every shipped VAE and GAN)")
    p.add_argument("--temperatures", type=float, nargs="*", default=[0.25, 0.5, 0.75, 1.0, 1.25, 1.5])
    p.add_argument("--truncations", type=float, nargs="*", default=[0.5, 1.0, 1.5, 2.0])
    p.add_argument("--markdown", action="store_true", help="also print the README table's rows")
    args = p.parse_args(argv)
    names = args.names or [l.name for l in models.available() if l.ok and l.card["kind"] in ("vae", "gan")]
    table = []
    for name in names:
        m = models.load(name)
        clf = models.load(models.classifier_name(m.card))
        images, _ = models.reference(m.dataset)
        real_f, ceiling = real_quality(clf, images[:, None].astype(np.float32) / 255)
        n = len(real_f)
        print(f"{name} ({m.kind}, z={m.latent_dim}), {n} samples against {n} real, in {clf.name} features")
        print(f"  {'setting':22s} " + " ".join(f"{h:>8s}" for h in HEAD))
        print(row("real (ceiling)", ceiling))
        at = {}
        for t in args.temperatures:
            at[t] = sample_quality(m, clf, real_f, n, temperature=t)
            print(row(f"temperature {t:g}", at[t]))
        for tr in args.truncations:
            print(row(f"truncation {tr:g}", sample_quality(m, clf, real_f, n, truncation=tr)))
        one = at.get(1.0) or sample_quality(m, clf, real_f, n)
        low = at.get(0.5)
        table.append((name, one, low))
    if args.markdown:
        print("\n| model | precision | recall | at temperature 0.5: precision | recall |")
        print("|---|---:|---:|---:|---:|")
        for name, one, low in table:
            half = f"{low['precision']:.2f} | {low['recall']:.2f}" if low else "- | -"
            print(f"| `{name}` | {one['precision']:.2f} | {one['recall']:.2f} | {half} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
