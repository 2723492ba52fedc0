"""The Real or generated? page as a person plays it (AppTest): rounds, the interval beside FD and IS,
the shared per-model results, and a database that is corrupt, locked or cannot be created."""
import sqlite3

import numpy as np
import pytest

import models
from conftest import assert_clean, run_app
from playground import judge_db


@pytest.fixture
def user_dir(tmp_path, monkeypatch):
    """A fresh user data folder (so a fresh results database) for each test."""
    folder = tmp_path / "user"
    monkeypatch.setenv("LATENT_PLAYGROUND_USER_DIR", str(folder))
    return folder


def open_judge(model="mnist-gan"):
    at = run_app(model=model, proj="pca")
    return at.switch_page("views/judge.py").run()


def game(at):
    return at.session_state["judge_game"]


def play(at, how="right", n=None):
    """Answer the current round: every answer right, every answer wrong, or right on the first half."""
    plan = game(at)["round"]["plan"]
    for i, truth in enumerate(plan.truth[:n]):
        guess = truth if how == "right" or (how == "half" and i < plan.n // 2) else not truth
        at.button(key="judge_real" if guess else "judge_generated").click().run()
    return plan


def rows(path):
    with sqlite3.connect(path) as con:
        return con.execute("SELECT model, sha256, player, round, position, real, guess FROM answers "
                           "ORDER BY round, position").fetchall()


def markdown(at):
    return "\n".join(m.value for m in at.markdown)


def metrics(at):
    return {m.label: m.value for m in at.metric}


def test_a_round_shows_real_and_generated_images_one_at_a_time(user_dir):
    at = open_judge("mnist-gan")
    assert_clean(at, "judge page")
    said = [i.value for i in at.info]
    assert "Results are kept from now on." in said and not any(str(user_dir) in i for i in said), said
    rnd = game(at)["round"]
    plan, images = rnd["plan"], rnd["images"]
    assert plan.n == 10 and sum(plan.truth) == 5 and images.shape == (10, 28, 28)
    real, _ = models.reference("mnist")
    m = models.load("mnist-gan")
    for i, is_real in enumerate(plan.truth):
        matches_reference = any(np.array_equal(images[i], real[j]) for j in plan.real_index)
        assert matches_reference == is_real
    made = [im for im, t in zip(images, plan.truth) if not t]
    expected = np.clip(m.decode(m.sample(5, seed=plan.seed)) * 255 + 0.5, 0, 255).astype(np.uint8)[:, 0]
    np.testing.assert_array_equal(np.stack(made), expected)            # the model's prior samples
    [shown] = at.image
    assert shown.proto.imgs[0].caption == "Image 1 of 10: real or generated?"
    play(at, "right", n=3)
    assert_clean(at, "three answers")
    [shown] = at.image
    assert shown.proto.imgs[0].caption == "Image 4 of 10: real or generated?"
    assert not at.metric                                              # no result before the round ends


def test_a_round_all_right_gives_the_interval_beside_fd_and_is_and_is_stored(user_dir):
    at = open_judge("mnist-gan")
    plan = play(at, "right")
    assert_clean(at, "all right")
    shown = metrics(at)
    assert shown["Your accuracy this round"] == "100%"
    assert shown["Fréchet distance (FD)"] == "40.9" and shown["Inception Score (IS)"] == "7.34"
    assert at.subheader[0].value == "This round: 10 of 10 right: 100% (95% interval 72%–100%)"
    assert "You **can tell real from generated" in markdown(at)
    captions = [img.caption for el in at.image for img in el.proto.imgs]
    assert captions == [f"✓ {'real' if t else 'generated'}" for t in plan.truth]   # the truth, shown after
    stored = rows(user_dir / "judge.sqlite")
    sha = models.read_card(models.CHECKPOINTS / "mnist-gan")["weights"]["sha256"]
    assert len(stored) == 10 and {r[:3] for r in stored} == {("mnist-gan", sha, at.session_state["judge_player"])}
    assert [bool(r[5]) for r in stored] == list(plan.truth) and all(r[5] == r[6] for r in stored)
    table = at.dataframe[0].value
    assert list(table["model"]) == ["mnist-gan"] and list(table["answers"]) == [10]
    assert table["accuracy"][0] == 1.0 and table["95% low"][0] == 0.72      # shown as whole percent
    assert table["FD"][0] == pytest.approx(40.947)


def test_rounds_add_up_per_model_and_wrong_answers_read_as_reversed(user_dir):
    at = open_judge("mnist-gan")
    play(at, "wrong")
    assert at.subheader[0].value == "This round: 0 of 10 right: 0% (95% interval 0%–28%)"
    assert "You **pick the opposite of the truth" in markdown(at)
    truth = game(at)["round"]["plan"].truth
    assert [img.caption for el in at.image for img in el.proto.imgs] == [
        f"✗ {'real' if t else 'generated'} (you: {'generated' if t else 'real'})" for t in truth]
    at.button(key="judge_next").click().run()
    assert_clean(at, "next round")
    assert game(at)["round"]["guesses"] == []
    play(at, "half")
    assert at.subheader[0].value == "This round: 5 of 10 right: 50% (95% interval 24%–76%)"
    assert "You **cannot tell" in markdown(at)
    assert metrics(at)["Your total on mnist-gan"] == "25%"           # 5 of 20 over two rounds
    assert any("5 of 20 right" in c.value and "2 rounds" in c.value for c in at.caption)
    assert len({r[3] for r in rows(user_dir / "judge.sqlite")}) == 2   # two rounds, two ids
    # Another model: its own round, its own total, and no FD or IS in a VAE's card.
    at.sidebar.selectbox(key="model").select("mnist-vae").run()
    at.switch_page("views/judge.py").run()
    play(at, "right")
    assert_clean(at, "VAE round")
    shown = metrics(at)
    assert shown["Your total on mnist-vae"] == "100%"
    assert shown["Fréchet distance (FD)"] == shown["Inception Score (IS)"] == "not on the card"
    links = [(l.proto.page, l.proto.label) for l in at.get("page_link")]
    assert any(p.endswith("quality") or "quality" in p for p, _ in links) and \
        any("Quality against diversity" in label for _, label in links), links
    table = at.dataframe[0].value
    assert dict(zip(table["model"], table["answers"])) == {"mnist-gan": 20, "mnist-vae": 10}
    assert dict(zip(table["model"], table["rounds"])) == {"mnist-gan": 2, "mnist-vae": 1}


def test_everyones_results_keep_a_retrained_model_apart(user_dir):
    """Answers stored by other people for the same name under other weights show as another row."""
    old = judge_db.ModelInfo("mnist-gan", "b" * 64, "gan", "mnist", 80.0, 5.0)
    judge_db.record([judge_db.Answer("someone", "r1", i, i % 2 == 0, True) for i in range(10)], old,
                    user_dir / "judge.sqlite")
    at = open_judge("mnist-gan")
    play(at, "right")
    assert_clean(at, "two weights")
    table = at.dataframe[0].value
    sha = models.read_card(models.CHECKPOINTS / "mnist-gan")["weights"]["sha256"]
    assert sorted(table["model"]) == sorted([f"mnist-gan · {'b' * 8}", f"mnist-gan · {sha[:8]}"])
    assert dict(zip(table["weights sha256"], table["accuracy"])) == {"b" * 12: 0.5, sha[:12]: 1.0}
    assert metrics(at)["Your total on mnist-gan"] == "100%"          # only this model's own answers
    chart = at.get("plotly_chart")[0].proto.spec
    assert '"50%: cannot tell"' in chart and "mnist-gan · bbbbbbbb" in chart


def test_a_corrupt_database_is_moved_aside_and_the_page_goes_on(user_dir):
    user_dir.mkdir(parents=True)
    (user_dir / "judge.sqlite").write_text("not a database at all\n" * 40)
    at = open_judge("mnist-gan")
    assert_clean(at, "corrupt database")
    [warning] = [w.value for w in at.warning]
    [aside] = list(user_dir.glob("judge.sqlite.corrupt-*"))
    assert "could not be read" in warning and "moved aside" in warning and str(aside) in warning
    assert aside.read_text().startswith("not a database")
    play(at, "right")
    assert_clean(at, "after repair")
    assert len(rows(user_dir / "judge.sqlite")) == 10


def test_a_locked_database_keeps_the_answers_and_saves_them_later(user_dir, monkeypatch):
    at = open_judge("mnist-gan")
    play(at, "right", n=1)
    monkeypatch.setattr(judge_db, "BUSY_TIMEOUT_S", 0.05)
    monkeypatch.setattr(judge_db, "ATTEMPTS", 2)
    monkeypatch.setattr(judge_db, "BACKOFF_S", 0.01)
    path = user_dir / "judge.sqlite"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        play_from = len(game(at)["round"]["guesses"])
        truth = game(at)["round"]["plan"].truth
        for i in (play_from, play_from + 1):
            at.button(key="judge_real" if truth[i] else "judge_generated").click().run()
        assert not at.exception and not at.error
        assert any("stayed locked" in w.value and "kept" in w.value for w in at.warning)
        assert any("2 answer(s) of this session wait to be saved" in c.value for c in at.caption)
    finally:
        holder.execute("COMMIT")
        holder.close()
    assert len(rows(path)) == 1
    at.button(key="judge_real" if truth[3] else "judge_generated").click().run()
    assert_clean(at, "lock released")
    assert [r[4] for r in rows(path)] == [0, 1, 2, 3]                 # nothing lost, nothing doubled
    assert game(at)["pending"] == []


def test_an_unusable_data_folder_says_so_and_the_game_goes_on(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv("LATENT_PLAYGROUND_USER_DIR", str(blocker / "user"))
    at = open_judge("mnist-gan")
    assert not at.exception
    assert any("cannot be shown" in w.value and "LATENT_PLAYGROUND_USER_DIR" in w.value for w in at.warning)
    play(at, "right")
    assert not at.exception
    assert any("cannot be created" in e.value and "kept in this session" in e.value for e in at.error)
    assert metrics(at)["Your accuracy this round"] == "100%"
    assert len(game(at)["pending"]) == 10


def test_every_shipped_generative_model_draws_a_round(user_dir):
    """Each VAE and GAN: a round of its own data set's reference images and its own samples."""
    from conftest import GENERATIVE
    at = open_judge(GENERATIVE[0])
    for name in GENERATIVE:
        at.sidebar.selectbox(key="model").select(name).run()
        at.switch_page("views/judge.py").run()
        assert_clean(at, name)
        rnd = game(at)["round"]
        assert rnd["key"][0] == name and rnd["guesses"] == []
        dataset = models.read_card(models.CHECKPOINTS / name)["dataset"]["name"]
        real, _ = models.reference(dataset)
        from playground.imaging import to_uint8
        shown = to_uint8(real)                     # as shown: colour (H, W, 3), grey (H, W)
        for image, is_real in zip(rnd["images"], rnd["plan"].truth):
            assert any(np.array_equal(image, shown[j]) for j in rnd["plan"].real_index) == is_real, name
