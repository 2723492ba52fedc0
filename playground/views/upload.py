"""Upload pictures (or take one with the camera) and see what the model makes of them: every stage
of the preparation, its input, its reconstruction, how unusual it is, its nearest reference images
and its point on the map. A photo of several digits gives one input per digit, and the page reads
the number back with the classifier."""
import hashlib
from collections import OrderedDict
from contextlib import nullcontext

import numpy as np
import streamlit as st

import models
from playground import session
from playground.latent_map import describe_placement
from playground.drawpad import drawpad
from playground.figures import map_figure
from playground.imaging import flatten_png, preview, tile, upscale
from playground.preprocess import FORMATS, MAX_BYTES, MAX_DIGITS, ImageError, prepare
from playground.stages import auto_region, from_percent, percent, read_number, small, stage_images
from playground.waiting import inversion_slot, stay_connected
from playground.uploads import (MAX_KEPT_FILES, anomaly_percentile, encode_images, keep_latest, nearest,
                                unique_names)

DRAWING = "your drawing"
CAMERA = "camera photo"
MAX_ENCODED = MAX_KEPT_FILES * MAX_DIGITS   # per session: every digit the page can show, so a
                                            # rerun (a crop slider) never encodes or inverts twice
ss = st.session_state


def keep_uploader_files() -> None:
    """The uploader changed: what it holds now is what the page keeps (so removing every file from
    it forgets them too); the drawing and the camera's photo, which have their own Clear, stay."""
    files = [(f.name, f.getvalue()) for f in ss.get("uploads") or []]
    own = [(n, d) for n, d in ss.get("_kept_uploads", []) if n in (DRAWING, CAMERA)]
    ss["_kept_uploads"] = keep_latest(files) + own


def crop_keys(name: str, key: str) -> tuple[str, str, str]:
    """Widget keys of one picture's hand-set crop: the switch, the rows and the columns sliders."""
    return f"crop_on|{name}|{key}", f"crop_rows|{name}|{key}", f"crop_cols|{name}|{key}"


def hand_region(name: str, key: str):
    """The crop the person set for this picture (shares of it), or None for the automatic one."""
    on, rows, cols = crop_keys(name, key)
    if ss.get(on) and rows in ss and cols in ss:
        return from_percent(ss[rows], ss[cols])
    return None


def forget_uploads() -> None:
    ss["_kept_uploads"] = []
    ss["_upload_codes"] = OrderedDict()
    session.remember_uploads(ss.model, {})


m = session.header(
    "Encode your images",
    "Upload photos, scans or screenshots: each is prepared like the training data, encoded (a GAN, "
    "which has no encoder, is inverted by optimisation), decoded, and placed on the map.")
if m.kind == "gan" and session.is_adapter(m):
    st.info(f"**{m.name}** is a GAN brought as an adapter file: it has no encoder, and inverting it "
            "needs gradients through its generator, which an adapter does not give. Pick a VAE, or one "
            "of the project's GANs, to encode your images.", icon=":material/info:")
    st.stop()
lmap = session.latent_map(ss.model, ss.proj)

col_files, col_draw = st.columns([3, 2], gap="large")
with col_files:
    # No `type=` filter: the browser would drop other files without a word; every file gets a verdict below.
    files = st.file_uploader(f"Pictures ({', '.join(FORMATS)}; up to {MAX_BYTES // 2**20} MB each)",
                             accept_multiple_files=True, max_upload_size=MAX_BYTES // 2**20,
                             key="uploads", on_change=keep_uploader_files,
                             help="A digit written on paper and photographed works: dark ink on light "
                                  "paper is inverted, the content is cropped, scaled and centred like "
                                  f"{m.card['dataset']['name']}."
                                  + (" Shadows, ruled or squared paper and stray marks are removed; a "
                                     "number of several digits gives one input per digit."
                                     if m.card["dataset"]["name"] == "mnist" else ""))
    shot = None
    if st.toggle("Take a photo with the camera", key="use_camera",
                 help="The browser asks to use the camera only when this is on."):
        shot = st.camera_input("Photo of a digit or a number (dark ink on light paper is fine)",
                               key="camera")
with col_draw:
    st.markdown("**…or draw one**")
    drawn = drawpad(key="drawpad")

live = [(f.name, f.getvalue()) for f in files or []]
if shot is not None:
    live.append((CAMERA, shot.getvalue()))
if drawn:
    # light strokes on a transparent canvas shown as black: flatten onto black, as the person saw it
    live.append((DRAWING, flatten_png(drawn)))
if live:
    ss["_kept_uploads"] = keep_latest(live)
    sources = ss["_kept_uploads"]
    if len(sources) < len(live):
        st.warning(f"Only the last {len(sources)} of your {len(live)} pictures are kept and encoded "
                   f"(at most {MAX_KEPT_FILES} files, 40 MB in all).", icon=":material/content_cut:")
else:
    sources = ss.get("_kept_uploads", [])
    if sources:
        k1, k2 = st.columns([4, 1])
        k1.info(f"Showing the {len(sources)} picture(s) you gave earlier in this session "
                f"({', '.join(n for n, _ in sources)}). New uploads replace them.",
                icon=":material/history:")
        k2.button("Forget them", icon=":material/delete:", key="forget_uploads", on_click=forget_uploads,
                  help="Remove these pictures and their codes from this session (the Interpolate and "
                       "Drag pages stop offering them).")
if not sources:
    st.info("Nothing uploaded or drawn yet. Each picture is processed on its own, so one bad file "
            "never stops the others.", icon=":material/upload:")
    st.stop()

# ---- prepare every picture; every file gets a verdict, the bad ones with the reason ---------------
good, bad = [], []
for name, data in zip(unique_names(n for n, _ in sources), (d for _, d in sources)):
    key = hashlib.sha256(data).hexdigest()[:16]
    region = hand_region(name, key)
    try:
        good.append((name, data, key, region, prepare(data, m.card, region=region)))
    except ImageError as e:
        bad.append(name)
        st.error(f"**{name}** was not used: {e}", icon=":material/broken_image:")
    except Exception as e:  # noqa: BLE001 - a bug in preprocessing must not take the other files down
        bad.append(name)
        st.error(f"**{name}** could not be processed: an unexpected error in the preprocessing "
                 f"({type(e).__name__}: {e}). This is a bug in the app, not in your file; the other "
                 "files are not affected.", icon=":material/bug_report:")
if bad:
    st.caption(f"{len(good)} of {len(sources)} files encoded; {len(bad)} could not be used (above).")
if not good:
    session.remember_uploads(ss.model, {})
    st.stop()

# one unit per digit: a picture of "2024" is four inputs, each encoded and placed on its own
units = []                        # (picture index, label, cache key, 28x28 input)
for f, (name, _, key, region, p) in enumerate(good):
    for i, x in enumerate(p.digits):
        label = name if len(p.digits) == 1 else f"{name} · digit {i + 1}"
        units.append((f, label, (key, region, i), x))

# ---- encode (cached per weights, file content, crop and digit, so a rerun never inverts twice) ----
cache = ss.get("_upload_codes")
if not isinstance(cache, OrderedDict):
    cache = ss["_upload_codes"] = OrderedDict()
sha = m.card["weights"]["sha256"]
todo = [(ck, x) for _, _, ck, x in units if (sha, ck) not in cache]
if todo:
    with inversion_slot() if m.kind == "gan" else nullcontext():    # a GAN inverts: queued
        bar = st.progress(0.0, text="Encoding…")
        enc = encode_images(m, np.stack([x for _, x in todo]),
                            progress=stay_connected(lambda fr, text: bar.progress(min(fr, 1.0), text=text)))
        bar.empty()
    for i, (ck, _) in enumerate(todo):
        cache[(sha, ck)] = dict(z=enc.z[i], recon=enc.recon[i], mse=float(enc.mse[i]),
                                restarts=None if enc.restart_mse is None else enc.restart_mse[i])
rows = [cache[(sha, ck)] for _, _, ck, _ in units]        # before trimming: this run may need more
for _, _, ck, _ in units:
    cache.move_to_end((sha, ck))
while len(cache) > MAX_ENCODED:
    cache.popitem(last=False)
z = np.stack([r["z"] for r in rows])
mse = np.array([r["mse"] for r in rows])
ref = session.reference_errors(ss.model)               # uploads.ReferenceErrors
if ref.warning:
    st.warning(ref.warning, icon=":material/warning:")
pct = anomaly_percentile(mse, ref.errors)
ref_images, ref_space, ref_labels = session.reference_space(ss.model)
inputs = np.stack([x for *_, x in units])
query = z if m.kind == "vae" else session.classifier_features(ss.model, inputs)
neighbours = nearest(ref_space, query, k=6)
try:                                                   # what the classifier reads in each reconstruction
    clf = session.classifier_for(m) if session.has_classifier(m) else None
    read = None if clf is None else clf.predict_proba(
        np.stack([r["recon"] for r in rows]).reshape(-1, *m.image_shape)).argmax(1)
except models.CheckpointError:
    clf, read = None, None

# the codes are offered to the Interpolate and Drag pages
session.remember_uploads(ss.model, {label: r["z"] for (_, label, _, _), r in zip(units, rows)})

# ---- the map with the uploads on it --------------------------------------------------------------
st.subheader("Where they land")
names = [label for _, label, _, _ in units]
fig = map_figure(lmap.y, lmap.labels, m.class_names, label_source=lmap.label_source,
                 marks=(lmap.place(z), names), axis_titles=session.axis_titles(lmap), height=480,
                 marker_size=4)
st.plotly_chart(fig, key=f"upload-map-{ss.model}-{ss.proj}", config={"displaylogo": False})
st.caption(f"Stars are your images, {describe_placement(lmap)} Use them as ends on the **Interpolate** page.")


# ---- one section per picture: its stages, then one row per digit ---------------------------------
def show_stages(name: str, data: bytes, key: str, p) -> None:
    """original -> flattened -> ink mask -> crop, and the sliders to set the crop by hand."""
    pics = stage_images(p)
    c = st.columns(4)
    shown = preview(data)
    c[0].image(shown if shown is not None else p.original,
               caption=f"Uploaded ({p.original.width} × {p.original.height} shown"
                       + (", transparent parts as a checkerboard)" if shown is not None else ")"))
    c[1].image(small(pics["flattened"]), caption="Flattened: light ink on black, lighting and paper lines "
                                                  "removed", output_format="PNG")
    c[2].image(small(pics["ink"]), caption="Ink kept (white), left out (red), crop (green)",
               output_format="PNG")
    c[3].image(small(pics["crop"]), caption="Crop", output_format="PNG")
    on, rows_key, cols_key = crop_keys(name, key)
    with st.expander("Wrong crop? Set it yourself", expanded=bool(ss.get(on))):
        st.toggle("Use my crop: all the ink inside it is the digit", key=on)
        start_rows, start_cols = percent(auto_region(p))
        st.slider("Rows (top – bottom, % of the height)", 0, 100, start_rows, key=rows_key)
        st.slider("Columns (left – right, % of the width)", 0, 100, start_cols, key=cols_key)


what = "Reconstruction" if m.kind == "vae" else "Best match G(z)"
for f, (name, data, key, region, p) in enumerate(good):
    st.divider()
    st.markdown(f"#### {name}")
    mine = [u for u, unit in enumerate(units) if unit[0] == f]
    if read is not None:
        number = read_number(read[mine], clf.class_names)
        st.markdown(f"The classifier reads the {'reconstructions' if m.kind == 'vae' else 'best matches'}"
                    f" as **{number}**" + (f" ({len(mine)} digits, left to right)." if len(mine) > 1 else "."))
    show_stages(name, data, key, p)
    for note in p.notes:
        st.caption(f"• {note}")
    for u in mine:
        _, label, _, x = units[u]
        r, pc, nb = rows[u], pct[u], neighbours[u]
        if len(mine) > 1:
            st.markdown(f"**{label}**")
        c2, c3, c4 = st.columns([1, 1, 3])
        c2.image(upscale(tile(x[None], 1), 4), output_format="PNG",
                 caption=f"What the model sees ({m.image_shape[1]} × {m.image_shape[2]})")
        c3.image(upscale(tile(r["recon"][None], 1), 4), caption=what, output_format="PNG")
        with c4:
            st.metric("Pixel MSE", f"{r['mse']:.4f}",
                      help="Mean squared difference between the model's input and its "
                           + ("reconstruction." if m.kind == "vae" else "best match found by inversion."))
            st.progress(min(pc / 100, 1.0), text=f"More unusual than {pc:.0f}% of the reference images")
            st.caption(f"Ranked against {ref.source}.")
            flag_at = float(ss.get("anomaly_flag_pct", 95.0))    # chosen on the Spot anomalies page
            if pc >= flag_at:
                st.warning(f"Flagged as unusual: the model reproduces this worse than {flag_at:g}% of the "
                           "real images it was tested on (the threshold is set on the Spot anomalies page), "
                           "so it may be far from what it learned (an outlier, or not "
                           f"{m.card['dataset']['name']} at all).", icon=":material/help:")
            if r["restarts"] is not None:
                st.caption(f"Inversion: {len(r['restarts'])} random starts, final MSE from "
                           f"{r['restarts'][0]:.4f} (best) to {r['restarts'][-1]:.4f} (worst).")
        st.image(upscale(tile(ref_images[nb], len(nb)), 2), output_format="PNG",
                 caption="Nearest reference images: " + ", ".join(m.class_names[c] for c in ref_labels[nb])
                         + (" (by latent code)" if m.kind == "vae" else " (by the classifier's features)"))
