"""Architectures of models trained elsewhere, known here so their `state_dict` files can be converted
to the project's format (`python -m models.convert`). Registered in `architectures.REGISTRY` on
import (models/checkpoint.py imports this module).

- `ExamplesVAE`: the fully connected VAE of the PyTorch examples repository (examples/vae/main.py):
  fc1 784 -> 400, fc21 / fc22 400 -> 20 (mean, log-variance), fc3 20 -> 400, fc4 400 -> 784, ReLU
  between, a sigmoid at the end. Its parameter names are the examples' own, so their saved
  `model.state_dict()` loads as it is.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .architectures import REGISTRY


class ExamplesVAE(nn.Module):
    """The PyTorch examples' VAE, with the project's VAE interface: `encode(x)` -> (mu, logvar) of
    images (N, 1, 28, 28), `decode_logits(z)` -> logits (N, 1, 28, 28) (the sigmoid is the model's)."""

    def __init__(self, latent_dim: int = 20, hidden: int = 400, pixels: int = 784):
        super().__init__()
        self.pixels = pixels
        self.fc1 = nn.Linear(pixels, hidden)
        self.fc21 = nn.Linear(hidden, latent_dim)
        self.fc22 = nn.Linear(hidden, latent_dim)
        self.fc3 = nn.Linear(latent_dim, hidden)
        self.fc4 = nn.Linear(hidden, pixels)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h1 = F.relu(self.fc1(x.reshape(len(x), self.pixels)))
        return self.fc21(h1), self.fc22(h1)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        side = int(round(self.pixels ** 0.5))
        return self.fc4(F.relu(self.fc3(z))).reshape(len(z), 1, side, side)

    def forward(self, x):
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decode_logits(z), mu, logvar


# --arch name on the command line -> (card class, its args, module name in the card, image shape)
KNOWN = {
    "pytorch-examples-vae": ("ExamplesVAE", {"latent_dim": 20, "hidden": 400}, "vae", [1, 28, 28]),
}

REGISTRY.setdefault("ExamplesVAE", ExamplesVAE)
