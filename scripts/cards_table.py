"""Print the README's checkpoint table from the model cards, and read the figures back out of it.

    python scripts/cards_table.py          # the table to paste into README.md ("Shipped checkpoints")

The figures are the cards' `metrics_reference`: measured on the held-out reference sets shipped in
checkpoints/reference/, so tests/test_model_quality.py re-measures every one of them from the
weights on a fresh install. A card without them (a checkpoint of your own, no reference set) shows
its `metrics` and says they are copied from the card.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import models  # noqa: E402

HEADER = ("| checkpoint | what | figures on the shipped reference set (re-measured by the tests) |\n"
          "| --- | --- | --- |")
COPIED = " (copied from the card: no reference set to re-measure them on)"


def figures_text(card: dict, m: dict) -> str:
    kind = card["kind"]
    if kind == "classifier":
        return f"accuracy {m['test_accuracy']:.2%}"
    if kind == "vae":
        text = f"−ELBO {m['test_neg_elbo_nats']:.1f} nats, recon MSE {m['test_recon_mse']:.4f}, "
        if "recon_class_accuracy" in m:
            text += f"reconstructions classified right {m['recon_class_accuracy']:.1%}, "
        if "mig" in m:                           # data with known factors (the shapes)
            text += f"colour kept {m['colour_recovered']:.1%}, MIG {m['mig']:.3f}, "
        return text + f"{m['active_latent_dims']}/{card['latent_dim']} active dims"
    if "inception_score" not in m:
        return "no figures (no classifier to judge its samples)"
    return (f"class shares {m['min_class_share']:.1%}–{m['max_class_share']:.1%}, "
            f"IS {m['inception_score']:.2f} (real {m['inception_score_real_test']:.2f}), "
            f"FD {m['frechet_distance']:.2f} (real {m['frechet_distance_real_test']:.2f})")


def row(card: dict) -> str:
    tr, kind = card["training"], card["kind"]
    ds = card["dataset"]["name"]
    what = {"vae": f"conv VAE, z={card['latent_dim']}, β={tr.get('beta')}",
            "gan": f"DCGAN, z={card['latent_dim']}", "classifier": "small CNN"}[kind]
    where = "GPU" if "GPU" in str(tr.get("machine")) else "CPU"
    what += f"; {tr['epochs']} epochs, {tr['seconds'] / 60:.1f} min on the {where}"
    if card.get("metrics_reference"):
        figs = figures_text(card, card["metrics_reference"])
    else:
        figs = figures_text(card, card["metrics"]) + COPIED
    return f"| `{card['name']}` | {ds}: {what} | {figs} |"


def table(root=None) -> str:
    rows = [row(l.card) if l.ok else f"| `{l.name}` | broken | {l.error} |" for l in models.available(root)]
    return "\n".join([HEADER, *rows])


# ---- reading figures back (what the tests compare with re-measured values) ----------------------
_NUM = r"(-?\d+(?:\.\d+)?)"
PATTERNS = [   # (regex, card keys of its groups, scale: printed value = figure * scale)
    (rf"\baccuracy {_NUM}%", ("test_accuracy",), 100),
    (rf"−ELBO {_NUM} nats", ("test_neg_elbo_nats",), 1),
    (rf"recon MSE {_NUM}", ("test_recon_mse",), 1),
    (rf"reconstructions classified right {_NUM}%", ("recon_class_accuracy",), 100),
    (rf"{_NUM}/\d+ active dims", ("active_latent_dims",), 1),
    (rf"colour kept {_NUM}%", ("colour_recovered",), 100),
    (rf"\bMIG {_NUM}", ("mig",), 1),
    (rf"class shares {_NUM}%–{_NUM}%", ("min_class_share", "max_class_share"), 100),
    (rf"IS {_NUM} \(real {_NUM}\)", ("inception_score", "inception_score_real_test"), 1),
    (rf"FD {_NUM} \(real {_NUM}\)", ("frechet_distance", "frechet_distance_real_test"), 1),
]


def parse_figures(text: str) -> dict[str, tuple[float, float]]:
    """Figures printed in a table cell: {card key: (value, half a unit of the last printed digit)},
    both in the card's units (a printed 91.69% is 0.9169 ± 0.00005)."""
    out = {}
    for pattern, keys, scale in PATTERNS:
        for match in re.finditer(pattern, text):
            for key, printed in zip(keys, match.groups()):
                decimals = len(printed.split(".")[1]) if "." in printed else 0
                out[key] = (float(printed) / scale, 0.5 * 10 ** -decimals / scale)
    return out


def readme_figures(readme: str) -> dict[str, dict[str, tuple[float, float]]]:
    """Every checkpoint row of the README's table: {name: parse_figures(its figures cell)}."""
    rows = {}
    for line in readme.splitlines():
        match = re.match(r"\| `([^`]+)` \| [^|]+ \| ([^|]+) \|$", line.strip())
        if match:
            rows[match.group(1)] = parse_figures(match.group(2))
    return rows


def main():
    models.limit_threads()
    print(table())


if __name__ == "__main__":
    main()
