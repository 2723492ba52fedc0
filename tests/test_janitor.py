"""playground/janitor.py's schedule: memory is handed back when a sweep shut sessions down, and once
more AGAIN_AFTER quiet sweeps later (garbage of a shut-down session becomes collectable only once
its script thread has ended: a full collection then still freed 51 MB after a class of 30)."""
from playground import janitor


def test_memory_is_handed_back_again_after_the_sweep_that_shut_sessions_down(monkeypatch):
    swept = iter([3, 0, 0, 0, 0, 1, 0, 2, 0, 0])       # sessions shut down by each sweep
    given = []
    monkeypatch.setattr(janitor, "sweep", lambda: next(swept))
    monkeypatch.setattr(janitor, "give_back_memory", lambda: given.append(tick) or True)
    again = 0
    for tick in range(10):
        again = janitor.step(again)
    assert janitor.AGAIN_AFTER == 2
    # sweeps 0, 5 and 7 shut sessions down (sweep() hands memory back itself); once more two quiet
    # sweeps after each: at 2, and at 9 (the countdown from 5 restarted at 7)
    assert given == [2, 9], given


def test_a_quiet_server_is_left_alone(monkeypatch):
    monkeypatch.setattr(janitor, "sweep", lambda: 0)
    given = []
    monkeypatch.setattr(janitor, "give_back_memory", lambda: given.append(1))
    again = 0
    for _ in range(20):
        again = janitor.step(again)
    assert given == [] and again == 0
