"""Drag a cursor through latent space and watch the decoded image follow; steer with sliders."""
import numpy as np
import streamlit as st

from playground import session
from playground.dragmap import denormalise, dragmap, normalise, sprite_url
from playground.imaging import tile, upscale
from playground.interpolation import slerp
from playground.steering import (axis_directions, class_direction, data_distance, principal_directions,
                                 prior_shell, typical_nn_distance)

N_ATLAS = 24
ss = st.session_state
m = session.header(
    "Drag through latent space",
    "Grab the cursor and move it anywhere on the map, also between the clusters: the image beside it "
    "is what the decoder makes of that point. Sliders move the same cursor along chosen directions.")
lmap = session.latent_map(ss.model, ss.proj)
view = f"{ss.model}-{ss.proj}"
comp_key = f"dragmap-{view}"


@st.cache_data(show_spinner=False, max_entries=32)
def geometry(name: str, method: str, sha: str, _lmap, _m):
    """Atlas sprite, extent, normalised points, typical gaps (2-D and latent), steering directions."""
    atlas_img, extent = session.atlas(name, method, N_ATLAS, _lmap, _m)
    uv = normalise(_lmap.y, extent)
    dirs = principal_directions(_lmap.z, 5)
    return (sprite_url(atlas_img), extent, uv, typical_nn_distance(np.clip(uv, 0, 1)),
            typical_nn_distance(_lmap.z), dirs)


sprite, extent, points_uv, typical_uv, typical_z, pcs = geometry(ss.model, ss.proj, m.card["weights"]["sha256"],
                                                                  lmap, m)

if ss.get("_drag_view") != view:                        # a new model or projection: start afresh
    ss._drag_view = view
    ss.drag_z = lmap.z[0].astype(np.float32)
    ss.drag_uv = tuple(np.clip(normalise(lmap.y[:1], extent)[0], 0, 1))
    ss.drag_pins = []
    ss._drag_seen = (ss.get(comp_key) or {}).get("cursor")


def move_to_z(z):
    """A slider moved: the code changes, and the cursor goes where that code lands on the map."""
    ss.drag_z = np.asarray(z, np.float32)
    ss.drag_uv = tuple(np.clip(normalise(lmap.place(ss.drag_z), extent)[0], 0, 1))


def directions():
    out = []
    if m.latent_dim <= 16:
        out += [("axis", i, d) for i, d in enumerate(axis_directions(m.latent_dim))]
    out += [("pc", i, d) for i, d in enumerate(pcs)]
    a, b = ss.get("drag_from", 0), ss.get("drag_to", 1)
    if a != b:
        try:
            out.append(("cls", 0, class_direction(lmap.z, lmap.labels, a, b, m.class_names)))
        except (ValueError, ZeroDivisionError):
            pass
    return out


RANGES = {"axis": (-4.0, 4.0), "pc": (-4.0, 4.0), "cls": (-0.5, 1.5)}


def slider_key(kind, i):
    return f"drag_{kind}_{i}_{view}"


def on_slider(kind, i, d):
    move_to_z(d.set(ss.drag_z, ss[slider_key(kind, i)]))


@st.fragment
def steer():
    # 1. a release or arrow key in the browser: decode that exact point (learned inverse for t-SNE)
    cur = (ss.get(comp_key) or {}).get("cursor")
    if cur is not None and cur != ss.get("_drag_seen"):
        ss._drag_seen = cur
        ss.drag_uv = tuple(cur)
        pos = denormalise(cur, extent)[None]
        ss.drag_z = lmap.to_latent(pos, base=ss.drag_z[None])[0]

    show_atlas = st.toggle("Show the decoded atlas behind the points", key="drag_atlas",
                           help="The pre-decoded images the live preview blends, laid under the map.")
    dragmap(comp_key, points_uv=points_uv, labels=lmap.labels, sprite=sprite, n=N_ATLAS,
            cursor_uv=ss.drag_uv, typical=typical_uv, show_atlas=show_atlas,
            pins_uv=[p["uv"] for p in ss.drag_pins], names=m.class_names, label_source=lmap.label_source)

    z = ss.drag_z
    exact = m.decode(z[None])
    c1, c2, c3 = st.columns([1, 2, 2])
    c1.image(upscale(tile(exact, 1), 5), caption="Exact decoding at the cursor")
    with c2:
        st.markdown("**How far from real data?**")
        far = data_distance(z, lmap.z, typical_z)
        label = ("close to the codes of real data" if far < 1.5 else
                 "between data points" if far < 4 else "far from every data point: the model is guessing")
        st.progress(min(far / 8, 1.0), text=f"Nearest {'reference' if m.kind == 'vae' else 'sample'} code: "
                                            f"{far:.1f}× the typical gap — {label}")
        shell = prior_shell(z)
        st.progress(min(shell / 2, 1.0), text=f"‖z‖ / √d = {shell:.2f} (a Gaussian prior draws ≈ 1.0)")
        if m.kind == "gan" and not 0.8 < shell < 1.2:
            st.caption("Off the prior's typical shell: the generator rarely saw codes this "
                       + ("short." if shell < 1 else "long."))
        how = ("exact PCA inverse, the hidden components held at their current values" if lmap.exact
               else "learned inverse (nearest map points, weighted), then exact decoding. It blends "
                    "the codes of the nearest points, so its code stays near real data even where the "
                    "map is empty: the map distance beside the map tells how far from any point you are")
        st.caption(f"Map → latent: {how}.")
    with c3:
        b1, b2 = st.columns(2)
        b1.button("Drop a pin here", icon=":material/push_pin:", key="drag_pin", on_click=lambda: ss.update(
            drag_pins=ss.drag_pins + [dict(z=ss.drag_z.copy(), uv=tuple(ss.drag_uv))]))
        b2.button("Clear pins", key="drag_clear", disabled=not ss.drag_pins,
                  on_click=lambda: ss.update(drag_pins=[]))
        uploaded = session.uploaded_codes(ss.model)
        if uploaded:
            u1, u2 = st.columns([3, 2])
            pick = u1.selectbox("Your uploaded images", list(uploaded), key="drag_upload",
                                label_visibility="collapsed")
            u2.button("Start here", key="drag_start_upload", help="Move the cursor to the code found "
                      "for this uploaded picture.", on_click=lambda: move_to_z(uploaded[ss.drag_upload]))
        if len(ss.drag_pins) >= 2:
            za, zb = ss.drag_pins[-2]["z"], ss.drag_pins[-1]["z"]
            st.image(upscale(tile(m.decode(slerp(za, zb, 8)), 8), 2),
                     caption="From the last pin but one to the last (spherical). All pins are ends on "
                             "the Interpolate page.")
        else:
            st.caption(f"{len(ss.drag_pins)} pin(s). Drop two to interpolate between them.")
    session.remember_pins(ss.model, {f"pin {i + 1}": p["z"] for i, p in enumerate(ss.drag_pins)})

    # 2. sliders: each shows the cursor's coordinate along its direction, and moves only that
    st.subheader("Steer with sliders")
    dirs = directions()
    for kind, i, d in dirs:
        lo, hi = RANGES[kind]
        ss[slider_key(kind, i)] = float(np.clip(round(d.coordinate(z), 3), lo, hi))
    tabs = st.tabs(([f"Latent dimensions ({m.latent_dim})"] if m.latent_dim <= 16 else [])
                   + ["Principal directions", "Between two classes"])
    groups = {"axis": [], "pc": [], "cls": []}
    for item in dirs:
        groups[item[0]].append(item)
    for tab, kind in zip(tabs, [k for k in ("axis", "pc", "cls") if k != "axis" or m.latent_dim <= 16]):
        with tab:
            if kind == "pc":
                st.caption("The principal axes of the map's latent codes (GANSpace-style), in standard "
                           "deviations from their mean." + (" A GAN's z is isotropic, so these are close "
                                                            "to arbitrary directions." if m.kind == "gan" else ""))
            if kind == "cls":
                s1, s2 = st.columns(2)
                s1.selectbox("From class", range(len(m.class_names)), key="drag_from",
                             format_func=lambda c: m.class_names[c])
                s2.selectbox("Towards class", range(len(m.class_names)), index=1, key="drag_to",
                             format_func=lambda c: m.class_names[c])
                st.caption("0 is the first class's mean code, 1 the second's (difference of class means"
                           + (", classes as the classifier sees the samples)." if m.kind == "gan" else ")."))
            cols = st.columns(4 if kind == "axis" else 1)
            for j, (_, i, d) in enumerate(groups[kind]):
                lo, hi = RANGES[kind]
                cols[j % len(cols)].slider(d.name, lo, hi, step=0.05, key=slider_key(kind, i),
                                           on_change=on_slider, args=(kind, i, d))


steer()
