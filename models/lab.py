"""A training run as a library object: what the Train page drives (no Streamlit here).

    cfg = LabConfig.preset("good-2d-vae")          # or LabConfig(kind="gan", lr=2e-4, ...)
    run = LabRun(cfg)
    while not run.finished:
        run.step()                                  # one optimiser step, recorded in run.steps
    folder = save_run(run, "my-vae")                # into user_dir(), never over an existing name
    delete_run("my-vae")                            # only a saved run in user_dir(), atomically
    warm()                                          # one-off costs, before the first Train press

Records (plain floats, lists and uint8 arrays the page can plot):
- `run.steps`: one dict per recorded optimiser step, with its own `step` number: losses (VAE: rec
  and kl; GAN: loss_d, loss_g, d_real, d_fake) and `grad_norms` (per layer, the L2 norm of its
  gradient). Bounded: past MAX_STEP_RECORDS the records are thinned to every 2nd and later steps
  recorded at twice the stride (a run of 200,000 steps would otherwise hold 200,000 dicts, and the
  worker keeps up to 32 finished runs); the last step and a NaN/inf step are always recorded.
- `run.epochs`: one dict per epoch: training means, held-out losses (VAE), KL per latent dimension,
  the share of dead ReLUs, the latent map of a fixed held-out sample (z itself for a 2-D latent,
  else its PCA), decoded prior samples, a weight histogram (GAN: the class histogram of samples).
- `run.param_count`; `run.stop_reason`: why a run stopped early, in words (NaN/inf loss).

User checkpoints go to `user_dir()`: $LATENT_PLAYGROUND_USER_DIR, else
~/.local/share/latent-playground/checkpoints.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import errno
import functools
import math
import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import CHECKPOINTS, classifier_name
from .architectures import ConvVAE, Discriminator, Generator
from .checkpoint import CheckpointError, save_checkpoint
from .data import Dataset, load_dataset, to_float
from .disentangle import mig
from .latent_model import LatentModel
from .measure import classifier_for, has_reference, measure, measure_reference
from .train import batches

USER_DIR_ENV = "LATENT_PLAYGROUND_USER_DIR"
MAP_SAMPLE = 1000              # held-out images whose codes form the per-epoch latent map
PRIOR_SAMPLES = 16             # decoded prior samples kept per epoch (a 4x4 grid)
GAN_HIST_SAMPLES = 256         # GAN samples classified per epoch for the class histogram
HIST_BINS = 40
MAX_STEP_RECORDS = 20_000      # per-step records kept per run (thinned beyond; see LabRun.step)


class ConfigError(ValueError):
    """A knob outside its range; `knob` names it, `str()` says the range."""

    def __init__(self, knob: str, message: str):
        self.knob = knob
        super().__init__(f"{knob}: {message}")


class SaveError(OSError):
    """A run that could not be saved (disk full, read-only, ...); nothing half-written is left."""


class DeleteError(ValueError):
    """A folder `delete_run` refuses to delete, or could not; `str()` says why, for a person."""


# knob -> (allowed values or (min, max), one-line explanation). The page builds its widgets and
# captions from this table, so a value outside it cannot be entered.
KNOBS: dict[str, tuple] = {
    "dataset": (("mnist", "fashion-mnist", "shapes"), "The images to learn: handwritten digits, clothes, or coloured shapes with known factors (32x32 RGB, made by the project)."),
    "kind": (("vae", "gan"), "VAE: an encoder and decoder with a latent map; GAN: a generator against a discriminator."),
    "lr": ((1e-5, 1.0), "Learning rate: the step size. Too high diverges, too low crawls."),
    "optimiser": (("sgd", "momentum", "adam"), "How gradients become steps: plain SGD, SGD with momentum (0.9), or Adam (adaptive per weight)."),
    "batch_size": ((4, 1024), "Images per step. Small batches give noisy, cheap steps; large ones smooth, costly steps."),
    "epochs": ((1, 100), "Passes over the training images."),
    "latent_dim": ((2, 64), "Size of the code z. 2 can be drawn as a plane; more keeps more detail."),
    "beta": ((0.0, 10.0), "VAE: weight of the KL term. 0 is a plain autoencoder; large values blur and switch dimensions off."),
    "hidden_layers": ((1, 4), "VAE: fully connected layers between the convolutions and z (each way)."),
    "hidden": ((16, 512), "VAE: neurons in each fully connected hidden layer."),
    "channels": ((4, 64), "Convolution channels (the first layer; the second has twice as many)."),
    "activation": (("relu", "leaky_relu", "sigmoid", "tanh", "gelu"), "The non-linearity after each layer. Sigmoid and tanh saturate (vanishing gradients); ReLU units can die."),
    "weight_decay": ((0.0, 0.1), "L2 penalty pulling every weight toward 0 (regularisation)."),
    "seed": ((0, 2**31 - 1), "Random seed: the same seed and knobs give the same run."),
}


@dataclass(frozen=True)
class LabConfig:
    # The defaults are the "good-2d-vae" preset, tuned to finish on one core of a 2-core CPU in
    # about a minute with held-out reconstructions classified right >= 55%: narrow convolutions
    # (8 channels: a third of the step time of 16, and no worse through a 2-D bottleneck) and a
    # deeper, wider fully connected part (2 layers of 256: the 2-D plane needs the non-linearity).
    # Measured at 24 epochs on 1 thread, seeds 0/1/2: 63.6% / 61.7% / 57.5% (channels 16, 1x128,
    # 10 epochs: 36-43%; the shipped mnist-vae2d: 59.4%). bench/train_speed.py re-measures it.
    dataset: str = "mnist"
    kind: str = "vae"
    lr: float = 2e-3
    optimiser: str = "adam"
    batch_size: int = 64
    epochs: int = 24
    latent_dim: int = 2
    beta: float = 1.0
    hidden_layers: int = 2
    hidden: int = 256
    channels: int = 8
    activation: str = "relu"
    weight_decay: float = 0.0
    seed: int = 0

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            allowed, _ = KNOBS[f.name]
            if isinstance(allowed[0], str):
                if value not in allowed:
                    raise ConfigError(f.name, f"{value!r} is not one of {', '.join(allowed)}")
                continue
            lo, hi = allowed
            kind = int if isinstance(lo, int) and f.name != "beta" else float
            if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                    (kind is int and not float(value).is_integer()):
                raise ConfigError(f.name, f"{value!r} is not {'a whole' if kind is int else 'a'} number")
            if not math.isfinite(value) or not lo <= value <= hi:
                raise ConfigError(f.name, f"{value} is outside its range {lo} to {hi}")
            object.__setattr__(self, f.name, kind(value))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "LabConfig":
        unknown = sorted(set(d) - set(KNOBS))
        if unknown:
            raise ConfigError(unknown[0], f"unknown knob; known: {', '.join(KNOBS)}")
        return cls(**d)

    @classmethod
    def preset(cls, name: str) -> "LabConfig":
        if name not in PRESETS:
            raise ConfigError("preset", f"{name!r} is not one of {', '.join(PRESETS)}")
        return cls(**PRESETS[name][0])


SHAPES_EPOCHS = 12            # 313 steps each; MIG of beta 4 and beta 1 part after about 10 (scripts/train_shapes.py)
GAN_BASE = dict(kind="gan", lr=2e-4, batch_size=64, latent_dim=32, channels=32, epochs=10)
# name -> (knobs that differ from the defaults, the lesson in one line). A lesson that shows within
# a few epochs stops there (the CPU is shared): lr-too-low's flat curve in 3, the vanishing
# gradients in 5, the noisy curve of 2,000 four-image steps in 1 (about a minute on one core).
PRESETS: dict[str, tuple[dict, str]] = {
    "good-2d-vae": ({}, "A 2-D VAE that works: the digits sort themselves into regions of the plane."),
    "lr-too-high": (dict(optimiser="sgd", lr=0.5),
                    "Steps far too big: the loss explodes to infinity within a few steps and the run stops."),
    "lr-too-low": (dict(lr=1e-5, epochs=3), "Steps far too small: after an epoch the loss has hardly moved."),
    "sigmoid-everywhere": (dict(activation="sigmoid", hidden_layers=4, optimiser="sgd", lr=1e-3, epochs=5),
                           "Sigmoid saturates: gradients shrink layer by layer toward the input and learning stalls."),
    "beta-0": (dict(beta=0.0), "A plain autoencoder: no KL pull, the codes spread out and prior samples land in holes."),
    "beta-4": (dict(beta=4.0, latent_dim=8),
               "A strong KL pull: blurry images and latent dimensions switched off (their KL falls to 0)."),
    "tiny-batches": (dict(batch_size=4, lr=1e-3, epochs=1), "Four images per step: a noisy loss curve."),
    "beta-vae-shapes": (dict(dataset="shapes", beta=4.0, latent_dim=10, hidden_layers=1, hidden=256,
                             channels=16, lr=1e-3, epochs=SHAPES_EPOCHS),
                        "The β-VAE on shapes with known factors: a strong KL pull switches dimensions off "
                        "and makes single ones follow single factors (size, y); MIG rises above β = 1's "
                        "(train both and compare: the two part after about 10 epochs)."),
    "gan-collapse": (dict(GAN_BASE, lr=2e-3, optimiser="adam", latent_dim=2),
                     "A GAN with a 2-D noise and a large learning rate: its samples cover few classes (mode collapse)."),
}


def user_dir() -> Path:
    """Where saved runs go: $LATENT_PLAYGROUND_USER_DIR, else ~/.local/share/latent-playground/checkpoints."""
    env = os.environ.get(USER_DIR_ENV)
    return Path(env).expanduser() if env else Path.home() / ".local/share/latent-playground/checkpoints"


@functools.lru_cache(maxsize=4)
def training_data(name: str) -> Dataset:
    """The data a run trains on, read once per process. MNIST: the shipped subset, which holds all
    8,000 training digits (the same arrays as the installed data, read in 0.1 s instead of 6 s);
    Fashion-MNIST: the full 60,000 when installed, else the shipped 10,000."""
    return load_dataset(name, source="shipped" if name == "mnist" else "auto")


_warm_lock = threading.Lock()
_warmed: set[str] = set()


def warm(datasets: tuple[str, ...] = ("mnist",)) -> float:
    """Pay a process's one-off costs before the first Train press: read the training data and
    build a throwaway optimiser, whose first construction imports torch._dynamo (about 4 s on
    2 cores; without this the first run's first loss point waits for it), then one tiny forward
    and backward pass. Idempotent and thread-safe; returns the seconds it took."""
    t = time.perf_counter()
    with _warm_lock:
        for name in datasets:
            training_data(name)
        if "torch" not in _warmed:
            net = ConvVAE(latent_dim=2, channels=4, hidden=16)
            opt = torch.optim.Adam(net.parameters(), lr=1e-3)
            logits, _mu, _logvar = net(torch.zeros(2, 1, 28, 28))
            logits.mean().backward()
            opt.step()
            _warmed.add("torch")
    return time.perf_counter() - t


def _optimiser(cfg: LabConfig, params, betas=(0.9, 0.999)) -> torch.optim.Optimizer:
    if cfg.optimiser == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, betas=betas, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=0.9 if cfg.optimiser == "momentum" else 0.0,
                           weight_decay=cfg.weight_decay)


def grad_norms(net: nn.Module) -> dict[str, float]:
    """L2 norm of each layer's gradient (weight and bias together), in forward order."""
    sq: dict[str, float] = {}
    for name, p in net.named_parameters():
        if p.grad is not None:
            layer = name.rsplit(".", 1)[0]
            sq[layer] = sq.get(layer, 0.0) + float(p.grad.detach().pow(2).sum())
    return {k: math.sqrt(v) for k, v in sq.items()}


def dead_relu_share(net: nn.Module, run_forward) -> float | None:
    """Share of ReLU units (every position of every ReLU layer) that output 0 for every image of
    the batch `run_forward` pushes through `net`; None if the net has no ReLU."""
    dead, total, hooks = [0], [0], []

    def hook(_m, _inp, out):
        silent = (out.detach() <= 0).all(0)
        dead[0] += int(silent.sum())
        total[0] += silent.numel()

    for m in net.modules():
        if type(m) is nn.ReLU:
            hooks.append(m.register_forward_hook(hook))
    try:
        with torch.no_grad():
            run_forward()
    finally:
        for h in hooks:
            h.remove()
    return dead[0] / total[0] if total[0] else None


def pca_2d(codes: np.ndarray) -> np.ndarray:
    """The codes projected on their two main axes (the codes themselves when already 2-D)."""
    if codes.shape[1] == 2:
        return codes.astype(np.float32)
    c = codes - codes.mean(0)
    _, _, vt = np.linalg.svd(c, full_matrices=False)
    return (c @ vt[:2].T).astype(np.float32)


def weight_histogram(net: nn.Module, bins: int = HIST_BINS) -> dict:
    w = torch.cat([p.detach().flatten() for n, p in net.named_parameters() if n.endswith("weight")]).numpy()
    counts, edges = np.histogram(w, bins=bins)
    return dict(counts=counts.tolist(), edges=edges.astype(np.float32).tolist())


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, 1, H, W) -> uint8 (N, H, W); colour (N, 3, H, W) stays channels first."""
    a = images.detach().clamp(0, 1)
    return ((a[:, 0] if a.shape[1] == 1 else a).numpy() * 255).round().astype(np.uint8)


def image_args(data: Dataset) -> dict:
    """Architecture arguments for the data's image shape; none for 28x28 grey (the shipped cards)."""
    shape = image_shape(data)
    return {} if shape == (1, 28, 28) else dict(image_channels=shape[0], image_size=shape[1])


def cfg_latent_ok(mu: torch.Tensor) -> bool:
    """MIG needs two latent dimensions and finite codes."""
    return mu.shape[1] >= 2 and bool(torch.isfinite(mu).all())


FACTOR_METRICS = ("mig", "mig_per_factor", "mig_best_dims", "colour_recovered")


def evaluate_factors(net, images, factors) -> dict:
    from .shapes_eval import evaluate
    return evaluate(net, images, factors)


def image_shape(data: Dataset) -> tuple[int, int, int]:
    x = data.train_x
    return (1, *x.shape[1:3]) if x.ndim == 3 else tuple(int(v) for v in x.shape[1:4])


class LabRun:
    """One training run, advanced one optimiser step at a time by `step()`."""

    def __init__(self, config: LabConfig, data: Dataset | None = None):
        self.config = cfg = config
        self.data = data or training_data(cfg.dataset)
        torch.manual_seed(cfg.seed)
        # uint8, shared with the cached data set (a float copy would be 25 MB per run, kept for as
        # long as the finished run is); each batch becomes float in [0, 1] as it is drawn
        self.x = torch.from_numpy(np.require(self.data.train_x, np.uint8, ["C", "W"]))
        self.rng = np.random.default_rng(cfg.seed)
        self.steps_per_epoch = -(-len(self.x) // cfg.batch_size)
        self.total_steps = cfg.epochs * self.steps_per_epoch
        pick = np.random.default_rng(0).permutation(len(self.data.test_x))[:MAP_SAMPLE]
        self.map_x = torch.as_tensor(to_float(self.data.test_x[pick]))
        self.map_labels = self.data.test_y[pick].astype(np.int64)
        tf = getattr(self.data, "test_factors", None)
        self.map_factors = None if tf is None else np.asarray(tf)[pick]     # data with known factors
        self.prior_z = torch.randn(PRIOR_SAMPLES, cfg.latent_dim, generator=torch.Generator().manual_seed(1))
        self.steps: list[dict] = []              # bounded by max_step_records (thinned)
        self.max_step_records = MAX_STEP_RECORDS
        self.record_every = 1                     # doubles each time the records are thinned
        self._step_n = 0                          # steps taken (len(steps) once thinned is fewer)
        self.epochs: list[dict] = []
        self.stop_reason: str | None = None      # set when the run stopped itself early
        self.started = time.perf_counter()
        self.seconds = 0.0
        self._epoch_sums: dict[str, float] = {}
        self._epoch_n = 0
        self._batches = iter(())
        self._lock = threading.Lock()
        if cfg.kind == "vae":
            self.arch = dict(latent_dim=cfg.latent_dim, channels=cfg.channels, hidden=cfg.hidden,
                             activation=cfg.activation, hidden_layers=cfg.hidden_layers,
                             **image_args(self.data))
            self.net = ConvVAE(**self.arch)
            self.opt = _optimiser(cfg, self.net.parameters())
            self.nets = {"vae": self.net}
        else:
            self.g_arch = dict(latent_dim=cfg.latent_dim, channels=cfg.channels, activation=cfg.activation,
                               **image_args(self.data))
            self.d_arch = dict(channels=cfg.channels, **image_args(self.data))
            self.G, self.D = Generator(**self.g_arch), Discriminator(**self.d_arch)
            for m in list(self.G.modules()) + list(self.D.modules()):       # DCGAN initialisation
                if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                    nn.init.normal_(m.weight, 0.0, 0.02)
            self.opt_g = _optimiser(cfg, self.G.parameters(), betas=(0.5, 0.999))
            self.opt_d = _optimiser(cfg, self.D.parameters(), betas=(0.5, 0.999))
            self.nets = {"generator": self.G, "discriminator": self.D}
            self._classifier = None
        self.param_count = sum(p.numel() for n in self.nets.values() for p in n.parameters())

    # -- state -------------------------------------------------------------------------------
    @property
    def step_count(self) -> int:
        return self._step_n

    @property
    def epoch(self) -> int:
        return len(self.epochs)

    @property
    def finished(self) -> bool:
        return self.stop_reason is not None or self.step_count >= self.total_steps

    def snapshot(self) -> dict:
        """A consistent copy of the records for a reader on another thread."""
        with self._lock:
            return dict(config=self.config.to_dict(), steps=list(self.steps), epochs=list(self.epochs),
                        step=self.step_count, total_steps=self.total_steps, epoch=self.epoch,
                        param_count=self.param_count, stop_reason=self.stop_reason,
                        finished=self.finished, seconds=round(time.perf_counter() - self.started, 2),
                        map_labels=self.map_labels)

    def state(self) -> dict:
        """What another process needs to rebuild this run with `restore`: the weights (numpy) and
        the records (playground/train_process.py trains in a child process and hands this over)."""
        with self._lock:
            weights = {name: {k: v.detach().cpu().numpy().copy() for k, v in net.state_dict().items()}
                       for name, net in self.nets.items()}
            return dict(weights=weights, steps=list(self.steps), epochs=list(self.epochs),
                        step_n=self._step_n, record_every=self.record_every,
                        stop_reason=self.stop_reason, seconds=self.seconds)

    @classmethod
    def restore(cls, config: LabConfig, state: dict, data: Dataset | None = None) -> "LabRun":
        """The run `state()` describes, with its weights and records, ready to save or compare."""
        run = cls(config, data)
        for name, net in run.nets.items():
            net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state["weights"][name].items()})
        run.steps, run.epochs = list(state["steps"]), list(state["epochs"])
        run._step_n, run.record_every = int(state["step_n"]), int(state["record_every"])
        run.stop_reason, run.seconds = state["stop_reason"], float(state["seconds"])
        run.started = time.perf_counter() - run.seconds
        return run

    # -- training ----------------------------------------------------------------------------
    def step(self) -> dict | None:
        """One optimiser step (and the epoch's record when it completes the epoch). Returns the
        step's record, or None when the run is finished. A NaN/inf loss stops the run with words."""
        if self.finished:
            return None
        idx = next(self._batches, None)
        if idx is None:
            for n in self.nets.values():
                n.train()
            self._batches = iter(batches(len(self.x), self.config.batch_size, self.rng))
            idx = next(self._batches)
        record = self._vae_step(idx) if self.config.kind == "vae" else self._gan_step(idx)
        number = self._step_n = self.step_count + 1
        record = dict(step=number, epoch=self.epoch + 1, **record)
        bad = [k for k, v in record.items() if isinstance(v, float) and not math.isfinite(v)]
        with self._lock:
            if bad or number % self.record_every == 0 or number >= self.total_steps:
                self._record(record)
            if bad:
                what = "infinite" if any(math.isinf(record[k]) for k in bad) else "NaN (not a number)"
                self.stop_reason = (f"the learning rate is too high: the loss became {what} at step "
                                    f"{number} ({', '.join(bad)}); lower it and train again")
            else:
                w = len(idx) if self.config.kind == "vae" else 1
                for k, v in record.items():
                    if isinstance(v, float):
                        self._epoch_sums[k] = self._epoch_sums.get(k, 0.0) + v * w
                self._epoch_n += w
        self.seconds = time.perf_counter() - self.started
        if not bad and number % self.steps_per_epoch == 0:
            self._end_epoch()
        return record

    def _record(self, record: dict) -> None:
        """Keep a step's record (lock held); past max_step_records keep only the steps that are
        multiples of twice the stride, plus the newest, and record at that stride from now on."""
        self.steps.append(record)
        while len(self.steps) > self.max_step_records and self.record_every < self.total_steps:
            self.record_every *= 2
            newest = self.steps[-1]
            self.steps = [r for r in self.steps[:-1] if r["step"] % self.record_every == 0] + [newest]

    def run(self, should_stop=lambda: False) -> "LabRun":
        """Step until finished or `should_stop()` says so."""
        while not self.finished and not should_stop():
            self.step()
        return self

    def _batch(self, idx) -> torch.Tensor:
        xb = self.x[torch.as_tensor(idx)]
        return (xb.unsqueeze(1) if xb.ndim == 3 else xb).float().div_(255.0)

    def _vae_step(self, idx) -> dict:
        xb = self._batch(idx)
        logits, mu, logvar = self.net(xb)
        rec = F.binary_cross_entropy_with_logits(logits, xb, reduction="sum") / len(xb)
        kl = (0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar)).sum(1).mean()
        loss = rec + self.config.beta * kl
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        norms = grad_norms(self.net)
        if torch.isfinite(loss):
            self.opt.step()
        return dict(loss=loss.item(), rec=rec.item(), kl=kl.item(), grad_norms=norms)

    def _gan_step(self, idx) -> dict:
        G, D = self.G, self.D
        real = self._batch(idx)
        z = torch.randn(len(real), self.config.latent_dim)
        fake = G(z)
        d_real, d_fake = D(real), D(fake.detach())
        loss_d = (F.binary_cross_entropy_with_logits(d_real, torch.full_like(d_real, 0.9))
                  + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
        self.opt_d.zero_grad(set_to_none=True); loss_d.backward()
        norms = {f"D.{k}": v for k, v in grad_norms(D).items()}
        self.opt_d.step()
        d_gen = D(fake)
        loss_g = F.binary_cross_entropy_with_logits(d_gen, torch.ones_like(d_gen))
        self.opt_g.zero_grad(set_to_none=True); loss_g.backward()
        norms = {**{f"G.{k}": v for k, v in grad_norms(G).items()}, **norms}
        self.opt_g.step()
        return dict(loss_d=loss_d.item(), loss_g=loss_g.item(), d_real=torch.sigmoid(d_real).mean().item(),
                    d_fake=torch.sigmoid(d_fake).mean().item(), grad_norms=norms)

    def _end_epoch(self) -> None:
        means = {f"train_{k}": v / max(self._epoch_n, 1) for k, v in self._epoch_sums.items()}
        self._epoch_sums, self._epoch_n = {}, 0
        row = dict(epoch=self.epoch + 1, step=self.step_count, seconds=round(self.seconds, 2), **means)
        row.update(self._vae_epoch() if self.config.kind == "vae" else self._gan_epoch())
        row["weight_histogram"] = weight_histogram(self.net if self.config.kind == "vae" else self.G)
        with self._lock:
            self.epochs.append(row)

    def _vae_epoch(self) -> dict:
        net = self.net.eval()
        with torch.no_grad():
            mu, logvar = net.encode(self.map_x)
            z = net.reparameterise(mu, logvar, generator=torch.Generator().manual_seed(0))
            rec = F.binary_cross_entropy_with_logits(net.decode_logits(z), self.map_x, reduction="none")
            kl_dims = (0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar)).mean(0)
            prior = torch.sigmoid(net.decode_logits(self.prior_z))
        dead = dead_relu_share(net, lambda: net.decode_logits(net.encode(self.map_x)[0]))
        net.train()
        row = dict(test_rec=float(rec.sum((1, 2, 3)).mean()), test_kl=float(kl_dims.sum()),
                   kl_per_dim=kl_dims.tolist(), dead_relu=dead,
                   latent_map=pca_2d(mu.numpy()), prior_samples=to_uint8(prior))
        if self.map_factors is not None and cfg_latent_ok(mu):
            row["mig"] = float(mig(mu.numpy(), self.map_factors).score)   # on the map's held-out images
        return row

    def _gan_epoch(self) -> dict:
        G = self.G.eval()
        with torch.no_grad():
            prior = G(self.prior_z)
            many = G(torch.randn(GAN_HIST_SAMPLES, self.config.latent_dim,
                                 generator=torch.Generator().manual_seed(2)))
        dead = dead_relu_share(G, lambda: G(self.prior_z))
        G.train()
        hist = None
        clf = self._gan_classifier()
        if clf is not None:
            pred = clf.predict_proba(many.numpy()).argmax(1)
            hist = np.bincount(pred, minlength=len(self.data.class_names)).tolist()
        return dict(dead_relu=dead, prior_samples=to_uint8(prior), class_histogram=hist, latent_map=None)

    def _gan_classifier(self):
        if self._classifier is None:
            clf, _note = classifier_for(self._card_stub())
            self._classifier = clf or False
        return self._classifier or None

    # -- checkpoint --------------------------------------------------------------------------
    def _card_stub(self) -> dict:
        return dict(kind=self.config.kind, classifier=None, dataset=dict(name=self.data.name),
                    class_names=self.data.class_names)

    def result(self) -> tuple[dict[str, nn.Module], dict]:
        if self.config.kind == "vae":
            return {"vae": self.net.eval()}, {"vae": {"class": "ConvVAE", "args": self.arch}}
        return ({"generator": self.G.eval(), "discriminator": self.D.eval()},
                {"generator": {"class": "Generator", "args": self.g_arch},
                 "discriminator": {"class": "Discriminator", "args": self.d_arch}})

    def card(self, measure_figures: bool = True) -> dict:
        cfg = self.config
        modules, arch = self.result()
        stub = self._card_stub()
        clf, note = classifier_for(stub)
        history = [{k: v for k, v in row.items() if isinstance(v, (int, float)) or v is None}
                   for row in self.epochs]
        card = dict(
            kind=cfg.kind, architecture=arch, latent_dim=cfg.latent_dim,
            image_shape=list(image_shape(self.data)),
            dataset=dict(self.data.describe()), class_names=self.data.class_names,
            origin="trained on the Train page (models.lab)",
            training=dict(
                **cfg.to_dict(), steps=self.step_count, param_count=self.param_count,
                optimizer={"adam": "Adam", "sgd": "SGD", "momentum": "SGD (momentum 0.9)"}[cfg.optimiser]
                + (" (betas 0.5, 0.999)" if cfg.kind == "gan" and cfg.optimiser == "adam" else ""),
                stop_reason=self.stop_reason, seconds=round(self.seconds, 1),
                threads=torch.get_num_threads(), torch=torch.__version__, history=history),
            classifier=classifier_name(stub) if clf is not None else None,
            created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            metrics={},
        )
        if measure_figures:
            model = LatentModel("unsaved", card, modules)
            card["metrics"] = measure(model, self.data, clf)
            if note:
                card["metrics"]["not_measured"] = note
            if has_reference(self.data.name, CHECKPOINTS):
                card["metrics_reference"] = measure_reference(model, clf, CHECKPOINTS)
            if cfg.kind == "vae" and self.data.test_factors is not None:     # known factors: MIG
                factors = evaluate_factors(self.net.eval(), self.data.test_x, self.data.test_factors)
                card["metrics"].update({k: factors[k] for k in FACTOR_METRICS})
        for n in self.nets.values():
            n.train()
        return card


NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
STALE_S = 3600.0       # a hidden save/delete temp folder this old was left by a stopped server


def sweep_stale(root: os.PathLike | str, older_than_s: float = STALE_S) -> list[str]:
    """Remove what a server stopped mid-save or mid-delete left in `root`: hidden temp folders
    (`.NAME.*.tmp` from a save, `.NAME.*.deleting` from a delete) untouched for `older_than_s`.
    They are never listed (models.available skips hidden folders); this only frees their space.
    Returns the names removed."""
    removed, now = [], time.time()
    try:
        entries = list(Path(root).iterdir())
    except OSError:
        return removed
    for p in entries:
        if not (p.name.startswith(".") and p.name.endswith((".tmp", ".deleting"))) or p.is_symlink():
            continue
        try:
            if p.is_dir() and now - p.stat().st_mtime > older_than_s:
                shutil.rmtree(p)
                removed.append(p.name)
        except OSError:
            continue                          # another process removed it, or no permission
    return removed


def save_run(run: LabRun, name: str, root: os.PathLike | str | None = None,
             measure_figures: bool = True) -> Path:
    """Write the run as a checkpoint `root/name` (root: `user_dir()`), atomically. An existing name
    is never replaced: the run is saved as name-2, name-3, ... (the returned folder says which).
    A full or read-only disk raises SaveError and leaves no folder behind."""
    if not NAME_RE.match(name or "") or name.startswith("."):
        raise ConfigError("name", f"{name!r}: use 1 to 64 letters, digits, '.', '_' or '-' (not first)")
    if run.step_count == 0:
        raise ConfigError("name", "the run has not trained a single step yet: nothing to save")
    root = Path(root) if root is not None else user_dir()
    card = run.card(measure_figures)
    modules, _ = run.result()
    try:
        root.mkdir(parents=True, exist_ok=True)
        sweep_stale(root)
        for i in range(1, 1000):
            folder = root / (name if i == 1 else f"{name}-{i}")
            if folder.exists():
                continue
            try:
                return save_checkpoint(folder, card, modules)
            except FileExistsError:
                continue                      # taken between our look and our write: next name
            except OSError as e:
                if e.errno in (errno.ENOTEMPTY, errno.EEXIST) and folder.exists():
                    continue                  # another save won the rename: next name
                raise
        raise SaveError(errno.EEXIST, f"{root}: {name}-2 to {name}-999 all exist; pick another name")
    except SaveError:
        raise
    except OSError as e:
        why = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is used up",
               errno.EROFS: "the disk is read-only", errno.EACCES: "no permission to write there",
               errno.EPERM: "no permission to write there"}.get(e.errno, e.strerror or str(e))
        raise SaveError(e.errno, f"could not save {name!r} in {root}: {why}. Nothing was written; "
                                 f"free space or set {USER_DIR_ENV} to a writable folder.") from None
    finally:
        for n in run.nets.values():
            n.train()


RUN_FILES = {"card.json", "model.safetensors"}      # all a saved run's folder holds


def delete_run(name_or_folder: os.PathLike | str, root: os.PathLike | str | None = None) -> Path:
    """Delete a saved run: a folder name under `root` (default `user_dir()`), or a folder path that
    lies directly in it. Refuses (DeleteError) anything else: a folder outside `root`, a symlink,
    a hidden folder, the shipped checkpoints, a folder holding more than a run's card and weights.
    Atomic: the folder is first renamed to a hidden name (so it leaves the model list at once and
    whole), then removed. Returns the path that was deleted."""
    root = Path(root) if root is not None else user_dir()
    given = Path(name_or_folder).expanduser()
    path_like = isinstance(name_or_folder, Path) or "/" in str(name_or_folder) or os.sep in str(name_or_folder)
    folder = given if path_like else root / given
    name = folder.name
    if not name or name in (".", "..") or name.startswith("."):
        raise DeleteError(f"{str(name_or_folder)!r} is not a saved run's name")
    try:
        real_root = root.resolve(strict=True)
    except OSError:
        raise DeleteError(f"{root}: no such folder of saved runs") from None
    if folder.is_symlink():
        raise DeleteError(f"{folder} is a symbolic link: not deleted (delete only saved runs themselves)")
    if folder.parent.resolve() != real_root:
        raise DeleteError(f"{folder} is not in the folder of saved runs {root}: not deleted")
    shipped = Path(CHECKPOINTS).resolve()
    target = real_root / name
    if target == shipped or shipped in target.parents or target in shipped.parents:
        raise DeleteError(f"{target} is a shipped checkpoint: not deleted")
    if not target.is_dir():
        raise DeleteError(f"{target}: no such saved run")
    extra = sorted(p.name for p in target.iterdir() if p.name not in RUN_FILES or not p.is_file()
                   or p.is_symlink())
    if extra:
        raise DeleteError(f"{target} holds more than a saved run ({', '.join(extra[:3])}"
                          f"{', ...' if len(extra) > 3 else ''}): not deleted")
    trash = None
    try:
        trash = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".deleting", dir=real_root))
        os.replace(target, trash / name)          # one rename: the run leaves the list whole
    except OSError as e:
        if trash is not None:
            trash.rmdir()
        raise DeleteError(f"could not delete {target}: {e.strerror or e}") from None
    shutil.rmtree(trash, ignore_errors=True)
    return target


__all__ = ["LabConfig", "LabRun", "ConfigError", "SaveError", "DeleteError", "KNOBS", "PRESETS",
           "user_dir", "save_run", "delete_run", "sweep_stale", "training_data", "warm",
           "CheckpointError"]
