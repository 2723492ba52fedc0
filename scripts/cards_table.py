"""Print the README's checkpoint table from the model cards (so the README never drifts from them).

    python scripts/cards_table.py
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import models  # noqa: E402


def row(card: dict) -> str:
    m, tr, kind = card["metrics"], card["training"], card["kind"]
    ds = card["dataset"]["name"]
    what = {"vae": f"conv VAE, z={card['latent_dim']}, β={tr.get('beta')}",
            "gan": f"DCGAN, z={card['latent_dim']}", "classifier": "small CNN"}[kind]
    where = "GPU" if "GPU" in str(tr.get("machine")) else "CPU"
    what += f"; {tr['epochs']} epochs, {tr['seconds'] / 60:.1f} min on the {where}"
    if kind == "classifier":
        figs = f"accuracy {m['test_accuracy']:.2%}"
    elif kind == "vae":
        figs = (f"−ELBO {m['test_neg_elbo_nats']:.1f} nats, recon MSE {m['test_recon_mse']:.4f}, "
                f"reconstructions classified right {m.get('recon_class_accuracy', float('nan')):.1%}, "
                f"{m['active_latent_dims']}/{card['latent_dim']} active dims")
    else:
        figs = (f"class shares {m['min_class_share']:.1%}–{m['max_class_share']:.1%}, "
                f"IS {m['inception_score']:.2f} (real {m['inception_score_real_test']:.2f}), "
                f"FD {m['frechet_distance']:.2f} (real {m['frechet_distance_real_test']:.2f})")
    return f"| `{card['name']}` | {ds}: {what} | {figs} |"


def main():
    for l in models.available():
        print(row(l.card) if l.ok else f"| `{l.name}` | broken | {l.error} |")


if __name__ == "__main__":
    main()
