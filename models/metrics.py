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
