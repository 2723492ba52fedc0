"""Uploads: preprocess + encode + place one picture (VAE), and GAN inversion time and quality.

    python bench/upload_speed.py
Prints, per VAE: the time to turn one 1200x900 JPEG of a digit (dark on light) into a point on the
t-SNE and PCA maps. Per GAN: the time to invert one image, and the pixel MSE that inversion reaches
on 32 reference images beside the VAE's reconstruction MSE for the same images.
"""
from __future__ import annotations

import io
import time

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from _common import best_of, models
from models.inversion import invert
from playground.latent_map import build_map
from playground.preprocess import prepare_image


def photo() -> bytes:
    im = Image.new("RGB", (1200, 900), (232, 228, 220))
    ImageDraw.Draw(im).text((500, 150), "5", fill=(30, 30, 45), font=ImageFont.load_default(size=500))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def main():
    data = photo()
    print(f"One upload ({len(data) / 1024:.0f} KB JPEG, 1200x900) -> preprocess -> encode -> place, best of 10:")
    for ds in ("mnist", "fashion-mnist"):
        m = models.load(f"{ds}-vae")
        ref = models.reference(ds)
        for method in ("pca", "tsne"):
            lmap = build_map(m, method, ref, None, write_dir=None)

            def one():
                x = prepare_image(data, m.card)
                return lmap.place(m.encode(x[None, None]))

            parts = dict(preprocess=best_of(lambda: prepare_image(data, m.card), 10),
                         total=best_of(one, 10))
            print(f"  {m.name:20s} {method:5s} preprocess {parts['preprocess'] * 1000:5.1f} ms   "
                  f"preprocess+encode+place {parts['total'] * 1000:5.1f} ms")
    print("\nGAN inversion (defaults: 12 restarts x 150 Adam steps), and pixel MSE on 32 reference images:")
    for ds in ("mnist", "fashion-mnist"):
        g, v = models.load(f"{ds}-gan"), models.load(f"{ds}-vae")
        x = models.reference(ds)[0][-32:, None].astype(np.float32) / 255
        invert(g, x[:1], steps=5)                                 # warm-up
        t = time.perf_counter()
        invert(g, x[:1])
        one = time.perf_counter() - t
        gan_mse = invert(g, x).mse
        vae_mse = ((v.decode(v.encode(x)) - x) ** 2).reshape(len(x), -1).mean(1)
        print(f"  {g.name:20s} one image {one:5.2f} s   GAN inversion MSE {gan_mse.mean():.4f} "
              f"(median {np.median(gan_mse):.4f})   {v.name} reconstruction MSE {vae_mse.mean():.4f} "
              f"(median {np.median(vae_mse):.4f})")


if __name__ == "__main__":
    main()
