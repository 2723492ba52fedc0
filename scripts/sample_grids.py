"""Write PNG grids to look at a checkpoint: prior samples, reconstructions and interpolations.

    python scripts/sample_grids.py mnist-vae --out grids/   # <name>-samples.png, -recon.png, -interp.png
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import models  # noqa: E402
from playground.imaging import png_bytes, tile, upscale  # noqa: E402
from playground.interpolation import slerp  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("names", nargs="+")
    p.add_argument("--out", type=Path, default=Path("."))
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    models.limit_threads()
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.names:
        m = models.load(name)
        save = lambda img, tag: (args.out / f"{name}-{tag}.png").write_bytes(png_bytes(upscale(img, 2)))
        save(tile(m.decode(m.sample(100, seed=args.seed)), 10), "samples")
        z = m.sample(16, seed=args.seed + 1)
        paths = np.concatenate([slerp(z[i], z[i + 1], 10) for i in range(0, 16, 2)])
        save(tile(m.decode(paths), 10), "interp")
        if m.can_encode:
            images, _ = models.reference(m.dataset)
            x = images[:50, None].astype(np.float32) / 255
            save(tile(np.stack([x, m.decode(m.encode(x))], 1).reshape(-1, 1, 28, 28), 10), "recon")
        print(f"wrote grids for {name} to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
