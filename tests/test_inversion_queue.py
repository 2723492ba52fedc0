"""GAN inversions are bounded (playground.jobs.Slots, jobs.inversions()) and queued with a visible
position (playground.waiting); whoever gives up, or whose client left, frees their place."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from playground import jobs, waiting
from playground.jobs import Slots


def _until(cond, timeout=20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.01)
    raise AssertionError("timed out")


def test_at_most_limit_hold_at_once_and_the_rest_start_in_arrival_order():
    slots = Slots(limit=2, poll_s=0.02)
    gates = [threading.Event() for _ in range(5)]   # each holder leaves when its own gate opens
    lock = threading.Lock()
    running, peak, order, seen = [0], [0], [], {}

    def person(i):
        with slots.hold(waiting=lambda ahead: seen.setdefault(i, ahead)):
            with lock:
                running[0] += 1
                peak[0] = max(peak[0], running[0])
                order.append(i)
            gates[i].wait(60)                    # longer than any wait below: only the test lets a holder go
            with lock:
                running[0] -= 1

    threads = []
    for i in range(5):                           # one at a time, so arrival order is known
        t = threading.Thread(target=person, args=(i,))
        t.start()
        threads.append(t)
        _until(lambda: sum(slots.state()) == i + 1)
    assert slots.state() == (2, 3)
    assert seen == {2: 1, 3: 2, 4: 3}            # "1 ahead", "2 ahead", "3 ahead"
    # One slot frees at a time, so exactly one waiter may start each time: the one that came first.
    # (Freeing both at once would let two start together, in whichever order their threads wake.)
    for leaving, starts in [(0, 2), (1, 3), (2, 4)]:
        gates[leaving].set()
        _until(lambda: len(order) == starts + 1)
        assert order[-1] == starts, order
        assert slots.state() == (2, 4 - starts)
    for g in gates:
        g.set()
    for t in threads:
        t.join(10)
    assert peak[0] == 2                          # never more than the limit
    assert order == [0, 1, 2, 3, 4]              # FIFO
    assert slots.state() == (0, 0)


def test_a_waiter_that_gives_up_frees_its_place_and_those_behind_move_up():
    slots = Slots(limit=1, poll_s=0.02)
    release, quit_b = threading.Event(), threading.Event()
    c_saw, b_outcome = [], []

    def a():
        with slots.hold():
            release.wait(10)

    def b_waiting(ahead):
        if quit_b.is_set():
            raise RuntimeError("the page reran / the client left")

    def b():                                     # the outcome is asserted in the test's own thread
        try:
            with slots.hold(waiting=b_waiting):
                b_outcome.append("got the slot")
        except RuntimeError:
            b_outcome.append("gave up")

    def c():
        with slots.hold(waiting=c_saw.append):
            pass

    ta = threading.Thread(target=a)
    ta.start()
    _until(lambda: slots.state() == (1, 0))
    tb = threading.Thread(target=b)
    tb.start()
    _until(lambda: slots.state() == (1, 1))
    tc = threading.Thread(target=c)
    tc.start()
    _until(lambda: 2 in c_saw)                   # behind a (holding) and b (waiting)
    quit_b.set()
    tb.join(10)
    assert b_outcome == ["gave up"], b_outcome   # b left the queue without ever holding the slot
    _until(lambda: c_saw[-1] == 1)               # b's place is gone: only a is ahead now
    assert slots.state() == (1, 1)
    release.set()
    ta.join(10)
    tc.join(10)
    assert slots.state() == (0, 0)


def test_a_holder_that_fails_frees_its_slot():
    slots = Slots(limit=1)
    with pytest.raises(ValueError):
        with slots.hold():
            raise ValueError("inversion failed")
    assert slots.state() == (0, 0)
    with slots.hold():                           # the next one gets it at once
        assert slots.state() == (1, 0)


def test_limit_from_the_environment(monkeypatch):
    monkeypatch.setattr(jobs, "_inversions", None)
    monkeypatch.setenv(jobs.INVERSIONS_ENV, "3")
    assert jobs.inversions().limit == 3
    monkeypatch.setattr(jobs, "_inversions", None)
    monkeypatch.setenv(jobs.INVERSIONS_ENV, "0")
    with pytest.raises(ValueError, match="LATENT_PLAYGROUND_INVERSIONS"):
        jobs.inversions()
    monkeypatch.setattr(jobs, "_inversions", None)


class Gone(Exception):
    pass


def _client_leaves(monkeypatch, connected):
    monkeypatch.setattr(waiting, "client_connected", lambda: connected[0])

    def gone():
        raise Gone()
    monkeypatch.setattr(waiting, "_gone", gone)


def test_a_client_that_leaves_while_queued_frees_its_place(monkeypatch):
    slots, connected = Slots(limit=1, poll_s=0.02), [True]
    _client_leaves(monkeypatch, connected)
    monkeypatch.setattr(waiting.st, "empty", lambda: type("E", (), {"info": lambda *a, **k: None,
                                                                    "empty": lambda *a: None})())
    release, outcome = threading.Event(), []

    def holder():
        with slots.hold():
            release.wait(10)

    def leaver():
        try:
            with waiting.inversion_slot(slots):
                outcome.append("got the slot")
        except Gone:
            outcome.append("gone")

    t1 = threading.Thread(target=holder)
    t1.start()
    _until(lambda: slots.state() == (1, 0))
    t2 = threading.Thread(target=leaver)
    t2.start()
    _until(lambda: slots.state() == (1, 1))
    connected[0] = False                          # the tab is closed while it waits
    t2.join(10)
    assert outcome == ["gone"] and slots.state() == (1, 0)
    release.set()
    t1.join(10)
    assert slots.state() == (0, 0)


def test_a_client_that_leaves_mid_inversion_stops_it_and_frees_the_slot(monkeypatch):
    import models
    from models.inversion import invert
    slots, connected = Slots(limit=1), [True]
    _client_leaves(monkeypatch, connected)
    m = models.load("mnist-gan")
    x = models.reference(m.dataset)[0][:1, None].astype(np.float32) / 255
    steps_seen = []

    def progress(share, text):
        steps_seen.append(share)
        connected[0] = False                      # the tab closes after the first report

    with pytest.raises(Gone):
        with slots.hold():
            invert(m, x, restarts=2, steps=100, progress=waiting.stay_connected(progress))
    assert steps_seen == [0.1]                    # stopped at the next report, not after 100 steps
    assert slots.state() == (0, 0)


def test_the_fill_in_page_shows_the_queue_position_then_fills_in(monkeypatch):
    """A GAN completion on the Fill in page while another inversion holds the only slot: the page
    says how many are ahead, and fills in once the slot is free."""
    from conftest import assert_clean, run_app
    slots = Slots(limit=1, poll_s=0.05)
    monkeypatch.setattr(jobs, "_inversions", slots)
    shown, release = [], threading.Event()
    real = waiting.waiting_text

    def record(ahead, limit):
        shown.append(real(ahead, limit))
        release.set()
        return shown[-1]
    monkeypatch.setattr(waiting, "waiting_text", record)

    def other_person():
        with slots.hold():
            release.wait(60)
    t = threading.Thread(target=other_person)
    t.start()
    _until(lambda: slots.state() == (1, 0))
    at = run_app(model="mnist-gan", proj="pca")
    at.switch_page("views/inpaint.py").run()
    t.join(10)
    assert_clean(at, "inpaint while queued")
    assert shown and shown[0].startswith("Waiting: 1 ahead of you"), shown
    [table] = [d.value for d in at.dataframe if "hidden-pixel MSE" in d.value.columns]
    assert len(table) == 8 and np.isfinite(table["hidden-pixel MSE"]).all()   # the completions, once it ran
    assert not [i.value for i in at.info if i.value.startswith("Waiting")]    # gone once it ran
    assert slots.state() == (0, 0)


def test_a_slow_waiter_holds_no_lock_that_others_wait_on():
    """What a waiter does while it waits (telling its page its position: with a slow client that is
    a message queued to it, but assume the worst, a call that blocks) runs without the queue's lock:
    the holder can still finish and hand on, and a newcomer can still join and read the queue."""
    slots = Slots(limit=1, poll_s=0.02)
    stuck, unstick, holder_done = threading.Event(), threading.Event(), threading.Event()
    release = threading.Event()

    def holder():
        with slots.hold():
            release.wait(10)
        holder_done.set()

    def slow(ahead):
        stuck.set()
        unstick.wait(10)                          # a page update that does not come back soon

    t1 = threading.Thread(target=holder)
    t1.start()
    _until(lambda: slots.state() == (1, 0))
    held = [slots.hold(waiting=slow)]             # kept: a dropped context would release at once
    t2 = threading.Thread(target=held[0].__enter__)
    t2.daemon = True
    t2.start()
    assert stuck.wait(10)
    release.set()
    assert holder_done.wait(5)                    # the holder released while the waiter was stuck
    joined = []
    t3 = threading.Thread(target=lambda: joined.append(slots.state()))
    t3.start()
    t3.join(5)
    assert joined == [(0, 1)]                      # the queue stays readable
    unstick.set()
    _until(lambda: slots.state() == (1, 0))       # the slow one gets its turn once it is back
