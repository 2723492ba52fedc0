"""Spot anomalies: every reference image scored by how unusual the model finds it (reconstruction
error; for a VAE also the ELBO and two complexity-corrected scores), the map coloured by the score,
the most unusual images, the percentile above which the Encode page flags uploads, and a built-in
test of each VAE against the other data set (ROC AUC). The scores live in playground/anomaly.py."""
import numpy as np
import pandas as pd
import streamlit as st

import models
from playground.bounded import MB, cache_data
from playground import anomaly, session
from playground.anomaly_figures import score_histograms, score_map
from playground.imaging import tile, upscale

ss = st.session_state
FLAG_KEY = "anomaly_flag_pct"          # read by the Encode page (views/upload.py)
DEFAULT_FLAG = 95.0
TOP = 16                               # most unusual reference images listed
TEST_MODELS = {"mnist": "mnist-vae", "fashion-mnist": "fashion-mnist-vae"}
OTHER = {"mnist": "fashion-mnist", "fashion-mnist": "mnist"}
EXPLAIN = {
    "recon": "the pixel MSE between each image and the model's reconstruction of it (a VAE decodes "
             "its posterior mean).",
    "elbo": "the negative ELBO in nats: −log p(x | z) with the decoder's Bernoulli likelihood (the "
            "loss it was trained with) for one draw z ~ q(z | x), plus KL(q(z | x) ‖ p(z)). It bounds "
            "−log p(x) from above: a low value means the model finds the image likely.",
    "complexity": "Serrà et al. (2020): the −ELBO in bits minus the image's length in bits as a PNG "
                  "(a generic compressor). What any compressor pays for the image is taken off, so "
                  "what is left is what this model finds surprising.",
    "excess": "the −ELBO minus the least any Bernoulli decoder could pay for this image (its "
              "per-pixel entropy Σ H(xᵢ), the cost of a perfect reconstruction): the complexity "
              "correction in the likelihood's own units.",
}
DATASET = session.DATASET_LABEL


def ref_stamp(dataset: str):
    """What a cached score of a reference set depends on besides the weights: the file's size and time."""
    try:
        info = models.reference_path(dataset).stat()
        return dataset, info.st_size, info.st_mtime_ns
    except OSError:
        return dataset, None, None


def set_scores(name: str, dataset: str) -> dict:
    """`anomaly.score_table` of model `name` on a shipped reference set, cached per weights and file."""
    return _set_scores(name, session.weights_sha(name), ref_stamp(dataset))


@cache_data(show_spinner="Scoring the reference images (once per model and set)…", max_entries=16,
            max_bytes=64 * MB)
def _set_scores(name: str, sha: str, stamp: tuple) -> dict:
    m = session.load_model(name)
    images = session.reference(stamp[0])[0]          # uint8 as stored: converted a batch at a time
    return anomaly.score_table(m, images)


def remember_flag() -> None:
    ss[FLAG_KEY] = float(ss["_anomaly_flag_slider"])


m = session.header(
    "Spot anomalies",
    "Which images does the model find unusual? Every reference image is scored, higher meaning more "
    "unusual; the map is coloured by the score, and uploads above a percentile you choose are flagged.",
    needs_classifier=False)
if not anomaly.available_scores(m):
    st.info(f"Spotting anomalies cannot use **{m.name}**: {anomaly.ADAPTER_GAN_WHY}, which an adapter "
            "file does not give. Pick another model to try it.", icon=":material/info:")
    st.stop()
ref_images, ref_labels = session.reference(m.dataset)
C, H, W = m.image_shape

# ---- the model's own reference images, scored -----------------------------------------------------
if m.kind == "vae":
    table = set_scores(ss.model, m.dataset)
    choices = list(anomaly.available_scores(m))
    if anomaly.is_adapter(m):
        st.caption(f"**{m.name}** is an adapter: its only score is the reconstruction error. The −ELBO "
                   "and the two complexity-corrected scores need the decoder's likelihood and the "
                   "encoder's variance, and an adapter gives the posterior mean and decoded images only.")
    score = st.radio("Score", choices, format_func=anomaly.LABELS.get, horizontal=True,
                     key="anomaly_score" + ("-adapter" if anomaly.is_adapter(m) else ""))
    st.caption(f"**{anomaly.LABELS[score]}**: {EXPLAIN[score]}")
    values = table[score]
    order = anomaly.most_unusual(values, TOP)
    lmap = session.latent_map(ss.model, ss.proj)
    if len(lmap.y) >= len(values):           # a VAE's map starts with its reference set, in order
        n_ref = len(values)                  # (then training images: playground/map_points.py)
        st.plotly_chart(score_map(lmap.y[:n_ref], values, lmap.labels[:n_ref], m.class_names,
                                  score_label=anomaly.LABELS[score],
                                  unit=anomaly.UNITS[score], highlight=order,
                                  axis_titles=session.axis_titles(lmap), label_source=lmap.label_source),
                        key=f"anomaly-map-{ss.model}-{ss.proj}-{score}", config={"displaylogo": False})
        st.caption(f"The {len(values):,} reference images on the {session.method_label(lmap.method)} map, "
                   "coloured by the score (the colour scale spans the 1st to 99th percentile); red rings "
                   f"number the {TOP} most unusual.")
    source = f"all {len(values):,} reference images"
else:
    st.info(f"**{ss.model}** is a GAN: it has no encoder and no likelihood, so its only score is the "
            "**reconstruction error by inversion**: z is optimised until G(z) matches the image (12 "
            "random starts, 150 steps, about a second an image on this CPU) and the best match's pixel "
            "MSE is the score. Its map shows the GAN's own samples, which it makes exactly (error 0 by "
            "construction), so the map is not coloured; the reference images inverted ahead of time are "
            "ranked below. The ELBO and the built-in test need a VAE: pick one in the sidebar.",
            icon=":material/info:")
    score = "recon"
    ref = session.reference_errors(ss.model)
    if ref.warning:
        st.warning(ref.warning, icon=":material/warning:")
    values = ref.errors
    # the same images uploads.reference_errors inverted: a seeded permutation's first len(errors)
    picked = np.random.default_rng(0).permutation(len(ref_images))[:len(values)]
    ref_images, ref_labels = ref_images[picked], ref_labels[picked]
    order = anomaly.most_unusual(values, TOP)
    source = ref.source

st.subheader("The most unusual reference images")
cols = st.columns(8)
grow = max(1, round(84 / max(H, W)))             # 3x for 28 x 28; each image in its own size and colour
for r, i in enumerate(order):
    cols[r % 8].image(upscale(tile(ref_images[i][None], 1), grow),     # uint8 as stored: (H, W) or (3, H, W)
                      caption=f"#{r + 1} · {m.class_names[ref_labels[i]]} · {values[i]:.4g}", output_format="PNG")
st.caption(f"Ranked by {anomaly.LABELS[score]} among {source}; each caption gives the rank, the "
           "true class and the score. "
           + ("Odd strokes, unusual shapes and images that look like another class tend to come first."
              if m.dataset in ("mnist", "fashion-mnist") else
              "Pictures unlike most of the reference set tend to come first."))

# ---- flagging uploads -------------------------------------------------------------------------------
st.subheader("Flag uploads")
flag = float(ss.get(FLAG_KEY, DEFAULT_FLAG))
st.slider("Flag an upload more unusual than this share of the reference images (%)", 50.0, 99.9, flag, 0.1,
          key="_anomaly_flag_slider", on_change=remember_flag,
          help="The Encode page ranks each upload's reconstruction error against the reference images "
               "and flags it when it is above this percentile.")
flag = float(ss.get(FLAG_KEY, DEFAULT_FLAG))
cut = float(np.percentile(values, flag)) if score == "recon" else float(np.percentile(table["recon"], flag))
st.caption(f"For **{ss.model}** an upload is flagged when its reconstruction error exceeds about **{cut:.4f}** "
           f"(the {flag:g}th percentile of the reference images' errors): "
           f"{int(round(len(values) * (100 - flag) / 100)):,} of them would be flagged too."
           + ("" if score == "recon" else f" The Encode page flags by reconstruction error whichever score "
              f"is chosen above: an upload's {anomaly.LABELS[score]} is not computed there."))
st.page_link("views/upload.py", label="Encode your images", icon=":material/upload:")

# ---- the built-in test ------------------------------------------------------------------------------
st.subheader("Built-in test: each VAE against the other data set")
if m.dataset not in TEST_MODELS:
    st.info(f"The built-in test pits the MNIST and the Fashion-MNIST VAEs against each other's data set; "
            f"**{m.name}** was trained on other data, so it is not part of it. "
            "Pick mnist-vae or fashion-mnist-vae to run it.", icon=":material/info:")
    st.stop()
st.markdown(
    "The MNIST VAE scores the MNIST and the Fashion-MNIST reference images, and the Fashion-MNIST VAE "
    "the reverse. A score that spots the unfamiliar set ranks its images higher: the **ROC AUC** is "
    "the chance that a random unfamiliar image outscores a random familiar one (1: perfect, 0.5: chance, "
    "below 0.5: the unfamiliar set looks *more* typical).")
if st.toggle("Run the test", key="anomaly_run_test",
             help="Scores 5,000 images with each of the two VAEs (half a minute on this CPU, once)."):
    rows, hist = [], None
    for own, name in TEST_MODELS.items():
        try:
            session.load_model(name)
        except models.CheckpointError as e:
            st.warning(f"{name} cannot be loaded, so its half of the test is left out ({e}).",
                       icon=":material/warning:")
            continue
        a, b = set_scores(name, own), set_scores(name, OTHER[own])
        row = {"model": name, "familiar images": DATASET[own], "unfamiliar images": DATASET[OTHER[own]]}
        row.update({anomaly.SHORT[s]: anomaly.roc_auc(a[s], b[s]) for s in anomaly.SCORES})
        rows.append(row)
        if name == ss.model or hist is None:
            hist = (name, own, a, b)
    if rows:
        auc = pd.DataFrame(rows)
        st.dataframe(auc, hide_index=True, key="anomaly-auc",
                     column_config={anomaly.SHORT[s]: st.column_config.NumberColumn(
                                        format="%.3f", help=f"ROC AUC of {anomaly.LABELS[s]}")
                                    for s in anomaly.SCORES})
        shown = st.radio("Histogram of", list(anomaly.SCORES), format_func=anomaly.LABELS.get,
                         horizontal=True, key="anomaly_hist_score", index=1)
        name, own, a, b = hist
        st.plotly_chart(score_histograms(a[shown], b[shown], names=(DATASET[own], DATASET[OTHER[own]]),
                                         score_label=anomaly.LABELS[shown]),
                        key=f"anomaly-hist-{name}-{shown}", config={"displaylogo": False})
        st.caption(f"{name}: its own reference images (blue) and the other set's (red).")
    st.markdown(
        "**Why likelihood alone can get it backwards.** A likelihood model pays for every pixel, and "
        "simple images are cheap to describe: an MNIST digit is mostly black background, which any "
        "model of Fashion-MNIST has learned to predict well, so the Fashion VAE gives MNIST digits "
        "*higher* likelihood (lower −ELBO) than its own clothes, and the ELBO's AUC falls to about 0.46 "
        "(Nalisnick et al., 2019, *Do Deep Generative Models Know What They Don't Know?*). The "
        "likelihood mostly measures how complex an image is, not how familiar it is. Serrà et al. "
        "(2020, *Input Complexity and Out-of-Distribution Detection with Likelihood-based Generative "
        "Models*) take the complexity off: the −ELBO in bits minus the image's length as a PNG. That "
        "fixes the Fashion VAE, but here it overshoots for the MNIST VAE, because PNG pays for every "
        "grey level exactly while the Bernoulli likelihood does not, so complex Fashion images are "
        "credited far more than the model charged them. Taking off the likelihood's own floor (the "
        "image's per-pixel entropy) instead works in both directions. The reconstruction error, which "
        "never prices the image at all, works both ways too.")
