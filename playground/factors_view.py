"""The model page's "which latent dimension follows which factor" section, for a VAE whose data has
known factors (the shapes): latent traversals per dimension, the mutual information matrix and MIG.
Hidden for data without factors."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from models.factors import TRAVERSAL, analyse, reference_factors, traversal
from playground.bounded import MB, cache_data
from playground import session
from playground.imaging import tile, upscale


@cache_data(show_spinner="Measuring which latent dimension follows which factor (once per model)…",
            max_entries=16, max_bytes=64 * MB)
def _analysis(name: str, sha: str, dataset: str, root: str, ref_stamp: tuple | None):
    """Keyed by the weights and by the reference file (folder, size, mtime) its images and factors
    are read from."""
    m = session.load_model(name)
    found = reference_factors(dataset)
    images, _ = session.reference(dataset)
    return analyse(m, images, *found)


def analysis(m):
    """`m`'s factor analysis on its reference set, cached per weights and reference file."""
    return _analysis(m.name, session.weights_sha(m.name), m.dataset, str(session.models.CHECKPOINTS),
                     session.reference_stamp(m.dataset))


def factors_of(m) -> tuple | None:
    """The reference set's factors for `m`'s data, or None (the section is then hidden)."""
    try:
        return reference_factors(m.dataset) if m.kind == "vae" else None
    except ValueError:
        return None


def mi_heatmap(a, dims) -> go.Figure:
    share = a.mi[dims] / np.where(a.entropy > 0, a.entropy, 1.0)
    fig = go.Figure(go.Heatmap(
        z=share, x=list(a.names), y=[f"z{d + 1}" for d in dims], zmin=0, zmax=1, colorscale="Viridis",
        text=np.round(share, 2), texttemplate="%{text}", hovertemplate=(
            "%{y} and %{x}: I = %{customdata:.3f} nats (%{z:.0%} of the factor's entropy)<extra></extra>"),
        customdata=a.mi[dims], colorbar=dict(title="I / H")))
    fig.update_layout(title="Mutual information I(z; factor) / H(factor), dimensions by KL",
                      height=80 + 30 * len(dims), margin=dict(l=10, r=10, t=50, b=10),
                      yaxis=dict(autorange="reversed"))
    return fig


def render(m) -> None:
    found = factors_of(m)
    if found is None:
        return
    a = analysis(m)
    st.subheader("Which latent dimension follows which factor")
    st.markdown(
        f"This data is made by the project, so the factors behind every image are known "
        f"({', '.join(a.names)}). For each factor, the **mutual information** I(z; factor) says how "
        "much each latent dimension knows about it (codes cut into 20 bins). **MIG**, the mutual "
        "information gap (Chen et al. 2018), is the gap between the best and the second-best "
        "dimension, over the factor's entropy, averaged over the factors: 1 when every factor lives "
        "in one dimension of its own, 0 when it is spread. A larger β pushes towards higher MIG "
        "(the β-VAE); try it on the **Train a model** page with the β-VAE on shapes preset.")
    cols = st.columns(1 + len(a.names))
    cols[0].metric("MIG", f"{a.score:.3f}", help="Measured on the "
                   f"{len(session.reference(m.dataset)[0]):,} reference images")
    for col, name, gap, d in zip(cols[1:], a.names, a.gaps, a.best_dims):
        col.metric(f"gap: {name}", f"{gap:.2f}", help=f"best dimension z{d + 1}")
    active = [int(d) for d in a.order if a.kl[d] > 0.01] or [int(a.order[0])]
    st.plotly_chart(mi_heatmap(a, [int(d) for d in a.order]), key="factor-mi")
    st.markdown("**Latent traversals**: one reference image's code, with one dimension at a time "
                f"set to {', '.join(f'{v:g}' for v in TRAVERSAL)} (rows: the active dimensions, "
                "largest KL first).")
    images, _ = session.reference(m.dataset)
    i = st.slider("Start from reference image", 0, len(images) - 1, 0, key="traverse_index")
    z0 = m.encode(m.as_input(images[i][None]))[0]
    grid = traversal(m, z0, active)
    st.image(upscale(tile(grid, len(TRAVERSAL)), 3), caption="traversal: " + " · ".join(
        f"z{d + 1} ({a.kl[d]:.2f} nats, follows {f} {s:.0%})" for d in active for f, s in [a.follows(d)]))
