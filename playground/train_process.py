"""Training runs in a child process, not in the server's (no Streamlit imports).

Why: a training step is mostly torch C++ that releases Python's global lock, but not all of it, and
the server's own work (decoding the drag cursor's position, drawing pages) waited for the lock
while a run trained in a thread beside it: the drag page fell below 20 updates a second. A child
process has its own interpreter and lock, and the whole process runs at the lower CPU priority
(LATENT_PLAYGROUND_TRAIN_NICE), so the pages people use go first.

One child per training slot (`jobs.Worker` thread), started on first use and reused; it imports
torch once. The protocol over a `multiprocessing` pipe (our own two processes; nothing from a
person's upload crosses it):

    parent -> child   ("train", config dict, Dataset, publish_s)   ("stop", why)
    child -> parent   ("progress", delta)   ("final", delta, run state)   ("failed", words, delta, state)

A delta carries only the step and epoch records new since the last one (the whole list again
only after the run thinned its records), so a long run costs the server a few records a second,
not a copy of 20,000. The parent rebuilds the finished run (`LabRun.restore`) for saving and
comparing. A child that dies (killed, out of memory) fails its run with words; the next run
starts a new child.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import threading
import time
import traceback

from models import lab
from models.lab import LabConfig

POLL_S = 0.1                    # how often the parent looks at its job's stop flag while waiting
START_TIMEOUT_S = 120.0         # a child that has not said "ready" by then is broken


class ChildDied(RuntimeError):
    """The training process ended without finishing its run."""


# ---- the child ------------------------------------------------------------------------------------

def _child_main(conn, nice: int, threads: int) -> None:
    if nice > 0:
        try:
            os.nice(nice)
        except OSError:
            pass
    import torch
    torch.set_num_threads(threads)
    lab.warm(())                                  # torch's optimiser import, once per child
    conn.send(("ready", os.getpid()))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):                # the server went away
            return
        if msg[0] == "train":
            _train(conn, *msg[1:])
        elif msg[0] == "exit":
            return


class _Sent:
    steps = 0
    epochs = 0
    record_every = 1


def delta(run: lab.LabRun, sent: _Sent) -> dict:
    """The run's snapshot with only the records `sent` has not yet carried (updates `sent`)."""
    snap = run.snapshot()
    steps, epochs = snap.pop("steps"), snap.pop("epochs")
    reset = run.record_every != sent.record_every or len(steps) < sent.steps
    snap["steps_reset"] = reset
    snap["new_steps"] = steps if reset else steps[sent.steps:]
    snap["new_epochs"] = epochs[sent.epochs:]
    snap["class_names"] = list(run.data.class_names)
    sent.steps, sent.epochs, sent.record_every = len(steps), len(epochs), run.record_every
    return snap


def _train(conn, config: dict, data, publish_s: float) -> None:
    run, sent, stop = None, _Sent(), None
    try:
        run = lab.LabRun(LabConfig.from_dict(config), data)
        conn.send(("progress", delta(run, sent)))
        last, epochs = time.monotonic(), 0
        while not run.finished:
            if conn.poll():
                msg = conn.recv()
                if msg[0] == "stop":
                    stop = msg[1]
                    break
            run.step()
            now = time.monotonic()
            if now - last >= publish_s or run.epoch != epochs:
                conn.send(("progress", delta(run, sent)))
                last, epochs = now, run.epoch
        conn.send(("final", delta(run, sent), run.state(), stop))
    except Exception as e:                         # noqa: BLE001 - reported to the parent, which says it
        words = f"{type(e).__name__}: {e}"
        conn.send(("failed", words, traceback.format_exc(),
                   None if run is None else delta(run, sent), None if run is None else run.state()))


# ---- the parent -----------------------------------------------------------------------------------

class Mirror:
    """The parent's copy of a run's records, built from deltas; `snapshot()` is what the page reads."""

    def __init__(self):
        self.steps: list[dict] = []
        self.epochs: list[dict] = []
        self.rest: dict = {}

    def apply(self, d: dict) -> None:
        d = dict(d)
        new_steps, new_epochs = d.pop("new_steps"), d.pop("new_epochs")
        if d.pop("steps_reset"):
            self.steps = list(new_steps)
        else:
            self.steps = self.steps + list(new_steps)     # a new list: a reader's copy never changes
        self.epochs = self.epochs + list(new_epochs)
        self.rest = d

    def snapshot(self, run=None) -> dict:
        return dict(self.rest, steps=self.steps, epochs=self.epochs, published=time.monotonic(), run=run)


class Trainer:
    """One child process that trains one run at a time."""

    def __init__(self, nice: int = 0, threads: int = 1):
        ctx = mp.get_context("spawn")               # never fork a server with threads and torch
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_child_main, args=(child, nice, threads),
                                name="latent-playground-trainer", daemon=True)
        self.proc.start()
        child.close()
        self.pid = None

    def alive(self) -> bool:
        return self.proc.is_alive()

    def _recv(self, timeout: float):
        """The next message, or None after `timeout`; ChildDied if the child is gone."""
        try:
            if self.conn.poll(timeout):
                return self.conn.recv()
        except (EOFError, OSError):
            pass
        else:
            if self.proc.is_alive():
                return None
        self.proc.join(1)
        raise ChildDied(f"the training process stopped unexpectedly (exit code {self.proc.exitcode}); "
                        "the server is fine: train again to start a new one")

    def ready(self, timeout: float = START_TIMEOUT_S) -> None:
        end = time.monotonic() + timeout
        while self.pid is None:
            msg = self._recv(min(1.0, max(0.01, end - time.monotonic())))
            if msg is not None and msg[0] == "ready":
                self.pid = msg[1]
            elif time.monotonic() >= end:
                raise ChildDied(f"the training process did not start within {timeout:.0f} s")

    def run(self, config: LabConfig, ctx, publish_s: float, data=None):
        """Train `config` in the child, publishing to `ctx.progress` and stopping when `ctx.check()`
        raises; returns the finished run (rebuilt here), or re-raises the stop after publishing the
        run trained so far (so it can still be saved)."""
        from playground.jobs import Stopped
        data = data if data is not None else lab.training_data(config.dataset)
        self.ready()
        self.conn.send(("train", config.to_dict(), data, publish_s))
        mirror, stopping = Mirror(), None
        while True:
            if stopping is None:
                try:
                    ctx.check()
                except Stopped as e:
                    stopping = str(e)
                    self.conn.send(("stop", stopping))
            msg = self._recv(POLL_S)
            if msg is None:
                continue
            if msg[0] == "progress":
                mirror.apply(msg[1])
                ctx.progress = mirror.snapshot()
            elif msg[0] == "final":
                mirror.apply(msg[1])
                run = lab.LabRun.restore(config, msg[2], data)
                ctx.progress = mirror.snapshot(run)
                if stopping is not None:
                    raise Stopped(stopping)
                return run
            elif msg[0] == "failed":
                _, words, tb, last, state = msg
                if last is not None:
                    mirror.apply(last)
                    ctx.progress = mirror.snapshot(None if state is None else lab.LabRun.restore(config, state, data))
                err = RuntimeError(words)
                err.child_traceback = tb
                raise err

    def close(self) -> None:
        try:
            self.conn.send(("exit",))
        except (OSError, ValueError):
            pass
        self.proc.join(5)
        if self.proc.is_alive():
            self.proc.kill()


_local = threading.local()


def trainer(nice: int | None = None, threads: int | None = None) -> Trainer:
    """The calling thread's child process (a training slot's), started if there is none or it died."""
    t = getattr(_local, "trainer", None)
    if t is None or not t.alive():
        if nice is None or threads is None:
            from playground import jobs
            cfg = jobs.settings()
            nice = cfg["nice"] if nice is None else nice
            threads = cfg["threads"] if threads is None else threads
        t = _local.trainer = Trainer(nice, threads)
    return t


def train(config: LabConfig, ctx, publish_s: float):
    """Run `config` in this thread's child process (see Trainer.run). A child that died is replaced
    on the next call."""
    t = trainer()
    try:
        return t.run(config, ctx, publish_s)
    except ChildDied:
        _local.trainer = None
        raise
