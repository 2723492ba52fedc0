"""The Train page's logic, without Streamlit: the knobs' scales, the knobs in the URL, the job the
background worker runs, what a poll means in words, and the records compared between runs.

The page (playground/views/train.py) draws widgets from these; the figures are in
playground/train_figures.py.
"""
from __future__ import annotations

import math
import re
import time
from collections import OrderedDict

import numpy as np

from models import lab
from models.lab import KNOBS, PRESETS, ConfigError, LabConfig

DEFAULT_PRESET = "good-2d-vae"
MAX_SESSION_RUNS = 8              # finished runs of one session kept for comparing (the newest)
PUBLISH_S = 0.25                  # the job publishes a snapshot at most this often (and at each epoch)


def log_grid(lo: float, hi: float, mantissas=(1, 2, 5)) -> list[float]:
    """Values m·10^e (m in `mantissas`) from lo to hi inclusive: a log scale with round numbers."""
    out = []
    for e in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1):
        for m in mantissas:
            v = float(f"{m}e{e}")
            if lo <= v <= hi:
                out.append(v)
    return sorted(set(out))


def _range(knob: str) -> tuple:
    return KNOBS[knob][0]


# Knobs on a slider over chosen values (a log scale, powers of two): every other number is a slider
# over whole numbers, or a choice among the names KNOBS allows.
SCALES: dict[str, list] = {
    "lr": log_grid(*_range("lr"), mantissas=(1, 2, 3, 5)),
    "weight_decay": [0.0] + log_grid(1e-6, _range("weight_decay")[1]),
    "batch_size": [b for b in (2 ** k for k in range(11)) if _range("batch_size")[0] <= b <= _range("batch_size")[1]],
    "beta": [b for b in (0.0, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)
             if _range("beta")[0] <= b <= _range("beta")[1]],
}
# preset values are always on the scale, so a preset never lands between two stops
for _knobs, _ in PRESETS.values():
    for _k, _v in _knobs.items():
        if _k in SCALES and _v not in SCALES[_k]:
            SCALES[_k] = sorted(SCALES[_k] + [_v])
for _f, _v in LabConfig().to_dict().items():
    if _f in SCALES and _v not in SCALES[_f]:
        SCALES[_f] = sorted(SCALES[_f] + [_v])

LABELS = {
    "dataset": {"mnist": "MNIST digits", "fashion-mnist": "Fashion-MNIST", "shapes": "Coloured shapes (RGB, known factors)"},
    "kind": {"vae": "VAE", "gan": "GAN"},
    "optimiser": {"sgd": "SGD", "momentum": "SGD + momentum", "adam": "Adam"},
    "activation": {"relu": "ReLU", "leaky_relu": "LeakyReLU", "sigmoid": "Sigmoid", "tanh": "Tanh",
                   "gelu": "GELU"},
}
TITLES = {
    "dataset": "Data", "kind": "Kind of model", "lr": "Learning rate", "optimiser": "Optimiser",
    "batch_size": "Batch size", "epochs": "Epochs", "latent_dim": "Latent size (z)",
    "beta": "β (weight of the KL term)", "hidden_layers": "Hidden layers", "hidden": "Neurons per hidden layer",
    "channels": "Convolution channels", "activation": "Activation function",
    "weight_decay": "Weight decay (L2)", "seed": "Seed",
}
VAE_ONLY = ("beta", "hidden_layers", "hidden")
GROUPS = {"Data and model": ("dataset", "kind", "latent_dim", "beta"),
          "Network": ("activation", "channels", "hidden_layers", "hidden"),
          "Optimisation": ("optimiser", "lr", "batch_size", "epochs", "weight_decay", "seed")}
PRESET_TITLES = {
    "good-2d-vae": "A good 2-D VAE", "lr-too-high": "Learning rate too high",
    "lr-too-low": "Learning rate too low", "sigmoid-everywhere": "Sigmoid everywhere",
    "beta-0": "β = 0: a plain autoencoder", "beta-4": "β = 4: a strong KL pull",
    "tiny-batches": "Tiny batches", "gan-collapse": "A GAN that collapses",
    "beta-vae-shapes": "β-VAE on shapes",
}


def preset_title(name: str) -> str:
    return PRESET_TITLES.get(name) or name.replace("-", " ").capitalize()


def is_choice(knob: str) -> bool:
    return isinstance(_range(knob)[0], str)


def explanation(knob: str) -> str:
    return KNOBS[knob][1]


def label(knob: str, value) -> str:
    """How a value is written on the page: names for choices, compact numbers for the rest."""
    if is_choice(knob):
        return LABELS.get(knob, {}).get(value, str(value))
    if knob in ("lr", "weight_decay"):
        return "0" if value == 0 else f"{value:g}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def default_config() -> dict:
    return LabConfig.preset(DEFAULT_PRESET).to_dict()


def matching_preset(config: dict) -> str | None:
    """The preset whose knobs are exactly these, if any."""
    for name in PRESETS:
        if LabConfig.preset(name).to_dict() == config:
            return name
    return None


# ---- the knobs in the URL ------------------------------------------------------------------------

def to_url(config: dict) -> dict[str, str]:
    """Every knob as a query parameter (all of them, so a link means the same after defaults change)."""
    return {k: (repr(float(v)) if isinstance(v, float) else str(v)) for k, v in config.items() if k in KNOBS}


def _parse(knob: str, text: str):
    if is_choice(knob):
        return text
    lo, _ = _range(knob)
    if isinstance(lo, int) and knob != "beta":
        value = float(text)
        if not value.is_integer():
            raise ConfigError(knob, f"{text!r} is not a whole number")
        return int(value)
    return float(text)


def from_url(params: dict) -> tuple[dict, list[str]]:
    """Knobs from query parameters over the default preset, and a warning (words) per unusable
    value, which keeps its default. Values between a scale's stops move to the nearest stop.
    Parameters that are not knobs are ignored."""
    config, warnings = default_config(), []
    for knob in KNOBS:
        if knob not in params:
            continue
        text = str(params[knob])
        try:
            value = _parse(knob, text)
            LabConfig(**{**config, knob: value})          # validates the value against its range
        except (ValueError, ConfigError) as e:
            why = str(e) if isinstance(e, ConfigError) else f"{knob}: {text!r} is not a number"
            warnings.append(f"The link's {knob}={text!r} cannot be used ({why}); "
                            f"using the default {label(knob, config[knob])}.")
            continue
        if knob in SCALES and value not in SCALES[knob]:
            near = nearest_stop(knob, value)
            warnings.append(f"The link's {knob}={text} is not on the slider's scale; "
                            f"using the nearest stop, {label(knob, near)}.")
            value = near
        config[knob] = value
    return config, warnings


def nearest_stop(knob: str, value: float):
    stops = SCALES[knob]
    if knob in ("lr", "weight_decay") and value > 0:      # nearest on the log scale
        positive = [s for s in stops if s > 0]
        return min(positive, key=lambda s: abs(math.log(s) - math.log(value)))
    return min(stops, key=lambda s: abs(s - value))


# ---- the job ------------------------------------------------------------------------------------

def train_job(config: LabConfig, publish_s: float = PUBLISH_S):
    """The function the background worker runs: the run trains in the slot's child process
    (playground/train_process.py: the server's pages keep their interpreter to themselves), which
    publishes a snapshot at most every `publish_s` seconds and at each epoch's end; between
    messages this checks whether it should stop (Stop pressed, or nobody watching). Returns the
    finished run; the last snapshot carries it (`run`), also when the run was stopped."""
    from playground import train_process

    def job(ctx):
        ctx.progress = None
        return train_process.train(config, ctx, publish_s)

    return job


def job_label(config: dict) -> str:
    return f"{config['kind'].upper()} on {label('dataset', config['dataset'])}"


ACTIVE = ("queued", "running")


def is_active(status: dict | None) -> bool:
    return bool(status) and status["state"] in ACTIVE


def plural(n: int, word: str) -> str:
    """'1 epoch', '2 epochs', '1,000 steps'."""
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


RECORD_WORDS = {"loss": "the total loss", "rec": "the reconstruction error", "kl": "the KL term",
                "loss_d": "the discriminator's loss", "loss_g": "the generator's loss",
                "d_real": "D(real)", "d_fake": "D(fake)"}


def plain_stop_reason(reason: str) -> str:
    """models.lab's stop reason with its record keys in words: '… at step 3 (loss, rec, kl); …' ->
    '… at step 3 (the total loss, the reconstruction error and the KL term); …'."""
    def words(m):
        names = [RECORD_WORDS.get(k, k.replace("_", " ")) for k in m.group(2).split(", ")]
        joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        return f"at step {m.group(1)} (in {joined})"
    return re.sub(r"at step ([\d,]+) \(([a-z_]+(?:, [a-z_]+)*)\)", words, reason or "")


def describe(status: dict | None, idle_s: float) -> tuple[str, str]:
    """(level, words) for a job's poll: level is info, success, warning or error (a st.* call)."""
    if status is None:
        return ("warning", "That run is no longer on the server (the server restarted, or the run "
                           "was dropped to make room). Press Train to start again.")
    state, snap = status["state"], status.get("progress") or {}
    step, total = snap.get("step", 0), snap.get("total_steps", 0)
    if state == "queued":
        pos = status["position"]
        ahead = "1 run is" if pos == 1 else f"{pos} runs are"
        return ("info", f"Waiting in the queue at position {pos}: {ahead} ahead of yours, and one "
                        "run trains at a time. Yours starts by itself.")
    if state == "running":
        if not snap:
            return "info", "Starting: reading the training images and building the network…"
        epochs = snap["config"]["epochs"]
        left = time_left(step, total, snap["seconds"])
        return ("info", f"Training: step {step:,} of {total:,}, epoch {min(snap['epoch'] + 1, epochs)} "
                        f"of {epochs} · {duration(snap['seconds'])} so far"
                        + (f" · about {duration(left, rough=True)} left." if left is not None else "."))
    if state == "failed":
        return "error", f"The run failed: {status.get('error')}"
    if snap.get("stop_reason"):
        return "error", f"The run stopped itself: {plain_stop_reason(snap['stop_reason'])}."
    if state == "done":
        return ("success", f"Finished: {plural(step, 'step')}, {plural(snap.get('epoch', 0), 'epoch')} "
                           f"in {duration(snap.get('seconds', 0))}.")
    if state == "cancelled":
        if not snap:
            return "warning", "Stopped by you before it started."
        return "warning", f"Stopped by you at step {step:,} of {total:,}."
    if state == "idle-stopped":
        return ("warning", f"Stopped at step {step:,} of {total:,}: nobody was watching it for "
                           f"{idle_s / 60:.0f} minutes (a run nobody watches is stopped).")
    return "info", state


MIN_STEPS_TO_ESTIMATE = 5        # fewer steps than this measure the start-up more than the pace


def time_left(step: int, total: int, seconds: float) -> float | None:
    """Seconds until the run's last step at the pace measured so far (steps per second over the whole
    run, so the epochs' held-out measurements are counted in); None before there is a pace to go by."""
    if step < MIN_STEPS_TO_ESTIMATE or seconds <= 0 or total <= 0:
        return None
    return max(0, total - step) * seconds / step


def duration(seconds: float, rough: bool = False) -> str:
    """Seconds in words: '12 s', '3 min 5 s', '1 h 20 min'. rough (an estimate): whole minutes from
    a minute on, 5-second steps below it."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{max(5, 5 * round(s / 5)) if rough else s} s"
    if s < 3600:
        if rough:
            return f"{round(s / 60)} min"
        return f"{s // 60} min {s % 60} s" if s % 60 else f"{s // 60} min"
    h, m = divmod(round(s / 60), 60)
    return f"{h} h {m} min" if m else f"{h} h"


def fraction(status: dict | None) -> float:
    snap = (status or {}).get("progress") or {}
    total = snap.get("total_steps") or 0
    return min(1.0, snap.get("step", 0) / total) if total else 0.0


def remember(store: OrderedDict, key: str, value, limit: int = MAX_SESSION_RUNS) -> OrderedDict:
    """Keep `value` under `key` as the newest, dropping the oldest beyond `limit`."""
    store.pop(key, None)
    store[key] = value
    while len(store) > limit:
        store.popitem(last=False)
    return store


NAME_RULE = ("Letters, digits, '.', '_' and '-', up to 64 characters, starting with a letter or digit. "
             "An existing name is never overwritten: the run is saved as name-2, name-3, …")


def default_name(config: dict, taken=()) -> str:
    """A name for Save: data, kind and latent size, e.g. 'mnist-vae-z2' (then '-2', '-3' if taken)."""
    base = f"{config['dataset']}-{config['kind']}-z{config['latent_dim']}"
    name, i = base, 2
    while name in taken:
        name, i = f"{base}-{i}", i + 1
    return name


# ---- records compared between runs --------------------------------------------------------------

def history(epochs: list[dict]) -> list[dict]:
    """Per-epoch numbers of a run (what a saved card keeps as training.history)."""
    return [{k: v for k, v in row.items() if isinstance(v, (int, float)) or v is None} for row in epochs]


def summary_from_snapshot(label_: str, snap: dict) -> dict:
    last = snap["epochs"][-1] if snap["epochs"] else {}
    return dict(label=label_, config=snap["config"], history=history(snap["epochs"]),
                param_count=snap["param_count"], steps=snap["step"], stop_reason=snap["stop_reason"],
                latent_map=last.get("latent_map"), map_labels=snap.get("map_labels"),
                prior_samples=last.get("prior_samples"), class_names=snap.get("class_names"),
                kl_per_dim=last.get("kl_per_dim"))


def summary_from_card(label_: str, card: dict) -> dict:
    tr = card.get("training", {})
    return dict(label=label_, config={k: tr[k] for k in KNOBS if k in tr}, history=tr.get("history") or [],
                param_count=tr.get("param_count"), steps=tr.get("steps"), stop_reason=tr.get("stop_reason"),
                latent_map=None, map_labels=None, prior_samples=None, class_names=card.get("class_names"),
                kl_per_dim=None)


FINAL = {      # last-epoch figures shown in the comparison table, in this order
    "train_loss": "training loss", "test_rec": "held-out reconstruction (nats)",
    "test_kl": "held-out KL (nats)", "train_loss_d": "D loss", "train_loss_g": "G loss",
    "train_d_real": "D(real)", "train_d_fake": "D(fake)", "dead_relu": "dead ReLUs",
    "mig": "MIG (known factors)",
}


def compare_table(runs: list[dict]) -> list[dict]:
    """One row per run: its label, the knobs that differ between the runs, its size, steps, the
    final figures, and why it stopped early (if it did)."""
    knobs = [k for k in KNOBS if len({repr(r["config"].get(k)) for r in runs}) > 1] or ["kind", "dataset"]
    rows = []
    for r in runs:
        last = r["history"][-1] if r["history"] else {}
        row = {"run": r["label"]}
        row.update({TITLES[k]: label(k, r["config"][k]) if k in r["config"] else "" for k in knobs})
        row["parameters"] = r["param_count"]
        row["steps"] = r["steps"]
        row["epochs done"] = len(r["history"])
        for k, name in FINAL.items():
            if any(k in (x["history"][-1] if x["history"] else {}) for x in runs):
                v = last.get(k)
                row[name] = None if v is None else round(float(v), 4)
        if r["kl_per_dim"] is not None:
            row["active dims"] = int(sum(v > 0.01 for v in r["kl_per_dim"]))
        row["stopped early"] = plain_stop_reason(r["stop_reason"]) if r["stop_reason"] else ""
        rows.append(row)
    return rows


def common_curves(runs: list[dict]) -> list[str]:
    """Per-epoch keys every run has a number for (what can be overlaid)."""
    keys = None
    for r in runs:
        have = {k for row in r["history"] for k, v in row.items()
                if k not in ("epoch", "step", "seconds") and isinstance(v, (int, float))}
        keys = have if keys is None else keys & have
    order = list(FINAL) + sorted(keys or ())
    return [k for k in dict.fromkeys(order) if k in (keys or ())]


def map_sample(test_x: np.ndarray, test_y: np.ndarray, n: int = lab.MAP_SAMPLE):
    """The fixed held-out images a run's latent map shows (the same pick as LabRun's)."""
    pick = np.random.default_rng(0).permutation(len(test_x))[:n]
    return test_x[pick], test_y[pick].astype(np.int64)


# ---- the sidebar's note about this session's run, on the other pages ---------------------------

ENDED = {"done": "finished", "cancelled": "stopped", "idle-stopped": "stopped (nobody was watching it)",
         "failed": "failed"}


def sidebar_words(status: dict | None) -> str:
    """One short line about a run for the sidebar of the other pages: its progress while it waits or
    trains, how it ended once it has."""
    if status is None:
        return ""
    snap = status.get("progress") or {}
    if status["state"] == "queued":
        return f"Training run waiting in the queue (position {status['position']})."
    if status["state"] == "running":
        if not snap:
            return "Training: starting…"
        epochs = snap["config"]["epochs"]
        return (f"Training: step {snap['step']:,} of {snap['total_steps']:,}, "
                f"epoch {min(snap['epoch'] + 1, epochs)} of {epochs}")
    how = "stopped itself (it blew up)" if snap.get("stop_reason") else ENDED.get(status["state"], status["state"])
    return f"Your training run {how} — see the Train page."
