"""Train page speed and lessons: the default preset as the page runs it, then one line per preset.

The default preset ("good-2d-vae") runs through the background worker (playground.jobs), with
torch bounded to the worker's thread count (LATENT_PLAYGROUND_TRAIN_THREADS, else half the
cores), and is polled every 20 ms the way the page polls it. From the moment the job is submitted
(the person pressing Train), in a process already warmed as the server warms it, it prints:
  - first loss point: the first step record in the run's snapshot;
  - first latent map: the first epoch record (each epoch ends with the map of 1,000 held-out codes);
  - seconds per epoch (median and slowest), the training thread's CPU seconds per epoch (what an
    idle core would take, whatever else the machine is doing; with one torch thread, since
    torch's other threads are not counted) and the total;
  - the finished run's held-out reconstructions classified right, measured as models.evaluate
    and the card measure it (models.measure.measure on the 2,000 held-out MNIST digits).
Then each preset runs on its own (same threads) and prints the figure that shows its lesson.
Prints figures only; the issue's bars are printed beside them, nothing is asserted.

    nice python bench/train_speed.py                       # everything (several minutes on 2 cores)
    python bench/train_speed.py --presets none             # the default preset only
    python bench/train_speed.py --presets lr-too-low,beta-4 --epochs 2
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from models.lab import GAN_BASE, PRESETS, LabConfig, LabRun, training_data, warm  # noqa: E402
from models.latent_model import LatentModel  # noqa: E402
from models.measure import classifier_for, measure  # noqa: E402
from playground import jobs  # noqa: E402


def held_out_accuracy(run: LabRun) -> float | None:
    """reconstructions classified right on the data set's held-out split, as the card measures it."""
    modules, _ = run.result()
    card = run.card(measure_figures=False)
    clf, _note = classifier_for(run._card_stub())
    figures = measure(LatentModel("bench", card, modules), run.data, clf)
    for n in run.nets.values():
        n.train()
    return figures.get("recon_class_accuracy")


def default_run(threads: int, cfg: LabConfig) -> None:
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
    args = p.parse_args(argv)
    threads = args.threads or jobs.settings()["threads"]
    torch.set_num_threads(threads)
    t = time.perf_counter()
    training_data("mnist")
    read = time.perf_counter() - t
    print(f"once per server, before the first Train press (the worker's thread does it when created): "
          f"MNIST training data read in {read:.2f} s, torch warmed in {warm():.2f} s (models.lab.warm)")
    if not args.skip_default:
        default_run(threads, LabConfig.preset("good-2d-vae"))
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
