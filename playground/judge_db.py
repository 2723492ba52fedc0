"""Where "Real or generated?" keeps everyone's answers: one SQLite file in the user data folder
(`models.lab.user_dir()`, set by $LATENT_PLAYGROUND_USER_DIR), shared by every session and every
server process on the machine, so that a class can play on one server and compare models. No
Streamlit here.

    note = record(answers, ModelInfo.from_card(name, card))  # one transaction; note: None or what was repaired
    rows, note = summary()                              # per model (name and weights sha256): everyone's results

Answers are keyed by model name AND weights sha256, so a retrained model never merges with the old
one. Safe under concurrent writers: WAL mode, a busy timeout, BEGIN IMMEDIATE and retries; a
(player, round, position) is stored once however often it is sent, so a retry never doubles it.
A missing file is started afresh; a corrupt one is moved aside (kept, never deleted) and a fresh one
started, and the note says so. What cannot be fixed here raises `JudgeDbError` with a clear message.
"""
from __future__ import annotations

import contextlib
import fcntl
import logging
import math
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)
DB_NAME = "judge.sqlite"
BUSY_TIMEOUT_S = 5.0      # how long one attempt waits for another writer's lock
ATTEMPTS = 6              # attempts before a write gives up (the page keeps the answers and retries)
BACKOFF_S = 0.05          # first pause between attempts, doubled each time

SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id       INTEGER PRIMARY KEY,
    model    TEXT    NOT NULL,
    sha256   TEXT    NOT NULL,
    player   TEXT    NOT NULL,
    round    TEXT    NOT NULL,
    position INTEGER NOT NULL,
    real     INTEGER NOT NULL CHECK (real IN (0, 1)),
    guess    INTEGER NOT NULL CHECK (guess IN (0, 1)),
    at       REAL    NOT NULL,
    UNIQUE (player, round, position)
);
CREATE INDEX IF NOT EXISTS answers_by_model ON answers (model, sha256);
CREATE TABLE IF NOT EXISTS models (
    model     TEXT NOT NULL,
    sha256    TEXT NOT NULL,
    kind      TEXT,
    dataset   TEXT,
    fd        REAL,
    inception REAL,
    PRIMARY KEY (model, sha256)
);
"""

# SQLite's primary result codes (sqlite3.Error.sqlite_errorcode & 0xff)
_BUSY, _LOCKED, _CORRUPT, _NOTADB = 5, 6, 11, 26


class JudgeDbError(Exception):
    """The results database cannot be used; the message says why and what to do."""


class JudgeDbBusy(JudgeDbError):
    """Other writers held the database for longer than all attempts together."""


@dataclass(frozen=True)
class ModelInfo:
    model: str
    sha256: str
    kind: str | None = None
    dataset: str | None = None
    fd: float | None = None          # Fréchet distance from the model card, when measured
    inception: float | None = None   # Inception Score from the model card, when measured

    @classmethod
    def from_card(cls, name: str, card: dict) -> "ModelInfo":
        metrics = card.get("metrics") or {}
        dataset = card.get("dataset")
        return cls(name, card["weights"]["sha256"], card.get("kind"),
                   dataset.get("name") if isinstance(dataset, dict) else dataset,
                   _number(metrics.get("frechet_distance")), _number(metrics.get("inception_score")))


@dataclass(frozen=True)
class Answer:
    player: str        # a random id per browser session
    round: str         # the round's id (unique per player)
    position: int      # 0-based place in the round
    real: bool         # the truth: a real image?
    guess: bool        # the person's answer: "Real"?

    @property
    def right(self) -> bool:
        return self.real == self.guess


def _number(x) -> float | None:
    return float(x) if isinstance(x, (int, float)) and math.isfinite(x) else None


def db_path() -> Path:
    """The shared results file, in the user data folder (the folder saved runs go to)."""
    from models.lab import user_dir
    return user_dir() / DB_NAME


# ---- opening, with repair of a missing or corrupt file -------------------------------------------

_checked: set[tuple[str, int, int]] = set()    # files (path, device, inode) already integrity-checked
_checked_lock = threading.Lock()


def _code(e: sqlite3.Error) -> int:
    return (getattr(e, "sqlite_errorcode", 0) or 0) & 0xFF


def _is_corrupt(e: BaseException) -> bool:
    if not isinstance(e, sqlite3.DatabaseError):
        return False
    if _code(e) in (_CORRUPT, _NOTADB):
        return True
    text = str(e).lower()
    return "not a database" in text or "malformed" in text


def _is_busy(e: BaseException) -> bool:
    return isinstance(e, sqlite3.OperationalError) and (
        _code(e) in (_BUSY, _LOCKED) or "locked" in str(e).lower() or "busy" in str(e).lower())


def _connect(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
    try:
        con.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        mode = con.execute("PRAGMA journal_mode = WAL").fetchone()
        if not mode or str(mode[0]).lower() != "wal":
            raise JudgeDbError(f"The results database {path} cannot use write-ahead logging "
                               f"(journal mode {mode and mode[0]!r}); is its folder on a network drive? "
                               "Set LATENT_PLAYGROUND_USER_DIR to a local folder.")
        con.executescript(SCHEMA)
        _check_once(con, path)
        return con
    except BaseException:
        con.close()
        raise


def _check_once(con: sqlite3.Connection, path: Path) -> None:
    """PRAGMA quick_check the first time this process opens this file (by device and inode)."""
    st = path.stat()
    key = (str(path), st.st_dev, st.st_ino)
    with _checked_lock:
        if key in _checked:
            return
    result = con.execute("PRAGMA quick_check").fetchall()
    if [tuple(r) for r in result] != [("ok",)]:
        raise sqlite3.DatabaseError("database disk image is malformed: "
                                    + "; ".join(str(r[0]) for r in result[:3]))
    with _checked_lock:
        _checked.add(key)


@contextlib.contextmanager
def _repair_lock(path: Path):
    """One process at a time decides about and moves aside a corrupt file."""
    with open(path.with_name(path.name + ".lock"), "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _move_aside(path: Path, why: BaseException) -> str:
    """Under the repair lock: if `path` is still unreadable, rename it (and its -wal and -shm) to
    '<name>.corrupt-<time>' and say so; if another process already did, say nothing."""
    with _repair_lock(path):
        try:
            con = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            try:
                result = con.execute("PRAGMA quick_check").fetchall()
                still_bad = [tuple(r) for r in result] != [("ok",)]
            finally:
                con.close()
        except sqlite3.DatabaseError as e:
            if not _is_corrupt(e):
                raise
            still_bad = True
        if not still_bad:
            return ""                      # another process has started a fresh file already
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        aside = path.with_name(f"{path.name}.corrupt-{stamp}")
        n = 1
        while aside.exists():
            n += 1
            aside = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
        os.replace(path, aside)
        for suffix in ("-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            if side.exists():
                os.replace(side, aside.with_name(aside.name + suffix))
        with _checked_lock:
            _checked.difference_update({k for k in _checked if k[0] == str(path)})
    return (f"The results database `{path}` could not be read ({why}). It was moved aside to "
            f"`{aside}` (kept, not deleted) and a fresh one was started; earlier results are in "
            "the moved file.")


def _open(path: Path) -> tuple[sqlite3.Connection, list[str]]:
    notes = []
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise JudgeDbError(f"The folder for the results database, `{path.parent}`, cannot be created "
                           f"({e.strerror or e}). Set LATENT_PLAYGROUND_USER_DIR to a writable folder.") from None
    if not path.exists():
        log.info("judge: no results database yet, a new one is started at %s", path)   # admin detail
        notes.append("Results are kept from now on.")
    for _ in range(2):
        try:
            return _connect(path), notes
        except sqlite3.DatabaseError as e:
            if not _is_corrupt(e):
                raise
            note = _move_aside(path, e)
            if note:
                notes.append(note)
    raise JudgeDbError(f"The results database `{path}` stays unreadable after it was replaced.")


def _run(path: Path | None, work) -> tuple[object, str | None]:
    """Open the database and run `work(con)`, retrying while other writers hold it and repairing a
    corrupt file; returns work's result and a note (None, or what was found and done)."""
    path = Path(path) if path is not None else db_path()
    notes, pause, last = [], BACKOFF_S, None
    for attempt in range(ATTEMPTS):
        con = None
        try:
            con, opened = _open(path)
            notes += opened
            return work(con), " ".join(notes) or None
        except JudgeDbError:
            raise
        except sqlite3.Error as e:
            last = e
            if _is_corrupt(e):
                note = _move_aside(path, e)     # corruption found after the first check
                if note:
                    notes.append(note)
                continue
            if not _is_busy(e):
                raise JudgeDbError(f"The results database `{path}` cannot be used: {e}.") from None
        except OSError as e:
            raise JudgeDbError(f"The results database `{path}` cannot be used: {e.strerror or e}. "
                               "Set LATENT_PLAYGROUND_USER_DIR to a writable folder.") from None
        finally:
            if con is not None:
                con.close()
        time.sleep(pause)
        pause *= 2
    raise JudgeDbBusy(f"The results database `{path}` stayed locked by another program or server "
                      f"({last}). Your answers are kept and will be saved with your next one.")


# ---- the two things the page does -----------------------------------------------------------------

def record(answers: list[Answer], info: ModelInfo, path: Path | None = None) -> str | None:
    """Store answers for one model in one transaction (all or none). Sending the same (player,
    round, position) again stores it once. Returns a note (or None); raises JudgeDbError."""
    now = time.time()
    rows = [(info.model, info.sha256, a.player, a.round, int(a.position), int(bool(a.real)),
             int(bool(a.guess)), now) for a in answers]

    def work(con):
        con.execute("BEGIN IMMEDIATE")      # the write lock now, so the busy timeout applies
        try:
            con.execute(
                "INSERT INTO models (model, sha256, kind, dataset, fd, inception) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (model, sha256) DO UPDATE SET kind = excluded.kind, dataset = excluded.dataset, "
                "fd = excluded.fd, inception = excluded.inception",
                (info.model, info.sha256, info.kind, info.dataset, info.fd, info.inception))
            con.executemany(
                "INSERT OR IGNORE INTO answers (model, sha256, player, round, position, real, guess, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise

    return _run(path, work)[1]


@dataclass(frozen=True)
class ModelResult:
    model: str
    sha256: str
    kind: str | None
    dataset: str | None
    fd: float | None
    inception: float | None
    players: int
    rounds: int
    answers: int
    right: int


def summary(path: Path | None = None) -> tuple[list[ModelResult], str | None]:
    """Everyone's results per model (name and weights sha256), most answered first."""
    def work(con):
        rows = con.execute(
            "SELECT a.model, a.sha256, m.kind, m.dataset, m.fd, m.inception, "
            "       COUNT(DISTINCT a.player), COUNT(DISTINCT a.player || ' ' || a.round), "
            "       COUNT(*), SUM(a.real = a.guess) "
            "FROM answers a LEFT JOIN models m ON m.model = a.model AND m.sha256 = a.sha256 "
            "GROUP BY a.model, a.sha256 ORDER BY COUNT(*) DESC, a.model").fetchall()
        return [ModelResult(*r[:6], int(r[6]), int(r[7]), int(r[8]), int(r[9] or 0)) for r in rows]
    return _run(path, work)
