"""playground.anomaly: scores with known answers (hand-made VAEs whose ELBO is exact, planted odd
images, the other data set, noise) and the helpers' edge cases."""
import math

import numpy as np
import pytest
import torch

import models
from models.latent_model import LatentModel
from playground import anomaly
from playground.uploads import encode_images

N = 300          # reference images per set in these tests (the bench uses all of them)


@pytest.fixture(scope="module")
def mnist_vae():
    return models.load("mnist-vae")


@pytest.fixture(scope="module")
def fashion_vae():
    return models.load("fashion-mnist-vae")


def ref(dataset: str, n: int = N) -> np.ndarray:
    return models.reference(dataset)[0][:n, None].astype(np.float32) / 255


class ConstantVAE(torch.nn.Module):
    """Posterior N(mu, exp(logvar)) for every image; decoder logits `logit` for every pixel."""

    def __init__(self, d: int, mu: float = 0.0, logvar: float = 0.0, logit: float = 0.0):
        super().__init__()
        self.d, self.mu, self.logvar, self.logit = d, mu, logvar, logit

    def encode(self, x):
        n = len(x)
        return torch.full((n, self.d), self.mu), torch.full((n, self.d), self.logvar)

    def decode_logits(self, z):
        return torch.full((len(z), 1, 28, 28), self.logit)


def constant_model(d=4, kind="vae", **kw) -> LatentModel:
    return LatentModel("const", {"kind": kind, "latent_dim": d}, {"vae": ConstantVAE(d, **kw)})


# ---- exact answers ---------------------------------------------------------------------------------

def test_neg_elbo_of_a_constant_decoder_is_784_ln2_plus_the_kl():
    x = np.random.default_rng(0).random((5, 1, 28, 28), dtype=np.float32)
    # logits 0: p = 1/2 for every pixel, so -log p(x|z) = 784 ln 2 whatever x is; q = prior: KL = 0
    assert np.allclose(anomaly.neg_elbo(constant_model(), x, samples=3), 784 * math.log(2))
    # q = N(1, 1) in each of 4 dimensions: KL = 4 * 1/2
    assert np.allclose(anomaly.neg_elbo(constant_model(mu=1.0), x), 784 * math.log(2) + 2.0, atol=1e-4)
    # KL(N(0, e^-2) || N(0, 1)) = 1/2 (e^-2 - 1 + 2) per dimension
    kl = 4 * 0.5 * (math.exp(-2) - 1 + 2)
    assert np.allclose(anomaly.neg_elbo(constant_model(logvar=-2.0), x), 784 * math.log(2) + kl, atol=1e-4)


def test_importance_weighted_bound_is_exact_when_q_is_the_prior_and_tighter_otherwise():
    x = np.zeros((3, 1, 28, 28), np.float32)
    # q = p(z) and p(x|z) does not depend on z: every weight is p(x), so the bound is exact
    assert np.allclose(anomaly.neg_elbo(constant_model(), x, samples=8, importance=True), 784 * math.log(2))
    # q = N(1, 1): the IWAE bound lies between -log p(x) and the ELBO
    m = constant_model(mu=1.0)
    iw = anomaly.neg_elbo(m, x, samples=64, importance=True)
    assert (iw < anomaly.neg_elbo(m, x, samples=64) - 0.5).all()
    assert (iw >= 784 * math.log(2) - 1e-3).all()


def test_neg_elbo_agrees_with_the_model_cards_measure(mnist_vae):
    from models.metrics import vae_losses
    x = ref("mnist", 1000)
    ours = anomaly.neg_elbo(mnist_vae, x, samples=4)
    out = vae_losses(mnist_vae.modules["vae"], torch.as_tensor(x), generator=torch.Generator().manual_seed(1))
    theirs = (out["rec"] + out["kl"]).numpy()
    assert abs(ours.mean() - theirs.mean()) < 1.0          # two estimates of the same mean -ELBO
    assert np.corrcoef(ours, theirs)[0, 1] > 0.95          # ... image by image


def test_entropy_floor_and_png_bits():
    blank, grey = np.zeros((1, 1, 28, 28), np.float32), np.full((1, 1, 28, 28), 0.5, np.float32)
    assert anomaly.entropy_floor(blank)[0] == 0.0
    assert anomaly.entropy_floor(np.ones_like(blank))[0] == 0.0
    assert anomaly.entropy_floor(grey)[0] == pytest.approx(784 * math.log(2))
    noise = np.random.default_rng(0).random((1, 1, 28, 28), dtype=np.float32)
    bits = anomaly.png_bits(np.concatenate([blank, grey, noise]))
    assert (bits % 8 == 0).all()
    assert max(bits[:2]) < 8 * 100                          # flat images compress to almost nothing
    assert bits[2] > 784 * 8 * 0.9                          # noise does not compress


def test_excess_is_the_elbo_above_the_floor_and_zero_for_a_perfect_decoder():
    x = np.full((2, 1, 28, 28), 0.5, np.float32)
    # logits 0 reproduce 0.5 exactly and q = prior: nothing is paid above the floor
    assert np.allclose(anomaly.scores(constant_model(), x, "excess"), 0.0, atol=1e-3)


def test_recon_matches_the_encode_pages_error(mnist_vae):
    x = ref("mnist", 50)
    assert np.allclose(anomaly.scores(mnist_vae, x), encode_images(mnist_vae, x[:, 0]).mse, rtol=1e-5)


def test_score_table_gives_the_same_values_as_each_score(mnist_vae):
    x = ref("mnist", 40)
    table = anomaly.score_table(mnist_vae, x)
    assert set(table) == set(anomaly.SCORES)
    for s in anomaly.SCORES:
        assert np.allclose(table[s], anomaly.scores(mnist_vae, x, s), rtol=1e-6), s
    assert anomaly.score_table(constant_model(kind="gan"), x) == {}


# ---- in-distribution images score lower --------------------------------------------------------------

def test_mnist_model_scores_its_own_digits_lower_than_fashion_and_noise(mnist_vae):
    own, other = ref("mnist"), ref("fashion-mnist")
    noise = np.random.default_rng(1).random((50, 1, 28, 28), dtype=np.float32)
    for s in anomaly.SCORES:
        a = anomaly.scores(mnist_vae, own, s)
        assert a.shape == (N,) and a.dtype == np.float64
        vs_noise = anomaly.roc_auc(a, anomaly.scores(mnist_vae, noise, s))
        vs_other = anomaly.roc_auc(a, anomaly.scores(mnist_vae, other, s))
        if s == "complexity":   # PNG overshoots here: it charges for grey levels the likelihood ignores
            assert vs_noise < 0.5 and vs_other < 0.5, (vs_noise, vs_other)   # (the page says so)
        else:
            assert vs_noise > 0.99 and vs_other > 0.95, (s, vs_noise, vs_other)


def test_fashion_model_likelihood_prefers_mnist_but_the_corrected_scores_do_not(fashion_vae):
    """Nalisnick et al. (2019) in miniature: the ELBO ranks the unfamiliar digits as more typical."""
    table_in, table_out = anomaly.score_table(fashion_vae, ref("fashion-mnist")), \
        anomaly.score_table(fashion_vae, ref("mnist"))
    auc = {s: anomaly.roc_auc(table_in[s], table_out[s]) for s in anomaly.SCORES}
    assert auc["elbo"] < 0.6
    assert auc["complexity"] > 0.95 and auc["excess"] > 0.95 and auc["recon"] > 0.95


@pytest.mark.parametrize("score", anomaly.SCORES)
def test_a_planted_odd_image_ranks_first(mnist_vae, score):
    x = ref("mnist", 60).copy()
    x[17] = ref("fashion-mnist", 1)[0]             # a shirt among digits
    order = anomaly.most_unusual(anomaly.scores(mnist_vae, x, score), 3)
    if score == "complexity":
        assert 17 not in order                     # the shirt is complex, so the PNG correction hides it
    else:
        assert order[0] == 17


def test_gan_reconstruction_error_by_inversion_flags_noise():
    g = models.load("mnist-gan")
    x = np.concatenate([ref("mnist", 2), np.random.default_rng(0).random((1, 1, 28, 28), dtype=np.float32)])
    err = anomaly.scores(g, x, restarts=2, steps=40)
    assert err.shape == (3,) and err.argmax() == 2 and err[2] > 3 * err[:2].max()
    assert anomaly.available_scores(g) == ("recon",)
    with pytest.raises(TypeError, match="needs a VAE"):
        anomaly.scores(g, x, "elbo")


# ---- input checks and helpers ---------------------------------------------------------------------------

def test_bad_input_is_refused_with_a_clear_message(mnist_vae):
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        anomaly.scores(mnist_vae, np.zeros((2, 3, 28, 28), np.float32))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        anomaly.scores(mnist_vae, np.full((1, 1, 28, 28), 255, np.float32))
    with pytest.raises(ValueError, match="finite"):
        anomaly.scores(mnist_vae, np.full((1, 1, 28, 28), np.nan, np.float32), "elbo")
    with pytest.raises(ValueError, match="unknown score 'nll'"):
        anomaly.scores(mnist_vae, ref("mnist", 1), "nll")
    with pytest.raises(ValueError, match="samples"):
        anomaly.neg_elbo(mnist_vae, ref("mnist", 1), samples=0)
    for s in anomaly.SCORES:
        assert anomaly.scores(mnist_vae, np.zeros((0, 1, 28, 28), np.float32), s).shape == (0,)


def test_roc_auc_most_unusual_and_percentile_rank():
    assert anomaly.roc_auc([0, 1, 2], [3, 4]) == 1.0
    assert anomaly.roc_auc([3, 4], [0, 1, 2]) == 0.0
    assert anomaly.roc_auc([1, 1], [1, 1]) == 0.5
    with pytest.raises(ValueError, match="at least one"):
        anomaly.roc_auc([], [1.0])
    assert anomaly.most_unusual([0.1, 5.0, 2.0, 5.0], 3).tolist() == [1, 3, 2]
    assert anomaly.most_unusual([1.0], 0).tolist() == []
    assert anomaly.percentile_rank([0.0, 2.5, 10.0], [1, 2, 3, 4]).tolist() == [0.0, 50.0, 100.0]
    with pytest.raises(ValueError, match="no reference"):
        anomaly.percentile_rank([1.0], [])


def test_score_map_colours_each_point_by_its_score_and_refuses_mismatched_sets():
    from playground.anomaly_figures import colour_range, score_map

    values = np.r_[np.linspace(0, 1, 999), 1000.0]          # one extreme value
    lo, hi = colour_range(values)
    assert lo == pytest.approx(np.percentile(values, 1)) and hi < 2       # the outlier does not set the scale
    assert colour_range(np.ones(5))[1] > colour_range(np.ones(5))[0]     # a flat score still has a range
    y, labels = np.random.default_rng(0).random((1000, 2)), np.arange(1000) % 10
    fig = score_map(y, values, labels, [str(c) for c in range(10)], score_label="s", unit="u", highlight=[999, 3])
    assert np.allclose(fig.data[0].marker.color, values)
    assert list(fig.data[1].customdata) == [999, 3] and list(fig.data[1].text) == ["1", "2"]
    with pytest.raises(ValueError, match="same images"):
        score_map(y, values[:500], labels, [str(c) for c in range(10)], score_label="s", unit="u")


# ---- any size (issue 10): a reference set scored in batches of at most 32 MB of pixels --------------

class BigAdapterVAE:
    """A stand-in adapter VAE of 3 x 128 x 128 images that records the float32 bytes of each batch
    it encodes; it reconstructs every image as flat grey 0.5."""
    kind, latent_dim, image_shape, name = "vae", 2, (3, 128, 128), "big-adapter"
    card = {"kind": "vae", "source": {"type": "adapter"}}

    def __init__(self):
        self.batches = []

    def encode(self, x):
        self.batches.append(x.nbytes)
        return np.zeros((len(x), 2), np.float32)

    def decode(self, z):
        return np.broadcast_to(np.float32(0.5), (len(z), 3, 128, 128))


def test_a_128x128_rgb_reference_set_is_scored_within_the_byte_budget():
    """Spot anomalies scores up to 5,000 reference images; at 3 x 128 x 128 they are 983 MB as
    float32 at once (500 at a time: 98 MB). Given as stored (uint8), they are converted and scored
    a batch of at most 32 MB at a time, every image once, in order."""
    from models.adapters import MAX_REFERENCE
    from playground.batches import BATCH_BYTES
    shade = (np.arange(MAX_REFERENCE) % 256).astype(np.uint8)
    images = np.broadcast_to(shade[:, None, None, None], (MAX_REFERENCE, 3, 128, 128))   # no memory
    m = BigAdapterVAE()
    table = anomaly.score_table(m, images)
    assert max(m.batches) <= BATCH_BYTES == 2 ** 25, [b / 2 ** 20 for b in m.batches[:3]]
    assert len(m.batches) > 1 and sum(m.batches) == images.size * 4
    assert list(table) == ["recon"]
    np.testing.assert_allclose(table["recon"], (shade / 255 - 0.5) ** 2, rtol=1e-4, atol=1e-7)


def test_a_set_scored_in_batches_as_stored_gives_the_values_of_one_go(mnist_vae, monkeypatch):
    """Images as stored (uint8), scored 37 at a time, give every score of the float images scored
    in one go: each batch gets its own rows of the set's ELBO noise, not a fresh draw."""
    from playground import batches
    stored = models.reference("mnist")[0][:100]
    whole = anomaly.score_table(mnist_vae, stored.astype(np.float32)[:, None] / 255, seed=3)
    monkeypatch.setattr(batches, "BATCH_BYTES", 37 * 784 * 4)
    assert anomaly._step(mnist_vae) == 37
    for images in (stored, stored[:, None]):                   # grey as (N, H, W) and (N, 1, H, W)
        table = anomaly.score_table(mnist_vae, images, seed=3)
        assert list(table) == list(anomaly.SCORES)
        for s in anomaly.SCORES:
            np.testing.assert_allclose(table[s], whole[s], rtol=1e-5, atol=1e-4, err_msg=s)


def test_the_encode_pages_reference_errors_are_measured_within_the_byte_budget():
    """The errors an upload is ranked against (the Encode page; Spot anomalies' flag): every
    reference image of a VAE, converted and reconstructed a batch of at most 32 MB at a time (all
    5,000 at once were 983 MB as float32, and as much again decoded), every image once, in order."""
    from models.adapters import MAX_REFERENCE
    from playground.batches import BATCH_BYTES
    from playground.uploads import reference_errors
    shade = (np.arange(MAX_REFERENCE) % 256).astype(np.uint8)
    images = np.broadcast_to(shade[:, None, None, None], (MAX_REFERENCE, 3, 128, 128))
    m = BigAdapterVAE()
    err = reference_errors(m, images)
    assert max(m.batches) <= BATCH_BYTES and sum(m.batches) == images.size * 4, m.batches[:3]
    np.testing.assert_allclose(err, (shade / 255 - 0.5) ** 2, rtol=1e-4, atol=1e-7)
