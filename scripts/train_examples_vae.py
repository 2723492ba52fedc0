"""Train the PyTorch examples' VAE (examples/vae/main.py: 784-400-20, Adam 1e-3, batch 128, summed
BCE + KL) on the project's shipped MNIST training digits, and save its `state_dict` as the examples
do (`torch.save(model.state_dict(), ...)`): the example file for `python -m models.convert`.

    python scripts/train_examples_vae.py [--epochs 10] [--out examples/pytorch_examples_vae.pth]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from models.architectures_external import ExamplesVAE  # noqa: E402
from models.data import load_shipped  # noqa: E402


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=ROOT / "examples" / "pytorch_examples_vae.pth")
    args = ap.parse_args(argv)
    torch.manual_seed(args.seed)
    data = load_shipped("mnist")
    x = torch.from_numpy(data.train_x.reshape(len(data.train_x), 784).astype(np.float32) / 255)
    test = torch.from_numpy(data.test_x.reshape(len(data.test_x), 784).astype(np.float32) / 255)
    model = ExamplesVAE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(args.seed)
    for epoch in range(1, args.epochs + 1):
        model.train()
        total = 0.0
        for idx in torch.randperm(len(x), generator=g).split(128):
            logits, mu, logvar = model(x[idx])
            bce = F.binary_cross_entropy_with_logits(logits.reshape(len(idx), -1), x[idx], reduction="sum")
            kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
            loss = bce + kld
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        model.eval()
        with torch.no_grad():
            mu, logvar = model.encode(test)
            logits = model.decode_logits(mu).reshape(len(test), -1)
            t_bce = F.binary_cross_entropy_with_logits(logits, test, reduction="sum").item()
            t_kld = (-0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())).item()
        print(f"epoch {epoch}: train loss {total / len(x):.1f}, held-out -ELBO (at the mean) "
              f"{(t_bce + t_kld) / len(test):.1f} nats per image")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
