"""A checkpoint folder uploaded in the browser: card.json + model.safetensors of an architecture the
project knows. Data only (JSON and safetensors), never code: adapters come only from the command line.

    install(files, root) -> Path   # files: [(file name, bytes)]; raises UploadError (words for a person)

The pair is written to a temporary folder beside its destination and verified exactly as a shipped
checkpoint (card fields, known architecture, size, sha256, tensor shapes, the decoder's image shape)
before it is renamed into place, so a bad upload leaves nothing behind. At most `LIMIT` uploads are
kept (the oldest goes first); a name already uploaded is refused. Pure: no Streamlit.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import threading
from pathlib import Path

import models
from models.checkpoint import CARD_FILE, WEIGHTS_FILE

LIMIT = 8                          # uploaded checkpoints kept on the server
MAX_CARD_BYTES = 1 << 20
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class UploadError(ValueError):
    """An upload that cannot become a checkpoint; the message is meant for the person."""


_lock = threading.Lock()           # one install at a time: two same-name uploads cannot both pass
                                   # the "already uploaded" look and then race on the rename


def uploads_dir() -> Path:
    """Where uploaded checkpoints live: a hidden folder in the user's checkpoint folder (hidden, so
    the Train page's listing of saved runs does not show them as trained here)."""
    from models.lab import user_dir
    return user_dir() / ".uploaded"


def install(files, root: Path | None = None, limit: int = LIMIT) -> Path:
    """Check and install one upload; every failure (a bad card, a full disk, no memory) is an
    UploadError in words, never an exception into the page."""
    with _lock:
        try:
            return _install(files, root, limit)
        except UploadError:
            raise
        except models.CheckpointError as e:
            raise UploadError(e.problem) from None
        except Exception as e:                      # OSError (disk full, a race), MemoryError, ...
            raise UploadError(f"the checkpoint could not be installed ({type(e).__name__}: {e})") from None


def _install(files, root: Path | None, limit: int) -> Path:
    root = Path(root or uploads_dir())
    got = {}
    for name, data in files:
        base = Path(str(name)).name
        if base not in (CARD_FILE, WEIGHTS_FILE):
            raise UploadError(f"{base}: a checkpoint folder holds exactly {CARD_FILE} and {WEIGHTS_FILE}")
        if base in got:
            raise UploadError(f"{base} was given twice")
        got[base] = bytes(data)
    missing = [f for f in (CARD_FILE, WEIGHTS_FILE) if f not in got]
    if missing:
        raise UploadError(f"{' and '.join(missing)} missing: upload both files of the folder together")
    if len(got[CARD_FILE]) > MAX_CARD_BYTES:
        raise UploadError(f"{CARD_FILE} is over {MAX_CARD_BYTES // 1024} kB: not a model card")
    try:
        card = json.loads(got[CARD_FILE].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise UploadError(f"{CARD_FILE} is not valid JSON ({e})") from None
    name = card.get("name") if isinstance(card, dict) else None
    if not (isinstance(name, str) and NAME.match(name)):
        raise UploadError("the card's name must be 1 to 64 letters, digits, '.', '_' or '-' (it names the folder)")
    dest = root / name
    if dest.exists():
        raise UploadError(f"a checkpoint named {name!r} was already uploaded here")
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=root)) / name
    try:
        tmp.mkdir()
        (tmp / CARD_FILE).write_bytes(got[CARD_FILE])
        (tmp / WEIGHTS_FILE).write_bytes(got[WEIGHTS_FILE])
        m = models.load(tmp)                         # every check of a shipped checkpoint
        if m.kind not in ("vae", "gan"):
            raise UploadError(f"{name} is a {m.kind}: upload a VAE or a GAN")
        os.replace(tmp, dest)
    except models.CheckpointError as e:
        raise UploadError(e.problem) from None
    finally:
        shutil.rmtree(tmp.parent, ignore_errors=True)
    kept = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
                  key=lambda p: p.stat().st_mtime_ns)
    for old in kept[:-limit] if limit else kept:
        shutil.rmtree(old, ignore_errors=True)
    return dest
