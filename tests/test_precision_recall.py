"""Precision and recall of generated images (Kynkäänniemi et al., 2019), on cases whose answer is
known: hand-computed manifolds, synthetic clusters, and the real reference sets in their
classifier's feature space (real against real, against one class, against noise). The figures
in the cards and the README are re-measured from the weights here."""
import functools
import re
from pathlib import Path

import numpy as np
import pytest

import models
from models.metrics import (class_coverage, judge, knn_radii, manifold_coverage, precision_recall,
                            reference_precision_recall, sample_quality, split_halves)

from conftest import GENERATIVE

ROOT = Path(__file__).resolve().parent.parent


def brute_force(real, fake, k):
    """The definition, one point at a time: the slow way the vectorised code must agree with."""
    def radii(x):
        return [sorted(np.linalg.norm(x - p, axis=1))[k] for p in x]      # [0] is the point itself

    def inside(centres, r, q):
        return np.mean([any(np.linalg.norm(c - p) <= rc for c, rc in zip(centres, r)) for p in q])
    return inside(real, radii(real), fake), inside(fake, radii(fake), real)


# ---- the definition, on cases computed by hand ---------------------------------------------------

def test_hand_computed_line():
    real = [[0.0], [1.0], [2.0], [3.0]]                 # k = 1: every real ball has radius 1
    fake = [[0.5], [1.5], [40.0], [41.0]]               # two inside; two far off (each other's neighbour)
    # recall: 0, 1, 2 lie within 1 of 0.5 or 1.5; 3 lies 1.5 from 1.5 and 37 from 40
    assert precision_recall(real, fake, k=1) == (0.5, 0.75)
    assert brute_force(np.array(real), np.array(fake), 1) == (0.5, 0.75)


def test_k_sets_the_radius():
    real = [[0.0], [1.0], [2.0], [10.0]]
    # k = 1: 10's ball reaches 2 (radius 8), so 7 is inside and 20, 21, 22 are not
    assert precision_recall(real, [[7.0], [20.0], [21.0], [22.0]], k=1)[0] == 0.25
    # k = 3: radii 10, 9, 8, 10; 7 is inside, and 20 sits on the surface of 10's ball; 21-23 are out
    assert precision_recall(real, [[7.0], [20.0], [21.0], [22.0], [23.0]], k=3)[0] == pytest.approx(2 / 5)


def test_a_point_on_a_ball_surface_and_copies_count_as_inside():
    real = np.array([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]])       # neighbours 5 apart: radii 5 (k=1)
    on, beyond = [[-5.0, 0.0], [0.0, -5.0]], [[-5.01, 0.0], [0.0, -5.01]]
    assert precision_recall(real, on + beyond, k=1)[0] == 0.5    # exactly 5 from the origin: inside
    x = np.random.default_rng(1).standard_normal((50, 4)) * 1e3
    assert precision_recall(x, x.copy()) == (1.0, 1.0)


def test_vectorised_blocks_agree_with_the_definition():
    rng = np.random.default_rng(0)
    real, fake = rng.standard_normal((120, 5)), rng.standard_normal((90, 5)) * 1.3 + 0.4
    expected = brute_force(real, fake, 3)
    assert precision_recall(real, fake, k=3) == pytest.approx(expected, abs=1e-12)
    # tiny blocks (7 or 3 rows at a time) give the definition's radii and memberships
    radii = [sorted(np.linalg.norm(real - p, axis=1))[3] for p in real]
    queries = np.vstack([fake, real[:37] + 0.3])        # a fresh size: no array left over to reuse
    inside = [any(np.linalg.norm(c - p) <= r for c, r in zip(real, radii)) for p in queries]
    for cells in (3 * len(real), 7 * len(real), 1 << 22):
        r_sq = knn_radii(real, 3, max_cells=cells)
        np.testing.assert_allclose(np.sqrt(r_sq), radii, rtol=1e-12)
        assert manifold_coverage(real, r_sq, queries, max_cells=cells).tolist() == inside


def test_precision_and_recall_swap_when_the_sets_do():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((300, 6)), rng.standard_normal((200, 6)) * 0.5
    p, r = precision_recall(a, b)
    assert precision_recall(b, a) == (r, p)


# ---- synthetic cases with known answers ----------------------------------------------------------

CENTRES = np.random.default_rng(3).standard_normal((10, 8)) * 20


def clusters(n, classes, seed):
    rng = np.random.default_rng(seed)
    c = rng.choice(classes, n)
    return CENTRES[c] + rng.standard_normal((n, 8)), c


def test_synthetic_real_against_real_single_class_and_noise():
    real, _ = clusters(2000, np.arange(10), 0)
    other, _ = clusters(2000, np.arange(10), 1)
    one, _ = clusters(1000, [4], 2)
    noise = np.random.default_rng(4).standard_normal((2000, 8)) * 3 + 200
    p, r = precision_recall(real, other)
    assert p > 0.85 and r > 0.85, (p, r)                # same distribution: both high (~0.9)
    p, r = precision_recall(real, one)
    assert p > 0.85 and 0.05 < r < 0.15, (p, r)          # one cluster of ten: realistic, a tenth covered
    assert precision_recall(real, noise) == (0.0, 0.0)   # far-off noise: nothing realistic, nothing covered


# ---- real images in the classifier's feature space ----------------------------------------------

@functools.lru_cache(maxsize=None)
def real_features(dataset):
    clf = models.load(f"{dataset}-classifier")
    images, labels = models.reference(dataset)
    x = images[:, None].astype(np.float32) / 255
    (a, b), (la, _) = split_halves(x), split_halves(labels)
    return clf, a, judge(clf, a)[0], la, judge(clf, b)[0]


@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist"])
def test_real_against_real_is_high_on_both(dataset):
    _, _, fa, _, fb = real_features(dataset)
    p, r = precision_recall(fb, fa)
    assert p > 0.8 and r > 0.8, (p, r)       # measured: MNIST 0.876 / 0.897, Fashion 0.885 / 0.851


@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist"])
def test_real_against_a_single_class_has_low_recall(dataset):
    _, _, fa, la, fb = real_features(dataset)
    for c in range(10):
        p, r = precision_recall(fb, fa[la == c])
        # one class is realistic (precision stays high) but covers little of the data; measured
        # recall at most 0.128 (MNIST) and 0.388 (Fashion's T-shirts reach shirts and pullovers)
        assert p > 0.75 and r < (0.2 if dataset == "mnist" else 0.45), (c, p, r)


@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist"])
def test_real_against_noise_has_precision_near_zero(dataset):
    clf, a, _, _, fb = real_features(dataset)
    rng = np.random.default_rng(0)
    shuffled = np.stack([rng.permutation(img.ravel()).reshape(img.shape) for img in a])   # same ink, no shape
    p, r = precision_recall(fb, judge(clf, shuffled)[0])
    assert p < 0.06 and r < 0.01, (p, r)     # measured: MNIST 0 / 0, Fashion 0.043 / 0
    if dataset == "mnist":
        assert precision_recall(fb, judge(clf, rng.random(a.shape).astype(np.float32))[0]) == (0.0, 0.0)


# ---- bad input ---------------------------------------------------------------------------------

@pytest.mark.parametrize("real, fake, k, message", [
    (np.zeros(5), np.zeros((5, 1)), 3, "2-D array"),
    (np.zeros((5, 2)), np.zeros((5, 3)), 3, "differ in size: 2 against 3"),
    (np.zeros((5, 2)), np.full((5, 2), np.nan), 3, "NaN"),
    (np.zeros((3, 2)), np.zeros((5, 2)), 3, "real_features has 3 rows.*at least 4"),
    (np.zeros((5, 2)), np.zeros((5, 2)), 0, "positive integer"),
    (np.zeros((5, 2)), np.zeros((5, 2)), 2.5, "positive integer"),
    (np.zeros((5, 2)), np.zeros((5, 2)), True, "positive integer"),
])
def test_bad_input_is_refused_with_a_message(real, fake, k, message):
    with pytest.raises(ValueError, match=message):
        precision_recall(real, fake, k)


def test_class_coverage():
    eye = np.eye(10)
    assert class_coverage(eye[np.arange(1000) % 10]) == 1.0
    assert class_coverage(eye[np.zeros(100, int)]) == 0.1
    # 3 classes at 4% each (under half an even share, 5%) and 7 sharing the rest
    votes = np.r_[np.repeat([0, 1, 2], 4), np.repeat(np.arange(3, 10), 12), [3, 4]]
    assert class_coverage(eye[votes]) == 0.7
    assert class_coverage(eye[votes], min_share=0.01) == 1.0
    assert class_coverage(eye[[0] + [1] * 19]) == 0.2            # exactly 5%: counted
    with pytest.raises(ValueError, match="non-empty"):
        class_coverage(np.zeros((0, 10)))


# ---- the cards and the README ------------------------------------------------------------------

CARD_KEYS = ("precision", "recall", "precision_real_test", "recall_real_test")


@functools.lru_cache(maxsize=None)
def remeasured(name):
    m = models.load(name)
    clf = models.load(models.classifier_name(m.card))
    images, _ = models.reference(m.dataset)
    return reference_precision_recall(m, clf, images[:, None].astype(np.float32) / 255)


WITH_CLASSIFIER = [n for n in GENERATIVE if models.classifier_name(models.load(n).card)
                   in {l.name for l in models.available()}]                       # the shapes have none


@pytest.mark.parametrize("name", WITH_CLASSIFIER)
def test_card_precision_recall_are_remeasured_from_the_weights(name):
    recorded = models.load(name).card.get("metrics_reference", {})
    assert "precision" in recorded, f"{name}: python -m models.evaluate --reference --write {name}"
    got = remeasured(name)
    assert recorded["precision_recall_k"] == 3 and recorded["n_precision_recall"] == got["n_precision_recall"]
    for key in CARD_KEYS:   # seeded samples, exact distances: only float summation order may differ
        assert recorded[key] == pytest.approx(got[key], abs=0.002), (key, recorded[key], got[key])


def readme_rows(readme: str) -> dict[str, tuple[float, float]]:
    """`name` -> (precision, recall) from the table of the README's "Quality against diversity"."""
    section = readme.split("## Quality against diversity", 1)[1].split("\n## ", 1)[0]
    return {m[1]: (float(m[2]), float(m[3]))
            for m in re.finditer(r"^\| `([\w.-]+)` \| ([\d.]+) \| ([\d.]+) \|", section, re.M)}


def test_readme_table_is_remeasured_from_the_weights():
    rows = readme_rows((ROOT / "README.md").read_text(encoding="utf-8"))
    assert set(rows) == set(WITH_CLASSIFIER), set(rows) ^ set(WITH_CLASSIFIER)
    for name, (p, r) in rows.items():
        got = remeasured(name)
        assert abs(p - got["precision"]) <= 0.0051 and abs(r - got["recall"]) <= 0.0051, (name, p, r, got)


def test_a_false_readme_figure_is_caught():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    name = "mnist-gan"
    p, r = readme_rows(readme)[name]
    forged = readme.replace(f"| `{name}` | {p:.2f} | {r:.2f} |", f"| `{name}` | {p:.2f} | {r + 0.1:.2f} |")
    assert forged != readme
    got = remeasured(name)
    assert abs(readme_rows(forged)[name][1] - got["recall"]) > 0.0051


def test_page_figures_at_temperature_one_are_the_cards():
    """The page's point at temperature 1 (same seed, same count) is the card's figure."""
    m = models.load("mnist-gan")
    clf, *_ , fb = real_features("mnist")
    got = sample_quality(m, clf, fb, len(fb), seed=0)
    card = m.card["metrics_reference"]
    assert (got["precision"], got["recall"]) == (card["precision"], card["recall"])


def test_too_few_reference_images_give_a_note_not_an_error():
    """A folder of your own images may ship a tiny reference set: saving a model must still work."""
    m, clf = models.load("mnist-vae"), models.load("mnist-classifier")
    images, _ = models.reference("mnist")
    x = images[:, None].astype(np.float32) / 255
    assert "need at least 8" in reference_precision_recall(m, clf, x[:7])["precision_recall_not_measured"]
    got = reference_precision_recall(m, clf, x[:8])
    assert got["n_precision_recall"] == 4 and 0 <= got["recall"] <= 1
