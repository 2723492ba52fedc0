"""`LatentModel`: the one object the app and scripts use, whatever the kind of checkpoint.

Inputs and outputs are numpy float32: images `(N, C, H, W)` in [0, 1] (the card's `image_shape`:
1 or 3 channels, sides 8 to 128; the shipped checkpoints are (1, 28, 28)), latent codes `(N, d)`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

IMAGE_SHAPE = (1, 28, 28)              # the shipped checkpoints' shape; a card may name another
CHANNELS = (1, 3)
MIN_SIDE, MAX_SIDE = 8, 128


def check_image_shape(shape) -> tuple[int, int, int]:
    """A model's (channels, height, width), validated: channels 1 or 3, sides 8 to 128. Raises
    ValueError saying what is wrong."""
    try:
        c, h, w = (int(v) for v in shape)
        if any(int(v) != v or isinstance(v, bool) for v in shape):
            raise TypeError
    except (TypeError, ValueError):
        raise ValueError(f"image_shape must be three integers (channels, height, width); got {shape!r}") from None
    if c not in CHANNELS:
        raise ValueError(f"image_shape {[c, h, w]}: channels must be 1 (grey) or 3 (RGB), not {c}")
    if not (MIN_SIDE <= h <= MAX_SIDE and MIN_SIDE <= w <= MAX_SIDE):
        raise ValueError(f"image_shape {[c, h, w]}: height and width must be {MIN_SIDE} to {MAX_SIDE} pixels")
    return c, h, w


def as_images(x, shape=IMAGE_SHAPE) -> torch.Tensor:
    """Validate a batch of images of `shape` (C, H, W) and return it as a float32 tensor; a grey
    batch may come as (N, H, W)."""
    shape = tuple(shape)
    t = torch.as_tensor(np.require(x, np.float32, ['W']))   # a read-only (shared) array is copied
    if t.ndim == 3 and shape[0] == 1:
        t = t.unsqueeze(1)
    if t.ndim != 4 or tuple(t.shape[1:]) != shape:
        raise ValueError(f"images must have shape (N, {', '.join(map(str, shape))}); got {tuple(np.shape(x))}")
    if t.numel() and (not torch.isfinite(t).all() or t.min() < 0 or t.max() > 1):
        raise ValueError("images must be finite values in [0, 1]")
    return t


def stored_to_input(images, shape=IMAGE_SHAPE) -> np.ndarray:
    """uint8 images as reference sets store them (grey: (N, H, W) or (N, 1, H, W); colour:
    (N, 3, H, W)) -> float32 (N, C, H, W) in [0, 1] for a model of `shape`."""
    a = np.asarray(images)
    if a.dtype != np.uint8:
        raise ValueError(f"stored images must be uint8; got {a.dtype}")
    if a.ndim == 3:
        a = a[:, None]
    if a.ndim != 4 or tuple(a.shape[1:]) != tuple(shape):
        raise ValueError(f"images of shape {tuple(np.shape(images))[1:]} do not fit a model of "
                         f"image shape {tuple(shape)}")
    return a.astype(np.float32) / 255.0


def input_to_stored(images) -> np.ndarray:
    """float32 (N, C, H, W) in [0, 1] -> uint8 as stored (grey (N, H, W), colour (N, 3, H, W))."""
    a = np.asarray(images, np.float32)
    u = np.clip(a * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return u[:, 0] if u.ndim == 4 and u.shape[1] == 1 else u


@dataclass
class LatentModel:
    name: str
    card: dict
    modules: dict

    @property
    def kind(self) -> str:
        return self.card["kind"]

    @property
    def latent_dim(self) -> int:
        return int(self.card["latent_dim"])

    @property
    def class_names(self) -> list[str]:
        return list(self.card["class_names"])

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(channels, height, width) of the images the model takes and makes."""
        return tuple(int(v) for v in self.card.get("image_shape", IMAGE_SHAPE))

    def as_input(self, images) -> np.ndarray:
        """uint8 images as stored (grey (N, H, W), colour (N, 3, H, W)) -> float32 (N, C, H, W)."""
        return stored_to_input(images, self.image_shape)

    @property
    def dataset(self) -> str:
        return self.card["dataset"]["name"]

    @property
    def can_encode(self) -> bool:
        return self.kind == "vae"

    # ---- latent space -------------------------------------------------------------------------
    @torch.inference_mode()
    def encode(self, x) -> np.ndarray:
        """VAE: the posterior mean of each image. GANs have no encoder (see `models.inversion`)."""
        return self.posterior(x)[0]

    @torch.inference_mode()
    def posterior(self, x) -> tuple[np.ndarray, np.ndarray]:
        """VAE: posterior mean and log-variance, the two heads of the reparameterisation trick."""
        if self.kind != "vae":
            raise TypeError(f"{self.name} is a {self.kind}: it has no encoder; "
                            "a GAN needs inversion by optimisation to find a latent code")
        mu, logvar = self.modules["vae"].encode(as_images(x, self.image_shape))
        return mu.numpy(), logvar.numpy()

    @torch.inference_mode()
    def decode(self, z) -> np.ndarray:
        z = self._latents(z)
        if self.kind == "vae":
            out = torch.sigmoid(self.modules["vae"].decode_logits(z))
        elif self.kind == "gan":
            out = self.modules["generator"](z)
        else:
            raise TypeError(f"{self.name} is a classifier: it has no decoder")
        return out.numpy()

    def sample(self, n: int, seed: int | None = None, temperature: float = 1.0,
               truncation: float | None = None) -> np.ndarray:
        """Latent codes from the prior N(0, I), scaled by `temperature`. Same seed, same codes.

        `truncation`: redraw every coordinate whose size exceeds it (the "truncation trick")."""
        if self.kind == "classifier":
            raise TypeError(f"{self.name} is a classifier: it has no latent prior")
        rng = np.random.default_rng(seed)
        z = rng.standard_normal((int(n), self.latent_dim))
        if truncation is not None:
            if truncation <= 0:
                raise ValueError("truncation must be positive")
            for _ in range(100):                      # P(|x| > t) per draw: converges fast
                bad = np.abs(z) > truncation
                if not bad.any():
                    break
                z[bad] = rng.standard_normal(int(bad.sum()))
            z = np.clip(z, -truncation, truncation)
        return (z * float(temperature)).astype(np.float32)

    @torch.inference_mode()
    def discriminate(self, x) -> np.ndarray:
        """GAN: the discriminator's probability that each image is real."""
        if "discriminator" not in self.modules:
            raise TypeError(f"{self.name} has no discriminator")
        return torch.sigmoid(self.modules["discriminator"](as_images(x, self.image_shape))).numpy()

    # ---- classifier ---------------------------------------------------------------------------
    @torch.inference_mode()
    def predict_proba(self, x, batch_size: int = 1024) -> np.ndarray:
        net = self._classifier()
        x = as_images(x, self.image_shape)
        return np.concatenate([torch.softmax(net(x[i:i + batch_size]), 1).numpy()
                               for i in range(0, len(x), batch_size)] or [np.zeros((0, len(self.class_names)))])

    @torch.inference_mode()
    def features(self, x, batch_size: int = 1024) -> np.ndarray:
        """The classifier's penultimate layer: a feature space where classes separate."""
        net = self._classifier()
        x = as_images(x, self.image_shape)
        return np.concatenate([net.features(x[i:i + batch_size]).numpy()
                               for i in range(0, len(x), batch_size)] or [np.zeros((0, 1))])

    def _classifier(self):
        if self.kind != "classifier":
            raise TypeError(f"{self.name} is a {self.kind}, not a classifier")
        return self.modules["classifier"]

    def _latents(self, z) -> torch.Tensor:
        t = torch.as_tensor(np.require(z, np.float32, ['W']))   # a read-only (shared) array is copied
        if t.ndim == 1:
            t = t.unsqueeze(0)
        if t.ndim != 2 or t.shape[1] != self.latent_dim:
            raise ValueError(f"{self.name} takes latent codes of shape (N, {self.latent_dim}); "
                             f"got {tuple(np.shape(z))}")
        if not torch.isfinite(t).all():
            raise ValueError("latent codes must be finite")
        return t
