"""Measure a checkpoint's figures, for its card and for the tests that re-check the README.

Two sets of figures, each under its own card key:

- `metrics`: on the data set's full held-out split (`measure`); needs the training data
  (`bash scripts/get_data.sh`). For MNIST that split is the 2,000 held-out digits; for
  Fashion-MNIST the 10,000 test images; a GAN's FD is measured against 10,000 training images.
- `metrics_reference`: on the held-out reference set shipped in `checkpoints/reference/`
  (`measure_reference`): 2,000 MNIST digits (the whole held-out split) and 3,000 of the
  Fashion-MNIST test images. Anyone can re-measure these from a fresh install, and the tests do.
  A VAE's or GAN's `metrics_reference` also holds its samples' precision and recall (k = 3).

Imports torch and numpy only (no progress bars): `python -m models.evaluate` and the app can use it.
"""
from __future__ import annotations

import os
from pathlib import Path

from . import CHECKPOINTS, classifier_name, load, reference, reference_path
from .checkpoint import CheckpointError
from .data import Dataset, to_float
from .latent_model import LatentModel
from .metrics import (classifier_metrics, gan_metrics, gan_reference_metrics, reference_precision_recall,
                      vae_metrics)


def classifier_for(card: dict, root: os.PathLike | str | None = None) -> tuple[LatentModel | None, str | None]:
    """The classifier that judges a model's images, or (None, why) when there is none to use.

    Only a classifier that does not exist is skipped (a folder of your own images has none);
    one that exists but is broken, or sorts a different number of classes, is an error."""
    if card["kind"] == "classifier":
        return None, None
    name = classifier_name(card)
    root = Path(root or CHECKPOINTS)
    if not (root / name).is_dir():
        return None, f"no checkpoint {name!r} in {root}: class-based metrics not measured"
    clf = load(name, root)                                  # a broken one raises CheckpointError
    if len(clf.class_names) != len(card["class_names"]):
        raise CheckpointError(root / name, f"classifier sorts {len(clf.class_names)} classes, "
                              f"the model's data set has {len(card['class_names'])}")
    return clf, None


def measure(model: LatentModel, data: Dataset, classifier: LatentModel | None) -> dict:
    """The card's `metrics`: figures on the full held-out split of `data`."""
    test_x = to_float(data.test_x)
    if model.kind == "classifier":
        figures = classifier_metrics(model, test_x, data.test_y)
    elif model.kind == "vae":
        figures = vae_metrics(model, test_x, data.test_y, classifier)
    elif classifier is None:
        figures = {}
    else:
        figures = gan_metrics(model, classifier, to_float(data.train_x), test_x)
    return dict(figures, measured_on=f"{data.name} held-out split ({len(data.test_x)} images)")


def measure_reference(model: LatentModel, classifier: LatentModel | None,
                      root: os.PathLike | str | None = None) -> dict:
    """The card's `metrics_reference`: the same figures on the shipped reference set of the
    model's data set (raises FileNotFoundError if there is none, e.g. a folder of your own images)."""
    images, labels = reference(model.dataset, root)
    x = to_float(images)
    if model.kind == "classifier":
        figures = classifier_metrics(model, x, labels)
    elif model.kind == "vae":
        figures = vae_metrics(model, x, labels, classifier)
    elif classifier is None:
        figures = {}
    else:
        figures = gan_reference_metrics(model, classifier, x)
    if model.kind != "classifier" and classifier is not None:     # samples' precision and recall
        figures.update(reference_precision_recall(model, classifier, x))
    where = reference_path(model.dataset, root)
    return dict(figures, measured_on=f"shipped reference set {where.parent.name}/{where.name} "
                                     f"({len(images)} held-out {model.dataset} images)")


def has_reference(dataset: str, root: os.PathLike | str | None = None) -> bool:
    return reference_path(dataset, root).is_file()

