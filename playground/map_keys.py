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
            classifier_sha: str | None = None, params: dict | None = None) -> str:
    """The key of a map of a model with these weights (sha256 from its card), projected by `method`
    with `params`, of these reference images (a VAE) or laid out by this classifier (a GAN)."""
    parts = [dict(v=MAP_VERSION, model=weights_sha, method=method, params=params or {}, kind=kind)]
    if ref_images is not None:
        parts.append(np.ascontiguousarray(ref_images).tobytes())
    if classifier_sha is not None:
        parts.append(dict(classifier=classifier_sha, n=GAN_POINTS, seed=GAN_SEED))
    return digest(*parts)[:20]


def map_file(name: str, method: str, key: str) -> str:
    return f"{name}-{method}-{key}.npz"
