"""Figures of the Spot anomalies page (pure: numpy and Plotly, no Streamlit)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go


def colour_range(values, lo: float = 1.0, hi: float = 99.0) -> tuple[float, float]:
    """The colour scale's ends: the lo-th and hi-th percentiles, so a few extreme images do not
    squash every other point into one colour (the extremes show the end colour)."""
    v = np.asarray(values, np.float64)
    a, b = np.percentile(v, [lo, hi]) if len(v) else (0.0, 1.0)
    return float(a), float(b) if b > a else float(a) + 1e-9


def score_map(y: np.ndarray, values: np.ndarray, labels: np.ndarray, class_names: list[str], *,
              score_label: str, unit: str, highlight=(), axis_titles=("dim 1", "dim 2"),
              label_source: str = "true class", height: int = 520) -> go.Figure:
    """The map with every point coloured by its anomaly score (one WebGL trace; each point's
    customdata is its index), and the `highlight` points (the most unusual) ringed."""
    y = np.asarray(y, np.float32)
    values = np.asarray(values, np.float64)
    if len(y) != len(values) or len(values) != len(labels):
        raise ValueError(f"{len(y)} map points, {len(values)} scores and {len(labels)} labels: "
                         "they must be the same images")
    cmin, cmax = colour_range(values)
    names = np.asarray([class_names[int(c)] for c in labels], dtype=object)
    fig = go.Figure(go.Scattergl(
        x=y[:, 0], y=y[:, 1], mode="markers", name="reference images",
        customdata=np.stack([np.arange(len(y)), values], 1), text=names,
        marker=dict(size=5, color=values, colorscale="Viridis", cmin=cmin, cmax=cmax, opacity=0.85,
                    colorbar=dict(title=dict(text=unit, side="right"), thickness=14)),
        hovertemplate=(f"{label_source}: %{{text}}<br>{score_label}: %{{customdata[1]:.4g}}"
                       "<br>index %{customdata[0]}<extra></extra>")))
    hl = np.asarray([i for i in highlight if 0 <= i < len(y)], int)
    if len(hl):
        fig.add_trace(go.Scatter(
            x=y[hl, 0], y=y[hl, 1], mode="markers+text", name="most unusual",
            text=[str(r + 1) for r in range(len(hl))], textposition="top center",
            customdata=hl, hovertemplate="#%{text}: index %{customdata}<extra></extra>",
            marker=dict(size=13, color="rgba(0,0,0,0)", line=dict(color="crimson", width=2))))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10), plot_bgcolor="white",
                      xaxis_title=axis_titles[0], yaxis_title=axis_titles[1], showlegend=False,
                      uirevision="anomaly-map")
    fig.update_xaxes(showgrid=False, zeroline=False)
    fig.update_yaxes(showgrid=False, zeroline=False, scaleanchor="x", scaleratio=1)
    return fig


def score_histograms(inliers, outliers, *, names: tuple[str, str], score_label: str,
                     height: int = 280) -> go.Figure:
    """Overlaid histograms of one score on the model's own images and on the other data set's,
    with the same bins."""
    a, b = np.asarray(inliers, np.float64), np.asarray(outliers, np.float64)
    both = np.r_[a, b]
    lo, hi = np.percentile(both, [0.5, 99.5]) if len(both) else (0.0, 1.0)
    size = (hi - lo) / 40 if hi > lo else 1.0
    fig = go.Figure()
    for v, name, colour in ((a, names[0], "#1f77b4"), (b, names[1], "#d62728")):
        fig.add_trace(go.Histogram(x=np.clip(v, lo, hi), name=name, opacity=0.6, marker_color=colour,
                                   xbins=dict(start=lo, end=hi + size, size=size), histnorm="percent"))
    fig.update_layout(barmode="overlay", height=height, margin=dict(l=10, r=10, t=30, b=10),
                      xaxis_title=score_label + " (higher: more unusual)", yaxis_title="% of images",
                      plot_bgcolor="white", legend=dict(orientation="h", y=1.12))
    return fig
