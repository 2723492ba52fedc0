"""The shipped checkpoints reach the quality bars, and their cards tell the truth.

The reference sets are subsets of the held-out splits, so figures re-measured on them must agree
with the figures the cards report (within sampling error) without needing the data sets."""
import numpy as np
import pytest

import models
from models.metrics import vae_metrics

BARS = {"mnist": dict(classifier=0.98, recon=0.90), "fashion-mnist": dict(classifier=0.90, recon=0.80)}

@pytest.mark.parametrize("name, what", [
    (f"{ds}-{kind}", what) for ds in ("mnist", "fashion-mnist")
    for kind, what in (("classifier", "classifier"), ("vae", "recon"), ("gan", "balance"))])
def test_quality_bars(name, what):
    metrics = models.load(name).card["metrics"]
    ds = name.rsplit("-", 1)[0]
    if what == "classifier":
        assert metrics["test_accuracy"] >= BARS[ds]["classifier"]
    elif what == "recon":
        assert metrics["recon_class_accuracy"] >= BARS[ds]["recon"]
    else:                                       # no mode collapse: every class 5-15% of 10k votes
        assert metrics["n_samples"] == 10_000
        assert 0.05 <= metrics["min_class_share"] and metrics["max_class_share"] <= 0.15


def ref_float(dataset):
    images, labels = models.reference(dataset)
    return images[:, None].astype(np.float32) / 255, labels


@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist"])
def test_classifier_card_agrees(dataset):
    clf = models.load(f"{dataset}-classifier")
    x, y = ref_float(dataset)
    acc = (clf.predict_proba(x).argmax(1) == y).mean()
    assert abs(acc - clf.card["metrics"]["test_accuracy"]) < 0.02, acc


@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist"])
def test_vae_card_agrees(dataset):
    m = models.load(f"{dataset}-vae")
    card = m.card["metrics"]
    x, y = ref_float(dataset)
    measured = vae_metrics(m, x, y, models.load(f"{dataset}-classifier"))
    assert abs(measured["recon_class_accuracy"] - card["recon_class_accuracy"]) < 0.03
    assert measured["test_recon_mse"] == pytest.approx(card["test_recon_mse"], rel=0.1)
    assert measured["test_neg_elbo_nats"] == pytest.approx(card["test_neg_elbo_nats"], rel=0.05)


@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist"])
def test_gan_card_agrees_with_fresh_samples(dataset):
    m = models.load(f"{dataset}-gan")
    card = m.card["metrics"]
    clf = models.load(f"{dataset}-classifier")
    z = m.sample(3000, seed=123)                                # fresh samples, not the card's
    share = np.bincount(clf.predict_proba(m.decode(z)).argmax(1), minlength=10) / len(z)
    np.testing.assert_allclose(share, card["class_share"], atol=0.03)
    assert card["frechet_distance"] > card["frechet_distance_real_test"]   # real data is the floor
