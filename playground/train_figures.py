"""The Train page's figures. Pure: records (lists of dicts from models.lab) in, Plotly figures out.

Every figure has a title and titled axes; non-finite values (a run that blew up) are gaps, not
errors; long curves are thinned to at most MAX_POINTS points so a once-a-second redraw stays cheap.
"""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from .figures import PALETTE, map_figure

MAX_POINTS = 1500
HEIGHT = 300
ACTIVE_KL = 0.01          # nats: a latent dimension with less KL than this carries no information


def finite(values) -> list:
    """Values with NaN and ±inf as None (a gap in the curve)."""
    out = []
    for v in values:
        out.append(float(v) if v is not None and math.isfinite(v) else None)
    return out


def thin(n: int, max_points: int = MAX_POINTS) -> np.ndarray:
    """Indices of at most `max_points` evenly spread records out of n, always keeping the last."""
    if n <= max_points:
        return np.arange(n)
    idx = np.linspace(0, n - 1, max_points).round().astype(int)
    return np.unique(idx)


def _figure(traces: list[dict], title: str, x_title: str, y_title: str, *, height: int = HEIGHT,
            xaxis: dict | None = None, yaxis: dict | None = None, shapes: list | None = None,
            showlegend: bool = True, margin: dict | None = None, **layout) -> go.Figure:
    """One constructor call with plain dicts: a third of the time of add_trace + update_* calls,
    which matters for figures redrawn once a second while a run trains."""
    axis = dict(showgrid=True, gridcolor="#eee", zeroline=False)
    return go.Figure(data=traces, layout=dict(
        title=dict(text=title, x=0, xanchor="left"), height=height,
        margin=dict(dict(l=10, r=10, t=40, b=10), **(margin or {})),
        xaxis=dict(axis, title=dict(text=x_title), **(xaxis or {})),
        yaxis=dict(axis, title=dict(text=y_title), **(yaxis or {})),
        plot_bgcolor="white", uirevision=title, showlegend=showlegend, shapes=shapes or [],
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1), **layout))


def _hline(y: float) -> dict:
    return dict(type="line", xref="paper", x0=0, x1=1, y0=y, y1=y, line=dict(color="gray", dash="dash"))


WIDE = 1e3                # a curve whose values span more than this factor is drawn on a log axis


def spans_orders(values, factor: float = WIDE) -> bool:
    """True when the finite values are all positive and the largest is more than `factor` times the
    smallest: on a linear axis the early, huge values of a diverging run would flatten the rest."""
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return bool(vals) and min(vals) > 0 and max(vals) / min(vals) > factor


def step_curves(steps: list[dict], epochs: list[dict], train: dict[str, str], held_out: dict[str, str],
                *, title: str, y_title: str, y_range=None) -> go.Figure:
    """Training values per optimiser step (thin lines) and held-out values at each epoch's end
    (markers). train / held_out: record key -> legend name."""
    traces = []
    idx = thin(len(steps))
    x = [steps[i]["step"] for i in idx]
    for c, (key, name) in enumerate(train.items()):
        traces.append(dict(type="scatter", x=x, y=finite(steps[i].get(key) for i in idx), mode="lines",
                           name=name, line=dict(width=1.2, color=PALETTE[c % 10]), connectgaps=False))
    for c, (key, name) in enumerate(held_out.items(), start=len(train)):
        rows = [e for e in epochs if e.get(key) is not None]
        traces.append(dict(type="scatter", x=[e["step"] for e in rows], y=finite(e[key] for e in rows),
                           mode="lines+markers", name=name, line=dict(width=2, color=PALETTE[c % 10]),
                           marker=dict(size=8)))
    if y_range is not None:
        yaxis = dict(range=list(y_range))
    elif spans_orders([v for t in traces for v in t["y"]]):
        yaxis = dict(type="log", tickformat=".1e")
    else:
        yaxis = None
    return _figure(traces, title, "optimiser step", y_title, yaxis=yaxis)


def vae_loss_figures(steps: list[dict], epochs: list[dict]) -> tuple[go.Figure, go.Figure]:
    """Reconstruction and KL, each training (per step) and held-out (per epoch), in nats per image."""
    rec = step_curves(steps, epochs, {"rec": "training (per step)"}, {"test_rec": "held-out (per epoch)"},
                      title="Reconstruction loss", y_title="nats per image")
    kl = step_curves(steps, epochs, {"kl": "training (per step)"}, {"test_kl": "held-out (per epoch)"},
                     title="KL term", y_title="nats per image")
    return rec, kl


def gan_loss_figures(steps: list[dict], epochs: list[dict]) -> tuple[go.Figure, go.Figure]:
    """Both players' losses, and the discriminator's mean scores on real and generated images."""
    losses = step_curves(steps, epochs, {"loss_d": "discriminator", "loss_g": "generator"}, {},
                         title="GAN losses", y_title="binary cross-entropy")
    scores = step_curves(steps, epochs, {"d_real": "D(real)", "d_fake": "D(fake)"}, {},
                         title="Discriminator's verdict", y_title="mean probability 'real'", y_range=[0, 1])
    return losses, scores


def grad_norm_figure(steps: list[dict], last: int = 10) -> go.Figure:
    """Each layer's gradient norm, averaged over the last `last` steps, in forward order (input
    first), on a log axis: vanishing gradients are bars that shrink toward the input."""
    recent = [s["grad_norms"] for s in steps[-last:] if s.get("grad_norms")]
    layers = list(recent[-1]) if recent else []
    means = []
    for layer in layers:
        vals = [r[layer] for r in recent if layer in r and r[layer] is not None and math.isfinite(r[layer])]
        means.append(float(np.mean(vals)) if vals and np.mean(vals) > 0 else None)
    bar = dict(type="bar", x=layers, y=means, marker=dict(color=PALETTE[0]),
               hovertemplate="%{x}: %{y:.3g}<extra></extra>")
    bottom = label_margin(layers)
    return _figure([bar], "Gradient norm per layer", "layer (input → output)",
                   f"‖gradient‖, mean of last {min(last, len(steps))} steps", showlegend=False,
                   height=HEIGHT + bottom, margin=dict(b=bottom),
                   xaxis=dict(type="category", tickangle=-40, automargin=True),
                   # one labelled tick per power of ten: plotly's default log ticks (2, 5 between
                   # decades) piled up over a span of many decades
                   yaxis=dict(type="log", dtick=1, tickformat=".0e", automargin=True))


def label_margin(labels, px_per_char: float = 4.5, lo: int = 60, hi: int = 200) -> int:
    """Bottom margin (px) for category labels slanted at -40°: room for the longest one
    (about 7 px a character, times sin 40°) and the axis title, within [lo, hi]."""
    longest = max((len(str(x)) for x in labels), default=0)
    return int(min(hi, max(lo, 40 + px_per_char * longest)))


def dead_relu_figure(epochs: list[dict]) -> go.Figure:
    rows = [e for e in epochs if e.get("dead_relu") is not None]
    line = dict(type="scatter", x=[e["epoch"] for e in rows], y=[e["dead_relu"] for e in rows],
                mode="lines+markers", name="dead ReLUs", marker=dict(color=PALETTE[3]), line=dict(color=PALETTE[3]))
    return _figure([line], "Dead ReLUs", "epoch", "share silent for every image", showlegend=False,
                   xaxis=dict(dtick=1), yaxis=dict(tickformat=".0%", rangemode="tozero"))


def mig_figure(epochs: list[dict]) -> go.Figure:
    """MIG per epoch, for data with known factors (the shapes): 0 = spread, 1 = one factor per dimension."""
    rows = [e for e in epochs if e.get("mig") is not None]
    line = dict(type="scatter", x=[e["epoch"] for e in rows], y=[e["mig"] for e in rows],
                mode="lines+markers", name="MIG", marker=dict(color=PALETTE[2]), line=dict(color=PALETTE[2]))
    return _figure([line], "Disentanglement: MIG of the held-out codes", "epoch", "MIG (0 to 1)",
                   showlegend=False, xaxis=dict(dtick=1), yaxis=dict(rangemode="tozero"))


def kl_dims_figure(kl_per_dim: list[float], epoch: int) -> go.Figure:
    """KL of each latent dimension (held-out mean); below ACTIVE_KL a dimension is switched off."""
    names = [f"z{i + 1}" for i in range(len(kl_per_dim))]
    colours = [PALETTE[0] if v > ACTIVE_KL else "#bbb" for v in kl_per_dim]
    bar = dict(type="bar", x=names, y=finite(kl_per_dim), marker=dict(color=colours),
               hovertemplate="%{x}: %{y:.3g} nats<extra></extra>")
    active = sum(v > ACTIVE_KL for v in kl_per_dim)
    return _figure([bar], f"KL per dimension: {active} of {len(kl_per_dim)} in use",
                   f"latent dimension (epoch {epoch})", "nats per image", showlegend=False,
                   xaxis=dict(type="category"), shapes=[_hline(ACTIVE_KL)])


def latent_map_figure(points: np.ndarray, labels: np.ndarray, class_names: list[str], latent_dim: int,
                      epoch: int, height: int = 420) -> go.Figure:
    """The fixed held-out sample's codes (z itself for a 2-D latent, else its two main axes)."""
    axes = ("z₁", "z₂") if latent_dim == 2 else ("PC 1 of z", "PC 2 of z")
    fig = map_figure(np.asarray(points), np.asarray(labels), class_names, label_source="true class",
                     axis_titles=axes, height=height, marker_size=4, dragmode="pan")
    what = "the latent plane" if latent_dim == 2 else f"PCA of the {latent_dim}-D codes"
    fig.update_layout(title=dict(text=f"Latent map after epoch {epoch} ({what})", x=0, xanchor="left"),
                      margin=dict(l=10, r=10, t=40, b=10), uirevision=None)
    return fig


def weight_histogram_figure(hist: dict, epoch: int) -> go.Figure:
    edges = np.asarray(hist["edges"], np.float64)
    centres = (edges[:-1] + edges[1:]) / 2
    bar = dict(type="bar", x=centres.tolist(), y=list(hist["counts"]), width=np.diff(edges).tolist(),
               marker=dict(color=PALETTE[2]), hovertemplate="weight ≈ %{x:.3g}: %{y:,} weights<extra></extra>")
    return _figure([bar], f"Weights after epoch {epoch}", "weight value", "number of weights",
                   showlegend=False, bargap=0)


def class_histogram_figure(counts: list[int], class_names: list[str], epoch: int) -> go.Figure:
    """Classes the classifier sees in the GAN's samples: few bars is mode collapse."""
    total = max(sum(counts), 1)
    bar = dict(type="bar", x=list(class_names), y=[c / total for c in counts], marker=dict(color=PALETTE[1]),
               hovertemplate="%{x}: %{y:.0%}<extra></extra>")
    return _figure([bar], f"Classes of {total} samples after epoch {epoch}", "class the classifier sees",
                   "share of samples", showlegend=False, xaxis=dict(type="category"),
                   yaxis=dict(tickformat=".0%", rangemode="tozero"), shapes=[_hline(1 / len(class_names))])


def compare_figure(runs: list[dict], key: str, name: str) -> go.Figure:
    """One per-epoch curve of each run, overlaid."""
    traces = []
    for c, r in enumerate(runs):
        rows = [h for h in r["history"] if h.get(key) is not None]
        traces.append(dict(type="scatter", x=[h["epoch"] for h in rows], y=finite(h[key] for h in rows),
                           mode="lines+markers", name=r["label"], line=dict(color=PALETTE[c % 10])))
    few = max((len(r["history"]) for r in runs), default=0) <= 20
    return _figure(traces, f"{name[:1].upper()}{name[1:]}, per epoch", "epoch", name, height=340,
                   xaxis=dict(dtick=1) if few else None)
