"""A process-wide background worker for training runs (no Streamlit imports).

A job's id is unguessable ('job-' and 12 random URL-safe characters): the Train page puts it in the
URL so a reloaded tab finds its run again, and whoever holds the id can watch, stop and save that
run, so a link is a capability only the person it was given to has (sequential ids let anyone
reach another person's run by counting).

Jobs run off the script thread on `max_running` worker threads; further jobs wait in a FIFO queue whose positions the page shows. A job
is polled by id (`poll`), so a reloaded tab finds it again; a queued or running job nobody polled
for `idle_s` seconds (default IDLE_S = 120) is stopped. A job function receives a `Context`: it
publishes progress with `ctx.progress = ...` and calls `ctx.check()` between steps (which raises
`Stopped` on cancel or idle stop).

Finished jobs (done, failed, cancelled, idle-stopped) are kept so a person can come back and save
the run, but not forever: one nobody polled for `keep_s` seconds (default KEEP_S = 1800) is
forgotten, and beyond `max_finished` (default MAX_FINISHED = 32) finished jobs the least recently
polled go first, though never one polled within `idle_s` (an open tab polls its run every second).
`poll` then returns None, as for an unknown id.

The process-wide worker (`worker()`) is configured by environment variables:

- LATENT_PLAYGROUND_TRAIN_RUNS: runs that train at the same time (default 1; the rest queue).
- LATENT_PLAYGROUND_TRAIN_THREADS: torch intra-op threads of each training process (default: half
  the cores, at least 1, so 1 on a 2-core machine), so a run and the server's page work each use
  at most half the cores instead of fighting over all of them.
- LATENT_PLAYGROUND_TRAIN_NICE: how much lower the training processes' CPU priority is than the
  server's (default 10, 0 to 19; Linux `nice`), so when the cores are busy the pages people are
  using go first and training takes what is left.

The Train page's job (`training_view.train_job`) trains in a child process per worker thread
(playground/train_process.py): the worker thread only relays its progress and its stop.

`Slots` bounds work that runs on the script threads themselves (GAN inversions, a second or more
of a core each): at most `limit` at once, the rest wait in a FIFO queue and see how many are ahead.
`inversions()` is the process-wide one (LATENT_PLAYGROUND_INVERSIONS at once, default half the cores,
at least 1). A waiter or holder that gives up (its page reran, its client left) frees its place.
"""
from __future__ import annotations

import os
import secrets
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field

IDLE_S = 120.0
KEEP_S = 1800.0
MAX_FINISHED = 32
RUNS_ENV = "LATENT_PLAYGROUND_TRAIN_RUNS"
THREADS_ENV = "LATENT_PLAYGROUND_TRAIN_THREADS"
NICE_ENV = "LATENT_PLAYGROUND_TRAIN_NICE"
INVERSIONS_ENV = "LATENT_PLAYGROUND_INVERSIONS"
FINISHED = ("done", "failed", "cancelled", "idle-stopped")


def new_id(taken=()) -> str:
    """An unguessable job id: 'job-' and 12 URL-safe characters (72 random bits), none in `taken`."""
    while (jid := "job-" + secrets.token_urlsafe(9)) in taken:
        pass
    return jid


class Stopped(Exception):
    """Raised by Context.check() when the job was cancelled or nobody polled it."""


@dataclass
class Job:
    id: str
    label: str
    fn: object
    state: str = "queued"            # queued, running, done, failed, cancelled, idle-stopped
    progress: object = None
    result: object = None
    error: str | None = None
    last_poll: float = field(default_factory=time.monotonic)
    stop: str | None = None          # "cancelled" / "idle-stopped" once asked to stop


class Context:
    def __init__(self, job: Job):
        self._job = job

    @property
    def progress(self):
        return self._job.progress

    @progress.setter
    def progress(self, value):
        self._job.progress = value

    def check(self) -> None:
        if self._job.stop:
            raise Stopped(self._job.stop)


class Worker:
    def __init__(self, max_running: int = 1, threads: int = 1, idle_s: float = IDLE_S, nice: int = 0,
                 keep_s: float = KEEP_S, max_finished: int = MAX_FINISHED, warm=None):
        """`warm`: called once on each worker thread before its first job (one-off imports and
        reads, so they happen while the person is still choosing knobs); a failure is ignored."""
        self.max_running, self.threads, self.idle_s, self.nice = max_running, threads, idle_s, nice
        self.keep_s, self.max_finished, self.warm = keep_s, max_finished, warm
        self._lock = threading.Condition()
        self._queue: list[Job] = []
        self._jobs: dict[str, Job] = {}
        self._threads = [threading.Thread(target=self._serve, daemon=True, name=f"train-worker-{i}")
                         for i in range(max_running)]
        self._watch = threading.Thread(target=self._watchdog, daemon=True, name="train-watchdog")
        for t in (*self._threads, self._watch):
            t.start()

    def submit(self, fn, label: str = "") -> str:
        with self._lock:
            job = Job(new_id(self._jobs), label, fn)
            self._jobs[job.id] = job
            self._queue.append(job)
            self._lock.notify_all()
            return job.id

    def poll(self, job_id: str) -> dict | None:
        """The job's state, queue position (1 = next), progress, result and error; counts as
        someone watching it. None for an unknown id."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            job.last_poll = time.monotonic()
            pos = self._queue.index(job) + 1 if job in self._queue else 0
            return dict(id=job.id, label=job.label, state=job.state, position=pos,
                        progress=job.progress, result=job.result, error=job.error)

    def cancel(self, job_id: str, why: str = "cancelled") -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.state not in ("queued", "running"):
                return
            job.stop = why
            if job in self._queue:
                self._queue.remove(job)
                self._finish(job, why)

    def _finish(self, job: Job, state: str) -> None:
        """Record a final state (lock held) and forget what is past keeping."""
        job.state = state
        self._prune()

    def _prune(self) -> None:
        """Forget finished jobs unpolled for keep_s; then, while more than max_finished remain,
        the least recently polled of those nobody polled within idle_s (lock held). A job that
        someone is watching is never forgotten, so the store holds at most max_finished plus
        the runs open in some tab."""
        now = time.monotonic()
        done = [j for j in self._jobs.values() if j.state in FINISHED]
        old = [j for j in done if now - j.last_poll > self.keep_s]
        rest = sorted((j for j in done if now - j.last_poll <= self.keep_s), key=lambda j: j.last_poll)
        excess = len(rest) - self.max_finished
        old += [j for j in rest if now - j.last_poll > self.idle_s][:max(0, excess)]
        for j in old:
            del self._jobs[j.id]

    def __len__(self) -> int:
        """Jobs remembered (queued, running and finished ones not yet forgotten)."""
        with self._lock:
            return len(self._jobs)

    def _serve(self):
        import torch
        lower_priority(self.nice)
        torch.set_num_threads(self.threads)
        if self.warm is not None:
            try:
                self.warm()
            except Exception:                  # noqa: BLE001 - a job will meet the same fault and report it
                pass
        while True:
            with self._lock:
                while not self._queue:
                    self._lock.wait()
                job = self._queue.pop(0)
                job.state = "running"
            try:
                job.result = job.fn(Context(job))
                state = "done"
            except Stopped as e:
                state = str(e)
            except Exception as e:             # the job's failure is reported; the worker serves on
                job.error = f"{type(e).__name__}: {e}"
                job.traceback = traceback.format_exc()
                state = "failed"
            with self._lock:
                self._finish(job, state)

    def _watchdog(self):
        while True:
            time.sleep(min(1.0, self.idle_s / 4, self.keep_s / 4))
            now = time.monotonic()
            with self._lock:
                self._prune()
                idle = [j.id for j in self._jobs.values()
                        if j.state in ("queued", "running") and now - j.last_poll > self.idle_s]
            for jid in idle:
                self.cancel(jid, "idle-stopped")


_worker: Worker | None = None
_worker_lock = threading.Lock()


def _env_int(name: str, default: int, lo: int, hi: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r}: expected a whole number from {lo} to {hi}") from None
    if not lo <= value <= hi:
        raise ValueError(f"{name}={value}: expected a whole number from {lo} to {hi}")
    return value


def settings() -> dict:
    """max_running, threads and nice for the process-wide worker, from the environment (see above)."""
    cores = os.cpu_count() or 1
    return dict(max_running=_env_int(RUNS_ENV, 1, 1, 64),
                threads=_env_int(THREADS_ENV, max(1, cores // 2), 1, cores),
                nice=_env_int(NICE_ENV, 10, 0, 19))


def lower_priority(nice: int) -> bool:
    """Lower the calling thread's CPU priority by `nice` (Linux: a thread is a task with its own
    nice value; threads it starts inherit it). False where the platform does not allow it."""
    if nice <= 0:
        return False
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + nice))
        return True
    except (AttributeError, OSError):
        return False


def _warm_lab() -> None:
    from models import lab
    from playground import train_process
    trainer = train_process.trainer()       # this slot's training process starts importing torch
    lab.warm()                              # this process rebuilds finished runs: data, optimiser
    trainer.ready()


def worker() -> Worker:
    """The process-wide worker (created on first use, configured by `settings()`); each of its
    threads starts its training process (playground/train_process.py) and warms torch and the MNIST
    training data here at once (`models.lab.warm`)."""
    global _worker
    with _worker_lock:
        if _worker is None:
            _worker = Worker(**settings(), warm=_warm_lab)
        return _worker


class Slots:
    """At most `limit` holders at once; the others wait in arrival order (FIFO).

    `with slots.hold(waiting=fn):` waits for a slot, calling `fn(ahead)` about every `poll_s` while
    it waits (`ahead`: how many must start or finish before this one can start, at least 1), and
    holds the slot for the block. Whatever `fn` raises (a rerun, a client that left) ends the wait,
    and whatever the block raises ends the hold: the place is freed either way, so nobody waits for
    a holder that is gone. No lock is held while `fn` or the block runs."""

    def __init__(self, limit: int = 1, poll_s: float = 0.25):
        if limit < 1:
            raise ValueError("Slots: limit must be at least 1")
        self.limit, self.poll_s = limit, poll_s
        self._cond = threading.Condition()
        self._waiting: list[object] = []
        self._holders: set[object] = set()

    def state(self) -> tuple[int, int]:
        """(holding, waiting) now."""
        with self._cond:
            return len(self._holders), len(self._waiting)

    def _ahead(self, ticket) -> int:
        """0 when `ticket` may start now (lock held)."""
        return max(0, self._waiting.index(ticket) + 1 + len(self._holders) - self.limit)

    @contextmanager
    def hold(self, waiting=None):
        ticket = object()
        with self._cond:
            self._waiting.append(ticket)
        try:
            while True:
                with self._cond:
                    ahead = self._ahead(ticket)
                    if not ahead:
                        self._waiting.remove(ticket)
                        self._holders.add(ticket)
                        break
                if waiting is not None:
                    waiting(ahead)
                with self._cond:
                    if self._ahead(ticket):
                        self._cond.wait(self.poll_s)
            yield
        finally:
            with self._cond:
                if ticket in self._waiting:
                    self._waiting.remove(ticket)
                self._holders.discard(ticket)
                self._cond.notify_all()


_inversions: Slots | None = None


def inversions() -> Slots:
    """The process-wide bound on GAN inversions running at once (LATENT_PLAYGROUND_INVERSIONS, default
    half the cores, at least 1): each uses a core for a second or more, so more at once would only
    slow every page of every session down together."""
    global _inversions
    with _worker_lock:
        if _inversions is None:
            cores = os.cpu_count() or 1
            _inversions = Slots(_env_int(INVERSIONS_ENV, max(1, cores // 2), 1, 64))
        return _inversions
