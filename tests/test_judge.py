"""Real or generated?: the interval and rounds (known answers), and the shared results database
(missing, corrupt, locked, and many threads and processes writing at once)."""
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from playground import judge, judge_db
from playground.judge_db import Answer, JudgeDbBusy, JudgeDbError, ModelInfo

ROOT = Path(__file__).resolve().parent.parent


# ---- the interval ---------------------------------------------------------------------------------

@pytest.mark.parametrize("k, n, lo, hi", [
    (5, 10, 0.2366, 0.7634),      # Wilson 95% (Agresti & Coull 1998, and R's prop.test(correct=FALSE))
    (0, 10, 0.0, 0.2775),
    (10, 10, 0.7225, 1.0),
    (7, 10, 0.3968, 0.8922),
    (50, 100, 0.4038, 0.5962),
    (1, 1, 0.2065, 1.0),
])
def test_wilson_interval_known_values(k, n, lo, hi):
    got = judge.wilson(k, n)
    assert got == pytest.approx((lo, hi), abs=1e-4)


def test_wilson_is_symmetric_exact_at_the_ends_and_narrows_with_more_answers():
    for n in (1, 3, 10, 37):
        for k in range(n + 1):
            lo, hi = judge.wilson(k, n)
            assert 0 <= lo <= k / n <= hi <= 1
            assert judge.wilson(n - k, n) == pytest.approx((1 - hi, 1 - lo), abs=1e-12)
    assert judge.wilson(0, 10)[0] == 0.0 and judge.wilson(10, 10)[1] == 1.0
    widths = [hi - lo for lo, hi in (judge.wilson(n // 2, n) for n in (100, 400, 1600))]
    assert widths[0] > widths[1] > widths[2]
    assert widths[0] / widths[2] == pytest.approx(4, rel=0.1)       # width ~ 1/sqrt(n)
    assert judge.wilson(0, 0) == (0.0, 1.0)
    for bad in [(-1, 10), (11, 10), (1, -1)]:
        with pytest.raises(ValueError):
            judge.wilson(*bad)


def test_verdict_and_description():
    assert judge.verdict(5, 10).startswith("cannot tell")
    assert judge.verdict(8, 10).startswith("cannot tell")          # 8/10: interval 49%-94% holds 50%
    assert judge.verdict(9, 10).startswith("can tell")             # 9/10: 60%-98%
    assert judge.verdict(1, 10).startswith("pick the opposite")
    assert judge.verdict(0, 0) == "no answers yet"
    assert judge.describe(5, 10) == "5 of 10 right: 50% (95% interval 24%–76%)"
    assert judge.describe(0, 10) == "0 of 10 right: 0% (95% interval 0%–28%)"


# ---- rounds ---------------------------------------------------------------------------------------

def test_round_is_half_real_in_a_seeded_order_with_distinct_reference_images():
    r = judge.new_round(42)
    assert r.n == judge.ROUND == 10 and sum(r.truth) == 5 and r.n_generated == 5
    assert len(set(r.real_index)) == 5 and all(0 <= i < 2000 for i in r.real_index)
    assert judge.new_round(42) == r                                  # same seed, same round
    orders = {judge.new_round(s).truth for s in range(40)}
    assert len(orders) > 20                                           # the order varies with the seed
    firsts = sum(judge.new_round(s).truth[0] for s in range(400))
    assert 150 < firsts < 250                                         # not always real first
    assert judge.new_round(1, n=4, n_reference=2).real_index in {(0, 1), (1, 0)}
    for n in (0, 3):
        with pytest.raises(ValueError):
            judge.new_round(1, n=n)


def test_a_guess_is_taken_once_per_image_in_order():
    plan, guesses = judge.new_round(7, n=4), []
    assert judge.take_guess(plan, guesses, 0, True) and guesses == [True]
    assert not judge.take_guess(plan, guesses, 0, False)           # a double click's second click
    assert not judge.take_guess(plan, guesses, 2, False)           # not the next image
    assert guesses == [True]
    for i in (1, 2, 3):
        assert judge.take_guess(plan, guesses, i, False)
    assert not judge.take_guess(plan, guesses, 4, True) and guesses == [True, False, False, False]


def test_correct_counts_matches_position_by_position():
    truth = (True, False, True, False)
    assert judge.correct(truth, [True, False, True, False]) == 4
    assert judge.correct(truth, [False, True, False, True]) == 0
    assert judge.correct(truth, [True, True]) == 1                    # a round in progress
    with pytest.raises(ValueError):
        judge.correct(truth, [True] * 5)


# ---- the database ---------------------------------------------------------------------------------

INFO = ModelInfo("mnist-gan", "a" * 64, "gan", "mnist", 40.947, 7.344)


def answers(player, rnd, guesses, truth=None):
    truth = truth or [i % 2 == 0 for i in range(len(guesses))]
    return [Answer(player, rnd, i, t, g) for i, (t, g) in enumerate(zip(truth, guesses))]


def count(path):
    with sqlite3.connect(path) as con:
        return con.execute("SELECT COUNT(*) FROM answers").fetchone()[0]


def test_db_path_is_in_the_user_data_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("LATENT_PLAYGROUND_USER_DIR", str(tmp_path / "me"))
    assert judge_db.db_path() == tmp_path / "me" / "judge.sqlite"


def test_record_and_summary_per_model_and_weights(tmp_path):
    path = tmp_path / "judge.sqlite"
    note = judge_db.record(answers("p1", "r1", [True] * 10), INFO, path)
    assert note == "Results are kept from now on."          # the path is for the log, not visitors
    assert judge_db.record(answers("p1", "r1", [True] * 10), INFO, path) is None   # resent: stored once
    assert count(path) == 10
    judge_db.record(answers("p2", "r1", [i % 2 == 0 for i in range(10)]), INFO, path)
    retrained = ModelInfo("mnist-gan", "b" * 64, "gan", "mnist", 30.0, 8.0)
    judge_db.record(answers("p1", "r2", [False] * 4), retrained, path)
    rows, note = judge_db.summary(path)
    assert note is None
    by_sha = {r.sha256: r for r in rows}
    old, new = by_sha["a" * 64], by_sha["b" * 64]                     # a retrained model never merges
    assert (old.players, old.rounds, old.answers, old.right) == (2, 2, 20, 15)
    assert (old.fd, old.inception, old.kind, old.dataset) == (40.947, 7.344, "gan", "mnist")
    assert (new.players, new.rounds, new.answers, new.right) == (1, 1, 4, 2)
    assert new.fd == 30.0
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_model_info_from_cards_with_and_without_fd_and_is():
    import models
    gan = ModelInfo.from_card("mnist-gan", models.read_card(models.CHECKPOINTS / "mnist-gan"))
    assert gan.fd == pytest.approx(40.947) and gan.inception == pytest.approx(7.344)
    assert gan.dataset == "mnist" and gan.kind == "gan" and len(gan.sha256) == 64
    vae = ModelInfo.from_card("mnist-vae", models.read_card(models.CHECKPOINTS / "mnist-vae"))
    assert vae.fd is None and vae.inception is None and vae.kind == "vae"
    odd = ModelInfo.from_card("x", {"weights": {"sha256": "c"}, "metrics": {"frechet_distance": "NaN",
                                                                            "inception_score": float("inf")}})
    assert odd.fd is None and odd.inception is None


@pytest.mark.parametrize("damage", ["text", "pages"])
def test_corrupt_database_is_moved_aside_kept_and_replaced(tmp_path, damage):
    path = tmp_path / "judge.sqlite"
    for r in range(30):                                               # several pages of answers
        judge_db.record(answers(f"p{r}", "r", [True] * 10), INFO, path)
    with sqlite3.connect(path) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    if damage == "text":
        path.write_text("these are my notes, not a database\n" * 50)
    else:
        data = bytearray(path.read_bytes())
        assert len(data) > 3 * 4096
        data[4096:len(data) - 100] = b"\xa5" * (len(data) - 4196)      # every page after the first
        path.write_bytes(bytes(data))
    before = path.read_bytes()
    judge_db._checked.clear()                                         # a new process
    note = judge_db.record(answers("new", "r", [True, False]), INFO, path)
    assert note and "could not be read" in note and "moved aside" in note and "kept" in note
    [aside] = [p for p in tmp_path.iterdir() if ".corrupt-" in p.name and not p.name.endswith(("-wal", "-shm"))]
    assert str(aside) in note
    assert aside.read_bytes() == before                               # kept exactly as it was
    assert count(path) == 2                                           # a fresh file with the new answers
    rows, note = judge_db.summary(path)
    assert note is None and rows[0].answers == 2


def test_corrupt_database_found_by_summary_too(tmp_path):
    path = tmp_path / "judge.sqlite"
    path.write_bytes(b"\x00garbage" * 600)
    rows, note = judge_db.summary(path)
    assert rows == [] and "moved aside" in note
    assert len(list(tmp_path.glob("judge.sqlite.corrupt-*"))) == 1


def test_locked_database_says_so_loses_nothing_and_saves_once_free(tmp_path, monkeypatch):
    path = tmp_path / "judge.sqlite"
    judge_db.record(answers("p", "r0", [True]), INFO, path)
    monkeypatch.setattr(judge_db, "BUSY_TIMEOUT_S", 0.05)
    monkeypatch.setattr(judge_db, "ATTEMPTS", 2)
    monkeypatch.setattr(judge_db, "BACKOFF_S", 0.01)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    with pytest.raises(JudgeDbBusy, match="locked") as e:
        judge_db.record(answers("p", "r1", [True, False, True]), INFO, path)
    assert "kept" in str(e.value)
    holder.execute("COMMIT")
    assert judge_db.record(answers("p", "r1", [True, False, True]), INFO, path) is None
    assert count(path) == 4
    holder.close()


def test_a_writer_waits_for_a_lock_that_is_released(tmp_path):
    """A lock held for a while (shorter than the busy timeout) only delays a write."""
    path = tmp_path / "judge.sqlite"
    judge_db.record(answers("p", "r0", [True]), INFO, path)
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("INSERT INTO answers (model, sha256, player, round, position, real, guess, at) "
                   "VALUES ('x', 'y', 'h', 'r', 0, 1, 1, 0)")
    started, result = threading.Event(), {}

    def write():
        started.set()
        result["note"] = judge_db.record(answers("p", "r1", [False] * 5), INFO, path)

    t = threading.Thread(target=write)
    t.start()
    started.wait()
    threading.Event().wait(0.3)
    holder.execute("COMMIT")
    t.join()
    holder.close()
    assert result == {"note": None} and count(path) == 7


def test_unusable_folder_gives_a_clear_message(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(JudgeDbError, match="LATENT_PLAYGROUND_USER_DIR"):
        judge_db.record(answers("p", "r", [True]), INFO, blocker / "judge.sqlite")
    (tmp_path / "dir.sqlite").mkdir()
    with pytest.raises(JudgeDbError, match="cannot be used"):
        judge_db.summary(tmp_path / "dir.sqlite")


WRITER = """
import os, sys, time
from playground import judge_db
from playground.judge_db import Answer, ModelInfo
path, who, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
for _ in range(6000):                   # start with the others: when the test creates the .go file
    if os.path.exists(path + ".go"):
        break
    time.sleep(0.01)
info = ModelInfo("mnist-gan", "a" * 64, "gan", "mnist", 40.9, 7.3)
for r in range(rounds):
    judge_db.record([Answer(who, str(r), i, i % 2 == 0, True) for i in range(3)], info, path)
print("done", who)
"""


def test_many_threads_and_processes_writing_at_once_lose_no_answer(tmp_path):
    """8 threads and 4 processes each store 40 rounds of 3 answers at the same time (one transaction
    per round, as the page does): every answer is there, exactly once."""
    path = tmp_path / "judge.sqlite"
    n_threads, n_procs, rounds = 8, 4, 40
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), f"proc{i}", str(rounds)],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(n_procs)]
    barrier, errors = threading.Barrier(n_threads + 1), []

    def writer(i):
        barrier.wait()
        try:
            for r in range(rounds):
                judge_db.record(answers(f"thread{i}", str(r), [True, False, False]), INFO, path)
        except Exception as e:          # noqa: BLE001 (collected and asserted below)
            errors.append(repr(e))

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    Path(str(path) + ".go").touch()                                   # processes and threads start together
    barrier.wait()
    for t in threads:
        t.join()
    outs = [p.communicate(timeout=300) for p in procs]
    assert errors == []
    assert [p.returncode for p in procs] == [0] * n_procs, [o[1][-2000:] for o in outs]
    total = (n_threads + n_procs) * rounds * 3
    assert count(path) == total
    with sqlite3.connect(path) as con:
        per_player = dict(con.execute("SELECT player, COUNT(*) FROM answers GROUP BY player"))
    assert per_player == {**{f"thread{i}": rounds * 3 for i in range(n_threads)},
                          **{f"proc{i}": rounds * 3 for i in range(n_procs)}}
    rows, _ = judge_db.summary(path)
    assert rows[0].players == n_threads + n_procs and rows[0].rounds == (n_threads + n_procs) * rounds


def test_threads_that_find_the_same_corrupt_file_move_it_aside_once(tmp_path, monkeypatch):
    """Six writers find the file corrupt at once; a slow disk (a pause in each rename) lets them all
    find it before the first has moved it. One moves it aside, the others use the fresh file."""
    import os
    rename = os.replace

    def slow_rename(a, b):
        threading.Event().wait(0.1)
        rename(a, b)

    monkeypatch.setattr(judge_db.os, "replace", slow_rename)
    path = tmp_path / "judge.sqlite"
    path.write_text("a shopping list, not a database\n" * 100)
    judge_db._checked.clear()
    n, barrier, notes, errors = 6, threading.Barrier(6), [], []

    def writer(i):
        barrier.wait()
        try:
            notes.append(judge_db.record(answers(f"t{i}", "r", [True, False]), INFO, path))
        except Exception as e:          # noqa: BLE001 (collected and asserted below)
            errors.append(repr(e))

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(list(tmp_path.glob("judge.sqlite.corrupt-*"))) == 1
    assert sum("moved aside" in (s or "") for s in notes) == 1       # said once, by the one that moved it
    assert count(path) == 2 * n
