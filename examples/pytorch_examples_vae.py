"""An adapter file for the VAE of the PyTorch examples repository (examples/vae/main.py), as a
person who trained it there would write one:

    streamlit run playground/app.py -- --model examples/pytorch_examples_vae.py

`load()` returns an object with kind, latent_dim, image_shape, class_names, decode, encode and
reference; the app checks every answer (shape, dtype, range, NaN, time). The weights are the
examples' own `model.state_dict()` (examples/pytorch_examples_vae.pth, made by
scripts/train_examples_vae.py), read with `torch.load(..., weights_only=True)`.
"""
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

HERE = Path(__file__).resolve().parent
WEIGHTS = HERE / "pytorch_examples_vae.pth"
REFERENCE = HERE.parent / "checkpoints" / "reference" / "mnist.npz"


class VAE(nn.Module):                      # the examples' model, unchanged
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))


class Adapter:
    kind = "vae"
    latent_dim = 20
    image_shape = (1, 28, 28)
    name = "examples-vae-adapter"
    class_names = [str(d) for d in range(10)]
    weights_files = [WEIGHTS.name]   # hashed with this file: retrained weights give new cache keys

    def __init__(self):
        self.net = VAE()
        self.net.load_state_dict(torch.load(WEIGHTS, map_location="cpu", weights_only=True))
        self.net.eval()

    @torch.no_grad()
    def decode(self, z):            # float32 (N, 20) -> float32 (N, 1, 28, 28) in [0, 1]
        return self.net.decode(torch.from_numpy(z)).reshape(-1, 1, 28, 28).numpy()

    @torch.no_grad()
    def encode(self, x):            # float32 (N, 1, 28, 28) in [0, 1] -> (N, 20): the posterior mean
        return self.net.encode(torch.from_numpy(x).reshape(-1, 784))[0].numpy()

    def reference(self):            # held-out digits for the map: uint8 (N, 1, 28, 28) and labels
        with np.load(REFERENCE, allow_pickle=False) as f:
            return f["images"][:, None], f["labels"]


def load():
    return Adapter()
