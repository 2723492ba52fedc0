"""playground.inpaint on cases with known answers (issue 13: fill in missing parts)."""
import numpy as np
import pytest
import torch

import models
from playground import inpaint as ip


@pytest.fixture(scope="module")
def vae():
    return models.load("mnist-vae")


@pytest.fixture(scope="module")
def gan():
    return models.load("mnist-gan")


def digit(i=0):
    return models.reference("mnist")[0][i].astype(np.float32) / 255.0


# ---- masks ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, rows, cols", [("top", slice(0, 14), slice(None)), ("bottom", slice(14, 28), slice(None)),
                                              ("left", slice(None), slice(0, 14)), ("right", slice(None), slice(14, 28)),
                                              ("centre", slice(7, 21), slice(7, 21))])
def test_presets_hide_exactly_their_region(name, rows, cols):
    expected = np.zeros((28, 28), bool)
    expected[rows, cols] = True
    np.testing.assert_array_equal(ip.hidden_preset(name), expected)


def test_random_preset_hides_half_the_pixels_reproducibly():
    a, b, c = ip.hidden_preset("random", 1), ip.hidden_preset("random", 1), ip.hidden_preset("random", 2)
    assert a.sum() == 392 and c.sum() == 392
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()


def test_unknown_preset_is_named():
    with pytest.raises(ValueError, match="unknown mask preset 'diagonal'"):
        ip.hidden_preset("diagonal")


def test_painted_strokes_hide_the_cells_they_cover():
    paint = np.zeros((280, 280), np.float32)
    paint[0:30, 0:20] = 1.0                      # 3 x 2 cells fully painted
    paint[100:101, 100:110] = 1.0                # a hairline: 10% of one cell, under the threshold
    hidden = ip.hidden_from_strokes(paint)
    expected = np.zeros((28, 28), bool)
    expected[0:3, 0:2] = True
    np.testing.assert_array_equal(hidden, expected)
    with pytest.raises(ValueError, match="multiples of 28"):
        ip.hidden_from_strokes(np.zeros((100, 100)))


# ---- bad input -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("image, known, message", [
    (np.zeros((28, 27), np.float32), np.ones((28, 28), bool), r"image must have shape \(28, 28\)"),
    (np.zeros((1, 28, 28), np.float32), np.ones((28, 28), bool), r"image must have shape \(28, 28\)"),
    (np.zeros((28, 28), np.float32), np.ones((14, 28), bool), r"known must be a \(28, 28\) mask"),
    (np.zeros((28, 28), np.float32), np.ones((28, 28), np.uint8), "known must be a bool mask"),
    (np.full((28, 28), 2.0, np.float32), ~ip.hidden_preset("top"), r"finite values in \[0, 1\]"),
    (np.full((28, 28), np.nan, np.float32), ~ip.hidden_preset("top"), r"finite values in \[0, 1\]"),
    (np.zeros((28, 28), np.float32), np.ones((28, 28), bool), "nothing is hidden"),
    (np.zeros((28, 28), np.float32), np.zeros((28, 28), bool), "nothing is known"),
])
def test_bad_input_is_refused_with_the_reason(vae, image, known, message):
    with pytest.raises(ValueError, match=message):
        ip.inpaint(vae, image, known)


def test_counts_must_be_positive(vae):
    with pytest.raises(ValueError, match="n must be at least 1"):
        ip.inpaint(vae, digit(), ~ip.hidden_preset("top"), n=0)
    with pytest.raises(ValueError, match="chains must be at least 1"):
        ip.metropolis_within_gibbs(vae, digit(), ~ip.hidden_preset("top"), chains=0)


def test_a_classifier_cannot_fill_in():
    with pytest.raises(TypeError, match="needs a VAE"):
        ip.inpaint(models.load("mnist-classifier"), digit(), ~ip.hidden_preset("top"))


# ---- pure pieces ---------------------------------------------------------------------------------------

def test_masked_error_counts_only_hidden_pixels():
    truth = np.zeros((28, 28), np.float32)
    known = ~ip.hidden_preset("bottom")
    c = np.stack([np.where(known, 0.9, 1.0), np.where(known, 0.0, 0.5)]).astype(np.float32)
    np.testing.assert_allclose(ip.masked_error(c, truth, known), [1.0, 0.25])


def test_log_joint_is_bernoulli_on_known_pixels_plus_gaussian_prior(vae):
    net = vae.modules["vae"]
    x = digit(3)
    known = ~ip.hidden_preset("left")
    z = vae.sample(2, seed=4)
    xt, kt = torch.from_numpy(x).view(1, 1, 28, 28), torch.from_numpy(known).view(1, 1, 28, 28).float()
    with torch.inference_mode():
        got = ip.log_joint(net, torch.from_numpy(z), xt, kt).numpy()
        logits = net.decode_logits(torch.from_numpy(z))[:, 0].double().numpy()
    log_p, log_1mp = -np.logaddexp(0, -logits), -np.logaddexp(0, logits)     # log sigmoid, log (1 - sigmoid)
    ll = (x * log_p + (1 - x) * log_1mp)[:, known].sum(1)
    np.testing.assert_allclose(got, ll - 0.5 * (z.astype(np.float64) ** 2).sum(1), rtol=1e-4)


def test_distinct_takes_best_first_and_skips_near_copies():
    known = ~ip.hidden_preset("bottom")
    base = np.zeros((28, 28), np.float32)
    imgs = np.stack([base, base + 0.01, np.where(known, 0, 1.0), np.where(known, 0, 0.5)]).astype(np.float32)
    score = np.array([5.0, 4.0, 3.0, 1.0])
    # #1 is a near copy of #0 (MSE 1e-4): the distinct ones come first, the copy tops up the list
    np.testing.assert_array_equal(ip._distinct(imgs, score, known, 3, 0.02), [0, 2, 3])
    np.testing.assert_array_equal(ip._distinct(imgs, score, known, 4, 0.02), [0, 2, 3, 1])
    np.testing.assert_array_equal(ip._distinct(imgs, score, known, 6, 0.02), [0, 2, 3, 1, 0, 2])


# ---- the API: known pixels kept, known answers filled in ------------------------------------------------

def test_vae_fills_in_an_image_it_can_make_itself(vae):
    """An image the decoder makes from a code: the known half pins the code down, so the best
    completion restores the hidden half (far closer than zeros or the encoder's first guess)."""
    z = vae.sample(1, seed=7, temperature=0.7)
    truth = vae.decode(z)[0, 0]
    known = ~ip.hidden_preset("bottom")
    out = ip.inpaint(vae, truth, known, n=8, seed=0)
    assert out.dtype == np.float32 and out.shape == (8, 28, 28)
    np.testing.assert_array_equal(out[:, known], np.broadcast_to(truth[known], (8, known.sum())))
    err = ip.masked_error(out, truth, known)
    zeros_err = ip.masked_error(np.where(known, truth, 0)[None], truth, known)[0]
    assert err[0] < 0.1 * zeros_err, (err, zeros_err)
    assert err[0] < 0.005


def test_vae_completions_are_ranked_by_the_models_own_score(vae):
    x, known = digit(1), ~ip.hidden_preset("top")
    res = ip.complete(vae, x, known, n=6, seed=1, restarts=8, steps=40, chains=2, chain_steps=5)
    assert res.score[0] == res.score.max()
    # the score is the log joint of the shown code: recompute it from the code
    net = vae.modules["vae"]
    xt, kt = torch.from_numpy(x).view(1, 1, 28, 28), torch.from_numpy(known).view(1, 1, 28, 28).float()
    with torch.inference_mode():
        again = ip.log_joint(net, torch.from_numpy(res.z[:1]), xt, kt).numpy()
    np.testing.assert_allclose(res.score[0], again[0], rtol=1e-5)
    np.testing.assert_allclose(res.images[0][~known], vae.decode(res.z[:1])[0, 0][~known], atol=1e-6)
    assert res.chains.shape == (2, 6, 16)
    same = ip.complete(vae, x, known, n=6, seed=1, restarts=8, steps=40, chains=2, chain_steps=5)
    np.testing.assert_array_equal(res.images, same.images)


def test_an_ambiguous_half_gets_several_distinct_completions(vae):
    """The top half of a 7 could also end as a 9 or a 1: the completions differ where hidden."""
    images, labels = models.reference("mnist")
    x = images[np.flatnonzero(labels == 7)[0]].astype(np.float32) / 255
    known = ~ip.hidden_preset("bottom")
    out = ip.inpaint(vae, x, known, n=4, seed=0)
    d = [((out[i] - out[j]) ** 2)[~known].mean() for i in range(4) for j in range(i)]
    assert min(d) >= 0.02, d


@pytest.mark.parametrize("metropolis", [True, False])
def test_gibbs_chains_keep_known_pixels_and_metropolis_repeats_rejected_codes(vae, metropolis):
    x, known = digit(2), ~ip.hidden_preset("right")
    run = ip.metropolis_within_gibbs if metropolis else ip.pseudo_gibbs
    res = run(vae, x, known, chains=3, steps=12, seed=0)
    assert res.images.shape == (3, 28, 28) and res.chains.shape == (3, 13, 16)
    np.testing.assert_array_equal(res.images[:, known], np.broadcast_to(x[known], (3, known.sum())))
    np.testing.assert_array_equal(res.z, res.chains[:, -1])
    moved = (np.abs(np.diff(res.chains, axis=1)).max(2) > 0)
    if metropolis:
        assert 0 <= res.accept < 1 and np.isclose(moved.mean(), res.accept)
    else:
        assert res.accept == 1.0 and moved.all()


def test_gan_fills_in_an_image_it_can_make_itself(gan):
    z = gan.sample(1, seed=3)
    truth = gan.decode(z)[0, 0]
    known = ~ip.hidden_preset("left")
    res = ip.complete(gan, truth, known, n=4, seed=0)
    assert res.images.dtype == np.float32 and res.images.shape == (4, 28, 28)
    np.testing.assert_array_equal(res.images[:, known], np.broadcast_to(truth[known], (4, known.sum())))
    assert list(res.score) == sorted(res.score, reverse=True) or res.score[0] == res.score.max()
    err = ip.masked_error(res.images, truth, known)
    zeros_err = ip.masked_error(np.where(known, truth, 0)[None], truth, known)[0]
    assert err[0] < 0.3 * zeros_err, (err, zeros_err)


def test_gan_fits_only_the_known_pixels_whatever_lies_under_the_hidden_ones(gan):
    """The hidden pixels of the image given are not evidence: filled with white, the completion
    still finds the GAN's own image (a fit that counted them chased the white instead)."""
    z = gan.sample(1, seed=3)
    truth = gan.decode(z)[0, 0]
    known = ~ip.hidden_preset("left")
    res = ip.complete(gan, np.where(known, truth, 1.0).astype(np.float32), known, n=4, seed=0)
    err = ip.masked_error(res.images, truth, known)
    zeros_err = ip.masked_error(np.where(known, truth, 0)[None], truth, known)[0]
    assert err[0] < 0.3 * zeros_err, (err, zeros_err)


@pytest.mark.parametrize("name", ["mnist-vae2d", "fashion-mnist-vae"])
def test_every_vae_keeps_the_known_pixels(name):
    m = models.load(name)
    x = models.reference(m.dataset)[0][5].astype(np.float32) / 255
    known = ~ip.hidden_preset("centre")
    out = ip.inpaint(m, x, known, n=3, seed=0)
    assert out.shape == (3, 28, 28) and out.dtype == np.float32
    np.testing.assert_array_equal(out[:, known], np.broadcast_to(x[known], (3, known.sum())))
    assert (out[:, ~known] >= 0).all() and (out[:, ~known] <= 1).all()
