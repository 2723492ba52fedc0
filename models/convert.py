"""Convert a PyTorch `state_dict` file (.pt / .pth) of an architecture the project knows into a
checkpoint folder in the project's format (card.json + model.safetensors).

    python -m models.convert my_vae.pth --arch pytorch-examples-vae --out DIR [--dataset mnist]

The file is read with `torch.load(..., weights_only=True)`: tensors and plain containers only,
never arbitrary pickled objects. Keys the architecture lacks, or that the file lacks, are named.
Then `streamlit run playground/app.py -- --checkpoints DIR` (or `models.load("DIR")`).
"""
from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

import torch

from .architectures import build
from .architectures_external import KNOWN
from .checkpoint import CheckpointError, save_checkpoint, sha256_file
from .data import SOURCES

MAX_LISTED = 8             # keys named in an error, then "and N more"


def _names(keys) -> str:
    keys = sorted(keys)
    more = f" and {len(keys) - MAX_LISTED} more" if len(keys) > MAX_LISTED else ""
    return ", ".join(keys[:MAX_LISTED]) + more


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a .pt/.pth file (a state_dict, or a dict holding one under 'state_dict' or
    'model'), read with weights_only=True. Raises CheckpointError saying what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, "no such file")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError, AttributeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(path, f"not a state_dict that can be read safely (weights_only=True): "
                                    f"{first[:300]}") from None
    if isinstance(obj, dict):
        for inner in ("state_dict", "model"):
            if isinstance(obj.get(inner), dict):
                obj = obj[inner]
                break
    if not (isinstance(obj, dict) and obj and all(isinstance(k, str) and torch.is_tensor(v) for k, v in obj.items())):
        raise CheckpointError(path, "expected a state_dict: a mapping of parameter names to tensors")
    if all(k.startswith("module.") for k in obj):        # saved from nn.DataParallel
        obj = {k[len("module."):]: v for k, v in obj.items()}
    return obj


def convert(path: Path, arch: str, out: Path, dataset: str = "mnist", force: bool = False) -> Path:
    """Build `arch`, load the file's tensors into it (strictly: every key, every shape), and write
    a checkpoint folder at `out` with a card saying where the weights came from."""
    if arch not in KNOWN:
        raise CheckpointError(path, f"unknown architecture {arch!r}; known: {', '.join(sorted(KNOWN))}")
    if dataset not in SOURCES:
        raise CheckpointError(path, f"unknown data set {dataset!r}; known: {', '.join(sorted(SOURCES))}")
    cls, args, module, shape = KNOWN[arch]
    state = read_state_dict(path)
    net = build(cls, args)
    want = net.state_dict()
    missing, unexpected = set(want) - set(state), set(state) - set(want)
    problems = []
    if missing:
        problems.append(f"missing keys: {_names(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {_names(unexpected)}")
    wrong = [f"{k} is {tuple(state[k].shape)}, expected {tuple(want[k].shape)}"
             for k in sorted(set(want) & set(state)) if state[k].shape != want[k].shape]
    if wrong:
        problems.append("wrong shapes: " + "; ".join(wrong[:MAX_LISTED]))
    if problems:
        raise CheckpointError(path, f"does not fit {arch} ({cls}): " + "; ".join(problems))
    net.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    info = SOURCES[dataset]
    card = {
        "kind": "vae" if module == "vae" else "gan",
        "architecture": {module: {"class": cls, "args": args}},
        "latent_dim": args["latent_dim"],
        "image_shape": shape,
        "dataset": {"name": dataset, "source": info.get("source", dataset), "license": info.get("license", "")},
        "class_names": list(info["class_names"]),
        "training": {"converted_from": Path(path).name, "source_sha256": sha256_file(Path(path)),
                     "architecture": arch},
        "metrics": {},
        "notes": f"Converted from the state_dict {Path(path).name} ({arch}) by models.convert; "
                 "trained elsewhere, so this card has no training record.",
    }
    return save_checkpoint(Path(out), card, {module: net.eval()}, overwrite=force)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m models.convert", description=__doc__.splitlines()[0])
    ap.add_argument("state_dict", type=Path, help="a .pt / .pth file holding a state_dict")
    ap.add_argument("--arch", required=True, choices=sorted(KNOWN), help="the architecture it was saved from")
    ap.add_argument("--out", required=True, type=Path, help="the checkpoint folder to write")
    ap.add_argument("--dataset", default="mnist", help="the data set it was trained on (default mnist)")
    ap.add_argument("--force", action="store_true", help="replace --out if it exists")
    args = ap.parse_args(argv)
    try:
        folder = convert(args.state_dict, args.arch, args.out, args.dataset, args.force)
    except (CheckpointError, FileExistsError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {folder}: streamlit run playground/app.py -- --checkpoints {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
