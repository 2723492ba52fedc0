"""Where models come from besides `checkpoints/`: named by the person who starts the server.

    streamlit run playground/app.py -- --checkpoints DIR [DIR ...] --model my_vae.py [--reference DIR]

or in the environment (several entries separated by the path separator, ':' on Linux):

    LATENT_PLAYGROUND_CHECKPOINT_DIRS   folders of checkpoints (or checkpoint folders themselves)
    LATENT_PLAYGROUND_MODELS            adapter files (see `models.adapters`)
    LATENT_PLAYGROUND_REFERENCES        their reference folders, in the same order ('' for none)

Nothing here is ever read from a browser: an adapter is code.
"""
from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

ENV_DIRS = "LATENT_PLAYGROUND_CHECKPOINT_DIRS"
ENV_MODELS = "LATENT_PLAYGROUND_MODELS"
ENV_REFERENCES = "LATENT_PLAYGROUND_REFERENCES"


@dataclass(frozen=True)
class Sources:
    checkpoint_dirs: tuple[Path, ...] = ()
    adapters: tuple[tuple[Path, Path | None], ...] = ()     # (adapter file, reference folder or None)
    problems: tuple[str, ...] = ()                           # what in the arguments made no sense


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="streamlit run playground/app.py --", add_help=False)
    p.add_argument("--checkpoints", nargs="+", action="extend", default=[], metavar="DIR",
                   help="folders of checkpoints in the project's format (card.json + model.safetensors)")
    p.add_argument("--model", action="append", default=[], metavar="FILE.py",
                   help="an adapter file defining load(); repeatable")
    p.add_argument("--reference", action="append", default=[], metavar="DIR",
                   help="a folder of images for the map of the --model in the same position")
    return p


def _split(value: str | None) -> list[str]:
    return [v for v in (value or "").split(os.pathsep)] if value else []


_last_args: tuple[tuple, argparse.Namespace] | None = None    # the last arguments parsed, by argv


def _arguments(argv: list[str]) -> argparse.Namespace:
    """The command line parsed, kept for the same argv: every page run asks (session.listings), and
    building an argparse parser is not free (its gettext lookups stat the disk)."""
    global _last_args
    key, last = tuple(argv), _last_args
    if last is not None and last[0] == key:
        return last[1]
    args, _ = parser().parse_known_args(list(argv))
    _last_args = (key, args)
    return args


def parse(argv: list[str] | None = None, environ: dict | None = None) -> Sources:
    """Command-line arguments (those after `--`) and the environment, together. Unknown arguments
    are left alone (Streamlit or a test runner may own them). Paths are resolved on every call, so a
    folder that is a symlink (a "current" swapped at deployment) is followed to where it points now."""
    environ = os.environ if environ is None else environ
    args = _arguments(list(argv or []))
    dirs = args.checkpoints + [d for d in _split(environ.get(ENV_DIRS)) if d]
    files = args.model + [f for f in _split(environ.get(ENV_MODELS)) if f]
    refs = args.reference + _split(environ.get(ENV_REFERENCES))
    problems = []
    if len([r for r in refs if r]) and len(refs) > len(files):
        problems.append(f"{len(refs)} --reference folder(s) for {len(files)} --model file(s): "
                        "each --reference belongs to the --model in the same position")
    pairs = tuple((Path(f).expanduser().resolve(),
                   Path(refs[i]).expanduser().resolve() if i < len(refs) and refs[i] else None)
                  for i, f in enumerate(files))
    return Sources(tuple(Path(d).expanduser().resolve() for d in dirs), pairs, tuple(problems))
