"""The Train page: its pure logic (knob scales, knobs in the URL, words for a job's state, the
comparison records), its figures, and the page driven as a person drives it (AppTest) on a tiny
training set: train, stop, a run that blows up, the queue, save and use the run everywhere."""
from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import threading
import time
from collections import OrderedDict

import numpy as np
import pytest
import streamlit as st
import torch

import models
from conftest import APP, assert_clean
from models import data as mdata
from models import lab
from models.lab import KNOBS, PRESETS, LabConfig, LabRun
from playground import jobs
from playground import train_figures as tf
from playground import training_view as tv

PAGES = ["views/map.py", "views/drag.py", "views/interpolate.py", "views/upload.py", "views/sample.py",
         "views/model.py"]


# ---- knob scales and the URL ---------------------------------------------------------------------

def test_scales_stay_in_range_hold_every_preset_and_are_log_spaced():
    for knob, stops in tv.SCALES.items():
        lo, hi = KNOBS[knob][0]
        assert stops == sorted(stops) and lo <= stops[0] and stops[-1] <= hi, knob
        assert LabConfig().to_dict()[knob] in stops
        for name in PRESETS:
            assert LabConfig.preset(name).to_dict()[knob] in stops, (knob, name)
    lr = tv.SCALES["lr"]
    assert lr[0] == KNOBS["lr"][0][0] and lr[-1] == KNOBS["lr"][0][1]
    ratios = [b / a for a, b in zip(lr, lr[1:])]
    assert max(ratios) <= 2.5 and min(ratios) >= 1.3          # even steps on a log scale


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_round_trips_through_the_url(preset):
    cfg = LabConfig.preset(preset).to_dict()
    params = tv.to_url(cfg)
    assert set(params) == set(KNOBS) and all(isinstance(v, str) for v in params.values())
    assert tv.from_url({**params, "model": "mnist-vae", "job": "job-3"}) == (cfg, [])
    assert tv.matching_preset(cfg) == preset


def test_bad_url_values_warn_and_keep_the_default():
    default = tv.default_config()
    cfg, warnings = tv.from_url({"lr": "banana", "latent_dim": "999", "kind": "rnn", "epochs": "2.5",
                                 "beta": "nan", "seed": "7"})
    assert cfg == dict(default, seed=7)
    words = " ".join(warnings)
    assert len(warnings) == 5
    for knob in ("lr", "latent_dim", "kind", "epochs", "beta"):
        assert f"The link's {knob}=" in words
    assert "latent_dim: 999 is outside its range 2 to 64" in words and "'rnn' is not one of" in words
    assert f"using the default {tv.label('lr', default['lr'])}" in words


def test_url_values_between_stops_move_to_the_nearest_on_its_scale():
    cfg, warnings = tv.from_url({"lr": "0.0023", "batch_size": "100", "beta": "0.3", "weight_decay": "7e-4"})
    assert (cfg["lr"], cfg["batch_size"], cfg["beta"], cfg["weight_decay"]) == (0.002, 128, 0.25, 5e-4)
    assert len(warnings) == 4 and "nearest stop, 0.002" in warnings[0]
    # nearest on the log scale: 0.0039 is 1.28x below 0.005 and 1.3x above 0.003 (on a linear scale
    # it would be nearer 0.003)
    assert tv.from_url({"lr": "0.0039"})[0]["lr"] == 0.005


# ---- the job and its words -----------------------------------------------------------------------

def small_data(n: int = 256):
    d = mdata.load_dataset("mnist", source="shipped")
    return dataclasses.replace(d, train_x=d.train_x[:n], train_y=d.train_y[:n])


class FakeContext:
    def __init__(self, stop_after: int | None = None):
        self.progress, self.checks, self.stop_after, self.seen = None, 0, stop_after, []

    def check(self):
        self.checks += 1
        if self.progress is not None:
            self.seen.append(self.progress)
        if self.stop_after is not None and self.checks > self.stop_after:
            raise jobs.Stopped("cancelled")


def test_the_job_trains_in_a_child_process_publishes_snapshots_and_hands_over_the_run(monkeypatch):
    """The run trains in another process (the server's interpreter stays free for the pages); the
    page's snapshots arrive in order with every step record, and the finished run comes back with
    its weights (the same decoder output as the child's) and records."""
    import os

    from playground import train_process
    monkeypatch.setattr(lab, "training_data", lambda name: small_data())
    ctx = FakeContext()
    run = tv.train_job(LabConfig(epochs=2, batch_size=64), publish_s=0.0)(ctx)
    child = train_process.trainer()
    assert child.pid not in (None, os.getpid()) and child.alive()
    assert run.step_count == 8 and len(run.epochs) == 2 and ctx.checks >= 1
    steps = [p["step"] for p in ctx.seen]
    assert steps == sorted(steps) and steps[0] == 0
    final = ctx.progress
    assert final["run"] is run and final["step"] == 8 and len(final["epochs"]) == 2
    assert [r["step"] for r in final["steps"]] == list(range(1, 9))     # every record, none twice
    assert final["class_names"] == [str(d) for d in range(10)]
    assert all(p["run"] is None for p in ctx.seen)                # nobody gets the run mid-training
    # the rebuilt run is the trained one: the same records and, retrained here, the same weights
    here = LabRun(LabConfig(epochs=2, batch_size=64), small_data())
    while not here.finished:
        here.step()
    for name, net in here.nets.items():
        for (k, a), b in zip(net.state_dict().items(), run.nets[name].state_dict().values()):
            assert torch.allclose(a, b, atol=1e-5), (name, k)
    assert [r["loss"] for r in run.steps] == pytest.approx([r["loss"] for r in here.steps], rel=1e-4)

    stopped = FakeContext(stop_after=2)
    with pytest.raises(jobs.Stopped):
        tv.train_job(LabConfig(epochs=100, batch_size=64), publish_s=0.0)(stopped)
    left = stopped.progress["run"]
    assert 1 <= left.step_count < 400 and stopped.progress["step"] == left.step_count   # savable
    assert train_process.trainer() is child and child.alive()      # a stop keeps the child


def test_a_late_stop_of_an_earlier_run_does_not_stop_the_next(monkeypatch):
    """A Stop pressed as a run ends reaches the child after it: it names that run, and the next run
    on the same child trains to the end."""
    from playground import train_process
    monkeypatch.setattr(lab, "training_data", lambda name: small_data())
    child = train_process.trainer()
    send = child.conn.send

    def with_a_late_stop(msg):
        send(msg)
        if msg[0] == "train":
            send(("stop", msg[1] - 1, "cancelled"))       # the previous run's id
    monkeypatch.setattr(child.conn, "send", with_a_late_stop, raising=False)
    run = tv.train_job(LabConfig(epochs=3, batch_size=64), publish_s=0.0)(FakeContext())
    assert run.step_count == 12 and run.stop_reason is None


def test_an_error_in_the_server_while_a_run_trains_takes_its_child_down(monkeypatch):
    """If the server's side of a run fails (here: the page's progress cannot be stored), the child
    must not go on training for nobody and hold the slot: it is killed and the next run gets a
    fresh one that trains to the end."""
    from playground import train_process
    monkeypatch.setattr(lab, "training_data", lambda name: small_data())
    first = train_process.trainer()
    first.ready()

    class Breaks(FakeContext):
        published = 0

        def __setattr__(self, name, value):
            if name == "progress" and value is not None:
                type(self).published += 1
                if type(self).published == 3:
                    raise MemoryError("no room for the snapshot")
            super().__setattr__(name, value)

    with pytest.raises(MemoryError):
        tv.train_job(LabConfig(epochs=100, batch_size=64), publish_s=0.0)(Breaks())
    assert not first.alive()
    run = tv.train_job(LabConfig(epochs=1, batch_size=64), publish_s=0.0)(FakeContext())
    assert run.step_count == 4 and train_process.trainer() is not first


def test_the_training_process_runs_at_the_set_priority_once(monkeypatch):
    """The child's nice value is the server's plus LATENT_PLAYGROUND_TRAIN_NICE, also when the
    worker thread that starts it runs at a lowered priority already (it was lowered twice: 10 -> 19)."""
    import os

    from playground import train_process
    base = os.getpriority(os.PRIO_PROCESS, os.getpid())
    got = {}

    def start():
        jobs.lower_priority(3)
        t = train_process.Trainer(nice=3, threads=1)
        t.ready()
        got["nice"] = os.getpriority(os.PRIO_PROCESS, t.pid)
        t.close()
    th = threading.Thread(target=start)
    th.start()
    th.join(180)
    assert got["nice"] == min(19, base + 3)


def test_a_training_process_that_dies_fails_its_run_in_words_and_the_next_run_gets_a_new_one(monkeypatch):
    import signal

    from playground import train_process
    monkeypatch.setattr(lab, "training_data", lambda name: small_data())
    child = train_process.trainer()
    child.ready()

    class KillOnFirstProgress(FakeContext):
        def check(self):
            if self.progress is not None and child.alive():
                os.kill(child.pid, signal.SIGKILL)
            super().check()

    import os
    with pytest.raises(train_process.ChildDied, match="stopped unexpectedly"):
        tv.train_job(LabConfig(epochs=100, batch_size=64), publish_s=0.0)(KillOnFirstProgress())
    run = tv.train_job(LabConfig(epochs=1, batch_size=64), publish_s=0.0)(FakeContext())
    assert run.step_count == 4 and train_process.trainer().pid != child.pid


def test_describe_says_each_state_in_words():
    snap = dict(step=12, total_steps=40, epoch=1, seconds=3.2, stop_reason=None, config=dict(epochs=10))
    q = dict(state="queued", position=2, progress=None)
    assert tv.describe(q, 120)[1].startswith("Waiting in the queue at position 2: 2 runs are ahead")
    assert tv.describe(dict(state="running", position=0, progress=None), 120)[1].startswith("Starting")
    assert tv.describe(dict(state="running", position=0, progress=snap), 120) == (
        "info", "Training: step 12 of 40, epoch 2 of 10 · 3 s so far · about 5 s left.")
    assert tv.describe(dict(state="running", position=0, progress=dict(snap, step=2, seconds=0.4)), 120) == (
        "info", "Training: step 2 of 40, epoch 2 of 10 · 0 s so far.")          # no pace yet: no guess
    nan = dict(snap, stop_reason="the learning rate is too high: the loss became infinite at step 3 (loss)")
    level, words = tv.describe(dict(state="done", position=0, progress=nan), 120)
    assert level == "error" and "the loss became infinite at step 3" in words
    assert tv.describe(dict(state="cancelled", position=0, progress=snap), 120) == (
        "warning", "Stopped by you at step 12 of 40.")
    assert "nobody was watching it for 2 minutes" in tv.describe(dict(state="idle-stopped", position=0,
                                                                       progress=snap), 120)[1]
    assert tv.describe(None, 120)[0] == "warning"
    assert tv.fraction(dict(progress=snap)) == 12 / 40


def test_time_left_goes_by_the_pace_so_far_and_reads_as_words():
    assert tv.time_left(250, 3000, 12.0) == pytest.approx(132.0)     # 2,750 steps at 250 per 12 s
    assert tv.time_left(3000, 3000, 50.0) == 0
    assert tv.time_left(4, 3000, 1.0) is None and tv.time_left(250, 3000, 0.0) is None
    assert tv.duration(12.4) == "12 s" and tv.duration(185) == "3 min 5 s" and tv.duration(120) == "2 min"
    assert tv.duration(4800) == "1 h 20 min" and tv.duration(7200) == "2 h"
    assert tv.duration(132, rough=True) == "2 min" and tv.duration(12, rough=True) == "10 s"
    assert tv.duration(1, rough=True) == "5 s"                     # never "about 0 s left"
    snap = dict(step=250, total_steps=3000, epoch=0, seconds=12.0, stop_reason=None, config=dict(epochs=12))
    assert tv.describe(dict(state="running", position=0, progress=snap), 120)[1] == (
        "Training: step 250 of 3,000, epoch 1 of 12 · 12 s so far · about 2 min left.")


def test_counts_and_stop_reasons_read_as_plain_words():
    assert (tv.plural(1, "epoch"), tv.plural(2, "epoch"), tv.plural(1000, "step")) == ("1 epoch", "2 epochs", "1,000 steps")
    snap = dict(step=4, total_steps=4, epoch=1, seconds=3.0, stop_reason=None, config=dict(epochs=1))
    assert tv.describe(dict(state="done", position=0, progress=snap), 120)[1] == "Finished: 4 steps, 1 epoch in 3 s."
    reason = "the learning rate is too high: the loss became infinite at step 312 (loss, rec, kl); lower it and train again"
    words = tv.plain_stop_reason(reason)
    assert words == ("the learning rate is too high: the loss became infinite at step 312 (in the total loss, "
                     "the reconstruction error and the KL term); lower it and train again")
    assert tv.plain_stop_reason(reason.replace("(loss, rec, kl)", "(loss_d)")).count("(in the discriminator's loss)") == 1
    level, said_ = tv.describe(dict(state="done", position=0, progress=dict(snap, stop_reason=reason)), 120)
    assert level == "error" and "(loss, rec, kl)" not in said_ and "the reconstruction error" in said_


def test_the_session_store_keeps_the_newest_runs():
    store = OrderedDict()
    for i in range(12):
        tv.remember(store, f"job-{i}", i, limit=8)
    tv.remember(store, "job-5", "again", limit=8)
    assert list(store) == [f"job-{i}" for i in (4, 6, 7, 8, 9, 10, 11, 5)] and store["job-5"] == "again"


def test_the_map_sample_is_the_one_a_run_draws():
    d = small_data()
    run = LabRun(LabConfig(epochs=1, batch_size=256), data=d)
    x, y = tv.map_sample(d.test_x, d.test_y)
    assert np.array_equal(y, run.map_labels)
    assert np.array_equal(x.astype(np.float32) / 255, run.map_x[:, 0].numpy())


def test_compare_table_shows_the_knobs_that_differ_and_the_final_figures():
    a = dict(label="a", config=LabConfig().to_dict(), history=[dict(epoch=1, train_loss=200.0, test_rec=180.0)],
             param_count=1000, steps=10, stop_reason=None, kl_per_dim=[0.5, 0.001])
    b = dict(a, label="b", config=LabConfig(beta=4.0).to_dict(), history=[dict(epoch=1, train_loss=210.0)],
             kl_per_dim=None, stop_reason="blew up")
    rows = tv.compare_table([a, b])
    assert [r["run"] for r in rows] == ["a", "b"]
    assert rows[0][tv.TITLES["beta"]] == "1" and rows[1][tv.TITLES["beta"]] == "4"
    assert tv.TITLES["lr"] not in rows[0]                       # the same in both: not a column
    assert rows[0]["active dims"] == 1 and rows[1]["held-out reconstruction (nats)"] is None
    assert rows[1]["stopped early"] == "blew up"
    assert tv.common_curves([a, b]) == ["train_loss"]


def test_default_names_never_repeat():
    cfg = LabConfig().to_dict()
    assert tv.default_name(cfg) == "mnist-vae-z2"
    assert tv.default_name(cfg, {"mnist-vae-z2", "mnist-vae-z2-2"}) == "mnist-vae-z2-3"


# ---- figures -------------------------------------------------------------------------------------

def test_curves_leave_gaps_for_non_finite_values_and_stay_short():
    steps = [dict(step=i + 1, rec=float(i), kl=1.0, grad_norms={}) for i in range(5000)]
    steps[-1]["rec"] = math.inf
    fig = tf.vae_loss_figures(steps, [dict(step=100, test_rec=3.0, test_kl=0.5)])[0]
    train, held = fig.data
    assert len(train.x) <= tf.MAX_POINTS and train.x[-1] == 5000 and train.y[-1] is None
    assert list(held.x) == [100] and list(held.y) == [3.0]
    assert fig.layout.xaxis.title.text == "optimiser step" and fig.layout.yaxis.title.text == "nats per image"


def test_losses_spanning_orders_of_magnitude_go_on_a_log_axis():
    """lr-too-high reaches 1e16 before it stops: on a linear axis every earlier step is a flat line."""
    blown = [dict(step=i + 1, rec=200.0 * 10 ** i, kl=5.0) for i in range(15)] + [dict(step=16, rec=math.inf, kl=5.0)]
    rec, kl = tf.vae_loss_figures(blown, [])
    assert rec.layout.yaxis.type == "log"
    assert kl.layout.yaxis.type != "log"                                    # a steady curve stays linear
    calm = [dict(step=i + 1, rec=200.0 - i, kl=5.0) for i in range(15)]
    assert tf.vae_loss_figures(calm, [])[0].layout.yaxis.type != "log"
    assert tf.spans_orders([1.0, 2e3]) and not tf.spans_orders([1.0, 900.0])
    assert not tf.spans_orders([0.0, 1e6]) and not tf.spans_orders([None, math.nan])    # log cannot show 0
    gan = [dict(step=i + 1, loss_d=1e-4 * 10 ** i, loss_g=1.0, d_real=0.5, d_fake=0.5) for i in range(8)]
    losses, scores = tf.gan_loss_figures(gan, [])
    assert losses.layout.yaxis.type == "log" and list(scores.layout.yaxis.range) == [0, 1]


def test_gradient_bars_keep_forward_order_on_a_log_axis():
    steps = [dict(step=i, grad_norms={"enc.0": 1e-6 * (i + 1), "enc.2": 1e-3, "dec.0": 1.0}) for i in range(20)]
    fig = tf.grad_norm_figure(steps, last=10)
    assert list(fig.data[0].x) == ["enc.0", "enc.2", "dec.0"] and fig.layout.yaxis.type == "log"
    assert fig.data[0].y[0] == pytest.approx(1e-6 * np.mean(np.arange(11, 21)))
    # layout: one tick per decade (no pile of 2/5 labels) and room below for the slanted layer names
    assert fig.layout.yaxis.dtick == 1 and fig.layout.xaxis.automargin and fig.layout.xaxis.tickangle == -40
    assert fig.layout.margin.b >= 60
    long_names = {f"decoder.block{i}.conv.weight": 1e-3 for i in range(8)}
    tall = tf.grad_norm_figure([dict(step=1, grad_norms=long_names)])
    assert tall.layout.margin.b >= 40 + 4.5 * len("decoder.block0.conv.weight") > fig.layout.margin.b
    assert tall.layout.height - tall.layout.margin.b == fig.layout.height - fig.layout.margin.b   # same plot area


def test_every_figure_has_a_title_and_titled_axes():
    hist = dict(counts=[1, 2, 3], edges=[-1.0, 0.0, 1.0, 2.0])
    figs = [tf.dead_relu_figure([dict(epoch=1, dead_relu=0.1)]), tf.kl_dims_figure([0.5, 0.0], 3),
            tf.latent_map_figure(np.zeros((4, 2)), np.arange(4), [str(i) for i in range(10)], 2, 1),
            tf.weight_histogram_figure(hist, 1), tf.class_histogram_figure([5, 0, 5], ["a", "b", "c"], 2),
            tf.compare_figure([dict(label="a", history=[dict(epoch=1, x=1.0)])], "x", "x"),
            *tf.gan_loss_figures([dict(step=1, loss_d=1.0, loss_g=2.0, d_real=0.7, d_fake=0.3)], [])]
    for fig in figs:
        assert fig.layout.title.text and fig.layout.xaxis.title.text and fig.layout.yaxis.title.text, fig.layout.title
    assert "1 of 2 in use" in figs[1].layout.title.text


# ---- the page, driven as a person drives it --------------------------------------------------------

@pytest.fixture
def tiny(monkeypatch, tmp_path):
    """Runs train on 256 MNIST digits (4 steps an epoch at batch 64) and save into a temp folder;
    every job a test starts is stopped afterwards, so the next test does not queue behind it."""
    user = tmp_path / "runs"
    monkeypatch.setenv(lab.USER_DIR_ENV, str(user))
    data = small_data()
    monkeypatch.setattr(lab, "training_data", lambda name: data)
    w = jobs.worker()
    started = []
    submit = w.submit

    def tracked(fn, label=""):
        started.append(submit(fn, label))
        return started[-1]

    monkeypatch.setattr(w, "submit", tracked)
    yield user
    for j in started:
        w.cancel(j)
    end = time.monotonic() + 60
    while any(tv.is_active(w.poll(j)) for j in started) and time.monotonic() < end:
        time.sleep(0.05)


def open_train(**query):
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page("views/train.py")
    for k, v in query.items():
        at.query_params[k] = str(v)
    return at.run()


def said(at) -> str:
    return " | ".join(e.value for kind in ("info", "success", "warning", "error") for e in getattr(at, kind))


def wait_until(at, cond, timeout: float = 90):
    """Rerun the page (as its once-a-second fragment does) until `cond(at)`."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        if cond(at):
            return at
        time.sleep(0.2)
    raise AssertionError(f"page still says: {said(at)}")


def values(v) -> list:
    """A Plotly array, plain or typed (`{"dtype": ..., "bdata": base64}`), as a list."""
    if isinstance(v, dict) and "bdata" in v:
        import base64
        return np.frombuffer(base64.b64decode(v["bdata"]), np.dtype(v["dtype"])).tolist()
    return list(v)


def chart(at, key: str) -> dict:
    found = [json.loads(c.proto.spec) for c in at.get("plotly_chart") if c.proto.id.endswith(key) or key in c.proto.id]
    assert found, f"no chart {key}"
    return found[0]


def test_train_through_the_page_save_and_use_the_run_on_every_page(tiny):
    at = open_train(epochs=2, batch_size=64, seed=3)
    assert_clean(at, "train page")
    assert at.session_state["train_k_epochs"] == 2 and at.session_state["train_k_seed"] == 3
    at.button(key="train_start").click().run()
    at = wait_until(at, lambda a: "Finished: 8 steps, 2 epochs" in said(a))
    assert_clean(at, "finished run")
    rec = chart(at, "train_curve_a")
    train, held = rec["data"]
    assert values(train["x"]) == list(range(1, 9)) and values(held["x"]) == [4, 8]       # every step, each epoch's end
    assert rec["layout"]["yaxis"]["title"]["text"] == "nats per image"
    latent = chart(at, "train_map")
    assert sum(len(values(t["x"])) for t in latent["data"]) == lab.MAP_SAMPLE
    assert "after epoch 2" in chart(at, "train_map")["layout"]["title"]["text"]
    at.slider(key=next(k.key for k in at.slider if k.key.startswith("train_epoch_"))).set_value(1).run()
    replay = chart(at, "train_map")                         # the map as it was after epoch 1
    assert "after epoch 1" in replay["layout"]["title"]["text"]
    assert values(replay["data"][0]["x"]) != values(latent["data"][0]["x"])
    params = LabRun(LabConfig(epochs=2, batch_size=64, seed=3)).param_count
    assert at.metric[0].value == f"{params:,}"                # parameters, beside the hyperparameters

    at.text_input(key="train_save_name").set_value("tiny-run")
    next(b for b in at.button if b.label == "Save").click()
    at.run()
    assert_clean(at, "after save")
    folder = tiny / "tiny-run"
    assert f"Saved as **tiny-run** in `{folder}`" in said(at)
    m = models.load(folder)                                   # the project's format, loadable by path
    assert m.card["training"]["steps"] == 8 and m.card["training"]["seed"] == 3
    assert m.card["metrics"]["recon_class_accuracy"] >= 0     # measured as models.evaluate measures
    assert "tiny-run · z=2 · trained here" in at.sidebar.selectbox(key="model").options   # at once
    # the saved run is one run, listed once for comparing (not also as "this session · job-N")
    assert not [m for m in at.multiselect if m.key == "train_compare"]
    assert any(c.value.startswith("Finish or save two runs") for c in at.caption)

    at.button(key="train_open").click().run()                      # "Open it on the latent map"
    assert_clean(at, "the saved run on the map")
    assert at.session_state.model == "tiny-run" and at.session_state["_page"] == ""   # the map page
    assert at.session_state.proj == "latent"                  # a z = 2 run opens on its latent plane
    for page in PAGES:
        at.switch_page(page).run()
        assert_clean(at, f"{page} with the saved run")
        assert at.session_state.model == "tiny-run"


def test_the_live_charts_show_each_layer_each_dimension_and_every_weight(tiny):
    """The four charts beside the curves: gradient norms per layer (one bar per layer that has
    parameters, by name in forward order, the mean of the last 10 steps), dead ReLUs (one point per
    epoch), KL per latent dimension (latent_dim bars of the epoch shown) and the weight histogram
    (its counts add up to the network's weights: every parameter but the biases), with the
    parameter count beside it."""
    at = open_train(epochs=2, batch_size=64, latent_dim=3, seed=5)
    at.button(key="train_start").click().run()
    at = wait_until(at, lambda a: "Finished: 8 steps, 2 epochs" in said(a))
    assert_clean(at, "finished run")
    run = jobs.worker().poll(at.session_state.train_job)["result"]
    net = run.net
    layers = list(dict.fromkeys(n.rsplit(".", 1)[0] for n, _ in net.named_parameters()))

    grads = chart(at, "train_grads")
    assert len(grads["data"]) == 1 and grads["data"][0]["type"] == "bar"
    assert values(grads["data"][0]["x"]) == layers == list(run.steps[-1]["grad_norms"])
    expected = [np.mean([s["grad_norms"][k] for s in run.steps[-10:]]) for k in layers]
    assert values(grads["data"][0]["y"]) == pytest.approx(expected, rel=1e-6)
    assert grads["layout"]["yaxis"]["type"] == "log"

    dead = chart(at, "train_dead")
    assert values(dead["data"][0]["x"]) == [1, 2]
    assert values(dead["data"][0]["y"]) == pytest.approx([e["dead_relu"] for e in run.epochs])
    assert all(0 <= v <= 1 for v in values(dead["data"][0]["y"]))

    kl = chart(at, "train_kl_dims")
    assert values(kl["data"][0]["x"]) == ["z1", "z2", "z3"]
    assert values(kl["data"][0]["y"]) == pytest.approx(run.epochs[1]["kl_per_dim"])
    assert "(epoch 2)" in kl["layout"]["xaxis"]["title"]["text"]

    weights = chart(at, "train_weights")
    n_weights = sum(p.numel() for n, p in net.named_parameters() if n.endswith("weight"))
    n_biases = sum(p.numel() for n, p in net.named_parameters() if n.endswith("bias"))
    assert sum(values(weights["data"][0]["y"])) == n_weights == run.param_count - n_biases
    assert len(values(weights["data"][0]["x"])) == lab.HIST_BINS
    assert at.metric[0].label == "Parameters (weights and biases) learned"
    assert at.metric[0].value == f"{run.param_count:,}"

    import streamlit as st
    st.cache_resource.clear()      # built cold (another tab, or evicted): from the replayed epoch's record
    at.slider(key=next(k.key for k in at.slider if k.key.startswith("train_epoch_"))).set_value(1).run()
    kl = chart(at, "train_kl_dims")                                   # replayed: epoch 1's dimensions
    assert values(kl["data"][0]["y"]) == pytest.approx(run.epochs[0]["kl_per_dim"])
    assert "(epoch 1)" in kl["layout"]["xaxis"]["title"]["text"]
    assert sum(values(chart(at, "train_weights")["data"][0]["y"])) == n_weights


def test_a_network_without_relus_says_none_can_die(tiny):
    at = open_train(epochs=1, batch_size=64, activation="tanh")
    at.button(key="train_start").click().run()
    at = wait_until(at, lambda a: "Finished: 4 steps, 1 epoch" in said(a))
    assert not [c for c in at.get("plotly_chart") if "train_dead" in c.proto.id]
    assert any("no ReLU units" in c.value for c in at.caption)
    assert chart(at, "train_grads") and chart(at, "train_kl_dims") and chart(at, "train_weights")


def test_stop_ends_the_run_and_it_can_still_be_saved(tiny):
    at = open_train(epochs=100, batch_size=64)
    at.button(key="train_start").click().run()
    at = wait_until(at, lambda a: "Training: step" in said(a))
    at.button(key="train_stop").click().run()
    at = wait_until(at, lambda a: "Stopped by you at step" in said(a))
    step = int(re.search(r"Stopped by you at step (\d+) of 400", said(at)).group(1))
    assert 0 < step < 400
    assert at.text_input(key="train_save_name").value == "mnist-vae-z2"   # what it learned can be saved
    assert not at.button(key="train_start").disabled and at.button(key="train_stop").disabled
    # Enter in the name box saves; a click on Save right after must not save the same run again
    at.text_input(key="train_save_name").set_value("stopped-run")
    at.button(key="FormSubmitter:train_save_form-Save").click().run()
    at.text_input(key="train_save_name").set_value("stopped-run")
    at.button(key="FormSubmitter:train_save_form-Save").click().run()
    assert sorted(p.name for p in tiny.iterdir() if not p.name.startswith(".")) == ["stopped-run"]
    assert "already saved, as `stopped-run`" in said(at)


def test_a_second_click_on_save_during_the_save_does_not_save_the_run_twice(tiny, monkeypatch):
    """A save takes 10-20 s; a second click on Save meanwhile queues a rerun, which Streamlit lets cut
    in at the first Streamlit call after the save (leaving the spinner). That rerun must find the
    run saved, not save it again as name-2 (found in the browser: 'dup' and 'dup-2', and the page
    blaming a name clash). The cut is made here by a spinner whose exit stops the run."""
    import contextlib

    from streamlit.runtime.scriptrunner_utils.exceptions import StopException

    at = open_train(epochs=1, batch_size=64)
    at.button(key="train_start").click().run()
    at = wait_until(at, lambda a: "Finished: 4 steps, 1 epoch" in said(a))
    real, cut = st.spinner, []

    @contextlib.contextmanager
    def spinner_cut_short(*a, **k):
        with real(*a, **k):
            yield
        if not cut:                                 # the second click's rerun cuts in here, once
            cut.append(1)
            raise StopException()

    monkeypatch.setattr(st, "spinner", spinner_cut_short)
    at.text_input(key="train_save_name").set_value("dup")
    at.button(key="FormSubmitter:train_save_form-Save").click().run()
    assert cut                                      # the first save was cut short after writing
    at.button(key="FormSubmitter:train_save_form-Save").click().run()
    assert sorted(p.name for p in tiny.iterdir() if not p.name.startswith(".")) == ["dup"]
    assert not at.exception, at.exception
    assert "already saved, as `dup`" in said(at)
    assert any(m.value.startswith("Saved as **dup**") for m in at.success), [m.value for m in at.success]


def test_opening_the_page_on_a_fresh_server_starts_warming_the_worker(monkeypatch):
    """The worker's warm-up (its training process, torch, the data: 4-5 s on 2 cores) starts when
    the page opens, while the person chooses knobs; made by the first Train press, it put the
    first loss point of a fresh server's first run 4-5 s after the press (bar: 3 s)."""
    made = []

    class Fake:
        idle_s = jobs.IDLE_S

        def __init__(self, **kw):
            made.append(kw)

        def poll(self, job_id):
            return None

    monkeypatch.setattr(jobs, "_worker", None)              # a fresh server: no worker yet
    monkeypatch.setattr(jobs, "Worker", Fake)
    at = open_train()
    assert_clean(at, "train page, fresh server")
    assert len(made) == 1 and made[0]["warm"] is jobs._warm_lab
    assert {k: made[0][k] for k in ("max_running", "threads", "nice")} == jobs.settings()
    at.run()
    assert len(made) == 1                                   # one per server, not one per run


def test_a_wrong_training_setting_is_said_on_the_page_not_a_traceback(monkeypatch):
    """The worker is made when the page opens, so a LATENT_PLAYGROUND_TRAIN_* value the server was
    started with that is out of range or not a number is met there: the page says which and why,
    with no exception box and no knobs to press Train with; no worker is made."""
    monkeypatch.setattr(jobs, "_worker", None)
    for raw, words in (("abc", "expected a whole number from 1 to 64"), ("0", "=0: expected a whole number")):
        monkeypatch.setenv(jobs.RUNS_ENV, raw)
        at = open_train()
        assert not at.exception, at.exception
        assert f"{jobs.RUNS_ENV}" in said(at) and words in said(at), said(at)
        assert "Training is not available on this server" in said(at)
        assert not [b for b in at.button if b.key == "train_start"]
        assert jobs._worker is None


def test_a_tab_reloaded_mid_run_finds_the_run_still_training(tiny):
    """A reload is a new session that only has the URL: `job=` brings it back to the run, which is
    still training, can still be stopped from there and saved; a name that was taken is said."""
    at = open_train(epochs=100, batch_size=64)
    at.button(key="train_start").click().run()
    at = wait_until(at, lambda a: "Training: step" in said(a))
    job = at.session_state.train_job
    again = open_train(**{k: at.query_params[k] for k in KNOBS}, job=job)     # the reloaded tab
    assert_clean(again, "reloaded mid-run")
    assert again.session_state.train_job == job and again.query_params["job"] == job
    assert jobs.worker().poll(job)["state"] == "running"
    again = wait_until(again, lambda a: "Training: step" in said(a) and a.get("plotly_chart"))
    assert again.button(key="train_start").disabled and not again.button(key="train_stop").disabled
    assert values(chart(again, "train_curve_a")["data"][0]["x"])[0] == 1      # its curve, from step 1
    again.button(key="train_stop").click().run()
    again = wait_until(again, lambda a: "Stopped by you at step" in said(a))
    saved("mnist-vae-z2")                                        # the name it offers is taken meanwhile
    again.text_input(key="train_save_name").set_value("mnist-vae-z2")
    again.button(key="FormSubmitter:train_save_form-Save").click().run()
    assert_clean(again, "saved under a taken name")
    assert f"“mnist-vae-z2” was taken: saved as **mnist-vae-z2-2** in `{tiny / 'mnist-vae-z2-2'}`" in said(again)
    assert models.load(tiny / "mnist-vae-z2").card["training"]["epochs"] == 1       # never overwritten


def test_a_run_that_blows_up_stops_itself_and_says_why(tiny):
    at = open_train()
    at.selectbox(key="train_preset").set_value("lr-too-high").run()
    assert at.session_state["train_k_lr"] == 0.5 and at.session_state["train_k_optimiser"] == "sgd"
    assert PRESETS["lr-too-high"][1] in said(at)                       # the lesson is shown
    assert at.query_params["lr"] == "0.5"
    at.button(key="train_start").click().run()
    at = wait_until(at, lambda a: "The run stopped itself" in said(a))
    error = [e.value for e in at.error][0]
    assert re.search(r"the learning rate is too high: the loss became (infinite|NaN \(not a number\)) "
                     r"at step \d+", error)
    assert not [t for t in at.text_input if t.key == "train_save_name"]      # nothing worth saving


def test_a_waiting_run_shows_its_place_in_the_queue(tiny):
    gate = threading.Event()
    blocker = jobs.worker().submit(lambda ctx: gate.wait(60), "someone else's run")
    try:
        end = time.monotonic() + 30
        while jobs.worker().poll(blocker)["state"] != "running" and time.monotonic() < end:
            time.sleep(0.02)
        at = open_train(epochs=1)
        at.button(key="train_start").click().run()
        assert "Waiting in the queue at position 1: 1 run is ahead of yours" in said(at)
        at.button(key="train_stop").click().run()
        at = wait_until(at, lambda a: "Stopped by you before it started" in said(a))
    finally:
        gate.set()


def test_a_double_click_on_train_starts_one_run(tiny, monkeypatch):
    """A double-click's second click can arrive while the browser still shows Train enabled (the
    first click's run, which submitted the job, has not drawn the page yet): it must not submit a
    second run that orphans the first, which would hold the only training slot until its idle stop."""
    w, gate = jobs.worker(), threading.Event()
    at = open_train(epochs=1)
    assert not at.button(key="train_start").disabled
    first = w.submit(lambda ctx: gate.wait(60), "the first click's run")   # what the first click started
    submitted, submit = [], w.submit
    monkeypatch.setattr(w, "submit", lambda fn, label="": submitted.append(submit(fn, label)) or submitted[-1])
    try:
        at.session_state["train_job"] = first
        at.button(key="train_start").click().run()          # the second click, on the page drawn before
        assert submitted == [] and at.session_state.train_job == first
        assert tv.is_active(w.poll(first)) and at.button(key="train_start").disabled
    finally:
        gate.set()
    wait_until(at, lambda a: not a.button(key="train_start").disabled)
    at.button(key="train_start").click().run()              # once it has ended, Train starts a new run
    assert len(submitted) == 1 and at.session_state.train_job == submitted[0] != first


def test_the_url_holds_the_knobs_and_the_run_and_bad_values_warn(tiny):
    cfg = LabConfig.preset("beta-4").to_dict() | dict(seed=11, epochs=1)
    at = open_train(**tv.to_url(cfg))
    assert_clean(at, "knobs from a link")
    assert {k: at.session_state[f"train_k_{k}"] for k in KNOBS} == cfg
    assert {k: at.query_params[k] for k in KNOBS} == tv.to_url(cfg)
    at.select_slider(key="train_k_lr").set_value(0.01).run()
    assert at.query_params["lr"] == "0.01"
    at.button(key="train_start").click().run()
    job = at.session_state.train_job
    assert at.query_params["job"] == job
    wait_until(at, lambda a: "Finished" in said(a))
    again = open_train(**tv.to_url(dict(cfg, lr=0.01)), job=job)      # the tab reloaded: a new session
    assert "Finished: 4 steps, 1 epoch in" in said(again) and again.session_state.train_job == job
    assert values(chart(again, "train_curve_a")["data"][0]["x"]) == [1, 2, 3, 4]

    gone = open_train(job="job-999999")                  # a link to a run this server does not have
    assert "That run is no longer on the server" in said(gone) and "job" not in gone.query_params
    assert not gone.button(key="train_start").disabled

    bad = open_train(lr="banana", latent_dim="999", activation="swish")
    assert not bad.exception
    words = " ".join(w.value for w in bad.warning)
    assert "lr='banana'" in words and "latent_dim: 999 is outside its range 2 to 64" in words and "swish" in words
    default = tv.default_config()
    assert [bad.session_state[f"train_k_{k}"] for k in ("lr", "latent_dim", "activation")] == \
        [default["lr"], default["latent_dim"], default["activation"]]
    assert bad.query_params["latent_dim"] == str(default["latent_dim"])


def test_saved_runs_are_listed_beside_the_shipped_ones_and_a_clash_keeps_both(tiny, fresh_streamlit_caches):
    from playground import session
    run = LabRun(LabConfig(epochs=1, batch_size=64), data=small_data())
    run.step()
    lab.save_run(run, "mnist-vae", measure_figures=False)        # a shipped name
    lab.save_run(run, "mine", measure_figures=False)
    names = session.generative_names()
    assert {"mnist-vae", "mnist-vae (trained here)", "mine"} <= set(names)
    assert session.model_label("mine") == "mine · z=2 · trained here"
    assert session.model_label("mnist-vae (trained here)") == "mnist-vae · z=2 · trained here"
    assert session.model_label("mnist-vae") == "mnist-vae · z=16"
    shipped, mine = session.load_model("mnist-vae"), session.load_model("mnist-vae (trained here)")
    assert shipped.latent_dim == 16 and mine.latent_dim == 2
    assert mine.card["weights"]["sha256"] == models.load(tiny / "mnist-vae").card["weights"]["sha256"]
    assert "saved in" in session.model_summary("mine") and "saved in" not in session.model_summary("mnist-vae")

    at = open_train()
    options = at.sidebar.selectbox(key="model").options
    assert "mine · z=2 · trained here" in options and "mnist-vae · z=16" in options


def saved(name: str, **knobs):
    """A one-epoch run saved straight into the user folder (no held-out figures: quick)."""
    run = LabRun(LabConfig(**{**dict(epochs=1, batch_size=64), **knobs}), data=small_data())
    run.run()
    return lab.save_run(run, name, measure_figures=False)


def test_a_saved_run_is_deleted_only_after_confirming(tiny):
    folder = saved("old-run")
    at = open_train()
    at.selectbox(key="train_delete_pick").set_value("old-run").run()
    at.button(key="train_delete").click().run()
    assert "Delete **old-run** for good?" in said(at) and folder.is_dir()
    at.button(key="train_delete_no").click().run()                  # cancel keeps it
    assert folder.is_dir() and not [b for b in at.button if b.key == "train_delete_yes"]
    at.button(key="train_delete").click().run()
    at.button(key="train_delete_yes").click().run()
    assert_clean(at, "after delete")
    assert not folder.exists()
    assert "old-run" not in at.sidebar.selectbox(key="model").options
    assert "None yet." in [c.value for c in at.caption]


def test_compare_overlays_curves_tabulates_figures_and_shows_maps(tiny):
    saved("calm", beta=1.0)
    saved("strong-pull", beta=4.0)
    at = open_train()
    assert_clean(at, "compare")
    assert at.multiselect(key="train_compare").value == ["saved · calm", "saved · strong-pull"]
    curves = chart(at, "train_compare_fig")
    assert [t["name"] for t in curves["data"]] == ["saved · calm", "saved · strong-pull"]
    table = at.dataframe[-1].value
    assert list(table["run"]) == ["saved · calm", "saved · strong-pull"]
    assert list(table[tv.TITLES["beta"]]) == ["1", "4"]            # the knob that differs is a column
    maps = [json.loads(c.proto.spec) for c in at.get("plotly_chart") if "train_compare_map_" in c.proto.id]
    assert len(maps) == 2 and all(sum(len(values(t["x"])) for t in m["data"]) == lab.MAP_SAMPLE for m in maps)


def test_save_errors_are_said_in_words_and_leave_nothing(tiny, monkeypatch):
    import errno

    import models.checkpoint as ck
    at = open_train(epochs=1)
    at.button(key="train_start").click().run()
    at = wait_until(at, lambda a: "Finished: 4 steps, 1 epoch in" in said(a))     # "1 epoch", not "1 epochs"
    assert tv.NAME_RULE in [c.value for c in at.caption]             # the rule shows before typing
    at.text_input(key="train_save_name").set_value("no/slashes")
    next(b for b in at.button if b.label == "Save").click()
    at.run()
    assert "Not saved: name: 'no/slashes': use 1 to 64 letters" in said(at)

    for code, words in ((errno.ENOSPC, "the disk is full"), (errno.EROFS, "the disk is read-only"),
                        (errno.EACCES, "no permission to write there")):
        def refuse(*a, code=code, **k):
            raise OSError(code, os.strerror(code))
        monkeypatch.setattr(ck, "save_file", refuse)
        at.text_input(key="train_save_name").set_value("fine-name")
        next(b for b in at.button if b.label == "Save").click()
        at.run()
        assert not at.exception
        error = [e.value for e in at.error]
        assert error == [f"Not saved: could not save 'fine-name' in {tiny}: {words}. Nothing was written; "
                         f"free space or set {lab.USER_DIR_ENV} to a writable folder."], error
        assert not tiny.exists() or [p.name for p in tiny.iterdir()] == []   # no folder, no temp folder


def test_a_gan_run_shows_both_players_and_the_classes_of_its_samples(tiny):
    at = open_train(**tv.to_url(LabConfig.preset("gan-collapse").to_dict() | dict(epochs=1)))
    assert at.session_state["train_k_kind"] == "gan"
    assert all(at.slider(key=f"train_k_{k}").disabled for k in ("hidden_layers", "hidden"))   # VAE only
    at.button(key="train_start").click().run()
    at = wait_until(at, lambda a: "Finished: 4 steps" in said(a))
    assert_clean(at, "GAN run")
    losses, verdict = chart(at, "train_curve_a"), chart(at, "train_curve_b")
    assert [t["name"] for t in losses["data"]] == ["discriminator", "generator"]
    assert [t["name"] for t in verdict["data"]] == ["D(real)", "D(fake)"]
    shares = values(chart(at, "train_classes")["data"][0]["y"])
    assert len(shares) == 10 and abs(sum(shares) - 1) < 1e-6
    assert not [c for c in at.get("plotly_chart") if "train_map" in c.proto.id]    # no encoder, no map


# ---- the sidebar's note on the other pages ------------------------------------------------------------

def test_sidebar_words_say_progress_and_how_a_run_ended():
    snap = dict(step=250, total_steps=3000, epoch=1, seconds=12.0, stop_reason=None, config=dict(epochs=12))
    assert tv.sidebar_words(dict(state="running", position=0, progress=snap)) == (
        "Training: step 250 of 3,000, epoch 2 of 12")
    assert "position 2" in tv.sidebar_words(dict(state="queued", position=2, progress=None))
    assert tv.sidebar_words(dict(state="done", position=0, progress=snap)) == (
        "Your training run finished — see the Train page.")
    assert "blew up" in tv.sidebar_words(dict(state="done", position=0, progress=dict(snap, stop_reason="x")))
    assert tv.sidebar_words(None) == ""


def sidebar_text(at) -> str:
    return " | ".join(c.value for c in at.sidebar.caption)


def test_a_run_stays_alive_and_shows_in_the_sidebar_while_its_person_is_on_another_page(tiny):
    """The worker stops a run nobody polls for 2 minutes: the sidebar's note polls it from the
    other pages (and says how far it is), so visiting the latent map does not kill it."""
    from streamlit.testing.v1 import AppTest
    gate = threading.Event()
    snap = dict(step=250, total_steps=3000, epoch=1, seconds=12.0, stop_reason=None, config=dict(epochs=12))

    def fn(ctx):
        ctx.progress = snap
        gate.wait(60)

    w = jobs.worker()
    job = w.submit(fn, "VAE on MNIST digits")
    try:
        end = time.monotonic() + 30
        while w.poll(job)["state"] != "running" and time.monotonic() < end:
            time.sleep(0.05)
        at = AppTest.from_file(APP, default_timeout=120).run()        # the latent map
        assert "Training:" not in sidebar_text(at)                     # no run in this session
        at.session_state.train_job = job
        w._jobs[job].last_poll = 0.0                                   # as if long unwatched
        at.run()
        assert_clean(at, "map page with a run training")
        assert w._jobs[job].last_poll > 0.0                            # the map page polled it
        assert "Training: step 250 of 3,000, epoch 2 of 12" in sidebar_text(at)
        assert [p.proto.value for p in at.get("progress")] == [8]       # 250 / 3000, in percent
        gate.set()
        while tv.is_active(w.poll(job)) and time.monotonic() < end:
            time.sleep(0.05)
        at.run()
        assert "Your training run finished — see the Train page." in sidebar_text(at)
        at.switch_page("views/train.py").run()
        assert "finished" not in sidebar_text(at)                      # the Train page says it itself
        at.switch_page("views/map.py").run()
        assert "finished" not in sidebar_text(at)                      # said, and seen: not again
    finally:
        gate.set()
