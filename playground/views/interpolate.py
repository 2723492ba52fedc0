"""Interpolation between two latent codes: frames, the path on the map, and downloads."""
import numpy as np
import streamlit as st

from playground import session
from playground.latent_map import describe_placement
from playground.decoder_page import decoder_data, inverse_data
from playground.dragmap import denormalise, full_extent, normalise
from playground.scrubber import scrubber
from playground.figures import lines, map_figure
from playground.imaging import gif_bytes, png_bytes, tile, upscale
from playground.interpolation import codes_csv, interpolate, lerp, slerp

ss = st.session_state
m = session.header(
    "Interpolate",
    "Walk in a straight line (linear) or along the sphere (spherical) between two latent codes and "
    "decode every step: a smooth latent space morphs one image into the other.")
lmap = session.latent_map(ss.model, ss.proj)
n_points = len(lmap.z)

c1, c2, c3 = st.columns([2, 2, 3])
uploaded = session.uploaded_codes(ss.model)
pinned = session.pinned_codes(ss.model)
sources = (["Two points on the map", "Random codes from the prior"] + (["Your uploaded images"] if uploaded else [])
           + (["Pins from the drag page"] if len(pinned) >= 2 else []))
source = c1.radio("Ends", sources, key="interp_source",
                  help="Upload pictures on the **Encode your images** page to use them here.")
frames = c2.slider("Frames", 2, 64, 10, key="interp_frames")
method = c3.radio("Method", ["spherical", "linear"], horizontal=True, key="interp_method",
                  help="Linear: straight line between the codes. Spherical (slerp): the angle moves "
                       "uniformly and the length changes linearly, so codes stay on the shell where "
                       "a Gaussian prior puts its samples.")

if source.startswith("Two"):
    sel = [i for i in ss.get("sel", []) if i < n_points]
    default_a, default_b = (sel + [0, 1])[:2] if len(sel) != 1 else (sel[0], 1 if sel[0] != 1 else 0)
    a1, a2 = st.columns(2)
    ia = a1.number_input("Start: point index", 0, n_points - 1, int(default_a), key=f"ia-{ss.model}")
    ib = a2.number_input("End: point index", 0, n_points - 1, int(default_b), key=f"ib-{ss.model}")
    za, zb = lmap.z[int(ia)], lmap.z[int(ib)]
    st.caption(f"Start #{ia} ({m.class_names[lmap.labels[int(ia)]]}) → end #{ib} "
               f"({m.class_names[lmap.labels[int(ib)]]}). Select points on the Latent map page to "
               "pick them there; the first two selected become the ends.")
elif source.startswith("Random"):
    seed = st.number_input("Seed", 0, 2**31 - 1, 0, key="interp_seed")
    za, zb = m.sample(2, seed=int(seed))
else:
    codes, what = (uploaded, "uploaded image") if source.startswith("Your") else (pinned, "pin")
    names = list(codes)
    a1, a2 = st.columns(2)
    na = a1.selectbox(f"Start: {what}", names, index=0, key=f"interp_{what}_a")
    nb = a2.selectbox(f"End: {what}", names, index=min(1, len(names) - 1), key=f"interp_{what}_b")
    za, zb = codes[na], codes[nb]
    st.caption("The codes the model found for your pictures (a GAN's by inversion)." if what != "pin"
               else "Codes you pinned while dragging.")

path = interpolate(za, zb, frames, method)
decoded = m.decode(path)
strip = tile(decoded, min(frames, 16))
st.image(upscale(strip, 3 if frames <= 16 else 2), output_format="PNG",
         caption=f"{frames} frames, {method} interpolation, read left to right")

d1, d2, d3, _ = st.columns([1, 1, 1, 2])
stem = f"{ss.model}-{method}-{frames}"
d1.download_button("Download GIF", gif_bytes(decoded), f"{stem}.gif", "image/gif", key="dl_gif")
d2.download_button("Download PNG grid", png_bytes(upscale(strip, 2)), f"{stem}.png", "image/png", key="dl_png")
d3.download_button("Download codes (CSV)", codes_csv(path), f"{stem}-codes.csv", "text/csv", key="dl_codes",
                   help="The latent code of every frame, first to last: the path itself.")

placed = lmap.place(path)


def scrub_and_draw() -> None:
    """The scrubber: the path's frames decoded live in the browser, and a path drawn on the map that
    plays back there; the drawn path's frames, decoded here, download as a GIF."""
    st.markdown("**Scrub the path, or draw your own on the map**")
    extent = full_extent(lmap.y)
    drawn = scrubber(f"scrub-{ss.model}-{ss.proj}", points_uv=normalise(lmap.y, extent), labels=lmap.labels,
                     path_uv=normalise(placed, extent), za=za, zb=zb, method=method,
                     decoder=decoder_data(ss.model, m), inverse=inverse_data(lmap, extent, base=za))
    st.caption("The slider moves along the interpolation above and decodes every position in your "
               "browser. **Draw a path** to sketch your own route over the map: it plays back as an "
               "animation, each position mapped to a code as on the drag page"
               + (" (the hidden PCA components are the start's)." if lmap.exact and lmap.method == "pca" else "."))
    if drawn is None:
        return
    seq, uv = drawn
    codes = lmap.to_latent(denormalise(uv, extent), base=np.repeat(np.asarray(za, np.float32)[None], len(uv), 0))
    frames_drawn = m.decode(codes)
    st.download_button(f"Download your drawn path as GIF ({len(uv)} frames)", gif_bytes(frames_drawn, bounce=False),
                       f"{ss.model}-drawn-path.gif", "image/gif", key=f"dl_drawn_{seq}")


scrub_and_draw()

left, right = st.columns([3, 2])
with left:
    st.markdown("**The path on the map**")
    fig = map_figure(lmap.y, lmap.labels, m.class_names, label_source=lmap.label_source,
                     path=placed, axis_titles=session.axis_titles(lmap), height=460,
                     marker_size=4)
    st.plotly_chart(fig, key=f"interp-map-{ss.model}-{ss.proj}", config={"displaylogo": False})
    if lmap.method == "tsne":
        st.caption("t-SNE has no formula for new points: the frames are placed among their nearest "
                   "map points; the map itself is never recomputed.")
    elif lmap.embed is not None:       # a GAN's map: by its classifier's features, or by pixels
        st.caption("The frames are " + describe_placement(lmap))
with right:
    t = np.linspace(0, 1, frames)
    norms = {"linear": np.linalg.norm(lerp(za, zb, frames), axis=1),
             "spherical": np.linalg.norm(slerp(za, zb, frames), axis=1)}
    st.plotly_chart(lines({k: (t, v) for k, v in norms.items()}, title="Length of z along the path",
                          x_title="position along the path", y_title="‖z‖",
                          hline=(float(np.sqrt(m.latent_dim)), "√d: typical ‖z‖ under the prior")),
                    key="interp-norms")
    st.caption("A straight line between two codes cuts through the inside of the sphere where "
               "Gaussian samples live, so its middle frames come from codes the model rarely saw. "
               "Spherical interpolation keeps the length on course.")
