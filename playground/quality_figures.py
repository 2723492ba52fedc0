"""The Quality page's figure: precision and recall against temperature and against truncation, with
FD, IS and class coverage beside them. Pure: it takes measured figures and returns a Plotly figure."""
from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .figures import PALETTE

# (key in the measured figures, row title, colour); precision and recall share the first row
ROWS = [(("precision", "recall"), "precision / recall"), (("frechet_distance",), "Fréchet distance ↓"),
        (("inception_score",), "Inception Score ↑"), (("class_coverage",), "class coverage ↑")]
NAMES = dict(precision="precision (quality)", recall="recall (variety)", frechet_distance="FD",
             inception_score="IS", class_coverage="class coverage")
COLOURS = dict(precision=PALETTE[0], recall=PALETTE[1], frechet_distance=PALETTE[2],
               inception_score=PALETTE[4], class_coverage=PALETTE[5])


def tradeoff_figure(temperature: tuple[list[float], list[dict]], truncation: tuple[list[float], list[dict]],
                    real: dict, *, height: int = 820) -> go.Figure:
    """Two columns (x: temperature; x: truncation threshold at temperature 1), one row per figure.

    `temperature` and `truncation`: (x values, the measured figures at each); `real`: the same
    figures for real images against real images, drawn as dashed lines (what a perfect model gets)."""
    fig = make_subplots(rows=len(ROWS), cols=2, shared_xaxes="columns", vertical_spacing=0.05,
                        horizontal_spacing=0.08, row_titles=[t for _, t in ROWS],
                        column_titles=["against temperature (no truncation)",
                                       "against truncation threshold (temperature 1)"])
    for col, (xs, points) in enumerate((temperature, truncation), start=1):
        for row, (keys, _) in enumerate(ROWS, start=1):
            for key in keys:
                fig.add_trace(go.Scatter(
                    x=list(xs), y=[p[key] for p in points], mode="lines+markers", name=NAMES[key],
                    legendgroup=key, showlegend=col == 1, line=dict(color=COLOURS[key]),
                    hovertemplate=f"{NAMES[key]} %{{y:.3f}}<extra>%{{x}}</extra>"), row=row, col=col)
                if key in real:
                    fig.add_hline(y=real[key], line_dash="dash", line_color=COLOURS[key], opacity=0.6,
                                  row=row, col=col)
    for col in (1, 2):
        fig.update_yaxes(range=[0, 1.02], row=1, col=col)
        fig.update_yaxes(range=[0, 1.05], row=4, col=col)
    fig.update_xaxes(title_text="temperature", row=len(ROWS), col=1)
    fig.update_xaxes(title_text="truncation threshold", row=len(ROWS), col=2)
    fig.update_layout(height=height, margin=dict(l=10, r=40, t=40, b=10), plot_bgcolor="white",
                      legend=dict(orientation="h", y=-0.08), hovermode="x unified")
    fig.update_xaxes(showgrid=True, gridcolor="#eee")
    fig.update_yaxes(showgrid=True, gridcolor="#eee")
    return fig
