"""Train page speed and lessons: the default preset as the page runs it, then one line per preset.

By default the default preset ("good-2d-vae") goes exactly the page's way, without Streamlit: it is
submitted to the process-wide background worker (`playground.jobs.worker()`, configured by the
environment as the server's is) as `training_view.train_job`, so it trains in the worker slot's child
process (playground/train_process.py, forked from the fork server) and its progress is relayed to
this process, the server's side, as the page reads it. The run is polled every 10 ms (the page polls
once a second; the figures come from the `published` stamp the server side puts on each snapshot as
it receives it, so the polling rate only has to be fast enough not to miss one). First, the worker
is created and warmed (its training process started, torch and the MNIST training data read) and
that cost printed: the Train page creates the worker when it first opens on a server, so a press
that soon after the page opened waits for the rest of it (`--cold` measures a press the moment the
page opens on a fresh server).
From the moment the job is submitted (the person pressing Train) it prints:
  - first loss point: the first snapshot with a step record that reached the server side;
  - first latent map: the first epoch record with a map that reached it (each epoch ends with the
    map of 1,000 held-out codes);
  - seconds per epoch (median and slowest), from the times the epoch records reached the server
    side (the first epoch from the run's first snapshot, which the child sends once it has built
    the run), beside the training process's own clock;
  - the whole run: from the submit to the finished run (rebuilt on the server side) reaching it;
  - the finished run's held-out reconstructions classified right as the saved card measures it:
    the run is saved as the page's Save saves it (`models.lab.save_run`, into a temporary folder)
    and the figure read from its card.
`--in-process` instead steps the same `LabRun` on a worker thread of this process (no child
process, no relay), as the page trained before runs moved into a child process. Then each preset
runs on its own, in this process (same threads), and prints the figure that shows its lesson.
Prints figures only; the issue's bars are printed beside them, nothing is asserted.

    nice python bench/train_speed.py                       # everything (several minutes on 2 cores)
    python bench/train_speed.py --presets none             # the default preset only, the page's way
    python bench/train_speed.py --presets none --in-process
    python bench/train_speed.py --presets lr-too-low,beta-4 --epochs 2 --skip-default
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from models import lab  # noqa: E402
from models.lab import GAN_BASE, PRESETS, LabConfig, LabRun, training_data, warm  # noqa: E402
from models.latent_model import LatentModel  # noqa: E402
from models.measure import classifier_for, measure  # noqa: E402
from playground import jobs  # noqa: E402
from playground import training_view as tv  # noqa: E402


def held_out_accuracy(run: LabRun) -> float | None:
    """reconstructions classified right on the data set's held-out split, as the card measures it."""
    modules, _ = run.result()
    card = run.card(measure_figures=False)
    clf, _note = classifier_for(run._card_stub())
    figures = measure(LatentModel("bench", card, modules), run.data, clf)
    for n in run.nets.values():
        n.train()
    return figures.get("recon_class_accuracy")


def in_process_run(threads: int, cfg: LabConfig) -> None:
    w = jobs.Worker(threads=threads)
    t0 = time.perf_counter()

    def train(ctx):
        run = LabRun(cfg)
        ctx.progress = run
        c0, cpu = time.thread_time(), []
        while not run.finished:
            ctx.check()
            run.step()
            if run.step_count % run.steps_per_epoch == 0:
                cpu.append(time.thread_time() - c0)        # this thread's CPU time, whatever the load
        return run, cpu

    jid = w.submit(train, "bench")
    first_loss = first_map = None
    while True:
        s = w.poll(jid)
        run = s["progress"]
        if run is not None:
            snap = run.snapshot()
            now = time.perf_counter() - t0
            if first_loss is None and snap["steps"]:
                first_loss = now
            if first_map is None and snap["epochs"] and snap["epochs"][0]["latent_map"] is not None:
                first_map = now
        if s["state"] not in ("queued", "running"):
            break
        time.sleep(0.02)
    total = time.perf_counter() - t0
    if s["state"] != "done":
        print(f"default run ended {s['state']}: {s['error']}")
        return
    run, cpu = s["result"]
    ends = [0.0] + [e["seconds"] for e in run.epochs]
    per_epoch, cpu_per_epoch = np.diff(ends), np.diff([0.0] + cpu)
    acc = held_out_accuracy(run)
    print(f"default preset {cfg.to_dict()}")
    print(f"  torch threads {threads}, {len(run.data.train_x)} training images, "
          f"{run.steps_per_epoch} steps per epoch, {run.param_count:,} parameters")
    print(f"  first loss point   {first_loss:6.2f} s   (bar: 3 s)")
    print(f"  first latent map   {first_map:6.2f} s   (bar: 10 s)")
    print(f"  seconds per epoch  {statistics.median(per_epoch):6.2f} median, {per_epoch.max():.2f} slowest "
          f"(bar: 5 s)")
    print(f"  CPU per epoch      {statistics.median(cpu_per_epoch):6.2f} s median (the training thread's CPU "
          f"time: an epoch's length on an idle core; the wall times above include waiting for a busy one)")
    print(f"  total              {total:6.1f} s for {run.epoch} epochs ({sum(cpu_per_epoch):.1f} s of CPU)")
    print(f"  held-out reconstructions classified right: {acc:.1%} (bar: 55%; shipped mnist-vae2d 59.4%)")


def warm_worker() -> float:
    """Create the process-wide worker and wait until its thread has warmed (its training process
    started and ready, torch and the training data read here): a no-op job runs only after that.
    Returns the seconds it took (what the first Train press on a fresh server waits for too)."""
    t = time.monotonic()
    w = jobs.worker()
    from playground import train_process
    # run on the worker's thread, after its warm-up: that thread's training process must be ready
    # (the worker serves jobs even when its warm-up failed; this says so instead of timing it)
    jid = w.submit(lambda ctx: train_process.trainer().ready(ctx), "bench warm-up")
    while tv.is_active(s := w.poll(jid)):
        time.sleep(0.01)
    if s["state"] != "done":
        print(f"NOTE: the worker's training process is not ready ({s['state']}: {s['error']}); "
              "the time below is not a warm-up's")
    return time.monotonic() - t


def page_run(cfg: LabConfig, cold: bool) -> None:
    """The default preset submitted, trained, relayed and saved exactly as the Train page does it."""
    settings = jobs.settings()
    if cold:
        print("cold: the worker is created with the submit, as by a press the moment the Train page "
              "opens on a fresh server")
    else:
        print(f"the worker created and warmed (training process started, torch and data read) in "
              f"{warm_worker():.2f} s: the Train page starts this when it first opens on a server; "
              f"a press before it is done waits for the rest (measure the worst case with --cold)")
    w = jobs.worker()
    t0 = time.monotonic()
    jid = w.submit(tv.train_job(cfg), tv.job_label(cfg.to_dict()))     # the page's start_training
    last = start = first_loss = first_map = done = None
    epoch_at: dict[int, float] = {}
    received = 0
    while True:
        s = w.poll(jid)
        snap = s["progress"]
        if snap is not None and snap is not last:
            last, received = snap, received + 1
            at = snap["published"]                  # when the server side received it
            if start is None and snap["step"] == 0:
                start = at
            if first_loss is None and snap["steps"]:
                first_loss = at - t0
            for e in snap["epochs"]:
                epoch_at.setdefault(e["epoch"], at)
                if first_map is None and e.get("latent_map") is not None:
                    first_map = at - t0
            if snap.get("run") is not None:
                done = at - t0
        if not tv.is_active(s):
            break
        time.sleep(0.01)
    if s["state"] != "done":
        print(f"default run ended {s['state']}: {s['error']}")
        return
    run = s["result"]
    if start is None:
        print("NOTE: the step-0 snapshot was not seen: the first epoch below is timed from the submit "
              "and includes the start")
    missing = [k for k, v in (("first loss point", first_loss), ("first latent map", first_map),
                              ("finished run", done)) if v is None]
    if missing:
        print(f"NOTE: never seen on the server side: {', '.join(missing)} (printed as nan)")
    first_loss, first_map, done = (float("nan") if v is None else v for v in (first_loss, first_map, done))
    arrivals = [start if start is not None else t0] + [epoch_at[k] for k in sorted(epoch_at)]
    per_epoch = np.diff(arrivals)
    own = np.diff([0.0] + [e["seconds"] for e in run.epochs])
    with tempfile.TemporaryDirectory() as root:
        t = time.monotonic()
        folder = lab.save_run(run, "bench-default", root)                   # the page's Save
        saving = time.monotonic() - t
        card = json.loads((Path(folder) / "card.json").read_text(encoding="utf-8"))
    acc = card["metrics"].get("recon_class_accuracy")
    print(f"default preset {cfg.to_dict()}, the page's way (worker, child process, relay)")
    print(f"  torch threads {settings['threads']} in the training process (nice +{settings['nice']}), "
          f"{len(run.data.train_x)} training images, {run.steps_per_epoch} steps per epoch, "
          f"{run.param_count:,} parameters; {received} snapshots seen (the child publishes every "
          f"{tv.PUBLISH_S} s and at each epoch's end)")
    print(f"  first loss point   {first_loss:6.2f} s   after the submit, on the server side (bar: 3 s)")
    print(f"  first latent map   {first_map:6.2f} s   (bar: 10 s)")
    print(f"  seconds per epoch  {statistics.median(per_epoch):6.2f} median, {per_epoch.max():.2f} slowest, "
          f"as the epoch records reached the server side (bar: 5 s); "
          f"{statistics.median(own):.2f} median in the training process's own clock")
    print(f"  whole run          {done:6.1f} s from the submit to the finished run on the server side, "
          f"{tv.plural(run.epoch, 'epoch')}")
    print(f"  held-out reconstructions classified right: {acc:.1%} as the saved card measures it "
          f"(bar: 55%; shipped mnist-vae2d 59.4%); saving and measuring took {saving:.1f} s")


def lesson(name: str, run: LabRun) -> str:
    """The figure that shows a preset's lesson, in words."""
    s, e = run.steps, run.epochs
    if run.stop_reason:
        return f"stopped: {run.stop_reason}"
    if run.config.kind == "gan":
        hist = e[-1]["class_histogram"] if e else None
        if not hist:
            return "no class histogram (no classifier)"
        share = np.asarray(hist) / max(sum(hist), 1)
        covered = int((share >= 0.05).sum())
        return (f"classes with >=5% of {sum(hist)} samples: {covered} of {len(hist)}; largest share "
                f"{share.max():.0%}; D(real) {s[-1]['d_real']:.2f}, D(fake) {s[-1]['d_fake']:.2f}")
    losses = np.array([r["loss"] for r in s])
    k = max(1, min(20, len(losses) // 10))
    first, last = losses[:k].mean(), losses[-k:].mean()
    spe = run.steps_per_epoch
    one = losses[min(len(losses), spe) - k:min(len(losses), spe)].mean()
    noise = float(np.median(np.abs(np.diff(losses[-spe:])))) / float(np.median(losses[-spe:]))
    names = list(s[0]["grad_norms"])
    g = np.mean([[r["grad_norms"][n] for n in (names[0], names[-1])] for r in s[:spe]], 0)
    kl = np.asarray(e[-1]["kl_per_dim"]) if e else np.array([])
    return (f"loss {first:.0f} -> {one:.0f} after epoch 1 -> {last:.0f} (down {1 - one / first:.0%} in epoch 1); "
            f"step-to-step loss change {noise:.1%} of the loss; "
            f"grad norm {names[0]} {g[0]:.2g} vs {names[-1]} {g[1]:.2g} (epoch-1 mean); "
            f"KL per dim {np.round(kl, 2).tolist()} ({int((kl < 0.1).sum())} under 0.1 nats); "
            f"dead ReLUs {e[-1]['dead_relu'] if e and e[-1]['dead_relu'] is not None else float('nan'):.0%}")


# A preset's lesson shows against a control that differs in the lesson's knob only.
CONTROLS = {"sigmoid-everywhere": ("  same knobs, ReLU", lambda c: dict(c.to_dict(), activation="relu")),
            "gan-collapse": ("  GAN base (z=32, lr 2e-4)", lambda c: dict(GAN_BASE, seed=c.seed))}


def preset_lines(names: list[str], epochs: int | None) -> None:
    configs = []
    for n in names:
        configs.append((n, LabConfig.preset(n)))
        if n in CONTROLS:
            label, knobs = CONTROLS[n]
            configs.append((label, LabConfig(**knobs(configs[-1][1]))))
    for name, cfg in configs:
        if epochs:
            cfg = LabConfig(**dict(cfg.to_dict(), epochs=min(epochs, cfg.epochs)))
        t = time.perf_counter()
        run = LabRun(cfg).run()
        took = time.perf_counter() - t
        acc = held_out_accuracy(run) if cfg.kind == "vae" and not run.stop_reason else None
        print(f"{name:24s} {run.epoch:3d} epochs {run.step_count:5d} steps {took:6.1f} s"
              + (f"  classified right {acc:.1%}" if acc is not None else ""))
        print(f"{'':24s} {lesson(name, run)}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads (default: the worker's, from LATENT_PLAYGROUND_TRAIN_THREADS)")
    p.add_argument("--presets", default="all", help="comma-separated preset names, 'all' or 'none'")
    p.add_argument("--epochs", type=int, default=None, help="cap each preset line's epochs")
    p.add_argument("--skip-default", action="store_true", help="skip the timed default run")
    p.add_argument("--in-process", action="store_true",
                   help="step the default run on a worker thread of this process (no child process, no relay)")
    p.add_argument("--cold", action="store_true",
                   help="the page's way, without warming the worker first: a press the moment the page "
                        "opens on a fresh server")
    p.add_argument("--default-epochs", type=int, default=None,
                   help="cap the default run's epochs (a quick look: the whole run and the accuracy "
                        "are then not the preset's)")
    args = p.parse_args(argv)
    if args.threads:                                 # the worker's training processes read it
        os.environ[jobs.THREADS_ENV] = str(args.threads)
    threads = args.threads or jobs.settings()["threads"]
    torch.set_num_threads(threads)
    default = LabConfig.preset("good-2d-vae")
    if args.default_epochs:
        default = LabConfig(**dict(default.to_dict(), epochs=min(args.default_epochs, default.epochs)))
    if not args.skip_default and not args.in_process:
        page_run(default, cold=args.cold)            # warms its own way (as the server does)
    t = time.perf_counter()
    training_data("mnist")
    read = time.perf_counter() - t
    if args.in_process or args.skip_default:
        print(f"once per server, before the first Train press (the worker's thread does it when created): "
              f"MNIST training data read in {read:.2f} s, torch warmed in {warm():.2f} s (models.lab.warm)")
    if not args.skip_default and args.in_process:
        in_process_run(threads, default)
    names = {"all": list(PRESETS), "none": []}.get(args.presets, args.presets.split(","))
    unknown = [n for n in names if n not in PRESETS]
    if unknown:
        p.error(f"unknown preset {unknown[0]!r}; known: {', '.join(PRESETS)}")
    if names:
        print(f"\npresets (torch threads {threads}{f', at most {args.epochs} epochs' if args.epochs else ''}):")
        preset_lines(names, args.epochs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
