"""Anomaly scores: how unusual a model finds each image (pure: numpy, torch and the models API).

Three scores, each higher meaning more unusual:

- ``"recon"``: pixel MSE between an image and its reconstruction. A VAE decodes its posterior mean
  (as the Encode page does); a GAN has no encoder, so it is inverted by optimisation
  (`models.inversion.invert`, about a second per image on this CPU) and its best match is used.
- ``"elbo"`` (VAE only): the negative evidence lower bound, -log p(x|z) + KL(q(z|x) || p(z)) in nats,
  with the decoder's own likelihood (Bernoulli on each pixel, the loss it was trained with in
  `models/train.py`) averaged over `samples` draws of z; ``importance=True`` gives the tighter
  importance-weighted bound (Burda et al., 2016). An upper bound on -log p(x).
- ``"complexity"`` (VAE only): Serrà et al. (2020): -ELBO in bits minus the length in bits of the
  image compressed by a generic compressor (PNG). Likelihood alone is dominated by how simple an
  image is (Nalisnick et al., 2019: a Fashion-MNIST model finds MNIST's mostly-black digits *more*
  likely than its own clothes); subtracting what any compressor would pay for the image leaves what
  is specific to this model. PNG stores every grey level exactly, which the Bernoulli likelihood
  does not pay for, so this correction can overshoot (it does for the MNIST VAE against Fashion).
- ``"excess"`` (VAE only): the same idea with the likelihood's own compressor: -ELBO minus the
  least any Bernoulli decoder could pay for this image, its per-pixel entropy sum_i H(x_i) (the
  cross-entropy of a perfect reconstruction). What is left is the nats the model pays above that
  floor: a KL divergence, >= 0 up to the ELBO's sampling noise.

Any image shape (C, H, W) a model has: the Bernoulli likelihood and the entropy floor sum over all
C * H * W values, the PNG is grey or RGB as the image is. A model brought as an adapter file gives
only `encode` (the posterior mean) and `decode`: its score is the reconstruction error alone (the
others need the decoder's logits and the encoder's variance), and an adapter GAN has none (inversion
needs gradients through the generator).

`scores(model, images)` is the entry point; `roc_auc` measures how well a score separates two sets.
"""
from __future__ import annotations

import io
import math

import numpy as np
import torch
import torch.nn.functional as F

from models.adapters import is_adapter   # noqa: F401  (the views call anomaly.is_adapter)
from models.latent_model import IMAGE_SHAPE, as_images, stored_to_input
from playground.batches import images_per_batch

SCORES = ("recon", "elbo", "complexity", "excess")
LABELS = {
    "recon": "Reconstruction error (pixel MSE)",
    "elbo": "−ELBO (nats)",
    "complexity": "Complexity-corrected −ELBO (bits − PNG bits)",
    "excess": "−ELBO above the image's own entropy floor (nats)",
}
SHORT = {"recon": "recon error", "elbo": "−ELBO", "complexity": "PNG-corrected",
         "excess": "above the floor"}          # table columns
UNITS = {"recon": "MSE", "elbo": "nats", "complexity": "bits", "excess": "nats"}
BATCH = 500              # images scored at once, at most; fewer when big (batches.images_per_batch)


def _images(images, shape=None) -> torch.Tensor:
    """Validated float32 (N, C, H, W) in [0, 1] (`as_images` says what is wrong otherwise). `shape`:
    the model's (C, H, W); None takes the images' own ((N, H, W) is grey; default 1 x 28 x 28 when
    there are none)."""
    if isinstance(images, (list, tuple)) and len(images) == 0:
        images = np.zeros((0, *(shape or IMAGE_SHAPE)), np.float32)
    if shape is None:
        a = np.shape(images)
        shape = (1, *a[1:]) if len(a) == 3 else tuple(a[1:]) if len(a) == 4 else IMAGE_SHAPE
    return as_images(images, shape)


def _batch_of(images, shape) -> torch.Tensor:
    """One batch as float32 (N, C, H, W): uint8 images as reference sets store them are converted
    here, a batch at a time; float ones validated (`_images`)."""
    a = images if isinstance(images, torch.Tensor) else np.asarray(images)
    return torch.from_numpy(stored_to_input(a, shape)) if a.dtype == np.uint8 else _images(a, shape)


def _step(model) -> int:
    return images_per_batch(model.image_shape, most=BATCH)      # 170 at a time at 3 x 128 x 128


def _noise(n: int, samples: int, d: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(int(seed))
    return torch.randn((n, samples, d), generator=g)


ADAPTER_WHY = ("an adapter gives the posterior mean and decoded images only, not the decoder's "
               "likelihood or the encoder's variance")
ADAPTER_GAN_WHY = ("an adapter GAN gives decoded images only: its reconstruction error needs "
                   "inversion, and inversion needs gradients through the generator")


def _needs_vae(model, score: str) -> None:
    if model.kind != "vae":
        raise TypeError(f"{model.name} is a {model.kind}: the {LABELS.get(score, score)} needs a VAE "
                        "(an encoder and a decoder likelihood); a GAN has only the reconstruction "
                        "error, by inversion")
    if is_adapter(model):
        raise TypeError(f"{model.name}: the {LABELS.get(score, score)} needs the decoder's likelihood "
                        f"and the encoder's variance; {ADAPTER_WHY}")


def reconstruction_error(model, images, **inversion) -> np.ndarray:
    """(N,) pixel MSE of each image against the model's reconstruction of it (see the module doc).
    `inversion`: settings passed to `models.inversion.invert` for a GAN (restarts, steps...)."""
    x = _images(images, model.image_shape)
    if len(x) == 0:
        return np.zeros(0)
    if model.kind == "vae" and is_adapter(model):
        step = _step(model)
        out = [((model.decode(model.encode(xb)) - xb) ** 2).reshape(len(xb), -1).mean(1)
               for xb in (x[i:i + step].numpy() for i in range(0, len(x), step))]
        return np.concatenate(out).astype(np.float64)
    if model.kind == "vae":
        vae, out, step = model.modules["vae"], [], _step(model)
        with torch.inference_mode():
            for i in range(0, len(x), step):
                xb = x[i:i + step]
                rec = torch.sigmoid(vae.decode_logits(vae.encode(xb)[0]))
                out.append((rec - xb).pow(2).flatten(1).mean(1))
        return torch.cat(out).double().numpy()
    if model.kind == "gan" and is_adapter(model):
        raise TypeError(f"{model.name}: {ADAPTER_GAN_WHY}")
    if model.kind == "gan":
        from models.inversion import invert
        return np.asarray(invert(model, x.numpy(), **inversion).mse, np.float64)
    raise TypeError(f"{model.name} is a {model.kind}: it does not reconstruct images")


def neg_elbo(model, images, samples: int = 1, importance: bool = False, seed: int = 0,
             noise: torch.Tensor | None = None) -> np.ndarray:
    """(N,) -ELBO in nats (see the module doc). The noise is drawn once for the whole batch from
    `seed`, so the same images in the same order give the same values; `noise` (N, samples,
    latent_dim) replaces it (`score_table` gives each batch its rows of the whole set's)."""
    _needs_vae(model, "elbo")
    if samples < 1:
        raise ValueError("samples must be at least 1")
    x = _images(images, model.image_shape)
    if len(x) == 0:
        return np.zeros(0)
    vae, out, step = model.modules["vae"], [], _step(model)
    eps = _noise(len(x), samples, model.latent_dim, seed) if noise is None else noise
    if tuple(eps.shape) != (len(x), samples, model.latent_dim):
        raise ValueError(f"noise must have shape {(len(x), samples, model.latent_dim)}; got {tuple(eps.shape)}")
    with torch.inference_mode():
        for i in range(0, len(x), step):
            xb, eb = x[i:i + step], eps[i:i + step]
            n = len(xb)
            mu, logvar = vae.encode(xb)
            std = (0.5 * logvar).exp()
            z = mu[:, None] + std[:, None] * eb                          # (n, K, d)
            logits = vae.decode_logits(z.reshape(n * samples, -1))
            target = xb.repeat_interleave(samples, 0)
            log_px = -F.binary_cross_entropy_with_logits(logits, target, reduction="none") \
                .flatten(1).sum(1).view(n, samples)                       # log p(x | z_k)
            if importance:
                log_pz = -0.5 * (z.pow(2) + math.log(2 * math.pi)).sum(2)
                log_qz = -0.5 * (eb.pow(2) + math.log(2 * math.pi) + logvar[:, None]).sum(2)
                log_w = log_px + log_pz - log_qz
                out.append(-(torch.logsumexp(log_w, 1) - math.log(samples)))
            else:
                kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(1)
                out.append(-log_px.mean(1) + kl)
    return torch.cat(out).double().numpy()


def png_bits(images) -> np.ndarray:
    """(N,) length in bits of each image saved as an 8-bit PNG, grayscale for (N, 1, H, W) and
    RGB for (N, 3, H, W) (Pillow's default zlib level): the generic compressor of Serrà et al.
    (2020). Images are float [0, 1]."""
    from PIL import Image

    x = _images(images).numpy()
    q = np.clip(np.rint(x * 255), 0, 255).astype(np.uint8)
    q, mode = (q[:, 0], "L") if q.shape[1] == 1 else (q.transpose(0, 2, 3, 1), "RGB")
    out = np.empty(len(q))
    for i, im in enumerate(q):
        buf = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(im), mode).save(buf, "PNG")
        out[i] = 8 * buf.getbuffer().nbytes
    return out


def complexity_corrected(model, images, samples: int = 1, seed: int = 0) -> np.ndarray:
    """(N,) -ELBO in bits minus the PNG length in bits (Serrà et al., 2020's S(x))."""
    _needs_vae(model, "complexity")
    return neg_elbo(model, images, samples, seed=seed) / math.log(2) - png_bits(images)


def entropy_floor(images) -> np.ndarray:
    """(N,) sum over pixels of the binary entropy H(x_i) in nats: the Bernoulli cross-entropy of a
    perfect reconstruction, the least any Bernoulli decoder can pay for the image (0 for pure
    black and white, 784 ln 2 = 543 nats for an all-grey 0.5 image of 28 x 28; C * H * W ln 2 for
    any shape)."""
    x = _images(images).double()
    h = -(torch.special.xlogy(x, x) + torch.special.xlogy(1 - x, 1 - x))      # 0 log 0 = 0
    return h.flatten(1).sum(1).numpy()


def score_table(model, images, samples: int = 1, seed: int = 0) -> dict[str, np.ndarray]:
    """Every score the model can give (`available_scores`), the -ELBO computed once for all three
    that use it. A GAN's reconstruction error needs inversion: not computed here (too slow for a
    set), so a GAN gets an empty table; an adapter VAE gets its reconstruction error alone.
    `images`: float32 (N, C, H, W) in [0, 1], or uint8 as reference sets store them (grey (N, H, W)
    or (N, 1, H, W), colour (N, 3, H, W)). Scored a batch at a time, each converted to float32 only
    then (`batches.BATCH_BYTES` of pixels at most: 5,000 RGB 128 x 128 images are 983 MB at once),
    with the same values as in one go (the ELBO's noise is drawn once for the whole set)."""
    if model.kind != "vae":
        return {}
    n, step, adapter = len(images), _step(model), is_adapter(model)
    if samples < 1 and not adapter:
        raise ValueError("samples must be at least 1")
    eps = None if adapter else _noise(n, samples, model.latent_dim, seed)
    parts = []
    for i in range(0, n, step):
        x = _batch_of(images[i:i + step], model.image_shape)
        if adapter:
            parts.append(dict(recon=reconstruction_error(model, x)))
            continue
        elbo = neg_elbo(model, x, samples, noise=eps[i:i + step])
        parts.append(dict(recon=reconstruction_error(model, x), elbo=elbo,
                          complexity=elbo / math.log(2) - png_bits(x), excess=elbo - entropy_floor(x)))
    return {k: np.concatenate([p[k] for p in parts]) if parts else np.zeros(0)
            for k in available_scores(model)}


def scores(model, images, score: str = "recon", **options) -> np.ndarray:
    """(N,) float64 anomaly scores of float32 images (N, C, H, W) in [0, 1], higher meaning more
    unusual. `score`: "recon" (any generative model; a GAN by inversion), "elbo", "complexity" or
    "excess" (a VAE). `options` go to the score's function (samples, seed; a GAN's inversion settings)."""
    if score == "recon":
        return reconstruction_error(model, images, **options)
    if score == "elbo":
        return neg_elbo(model, images, **options)
    if score == "complexity":
        return complexity_corrected(model, images, **options)
    if score == "excess":
        _needs_vae(model, "excess")
        return neg_elbo(model, images, **options) - entropy_floor(_images(images, model.image_shape))
    raise ValueError(f"unknown score {score!r}: pick one of {', '.join(SCORES)}")


def available_scores(model) -> tuple[str, ...]:
    """The scores this model can give (an adapter VAE: the reconstruction error; an adapter GAN: none)."""
    if is_adapter(model):
        return ("recon",) if model.kind == "vae" else ()
    return SCORES if model.kind == "vae" else ("recon",) if model.kind == "gan" else ()


def roc_auc(inlier_scores, outlier_scores) -> float:
    """ROC AUC of telling outliers from inliers by the score (outliers should score higher): 1.0 is
    perfect, 0.5 chance, below 0.5 means the score ranks the outliers as *more* typical."""
    from sklearn.metrics import roc_auc_score

    a, b = np.asarray(inlier_scores, np.float64), np.asarray(outlier_scores, np.float64)
    if len(a) == 0 or len(b) == 0:
        raise ValueError("ROC AUC needs at least one inlier and one outlier score")
    return float(roc_auc_score(np.r_[np.zeros(len(a)), np.ones(len(b))], np.r_[a, b]))


def most_unusual(values, k: int) -> np.ndarray:
    """Indices of the k highest scores, highest first (ties: the lower index first)."""
    v = np.asarray(values, np.float64)
    return np.lexsort((np.arange(len(v)), -v))[:max(int(k), 0)]


def percentile_rank(values, reference) -> np.ndarray:
    """Share (in %) of `reference` scores strictly below each value: 'more unusual than p%'."""
    ref = np.sort(np.asarray(reference, np.float64))
    if len(ref) == 0:
        raise ValueError("no reference scores to rank against")
    return 100.0 * np.searchsorted(ref, np.asarray(values, np.float64), side="left") / len(ref)
