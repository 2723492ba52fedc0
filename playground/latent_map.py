"""The latent map: every reference point's latent code, its 2-D position and its class.

- VAE: the reference images' posterior means, projected (or the latent plane itself when d = 2).
- GAN: z is isotropic Gaussian, so a projection of raw z is one blob. Instead we draw samples, decode
  them, and lay them out by the data set's classifier features of the *generated images*; each point
  keeps its z for decoding, and its colour is the classifier's predicted class.

Maps are cached on disk as npz (no pickles), keyed by the checkpoint's weights hash, the reference
data, the projection and its parameters, so a changed checkpoint never reuses a stale map.
"""
from __future__ import annotations

import os
import zipfile
import zlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

import models

from .batches import images_per_batch
from .projection import KNNInverse, Progress, make

from .map_keys import GAN_POINTS, GAN_SEED, MAP_VERSION, decode_y, encode_y, map_file, map_key  # noqa: F401


class _UserCache:
    """build_map's default write_dir: the folder `user_maps()` names at the time of the call."""


USER_CACHE = _UserCache()
NO_CLASSIFIER_SOURCE = "no classifier"      # label_source of a map without classes (one colour)


def user_maps() -> Path:
    """The user's map cache ($LATENT_PLAYGROUND_CACHE/maps, else ~/.cache/latent-playground/maps):
    read at call time, because the variable may be set after import (a test, a script)."""
    return Path(os.environ.get("LATENT_PLAYGROUND_CACHE",
                               Path.home() / ".cache" / "latent-playground")) / "maps"


@dataclass
class LatentMap:
    model: str
    method: str
    z: np.ndarray                  # (N, d) latent code of each point
    space: np.ndarray              # (N, k) what was projected (z itself, or image features)
    y: np.ndarray                  # (N, 2) position on the map
    labels: np.ndarray             # (N,) class index
    label_source: str              # "true class" or "classifier's guess"
    images: np.ndarray             # uint8 (N, H, W) or (N, 3, H, W): reference images, or decoded GAN samples
    projection: object
    embed: Callable[[np.ndarray], np.ndarray] | None = None   # latent codes -> projected space
    from_cache: bool = False
    training: np.ndarray | None = None                          # (N,) bool: a training image (VAE)
    cache_name: str = ""                                        # file name of its cache entry
    inverse_: KNNInverse = field(init=False, repr=False)

    def __post_init__(self):
        self.inverse_ = KNNInverse(k=8, power=2.0, keep_norm=not self.exact).fit(self.y, self.z)

    @property
    def exact(self) -> bool:
        """True when the map's inverse is exact (a linear projection of the latent codes)."""
        return getattr(self.projection, "exact_inverse", False) and self.embed is None

    def to_latent(self, y, base=None) -> np.ndarray:
        """Map positions back to latent codes: exact for PCA / the latent plane, learned otherwise."""
        if self.exact:
            return self.projection.inverse(y, base)
        return self.inverse_.predict(y)

    def place(self, z) -> np.ndarray:
        """Positions of new latent codes in this (fixed) map."""
        z = np.asarray(z, np.float32).reshape(-1, self.z.shape[1])
        v = self.embed(z) if self.embed is not None else z
        return self.projection.transform(v)

    def extent(self, lo: float = 1.0, hi: float = 99.0, margin: float = 0.05) -> np.ndarray:
        """[[xmin, xmax], [ymin, ymax]] covering the bulk of the points."""
        a, b = np.percentile(self.y, [lo, hi], axis=0)
        pad = (b - a) * margin
        return np.stack([a - pad, b + pad], 1)

    def grid(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """An n x n grid over the extent: (xs, ys, points) with row 0 at the top (largest y)."""
        (x0, x1), (y0, y1) = self.extent()
        xs, ys = np.linspace(x0, x1, n), np.linspace(y1, y0, n)
        gx, gy = np.meshgrid(xs, ys)
        return xs, ys, np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)


def shipped_maps() -> Path:
    """The folder of precomputed maps shipped with the checkpoints: read at call time, because
    `models.CHECKPOINTS` may be pointed elsewhere after import."""
    return Path(models.CHECKPOINTS) / models.MAPS_DIR


def describe_inverse(lmap: LatentMap) -> str:
    """One sentence, for a caption: how a position on this map becomes a latent code."""
    if lmap.method == "latent":
        return "The latent plane itself: each position is its own code (z₁, z₂)."
    if lmap.exact:
        return ("PCA is a linear projection, so it inverts exactly; the components the map does not "
                "show are held fixed.")
    what = {"pca": "PCA", "tsne": "t-SNE"}.get(lmap.method, lmap.method)
    if lmap.embed is not None:
        what += (f" of the generated images' pixels{describe_pixels(lmap.images)}"
                 if lmap.label_source == NO_CLASSIFIER_SOURCE else " of the generated images' classifier features")
    return (f"{what} has no inverse back to the latent code: each position maps to a "
            f"distance-weighted blend of the codes of its {lmap.inverse_.k} nearest points on the map, "
            "so between clusters the model is guessing.")


def describe_placement(lmap: LatentMap) -> str:
    """For a caption: how new codes (uploads) are placed on this map, as it is never recomputed."""
    if lmap.method == "latent":
        return "placed at their own codes (the latent plane needs no projection)."
    if lmap.method == "pca":
        return "placed exactly by the map's own linear projection" + (
            "." if lmap.embed is None else f" of the decoded image's pixels{describe_pixels(lmap.images)}."
            if lmap.label_source == NO_CLASSIFIER_SOURCE else " of the classifier's features of the decoded image.")
    return ("placed among their nearest map points (t-SNE has no formula for new points; the map is "
            "never recomputed).")


def knn_agreement(y: np.ndarray, labels: np.ndarray, k: int = 10) -> float:
    """Mean share of each point's k nearest map neighbours that have its class (chance ~ 1/classes)."""
    from sklearn.neighbors import NearestNeighbors         # only benches and scripts measure this
    idx = NearestNeighbors(n_neighbors=k + 1).fit(y).kneighbors(y, return_distance=False)[:, 1:]
    return float((labels[idx] == labels[:, None]).mean())


def methods_for(latent_dim: int) -> list[str]:
    return (["latent"] if latent_dim == 2 else []) + ["pca", "tsne"]


def cache_key(model, method: str, ref_images: np.ndarray | None, classifier=None,
              params: dict | None = None, training: np.ndarray | None = None) -> str:
    return map_key(model.card["weights"]["sha256"], model.kind, method, ref_images,
                   None if classifier is None else classifier.card["weights"]["sha256"], params, training)


def _read_cache(name: str, n: int, dirs) -> dict | None:
    for d in dirs:
        path = Path(d) / name
        if not path.is_file():
            continue
        try:
            with np.load(path, allow_pickle=False) as f:
                arrays = {k: f[k] for k in f.files}
            y = decode_y(arrays)
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error):
            continue                                     # unreadable cache: recompute, never crash
        if y is not None and y.shape == (n, 2):
            return dict(arrays, y=y)
    return None


def _write_cache(path: Path, **arrays) -> None:
    """Atomic: a temp file beside the target, then a rename."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.stem, suffix=".tmp.npz", dir=path.parent)
        os.close(fd)
        np.savez_compressed(tmp, **arrays)
        os.replace(tmp, path)
    except OSError:
        pass                                             # a read-only disk only costs speed


def gan_embedder(model, classifier) -> Callable[[np.ndarray], np.ndarray]:
    def embed(z):
        return classifier.features(model.decode(z))
    return embed


@dataclass
class MapCodes:
    """What a map is made of, before projection: each point's latent code and what gets projected."""
    z: np.ndarray                  # (N, d) latent codes
    images: np.ndarray             # uint8 (N, H, W) or (N, 3, H, W)
    label_source: str
    key_parts: tuple               # what the cache name depends on, besides model, method and params
    space: np.ndarray | None = None          # (N, k) what is projected; None until known (GAN)
    training: np.ndarray | None = None       # (N,) bool: the model was trained on this image
    labels: np.ndarray | None = None
    embed: Callable[[np.ndarray], np.ndarray] | None = None
    complete: Callable[[], tuple[np.ndarray, np.ndarray]] | None = None   # computes space, labels
    key_params: dict = field(default_factory=dict)     # how `space` was made, for the cache name


ENCODE_BATCH = 2000      # images encoded at once, at most; fewer when big (batches.images_per_batch)


def vae_codes(model, reference, say: Progress) -> MapCodes:
    """A VAE's map: the images' posterior means, coloured by their true class. `reference` is
    (images, labels) (all held out), or a `map_points.Pool` that marks its training images."""
    training = getattr(reference, "training", None)
    images, labels = (reference.images, reference.labels) if training is not None else reference
    shape = tuple(getattr(model, "image_shape", models.latent_model.IMAGE_SHAPE))
    parts, step = [], images_per_batch(shape, most=ENCODE_BATCH)     # 170 at a time at 3 x 128 x 128
    for start in range(0, len(images), step):
        say(0.2 * start / len(images), f"Step 1 of 2, encoding {len(images):,} images: {start:,} done…")
        parts.append(model.encode(models.latent_model.stored_to_input(images[start:start + step], shape)))
    z = np.concatenate(parts) if parts else np.zeros((0, model.latent_dim), np.float32)
    source = "true class" if len(getattr(model, "class_names", "ab")) > 1 else NO_CLASSIFIER_SOURCE
    return MapCodes(z, images, source, (images, None), space=z, labels=labels, training=training)


PIXEL_BUDGET = 1024      # a map laid out by pixels: each image averaged down to at most this many numbers
DECODE_BATCH = 256       # GAN samples decoded at once for a map laid out by pixels, at most (fewer when big)


def area_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights of area averaging (a box filter of any ratio): output pixel i is the
    mean of the input over [i, i + 1) * n_in / n_out, partial pixels weighted by their overlap."""
    edges = np.arange(n_out + 1) * (n_in / n_out)
    lo, hi = edges[:-1, None], edges[1:, None]
    j = np.arange(n_in)[None]
    overlap = np.clip(np.minimum(hi, j + 1) - np.maximum(lo, j), 0, None)
    return (overlap / (n_in / n_out)).astype(np.float32)


def pixel_side(c: int, h: int, w: int, budget: int | None = None) -> tuple[int, int]:
    """The (height, width) each channel is averaged down to, so c * height * width <= budget
    (default PIXEL_BUDGET, read at call time, as the cache name reads it), the aspect kept: 32 x 32
    grey, 18 x 18 in colour for a square image; smaller images as they are."""
    budget = PIXEL_BUDGET if budget is None else budget
    scale = min(1.0, (budget / (c * h * w)) ** 0.5)
    return max(1, int(h * scale + 1e-9)), max(1, int(w * scale + 1e-9))


def pixel_features(x: np.ndarray, budget: int | None = None) -> np.ndarray:
    """Decoded images float32 (N, C, H, W) -> (N, C * h * w) with at most `budget` numbers: each
    channel area-averaged down (a 128 x 128 RGB image: 972 numbers, not 49,152), so a map laid out
    by pixels costs about the same memory and time whatever the model's size (its PCA is an SVD of
    3,000 x that many). Images this small are kept as they are."""
    x = np.asarray(x, np.float32)
    n, c, h, w = x.shape
    oh, ow = pixel_side(c, h, w, budget)
    if (oh, ow) != (h, w):
        x = area_matrix(h, oh) @ x @ area_matrix(w, ow).T
    return x.reshape(n, -1)


def pixel_embedder(model) -> Callable[[np.ndarray], np.ndarray]:
    def embed(z):
        return pixel_features(model.decode(z))
    return embed


def describe_pixels(images: np.ndarray) -> str:
    """How the decoded pixels of a map laid out by them were counted (images as stored)."""
    c, (h, w) = (images.shape[1] if images.ndim == 4 else 1), images.shape[-2:]
    oh, ow = pixel_side(c, h, w)
    return "" if (oh, ow) == (h, w) else f", averaged down to {oh} × {ow}" + (" per channel" if c > 1 else "")


def gan_codes(model, classifier, say: Progress) -> MapCodes:
    """A GAN's map: seeded samples laid out by the classifier's features of the generated images
    (computed only when no cache holds them), coloured by the class the classifier sees. Without a
    classifier (a model brought by its person): laid out by the decoded pixels (`pixel_features`:
    averaged down to at most PIXEL_BUDGET numbers, decoded in batches), one colour."""
    z = model.sample(GAN_POINTS, seed=GAN_SEED)
    if classifier is None:        # in batches: only the stored images and the averaged pixels stay
        images, space = [], []
        shape = tuple(getattr(model, "image_shape", models.latent_model.IMAGE_SHAPE))
        step = images_per_batch(shape, most=DECODE_BATCH)
        for start in range(0, len(z), step):
            say(0.2 * start / len(z), f"Step 1 of 2, decoding {len(z):,} GAN samples: {start:,} done…")
            x = model.decode(z[start:start + step])
            images.append(models.latent_model.input_to_stored(x))
            space.append(pixel_features(x))
        return MapCodes(z, np.concatenate(images), NO_CLASSIFIER_SOURCE, (None, None),
                        embed=pixel_embedder(model), space=np.concatenate(space),
                        labels=np.zeros(len(z), np.int64),
                        key_params=dict(pixels=f"area, at most {PIXEL_BUDGET}", n=GAN_POINTS, seed=GAN_SEED))
    say(0.0, "Step 1 of 2, decoding GAN samples…")
    decoded = model.decode(z)
    images = models.latent_model.input_to_stored(decoded)

    def complete():
        say(0.1, "Step 1 of 2, classifying the generated images…")
        return classifier.features(decoded), classifier.predict_proba(decoded).argmax(1)

    return MapCodes(z, images, "classifier's guess", (None, classifier),
                    embed=gan_embedder(model, classifier), complete=complete)


def map_codes(model, reference=None, classifier=None, say: Progress | None = None) -> MapCodes:
    say = say or (lambda f, t: None)
    if model.kind == "vae":
        return vae_codes(model, reference, say)
    if model.kind == "gan":
        return gan_codes(model, classifier, say)
    raise ValueError(f"{model.name} is a {model.kind}: it has no latent space to map")


def project(model, codes: MapCodes, method: str, progress: Progress | None = None,
            cache_dirs=None, write_dir: Path | None = None) -> LatentMap:
    """Project the codes to 2-D, reusing a cached projection of the same inputs (shipped or the
    user's cache, keyed by weights hash, reference data, method and parameters) or writing one."""
    say = progress or (lambda f, t: None)
    cache_dirs = (shipped_maps(), user_maps()) if cache_dirs is None else cache_dirs
    proj = make(method)
    params = {k: v for k, v in vars(proj).items() if not k.endswith("_")} | codes.key_params
    if method == "latent" and codes.z.shape[1] != 2:
        raise ValueError("the latent plane is only for 2-D latent spaces")
    key = cache_key(model, method, *codes.key_parts, params=params, training=codes.training)
    fname = map_file(model.name, method, key)
    cached = _read_cache(fname, len(codes.z), cache_dirs)
    space, labels = codes.space, codes.labels
    if space is None:
        if cached is not None and "space" in cached:
            space, labels = cached["space"].astype(np.float32), cached["labels"].astype(np.int64)
        else:
            space, labels = codes.complete()
    if cached is not None:
        if method == "tsne":
            y = cached["y"].astype(np.float32)
            proj.fit(space, embedding=y)
        else:                                            # exact and cheap: computed, never rounded
            y = proj.fit(space).embedding_
    else:
        say(0.2, f"Step 2 of 2, projecting {len(space):,} points…")
        y = proj.fit_transform(space, progress=lambda f, t: say(0.2 + 0.8 * f, t))
        if method == "tsne":                             # as the cache keeps it: the same map next time
            y = decode_y(encode_y(y))
            proj.fit(space, embedding=y)
        if write_dir is not None:
            extra = dict(space=space.astype(np.float16), labels=labels.astype(np.int16)) \
                if codes.complete is not None else {}     # pixels are cheaper to redo than to store
            _write_cache(Path(write_dir) / fname, **encode_y(y), **extra)
    say(1.0, "Map ready")
    return LatentMap(model.name, method, codes.z.astype(np.float32), np.asarray(space, np.float32),
                     y.astype(np.float32), np.asarray(labels, np.int64), codes.label_source, codes.images,
                     proj, codes.embed, from_cache=cached is not None, cache_name=fname,
                     training=None if codes.training is None else np.asarray(codes.training, bool))


def build_map(model, method: str, reference=None,
              classifier=None, progress: Progress | None = None,
              cache_dirs=None, write_dir: Path | _UserCache | None = USER_CACHE) -> LatentMap:
    """Encode (VAE: `reference` is (images, labels) or a `map_points.Pool`) or sample (GAN), then
    project with a cache. `progress(fraction, text)` reports.
    A map computed here is written to `write_dir` (by default `user_maps()`; None: nowhere)."""
    write_dir = user_maps() if write_dir is USER_CACHE else write_dir
    codes = map_codes(model, reference, classifier, progress)
    return project(model, codes, method, progress, cache_dirs=cache_dirs, write_dir=write_dir)
