"""GAN inversion: find the latent code whose generated image best matches a given image.

A GAN has no encoder, so we optimise z directly: several random starts per image (restarts), all in
one batch, Adam on z through the frozen generator, pixel MSE plus a weak pull towards the prior's
typical shell (||z||^2 close to d) so that the code stays one the generator knows. The best restart
per image wins.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from .latent_model import LatentModel, as_images

Progress = Callable[[float, str], None]


@dataclass
class Inversion:
    z: np.ndarray              # (N, d) best code per image
    mse: np.ndarray            # (N,) pixel MSE of G(z) against the image
    restart_mse: np.ndarray    # (N, restarts) final MSE of every start, best first
    images: np.ndarray         # (N, 1, 28, 28) G(z)


def fit_codes(G, target: torch.Tensor, z: torch.Tensor, steps: int, lr: float = 0.1,
              prior_weight: float = 1e-3, weight: torch.Tensor | None = None,
              progress: Progress | None = None, what: str = "inverting",
              best_of=lambda mse: mse.min()) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Adam on the codes `z` (M, d) through the frozen generator `G` towards `target` (M or 1, 1, H, W):
    pixel MSE (weighted by `weight`, e.g. 1 on the pixels that count and 0 elsewhere) plus a weak
    pull towards the prior's typical shell. Returns the final codes, their images and each code's
    (weighted) MSE. Shared by inversion and GAN inpainting (playground/inpaint.py)."""
    w = torch.ones_like(target[:1]) if weight is None else weight
    per = w.flatten(1).sum(1)
    z = z.detach().clone().requires_grad_(True)
    opt = torch.optim.Adam([z], lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)

    def err(images):
        return ((images - target).pow(2) * w).flatten(1).sum(1) / per

    for step in range(steps):
        with torch.enable_grad():
            mse = err(G(z))
            shell = (z.pow(2).mean(1) - 1.0).pow(2)
            loss = (mse + prior_weight * shell).sum()
            (grad,) = torch.autograd.grad(loss, z)    # grads for z only: the shared G is untouched
        z.grad = grad
        opt.step()
        sched.step()
        if progress and (step % 10 == 9 or step == steps - 1):
            progress((step + 1) / steps, f"{what}: step {step + 1} of {steps}, "
                                         f"best MSE {float(best_of(mse.detach())):.4f}")
    with torch.inference_mode():
        zf = z.detach()
        out = G(zf)
        return zf, out, err(out)


def invert(model: LatentModel, x, restarts: int = 12, steps: int = 150, lr: float = 0.1,
           prior_weight: float = 1e-3, seed: int = 0, progress: Progress | None = None) -> Inversion:
    """Invert a GAN for each image in `x` (float32 (N, C, H, W) in [0, 1], the model's image shape)."""
    if model.kind != "gan":
        raise TypeError(f"{model.name} is a {model.kind}; inversion is for GANs (a VAE has an encoder)")
    if restarts < 1 or steps < 1:
        raise ValueError("restarts and steps must be at least 1")
    target = as_images(x, model.image_shape)
    n, d = target.shape[0], model.latent_dim
    G = model.modules["generator"]
    g = torch.Generator().manual_seed(seed)
    z0 = torch.randn(n * restarts, d, generator=g)
    tgt = target.repeat_interleave(restarts, 0)
    zf, out, mse = fit_codes(G, tgt, z0, steps, lr, prior_weight, progress=progress,
                             best_of=lambda m: m.view(n, restarts).min(1).values.mean())
    mse = mse.view(n, restarts)
    order = mse.argsort(1)
    best = order[:, 0] + torch.arange(n) * restarts
    return Inversion(z=zf[best].numpy(), mse=mse.gather(1, order[:, :1]).squeeze(1).numpy(),
                     restart_mse=mse.gather(1, order).numpy(), images=out[best].numpy())
