"""Train the shipped shapes VAE (a beta-VAE) and write its reference set; reproducible on the CPU.

    nice -n 10 python scripts/train_shapes.py --beta 4 --name shapes-vae          # ~15 min, 2 cores
    python scripts/train_shapes.py --reference-only                               # reference set only

The data is made by `models.shapes` (no download): 20,000 training pictures and 2,000 held-out ones,
disjoint factor combinations fixed by seed 0. The held-out ones are the reference set the app plots
(checkpoints/reference/shapes.npz: uint8 images (N, 3, 32, 32), labels = the shape, and every
factor). The card's metrics, MIG included, are measured on that reference set.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models import CHECKPOINTS, limit_threads, reference_path  # noqa: E402
from models import shapes  # noqa: E402
from models.architectures import ConvVAE  # noqa: E402
from models.checkpoint import save_checkpoint  # noqa: E402
from models.latent_model import LatentModel  # noqa: E402
from models.measure import measure_reference  # noqa: E402
from models.shapes_eval import evaluate  # noqa: E402


def write_reference(root: Path, seed: int = 0) -> Path:
    _, held = shapes.split(seed)
    path = reference_path("shapes", root)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, images=shapes.render(held), labels=held[:, 0],
                        factors=held, factor_names=np.array(shapes.FACTORS),
                        source=np.array(f"models/shapes.py split(seed={seed}): held-out combinations"))
    return path


def reference_metrics(net, arch: dict, latent_dim: int, root: Path) -> dict:
    """The figures every VAE card has, measured as models.measure measures them (what
    tests/test_model_quality.py re-measures), and the shapes' own: MIG per factor, colour kept."""
    card = dict(kind="vae", latent_dim=latent_dim, image_shape=[3, shapes.IMAGE_SIZE, shapes.IMAGE_SIZE],
                dataset=dict(name="shapes"), class_names=list(shapes.CLASS_NAMES),
                architecture={"vae": {"class": "ConvVAE", "args": arch}})
    figures = measure_reference(LatentModel("shapes-vae", card, {"vae": net.eval()}), None, root)
    _, held_f = shapes.split(0)
    extra = evaluate(net, shapes.render(held_f), held_f)
    return dict(figures, **{k: extra[k] for k in ("colour_recovered", "mig", "mig_per_factor", "mig_best_dims")})


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--name", default="shapes-vae")
    p.add_argument("--out", type=Path, default=CHECKPOINTS)
    p.add_argument("--beta", type=float, default=4.0)
    p.add_argument("--latent-dim", type=int, default=10)
    p.add_argument("--channels", type=int, default=16)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--force", action="store_true")
    p.add_argument("--reference-only", action="store_true")
    p.add_argument("--notes", default="")
    a = p.parse_args(argv)
    threads = limit_threads(a.threads)
    ref = write_reference(a.out, seed=0)
    print(f"reference set: {ref} ({ref.stat().st_size} bytes)", file=sys.stderr)
    if a.reference_only:
        return 0
    train_f, held_f = shapes.split(0)
    x = torch.as_tensor(shapes.render(train_f).astype(np.float32) / 255.0)
    xt = shapes.render(held_f)
    torch.manual_seed(a.seed)
    arch = dict(latent_dim=a.latent_dim, channels=a.channels, hidden=a.hidden, activation="relu",
                image_channels=3, image_size=shapes.IMAGE_SIZE)
    net = ConvVAE(**arch)
    opt = torch.optim.Adam(net.parameters(), lr=a.lr)
    rng = np.random.default_rng(a.seed)
    history, steps, t0 = [], 0, time.perf_counter()
    for epoch in range(1, a.epochs + 1):
        net.train()
        tot, n = 0.0, 0
        perm = torch.as_tensor(rng.permutation(len(x)))
        for i in range(0, len(x), a.batch_size):
            xb = x[perm[i:i + a.batch_size]]
            logits, mu, logvar = net(xb)
            rec = F.binary_cross_entropy_with_logits(logits, xb, reduction="sum") / len(xb)
            kl = (0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar)).sum(1).mean()
            loss = rec + a.beta * kl
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            steps += 1
            if steps % 100 == 0:
                print(f"step {steps} loss {loss.item():.1f} kl {kl.item():.2f} "
                      f"{time.perf_counter() - t0:.0f}s", file=sys.stderr, flush=True)
            tot, n = tot + loss.item() * len(xb), n + len(xb)
        net.eval()
        m = evaluate(net, xt, held_f)
        row = dict(epoch=epoch, train_loss=round(tot / n, 5), test_neg_elbo=m["test_neg_elbo_nats"],
                   test_kl=m["test_kl_nats"], mig=m["mig"])
        history.append(row)
        print(json.dumps(row), f"{time.perf_counter() - t0:.0f}s", file=sys.stderr, flush=True)
    seconds = round(time.perf_counter() - t0, 1)
    metrics = reference_metrics(net, arch, a.latent_dim, a.out)
    card = dict(
        kind="vae", architecture={"vae": {"class": "ConvVAE", "args": arch}},
        latent_dim=a.latent_dim, image_shape=[3, shapes.IMAGE_SIZE, shapes.IMAGE_SIZE],
        dataset=dict(name="shapes", n_train=int(len(x)), n_test=int(len(xt)),
                     source="generated by models/shapes.py (split seed 0; no download)",
                     license="generated by the project (same license as the code)",
                     factors=list(shapes.FACTORS)),
        class_names=list(shapes.CLASS_NAMES),
        training=dict(optimizer="Adam", lr=a.lr, batch_size=a.batch_size, epochs=a.epochs, steps=steps,
                      activation="relu", beta=a.beta, seed=a.seed, seconds=seconds, threads=threads,
                      machine=f"{platform.machine()} CPU", torch=torch.__version__, augmentation=None,
                      history=history, script="scripts/train_shapes.py"),
        metrics=metrics, metrics_reference=metrics, classifier=None,
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    )
    if a.notes:
        card["notes"] = a.notes
    folder = save_checkpoint(a.out / a.name, card, {"vae": net}, overwrite=a.force)
    print(f"wrote {folder}: MIG {metrics['mig']}, {metrics['mig_per_factor']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
