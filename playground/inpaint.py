"""Fill in missing parts of an image with a generative model (no Streamlit; torch, batched).

`known` is a bool (28, 28) mask, True where a pixel is kept. Every algorithm looks only at the
known pixels and returns completions whose known pixels are the image's own.

VAE (a decoder p(x|z) of independent Bernoulli pixels, a prior N(0, I), an encoder q(z|x)):

- `pseudo_gibbs`: z ~ q(z | x_known, x_missing), x_missing ~ p(x_missing | z), repeated
  (Rezende et al., 2014). Cheap, but its stationary law is not the posterior p(z | x_known).
- `metropolis_within_gibbs`: the same proposal, accepted with the Metropolis-Hastings ratio
  p(x_known|z') p(z') q(z|x̂) / (p(x_known|z) p(z) q(z'|x̂)), so the chain targets p(z | x_known)
  exactly (Mattei & Frellsen, 2018).
- `inpaint` / `complete` (the default): MAP codes of p(z | x_known) from several starts (the encoder's
  code of the clamped image and draws from the prior, all in one batch, Adam), then
  Metropolis-within-Gibbs chains started from the best of them. Codes are ranked by the model's own
  unnormalised log posterior on the known pixels, log p(x_known | z) + log p(z) - never by a
  classifier or the truth; the completions shown are distinct ones, best first, then the chains'
  last states. (`rank="iw"` - an importance-sampled mass of each code's mode - and `rank="laplace"`
  were measured too and scored no better; see bench/inpaint_quality.py.)

GAN (no encoder, no likelihood): masked latent optimisation - Adam on z to match the known pixels
(MSE) plus a weak pull to the prior's shell, many restarts in one batch, best MSE first.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

Progress = Callable[[float, str], None]
SIDE = 28
PRESETS = {
    "top": "Top half",
    "bottom": "Bottom half",
    "left": "Left half",
    "right": "Right half",
    "centre": "Centred square",
    "random": "50% of pixels at random",
}


# ---- masks --------------------------------------------------------------------------------------
def hidden_preset(name: str, seed: int = 0) -> np.ndarray:
    """The hidden part for a preset (True = hidden): a half, a centred 14x14 square, or 50% of the
    pixels at random (seeded: same seed, same pixels)."""
    h = np.zeros((SIDE, SIDE), bool)
    half = SIDE // 2
    if name == "top":
        h[:half] = True
    elif name == "bottom":
        h[half:] = True
    elif name == "left":
        h[:, :half] = True
    elif name == "right":
        h[:, half:] = True
    elif name == "centre":
        q = SIDE // 4
        h[q:SIDE - q, q:SIDE - q] = True
    elif name == "random":
        idx = np.random.default_rng(seed).permutation(SIDE * SIDE)[: SIDE * SIDE // 2]
        h.flat[idx] = True
    else:
        raise ValueError(f"unknown mask preset {name!r}; choose one of {', '.join(PRESETS)}")
    return h


def check(image, known) -> tuple[np.ndarray, np.ndarray]:
    """Validate an image and its mask; return them as float32 (28, 28) and bool (28, 28)."""
    x = np.asarray(image)
    k = np.asarray(known)
    if x.shape != (SIDE, SIDE):
        raise ValueError(f"image must have shape (28, 28); got {x.shape}")
    if k.shape != (SIDE, SIDE):
        raise ValueError(f"known must be a (28, 28) mask; got {k.shape}")
    if k.dtype != bool:
        raise ValueError(f"known must be a bool mask (True where the pixel is kept); got {k.dtype}")
    x = x.astype(np.float32)
    if not np.isfinite(x).all() or x.min() < 0 or x.max() > 1:
        raise ValueError("image must be finite values in [0, 1]")
    if k.all():
        raise ValueError("nothing is hidden: mask part of the image for the model to fill in")
    if not k.any():
        raise ValueError("nothing is known: keep part of the image (this would be plain sampling)")
    return x, k


def clamp(images, image, known) -> np.ndarray:
    """Put the known pixels of `image` back into every one of `images` (…, 28, 28)."""
    return np.where(known, image, images).astype(np.float32)


def masked_error(completions, truth, known) -> np.ndarray:
    """Mean squared error of each completion on the hidden pixels only."""
    hidden = ~np.asarray(known, bool)
    c = np.asarray(completions, np.float32).reshape(-1, SIDE, SIDE)
    return ((c - np.asarray(truth, np.float32)) ** 2)[:, hidden].mean(1)


# ---- results ------------------------------------------------------------------------------------
@dataclass
class Inpainting:
    images: np.ndarray                 # (n, 28, 28) completions, best first, known pixels kept
    z: np.ndarray                      # (n, d) the code each completion decodes from
    score: np.ndarray                  # (n,) the ranking score, higher is better (see `how`)
    how: str                           # what the score is, in words
    chains: np.ndarray | None = None   # (chains, steps + 1, d) the Markov chains' codes, if any
    accept: float | None = None        # Metropolis-Hastings acceptance rate of the chains
    extra: dict = field(default_factory=dict)


# ---- VAE pieces ---------------------------------------------------------------------------------
def _vae(model):
    if model.kind != "vae":
        raise TypeError(f"{model.name} is a {model.kind}; this needs a VAE")
    return model.modules["vae"]


def _tensors(image, known):
    x = torch.from_numpy(np.ascontiguousarray(image, np.float32)).view(1, 1, SIDE, SIDE)
    k = torch.from_numpy(np.ascontiguousarray(known)).view(1, 1, SIDE, SIDE).float()
    return x, k


def log_joint(vae, z, x, k) -> torch.Tensor:
    """log p(x_known | z) + log p(z) per code, up to a constant (Bernoulli pixels, N(0, I) prior)."""
    logits = vae.decode_logits(z)
    ll = -(F.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction="none") * k).flatten(1).sum(1)
    return ll - 0.5 * z.pow(2).sum(1)


def _log_normal(z, mu, logvar) -> torch.Tensor:
    return -0.5 * (((z - mu) ** 2) * torch.exp(-logvar) + logvar).sum(1)


@torch.inference_mode()
def _chains(vae, z0, x, k, steps: int, g: torch.Generator, metropolis: bool):
    """Run len(z0) chains in one batch. Returns codes (c, steps + 1, d), decoded means of the last
    state (c, 1, 28, 28) and the acceptance rate (1.0 for pseudo-Gibbs)."""
    z = z0.clone()
    lj = log_joint(vae, z, x, k)
    probs = torch.sigmoid(vae.decode_logits(z))
    path = [z.clone()]
    accepted = 0
    for _ in range(steps):
        xm = torch.bernoulli(probs, generator=g)                    # x_missing ~ p(x_missing | z)
        xhat = x * k + xm * (1 - k)
        mu, logvar = vae.encode(xhat)
        zp = mu + torch.randn(mu.shape, generator=g) * torch.exp(0.5 * logvar)
        if metropolis:
            ljp = log_joint(vae, zp, x, k)
            log_rho = ljp - lj + _log_normal(z, mu, logvar) - _log_normal(zp, mu, logvar)
            ok = torch.log(torch.rand(len(z), generator=g)) < log_rho
            z = torch.where(ok[:, None], zp, z)
            lj = torch.where(ok, ljp, lj)
            accepted += int(ok.sum())
        else:
            z = zp
            accepted += len(z)
        probs = torch.sigmoid(vae.decode_logits(z))
        path.append(z.clone())
    rate = accepted / max(1, steps * len(z))
    return torch.stack(path, 1), probs, rate


def _check_counts(**counts):
    for name, v in counts.items():
        if int(v) < 1:
            raise ValueError(f"{name} must be at least 1, not {v}")


def pseudo_gibbs(model, image, known, chains: int = 8, steps: int = 50, seed: int = 0) -> Inpainting:
    """Pseudo-Gibbs sampling: `chains` chains from the encoder's code of the clamped image (zeros
    where hidden). Completions: each chain's last state, in chain order (no ranking)."""
    return _sample(model, image, known, chains, steps, seed, metropolis=False)


def metropolis_within_gibbs(model, image, known, chains: int = 8, steps: int = 50,
                            seed: int = 0) -> Inpainting:
    """Metropolis-within-Gibbs (Mattei & Frellsen, 2018), same starts as `pseudo_gibbs`."""
    return _sample(model, image, known, chains, steps, seed, metropolis=True)


def _sample(model, image, known, chains, steps, seed, metropolis):
    vae = _vae(model)
    image, known = check(image, known)
    _check_counts(chains=chains, steps=steps)
    x, k = _tensors(image, known)
    g = torch.Generator().manual_seed(int(seed))
    with torch.inference_mode():
        mu, logvar = vae.encode(x * k)
        z0 = mu + torch.randn((chains, mu.shape[1]), generator=g) * torch.exp(0.5 * logvar)
    path, probs, rate = _chains(vae, z0, x, k, steps, g, metropolis)
    with torch.inference_mode():
        score = log_joint(vae, path[:, -1], x, k)
    return Inpainting(images=clamp(probs[:, 0].numpy(), image, known), z=path[:, -1].numpy(),
                      score=score.numpy(), chains=path.numpy(), accept=rate,
                      how="log p(x_known | z) + log p(z) of the chain's last code (nats, up to a constant)")


def map_codes(model, image, known, z0, steps: int = 100, lr: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Adam from each start z0 (r, d) towards the maximum of log p(x_known | z) + log p(z).
    Returns the codes (r, d) and their log joint (r,)."""
    vae = _vae(model)
    image, known = check(image, known)
    x, k = _tensors(image, known)
    z, lj = _map(vae, torch.as_tensor(np.asarray(z0, np.float32)), x, k, steps, lr)
    return z.numpy(), lj.numpy()


def _map(vae, z0, x, k, steps, lr, progress=None, share=(0.0, 1.0)):
    z = z0.clone().requires_grad_(True)
    opt = torch.optim.Adam([z], lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    for step in range(steps):
        with torch.enable_grad():
            loss = -log_joint(vae, z, x, k).sum()
            (grad,) = torch.autograd.grad(loss, z)      # grads for z only: the shared model is untouched
        z.grad = grad
        opt.step()
        sched.step()
        if progress and (step % 10 == 9 or step == steps - 1):
            progress(share[0] + share[1] * (step + 1) / steps, f"fitting codes to the known pixels: step {step + 1} of {steps}")
    with torch.inference_mode():
        zf = z.detach()
        return zf, log_joint(vae, zf, x, k)


def _log_volume(vae, z, x, k) -> torch.Tensor:
    """-1/2 log det of the Gauss-Newton Hessian of -log p(x_known, z) at each code: with the log
    joint, a Laplace estimate of the posterior mass around the code (up to a shared constant)."""
    d = z.shape[1]

    def logits_of(zz):
        return vae.decode_logits(zz.unsqueeze(0)).flatten()

    with torch.enable_grad():
        jac = torch.func.vmap(torch.func.jacfwd(logits_of))(z.detach())        # (r, 784, d)
    with torch.inference_mode():
        p = torch.sigmoid(vae.decode_logits(z)).flatten(1)
        w = p * (1 - p) * k.flatten(1)
        h = torch.einsum("rpi,rp,rpj->rij", jac, w, jac) + torch.eye(d)
        return -0.5 * torch.logdet(h)


# ---- the default: MAP + Metropolis-within-Gibbs, ranked by the model --------------------------
def mode_mass(vae, z, x, k, samples: int, g: torch.Generator):
    """Importance-sampled log posterior mass around each code z (r, d), up to a shared constant:
    log mean_j p(x_known, z_j) / q(z_j | x̂), z_j ~ q(z | x̂), where x̂ is the image completed by z
    and q the encoder. Returns (log mass (r,), mean completion under the weights (r, 1, 28, 28))."""
    with torch.inference_mode():
        r, d = z.shape
        xhat = x * k + torch.sigmoid(vae.decode_logits(z)) * (1 - k)
        mu, logvar = vae.encode(xhat)
        eps = torch.randn((samples, r, d), generator=g)
        zs = (mu + eps * torch.exp(0.5 * logvar)).reshape(-1, d)
        mu_s, lv_s = mu.repeat(samples, 1), logvar.repeat(samples, 1)
        logits = vae.decode_logits(zs)
        ll = -(F.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction="none") * k).flatten(1).sum(1)
        logw = (ll - 0.5 * zs.pow(2).sum(1) - _log_normal(zs, mu_s, lv_s)).view(samples, r)
        mass = torch.logsumexp(logw, 0) - np.log(samples)
        w = torch.softmax(logw, 0)                                           # (samples, r)
        mean = (w[:, :, None, None, None] * torch.sigmoid(logits).view(samples, r, 1, SIDE, SIDE)).sum(0)
        return mass, mean


def complete(model, image, known, n: int = 8, seed: int = 0, *, restarts: int = 16, steps: int = 100,
             chains: int = 4, chain_steps: int = 30, distinct: float = 0.02, rank: str = "joint",
             samples: int = 32, picture: str = "map", encoder_start: bool = True,
             progress: Progress | None = None) -> Inpainting:
    """`n` completions of `image` where `known` is False, best first (see the module's docstring)."""
    image, known = check(image, known)
    _check_counts(n=n, restarts=restarts, steps=steps)
    if model.kind == "gan":
        return _gan(model, image, known, n, seed, restarts, steps, distinct, progress)
    vae = _vae(model)
    x, k = _tensors(image, known)
    g = torch.Generator().manual_seed(int(seed))
    d = model.latent_dim
    with torch.inference_mode():
        mu, logvar = vae.encode(x * k)
        prior = torch.randn((restarts, d), generator=g)
        z0 = torch.cat([mu, prior])[:restarts] if encoder_start else prior
    z, lj = _map(vae, z0, x, k, steps, 0.1, progress, (0.0, 0.7 if chains else 1.0))
    with torch.inference_mode():
        probs = torch.sigmoid(vae.decode_logits(z))
    if rank == "iw":
        score, mean = mode_mass(vae, z, x, k, samples, g)
        if picture == "mean":
            probs = mean
    elif rank == "laplace":
        score = lj + _log_volume(vae, torch.tensor(z.numpy()), x, k)
    else:
        score = lj
    path, rate = None, None
    pool_z, pool_s, pool_p = z, score, probs
    if chains and chain_steps:
        order = score.argsort(descending=True)
        if progress:
            progress(0.75, f"Metropolis-within-Gibbs: {chains} chains of {chain_steps} steps")
        path, last, rate = _chains(vae, z[order[:chains]], x, k, chain_steps, g, metropolis=True)
        # the chains' last states: plausible completions drawn from p(z | x_known), ranked after the modes
        tail = score.min() - 1 - torch.arange(len(last), dtype=score.dtype)
        pool_z, pool_s, pool_p = torch.cat([z, path[:, -1]]), torch.cat([score, tail]), torch.cat([probs, last])
    images = clamp(pool_p[:, 0].numpy(), image, known)
    pick = _distinct(images, pool_s.numpy(), known, n, distinct)
    if progress:
        progress(1.0, "done")
    how = {"iw": "log posterior mass of the completion's mode, importance-sampled with the encoder",
           "laplace": "log p(x_known | z) + log p(z) + Laplace volume",
           "joint": "log p(x_known | z) + log p(z)"}[rank] + " (nats, up to a constant)"
    return Inpainting(images=images[pick], z=pool_z.numpy()[pick], score=pool_s.numpy()[pick], how=how,
                      chains=None if path is None else path.numpy(), accept=rate)


def _distinct(images, score, known, n, min_mse) -> np.ndarray:
    """Indices of up to `n` completions, best score first, each differing from every one already
    taken by a hidden-pixel MSE of at least `min_mse`; topped up with the next best if too few."""
    hidden = ~known
    order = np.argsort(-score, kind="stable")
    taken: list[int] = []
    for i in order:
        if len(taken) == n:
            break
        if all(((images[i] - images[j]) ** 2)[hidden].mean() >= min_mse for j in taken):
            taken.append(int(i))
    for i in order:                       # too few distinct ones: the next best, in order
        if len(taken) == n:
            break
        if i not in taken:
            taken.append(int(i))
    if len(taken) < n:                    # fewer candidates than n: repeat the best ones
        taken += [taken[j % len(taken)] for j in range(n - len(taken))]
    return np.array(taken[:n])


def _gan(model, image, known, n, seed, restarts, steps, distinct, progress, prior_weight=1e-3):
    from models.inversion import fit_codes
    x, k = _tensors(image, known)
    g = torch.Generator().manual_seed(int(seed))
    r = max(restarts, n)
    z0 = torch.randn((r, model.latent_dim), generator=g)
    zf, out, mse = fit_codes(model.modules["generator"], x, z0, steps, 0.1, prior_weight, weight=k,
                             progress=progress, what=f"fitting {r} codes to the known pixels")
    out = out[:, 0]
    images = clamp(out.numpy(), image, known)
    pick = _distinct(images, -mse.numpy(), known, n, distinct)
    return Inpainting(images=images[pick], z=zf.numpy()[pick], score=-mse.numpy()[pick],
                      how="minus the MSE on the known pixels")


def inpaint(model, image, known, n: int = 8, seed: int = 0) -> np.ndarray:
    """float32 (n, 28, 28) completions of `image` (float32 (28, 28) in [0, 1]) where `known` (bool
    (28, 28)) is False, best first; the known pixels are unchanged. VAE or GAN."""
    return complete(model, image, known, n=n, seed=seed).images


def hidden_from_strokes(paint, threshold: float = 0.15) -> np.ndarray:
    """A painted mask -> hidden (28, 28) bool: `paint` is a grayscale array in [0, 1] whose sides
    are multiples of 28 (the drawing pad's 280 x 280); a cell is hidden when the share of it painted
    exceeds `threshold`."""
    a = np.asarray(paint, np.float32)
    if a.ndim != 2 or a.shape[0] % SIDE or a.shape[1] % SIDE or not a.size:
        raise ValueError(f"a painted mask must be 2-D with sides that are multiples of 28; got {a.shape}")
    fy, fx = a.shape[0] // SIDE, a.shape[1] // SIDE
    return a.reshape(SIDE, fy, SIDE, fx).mean((1, 3)) > threshold


def shown_masked(image, known, shade: float = 0.35) -> np.ndarray:
    """The image as the model sees it, for display: hidden pixels drawn as a flat grey."""
    return np.where(known, image, shade).astype(np.float32)
