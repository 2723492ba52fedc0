"""Train a VAE, GAN or classifier (on the CPU, or a GPU with --device cuda) and write a checkpoint.

    python -m models.train classifier --dataset mnist --epochs 8
    python -m models.train vae --dataset fashion-mnist --latent-dim 16 --epochs 20 --lr 1e-3 \
        --batch-size 128 --beta 1 --activation relu --seed 0
    python -m models.train gan --dataset mnist --latent-dim 64 --epochs 40
    python -m models.train vae --dataset path/to/my/images --name my-vae
    python -m models.train reference --dataset mnist        # the held-out set the app plots

Train the classifier first: VAE and GAN metrics are measured with it.
"""
from __future__ import annotations

import argparse
import copy
import datetime as dt
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from . import CHECKPOINTS, classifier_name, limit_threads, reference_path
from .architectures import Classifier, ConvVAE, Discriminator, Generator
from .checkpoint import CheckpointError, save_checkpoint
from .data import DataError, Dataset, load_dataset, to_float
from .latent_model import LatentModel
from .measure import classifier_for, has_reference, measure, measure_reference
from .metrics import vae_losses

SHIPPED_PREFIXES = ("mnist-", "fashion-mnist-")
REFERENCE_SIZE = {"mnist": 2000, "fashion-mnist": 3000}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m models.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("kind", choices=["vae", "gan", "classifier", "reference"])
    p.add_argument("--dataset", required=True, help="mnist, fashion-mnist or a folder of images")
    p.add_argument("--name", help="checkpoint folder name (default: <dataset>-<kind>)")
    p.add_argument("--out", type=Path, default=CHECKPOINTS, help="checkpoints folder")
    p.add_argument("--latent-dim", type=int, default=None, help="VAE 16, GAN 64 by default")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--lr", type=float, default=None, help="VAE/classifier 1e-3, GAN 2e-4 by default")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--beta", type=float, default=1.0, help="VAE: weight of the KL term")
    p.add_argument("--activation", default="relu")
    p.add_argument("--channels", type=int, default=None)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--ema", type=float, default=0.999,
                   help="GAN: keep an exponential moving average of the generator's weights (0: off)")
    p.add_argument("--minibatch-std", action="store_true",
                   help="GAN: give the discriminator the batch's feature spread (fights mode dropping)")
    p.add_argument("--augment", type=int, default=2,
                   help="GAN: shift real and fake images by up to N px before the discriminator (0: off)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="GAN/VAE: cpu (default) or cuda; the checkpoint runs on the CPU either way")
    p.add_argument("--limit", type=int, default=None, help="use only the first N training images")
    p.add_argument("--max-steps", type=int, default=None, help="stop after N optimiser steps")
    p.add_argument("--classifier", help="checkpoint used for metrics (default: <dataset>-classifier)")
    p.add_argument("--force", action="store_true", help="overwrite an existing checkpoint")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p.parse_args(argv)


def batches(n: int, batch_size: int, rng: np.random.Generator):
    perm = rng.permutation(n)
    for i in range(0, n, batch_size):
        yield perm[i:i + batch_size]


def shift_augment(x: torch.Tensor, max_shift: int, g: torch.Generator) -> torch.Tensor:
    """Random translation by up to `max_shift` pixels (zero padding), one shift per image."""
    n = x.shape[0]
    pad = F.pad(x, (max_shift,) * 4)
    dx = torch.randint(0, 2 * max_shift + 1, (n,), generator=g).to(x.device)
    dy = torch.randint(0, 2 * max_shift + 1, (n,), generator=g).to(x.device)
    ar = torch.arange(28, device=x.device)
    rows = (dy[:, None] + ar[None]).view(n, 1, 28, 1).expand(n, 1, 28, 28 + 2 * max_shift)
    out = pad.gather(2, rows)
    cols = (dx[:, None] + ar[None]).view(n, 1, 1, 28).expand(n, 1, 28, 28)
    return out.gather(3, cols)


class Run:
    """Bookkeeping shared by every kind: progress bar, per-epoch history, timing."""

    def __init__(self, args, steps_per_epoch: int):
        self.args = args
        self.history: list[dict] = []
        self.steps = 0
        self.start = time.perf_counter()
        total = args.epochs * steps_per_epoch
        if args.max_steps:
            total = min(total, args.max_steps)
        self.bar = tqdm(total=total, disable=args.quiet, unit="step", dynamic_ncols=True,
                        file=sys.stderr)

    def step(self, **postfix) -> bool:
        """Count one optimiser step; True when --max-steps is reached."""
        self.steps += 1
        self.bar.update(1)
        if self.steps % 20 == 0:
            self.bar.set_postfix({k: f"{v:.4g}" for k, v in postfix.items()})
        return bool(self.args.max_steps and self.steps >= self.args.max_steps)

    def epoch(self, epoch: int, **metrics):
        row = {"epoch": epoch, **{k: round(float(v), 5) for k, v in metrics.items()}}
        self.history.append(row)
        if not self.args.quiet:
            tqdm.write("  ".join(f"{k} {v}" for k, v in row.items()), file=sys.stderr)

    def close(self) -> float:
        self.bar.close()
        return round(time.perf_counter() - self.start, 1)


class Trainer:
    """One kind of model's training: what a step does and what an epoch reports. The loop that
    drives it (`fit`) is the same for every kind."""

    def start_epoch(self) -> None:
        """Put the networks in training mode."""

    def step(self, idx: np.ndarray) -> tuple[dict[str, float], int]:
        """One optimiser step on the training images `idx`: (losses for the bar and the epoch
        means, the weight of this batch in those means)."""
        raise NotImplementedError

    def end_epoch(self, means: dict[str, float]) -> dict[str, float]:
        """The history row of an epoch, from the weighted means of what `step` returned."""
        return means

    def result(self) -> tuple[dict, dict, int]:
        """(modules, architecture for the card, latent size), on the CPU."""
        raise NotImplementedError


def fit(args, n_train: int, trainer: Trainer) -> Run:
    """The epoch loop, written once: shuffled batches, a step each, a history row per epoch,
    stopping early at --max-steps."""
    rng = np.random.default_rng(args.seed)
    run = Run(args, -(-n_train // args.batch_size))
    for epoch in range(1, args.epochs + 1):
        trainer.start_epoch()
        sums: dict[str, float] = {}
        weight = 0
        done = False
        for idx in batches(n_train, args.batch_size, rng):
            losses, w = trainer.step(idx)
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + v * w
            weight += w
            if (done := run.step(**losses)):
                break
        run.epoch(epoch, **trainer.end_epoch({k: v / max(weight, 1) for k, v in sums.items()}))
        if done:
            break
    return run


class VAETrainer(Trainer):
    def __init__(self, args, data: Dataset, x: torch.Tensor):
        self.args, self.x = args, x
        self.latent = args.latent_dim or 16
        self.arch = dict(latent_dim=self.latent, channels=args.channels or 32, hidden=args.hidden,
                         activation=args.activation)
        self.net = ConvVAE(**self.arch).to(args.device)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=args.lr or 1e-3)
        self.xt = torch.as_tensor(to_float(data.test_x[:2000])).to(args.device)

    def start_epoch(self):
        self.net.train()

    def step(self, idx):
        xb = self.x[idx]
        logits, mu, logvar = self.net(xb)
        rec = F.binary_cross_entropy_with_logits(logits, xb, reduction="sum") / len(xb)
        kl = (0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar)).sum(1).mean()
        loss = rec + self.args.beta * kl
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return dict(loss=loss.item(), rec=rec.item(), kl=kl.item()), len(xb)

    def end_epoch(self, means):
        self.net.eval()
        test = vae_losses(self.net, self.xt, beta=1.0,
                          generator=torch.Generator(self.args.device).manual_seed(0))
        return dict(train_loss=means["loss"], test_neg_elbo=test["loss"].mean(),
                    test_kl=test["kl"].mean())

    def result(self):
        return {"vae": self.net.cpu()}, {"vae": {"class": "ConvVAE", "args": self.arch}}, self.latent


class GANTrainer(Trainer):
    def __init__(self, args, data: Dataset, x: torch.Tensor):
        self.args, self.x = args, x
        self.latent = args.latent_dim or 64
        c = args.channels or 64
        self.g_arch = dict(latent_dim=self.latent, channels=c, activation=args.activation)
        self.d_arch = dict(channels=c, minibatch_std=bool(args.minibatch_std))
        self.G = Generator(**self.g_arch).to(args.device)
        self.D = Discriminator(**self.d_arch).to(args.device)
        for m in list(self.G.modules()) + list(self.D.modules()):          # DCGAN initialisation
            if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Linear)):
                torch.nn.init.normal_(m.weight, 0.0, 0.02)
        lr = args.lr or 2e-4
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=lr, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=lr, betas=(0.5, 0.999))
        g_aug = torch.Generator().manual_seed(args.seed)
        # Small data: shift what D sees (real and fake alike, differentiably) so it cannot memorise.
        self.aug = (lambda im: shift_augment(im, args.augment, g_aug)) if args.augment else (lambda im: im)
        self.G_ema = copy.deepcopy(self.G).eval() if args.ema else None

    def start_epoch(self):
        self.G.train(); self.D.train()

    def step(self, idx):
        G, D, aug = self.G, self.D, self.aug
        real = self.x[idx]
        z = torch.randn(len(real), self.latent, device=self.args.device)
        fake = G(z)
        # discriminator: real -> 0.9 (one-sided label smoothing), fake -> 0
        d_real, d_fake = D(aug(real)), D(aug(fake.detach()))
        loss_d = (F.binary_cross_entropy_with_logits(d_real, torch.full_like(d_real, 0.9))
                  + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
        self.opt_d.zero_grad(set_to_none=True); loss_d.backward(); self.opt_d.step()
        # generator: non-saturating loss
        d_gen = D(aug(fake))
        loss_g = F.binary_cross_entropy_with_logits(d_gen, torch.ones_like(d_gen))
        self.opt_g.zero_grad(set_to_none=True); loss_g.backward(); self.opt_g.step()
        if self.G_ema is not None:
            with torch.no_grad():
                for pe, p in zip(self.G_ema.parameters(), G.parameters()):
                    pe.lerp_(p, 1.0 - self.args.ema)
                for be, b in zip(self.G_ema.buffers(), G.buffers()):
                    be.copy_(b)
        return dict(loss_d=loss_d.item(), loss_g=loss_g.item(), d_real=torch.sigmoid(d_real).mean().item(),
                    d_fake=torch.sigmoid(d_fake).mean().item()), 1      # per-batch means, as before

    def result(self):
        modules = {"generator": (self.G_ema if self.G_ema is not None else self.G).eval().cpu(),
                   "discriminator": self.D.eval().cpu()}
        arch = {"generator": {"class": "Generator", "args": self.g_arch},
                "discriminator": {"class": "Discriminator", "args": self.d_arch}}
        return modules, arch, self.latent


class ClassifierTrainer(Trainer):
    def __init__(self, args, data: Dataset, x: torch.Tensor, y: torch.Tensor):
        self.x, self.y = x, y
        self.arch = dict(num_classes=len(data.class_names), channels=args.channels or 32,
                         hidden=args.hidden, activation=args.activation)
        self.net = Classifier(**self.arch)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=args.lr or 1e-3)
        self.total_steps = args.epochs * -(-len(x) // args.batch_size)
        self.sched = torch.optim.lr_scheduler.OneCycleLR(self.opt, max_lr=args.lr or 1e-3,
                                                         total_steps=max(self.total_steps, 1))
        self.g = torch.Generator().manual_seed(args.seed)
        self.xt, self.yt = torch.as_tensor(to_float(data.test_x)), torch.as_tensor(data.test_y)

    def start_epoch(self):
        self.net.train()

    def step(self, idx):
        xb, yb = shift_augment(self.x[idx], 2, self.g), self.y[idx]
        logits = self.net(xb)
        loss = F.cross_entropy(logits, yb)
        self.opt.zero_grad(set_to_none=True); loss.backward(); self.opt.step()
        if self.sched.last_epoch < self.total_steps - 1:
            self.sched.step()
        accuracy = float((logits.argmax(1) == yb).float().mean())
        return dict(loss=loss.item(), accuracy=accuracy), len(yb)

    def end_epoch(self, means):
        self.net.eval()
        with torch.inference_mode():
            pred = torch.cat([self.net(self.xt[i:i + 1000]).argmax(1) for i in range(0, len(self.xt), 1000)])
        return dict(train_accuracy=means["accuracy"], test_accuracy=float(pred.eq(self.yt).float().mean()))

    def result(self):
        return {"classifier": self.net}, {"classifier": {"class": "Classifier", "args": self.arch}}, 0


def write_reference(args, data: Dataset) -> Path:
    """A stratified, seeded sample of held-out images: what the app encodes and plots."""
    n = min(REFERENCE_SIZE.get(data.name, 2000), len(data.test_x))
    idx = np.sort(np.random.default_rng(args.seed).permutation(len(data.test_x))[:n])
    path = reference_path(data.name, args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez_compressed(tmp, images=data.test_x[idx], labels=data.test_y[idx].astype(np.int16),
                        test_index=idx.astype(np.int32))
    tmp.replace(path)
    print(f"wrote {path}: {n} held-out images, classes {np.bincount(data.test_y[idx]).tolist()}")
    return path


def machine(device: str) -> str:
    if device == "cpu":
        return f"{platform.machine()} CPU"
    return f"{torch.cuda.get_device_name(torch.device(device))} GPU"


def main(argv=None) -> int:
    args = parse_args(argv)
    limit_threads()
    try:
        data = load_dataset(args.dataset)
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.kind == "reference":
        write_reference(args, data)
        return 0
    name = args.name or f"{data.name}-{args.kind}"
    folder = Path(args.out) / name
    if folder.exists() and not args.force:
        print(f"error: {folder} exists (a shipped or earlier checkpoint); pass --force to overwrite it, "
              "or --name to write another", file=sys.stderr)
        return 2
    if args.device != "cpu" and args.kind not in ("gan", "vae"):
        print("error: --device applies to GAN and VAE training (a classifier takes minutes on the CPU)", file=sys.stderr)
        return 2
    if args.device != "cpu" and not torch.cuda.is_available():
        print(f"error: --device {args.device} asked for, but torch sees no GPU here", file=sys.stderr)
        return 2
    # The classifier that will judge the model, found before training, not after it.
    stub = dict(kind=args.kind, classifier=args.classifier, dataset=dict(name=data.name),
                class_names=data.class_names)
    try:
        clf, note = classifier_for(stub, args.out)
    except CheckpointError as e:
        print(f"error: the classifier for metrics is unusable: {e}", file=sys.stderr)
        return 2
    if note and args.classifier:
        print(f"error: --classifier {args.classifier}: {note}", file=sys.stderr)
        return 2
    if note:
        print(f"note: {note}", file=sys.stderr)
    torch.manual_seed(args.seed)
    n = args.limit or len(data.train_x)
    x = torch.as_tensor(to_float(data.train_x[:n])).to(args.device)
    y = torch.as_tensor(data.train_y[:n]).to(args.device)
    trainer = {"vae": lambda: VAETrainer(args, data, x), "gan": lambda: GANTrainer(args, data, x),
               "classifier": lambda: ClassifierTrainer(args, data, x, y)}[args.kind]()
    run = fit(args, len(x), trainer)
    seconds = run.close()
    modules, arch, latent = trainer.result()
    card = dict(
        kind=args.kind,
        architecture=arch,
        latent_dim=latent,
        image_shape=[1, 28, 28],
        dataset=dict(data.describe(), n_train=int(n)),
        class_names=data.class_names,
        training=dict(
            optimizer="Adam" + (" (betas 0.5, 0.999)" if args.kind == "gan" else ""),
            lr=args.lr or (2e-4 if args.kind == "gan" else 1e-3),
            batch_size=args.batch_size, epochs=args.epochs, steps=run.steps,
            activation=args.activation, beta=args.beta if args.kind == "vae" else None,
            seed=args.seed, seconds=seconds, threads=torch.get_num_threads(),
            machine=machine(args.device), torch=torch.__version__,
            augmentation=("random shifts of up to 2 px" if args.kind == "classifier" else
                          f"real and fake shifted by up to {args.augment} px before D" if args.kind == "gan"
                          and args.augment else None),
            generator_ema=args.ema if args.kind == "gan" else None,
            history=run.history,
        ),
        classifier=classifier_name(stub) if clf is not None else None,
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    )
    model = LatentModel(name, card, modules)
    card["metrics"] = measure(model, data, clf)
    if has_reference(data.name, args.out):
        card["metrics_reference"] = measure_reference(model, clf, args.out)
    if note:
        card["metrics"]["not_measured"] = note
    save_checkpoint(folder, card, modules, overwrite=args.force)
    print(f"wrote {folder} in {seconds} s")
    for k, v in card["metrics"].items():
        if not isinstance(v, list):
            print(f"  {k}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
