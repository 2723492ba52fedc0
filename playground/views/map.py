"""The latent map: reference points projected to 2-D, selections, and the decoded atlas."""
import numpy as np
import streamlit as st

from playground import session
from playground.doubleclick import on_double_click
from playground.figures import map_figure
from playground.imaging import tile, upscale
from playground.latent_map import NO_CLASSIFIER_SOURCE, describe_inverse, describe_pixels
from playground.selection import class_counts, representative

ss = st.session_state
m = session.header(
    "Latent map",
    "Every dot is one image's position in the model's latent space, flattened to 2-D. "
    "**Click** a dot to see the image behind it; for many at once pick **Box select** or **Lasso "
    "select** in the chart's toolbar (top right) and drag. Double-click empty space to clear.")


def size_picker() -> None:
    """How many of the data set's images the map shows (a VAE of MNIST or Fashion-MNIST): the held-out
    reference images first, then training images; all 70,000 Fashion-MNIST images when installed."""
    from playground import map_points as mp
    n = session.map_points(m)
    if n is None:
        return
    total = mp.available(m.dataset, session.models.CHECKPOINTS)
    shipped = len(mp.shipped_pool(m.dataset, session.models.CHECKPOINTS))
    options = sorted(set(mp.sizes(total)) | {n})

    def label(k: int) -> str:
        if k == total:
            return f"{k:,} (all {'installed' if total > shipped else 'shipped'} images)"
        return f"{k:,}" + (" (default)" if k == mp.DEFAULT_POINTS else "")

    def picked():
        ss.map_points = ss["_map_points_pick"]
        ss.pop("_map_chart", None)
        session.set_selection(ss.get("sel", []), ss.map_points)
        session.sync_url()

    ss["_map_points_pick"] = n
    st.selectbox("Points on the map", options, key="_map_points_pick", format_func=label,
                 on_change=picked,
                 help="The held-out reference images come first, then the images the model was "
                      "trained on (drawn hollow). A size without a shipped map is computed once, with "
                      "a progress bar, then cached"
                      + ("." if total > shipped else
                         f"; with Fashion-MNIST installed (`apt-get install dataset-fashion-mnist`) all "
                         f"70,000 images can be mapped." if m.dataset == "fashion-mnist" else "."))


size_picker()
lmap = session.latent_map(ss.model, ss.proj)
SHOWN = 16
off_map = [i for i in ss.get("sel", []) if i >= len(lmap.y)]
if off_map:                           # a link's selection, read before this map's size was known
    st.warning(f"The link selected {len(off_map):,} point(s) past the last of this map's "
               f"{len(lmap.y):,} points (such as #{off_map[0]:,}); they were left out.")
    session.set_selection(ss.sel, len(lmap.y))
if session.arrived():                 # back from another page: the chart is mounted afresh
    ss.pop("_map_chart", None)

if lmap.label_source == NO_CLASSIFIER_SOURCE and m.kind == "gan":
    st.info("A GAN's z is plain Gaussian noise: projected directly it is one round blob. There is no "
            f"classifier for this model's data, so its {len(lmap.z):,} samples are laid out by "
            f"**{session.method_label(ss.proj)} of their decoded pixels**{describe_pixels(lmap.images)}, "
            "in one colour; every point "
            "keeps its own z, which is what gets decoded.", icon=":material/lightbulb:")
elif m.kind == "gan":
    st.info("A GAN's z is plain Gaussian noise: projected directly it is one round blob. Here "
            f"{len(lmap.z):,} samples are laid out by what the **generated images** look like (the "
            "classifier's features of each image) and coloured by the class the classifier sees; "
            "every point keeps its own z, which is what gets decoded.", icon=":material/lightbulb:")
if m.kind == "gan":
    st.caption(session.GAN_MAP_NOTE.format(n=len(lmap.z)))


if lmap.label_source == NO_CLASSIFIER_SOURCE:
    st.caption(session.NO_CLASSIFIER)
if getattr(m, "reference_note", ""):
    st.caption(f"Reference set: {m.reference_note}.")


def chart_state(view: str, atlas_on: bool) -> dict:
    """What the chart on the page shows, so the figure changes only when it must.

    Plotly keeps a selection made in the chart itself; redrawing the figure with the selection
    marked would reset the chart, and its next selection would arrive empty (every second selection
    was lost that way). So the figure marks only a selection made elsewhere (a link, another model's
    view, a page revisit), and each such change mounts a fresh chart (`gen` in its key)."""
    sel = tuple(ss.get("sel", []))
    st_ = ss.get("_map_chart")
    if st_ is None or st_["view"] != view or st_["atlas"] != atlas_on or st_["reflects"] != sel:
        gen = (st_ or {}).get("gen", 0) + 1
        st_ = ss["_map_chart"] = dict(view=view, atlas=atlas_on, gen=gen, marked=sel, reflects=sel,
                                      last_event=())     # a fresh chart reports an empty selection
    return st_


def picked_points(event) -> tuple | None:
    """The map indices a chart event reports, or None when there is no event yet."""
    if not event:
        return None
    points = event.get("selection", {}).get("points", [])
    return tuple(dict.fromkeys(int(p["customdata"]) for p in points if "customdata" in p))


@st.fragment
def map_with_selection():
    view = f"{ss.model}-{ss.proj}-{len(lmap.y)}"
    show_atlas = st.toggle("Show the decoded atlas behind the points", key="atlas_behind",
                           help="Decodes a 20 × 20 grid of positions on the map into images.")
    state = chart_state(view, show_atlas)
    atlas_img, extent = (session.atlas(ss.model, ss.proj, 20, lmap, m) if show_atlas else (None, None))
    fig = map_figure(lmap.y, lmap.labels, m.class_names, label_source=lmap.label_source,
                     selected=state["marked"], atlas=atlas_img, extent=extent,
                     axis_titles=session.axis_titles(lmap), dragmode="pan", training=lmap.training)
    chart_key = f"map-{view}-{state['gen']}"
    event = st.plotly_chart(fig, key=chart_key, on_select="rerun",
                            selection_mode=("points", "box", "lasso"), config={"displaylogo": False})
    # Streamlit reports a double-click only on a chart holding a selection made in it; this also
    # clears one drawn from a link or a remount
    on_double_click(chart_key, lambda: session.set_selection([], len(lmap.y)), key="map_doubleclick")
    picked = picked_points(event)
    if picked is not None and picked != state["last_event"]:
        state["last_event"] = picked
        session.set_selection(list(picked), len(lmap.y))
        state["reflects"] = tuple(ss.get("sel", []))        # the chart shows this one itself
    if ss.get("sel"):
        st.button("Clear the selection", key="map_clear_sel", icon=":material/deselect:",
                  on_click=session.set_selection, args=([], len(lmap.y)))
    split = ""
    if lmap.training is not None and lmap.training.any():
        n_train = int(lmap.training.sum())
        split = (f" ({len(lmap.y) - n_train:,} held out, {n_train:,} the model was trained on: "
                 "hollow)")
    st.caption(f"**{len(lmap.y):,} points**{split} · {session.method_label(ss.proj)} · "
               f"{'map from cache' if lmap.from_cache else 'map computed now and cached'} · "
               "the link in your address bar restores this view")
    gallery()


def gallery():
    sel = [i for i in ss.get("sel", []) if i < len(lmap.y)]
    if not sel:
        st.info("Click a point, or box / lasso several, to compare the images with what the model "
                "decodes from their latent codes.", icon=":material/touch_app:")
        return
    shown = representative(sel, lmap.y, SHOWN)
    decoded = m.decode(lmap.z[shown])
    names = [m.class_names[c] for c in lmap.labels[shown]]
    st.subheader(f"{len(sel):,} selected" + (f" · {len(shown)} shown, spread over the selection"
                                             if len(sel) > len(shown) else ""))
    if len(sel) > len(shown):
        counts = np.bincount(lmap.labels[sel], minlength=len(m.class_names))
        st.caption(f"{lmap.label_source.capitalize()} of the selection: "
                   + class_counts(counts, m.class_names))
    if m.kind == "vae":
        st.markdown("**Original** (top) and **decoded from its latent code** (bottom): the "
                    "encoder compresses each image to a point, the decoder rebuilds it.")
        originals = m.as_input(lmap.images[shown])
        pair = np.concatenate([originals, decoded])
        st.image(upscale(tile(pair, len(shown)), 3), caption=" · ".join(f"#{i} {n}" for i, n in zip(shown, names)))
        err = ((decoded - originals) ** 2).reshape(len(shown), -1).mean(1)
        st.caption(f"Reconstruction MSE of these images: {err.mean():.4f} (mean), {err.max():.4f} (worst)")
    else:
        d = m.discriminate(decoded) if "discriminator" in m.modules else None
        st.markdown("**Generated** from each point's z. The discriminator's belief that each is real:")
        st.image(upscale(tile(decoded, len(shown)), 3),
                 caption=" · ".join(f"#{i} {n}" + (f" D={d[j]:.2f}" if d is not None else "")
                                    for j, (i, n) in enumerate(zip(shown, names))))
    st.caption("The first two selected are the ends of an interpolation on the **Interpolate** page.")


@st.fragment
def atlas_section():
    st.subheader("Decoded atlas")
    n = st.slider("Grid size", 6, 30, 15, key="atlas_n",
                  help="Decodes an n × n grid of positions spread over the map, in one batch.")
    img, _ = session.atlas(ss.model, ss.proj, n, lmap, m)
    st.image(upscale(img, 2 if n <= 15 else 1),
             caption=f"The classic '2-D manifold' picture. {describe_inverse(lmap)}")


map_with_selection()
atlas_section()
