"""How well a VAE has learned the shapes data: held-out ELBO, reconstruction, the colour it gives
back, and which latent dimension follows which factor (MIG). Used by scripts/train_shapes.py for the
card, by the Train page for a saved run, and by the tests."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from . import shapes
from .disentangle import mig

ACTIVE_KL = 0.01           # nats: a dimension with less KL than this carries no information


def colour_recovered(originals: np.ndarray, recons: np.ndarray) -> float:
    """Share of images whose reconstruction, averaged over the shape's own pixels, is nearest in
    RGB to the shape's true colour among the palette. originals uint8 (N, 3, H, W), recons float
    (N, 3, H, W) in [0, 1], factors' colour implied by the originals' palette colour."""
    palette = np.asarray(list(shapes.COLOURS.values()), np.float64) / 255.0
    o = np.asarray(originals, np.float64) / 255.0
    mask = o.max(1) > 0.5                                          # the shape's inside
    n = np.maximum(mask.sum((1, 2)), 1)[:, None]
    true = (o * mask[:, None]).sum((2, 3)) / n
    got = (np.asarray(recons, np.float64) * mask[:, None]).sum((2, 3)) / n
    nearest = lambda c: ((c[:, None] - palette[None]) ** 2).sum(2).argmin(1)   # noqa: E731
    return float((nearest(true) == nearest(got)).mean())


@torch.inference_mode()
def codes_and_losses(net, images: np.ndarray, batch_size: int = 500, seed: int = 0) -> dict:
    """Posterior means, per-dimension KL and losses of a ConvVAE over uint8 images (N, 3, H, W)."""
    g = torch.Generator().manual_seed(seed)
    mus, kls, recs, mses, outs = [], [], [], [], []
    for i in range(0, len(images), batch_size):
        x = torch.as_tensor(images[i:i + batch_size].astype(np.float32) / 255.0)
        mu, logvar = net.encode(x)
        z = net.reparameterise(mu, logvar, generator=g)
        logits = net.decode_logits(z)
        recs.append(F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum((1, 2, 3)))
        kls.append(0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar))
        mean_img = torch.sigmoid(net.decode_logits(mu))
        mses.append(((mean_img - x) ** 2).mean((1, 2, 3)))
        mus.append(mu)
        outs.append(mean_img)
    return dict(mu=torch.cat(mus).numpy(), kl=torch.cat(kls).numpy(), rec=torch.cat(recs).numpy(),
                mse=torch.cat(mses).numpy(), recon=torch.cat(outs).numpy())


def evaluate(net, images: np.ndarray, factors: np.ndarray) -> dict:
    """The card's metrics on held-out shapes: plain floats and lists, rounded for JSON."""
    r = codes_and_losses(net, images)
    kl_dim = r["kl"].mean(0)
    m = mig(r["mu"], factors)
    return dict(
        test_neg_elbo_nats=round(float((r["rec"] + r["kl"].sum(1)).mean()), 3),
        test_reconstruction_nats=round(float(r["rec"].mean()), 3),
        test_kl_nats=round(float(r["kl"].sum(1).mean()), 3),
        test_recon_mse=round(float(r["mse"].mean()), 5),
        active_latent_dims=int((kl_dim > ACTIVE_KL).sum()),
        kl_per_dim_nats=[round(float(v), 4) for v in kl_dim],
        n_test=int(len(images)),
        colour_recovered=round(colour_recovered(images, r["recon"]), 4),
        mig=round(m.score, 4),
        mig_per_factor=m.per_factor(shapes.FACTORS),
        mig_best_dims={f: int(d) for f, d in zip(shapes.FACTORS, m.best_dims)},
    )
