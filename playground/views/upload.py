"""Upload pictures and see what the model makes of them: its input, its reconstruction, how unusual
it is, its nearest reference images and its point on the map."""
import hashlib

import numpy as np
import streamlit as st

from playground import session
from playground.drawpad import drawpad
from playground.figures import map_figure
from playground.imaging import tile, upscale
from playground.preprocess import ImageError, prepare
from playground.uploads import anomaly_percentile, encode_images, nearest

TYPES = ["png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff"]
ss = st.session_state
m = session.header(
    "Encode your images",
    "Upload photos, scans or screenshots: each is prepared like the training data, encoded (a GAN, "
    "which has no encoder, is inverted by optimisation), decoded, and placed on the map.")
lmap = session.latent_map(ss.model, ss.proj)

col_files, col_draw = st.columns([3, 2], gap="large")
with col_files:
    files = st.file_uploader("Pictures (PNG, JPEG, GIF, BMP, WebP or TIFF; up to 10 MB each)", type=TYPES,
                             accept_multiple_files=True, key="uploads",
                             help="A digit written on paper and photographed works: dark ink on light "
                                  "paper is inverted, the content is cropped, scaled and centred like "
                                  f"{m.card['dataset']['name']}.")
with col_draw:
    st.markdown("**…or draw one**")
    drawn = drawpad(key="drawpad")
sources = [(f.name, f.getvalue()) for f in files or []] + ([("your drawing", drawn)] if drawn else [])
if not sources:
    st.info("Nothing uploaded or drawn yet. Each picture is processed on its own, so one bad file "
            "never stops the others.", icon=":material/upload:")
    st.stop()

# ---- prepare every picture; report the bad ones and go on with the rest ---------------------------
good = []
for name, data in sources:
    try:
        good.append((name, hashlib.sha256(data).hexdigest()[:16], prepare(data, m.card)))
    except ImageError as e:
        st.error(f"**{name}**: {e}", icon=":material/broken_image:")
if not good:
    st.stop()

# ---- encode (cached per model and file content, so a rerun never inverts twice) -------------------
cache = ss.setdefault("_upload_codes", {})
sha = m.card["weights"]["sha256"]
todo = [(name, key, p) for name, key, p in good if (sha, key) not in cache]
if todo:
    bar = st.progress(0.0, text="Encoding…")
    enc = encode_images(m, np.stack([p.image for _, _, p in todo]),
                        progress=lambda fr, text: bar.progress(min(fr, 1.0), text=text))
    bar.empty()
    for i, (_, key, _) in enumerate(todo):
        cache[(sha, key)] = dict(z=enc.z[i], recon=enc.recon[i], mse=float(enc.mse[i]),
                                 restarts=None if enc.restart_mse is None else enc.restart_mse[i])
rows = [cache[(sha, key)] for _, key, _ in good]
z = np.stack([r["z"] for r in rows])
mse = np.array([r["mse"] for r in rows])
ref_err = session.reference_errors(ss.model)
pct = anomaly_percentile(mse, ref_err)
ref_images, ref_space, ref_labels = session.reference_space(ss.model)
query = z if m.kind == "vae" else session.classifier_features(ss.model, np.stack([p.image for _, _, p in good]))
neighbours = nearest(ref_space, query, k=6)

# the codes are remembered for the Interpolate page
session.remember_uploads(ss.model, {name: r["z"] for (name, _, _), r in zip(good, rows)})

# ---- the map with the uploads on it --------------------------------------------------------------
st.subheader("Where they land")
names = [name for name, _, _ in good]
fig = map_figure(lmap.y, lmap.labels, m.class_names, label_source=lmap.label_source,
                 marks=(lmap.place(z), names), axis_titles=session.axis_titles(lmap), height=480,
                 marker_size=4)
st.plotly_chart(fig, key=f"upload-map-{ss.model}-{ss.proj}", config={"displaylogo": False})
st.caption("Stars are your images, placed into the existing map"
           + (" exactly (a linear projection)." if lmap.exact else
              " among their nearest map points (t-SNE has no formula for new points; the map is "
              "never recomputed).") + " Use them as ends on the **Interpolate** page.")

# ---- one row per upload --------------------------------------------------------------------------
what = "Reconstruction" if m.kind == "vae" else "Best match G(z)"
for (name, _, p), r, pc, nb in zip(good, rows, pct, neighbours):
    st.divider()
    st.markdown(f"#### {name}")
    c1, c2, c3, c4 = st.columns([2, 1, 1, 3])
    c1.image(p.original, caption=f"Uploaded ({p.original.width} × {p.original.height} shown)")
    c2.image(upscale(tile(p.image[None, None], 1), 4),
             caption="What the model sees (28 × 28)")
    c3.image(upscale(tile(r["recon"][None, None], 1), 4), caption=what)
    with c4:
        st.metric("Pixel MSE", f"{r['mse']:.4f}",
                  help="Mean squared difference between the model's input and its "
                       + ("reconstruction." if m.kind == "vae" else "best match found by inversion."))
        st.progress(min(pc / 100, 1.0), text=f"More unusual than {pc:.0f}% of the reference images")
        if pc >= 95:
            st.warning("The model reproduces this worse than almost every real image it was tested on: "
                       "it is far from what it learned (an outlier, or not "
                       f"{m.card['dataset']['name']} at all).", icon=":material/help:")
        if r["restarts"] is not None:
            st.caption(f"Inversion: {len(r['restarts'])} random starts, final MSE from "
                       f"{r['restarts'][0]:.4f} (best) to {r['restarts'][-1]:.4f} (worst).")
        for note in p.notes:
            st.caption(f"• {note}")
    st.image(upscale(tile(ref_images[nb][:, None] / 255.0, len(nb)), 2),
             caption="Nearest reference images: " + ", ".join(m.class_names[c] for c in ref_labels[nb])
                     + (" (by latent code)" if m.kind == "vae" else " (by the classifier's features)"))
