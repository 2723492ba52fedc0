"""A process-wide background worker for training runs (no Streamlit imports).

Jobs run off the script thread on `max_running` worker threads (default 1), each with torch
bounded to `threads` intra-op threads; further jobs wait in a FIFO queue whose positions the page
shows. A job is polled by id (`poll`), so a reloaded tab finds it again; a job nobody polled for
`idle_s` seconds (default IDLE_S = 120) is stopped. A job function receives a `Context`: it
publishes progress with `ctx.progress = ...` and calls `ctx.check()` between steps (which raises
`Stopped` on cancel or idle stop).
"""
from __future__ import annotations

import itertools
import threading
import time
import traceback
from dataclasses import dataclass, field

IDLE_S = 120.0


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
    def __init__(self, max_running: int = 1, threads: int = 1, idle_s: float = IDLE_S):
        self.max_running, self.threads, self.idle_s = max_running, threads, idle_s
        self._lock = threading.Condition()
        self._queue: list[Job] = []
        self._jobs: dict[str, Job] = {}
        self._ids = itertools.count(1)
        self._threads = [threading.Thread(target=self._serve, daemon=True, name=f"train-worker-{i}")
                         for i in range(max_running)]
        self._watch = threading.Thread(target=self._watchdog, daemon=True, name="train-watchdog")
        for t in (*self._threads, self._watch):
            t.start()

    def submit(self, fn, label: str = "") -> str:
        with self._lock:
            job = Job(f"job-{next(self._ids)}", label, fn)
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
                job.state = why

    def _serve(self):
        import torch
        torch.set_num_threads(self.threads)
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
                job.state = state

    def _watchdog(self):
        while True:
            time.sleep(min(1.0, self.idle_s / 4))
            now = time.monotonic()
            with self._lock:
                idle = [j.id for j in self._jobs.values()
                        if j.state in ("queued", "running") and now - j.last_poll > self.idle_s]
            for jid in idle:
                self.cancel(jid, "idle-stopped")


_worker: Worker | None = None
_worker_lock = threading.Lock()


def worker() -> Worker:
    """The process-wide worker (created on first use)."""
    global _worker
    with _worker_lock:
        if _worker is None:
            _worker = Worker()
        return _worker
