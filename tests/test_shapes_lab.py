"""Training on the shapes (issue 10) with models.lab: colour batches, MIG per epoch and in the
saved run's card, and the beta-VAE preset."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

import models
from models import lab
from models.data import load_dataset
from models.disentangle import mig
from models.lab import LabConfig, LabRun, save_run


@pytest.fixture(scope="module")
def small_shapes():
    """The shapes data cut down (600 training, 300 held-out) so a run takes seconds."""
    d = load_dataset("shapes")
    return dataclasses.replace(d, train_x=d.train_x[:600], train_y=d.train_y[:600],
                               train_factors=d.train_factors[:600], test_x=d.test_x[:300],
                               test_y=d.test_y[:300], test_factors=d.test_factors[:300])


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_preset_is_a_beta_vae_on_shapes_and_defaults_are_unchanged():
    cfg = LabConfig.preset("beta-vae-shapes")
    assert cfg.dataset == "shapes" and cfg.kind == "vae" and cfg.beta == 4.0 and cfg.latent_dim == 10
    assert LabConfig().dataset == "mnist" and LabConfig().latent_dim == 2
    assert all(knobs.get("dataset", "mnist") != "shapes" for name, (knobs, _) in lab.PRESETS.items()
               if name != "beta-vae-shapes")


def test_a_shapes_run_trains_in_colour_records_mig_and_saves_it(small_shapes, tmp_path):
    cfg = LabConfig(dataset="shapes", latent_dim=4, channels=4, hidden=32, hidden_layers=1,
                    epochs=2, batch_size=100, beta=4.0)
    run = LabRun(cfg, small_shapes).run()
    assert run.epoch == 2 and run.stop_reason is None
    row = run.epochs[-1]
    assert row["prior_samples"].shape == (16, 3, 32, 32) and row["prior_samples"].dtype == np.uint8
    assert row["latent_map"].shape == (300, 2)
    pick = np.random.default_rng(0).permutation(300)
    with torch.no_grad():
        mu = run.net.eval().encode(torch.as_tensor(small_shapes.test_x[pick] / 255.0, dtype=torch.float32))[0]
    assert row["mig"] == pytest.approx(mig(mu.numpy(), small_shapes.test_factors[pick]).score, abs=1e-6)
    folder = save_run(run, "shapes-mine", tmp_path)
    m = models.load(folder)
    assert m.image_shape == (3, 32, 32) and m.card["dataset"]["name"] == "shapes"
    assert m.card["architecture"]["vae"]["args"]["image_channels"] == 3
    met = m.card["metrics"]
    assert 0 <= met["mig"] <= 1 and set(met["mig_per_factor"]) == {"shape", "colour", "size", "x", "y", "rotation"}
    assert [h["mig"] for h in m.card["training"]["history"]] == [r["mig"] for r in run.epochs]
    assert m.decode(m.sample(2, seed=0)).shape == (2, 3, 32, 32)


def test_mnist_runs_keep_the_shipped_architecture_arguments():
    d = load_dataset("mnist", source="shipped")
    d = dataclasses.replace(d, train_x=d.train_x[:64], train_y=d.train_y[:64])
    run = LabRun(LabConfig(epochs=1, batch_size=64), d)
    assert "image_size" not in run.arch and "image_channels" not in run.arch
    assert run.map_factors is None


def test_a_gan_trains_on_shapes_in_colour_without_a_classifier(small_shapes):
    run = LabRun(LabConfig(dataset="shapes", kind="gan", latent_dim=8, channels=4, epochs=1,
                           batch_size=100, lr=2e-4), small_shapes).run()
    row = run.epochs[-1]
    assert row["prior_samples"].shape == (16, 3, 32, 32)
    assert row["class_histogram"] is None and "mig" not in row          # no classifier, no encoder
    assert run.G(torch.zeros(1, 8)).shape == (1, 3, 32, 32)
