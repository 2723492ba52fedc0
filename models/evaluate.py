"""Recompute a checkpoint's metrics on the held-out split and compare them with its card.

    python -m models.evaluate mnist-vae            # prints measured vs card
    python -m models.evaluate mnist-gan --write    # also writes them into the card
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import CHECKPOINTS, classifier_name, load
from .checkpoint import CheckpointError, update_card
from .data import DataError, load_dataset
from .train import measure


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.evaluate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("names", nargs="+")
    p.add_argument("--root", type=Path, default=CHECKPOINTS)
    p.add_argument("--write", action="store_true", help="store the recomputed metrics in the card")
    args = p.parse_args(argv)
    status = 0
    for name in args.names:
        try:
            m = load(name, args.root)
            data = load_dataset(m.card["dataset"].get("path") or m.dataset)
        except (CheckpointError, DataError) as e:
            print(f"error: {e}", file=sys.stderr)
            status = 2
            continue
        metrics = measure(m.kind, m, data, classifier_name(m.card), args.root)
        card_metrics = m.card["metrics"]
        print(f"{name} ({m.kind}, {m.dataset}):")
        print(f"  {'metric':32s} {'measured':>12s} {'card':>12s}")
        for k, v in metrics.items():
            if isinstance(v, list):
                continue
            print(f"  {k:32s} {v!s:>12s} {card_metrics.get(k, '-')!s:>12s}")
        if args.write:
            update_card(args.root / name, metrics=dict(metrics, measured_on=card_metrics.get("measured_on")))
            print(f"  wrote metrics into {args.root / name / 'card.json'}")
    return status


if __name__ == "__main__":
    sys.exit(main())
