"""Quality against diversity: precision and recall of prior samples (Kynkäänniemi et al., 2019) as
temperature and truncation change, with FD, IS and class coverage beside them."""
import pandas as pd
import streamlit as st

import models
from models.metrics import real_quality, sample_quality
from playground.bounded import MB, cache_data
from playground import session
from playground.quality_figures import tradeoff_figure

TEMPERATURES = [0.1, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0]
DEFAULT_TEMPERATURES = [0.25, 0.5, 0.75, 1.0, 1.25, 1.5]
TRUNCATIONS = [0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0]
DEFAULT_TRUNCATIONS = [0.5, 1.0, 1.5, 2.0]
SEED, K = 0, 3

m = session.header(
    "Quality against diversity",
    "Lower temperatures and tighter truncation give sharper, more typical samples, and fewer kinds of "
    "them. Precision and recall measure the two sides apart, in the classifier's feature space.",
    needs_classifier=False)

if not session.has_classifier(m):
    st.info(f"{session.NO_CLASSIFIER} Precision and recall are measured in a classifier's feature "
            "space too, so this page has nothing to show for this model.", icon=":material/info:")
    st.stop()
try:
    clf = session.classifier_for(m)
except models.CheckpointError as e:
    st.warning(f"No classifier for **{m.dataset}** to judge these samples with: **{models.classifier_name(m.card)}** "
               f"cannot be loaded ({e}). Precision, recall, FD, IS and class coverage are all measured in "
               "that classifier's feature space, so none is shown.", icon=":material/warning:")
    st.stop()
try:
    images, _ = session.reference(m.dataset)
except (FileNotFoundError, ValueError) as e:
    st.warning(f"No real images to compare these samples with: {e}", icon=":material/warning:")
    st.stop()


def _sha(model: models.LatentModel) -> str:
    return model.card["weights"]["sha256"]


def _reference_stamp(dataset: str) -> tuple:
    """What the reference set's figures depend on: its file, size and modification time."""
    path = models.reference_path(dataset)
    info = path.stat()
    return str(path), info.st_size, info.st_mtime_ns


@cache_data(show_spinner=False, max_entries=16, max_bytes=128 * MB)
def _real(dataset: str, clf_name: str, clf_sha: str, ref: tuple):
    """Features of the reference set's odd half (what samples are judged against) and the figures of
    the even half against it (the real ceiling); per classifier weights."""
    images = session.reference(dataset)[0]
    return real_quality(session.load_model(clf_name), images[:, None].astype("float32") / 255, K)


@cache_data(show_spinner=False, max_entries=512, max_bytes=16 * MB)
def _point(name: str, sha: str, clf_name: str, clf_sha: str, ref: tuple,
           temperature: float, truncation: float | None) -> dict:
    """One setting's figures, per model weights and classifier weights (a name can be retrained)."""
    model = session.load_model(name)
    real_features, _ = _real(model.dataset, clf_name, clf_sha, ref)
    return sample_quality(model, session.load_model(clf_name), real_features, len(real_features),
                          seed=SEED, temperature=temperature, truncation=truncation, k=K)


c1, c2 = st.columns(2)
temps = sorted(c1.multiselect("Temperatures", TEMPERATURES, DEFAULT_TEMPERATURES, key="quality_temps",
                              help="Each multiplies the prior's codes (no truncation)."))
truncs = sorted(c2.multiselect("Truncation thresholds", TRUNCATIONS, DEFAULT_TRUNCATIONS, key="quality_truncs",
                               help="Each redraws code values beyond it (at temperature 1)."))
if not temps and not truncs:
    st.info("Pick at least one temperature or truncation threshold to measure.", icon=":material/info:")
    st.stop()

ref = _reference_stamp(m.dataset)
args = (st.session_state.model, _sha(m), clf.name, _sha(clf), ref)
todo = [(t, None) for t in temps] + [(1.0, tr) for tr in truncs]
bar = st.progress(0.0, text="Measuring the real images against each other…")
try:
    real_features, ceiling = _real(m.dataset, clf.name, _sha(clf), ref)
except ValueError as e:          # a reference set too small for two k-NN manifolds
    bar.empty()
    st.warning(f"The reference set of {m.dataset} is too small to measure against: {e}", icon=":material/warning:")
    st.stop()
n = len(real_features)
points = []
for i, (t, tr) in enumerate(todo):
    bar.progress(i / len(todo), text=f"Measuring {n} samples at temperature {t:g}"
                 + (f", truncated at {tr:g}" if tr is not None else "") + f" ({i + 1} of {len(todo)})…")
    points.append(_point(*args, t, tr))
bar.empty()

by_temp, by_trunc = points[:len(temps)], points[len(temps):]
st.plotly_chart(tradeoff_figure((temps, by_temp), (truncs, by_trunc), ceiling), key="quality-tradeoff")
st.caption(f"Each point: {n} samples (seed {SEED}) against {n} real images of the reference set "
           f"(its odd rows), in **{clf.name}**'s feature space; k = {K}. Dashed lines: the reference set's "
           f"other {n} images against the same {n} (what a perfect model gets with this many images: "
           f"precision {ceiling['precision']:.2f}, recall {ceiling['recall']:.2f}, FD {ceiling['frechet_distance']:.2f}).")

st.markdown(
    "**Reading it.** *Precision* is the share of samples that land inside the real images' manifold "
    "(each real image's ball reaches its 3rd nearest real neighbour): are the samples realistic? "
    "*Recall* is the share of real images inside the samples' manifold: does the model make every "
    "kind of image the data holds? Turning temperature down or truncation tighter keeps codes near the "
    "prior's centre: precision usually rises while recall falls, so **sharper samples cost variety**. "
    "A model that makes only a few kinds of image (**mode collapse**) shows as low recall and low class "
    "coverage even at temperature 1, however good its precision. FD mixes both sides into one number; "
    "IS rewards confident and varied classes; *class coverage* is the share of classes that get at least "
    "half an even share (5%) of the classifier's votes.")

rows = [dict(setting=f"temperature {t:g}" + (f", truncation {tr:g}" if tr is not None else ""), **p)
        for (t, tr), p in zip(todo, points)]
rows.append(dict(setting="real images (ceiling)", **ceiling))
st.dataframe(pd.DataFrame(rows).rename(columns=dict(frechet_distance="FD", inception_score="IS",
                                                    class_coverage="class coverage")),
             hide_index=True, key="quality-table", height=35 * (len(rows) + 1) + 3)   # every row, no scrolling
