"""Samples from the prior, with temperature and truncation."""
import numpy as np
import streamlit as st

from playground import session
from playground.figures import bars
from playground.imaging import png_bytes, tile, upscale

ss = st.session_state
m = session.header(
    "Sample the prior",
    "Draw latent codes from the prior N(0, I) and decode them: the images the model makes up on its "
    "own. Temperature scales the codes; truncation redraws values that stray far from 0.")

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
st.image(upscale(grid, 3), caption=f"{n} samples · seed {seed} · temperature {temperature:g}"
         + (f" · truncated at {threshold:g}" if truncate else ""))
st.download_button("Download PNG", png_bytes(upscale(grid, 2)), f"{ss.model}-samples-{seed}.png",
                   "image/png", key="dl_samples")

clf_name = m.card.get("classifier")
try:
    clf = session.load_model(clf_name) if clf_name else None
except Exception:
    clf = None
if clf is not None:
    votes = np.bincount(clf.predict_proba(images).argmax(1), minlength=len(m.class_names)) / n
    st.plotly_chart(bars(votes, m.class_names, title="What the classifier sees in these samples",
                         y_title="share of samples", line=1 / len(m.class_names), percent=True),
                    key="sample-votes")
    st.caption("A healthy model spreads its samples over all classes (dashed line: an even share). "
               "If a few classes take everything, that is **mode collapse**. Try a low temperature: "
               "variety drops as samples crowd towards the most typical images.")
