"""playground.jobs: the background worker the Train page polls."""
from __future__ import annotations

import threading
import time

import pytest

from playground.jobs import Worker


def wait(w, jid, states=("done", "failed", "cancelled", "idle-stopped"), timeout=30):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        s = w.poll(jid)
        if s["state"] in states:
            return s
        time.sleep(0.02)
    raise AssertionError(f"{jid} still {w.poll(jid)}")


def test_fifo_queue_positions_cancel_and_errors():
    w = Worker(idle_s=60)
    gate, order = threading.Event(), []

    def blocker(ctx):
        gate.wait(10)
        order.append("a")
        return 1

    def fail(ctx):
        order.append("c")
        raise ValueError("boom")

    a = w.submit(blocker)
    wait(w, a, ("running",))
    b, c, d = w.submit(lambda ctx: order.append("b") or 2), w.submit(fail), w.submit(lambda ctx: order.append("d"))
    assert [w.poll(j)["position"] for j in (a, b, c, d)] == [0, 1, 2, 3]
    w.cancel(b)
    assert w.poll(b)["state"] == "cancelled" and w.poll(d)["position"] == 2
    gate.set()
    assert wait(w, c)["error"] == "ValueError: boom"
    assert wait(w, d)["state"] == "done" and order == ["a", "c", "d"]
    assert w.poll(a)["result"] == 1 and w.poll("nope") is None


def test_idle_job_is_stopped_and_threads_are_bounded():
    w = Worker(idle_s=0.3, threads=1)

    def loop(ctx):
        import torch
        ctx.progress = torch.get_num_threads()
        while True:
            ctx.check()
            time.sleep(0.01)

    j = w.submit(loop)
    time.sleep(0.1)
    assert w.poll(j)["progress"] == 1
    time.sleep(1.5)                                    # nobody polls
    assert wait(w, j)["state"] == "idle-stopped"


def test_nan_stop_through_the_worker():
    from models.lab import LabConfig, LabRun
    w = Worker(idle_s=60)

    def train(ctx):
        run = LabRun(LabConfig.preset("lr-too-high"))
        ctx.progress = run
        return run.run(should_stop=lambda: ctx.check() or False)

    s = wait(w, w.submit(train))
    assert s["state"] == "done" and "learning rate is too high" in s["result"].stop_reason


def test_finished_jobs_beyond_max_finished_are_forgotten_least_recently_polled_first():
    w = Worker(idle_s=2, max_finished=3)
    ids = [w.submit(lambda ctx, i=i: i) for i in range(6)]
    for j in ids:
        wait(w, j)                                     # polled in this order
    time.sleep(2.3)                                    # none of them polled within idle_s now
    new = w.submit(lambda ctx: "new")
    assert wait(w, new)["result"] == "new"
    assert [w.poll(j) is not None for j in ids] == [False, False, False, False, True, True]
    assert len(w) == 3


def test_a_watched_finished_job_is_kept_however_many_finish_after_it():
    w = Worker(idle_s=2, max_finished=2, max_running=2)
    watched = w.submit(lambda ctx: "mine")
    wait(w, watched)
    gate = threading.Event()
    running = w.submit(lambda ctx: gate.wait(10))
    for _ in range(4):
        wait(w, w.submit(lambda ctx: None))
        assert w.poll(watched)["result"] == "mine" and w.poll(running)["state"] == "running"
    end = time.monotonic() + 3.0
    while time.monotonic() < end:                      # the tab keeps polling; the watchdog prunes
        assert w.poll(watched)["result"] == "mine" and w.poll(running)["state"] == "running"
        time.sleep(0.05)
    assert len(w) == 3                                 # watched, running, and the newest other one
    gate.set()
    wait(w, running)


def test_finished_jobs_unpolled_for_keep_s_are_forgotten():
    w = Worker(idle_s=60, keep_s=1)
    kept, dropped = w.submit(lambda ctx: "k"), w.submit(lambda ctx: "d")
    wait(w, kept), wait(w, dropped)
    end = time.monotonic() + 2.5
    while time.monotonic() < end:                      # someone keeps watching `kept` only
        assert w.poll(kept)["result"] == "k"
        time.sleep(0.05)
    assert w.poll(dropped) is None and len(w) == 1


def test_settings_from_the_environment(monkeypatch):
    from playground import jobs
    monkeypatch.delenv(jobs.RUNS_ENV, raising=False)
    monkeypatch.delenv(jobs.THREADS_ENV, raising=False)
    monkeypatch.delenv(jobs.NICE_ENV, raising=False)
    monkeypatch.setattr(jobs.os, "cpu_count", lambda: 8)
    assert jobs.settings() == dict(max_running=1, threads=4, nice=10)
    monkeypatch.setattr(jobs.os, "cpu_count", lambda: 2)
    assert jobs.settings() == dict(max_running=1, threads=1, nice=10)
    monkeypatch.setenv(jobs.RUNS_ENV, "3")
    monkeypatch.setenv(jobs.THREADS_ENV, "2")
    monkeypatch.setenv(jobs.NICE_ENV, "0")
    assert jobs.settings() == dict(max_running=3, threads=2, nice=0)
    monkeypatch.setenv(jobs.THREADS_ENV, "4")
    with pytest.raises(ValueError, match="LATENT_PLAYGROUND_TRAIN_THREADS=4: expected a whole number from 1 to 2"):
        jobs.settings()
    monkeypatch.setenv(jobs.THREADS_ENV, "1")
    monkeypatch.setenv(jobs.RUNS_ENV, "two")
    with pytest.raises(ValueError, match="LATENT_PLAYGROUND_TRAIN_RUNS='two'"):
        jobs.settings()


def test_two_runs_at_once_when_configured():
    w = Worker(max_running=2, idle_s=60)
    both, gate = threading.Barrier(2, timeout=5), threading.Event()
    a, b = (w.submit(lambda ctx: both.wait() is not None) for _ in range(2))
    assert wait(w, a)["result"] is True and wait(w, b)["result"] is True


def test_warm_runs_once_per_worker_thread_before_the_first_job_and_may_fail():
    calls = []

    def warm():
        calls.append(threading.current_thread().name)
        raise RuntimeError("no data")
    w = Worker(idle_s=60, max_running=2, warm=warm)
    jids = [w.submit(lambda ctx: len(calls)) for _ in range(4)]
    done = [wait(w, j) for j in jids]
    assert all(s["state"] == "done" and s["result"] >= 1 for s in done)    # warmed first, served on
    assert sorted(calls) == ["train-worker-0", "train-worker-1"]


def test_training_threads_run_at_a_lower_cpu_priority_than_the_server():
    """Pages people use go first when the cores are busy: the worker's thread (and torch's threads
    it starts) is niced; the calling (server) thread keeps its priority."""
    import os
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    w = Worker(idle_s=60, nice=7)
    job = w.submit(lambda ctx: os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
    assert wait(w, job)["result"] == min(19, mine + 7)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == mine


def test_job_ids_are_unguessable_not_counted():
    import re
    a, b = Worker(idle_s=60), Worker(idle_s=60)
    ids = [a.submit(lambda ctx: None) for _ in range(5)] + [b.submit(lambda ctx: None)]
    assert all(re.fullmatch(r"job-[A-Za-z0-9_-]{12}", j) for j in ids), ids
    assert len(set(ids)) == len(ids)
    # no counter to step along: neither 'job-1'-style names nor a shared suffix between neighbours
    assert not any(j[4:].isdigit() for j in ids)
    assert all(x[4:10] != y[4:10] for x, y in zip(ids, ids[1:]))
    assert a.poll("job-1") is None and a.poll(ids[0])["id"] == ids[0]
