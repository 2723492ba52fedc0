"""The latent map: reference points projected to 2-D, selections, and the decoded atlas."""
import numpy as np
import streamlit as st

from playground import session
from playground.figures import map_figure
from playground.imaging import tile, upscale

ss = st.session_state
m = session.header(
    "Latent map",
    "Every dot is one image's position in the model's latent space, flattened to 2-D. "
    "Select points (click, box or lasso) to see the images behind them.")
lmap = session.latent_map(ss.model, ss.proj)

if m.kind == "gan":
    st.info("A GAN's z is plain Gaussian noise: projected directly it is one round blob. Here "
            f"{len(lmap.z):,} samples are laid out by what the **generated images** look like (the "
            "classifier's features of each image) and coloured by the class the classifier sees; "
            "every point keeps its own z, which is what gets decoded.", icon=":material/lightbulb:")


@st.fragment
def map_with_selection():
    key = f"map-{ss.model}-{ss.proj}"
    evkey = f"_evt_{key}"
    ss.setdefault(evkey, ())
    show_atlas = st.toggle("Show the decoded atlas behind the points", key="atlas_behind",
                           help="Decodes a 20 × 20 grid of positions on the map into images.")
    atlas_img, extent = (session.atlas(ss.model, ss.proj, 20, lmap, m) if show_atlas else (None, None))
    fig = map_figure(lmap.y, lmap.labels, m.class_names, label_source=lmap.label_source,
                     selected=ss.get("sel", []), atlas=atlas_img, extent=extent,
                     axis_titles=session.axis_titles(lmap))
    event = st.plotly_chart(fig, key=key, on_select="rerun", selection_mode=("points", "box", "lasso"),
                            config={"displaylogo": False})
    points = (event or {}).get("selection", {}).get("points", []) if event else []
    picked = tuple(dict.fromkeys(int(p["customdata"]) for p in points if "customdata" in p))
    if picked != ss[evkey]:
        ss[evkey] = picked
        session.set_selection(list(picked), len(lmap.y))
    st.caption(f"{len(lmap.y):,} points · {session.method_label(ss.proj)} · "
               f"{'map from cache' if lmap.from_cache else 'map computed now and cached'} · "
               "the link in your address bar restores this view")
    gallery()


def gallery():
    sel = [i for i in ss.get("sel", []) if i < len(lmap.y)]
    if not sel:
        st.info("Select points on the map to compare the images with what the model decodes "
                "from their latent codes.", icon=":material/touch_app:")
        return
    shown = sel[:16]
    decoded = m.decode(lmap.z[shown])
    names = [m.class_names[c] for c in lmap.labels[shown]]
    st.subheader(f"{len(sel)} selected" + (" (first 16 shown)" if len(sel) > 16 else ""))
    if m.kind == "vae":
        st.markdown("**Original** (top) and **decoded from its latent code** (bottom): the "
                    "encoder compresses each image to a point, the decoder rebuilds it.")
        pair = np.concatenate([lmap.images[shown][:, None] / 255.0, decoded])
        st.image(upscale(tile(pair, len(shown)), 3), caption=" · ".join(f"#{i} {n}" for i, n in zip(shown, names)))
        err = ((decoded[:, 0] - lmap.images[shown] / 255.0) ** 2).mean((1, 2))
        st.caption(f"Reconstruction MSE of these images: {err.mean():.4f} (mean), {err.max():.4f} (worst)")
    else:
        d = m.discriminate(decoded) if "discriminator" in m.modules else None
        st.markdown("**Generated** from each point's z. The discriminator's belief that each is real:")
        st.image(upscale(tile(decoded, len(shown)), 3),
                 caption=" · ".join(f"#{i} {n}" + (f" D={d[j]:.2f}" if d is not None else "")
                                    for j, (i, n) in enumerate(zip(shown, names))))
    st.caption("Use these as the ends of an interpolation on the **Interpolate** page.")


@st.fragment
def atlas_section():
    st.subheader("Decoded atlas")
    n = st.slider("Grid size", 6, 30, 15, key="atlas_n",
                  help="Decodes an n × n grid of positions spread over the map, in one batch.")
    img, _ = session.atlas(ss.model, ss.proj, n, lmap, m)
    how = ("PCA is inverted exactly; the components not shown are held at their mean."
           if lmap.exact and ss.proj == "pca" else
           "The latent plane itself: each tile decodes its own (z₁, z₂)." if lmap.exact else
           "t-SNE has no inverse: each position maps to a distance-weighted blend of the latent "
           "codes of its 8 nearest points on the map, so between clusters the model is guessing.")
    st.image(upscale(img, 2 if n <= 15 else 1), caption=f"The classic '2-D manifold' picture. {how}")


map_with_selection()
atlas_section()
