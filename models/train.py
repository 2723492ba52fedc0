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

from . import CHECKPOINTS, load, reference_path
from .architectures import Classifier, ConvVAE, Discriminator, Generator
from .checkpoint import save_checkpoint
from .data import DataError, Dataset, load_dataset, to_float
from .latent_model import LatentModel
from .metrics import classifier_metrics, gan_metrics, vae_losses, vae_metrics

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
    """Bookkeeping shared by the three loops: progress bar, per-epoch history, timing."""

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
        self.steps += 1
        self.bar.update(1)
        if self.steps % 20 == 0:
            self.bar.set_postfix({k: f"{v:.4g}" for k, v in postfix.items()})
        return bool(self.args.max_steps and self.steps >= self.args.max_steps)

    def epoch(self, epoch: int, **metrics):
        row = {"epoch": epoch, **{k: round(float(v), 5) for k, v in metrics.items()}}
        self.history.append(row)
        msg = "  ".join(f"{k} {v}" for k, v in row.items())
        tqdm.write(msg, file=sys.stderr) if not self.args.quiet else None

    def close(self) -> float:
        self.bar.close()
        return round(time.perf_counter() - self.start, 1)


def train_vae(args, data: Dataset, x: torch.Tensor):
    latent = args.latent_dim or 16
    arch = dict(latent_dim=latent, channels=args.channels or 32, hidden=args.hidden,
                activation=args.activation)
    net = ConvVAE(**arch).to(args.device)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr or 1e-3)
    rng = np.random.default_rng(args.seed)
    xt = torch.as_tensor(to_float(data.test_x[:2000])).to(args.device)
    run = Run(args, -(-len(x) // args.batch_size))
    done = False
    for epoch in range(1, args.epochs + 1):
        net.train()
        tot = n = 0.0
        for idx in batches(len(x), args.batch_size, rng):
            xb = x[idx]
            logits, mu, logvar = net(xb)
            rec = F.binary_cross_entropy_with_logits(logits, xb, reduction="sum") / len(xb)
            kl = (0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar)).sum(1).mean()
            loss = rec + args.beta * kl
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            tot += loss.item() * len(xb); n += len(xb)
            if (done := run.step(loss=loss.item(), rec=rec.item(), kl=kl.item())):
                break
        net.eval()
        test = vae_losses(net, xt, beta=1.0, generator=torch.Generator(args.device).manual_seed(0))
        run.epoch(epoch, train_loss=tot / n, test_neg_elbo=test["loss"].mean(), test_kl=test["kl"].mean())
        if done:
            break
    return {"vae": net.cpu()}, {"vae": {"class": "ConvVAE", "args": arch}}, latent, run


def train_gan(args, data: Dataset, x: torch.Tensor):
    latent = args.latent_dim or 64
    c = args.channels or 64
    g_arch = dict(latent_dim=latent, channels=c, activation=args.activation)
    d_arch = dict(channels=c, minibatch_std=bool(args.minibatch_std))
    G, D = Generator(**g_arch).to(args.device), Discriminator(**d_arch).to(args.device)
    for m in list(G.modules()) + list(D.modules()):          # DCGAN initialisation
        if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Linear)):
            torch.nn.init.normal_(m.weight, 0.0, 0.02)
    lr = args.lr or 2e-4
    opt_g = torch.optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
    rng = np.random.default_rng(args.seed)
    g_aug = torch.Generator().manual_seed(args.seed)
    # Small data: shift what D sees (real and fake alike, differentiably) so it cannot memorise.
    aug = (lambda im: shift_augment(im, args.augment, g_aug)) if args.augment else (lambda im: im)
    G_ema = copy.deepcopy(G).eval() if args.ema else None
    run = Run(args, -(-len(x) // args.batch_size))
    done = False
    for epoch in range(1, args.epochs + 1):
        G.train(); D.train()
        sums = np.zeros(4); n = 0
        for idx in batches(len(x), args.batch_size, rng):
            real = x[idx]
            z = torch.randn(len(real), latent, device=args.device)
            fake = G(z)
            # discriminator: real -> 0.9 (one-sided label smoothing), fake -> 0
            d_real, d_fake = D(aug(real)), D(aug(fake.detach()))
            loss_d = (F.binary_cross_entropy_with_logits(d_real, torch.full_like(d_real, 0.9))
                      + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
            opt_d.zero_grad(set_to_none=True); loss_d.backward(); opt_d.step()
            # generator: non-saturating loss
            d_gen = D(aug(fake))
            loss_g = F.binary_cross_entropy_with_logits(d_gen, torch.ones_like(d_gen))
            opt_g.zero_grad(set_to_none=True); loss_g.backward(); opt_g.step()
            if G_ema is not None:
                with torch.no_grad():
                    for pe, p in zip(G_ema.parameters(), G.parameters()):
                        pe.lerp_(p, 1.0 - args.ema)
                    for be, b in zip(G_ema.buffers(), G.buffers()):
                        be.copy_(b)
            sums += [loss_d.item(), loss_g.item(), torch.sigmoid(d_real).mean().item(),
                     torch.sigmoid(d_fake).mean().item()]
            n += 1
            if (done := run.step(loss_d=loss_d.item(), loss_g=loss_g.item())):
                break
        s = sums / max(n, 1)
        run.epoch(epoch, loss_d=s[0], loss_g=s[1], d_real=s[2], d_fake=s[3])
        if done:
            break
    modules = {"generator": (G_ema if G_ema is not None else G).eval().cpu(), "discriminator": D.eval().cpu()}
    arch = {"generator": {"class": "Generator", "args": g_arch},
            "discriminator": {"class": "Discriminator", "args": d_arch}}
    return modules, arch, latent, run


def train_classifier(args, data: Dataset, x: torch.Tensor, y: torch.Tensor):
    arch = dict(num_classes=len(data.class_names), channels=args.channels or 32, hidden=args.hidden,
                activation=args.activation)
    net = Classifier(**arch)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr or 1e-3)
    steps = args.epochs * -(-len(x) // args.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr or 1e-3, total_steps=max(steps, 1))
    rng = np.random.default_rng(args.seed)
    g = torch.Generator().manual_seed(args.seed)
    xt, yt = torch.as_tensor(to_float(data.test_x)), torch.as_tensor(data.test_y)
    run = Run(args, -(-len(x) // args.batch_size))
    done = False
    for epoch in range(1, args.epochs + 1):
        net.train()
        correct = n = 0
        for idx in batches(len(x), args.batch_size, rng):
            xb, yb = shift_augment(x[idx], 2, g), y[idx]
            logits = net(xb)
            loss = F.cross_entropy(logits, yb)
            opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
            if sched.last_epoch < steps - 1:
                sched.step()
            correct += int((logits.argmax(1) == yb).sum()); n += len(yb)
            if (done := run.step(loss=loss.item())):
                break
        net.eval()
        with torch.inference_mode():
            acc = float(torch.cat([net(xt[i:i + 1000]).argmax(1) for i in range(0, len(xt), 1000)])
                        .eq(yt).float().mean())
        run.epoch(epoch, train_accuracy=correct / max(n, 1), test_accuracy=acc)
        if done:
            break
    return {"classifier": net}, {"classifier": {"class": "Classifier", "args": arch}}, 0, run


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


def measure(kind: str, model: LatentModel, data: Dataset, classifier_name: str, root: Path) -> dict:
    test_x = to_float(data.test_x)
    if kind == "classifier":
        return classifier_metrics(model, test_x, data.test_y)
    try:
        clf = load(classifier_name, root)
    except Exception as e:                                   # a user's folder has no classifier
        print(f"note: no classifier for metrics ({e}); class-based metrics skipped", file=sys.stderr)
        clf = None
    if kind == "vae":
        return vae_metrics(model, test_x, data.test_y, clf)
    if clf is None:
        return {}
    return gan_metrics(model, clf, to_float(data.train_x), test_x)


def machine(device: str) -> str:
    if device == "cpu":
        return f"{platform.machine()} CPU"
    return f"{torch.cuda.get_device_name(torch.device(device))} GPU"


def main(argv=None) -> int:
    args = parse_args(argv)
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
    torch.manual_seed(args.seed)
    n = args.limit or len(data.train_x)
    x = torch.as_tensor(to_float(data.train_x[:n])).to(args.device)
    y = torch.as_tensor(data.train_y[:n]).to(args.device)
    if args.kind == "vae":
        modules, arch, latent, run = train_vae(args, data, x)
    elif args.kind == "gan":
        modules, arch, latent, run = train_gan(args, data, x)
    else:
        modules, arch, latent, run = train_classifier(args, data, x, y)
    seconds = run.close()
    model = LatentModel(name, {"kind": args.kind, "latent_dim": latent,
                               "class_names": data.class_names}, modules)
    metrics = measure(args.kind, model, data, args.classifier or f"{data.name}-classifier", Path(args.out))
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
        metrics=dict(metrics, measured_on=f"{data.name} held-out split ({len(data.test_x)} images)"),
        classifier=(args.classifier or f"{data.name}-classifier") if args.kind != "classifier" else None,
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    )
    save_checkpoint(folder, card, modules, overwrite=args.force)
    print(f"wrote {folder} in {seconds} s")
    for k, v in metrics.items():
        if not isinstance(v, list):
            print(f"  {k}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
