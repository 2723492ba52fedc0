"""models.factors and models.shapes_eval: the reference set's factors, the factor analysis of a
VAE's codes, traversals, and the 'colour kept' figure."""
import numpy as np
import pytest
import torch

import models
from models import shapes
from models.architectures import ConvVAE
from models.factors import analyse, reference_factors, traversal
from models.latent_model import LatentModel
from models.shapes_eval import colour_recovered


def test_reference_factors_are_the_shapes_and_none_for_other_data():
    factors, names = reference_factors("shapes")
    assert names == shapes.FACTORS and factors.shape == (2000, 6)
    assert reference_factors("mnist") is None and reference_factors("no-such-data") is None


def test_reference_factors_that_do_not_fit_the_images_say_so(tmp_path):
    (tmp_path / "reference").mkdir()
    np.savez(tmp_path / "reference" / "bad.npz", images=np.zeros((3, 3, 8, 8), np.uint8),
             labels=np.zeros(3, int), factors=np.zeros((2, 6), int), factor_names=np.array(shapes.FACTORS))
    with pytest.raises(ValueError, match="factors must be integers"):
        reference_factors("bad", tmp_path)


def test_colour_kept_counts_images_whose_reconstruction_keeps_the_palette_colour():
    images = shapes.render(np.array([[0, c, 3, 3, 3, 0] for c in range(6)]))
    x = images / 255.0
    assert colour_recovered(images, x) == 1.0
    assert colour_recovered(images, np.roll(x, 1, axis=0)) == 0.0          # every colour swapped
    grey = x.mean(1, keepdims=True).repeat(3, 1)
    assert colour_recovered(images, grey) <= 0.5                            # grey keeps few


def test_analysis_and_traversal_of_a_vae():
    torch.manual_seed(0)
    net = ConvVAE(latent_dim=3, channels=4, hidden=16, image_channels=3, image_size=32).eval()
    card = dict(kind="vae", latent_dim=3, image_shape=[3, 32, 32], class_names=list(shapes.SHAPES),
                dataset=dict(name="shapes"))
    m = LatentModel("tiny", card, {"vae": net})
    images, _ = models.reference("shapes")
    factors, names = reference_factors("shapes")
    a = analyse(m, images[:300], factors[:300], names)
    assert a.mi.shape == (3, 6) and len(a.order) == 3 and 0 <= a.score <= 1
    assert list(a.kl[a.order]) == sorted(a.kl, reverse=True)
    z0 = np.zeros(3, np.float32)
    grid = traversal(m, z0, [2, 0], np.array([-1.0, 0.0, 1.0], np.float32))
    assert grid.shape == (6, 3, 32, 32)
    np.testing.assert_allclose(grid[1], m.decode(z0[None])[0], atol=1e-6)    # value 0 = the start
    expect = m.decode(np.array([[1.0, 0, 0]], np.float32))[0]
    np.testing.assert_allclose(grid[5], expect, atol=1e-6)                   # row 2 moves z1
