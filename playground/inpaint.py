"""Fill in missing parts of an image with a generative model (no Streamlit; torch, batched).

Any image shape a model has: `image` is laid out as reference sets store it, (H, W) for a grey
model and (3, H, W) for a colour one (`model.image_shape` = (C, H, W)); `known` is a bool (H, W)
mask, True where a pixel (all its channels) is kept. Every algorithm looks only at the known pixels
and returns completions in the image's layout, (n, H, W) or (n, 3, H, W), whose known pixels are
the image's own.

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

A model brought as an adapter file (`models.adapters`) gives decoded images and posterior means
only: no decoder likelihood, no encoder variance, no gradients. Of the above only the encoder and
decoder are left, so an adapter VAE gets `encode_decode` (pseudo-Gibbs with the posterior mean in
place of a draw: x_missing <- decode(encode(x)), repeated from several starts, ranked by the MSE on
the known pixels); `methods(model)` says which methods a model can use and, in words, why not the
others.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from models.adapters import is_adapter

Progress = Callable[[float, str], None]
SIDE = 28                      # the shipped checkpoints' side (the default mask size)
PAD = 280                      # the brush pad's longest side in screen pixels
PRESETS = {
    "top": "Top half",
    "bottom": "Bottom half",
    "left": "Left half",
    "right": "Right half",
    "centre": "Centred square",
    "random": "50% of pixels at random",
}


# ---- masks --------------------------------------------------------------------------------------
def hidden_preset(name: str, seed: int = 0, size: tuple[int, int] = (SIDE, SIDE)) -> np.ndarray:
    """The hidden part (True = hidden) of an image of `size` (height, width) for a preset: a half,
    a centred square of half the shorter side, or 50% of the pixels at random (seeded: same seed,
    same pixels)."""
    rows, cols = (int(v) for v in size)
    h = np.zeros((rows, cols), bool)
    if name == "top":
        h[:rows // 2] = True
    elif name == "bottom":
        h[rows // 2:] = True
    elif name == "left":
        h[:, :cols // 2] = True
    elif name == "right":
        h[:, cols // 2:] = True
    elif name == "centre":
        side = min(rows, cols) // 2
        t, l = (rows - side) // 2, (cols - side) // 2
        h[t:t + side, l:l + side] = True
    elif name == "random":
        idx = np.random.default_rng(seed).permutation(rows * cols)[: rows * cols // 2]
        h.flat[idx] = True
    else:
        raise ValueError(f"unknown mask preset {name!r}; choose one of {', '.join(PRESETS)}")
    return h


def image_layout(shape) -> tuple[int, ...]:
    """The layout of one image of a model of `shape` (C, H, W): (H, W) grey, (3, H, W) colour."""
    c, h, w = (int(v) for v in shape)
    return (h, w) if c == 1 else (c, h, w)


def check(image, known, shape=(1, SIDE, SIDE)) -> tuple[np.ndarray, np.ndarray]:
    """Validate an image and its mask for a model of `shape` (C, H, W); return them as float32
    (H, W) or (3, H, W) and bool (H, W)."""
    x = np.asarray(image)
    k = np.asarray(known)
    want = image_layout(shape)
    if x.shape != want:
        raise ValueError(f"image must have shape {want}; got {x.shape}")
    if k.shape != want[-2:]:
        raise ValueError(f"known must be a {want[-2:]} mask; got {k.shape}")
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
    """Put the known pixels (all channels) of `image` back into every one of `images` (…, H, W)."""
    return np.where(known, image, images).astype(np.float32)


def masked_error(completions, truth, known) -> np.ndarray:
    """Mean squared error of each completion on the hidden pixels only (over their channels too)."""
    hidden = ~np.asarray(known, bool)
    t = np.asarray(truth, np.float32)
    c = np.asarray(completions, np.float32).reshape(-1, *t.shape)
    return ((c - t) ** 2)[..., hidden].reshape(len(c), -1).mean(1)


# ---- results ------------------------------------------------------------------------------------
@dataclass
class Inpainting:
    images: np.ndarray                 # (n, H, W) or (n, 3, H, W) completions, best first, known pixels kept
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
    if "vae" not in model.modules:
        raise TypeError(f"{model.name} is an adapter: {ADAPTER_VAE_WHY}")
    return model.modules["vae"]


def _tensors(image, known):
    """(1, C, H, W) image and (1, 1, H, W) float mask (it broadcasts over the channels)."""
    k = np.ascontiguousarray(known)
    x = torch.from_numpy(np.ascontiguousarray(image, np.float32)).view(1, -1, *k.shape)
    return x, torch.from_numpy(k).view(1, 1, *k.shape).float()


def _layout(images: np.ndarray, image: np.ndarray) -> np.ndarray:
    """(n, C, H, W) -> the image's layout: (n, H, W) grey, (n, 3, H, W) colour."""
    return images.reshape(len(images), *image.shape)


# ---- which methods a model can use ----------------------------------------------------------
ADAPTER_VAE_WHY = ("an adapter gives decoded images and posterior means only - no decoder "
                   "likelihood, no encoder variance and no gradients - so the methods that need "
                   "them (best codes by gradient ascent, Metropolis-within-Gibbs, pseudo-Gibbs with "
                   "sampled codes) cannot run")
ADAPTER_GAN_WHY = ("an adapter GAN gives decoded images only: masked latent optimisation needs "
                   "gradients through the generator, which an adapter file does not give")


def methods(model) -> tuple[list[str], str]:
    """The method names a model can use on the page, and (when some are missing) why, in words;
    no methods at all means the model cannot fill in."""
    adapter = is_adapter(model)
    if model.kind == "vae":
        if adapter:
            return ["Iterative encode-decode"], ADAPTER_VAE_WHY + "; what is left is iterative encode-decode."
        return ["Best codes + Metropolis-within-Gibbs", "Metropolis-within-Gibbs", "Pseudo-Gibbs"], ""
    if model.kind == "gan":
        return ([], ADAPTER_GAN_WHY) if adapter else (["Masked latent optimisation"], "")
    return [], f"{model.name} is a {model.kind}: it has no decoder"


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
    state (c, C, H, W) and the acceptance rate (1.0 for pseudo-Gibbs)."""
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
    image, known = check(image, known, model.image_shape)
    _check_counts(chains=chains, steps=steps)
    x, k = _tensors(image, known)
    g = torch.Generator().manual_seed(int(seed))
    with torch.inference_mode():
        mu, logvar = vae.encode(x * k)
        z0 = mu + torch.randn((chains, mu.shape[1]), generator=g) * torch.exp(0.5 * logvar)
    path, probs, rate = _chains(vae, z0, x, k, steps, g, metropolis)
    with torch.inference_mode():
        score = log_joint(vae, path[:, -1], x, k)
    return Inpainting(images=clamp(_layout(probs.numpy(), image), image, known), z=path[:, -1].numpy(),
                      score=score.numpy(), chains=path.numpy(), accept=rate,
                      how="log p(x_known | z) + log p(z) of the chain's last code (nats, up to a constant)")


def map_codes(model, image, known, z0, steps: int = 100, lr: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Adam from each start z0 (r, d) towards the maximum of log p(x_known | z) + log p(z).
    Returns the codes (r, d) and their log joint (r,)."""
    vae = _vae(model)
    image, known = check(image, known, model.image_shape)
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
        w = p * (1 - p) * k.expand(1, *x.shape[1:]).flatten(1)
        h = torch.einsum("rpi,rp,rpj->rij", jac, w, jac) + torch.eye(d)
        return -0.5 * torch.logdet(h)


# ---- the default: MAP + Metropolis-within-Gibbs, ranked by the model --------------------------
def mode_mass(vae, z, x, k, samples: int, g: torch.Generator):
    """Importance-sampled log posterior mass around each code z (r, d), up to a shared constant:
    log mean_j p(x_known, z_j) / q(z_j | x̂), z_j ~ q(z | x̂), where x̂ is the image completed by z
    and q the encoder. Returns (log mass (r,), mean completion under the weights (r, C, H, W))."""
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
        mean = (w[:, :, None, None, None] * torch.sigmoid(logits).view(samples, r, *x.shape[1:])).sum(0)
        return mass, mean


def complete(model, image, known, n: int = 8, seed: int = 0, *, restarts: int = 16, steps: int = 100,
             chains: int = 4, chain_steps: int = 30, distinct: float = 0.02, rank: str = "joint",
             samples: int = 32, picture: str = "map", encoder_start: bool = True,
             progress: Progress | None = None) -> Inpainting:
    """`n` completions of `image` where `known` is False, best first (see the module's docstring)."""
    image, known = check(image, known, model.image_shape)
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
    images = clamp(_layout(pool_p.numpy(), image), image, known)
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
        if all(((images[i] - images[j]) ** 2)[..., hidden].mean() >= min_mse for j in taken):
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
    if "generator" not in model.modules:
        raise TypeError(f"{model.name}: {ADAPTER_GAN_WHY}")
    x, k = _tensors(image, known)
    g = torch.Generator().manual_seed(int(seed))
    r = max(restarts, n)
    z0 = torch.randn((r, model.latent_dim), generator=g)
    weight = k.expand_as(x).contiguous()          # every channel of a known pixel counts once
    zf, out, mse = fit_codes(model.modules["generator"], x, z0, steps, 0.1, prior_weight, weight=weight,
                             progress=progress, what=f"fitting {r} codes to the known pixels")
    images = clamp(_layout(out.numpy(), image), image, known)
    pick = _distinct(images, -mse.numpy(), known, n, distinct)
    return Inpainting(images=images[pick], z=zf.numpy()[pick], score=-mse.numpy()[pick],
                      how="minus the MSE on the known pixels")


def encode_decode(model, image, known, chains: int = 8, steps: int = 30, seed: int = 0) -> Inpainting:
    """Iterative encode-decode, for a VAE that gives only `encode` (the posterior mean) and `decode`
    (an adapter): pseudo-Gibbs with the mean in place of a draw. Chain 0 starts from the encoder's
    code of the image with its hidden pixels zeroed, the others from prior draws (seeded); each step
    decodes, puts the known pixels back and encodes again. Ranked by minus the MSE of the decoded
    image on the known pixels (there is no likelihood to rank by)."""
    if model.kind != "vae":
        raise TypeError(f"{model.name} is a {model.kind}; this needs a VAE")
    image, known = check(image, known, model.image_shape)
    _check_counts(chains=chains, steps=steps)
    c, h, w = model.image_shape
    x = image.reshape(1, c, h, w)
    z = np.concatenate([model.encode(np.where(known, x, 0).astype(np.float32)),
                        model.sample(chains, seed=seed)])[:chains].astype(np.float32)
    path = [z]
    for _ in range(steps):
        xhat = np.where(known, x, model.decode(z)).astype(np.float32)
        z = np.asarray(model.encode(xhat), np.float32)
        path.append(z)
    out = model.decode(z)
    score = -((out - x) ** 2 * known).reshape(chains, -1).sum(1) / (c * known.sum())
    order = np.argsort(-score, kind="stable")
    chains_path = np.stack(path, 1)[order]
    return Inpainting(images=clamp(_layout(out, image), image, known)[order], z=z[order], score=score[order],
                      chains=chains_path, how="minus the MSE of the decoded image on the known pixels")


def inpaint(model, image, known, n: int = 8, seed: int = 0) -> np.ndarray:
    """float32 completions, (n, H, W) or (n, 3, H, W), of `image` (float32 (H, W) grey or (3, H, W)
    colour, in [0, 1]) where `known` (bool (H, W)) is False, best first; the known pixels are
    unchanged. VAE or GAN."""
    return complete(model, image, known, n=n, seed=seed).images


def pad_size(size: tuple[int, int] = (SIDE, SIDE), longest: int = PAD) -> tuple[int, int]:
    """The brush pad's canvas (height, width) in screen pixels for images of `size` (H, W): the
    largest whole multiple of each side whose longer side is at most `longest` (the image's aspect
    kept exactly, so every cell is the same square of screen pixels)."""
    h, w = (int(v) for v in size)
    f = max(1, longest // max(h, w))
    return h * f, w * f


def hidden_from_strokes(paint, threshold: float = 0.15, size: tuple[int, int] = (SIDE, SIDE)) -> np.ndarray:
    """A painted mask -> hidden (H, W) bool for images of `size` (H, W): `paint` is a grayscale
    array in [0, 1] whose height and width are multiples of H and W (the drawing pad's canvas,
    `pad_size`); a cell is hidden when the share of it painted exceeds `threshold`."""
    rows, cols = (int(v) for v in size)
    a = np.asarray(paint, np.float32)
    if a.ndim != 2 or a.shape[0] % rows or a.shape[1] % cols or not a.size:
        what = f"{rows}" if rows == cols else f"{rows} (height) and {cols} (width)"
        raise ValueError(f"a painted mask must be 2-D with sides that are multiples of {what}; got {a.shape}")
    fy, fx = a.shape[0] // rows, a.shape[1] // cols
    return a.reshape(rows, fy, cols, fx).mean((1, 3)) > threshold


def shown_masked(image, known, shade: float = 0.35) -> np.ndarray:
    """The image as the model sees it, for display: hidden pixels drawn as a flat grey."""
    return np.where(known, image, shade).astype(np.float32)
