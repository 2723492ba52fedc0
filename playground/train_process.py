"""Training runs in a child process, not in the server's (no Streamlit imports).

Why: a training step is mostly torch C++ that releases Python's global lock, but not all of it, and
the server's own work (decoding the drag cursor's position, drawing pages) waited for the lock
while a run trained in a thread beside it: the drag page fell below 20 updates a second. A child
process has its own interpreter and lock, and the whole process runs at the lower CPU priority
(LATENT_PLAYGROUND_TRAIN_NICE), so the pages people use go first.

One child per training slot (`jobs.Worker` thread), started on first use and reused. Children are
forked by multiprocessing's fork server, which has imported torch and models.lab once and nothing
else (a spawned child would re-import the server's main module, Streamlit included). The protocol
over a `multiprocessing` pipe (our own two processes; nothing from a person's upload crosses it),
every message after "ready" tagged with the run's id so a late message of an earlier run is ignored:

    parent -> child   ("train", run id, config dict, Dataset, publish_s)   ("stop", run id, why)
    child -> parent   ("ready", pid)   ("progress", run id, delta)   ("final", run id, delta, state, why)
                      ("failed", run id, words, traceback, delta or None, state or None)

A delta carries only the step and epoch records new since the last one (the whole list again
only after the run thinned its records), so a long run costs the server a few records a second,
not a copy of 20,000. The parent rebuilds the finished run (`LabRun.restore`) for saving and
comparing. A child that dies (killed, out of memory) fails its run with words; the next run
starts a new child. A run the parent leaves for any other reason (an error of its own) takes its
child down with it, so an abandoned child can never hold the slot.
"""
from __future__ import annotations

import contextlib
import itertools
import logging
import multiprocessing as mp
import os
import sys
import threading
import time
import traceback
import types

from models import lab
from models.lab import LabConfig

log = logging.getLogger("latent_playground.train_process")
PRELOAD = ["models.lab", "playground.train_process"]     # what the fork server imports, once
POLL_S = 0.1                    # how often the parent looks at its job's stop flag while waiting
START_TIMEOUT_S = 120.0         # a child that has not said "ready" by then is broken


class ChildDied(RuntimeError):
    """The training process ended without finishing its run."""


# ---- the child ------------------------------------------------------------------------------------

def _child_main(conn, priority: int, threads: int) -> None:
    try:                                           # absolute: the parent's thread may be lowered already
        os.setpriority(os.PRIO_PROCESS, 0, priority)
    except (AttributeError, OSError):
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
        # anything else (a stop that came after its run ended) is stale: ignored


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


def _train(conn, run_id: int, config: dict, data, publish_s: float) -> None:
    run, sent, stop = None, _Sent(), None
    try:
        run = lab.LabRun(LabConfig.from_dict(config), data)
        conn.send(("progress", run_id, delta(run, sent)))
        last, epochs = time.monotonic(), 0
        while not run.finished:
            while conn.poll():
                msg = conn.recv()
                if msg[0] == "stop" and msg[1] == run_id:
                    stop = msg[2]
                elif msg[0] == "exit":
                    raise SystemExit(0)
            if stop is not None:
                break
            run.step()
            now = time.monotonic()
            if now - last >= publish_s or run.epoch != epochs:
                conn.send(("progress", run_id, delta(run, sent)))
                last, epochs = now, run.epoch
        conn.send(("final", run_id, delta(run, sent), run.state(), stop))
    except Exception as e:                         # noqa: BLE001 - reported to the parent, which says it
        words = f"{type(e).__name__}: {e}"
        conn.send(("failed", run_id, words, traceback.format_exc(),
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


_run_ids = itertools.count(1)
_main_lock = threading.Lock()


@contextlib.contextmanager
def _bare_main():
    """Start a child without the server's main module: multiprocessing re-runs the parent's
    `__main__` in every child it starts (under `streamlit run` that is Streamlit's command line, and
    with it all of Streamlit: ~100 MB per training process for nothing). Only while `start()`
    records what the child should import; the real module is back the moment it returns."""
    bare = types.ModuleType("__main__")
    with _main_lock:
        real = sys.modules["__main__"]
        sys.modules["__main__"] = bare
        try:
            yield
        finally:
            sys.modules["__main__"] = real


class Trainer:
    """One child process that trains one run at a time."""

    def __init__(self, nice: int = 0, threads: int = 1):
        ctx = mp.get_context("forkserver")          # never fork the server itself (threads, torch)
        ctx.set_forkserver_preload(PRELOAD)
        try:
            base = os.getpriority(os.PRIO_PROCESS, os.getpid())   # the server's own priority
        except (AttributeError, OSError):
            base = 0
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_child_main, args=(child, min(19, base + max(0, nice)), threads),
                                name="latent-playground-trainer", daemon=True)
        with _bare_main():
            self.proc.start()
        child.close()
        self.pid = None

    def alive(self) -> bool:
        return self.proc.is_alive()

    def _died(self) -> ChildDied:
        self.proc.join(1)
        return ChildDied(f"the training process stopped unexpectedly (exit code {self.proc.exitcode}); "
                         "the server is fine: train again to start a new one")

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
        raise self._died()

    def _send(self, msg) -> None:
        try:
            self.conn.send(msg)
        except (OSError, ValueError):              # a broken pipe: the child is gone
            raise self._died() from None

    def ready(self, ctx=None, timeout: float = START_TIMEOUT_S) -> None:
        """Wait for the child to say it is ready (it imports torch first); `ctx.check()` may stop
        the wait. A child that does not start in `timeout` is killed."""
        end = time.monotonic() + timeout
        while self.pid is None:
            if ctx is not None:
                ctx.check()
            msg = self._recv(min(POLL_S * 5, max(0.01, end - time.monotonic())))
            if msg is not None and msg[0] == "ready":
                self.pid = msg[1]
            elif time.monotonic() >= end:
                self.kill()
                raise ChildDied(f"the training process did not start within {timeout:.0f} s")

    def run(self, config: LabConfig, ctx, publish_s: float, data=None):
        """Train `config` in the child, publishing to `ctx.progress` and stopping when `ctx.check()`
        raises; returns the finished run (rebuilt here), or re-raises the stop after publishing the
        run trained so far (so it can still be saved). Leaving for any other reason (an error here,
        a dead child) kills the child: the next run gets a new one."""
        from playground.jobs import Stopped
        data = data if data is not None else lab.training_data(config.dataset)
        ended = False
        try:
            self.ready(ctx)
            run_id = next(_run_ids)
            self._send(("train", run_id, config.to_dict(), data, publish_s))
            mirror, stopping = Mirror(), None
            while True:
                if stopping is None:
                    try:
                        ctx.check()
                    except Stopped as e:
                        stopping = str(e)
                        self._send(("stop", run_id, stopping))
                msg = self._recv(POLL_S)
                if msg is None or msg[0] == "ready" or msg[1] != run_id:
                    continue                           # nothing yet, or an earlier run's late message
                if msg[0] == "progress":
                    mirror.apply(msg[2])
                    ctx.progress = mirror.snapshot()
                elif msg[0] == "final":
                    ended = True
                    mirror.apply(msg[2])
                    run = lab.LabRun.restore(config, msg[3], data)
                    ctx.progress = mirror.snapshot(run)
                    if stopping is not None:
                        raise Stopped(stopping)
                    return run
                elif msg[0] == "failed":
                    ended = True
                    _, _, words, tb, last, state = msg
                    log.warning("a training run failed in its process: %s\n%s", words, tb)
                    if last is not None:
                        mirror.apply(last)
                        ctx.progress = mirror.snapshot(
                            None if state is None else lab.LabRun.restore(config, state, data))
                    err = RuntimeError(words)
                    err.child_traceback = tb
                    raise err
        finally:
            if not ended:        # left mid-run (stopped before it started, an error here, a dead child)
                self.kill()

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)

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
    """Run `config` in this thread's child process (see Trainer.run). A child that died or was
    killed is replaced on the next call."""
    return trainer().run(config, ctx, publish_s)
