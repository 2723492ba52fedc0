"""Re-measure a checkpoint's figures and print them beside its card's.

    python -m models.evaluate mnist-vae mnist-gan              # full held-out split (needs the data sets)
    python -m models.evaluate mnist-gan --write                # also store them in the card (`metrics`)
    python -m models.evaluate --reference mnist-vae            # the shipped reference set (no data needed)
    python -m models.evaluate --reference --write mnist-vae    # store them as `metrics_reference`
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import CHECKPOINTS, limit_threads, load
from .checkpoint import CheckpointError, update_card
from .data import DataError, load_dataset
from .measure import classifier_for, measure, measure_reference


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.evaluate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("names", nargs="+")
    p.add_argument("--root", type=Path, default=CHECKPOINTS)
    p.add_argument("--reference", action="store_true",
                   help="measure on the shipped reference set (card key metrics_reference)")
    p.add_argument("--write", action="store_true", help="store the re-measured figures in the card")
    args = p.parse_args(argv)
    limit_threads()
    key = "metrics_reference" if args.reference else "metrics"
    status = 0
    for name in args.names:
        try:
            m = load(name, args.root)
            clf, note = classifier_for(m.card, args.root)
            if args.reference:
                metrics = measure_reference(m, clf, args.root)
            else:
                data = load_dataset(m.card["dataset"].get("path") or m.dataset)
                metrics = measure(m, data, clf)
        except (CheckpointError, DataError, FileNotFoundError, ValueError) as e:
            print(f"error: {name}: {e}", file=sys.stderr)
            status = 2
            continue
        if note:
            print(f"note: {name}: {note}", file=sys.stderr)
            metrics["not_measured"] = note
        card_metrics = m.card.get(key) or {}
        print(f"{name} ({m.kind}, {m.dataset}), {metrics['measured_on']}:")
        print(f"  {'figure':32s} {'measured':>12s} {'card ' + key:>20s}")
        for k, v in metrics.items():
            if isinstance(v, (list, dict)) or k in ("measured_on", "not_measured"):
                continue
            print(f"  {k:32s} {v!s:>12s} {card_metrics.get(k, '-')!s:>20s}")
        if args.write:
            update_card(args.root / name, **{key: metrics})
            print(f"  wrote {key} into {args.root / name / 'card.json'}")
    return status


if __name__ == "__main__":
    sys.exit(main())
