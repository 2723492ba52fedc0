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
from pathlib import Path
from typing import NamedTuple

import numpy as np

from playground.distances import sq_distances  # noqa: F401  (re-exported: uploads.sq_distances)

from models.inversion import invert
from playground.imaging import to_float

GAN_REFERENCE_IMAGES = 64        # reference images inverted per GAN (shipped: scripts/build_maps.py)
GAN_LIVE_IMAGES = 12             # ... or, for a GAN without shipped errors, inverted on first use
MAX_KEPT_FILES = 16              # per session: uploaded files kept to show again on the Encode page
MAX_KEPT_BYTES = 40 * 2**20      # ... and at most this many bytes of them


@dataclass
class Encoded:
    z: np.ndarray                # (N, d)
    recon: np.ndarray            # decoded, as inputs are given: grey (N, H, W), colour (N, 3, H, W)
    mse: np.ndarray              # (N,) pixel MSE of recon against the input
    restart_mse: np.ndarray | None = None   # GAN: (N, restarts), best first


def encode_images(model, images: np.ndarray, progress=None) -> Encoded:
    """images: float32 in [0, 1] of the model's image shape: grey (N, H, W) or (N, 1, H, W), colour
    (N, 3, H, W)."""
    shape = tuple(getattr(model, "image_shape", (1, 28, 28)))
    x = np.asarray(images, np.float32).reshape(-1, *shape)
    squeeze = (lambda a: a[:, 0]) if shape[0] == 1 else (lambda a: a)
    if model.kind == "vae":
        z = model.encode(x)
        rec = model.decode(z)
        return Encoded(z, squeeze(rec), ((rec - x) ** 2).reshape(len(x), -1).mean(1))
    inv = invert(model, x, progress=progress)
    return Encoded(inv.z, squeeze(inv.images), inv.mse, inv.restart_mse)


def reference_errors(model, ref_images: np.ndarray, n: int | None = None, progress=None) -> np.ndarray:
    """The same error for reference images (uint8, as stored): all of them for a VAE; for a GAN,
    whose inversion costs about a second per image here, a fixed random subset of `n`. Converted a
    batch at a time (5,000 RGB 128 x 128 images are 983 MB as float32, and as much again decoded)."""
    if model.kind == "gan":
        picked = np.random.default_rng(0).permutation(len(ref_images))[:n or GAN_REFERENCE_IMAGES]
        return encode_images(model, to_float(np.asarray(ref_images)[picked]), progress).mse
    from playground.batches import images_per_batch
    step = images_per_batch(getattr(model, "image_shape", (1, 28, 28)))
    return np.concatenate([encode_images(model, to_float(ref_images[i:i + step])).mse
                           for i in range(0, len(ref_images), step)] or [np.zeros(0, np.float32)])


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
    """Indices (Q, k) of the k nearest rows of `space` (Euclidean) for each query, nearest first."""
    d2 = sq_distances(queries, space)
    k = min(k, d2.shape[1])
    idx = np.argpartition(d2, k - 1, axis=1)[:, :k]
    order = np.take_along_axis(d2, idx, 1).argsort(1, kind="stable")
    return np.take_along_axis(idx, order, 1)


# ---- the reference errors an upload is ranked against -------------------------------------------

class ReferenceErrors(NamedTuple):
    errors: np.ndarray           # (N,) pixel MSE of reference images
    source: str                  # for a caption: what these errors are
    warning: str | None = None   # for st.warning: why the shipped errors were not used (else None)


def shipped_errors(model, maps_dir) -> tuple[np.ndarray | None, str]:
    """A GAN's reference inversion errors shipped in `maps_dir` (scripts/build_maps.py), and where
    they came from; or (None, why not) in words for a person."""
    path = Path(maps_dir) / errors_file(model)
    if not path.is_file():
        return None, (f"{path.name} is not in {path.parent} (scripts/build_maps.py writes it for "
                      "these weights)")
    try:
        with np.load(path, allow_pickle=False) as f:
            err = np.asarray(f["errors"], np.float64)
    except (OSError, ValueError, KeyError, EOFError) as e:
        return None, f"{path.name} cannot be read ({type(e).__name__}: {e})"
    if err.ndim != 1 or len(err) == 0 or not np.isfinite(err).all() or (err < 0).any():
        return None, f"{path.name} holds no usable errors (shape {err.shape})"
    return err, path.name


def load_reference_errors(model, ref_images: np.ndarray, maps_dir, progress=None,
                          slot=None) -> ReferenceErrors:
    """The errors uploads are ranked against: a VAE's on every reference image; a GAN's shipped
    inversions, or (visibly, with the reason) a few inverted now when those cannot be used: inside
    `slot()` (a context manager; default: one of the server's inversion slots, `jobs.inversions()`),
    so they queue with every other inversion."""
    if model.kind != "gan":
        err = reference_errors(model, ref_images, progress=progress)
        return ReferenceErrors(err, f"all {len(err):,} reference images")
    err, why = shipped_errors(model, maps_dir)
    if err is not None:
        return ReferenceErrors(err, f"{len(err)} reference images inverted ahead of time ({why})")
    if slot is None:
        from playground import jobs
        slot = jobs.inversions().hold
    with slot():
        err = reference_errors(model, ref_images, n=GAN_LIVE_IMAGES, progress=progress)
    return ReferenceErrors(
        err, f"only {len(err)} reference images, inverted just now",
        f"The shipped inversion errors of {model.name} were not used: {why}. The percentile is "
        f"ranked against only {len(err)} reference images inverted just now, so it is coarse.")


# ---- files kept for the session -------------------------------------------------------------------

def unique_names(names) -> list[str]:
    """Names made distinct for display and as keys: a second 'a.png' becomes 'a.png (2)', or the
    next free number when a file is really called 'a.png (2)'."""
    seen: dict[str, int] = {}
    used: set[str] = set()
    out = []
    for name in names:
        n = seen.get(name, 0) + 1
        shown = name if n == 1 else f"{name} ({n})"
        while shown in used:
            n += 1
            shown = f"{name} ({n})"
        seen[name] = n
        used.add(shown)
        out.append(shown)
    return out


def keep_latest(files, max_files: int = MAX_KEPT_FILES, max_bytes: int = MAX_KEPT_BYTES) -> list:
    """The newest (last) of `files` [(name, bytes), ...] within both bounds, in their order."""
    kept, total = [], 0
    for name, data in reversed(list(files)):
        if len(kept) >= max_files or total + len(data) > max_bytes:
            break
        kept.append((name, data))
        total += len(data)
    return kept[::-1]
