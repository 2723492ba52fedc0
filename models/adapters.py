"""Bring your own model: a Python adapter file, named by the person running the server.

    streamlit run playground/app.py -- --model path/to/my_vae.py [--reference DIR]
    models.load("path/to/my_vae.py")

The file defines `load()`, returning an object with `kind` ("vae" or "gan"), `latent_dim`,
`image_shape` (C, H, W; C 1 or 3, sides 8 to 128), optional `name` (default: the file's stem) and
`class_names`; `decode(z)`: float32 (N, d) -> float32 (N, C, H, W) in [0, 1]; for a VAE
`encode(x)`: float32 (N, C, H, W) in [0, 1] -> (N, d); optional `sample(n, seed)` and
`reference()` -> (uint8 images (N, C, H, W), labels or None); optional `weights_files` (paths,
relative to the adapter file's folder, of the files `load()` reads: their content is part of the
model's "weights sha256", so retraining them gives new cache keys) and `version` (a string, also
hashed: for weights the file cannot name).

The adapter is code, so it is only ever named on the server's command line (or in an environment
variable), never taken from a browser. Every call into it is checked: an exception, a wrong shape
or dtype, values outside [0, 1], NaN, or a call that takes over `TIMEOUT_S` raises `AdapterError`
(a `CheckpointError`) with the reason in words. Only a failed load or probe, a failed reference set
and a timed-out call (while its thread still runs) mark the model broken for everyone; a bad answer
to one input (`BadAnswer`: an exception, NaN, a wrong shape or range) fails that page only, and the
model stays usable. A failed load is retried after `RETRY_S`.
"""
from __future__ import annotations

import hashlib
import importlib.util
import sys
import threading
import time
from pathlib import Path

import numpy as np

from .checkpoint import FORMAT, CheckpointError
from .latent_model import LatentModel, as_images, check_image_shape, input_to_stored

TIMEOUT_S = 10.0            # one call into an adapter (a batch of at most BATCH)
BATCH = 256                 # codes or images per call, so a big request is many short calls
RANGE_TOLERANCE = 1e-4      # float rounding just past 0 or 1 is clipped, more is refused
MAX_REFERENCE = 5000        # reference images kept (the first, in file order)
PRIOR_REFERENCE = 1000      # without a reference: this many decoded prior samples (seed 0)
PREFIX = "adapter:"         # the data set name of an adapter model starts with this
MAX_LOADED = 32             # adapter files (and their versions) kept loaded in this process
RETRY_S = 60.0              # a failed load is tried again after this long (it may have been slow)


class AdapterError(CheckpointError):
    """An adapter that cannot be used; `str()` names the file and what went wrong, for a person.
    `broken`: whether the model is listed broken for everyone (False: this one input failed)."""
    broken = True


class BadAnswer(AdapterError):
    """The adapter's answer to one input was wrong (an exception, NaN, a shape or range): that page
    fails, in words; the model stays usable."""
    broken = False


class Timeout(AdapterError):
    """A call ran past its limit; `thread` is the call, left running (Python cannot stop it)."""

    def __init__(self, path, problem: str, thread: threading.Thread):
        super().__init__(path, problem)
        self.thread = thread


# (path, sha256) -> (why, thread): broken while `thread` runs (a timed-out call), or for good (None)
_broken: dict[tuple[str, str], tuple[str, threading.Thread | None]] = {}
_by_dataset: dict[str, "AdapterModel"] = {}  # data set name -> model, for models.reference
_loaded: dict[tuple[str, str, str], "AdapterModel | tuple[AdapterError, float]"] = {}
_declared: dict[str, tuple[tuple[str, ...], str]] = {}   # path -> (weights_files, version) at its last load
_lock = threading.Lock()


def is_adapter(m) -> bool:
    """Whether a model (or its card, a dict) was brought as an adapter file: the one test for it."""
    if isinstance(m, AdapterModel):
        return True
    card = m if isinstance(m, dict) or m is None else getattr(m, "card", None)
    return bool(card) and (card.get("source") or {}).get("type") == "adapter"


def broken_reason(path, sha: str) -> str | None:
    key = (str(Path(path)), sha)
    got = _broken.get(key)
    if got is None:
        return None
    why, thread = got
    if thread is not None and not thread.is_alive():   # the slow call has finished: usable again
        _broken.pop(key, None)
        return None
    return why


def _mark_broken(path, sha: str, e: AdapterError) -> None:
    _broken[(str(Path(path)), sha)] = (e.problem, getattr(e, "thread", None))


def call(fn, *args, what: str, path, timeout: float | None = None):
    """fn(*args) in a thread of its own, at most `timeout` seconds; any exception, or the time
    running out, becomes an AdapterError that says so. A call that never returns is left behind
    (Python cannot stop a thread), and its model is broken from then on."""
    timeout = TIMEOUT_S if timeout is None else timeout
    box: dict = {}

    def run():
        try:
            box["value"] = fn(*args)
        except BaseException as e:     # noqa: BLE001  (SystemExit from an adapter must not end the server)
            box["error"] = e

    t = threading.Thread(target=run, daemon=True, name=f"adapter {what}")
    t.start()
    t.join(timeout)
    if t.is_alive():
        raise Timeout(path, f"{what} took over {timeout:g} s (the limit for one call)", t)
    if "error" in box:
        e = box["error"]
        raise AdapterError(path, f"{what} raised {type(e).__name__}: {str(e)[:300] or 'no message'}")
    return box["value"]


def check_array(a, shape: tuple, what: str, path, *, unit: bool = False, exact_float32: bool = True) -> np.ndarray:
    """The adapter's answer, checked: a numpy array of `shape` (None: any size), float32 (or any
    float when not `exact_float32`), finite, and in [0, 1] when `unit`."""
    if not isinstance(a, np.ndarray):
        raise AdapterError(path, f"{what} returned {type(a).__name__}, not a numpy array")
    if a.ndim != len(shape) or any(s is not None and s != n for s, n in zip(shape, a.shape)):
        want = "(" + ", ".join("N" if s is None else str(s) for s in shape) + ")"
        raise AdapterError(path, f"{what} returned shape {tuple(a.shape)}; expected {want}")
    if exact_float32 and a.dtype != np.float32:
        raise AdapterError(path, f"{what} returned dtype {a.dtype}; expected float32")
    if not np.issubdtype(a.dtype, np.floating):
        raise AdapterError(path, f"{what} returned dtype {a.dtype}; expected floats")
    if not np.isfinite(a).all():
        raise AdapterError(path, f"{what} returned NaN or infinite values "
                                 f"({int((~np.isfinite(a)).sum())} of {a.size})")
    if unit and a.size and (a.min() < -RANGE_TOLERANCE or a.max() > 1 + RANGE_TOLERANCE):
        raise AdapterError(path, f"{what} returned values from {float(a.min()):.3g} to "
                                 f"{float(a.max()):.3g}; images must be in [0, 1]")
    return np.clip(a, 0, 1).astype(np.float32) if unit else a.astype(np.float32)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def declared(obj, path: Path) -> tuple[tuple[str, ...], str]:
    """(weights files as absolute paths, version) an adapter object declares; AdapterError if odd."""
    files = getattr(obj, "weights_files", None) or ()
    version = getattr(obj, "version", None)
    if isinstance(files, (str, Path)) or not all(isinstance(f, (str, Path)) for f in files):
        raise AdapterError(path, "weights_files must be a list of file paths")
    if version is not None and not isinstance(version, str):
        raise AdapterError(path, f"version must be a string, not {type(version).__name__}")
    return tuple(str((Path(path).parent / Path(f).expanduser()).resolve()) for f in files), version or ""


def source_sha(path, files: tuple[str, ...] | None = None, version: str | None = None) -> str:
    """The adapter's "weights sha256", in every cache key: the file's sha256, or, when it declares
    `weights_files` or a `version`, the sha256 of the file's hash, each declared file's name and
    hash, and the version. Without `files`, those declared at this path's last load are used.
    OSError when a file cannot be read."""
    path = Path(path)
    own = file_sha256(path)
    if files is None:
        files, version = _declared.get(str(path), ((), ""))
    if not files and not version:
        return own
    h = hashlib.sha256(f"adapter {own}\n".encode())
    for f in files:
        h.update(f"{Path(f).name} {file_sha256(Path(f))}\n".encode())
    h.update(f"version {version or ''}\n".encode())
    return h.hexdigest()


class AdapterModel(LatentModel):
    """An adapter wrapped in the `LatentModel` interface: numpy in and out, every answer checked."""

    def __init__(self, name: str, card: dict, obj, path: Path, reference_dir: Path | None = None):
        super().__init__(name=name, card=card, modules={})
        self.obj, self.path, self.reference_dir = obj, Path(path), reference_dir
        self.reference_note = ""
        self.reference_generated = False          # True when the "reference" is decoded prior samples
        self._reference = None
        self._ref_lock = threading.Lock()
        self._call_lock = threading.Lock()       # one call at a time: adapter code need not be thread-safe

    @property
    def sha(self) -> str:
        return self.card["weights"]["sha256"]

    def _guard(self, fn, *args, what: str, shape: tuple, unit: bool = False, exact: bool = True):
        why = broken_reason(self.path, self.sha)
        if why:
            raise AdapterError(self.path, why)
        try:
            with self._call_lock:
                got = call(fn, *args, what=what, path=self.path)
            return check_array(got, shape, what, self.path, unit=unit, exact_float32=exact)
        except Timeout as e:             # its thread still runs: broken until it ends
            _mark_broken(self.path, self.sha, e)
            raise
        except AdapterError as e:        # this input's answer only: the model stays usable
            raise BadAnswer(self.path, f"the adapter gave a bad answer for this input: {e.problem}") from None

    def decode(self, z) -> np.ndarray:
        z = self._latents(z).numpy()
        c, h, w = self.image_shape
        out = [self._guard(self.obj.decode, z[i:i + BATCH], what="decode", shape=(len(z[i:i + BATCH]), c, h, w),
                           unit=True) for i in range(0, len(z), BATCH)]
        return np.concatenate(out) if out else np.zeros((0, c, h, w), np.float32)

    def encode(self, x) -> np.ndarray:
        if self.kind != "vae":
            raise TypeError(f"{self.name} is a {self.kind}: it has no encoder; "
                            "a GAN needs inversion by optimisation to find a latent code")
        x = as_images(x, self.image_shape).numpy()
        out = [self._guard(self.obj.encode, x[i:i + BATCH], what="encode", shape=(len(x[i:i + BATCH]), self.latent_dim),
                           exact=False) for i in range(0, len(x), BATCH)]
        return np.concatenate(out) if out else np.zeros((0, self.latent_dim), np.float32)

    def posterior(self, x):
        raise TypeError(f"{self.name} is an adapter: it gives the posterior mean (encode) only, "
                        "not its variance")

    def sample(self, n: int, seed: int | None = None, temperature: float = 1.0,
               truncation: float | None = None) -> np.ndarray:
        """The adapter's own `sample(n, seed)` when it has one (temperature scales it; truncation
        uses the standard normal), else the standard normal prior."""
        if not hasattr(self.obj, "sample") or truncation is not None:
            return super().sample(n, seed, temperature, truncation)
        z = self._guard(self.obj.sample, int(n), seed, what="sample", shape=(int(n), self.latent_dim), exact=False)
        return (z * float(temperature)).astype(np.float32)

    # ---- the reference set -------------------------------------------------------------------
    def reference_set(self) -> tuple[np.ndarray, np.ndarray]:
        """(uint8 images as stored, labels): the adapter's `reference()`, else the `--reference`
        folder, else decoded prior samples (said in `reference_note`). Computed once."""
        with self._ref_lock:
            if self._reference is None:
                try:
                    self._reference = self._read_reference()
                except AdapterError as e:         # the model is broken, not just one page
                    why = f"its reference images: {e}"
                    _broken[(str(self.path), self.sha)] = (why, None)
                    raise AdapterError(self.path, why) from None
                for a in self._reference:
                    a.setflags(write=False)
            return self._reference

    def _read_reference(self):
        c, h, w = self.image_shape
        if hasattr(self.obj, "reference"):
            got = call(self.obj.reference, what="reference", path=self.path, timeout=10 * TIMEOUT_S)
            if not (isinstance(got, tuple) and len(got) == 2):
                raise AdapterError(self.path, "reference() must return (images, labels or None)")
            images, labels = got
            if isinstance(images, np.ndarray) and images.ndim == 3 and c == 1:
                images = images[:, None]
            if not (isinstance(images, np.ndarray) and images.dtype == np.uint8
                    and images.shape[1:] == (c, h, w)):
                raise AdapterError(self.path, f"reference() images must be uint8 (N, {c}, {h}, {w}); got "
                                              f"{getattr(images, 'dtype', type(images).__name__)} "
                                              f"{tuple(getattr(images, 'shape', ()))}")
            images = images[:MAX_REFERENCE]
            self.reference_note = f"{len(images):,} reference images from the adapter's reference()"
            return input_to_stored(images.astype(np.float32) / 255), self._labels(labels, len(images))
        if self.reference_dir is not None:
            images, skipped = read_image_folder(self.reference_dir, self.image_shape)
            if not len(images):
                raise AdapterError(self.reference_dir, f"no readable images for a {c}×{h}×{w} model "
                                                       f"({skipped} unreadable file(s) skipped)")
            self.reference_note = (f"{len(images):,} reference images from {self.reference_dir}"
                                   + (f"; {skipped} unreadable file(s) skipped" if skipped else ""))
            return input_to_stored(images), np.zeros(len(images), np.int64)
        z = super().sample(PRIOR_REFERENCE, seed=0)
        self.reference_generated = True
        self.reference_note = (f"no reference images were given: the map shows {PRIOR_REFERENCE:,} "
                               "images decoded from prior samples (seed 0)")
        return input_to_stored(self.decode(z)), np.zeros(PRIOR_REFERENCE, np.int64)

    def _labels(self, labels, n: int) -> np.ndarray:
        if labels is None:
            return np.zeros(n, np.int64)
        y = np.asarray(labels)
        if y.ndim != 1 or len(y) < n or not np.issubdtype(y.dtype, np.integer) \
                or (n and (y[:n].min() < 0 or y[:n].max() >= len(self.class_names))):
            raise AdapterError(self.path, f"reference() labels must be N integers from 0 to "
                                          f"{len(self.class_names) - 1} (one per class name)")
        return y[:n].astype(np.int64)


def read_image_folder(folder, shape, limit: int = MAX_REFERENCE) -> tuple[np.ndarray, int]:
    """Every image file under `folder` (sorted, recursive), as float32 (N, C, H, W) in [0, 1]
    resized to `shape`; unreadable files are skipped and counted. Returns (images, skipped)."""
    from PIL import Image, ImageOps, UnidentifiedImageError
    c, h, w = shape
    folder = Path(folder)
    if not folder.is_dir():
        raise AdapterError(folder, "reference folder does not exist")
    out, skipped = [], 0
    for p in sorted(q for q in folder.rglob("*") if q.is_file() and not q.name.startswith(".")):
        if len(out) >= limit:
            break
        try:
            with Image.open(p) as im:
                im = ImageOps.exif_transpose(im).convert("L" if c == 1 else "RGB")
                a = np.asarray(im.resize((w, h), Image.LANCZOS), np.float32) / 255.0
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
            skipped += 1
            continue
        out.append(a[None] if c == 1 else a.transpose(2, 0, 1))
    return (np.stack(out) if out else np.zeros((0, c, h, w), np.float32)), skipped


def _import(path: Path, sha: str):
    spec = importlib.util.spec_from_file_location(f"latent_playground_adapter_{sha[:16]}", path)
    if spec is None or spec.loader is None:
        raise AdapterError(path, "not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module          # dataclasses and pickling-free helpers look it up

    def run():
        spec.loader.exec_module(module)
        return module
    try:
        return call(run, what="importing the file", path=path)
    except AdapterError:
        sys.modules.pop(spec.name, None)
        raise


def _build(path: Path, reference_dir: Path | None) -> AdapterModel:
    if not path.is_file():
        raise AdapterError(path, "no such adapter file")
    if path.suffix != ".py":
        raise AdapterError(path, "an adapter is a Python file (.py)")
    module = _import(path, file_sha256(path))
    if not callable(getattr(module, "load", None)):
        raise AdapterError(path, "the file defines no load() function")
    obj = call(module.load, what="load()", path=path)
    files, version = declared(obj, path)
    try:
        sha = source_sha(path, files, version)
    except OSError as e:
        raise AdapterError(path, f"a declared weights file cannot be read: {e}") from None
    _declared[str(path)] = (files, version)
    problems = []
    kind = getattr(obj, "kind", None)
    if kind not in ("vae", "gan"):
        problems.append(f"kind must be 'vae' or 'gan', not {kind!r}")
    d = getattr(obj, "latent_dim", None)
    if not (isinstance(d, (int, np.integer)) and not isinstance(d, bool) and 1 <= d <= 4096):
        problems.append(f"latent_dim must be an integer from 1 to 4096, not {d!r}")
    try:
        shape = check_image_shape(getattr(obj, "image_shape", None))
    except ValueError as e:
        problems.append(str(e))
        shape = None
    if not callable(getattr(obj, "decode", None)):
        problems.append("it has no decode(z) method")
    if kind == "vae" and not callable(getattr(obj, "encode", None)):
        problems.append("a VAE needs an encode(x) method")
    names = getattr(obj, "class_names", None)
    if names is not None and not (isinstance(names, (list, tuple)) and names
                                  and all(isinstance(n, str) for n in names)):
        problems.append("class_names must be a non-empty list of strings")
    name = getattr(obj, "name", None) or path.stem
    if not isinstance(name, str) or not name.strip() or len(name) > 80:
        problems.append("name must be a short non-empty string")
    if problems:
        raise AdapterError(path, "; ".join(problems))
    card = {"format": FORMAT, "name": name, "kind": kind, "architecture": {},
            "latent_dim": int(d), "image_shape": list(shape),
            "dataset": {"name": f"{PREFIX}{name}:{sha[:12]}" + (        # its --reference folder's set
                f":{hashlib.sha256(str(reference_dir).encode()).hexdigest()[:12]}" if reference_dir else ""),
                "source": f"adapter {path.name}"},
            "class_names": list(names) if names else ["image"],
            "classifier": None, "training": {}, "metrics": {},
            "weights": {"file": path.name, "sha256": sha, "bytes": path.stat().st_size},
            "source": {"type": "adapter", "path": str(path),
                       "reference": str(reference_dir) if reference_dir else None}}
    model = AdapterModel(name, card, obj, path, reference_dir)
    try:                                            # one small round trip, checked like any other
        probe = model.sample(2, seed=0)
        x = model.decode(probe)
        if kind == "vae":
            model.encode(x)
    except BadAnswer as e:                          # a probe's bad answer is a broken model
        raise AdapterError(path, e.problem.removeprefix("the adapter gave a bad answer for this input: ")) from None
    return model


def load_adapter(path, reference_dir=None) -> AdapterModel:
    """Import, validate and probe an adapter file (once per file content and reference folder);
    raises AdapterError, with the reason in words, for anything wrong."""
    path = Path(path).expanduser().resolve()
    ref = Path(reference_dir).expanduser().resolve() if reference_dir else None
    try:
        sha = source_sha(path)
    except OSError:
        if not path.is_file():
            raise AdapterError(path, "no such adapter file") from None
        sha = ""                             # a declared file went missing: load again, which says so
    key = (str(path), sha, str(ref))
    with _lock:
        hit = _loaded.get(key)
    if isinstance(hit, tuple) and time.monotonic() - hit[1] > RETRY_S:
        hit = None                           # a failed load is tried again after a while
    if hit is None:
        try:
            hit = _build(path, ref)
        except AdapterError as e:
            hit = (AdapterError(e.path, e.problem), time.monotonic())
        except Exception as e:              # noqa: BLE001  (an odd attribute, a strange object)
            hit = (AdapterError(path, f"{type(e).__name__}: {e}"), time.monotonic())
        with _lock:
            _loaded.pop(key, None)
            if isinstance(hit, AdapterModel):
                key = (str(path), hit.sha, str(ref))     # with the declared files' hashes
                _by_dataset[hit.dataset] = hit
            _loaded[key] = hit
            while len(_loaded) > MAX_LOADED:          # an edited file is a new entry: keep the newest
                old = _loaded.pop(next(iter(_loaded)))
                if isinstance(old, AdapterModel) and _by_dataset.get(old.dataset) is old:
                    del _by_dataset[old.dataset]
    if isinstance(hit, tuple):
        raise hit[0]
    sha = hit.sha
    why = broken_reason(path, sha)
    if why:
        raise AdapterError(path, why)
    return hit


def reference(dataset: str) -> tuple[np.ndarray, np.ndarray]:
    """The reference set of an adapter model, by its data set name (`models.reference`)."""
    model = _by_dataset.get(dataset)
    if model is None:
        raise FileNotFoundError(f"no adapter model has the data set {dataset!r}")
    return model.reference_set()
