"""How a cached map file is named: a digest of everything the map depends on. Pure and torch-free, so
that the first page can find the default model's shipped map before PyTorch has loaded
(playground/first_map.py) under exactly the name `latent_map.project` reads and writes."""
from __future__ import annotations

import hashlib
import json

import numpy as np

MAP_VERSION = 1
GAN_POINTS = 3000
GAN_SEED = 0


def digest(*parts) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else json.dumps(p, sort_keys=True).encode())
    return h.hexdigest()


def map_key(weights_sha: str, kind: str, method: str, ref_images: np.ndarray | None,
            classifier_sha: str | None = None, params: dict | None = None,
            training: np.ndarray | None = None) -> str:
    """The key of a map of a model with these weights (sha256 from its card), projected by `method`
    with `params`, of these images (a VAE; `training` marks the ones the model was trained on) or
    laid out by this classifier (a GAN)."""
    parts = [dict(v=MAP_VERSION, model=weights_sha, method=method, params=params or {}, kind=kind)]
    if ref_images is not None:
        parts.append(np.ascontiguousarray(ref_images).tobytes())
    if training is not None:
        parts.append(b"training:" + np.packbits(np.asarray(training, bool)).tobytes())
    if classifier_sha is not None:
        parts.append(dict(classifier=classifier_sha, n=GAN_POINTS, seed=GAN_SEED))
    return digest(*parts)[:20]


def map_file(name: str, method: str, key: str) -> str:
    return f"{name}-{method}-{key}.npz"


def encode_y(y: np.ndarray) -> dict:
    """Map positions for a cache file as int16 over their range (1/65,535 of the extent: finer than
    float16 over a t-SNE map's range, at half of float32's size)."""
    y = np.asarray(y, np.float64)
    lo, hi = y.min(0), y.max(0)
    span = np.where(hi > lo, hi - lo, 1.0)
    q = np.rint((y - lo) / span * 65535) - 32768
    return dict(yq=q.astype(np.int16), y_range=np.stack([lo, hi]))


def decode_y(arrays: dict) -> np.ndarray | None:
    """The (N, 2) float32 positions of a cache file (int16 `yq` with `y_range`, or plain `y`)."""
    if "yq" in arrays and "y_range" in arrays:
        q, (lo, hi) = arrays["yq"].astype(np.float64), np.asarray(arrays["y_range"], np.float64)
        span = np.where(hi > lo, hi - lo, 1.0)
        return ((q + 32768) / 65535 * span + lo).astype(np.float32)
    return arrays["y"].astype(np.float32) if "y" in arrays else None
