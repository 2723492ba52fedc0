"""Samples from the prior, with temperature and truncation."""
import numpy as np
import streamlit as st

import models
from playground import session
from playground.figures import bars
from playground.imaging import png_bytes, tile, upscale

ss = st.session_state
m = session.header(
    "Sample the prior",
    "Draw latent codes from the prior N(0, I) and decode them: the images the model makes up on its "
    "own. Temperature scales the codes; truncation redraws values that stray far from 0.",
    needs_classifier=False)       # without one the samples still show, and the page says why

c1, c2, c3, c4 = st.columns(4)
temperature = c1.slider("Temperature", 0.0, 2.0, 1.0, 0.05, key="temperature",
                        help="Multiplies every code. Below 1: safer, more typical images; above 1: "
                             "more varied and more broken ones.")
truncate = c2.toggle("Truncation", key="truncate",
                     help="The 'truncation trick': redraw any coordinate whose size exceeds the "
                          "threshold, trading variety for quality.")
threshold = c2.slider("Threshold", 0.2, 3.0, 1.0, 0.1, key="trunc_threshold", disabled=not truncate)
n = c3.select_slider("Samples", [16, 36, 64, 100], 64, key="n_samples")
if c4.button(":material/casino: New samples", key="resample"):
    ss.sample_seed = int(ss.get("sample_seed", 0)) + 1
seed = int(ss.get("sample_seed", 0))

z = m.sample(n, seed=seed, temperature=1.0, truncation=threshold if truncate else None) * temperature
images = m.decode(z.astype(np.float32))
grid = tile(images, int(np.sqrt(n)))
st.image(upscale(grid, 3), output_format="PNG",
         caption=f"{n} samples · seed {seed} · temperature {temperature:g}"
                 + (f" · truncated at {threshold:g}" if truncate else ""))
st.download_button("Download PNG", png_bytes(upscale(grid, 2)), f"{ss.model}-samples-{seed}.png",
                   "image/png", key="dl_samples")

# Codes far inside the prior's shell (|z| ~ sqrt(d)) all sit near z = 0 and decode alike: say so,
# so that identical (or, for a GAN, blank) tiles are not read as a broken or collapsed model.
shell = float(np.linalg.norm(z, axis=1).mean() / np.sqrt(m.latent_dim))
crowded = shell < 0.35
blank = " A GAN's generator never saw codes this short (its training codes have ‖z‖ ≈ √d), so its " \
        "images come out faint or blank." if m.kind == "gan" else ""
if temperature == 0:
    st.info(f"Temperature 0 multiplies every code by 0: all {n} samples are the single code z = 0, "
            f"decoded {n} times, so the tiles are identical by construction.{blank}",
            icon=":material/info:")
elif crowded:
    st.info(f"These codes are short (‖z‖ averages {shell:.2f}·√d, where the prior draws ≈ 1·√d): "
            f"temperature {temperature:g}{f' and truncation at {threshold:g}' if truncate else ''} keep them "
            f"all near z = 0, so the images vary little.{blank}", icon=":material/info:")

try:
    clf = session.classifier_or_none(m)
    if clf is None:
        st.caption(session.NO_CLASSIFIER)
except models.CheckpointError as e:
    clf = None
    st.warning(f"No chart of what the classifier sees in these samples: the classifier "
               f"**{models.classifier_name(m.card)}** cannot be loaded ({e}).", icon=":material/warning:")
if clf is not None:
    votes = np.bincount(clf.predict_proba(images).argmax(1), minlength=len(m.class_names)) / n
    st.plotly_chart(bars(votes, m.class_names, title=f"What {clf.name} sees in these samples",
                         y_title="share of samples", line=1 / len(m.class_names), percent=True),
                    key="sample-votes")
    if crowded:
        st.caption("With codes crowded near z = 0 these votes describe that one region, not the model: "
                   "judge the spread over classes at temperature 1 without truncation.")
    else:
        st.caption("A healthy model spreads its samples over all classes (dashed line: an even share). "
                   "If a few classes take nearly everything at temperature 1, the model has **mode "
                   "collapse**. Lower temperatures crowd samples towards the most typical images, so "
                   "variety drops there by design.")
