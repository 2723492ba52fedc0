"""What the playground makes of an uploaded image (pure: numpy + the models API, no Streamlit).

- VAE: encode (posterior mean), decode, and measure the reconstruction error;
- GAN: invert by optimisation (`models.inversion`), the best match's pixel error standing in for it.
The error is ranked against the same error for the reference set (an anomaly percentile), the
nearest reference images are found in the model's own space, and the point is placed into the
existing map with `LatentMap.place` (never by recomputing the map).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np

from models.inversion import invert

GAN_REFERENCE_IMAGES = 64        # reference images inverted per GAN (shipped: scripts/build_maps.py)
GAN_LIVE_IMAGES = 12             # ... or, for a GAN without shipped errors, inverted on first use


@dataclass
class Encoded:
    z: np.ndarray                # (N, d)
    recon: np.ndarray            # (N, 28, 28) decoded
    mse: np.ndarray              # (N,) pixel MSE of recon against the input
    restart_mse: np.ndarray | None = None   # GAN: (N, restarts), best first


def encode_images(model, images: np.ndarray, progress=None) -> Encoded:
    """images: float32 (N, 28, 28) in [0, 1]."""
    x = np.asarray(images, np.float32).reshape(-1, 1, 28, 28)
    if model.kind == "vae":
        z = model.encode(x)
        rec = model.decode(z)
        return Encoded(z, rec[:, 0], ((rec - x) ** 2).reshape(len(x), -1).mean(1))
    inv = invert(model, x, progress=progress)
    return Encoded(inv.z, inv.images[:, 0], inv.mse, inv.restart_mse)


def reference_errors(model, ref_images: np.ndarray, n: int | None = None, progress=None) -> np.ndarray:
    """The same error for reference images (uint8 (N, 28, 28)): all of them for a VAE; for a GAN,
    whose inversion costs about a second per image here, a fixed random subset of `n`."""
    x = ref_images.astype(np.float32) / 255
    if model.kind == "gan":
        x = x[np.random.default_rng(0).permutation(len(x))[:n or GAN_REFERENCE_IMAGES]]
    return encode_images(model, x, progress).mse


def errors_file(model) -> str:
    """File name of a GAN's shipped reference errors: tied to its weights and the inversion settings."""
    import inspect

    from models.inversion import invert as inv
    params = {k: v.default for k, v in inspect.signature(inv).parameters.items()
              if v.default is not inspect.Parameter.empty and k != "progress"}
    tag = hashlib.sha256(json.dumps([model.card["weights"]["sha256"], params, GAN_REFERENCE_IMAGES],
                                    sort_keys=True).encode()).hexdigest()[:16]
    return f"{model.name}-inversion-errors-{tag}.npz"


def anomaly_percentile(err: np.ndarray, ref_err: np.ndarray) -> np.ndarray:
    """Share of reference images (in %) that the model reproduces better than each upload."""
    ref = np.sort(np.asarray(ref_err))
    return 100.0 * np.searchsorted(ref, np.asarray(err), side="left") / len(ref)


def nearest(space: np.ndarray, queries: np.ndarray, k: int = 5) -> np.ndarray:
    """Indices (Q, k) of the k nearest rows of `space` (Euclidean) for each query."""
    space, queries = np.asarray(space, np.float32), np.atleast_2d(np.asarray(queries, np.float32))
    d2 = (queries ** 2).sum(1)[:, None] - 2 * queries @ space.T + (space ** 2).sum(1)[None]
    k = min(k, len(space))
    idx = np.argpartition(d2, k - 1, axis=1)[:, :k]
    order = np.take_along_axis(d2, idx, 1).argsort(1)
    return np.take_along_axis(idx, order, 1)
