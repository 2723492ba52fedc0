"""Shared bench helpers: repo on sys.path, a timer, and the shipped generative models."""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import models  # noqa: E402

models.limit_threads()           # benches run as programs: use the cores, as the app does


def best_of(fn, repeat: int = 5) -> float:
    """Best wall time of `repeat` calls, in seconds (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def generative():
    """(model, reference or None, classifier or None) for every shipped VAE and GAN."""
    for l in models.available():
        if l.ok and l.card["kind"] in ("vae", "gan"):
            m = models.load(l.name)
            ref = models.reference(m.dataset) if m.kind == "vae" else None
            clf = models.load(models.classifier_name(m.card)) if m.kind == "gan" else None
            yield m, ref, clf
