"""Plotly figures. Pure: they take arrays and return figures, and know nothing of Streamlit."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .imaging import png_data_url

# Ten distinguishable colours (Plotly's D3 palette), one per class.
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
           "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


def map_figure(y: np.ndarray, labels: np.ndarray, class_names: list[str], *, label_source: str,
               selected=(), path: np.ndarray | None = None, atlas: np.ndarray | None = None,
               marks: tuple[np.ndarray, list[str]] | None = None, marks_label: str = "your images",
               extent: np.ndarray | None = None, axis_titles=("dim 1", "dim 2"),
               height: int = 560, marker_size: int = 5, dragmode: str = "lasso",
               training: np.ndarray | None = None) -> go.Figure:
    """Scatter of the map (WebGL), one legend entry per class so the legend toggles classes. `training`
    (bool per point) draws the model's training images hollow (a second trace of the class) and says
    so on hover.

    Each point's `customdata` is its index in the map, which selections report back. `selected`
    points are shown the way Plotly shows a selection made in the chart (the others dimmed), as
    `selectedpoints` of each trace: no extra trace, so a selection made in the chart and one restored
    from a link look alike."""
    fig = go.Figure()
    idx = np.arange(len(y))
    chosen = np.zeros(len(y), bool)
    chosen[[i for i in selected if 0 <= i < len(y)]] = True
    is_training = None if training is None or len(training) != len(y) else np.asarray(training, bool)
    for c, name in enumerate(class_names):
        in_class = labels == c
        if not in_class.any():
            continue
        # held-out and training images as two traces of one legend entry: a scalar symbol and hover
        # text, not one per point (70,000 of each would add megabytes to the page)
        parts = [(in_class, "circle", "")] if is_training is None else [
            (in_class & ~is_training, "circle", " · held out"),
            (in_class & is_training, "circle-open", " · training image")]
        legend = True
        for m, symbol, what in parts:
            if not m.any():
                continue
            extra = {}
            if chosen.any():
                extra = dict(selectedpoints=np.flatnonzero(chosen[m]).tolist(),
                             unselected=dict(marker=dict(opacity=0.12)))
            fig.add_trace(go.Scattergl(
                x=y[m, 0], y=y[m, 1], mode="markers", name=f"{c}: {name}" if name != str(c) else name,
                legendgroup=f"class-{c}", showlegend=legend, customdata=idx[m],
                marker=dict(size=marker_size, color=PALETTE[c % 10], opacity=0.75, symbol=symbol),
                hovertemplate=f"{label_source}: {name}<br>index %{{customdata}}{what}<extra></extra>", **extra))
            legend = False
    if path is not None and len(path):
        fig.add_trace(go.Scatter(
            x=path[:, 0], y=path[:, 1], mode="lines+markers", name="path",
            line=dict(color="black", width=2), marker=dict(size=7, color="white",
                                                          line=dict(color="black", width=1.5)),
            hovertemplate="frame %{pointNumber}<extra></extra>"))
        fig.add_trace(go.Scatter(x=path[[0, -1], 0], y=path[[0, -1], 1], mode="markers+text",
                                 text=["A", "B"], textposition="top center", showlegend=False,
                                 marker=dict(size=12, color="black"), hoverinfo="skip"))
    if marks is not None and len(marks[0]):
        pts, names = marks
        fig.add_trace(go.Scatter(
            x=pts[:, 0], y=pts[:, 1], mode="markers+text", name=marks_label, text=list(names),
            textposition="top center", hovertemplate="%{text}<extra></extra>",
            marker=dict(symbol="star", size=17, color="gold", line=dict(color="black", width=1.5))))
    if atlas is not None and extent is not None:
        (x0, x1), (y0, y1) = extent
        fig.add_layout_image(dict(
            source=png_data_url(atlas),
            xref="x", yref="y", x=x0, y=y1, sizex=x1 - x0, sizey=y1 - y0, sizing="stretch",
            opacity=0.55, layer="below"))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10), dragmode=dragmode,
                      legend=dict(itemsizing="constant", title_text=label_source),
                      xaxis_title=axis_titles[0], yaxis_title=axis_titles[1],
                      plot_bgcolor="white", uirevision="map")
    fig.update_xaxes(showgrid=False, zeroline=False)
    fig.update_yaxes(showgrid=False, zeroline=False, scaleanchor="x", scaleratio=1)
    return fig


def bars(values, names, *, title: str, y_title: str, band: tuple[float, float] | None = None,
         line: float | None = None, height: int = 300, percent: bool = False) -> go.Figure:
    fig = go.Figure(go.Bar(x=list(names), y=list(values), marker_color=PALETTE[0]))
    if band is not None:
        fig.add_hrect(y0=band[0], y1=band[1], fillcolor="green", opacity=0.08, line_width=0)
    if line is not None:
        fig.add_hline(y=line, line_dash="dash", line_color="gray")
    fig.update_layout(title=title, height=height, margin=dict(l=10, r=10, t=40, b=10),
                      yaxis_title=y_title, plot_bgcolor="white")
    fig.update_xaxes(type="category")                 # class names like "0".."9" are labels, not numbers
    if percent:
        fig.update_yaxes(tickformat=".0%")
    return fig


def lines(series: dict[str, tuple], *, title: str, x_title: str, y_title: str,
          hline: tuple[float, str] | None = None, height: int = 300) -> go.Figure:
    """series: name -> (x, y)."""
    fig = go.Figure()
    for name, (x, yv) in series.items():
        fig.add_trace(go.Scatter(x=list(x), y=list(yv), mode="lines+markers", name=name))
    if hline is not None:
        fig.add_hline(y=hline[0], line_dash="dash", line_color="gray", annotation_text=hline[1])
    fig.update_layout(title=title, height=height, margin=dict(l=10, r=10, t=40, b=10),
                      xaxis_title=x_title, yaxis_title=y_title, plot_bgcolor="white", showlegend=True)
    return fig
