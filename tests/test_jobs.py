"""playground.jobs: the background worker the Train page polls."""
from __future__ import annotations

import threading
import time

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
