"""Fill in missing parts: hide part of an image and let the model complete it."""
import hashlib
import io

import numpy as np
import streamlit as st
from PIL import Image

import models
from playground import inpaint as ip
from playground import session
from playground.drawpad import drawpad
from playground.figures import map_figure
from playground.imaging import flatten_png, png_data_url, tile, to_uint8, upscale
from playground.preprocess import FORMATS, MAX_BYTES, ImageError, prepare_image
from playground.waiting import inversion_slot, stay_connected

ss = st.session_state
MAX_RESULTS = 12                  # per session: completed runs kept, so going back is instant

m = session.header(
    "Fill in missing parts",
    "Hide part of an image and let the model fill it in: a VAE samples codes that explain the pixels "
    "you kept, a GAN searches for codes whose images match them.", needs_classifier=False)
methods, why_not = ip.methods(m)
if not methods:
    st.info(f"Filling in missing parts cannot use **{m.name}**: {why_not}. Pick another model to try it.",
            icon=":material/info:")
    st.stop()
if why_not:
    st.caption(f"**{m.name}**: {why_not}")
images, labels = session.reference(m.dataset)
C, H, W = m.image_shape
BIG = 168                          # the masked view's longer side in pixels (28 x 6), any model size


def batch(a: np.ndarray) -> np.ndarray:
    """Images in the stored layout ((n, H, W) grey, (n, 3, H, W) colour) -> (n, C, H, W) for tile."""
    return a[:, None] if a.ndim == 3 else a


def factor(target: int) -> int:
    return max(1, round(target / max(H, W)))

# ---- the image ------------------------------------------------------------------------------------
c_src, c_mask = st.columns([3, 2], gap="large")
with c_src:
    source = st.radio("Image", ["A held-out image", "Draw one", "Upload one"], horizontal=True,
                      key="inpaint_source",
                      help="A held-out image has a known truth, so the error on the hidden pixels can be shown.")
    truth = None
    image = None
    if source == "A held-out image":
        idx = int(st.number_input(f"Index in the reference set (0–{len(images) - 1})", 0, len(images) - 1,
                                  0, key=f"inpaint_index-{m.dataset}"))
        image = images[idx].astype(np.float32) / 255.0          # (H, W) grey, (3, H, W) colour
        truth = image
        st.caption(f"#{idx}: {m.class_names[labels[idx]]}, never seen in training.")
    elif source == "Draw one":
        drawn = drawpad(key="inpaint_draw")
        if drawn:
            try:
                image = prepare_image(flatten_png(drawn), m.card)
            except ImageError as e:
                st.warning(f"The drawing could not be used: {e}", icon=":material/gesture:")
    else:
        up = st.file_uploader(f"A picture ({', '.join(FORMATS)}; up to {MAX_BYTES // 2**20} MB)",
                              max_upload_size=MAX_BYTES // 2**20, key="inpaint_upload")
        if up is not None:
            try:
                image = prepare_image(up.getvalue(), m.card)
            except ImageError as e:
                st.warning(f"**{up.name}** could not be used: {e}", icon=":material/broken_image:")

with c_mask:
    presets = list(ip.PRESETS.values())
    choice = st.radio("Hide", presets + ["Paint it with the brush"], key="inpaint_mask",
                      help="The hidden pixels are what the model fills in; it sees only the others.")
    hidden = None
    if choice in presets:
        name = list(ip.PRESETS)[presets.index(choice)]
        seed_mask = int(st.number_input("Mask seed", 0, 9999, 0, key="inpaint_mask_seed")) if name == "random" else 0
        hidden = ip.hidden_preset(name, seed_mask, size=(H, W))
    else:
        pad_h, pad_w = ip.pad_size((H, W))        # the image's aspect, every cell the same square
        if image is None:
            painted = None                 # the brush paints over the image: it waits for one
        else:
            st.caption("Paint over the part to hide (red); below, the hidden part shows grey.")
            # the pad is mounted once per key: a model of another size gets a pad of its own
            pad_key = "inpaint_brush" if (H, W) == (ip.SIDE, ip.SIDE) else f"inpaint_brush-{H}x{W}"
            painted = drawpad(key=pad_key, background=png_data_url(to_uint8(image[None])[0]),
                              size=(pad_h, pad_w))
        if painted:
            gray = np.asarray(Image.open(io.BytesIO(flatten_png(painted))).convert("L").resize((pad_w, pad_h)),
                              np.float32) / 255.0
            hidden = ip.hidden_from_strokes(gray, size=(H, W))

if image is None:
    st.info("Pick a held-out image, draw one or upload one to start.", icon=":material/image:")
    st.stop()
if hidden is None or not hidden.any():
    st.info("Paint the part to hide with the brush (or pick a preset).", icon=":material/brush:")
    st.stop()
known = ~hidden
if not known.any():
    st.warning("Everything is hidden: keep part of the image for the model to go on (this would be "
               "plain sampling; see **Sample the prior**).", icon=":material/visibility_off:")
    st.stop()

# ---- settings ---------------------------------------------------------------------------------------
s1, s2, s3 = st.columns(3)
n = s1.select_slider("Completions", [4, 8, 12], 8, key="inpaint_n")
seed = int(s2.number_input("Seed", 0, 2**31 - 1, 0, key="inpaint_seed"))
method = s3.radio("Method", methods, key=f"inpaint_method-{m.kind}" + ("-adapter" if why_not else ""),
                  help="Best codes: codes fitted to the kept pixels from 16 starts (the encoder's guess "
                       "and 15 prior draws), ranked by how well the model explains the kept pixels, "
                       "then Markov chains from the best. Metropolis-within-Gibbs (Mattei & Frellsen, "
                       "2018) samples the exact posterior of the code given the kept pixels; "
                       "pseudo-Gibbs is the same proposal always accepted, faster but biased. "
                       "Iterative encode-decode (a model brought as an adapter file): the hidden "
                       "pixels are decoded from the encoder's code again and again, from the "
                       "encoder's guess and prior draws, ranked by the error on the kept pixels."
                  if m.kind == "vae" else "A GAN has no encoder: 16 random codes are optimised to "
                       "match the kept pixels, the best first.")


# ---- run (kept per weights, image, mask and settings; bounded) ---------------------------------------
def _key() -> str:
    h = hashlib.sha256()
    for part in (session.weights_sha(ss.model), method, str(n), str(seed)):
        h.update(part.encode())
    h.update(image.astype(np.float32).tobytes())
    h.update(known.tobytes())
    return h.hexdigest()


store = ss.setdefault("_inpaint_results", {})
key = _key()
if key not in store:
    bar = st.progress(0.0, text="Filling in…")
    say = lambda share, text: bar.progress(min(1.0, share), text=text)   # noqa: E731
    try:
        if m.kind == "gan":                   # one of the server's inversion slots (queued)
            with inversion_slot():
                res = ip.complete(m, image, known, n=n, seed=seed, progress=stay_connected(say))
        elif method.startswith("Best"):
            res = ip.complete(m, image, known, n=n, seed=seed, progress=say)
        elif method.startswith("Iterative"):
            res = ip.encode_decode(m, image, known, chains=n, steps=30, seed=seed)
        elif method.startswith("Metropolis"):
            res = ip.metropolis_within_gibbs(m, image, known, chains=n, steps=50, seed=seed)
        else:
            res = ip.pseudo_gibbs(m, image, known, chains=n, steps=50, seed=seed)
    except ValueError as e:
        bar.empty()
        st.warning(f"Nothing to fill in: {e}", icon=":material/info:")
        st.stop()
    except models.CheckpointError as e:          # an adapter that broke during the run
        bar.empty()
        st.error(f"**{m.name}** failed while filling in: {e}", icon=":material/error:")
        st.stop()
    bar.empty()
    store[key] = res
    while len(store) > MAX_RESULTS:
        store.pop(next(iter(store)))
res = store[key]

# ---- results ----------------------------------------------------------------------------------------
left, right = st.columns([2, 3], gap="large")
with left:
    shown = [ip.shown_masked(image, known)] + ([truth] if truth is not None else [])
    st.image(upscale(tile(batch(np.stack(shown)), len(shown)), factor(BIG)), output_format="PNG",
             caption="What the model sees (hidden part grey)" + (" · the truth" if truth is not None else ""))
with right:
    st.image(upscale(tile(batch(res.images), min(len(res.images), 4)), factor(112)), output_format="PNG",
             caption=f"{len(res.images)} completions, best first (read left to right, top to bottom); "
                     "the kept pixels are yours, unchanged")
    if method.startswith("Iterative"):
        st.caption(f"Ranked by {res.how} (the adapter gives no likelihood to rank by).")
    if method.startswith("Best"):
        st.caption("Ranked by the model alone (never by the classifier or the truth): "
                   f"{res.how}. Those after the distinct best codes are the Markov chains' last states.")
    if res.accept is not None:
        st.caption(f"Metropolis-Hastings acceptance: {res.accept:.0%} of the proposed codes."
                   if not method.startswith("Pseudo") else "Pseudo-Gibbs accepts every proposal.")

if truth is not None:
    err = ip.masked_error(res.images, truth, known)
    st.markdown(f"**Error on the hidden pixels** (MSE against the truth): best completion "
                f"**{err[0]:.4f}**, the closest of the {len(err)} **{err.min():.4f}**.")
    st.dataframe({"completion": [f"#{i + 1}" for i in range(len(err))], "hidden-pixel MSE": np.round(err, 4),
                  "score": np.round(res.score, 6 if method.startswith("Iterative") else 2)}, hide_index=True, key="inpaint_errors",
                 height=min(460, 36 * (len(err) + 1)))

# the chain (or the codes) on the latent map
try:
    lmap = session.latent_map(ss.model, ss.proj)
except models.CheckpointError as e:
    st.caption(f"No latent map: {e}")
    st.stop()
st.markdown("**On the latent map**")
path = lmap.place(res.chains[0]) if res.chains is not None else None
marks = (lmap.place(res.z), [f"#{i + 1}" for i in range(len(res.z))])
fig = map_figure(lmap.y, lmap.labels, m.class_names, label_source=lmap.label_source, path=path,
                 marks=marks, marks_label="completions", axis_titles=session.axis_titles(lmap), height=460, marker_size=4)
st.plotly_chart(fig, key=f"inpaint-map-{ss.model}-{ss.proj}", config={"displaylogo": False})
st.caption(("The black path is the first Markov chain's codes, A its start, B its end; " if path is not None
            else "") + "stars are the completions' codes.")
