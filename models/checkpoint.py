"""Checkpoint folders: `<root>/<name>/card.json` + `<root>/<name>/model.safetensors`.

The card (JSON) says what to build and how it was trained; the weights are safetensors. Nothing is
ever unpickled. Anything a card omits or contradicts is a `CheckpointError` naming the file.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import zipfile
from functools import lru_cache

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from .architectures import REGISTRY, build
from . import architectures_external  # noqa: F401,E402  (registers architectures of models trained elsewhere)
from .latent_model import check_image_shape

FORMAT = "latent-playground/1"
CARD_FILE = "card.json"
WEIGHTS_FILE = "model.safetensors"
KINDS = {"vae": ("vae",), "gan": ("generator",), "classifier": ("classifier",)}
REQUIRED = ("format", "name", "kind", "architecture", "latent_dim", "image_shape", "dataset",
            "class_names", "training", "metrics", "weights")
MAX_PARAMETERS = 50_000_000        # a card asking for more is refused before anything is allocated
# (channels, height, width) of the data families the app knows, when their reference set is not
# installed to read it from (models/data.py makes them: MNIST and Fashion-MNIST 28x28 grey, shapes
# 32x32 colour).
FAMILY_SHAPES = {"mnist": (1, 28, 28), "fashion-mnist": (1, 28, 28), "shapes": (3, 32, 32)}


class CheckpointError(Exception):
    """A checkpoint that cannot be trusted or built. `str()` is written for a person."""

    def __init__(self, path: os.PathLike | str, problem: str):
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_card(folder: Path) -> dict:
    """Parse and validate a card (structure only; weights are checked by `load_modules`)."""
    path = Path(folder) / CARD_FILE
    if not path.is_file():
        raise CheckpointError(path, "missing model card (card.json)")
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(path, f"model card is not valid JSON ({e})") from None
    if not isinstance(card, dict):
        raise CheckpointError(path, "model card must be a JSON object")
    missing = [k for k in REQUIRED if k not in card]
    if missing:
        raise CheckpointError(path, f"model card lacks {', '.join(missing)}")
    if card["format"] != FORMAT:
        raise CheckpointError(path, f"unsupported card format {card['format']!r} (expected {FORMAT!r})")
    if card["name"] != Path(folder).name:
        raise CheckpointError(path, f"card names {card['name']!r} but its folder is {Path(folder).name!r}")
    kind = card["kind"]
    if kind not in KINDS:
        raise CheckpointError(path, f"unknown kind {kind!r}; expected one of {sorted(KINDS)}")
    arch = card["architecture"]
    if not isinstance(arch, dict):
        raise CheckpointError(path, "architecture must map module names to {class, args}")
    for needed in KINDS[kind]:
        if needed not in arch:
            raise CheckpointError(path, f"a {kind} card needs an architecture entry {needed!r}")
    for mod, spec in arch.items():
        if not (isinstance(spec, dict) and spec.get("class") in REGISTRY
                and isinstance(spec.get("args", {}), dict)):
            raise CheckpointError(path, f"architecture {mod!r} must be {{class: one of "
                                        f"{sorted(REGISTRY)}, args: {{...}}}}")
    main = arch[KINDS[kind][0]].get("args", {})
    if kind != "classifier" and main.get("latent_dim") != card["latent_dim"]:
        raise CheckpointError(path, f"latent_dim {card['latent_dim']} contradicts the architecture's "
                                    f"{main.get('latent_dim')}")
    try:
        check_image_shape(card["image_shape"])
    except ValueError as e:
        raise CheckpointError(path, str(e)) from None
    if kind != "classifier" and (isinstance(card["latent_dim"], bool) or not isinstance(card["latent_dim"], int)
                                 or card["latent_dim"] < 1):
        raise CheckpointError(path, f"latent_dim must be a whole number of at least 1, not {card['latent_dim']!r}")
    check_meaning(path, card)
    w = card["weights"]
    if not (isinstance(w, dict) and isinstance(w.get("sha256"), str) and w.get("file") == WEIGHTS_FILE):
        raise CheckpointError(path, f"weights must be {{file: {WEIGHTS_FILE!r}, sha256: ..., bytes: ...}}")
    return card


def check_meaning(path: Path, card: dict) -> None:
    """What the pages rely on beyond the structure: class names are strings, the data set is an
    object with a name, and a known data family's pictures have the card's image_shape. Run on
    every card read (shipped, uploaded, --checkpoints) and before a checkpoint is saved."""
    names = card["class_names"]
    if not isinstance(names, list) or not names:
        raise CheckpointError(path, "class_names must be a non-empty list")
    if not all(isinstance(n, str) for n in names):
        raise CheckpointError(path, "class_names must be strings, one name per class")
    ds = card["dataset"]
    if not (isinstance(ds, dict) and isinstance(ds.get("name"), str) and ds["name"]):
        raise CheckpointError(path, "dataset must be an object with a name, e.g. {\"name\": \"mnist\", "
                                    "\"source\": ..., \"license\": ...}")
    want = family_shape(ds["name"])
    if want is not None and tuple(card["image_shape"]) != want:
        raise CheckpointError(path, f"the card says data set {ds['name']!r}, whose pictures are "
                                    f"{'x'.join(map(str, want))}, but its image_shape is "
                                    f"{'x'.join(map(str, card['image_shape']))}")


def family_shape(dataset: str) -> tuple[int, int, int] | None:
    """(C, H, W) of a known data family's pictures, read from its reference set's npz header (no
    array is loaded) when installed, else the family's known shape; None for any other data set."""
    from . import reference_path
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", dataset):   # no path out of the reference folder
        return None
    path = reference_path(dataset)
    if path.is_file():
        st = path.stat()
        got = _npz_image_shape(str(path), st.st_size, st.st_mtime_ns)
        if got is not None:
            return got
    return FAMILY_SHAPES.get(dataset)


@lru_cache(maxsize=32)
def _npz_image_shape(path: str, size: int, mtime_ns: int) -> tuple[int, int, int] | None:
    """The picture shape in `images.npy` of a reference npz, from the header only (keyed by the
    file's size and time, so a replaced file is read again)."""
    try:
        with zipfile.ZipFile(path) as z, z.open("images.npy") as f:
            version = np.lib.format.read_magic(f)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) \
                else np.lib.format.read_array_header_2_0
            shape, _, _ = read(f)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    if len(shape) == 3:
        return (1, int(shape[1]), int(shape[2]))
    if len(shape) == 4:
        return tuple(int(n) for n in shape[1:])
    return None


def check_weights_file(folder: Path, card: dict) -> Path:
    """The cheap checks (exists, size as the card says), fit for listing many checkpoints."""
    wpath = Path(folder) / WEIGHTS_FILE
    if not wpath.is_file():
        raise CheckpointError(wpath, "weights file is missing")
    size = wpath.stat().st_size
    if "bytes" in card["weights"] and size != card["weights"]["bytes"]:
        raise CheckpointError(wpath, f"file is {size} bytes but the card says {card['weights']['bytes']}: "
                                     "truncated or replaced")
    return wpath


def load_modules(folder: Path, card: dict) -> dict[str, torch.nn.Module]:
    """Verify the weights against the card and build every module in eval mode."""
    wpath = check_weights_file(folder, card)
    digest = sha256_file(wpath)
    if digest != card["weights"]["sha256"]:
        raise CheckpointError(wpath, f"sha256 is {digest[:12]}… but the card says "
                                     f"{card['weights']['sha256'][:12]}…: the file was changed after training")
    try:
        with safe_open(wpath, framework="pt") as f:       # the header only: no tensor is read
            shapes = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(wpath, f"not a readable safetensors file ({e})") from None
    total = 0
    for mod, spec in card["architecture"].items():      # every module's shapes, before any memory
        layers = {k: v for k, v in spec.get("args", {}).items() if k.endswith("layers")}
        for k, v in layers.items():                     # each layer has tensors in the file: a card
            if isinstance(v, int) and v > len(shapes):  # asking for millions is refused unbuilt
                raise CheckpointError(Path(folder) / CARD_FILE, f"{mod!r} asks for {k} {v}, more than the "
                                      f"{len(shapes)} tensors in the weights file")
        net = _build(folder, mod, spec, device="meta")
        want = {k: tuple(v.shape) for k, v in net.state_dict().items()}
        total += sum(int(np.prod(v, dtype=np.int64)) for v in want.values())
        if total > MAX_PARAMETERS:
            raise CheckpointError(Path(folder) / CARD_FILE, f"the card's architecture needs {total:,} "
                                  f"parameters (counted up to {mod!r}), over the {MAX_PARAMETERS // 1_000_000} "
                                  "million the app loads: refused before building it")
        prefix = mod + "."
        _fit(net, {k[len(prefix):]: torch.empty(v, device="meta") for k, v in shapes.items()
                   if k.startswith(prefix)}, wpath, spec)
    try:
        tensors = load_file(wpath)
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(wpath, f"not a readable safetensors file ({e})") from None
    modules = {}
    for mod, spec in card["architecture"].items():
        net = _build(folder, mod, spec)
        prefix = mod + "."
        state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        _fit(net, state, wpath, spec)
        modules[mod] = net.eval()
    return modules


def _build(folder: Path, mod: str, spec: dict, device: str | None = None) -> torch.nn.Module:
    """Build one module from the card; on the meta device nothing is allocated. A constructor that
    refuses its arguments (a negative size, a wrong type) is a CheckpointError in words."""
    try:
        if device is None:
            return build(spec["class"], spec.get("args", {}))
        with torch.device(device):
            return build(spec["class"], spec.get("args", {}))
    except (TypeError, ValueError, RuntimeError, OverflowError) as e:
        raise CheckpointError(Path(folder) / CARD_FILE, f"cannot build {mod!r}: {e}") from None


def _fit(net: torch.nn.Module, state: dict, wpath: Path, spec: dict) -> None:
    """Load `state` strictly (on the meta device: only the keys and shapes are compared)."""
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as e:
        first = str(e).strip().splitlines()
        detail = "; ".join(line.strip() for line in first[1:4]) or first[0]
        raise CheckpointError(wpath, f"weights do not fit the {spec['class']} in the card ({detail})") from None


def save_checkpoint(folder: Path, card: dict, modules: dict[str, torch.nn.Module],
                    overwrite: bool = False) -> Path:
    """Write card + weights atomically: a temp folder beside the target, then a rename.

    A crash leaves either the old checkpoint or the new one, never half of one."""
    folder = Path(folder)
    if folder.exists() and not overwrite:
        raise FileExistsError(f"{folder} exists; pass overwrite=True (--force) to replace it")
    folder.parent.mkdir(parents=True, exist_ok=True)
    if all(k in card for k in ("class_names", "dataset", "image_shape")):
        check_meaning(folder / CARD_FILE, card)      # never write a card that read_card would refuse
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    try:
        tensors = {f"{m}.{k}": v.detach().cpu().contiguous()
                   for m, net in modules.items() for k, v in net.state_dict().items()}
        save_file(tensors, tmp / WEIGHTS_FILE)
        card = dict(card, format=FORMAT, name=folder.name)
        card["weights"] = {"file": WEIGHTS_FILE, "sha256": sha256_file(tmp / WEIGHTS_FILE),
                           "bytes": (tmp / WEIGHTS_FILE).stat().st_size}
        (tmp / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
        if overwrite and folder.exists():
            old = folder.with_name(f".{folder.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(folder, old)
            os.replace(tmp, folder)
            shutil.rmtree(old, ignore_errors=True)
        else:                         # a folder that appeared since the look above is never replaced:
            os.replace(tmp, folder)   # renaming onto a non-empty folder fails (ENOTEMPTY)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def update_card(folder: Path, **fields) -> dict:
    """Rewrite a card with some fields replaced (e.g. recomputed metrics), atomically."""
    path = Path(folder) / CARD_FILE
    card = read_card(folder)
    card.update(fields)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return card
