"""Adapter files for the bring-your-own-model tests: tiny random decoders, written by the tests.

`write(folder, name, **options)` writes `<folder>/<name>.py` and returns its path. Kinds:
- "grey-vae": a 28x28 grey VAE (torch, random linear layers), with class names and a reference();
- "rgb-vae": a 32x32 RGB VAE (numpy), no reference (a --reference folder or prior samples);
- "gan": a 16x24 grey GAN (numpy) with no classifier and its own sample(n, seed);
- the smallest and largest sizes and a colour model that is not square (numpy, linear decoders):
  "grey-vae-8" (1, 8, 8) with a small reference(), "rgb-gan-128" (3, 128, 128) with no classifier,
  "rgb-vae-128" (3, 128, 128) with a small reference(), "rgb-vae-16x24" (3, 16, 24) with no
  reference (decoded prior samples);
- hostile ones (see HOSTILE): each breaks one rule of the contract.
"""
from __future__ import annotations

from pathlib import Path

NUMPY_MODEL = '''
import numpy as np

class Model:
    kind = {kind!r}
    latent_dim = {d}
    image_shape = {shape!r}
    {extra_attrs}

    def __init__(self):
        rng = np.random.default_rng(7)
        n = int(np.prod(self.image_shape))
        self.w = (rng.standard_normal((self.latent_dim, n)) * 0.8).astype(np.float32)
        self.b = (rng.standard_normal(n) * 0.3).astype(np.float32)
        self.p = np.linalg.pinv(self.w).astype(np.float32)

    def decode(self, z):
        {decode_body}

    def encode(self, x):
        logits = np.log(np.clip(x, 1e-4, 1 - 1e-4) / (1 - np.clip(x, 1e-4, 1 - 1e-4)))
        return ((logits.reshape(len(x), -1) - self.b) @ self.p).astype(np.float32)

    {methods}

def load():
    {before_load}
    return Model()
'''

GOOD_DECODE = ("x = 1 / (1 + np.exp(-(np.asarray(z, np.float32) @ self.w + self.b)))\n"
               "        return x.reshape(len(z), *self.image_shape).astype(np.float32)")

TORCH_GREY_VAE = '''
import numpy as np
import torch

class GreyVAE:
    kind = "vae"
    latent_dim = 3
    image_shape = (1, 28, 28)
    name = "{name}"
    class_names = ["dark", "light"]

    def __init__(self):
        g = torch.Generator().manual_seed(1)
        self.dec = torch.nn.Linear(3, 784)
        self.enc = torch.nn.Linear(784, 3)
        with torch.no_grad():
            for p in (*self.dec.parameters(), *self.enc.parameters()):
                p.copy_(torch.randn(p.shape, generator=g) * 0.3)

    @torch.no_grad()
    def decode(self, z):
        return torch.sigmoid(self.dec(torch.from_numpy(z))).reshape(-1, 1, 28, 28).numpy()

    @torch.no_grad()
    def encode(self, x):
        return self.enc(torch.from_numpy(x).reshape(len(x), -1)).numpy()

    def reference(self):
        rng = np.random.default_rng(3)
        images = self.decode(rng.standard_normal((60, 3)).astype(np.float32))
        labels = (images.mean((1, 2, 3)) > np.median(images.mean((1, 2, 3)))).astype(int)
        return (images * 255).round().astype(np.uint8), labels

def load():
    return GreyVAE()
'''


def numpy_model(kind="vae", d=4, shape=(3, 32, 32), extra_attrs="", decode_body=GOOD_DECODE,
                methods="", before_load="pass") -> str:
    return NUMPY_MODEL.format(kind=kind, d=d, shape=tuple(shape), extra_attrs=extra_attrs or "pass",
                              decode_body=decode_body, methods=methods or "pass", before_load=before_load)


GAN_SAMPLE = ("def sample(self, n, seed):\n"
              "        return np.random.default_rng(seed).standard_normal((n, self.latent_dim)).astype(np.float32)")

SMALL_REFERENCE = ("def reference(self):\n"           # 300 of its own decodings, no labels
                   "        z = np.random.default_rng(5).standard_normal((300, self.latent_dim)).astype(np.float32)\n"
                   "        return (self.decode(z) * 255).round().astype(np.uint8), None")

SOURCES = {
    "grey-vae": lambda name: TORCH_GREY_VAE.format(name=name),
    "rgb-vae": lambda name: numpy_model("vae", 4, (3, 32, 32), extra_attrs=f"name = {name!r}"),
    "gan": lambda name: numpy_model("gan", 5, (1, 16, 24), extra_attrs=f"name = {name!r}", methods=GAN_SAMPLE),
    "grey-vae-8": lambda name: numpy_model("vae", 3, (1, 8, 8), extra_attrs=f"name = {name!r}", methods=SMALL_REFERENCE),
    "rgb-gan-128": lambda name: numpy_model("gan", 6, (3, 128, 128), extra_attrs=f"name = {name!r}", methods=GAN_SAMPLE),
    "rgb-vae-16x24": lambda name: numpy_model("vae", 4, (3, 16, 24), extra_attrs=f"name = {name!r}"),
    "rgb-vae-128": lambda name: numpy_model("vae", 6, (3, 128, 128), extra_attrs=f"name = {name!r}", methods=SMALL_REFERENCE),
}

# name -> (source, words the reason must contain)
HOSTILE = {
    "raises": (numpy_model(decode_body="raise RuntimeError('CUDA out of memory')"),
               "decode raised RuntimeError: CUDA out of memory"),
    "load-raises": (numpy_model(before_load="raise ImportError('no module named mylib')"),
                    "load() raised ImportError: no module named mylib"),
    "wrong-shape": (numpy_model(decode_body="return np.zeros((len(z), 3, 28, 28), np.float32)"),
                    "decode returned shape (2, 3, 28, 28); expected (2, 3, 32, 32)"),
    "wrong-dtype": (numpy_model(decode_body="return np.zeros((len(z), 3, 32, 32), np.float64)"),
                    "decode returned dtype float64; expected float32"),
    "not-numpy": (numpy_model(decode_body="return [[0.5]] * len(z)"),
                  "decode returned list, not a numpy array"),
    "out-of-range": (numpy_model(decode_body="return np.full((len(z), 3, 32, 32), 255, np.float32)"),
                     "images must be in [0, 1]"),
    "nan": (numpy_model(decode_body="x = np.full((len(z), 3, 32, 32), 0.5, np.float32); x[0, 0, 0, 0] = np.nan; return x"),
            "decode returned NaN or infinite values"),
    "slow": (numpy_model(decode_body="import time; time.sleep(60); return np.zeros((len(z), 3, 32, 32), np.float32)"),
             "decode took over"),
    "exits": (numpy_model(decode_body="raise SystemExit(3)"), "decode raised SystemExit"),
    "bad-shape": (numpy_model(shape=(4, 32, 32)), "channels must be 1 (grey) or 3 (RGB), not 4"),
    "bad-encode": (numpy_model(methods="def encode(self, x):\n        return np.zeros((len(x), 9), np.float32)"),
                   "encode returned shape (2, 9); expected (2, 4)"),
    "no-load": ("x = 1\n", "the file defines no load() function"),
    "syntax": ("def load(:\n", "importing the file raised SyntaxError"),
}


def write(folder: Path, name: str, kind: str | None = None, source: str | None = None) -> Path:
    path = Path(folder) / f"{name}.py"
    path.write_text(source if source is not None else SOURCES[kind or name](name))
    return path
