"""Metrics written into model cards and recomputed by `python -m models.evaluate`.

All classifier-based metrics use the data set's own small CNN (`<dataset>-classifier`), so the
Inception Score and Fréchet distance here are *classifier-based* versions, comparable only within a
data set; each GAN figure is printed beside the same figure for held-out real images (the floor).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .latent_model import LatentModel


def _batches(n: int, size: int):
    for i in range(0, n, size):
        yield slice(i, min(n, i + size))


@torch.inference_mode()
def vae_losses(vae: torch.nn.Module, x: torch.Tensor, beta: float = 1.0,
               generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """Per-image reconstruction (Bernoulli NLL, nats), KL (nats) and per-dimension KL, one z sample."""
    mu, logvar = vae.encode(x)
    z = vae.reparameterise(mu, logvar, generator)
    logits = vae.decode_logits(z)
    rec = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
    kl_dim = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)
    kl = kl_dim.sum(1)
    return dict(rec=rec, kl=kl, kl_dim=kl_dim, loss=rec + beta * kl)


@torch.inference_mode()
def vae_metrics(model: LatentModel, x: np.ndarray, y: np.ndarray,
                classifier: LatentModel | None = None, batch_size: int = 500) -> dict:
    vae = model.modules["vae"]
    g = torch.Generator().manual_seed(0)
    xt = torch.as_tensor(x)
    rec, kl, kl_dim, mse, recons = [], [], [], [], []
    for s in _batches(len(xt), batch_size):
        out = vae_losses(vae, xt[s], generator=g)
        rec.append(out["rec"]); kl.append(out["kl"]); kl_dim.append(out["kl_dim"])
        r = torch.sigmoid(vae.decode_logits(vae.encode(xt[s])[0]))       # decode the posterior mean
        mse.append((r - xt[s]).pow(2).flatten(1).mean(1))
        recons.append(r.numpy())
    rec, kl, mse = torch.cat(rec), torch.cat(kl), torch.cat(mse)
    kl_per_dim = torch.cat(kl_dim).mean(0)
    m = dict(
        test_neg_elbo_nats=round(float((rec + kl).mean()), 3),
        test_reconstruction_nats=round(float(rec.mean()), 3),
        test_kl_nats=round(float(kl.mean()), 3),
        test_recon_mse=round(float(mse.mean()), 5),
        active_latent_dims=int((kl_per_dim > 0.01).sum()),
        kl_per_dim_nats=[round(float(v), 4) for v in kl_per_dim],
        n_test=int(len(x)),
    )
    if classifier is not None:
        pred = classifier.predict_proba(np.concatenate(recons)).argmax(1)
        m["recon_class_accuracy"] = round(float((pred == y).mean()), 4)
        m["original_class_accuracy"] = round(float((classifier.predict_proba(x).argmax(1) == y).mean()), 4)
    return m


def inception_score(probs: np.ndarray) -> float:
    """exp(E_x KL(p(y|x) || p(y))) over the given class probabilities."""
    p = np.clip(probs, 1e-12, 1.0)
    py = p.mean(0, keepdims=True)
    return float(np.exp((p * (np.log(p) - np.log(py))).sum(1).mean()))


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (as in FID)."""
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # tr sqrt(S1 S2) = sum of sqrt of the eigenvalues of S1 S2 (real and >= 0 for PSD S1, S2)
    eig = np.linalg.eigvals(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(eig.clip(0)).sum())


def _gan_samples(model: LatentModel, classifier: LatentModel, n: int, seed: int):
    """`n` images from the prior (seeded), their class probabilities and the class-balance figures."""
    z = model.sample(n, seed=seed)
    fake = np.concatenate([model.decode(z[s]) for s in _batches(n, 1000)])
    probs = classifier.predict_proba(fake)
    votes = np.bincount(probs.argmax(1), minlength=len(classifier.class_names)) / n
    figures = dict(
        n_samples=n,
        class_share=[round(float(v), 4) for v in votes],
        min_class_share=round(float(votes.min()), 4),
        max_class_share=round(float(votes.max()), 4),
        inception_score=round(inception_score(probs), 3),
        mean_confidence=round(float(probs.max(1).mean()), 4),
    )
    return fake, figures


def gan_metrics(model: LatentModel, classifier: LatentModel, real_train: np.ndarray,
                real_test: np.ndarray, n: int = 10_000, seed: int = 0) -> dict:
    """Class balance of 10k samples (mode collapse check), classifier-IS and feature-FID,
    each beside the same figure for held-out real images. FD is measured against `n` training
    images; "real" is the held-out split against the same training images (needs the data sets)."""
    fake, m = _gan_samples(model, classifier, n, seed)
    ref = real_train[np.random.default_rng(seed).permutation(len(real_train))[:n]]
    f_ref, f_fake, f_test = (classifier.features(a) for a in (ref, fake, real_test))
    m.update(
        inception_score_real_test=round(inception_score(classifier.predict_proba(real_test)), 3),
        frechet_distance=round(frechet_distance(f_fake, f_ref), 3),
        frechet_distance_real_test=round(frechet_distance(f_test, f_ref), 3),
    )
    if "discriminator" in model.modules:
        m["discriminator_real_mean"] = round(float(model.discriminate(real_test[:2000]).mean()), 4)
        m["discriminator_fake_mean"] = round(float(model.discriminate(fake[:2000]).mean()), 4)
    return m


def gan_reference_metrics(model: LatentModel, classifier: LatentModel, real: np.ndarray,
                          n: int = 10_000, seed: int = 0) -> dict:
    """The GAN figures that need only held-out images (the shipped reference set), no training data.

    Class shares, IS and confidence: the same 10k seeded samples as `gan_metrics` (same figures).
    "Real" IS: the whole of `real`. FD: the reference set is split in two halves (even and odd
    rows); FD is as many samples as the first half against the second half, "real" is the first
    half against the second, so both carry the same small-sample bias and "real" is the floor."""
    fake, m = _gan_samples(model, classifier, n, seed)
    half_a, half_b = real[0::2], real[1::2]
    f_a, f_b, f_fake = (classifier.features(a) for a in (half_a, half_b, fake[:len(half_a)]))
    m.update(
        inception_score_real_test=round(inception_score(classifier.predict_proba(real)), 3),
        frechet_distance=round(frechet_distance(f_fake, f_b), 3),
        frechet_distance_real_test=round(frechet_distance(f_a, f_b), 3),
        n_frechet=int(len(half_a)),
    )
    return m


def classifier_metrics(model: LatentModel, x: np.ndarray, y: np.ndarray) -> dict:
    pred = model.predict_proba(x).argmax(1)
    per_class = [round(float((pred[y == c] == c).mean()), 4) if (y == c).any() else None
                 for c in range(len(model.class_names))]
    return dict(test_accuracy=round(float((pred == y).mean()), 4), per_class_accuracy=per_class,
                n_test=int(len(x)))


# ---- precision and recall (Kynkäänniemi et al., 2019) ------------------------------------------

def _as_features(a, what: str) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"{what} must be a 2-D array (samples, features); got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{what} holds NaN or infinite values")
    return a


def _sq_dist(q: np.ndarray, s: np.ndarray, s_sq: np.ndarray) -> np.ndarray:
    return np.maximum((q * q).sum(1)[:, None] - 2.0 * (q @ s.T) + s_sq[None], 0.0)


def knn_radii(x: np.ndarray, k: int = 3, max_cells: int = 1 << 22) -> np.ndarray:
    """Squared distance from each row of `x` to its k-th nearest other row (itself excluded).

    Vectorised in blocks of rows, so at most `max_cells` distances exist at once (32 MB)."""
    x = np.asarray(x, np.float64)
    sq = (x * x).sum(1)
    out = np.empty(len(x))
    step = max(1, max_cells // max(len(x), 1))
    for s in _batches(len(x), step):
        d2 = _sq_dist(x[s], x, sq)
        d2[np.arange(d2.shape[0]), np.arange(s.start, s.stop)] = -1.0   # self sorts first, never counted
        out[s] = np.partition(d2, k, axis=1)[:, k]
    return out


def manifold_coverage(centres: np.ndarray, radii_sq: np.ndarray, queries: np.ndarray,
                      max_cells: int = 1 << 22) -> np.ndarray:
    """For each query row: does it lie in at least one ball (centre, radius) of the k-NN manifold?

    A point on a ball's surface counts as inside; a relative slack of 1e-9 of the data's squared
    scale absorbs the rounding of the distance expansion (so a copy of a centre is always inside)."""
    c_sq = (centres * centres).sum(1)
    slack = 1e-9 * max(float(c_sq.max(initial=0.0)), float((queries * queries).sum(1).max(initial=0.0)), 1e-30)
    inside = np.empty(len(queries), bool)
    step = max(1, max_cells // max(len(centres), 1))
    for s in _batches(len(queries), step):
        inside[s] = (_sq_dist(queries[s], centres, c_sq) <= radii_sq[None] + slack).any(1)
    return inside


def precision_recall(real_features, fake_features, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall of generated samples (Kynkäänniemi et al., 2019).

    Each set's manifold is the union of balls around its points, each reaching that point's k-th
    nearest neighbour in the same set. Precision: the share of fake samples inside the real
    manifold (are the samples realistic?). Recall: the share of real samples inside the fake
    manifold (does the model cover the variety of the data?). Both in [0, 1].

    >>> real = [[0.0], [1.0], [2.0], [3.0]]
    >>> precision_recall(real, [[0.5], [1.5], [40.0], [41.0]], k=1)
    (0.5, 0.75)
    """
    real = _as_features(real_features, "real_features")
    fake = _as_features(fake_features, "fake_features")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer; got {k!r}")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"real and fake features differ in size: {real.shape[1]} against {fake.shape[1]}")
    for what, a in (("real_features", real), ("fake_features", fake)):
        if len(a) <= k:
            raise ValueError(f"{what} has {len(a)} rows: the k-NN manifold with k = {k} needs at least {k + 1}")
    precision = manifold_coverage(real, knn_radii(real, k), fake).mean()
    recall = manifold_coverage(fake, knn_radii(fake, k), real).mean()
    return float(precision), float(recall)


def class_coverage(probs: np.ndarray, min_share: float | None = None) -> float:
    """The share of classes that get at least `min_share` of the classifier's votes (default: half an
    even share, 1 / (2 C)). 1.0: every class is made; 1 / C: only one (mode collapse)."""
    probs = np.asarray(probs)
    if probs.ndim != 2 or not len(probs):
        raise ValueError(f"probs must be a non-empty (samples, classes) array; got shape {probs.shape}")
    c = probs.shape[1]
    share = np.bincount(probs.argmax(1), minlength=c) / len(probs)
    return float((share >= (0.5 / c if min_share is None else min_share)).mean())


def split_halves(real: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The reference set's two halves (even rows, odd rows), as `gan_reference_metrics` splits it:
    samples are judged against the odd half; the even half against the odd is the real ceiling."""
    return real[0::2], real[1::2]


@torch.inference_mode()
def judge(classifier: LatentModel, x: np.ndarray, batch_size: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """The classifier's features and class probabilities of images `x` in one pass through its body
    (the same figures as `classifier.features(x)` and `classifier.predict_proba(x)`)."""
    net = classifier.modules.get("classifier")
    if not (hasattr(net, "body") and hasattr(net, "head")):
        return classifier.features(x), classifier.predict_proba(x)
    feats, probs = [], []
    for s in _batches(len(x), batch_size):
        f = net.body(torch.as_tensor(np.ascontiguousarray(x[s], np.float32)))
        feats.append(f.numpy()); probs.append(torch.softmax(net.head(f), 1).numpy())
    return np.concatenate(feats), np.concatenate(probs)


def quality_figures(real_features: np.ndarray, features: np.ndarray, probs: np.ndarray, k: int = 3) -> dict:
    """Precision, recall, FD, IS and class coverage of a set of images (their classifier features
    and class probabilities) against real images' features."""
    precision, recall = precision_recall(real_features, features, k)
    return dict(precision=round(precision, 4), recall=round(recall, 4),
                frechet_distance=round(frechet_distance(features, real_features), 3),
                inception_score=round(inception_score(probs), 3),
                class_coverage=round(class_coverage(probs), 4))


def sample_quality(model: LatentModel, classifier: LatentModel, real_features: np.ndarray, n: int,
                   *, seed: int = 0, temperature: float = 1.0, truncation: float | None = None,
                   k: int = 3) -> dict:
    """`quality_figures` of `n` seeded prior samples at one temperature and truncation (the codes
    of `model.sample`), in `classifier`'s feature space against `real_features`."""
    z = model.sample(n, seed=seed, temperature=temperature, truncation=truncation)
    fake = np.concatenate([model.decode(z[s]) for s in _batches(n, 1000)])
    return quality_figures(real_features, *judge(classifier, fake), k)


def real_quality(classifier: LatentModel, real: np.ndarray, k: int = 3) -> tuple[np.ndarray, dict]:
    """The odd half of `real`'s features (what samples are judged against) and the figures of the
    even half against it: what a perfect model gets with this many images (the real ceiling)."""
    half_a, half_b = split_halves(real)
    f_b, _ = judge(classifier, half_b)
    return f_b, quality_figures(f_b, *judge(classifier, half_a), k)


def reference_precision_recall(model: LatentModel, classifier: LatentModel, real: np.ndarray,
                               seed: int = 0, k: int = 3) -> dict:
    """The card's precision and recall: as many seeded prior samples (temperature 1, no truncation)
    as the odd half of `real`, against that half; "real": the even half against the odd half, the
    figure a perfect model would get with this many images (sampling noise only). With too few
    reference images for two k-NN manifolds, a note says so instead (a small folder of your own)."""
    if len(real) // 2 <= k:
        return dict(precision_recall_not_measured=f"{len(real)} reference images: precision and recall "
                                                  f"with k = {k} need at least {2 * (k + 1)}")
    f_b, ceiling = real_quality(classifier, real, k)
    got = sample_quality(model, classifier, f_b, len(f_b), seed=seed, k=k)
    return dict(precision=got["precision"], recall=got["recall"], precision_real_test=ceiling["precision"],
                recall_real_test=ceiling["recall"], precision_recall_k=k, n_precision_recall=int(len(f_b)))
