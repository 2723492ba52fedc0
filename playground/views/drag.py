"""Drag a cursor through latent space and watch the decoded image follow; steer with sliders.

One fragment (`steer`) reruns on every release, arrow key or slider step; it is a sequence of small
jobs: take the browser's cursor, decode the cursor's code exactly, draw the map, say how far the code
is from real data, pins and uploads, sliders. The cursor protocol is described in dragmap.py.
"""
import hashlib
from typing import NamedTuple

import numpy as np
import streamlit as st

from playground.bounded import MB, cache_resource
from playground import session
from playground.decoder_page import decoder_data, inverse_data
from playground.dragmap import (BrowserCursor, denormalise, dragmap, full_extent, grid_points, normalise, picture_url,
                                read_cursor)
from playground.imaging import atlas as tile_atlas, png_bytes, png_data_url, tile, to_uint8, upscale
from playground.interpolation import slerp
from playground.latent_map import NO_CLASSIFIER_SOURCE
from playground.steering import (Direction, axis_directions, class_direction, class_index, data_distance,
                                 distance_label,
                                 principal_directions, prior_shell, slider_value, typical_nn_distance)

N_ATLAS = 24
RANGES = {"axis": (-4.0, 4.0), "pc": (-4.0, 4.0), "cls": (-0.5, 1.5)}
STEP = 0.05                      # every slider's step: its values lie on a grid of this
SLIDER_TOLERANCE = 1e-6          # a grid value and the browser's copy of it differ by float noise

ss = st.session_state
m = session.header(
    "Drag through latent space",
    "Grab the cursor and move it anywhere on the map, also between the clusters: the image beside it "
    "is what the decoder makes of that point. Sliders move the same cursor along chosen directions.")
lmap = session.latent_map(ss.model, ss.proj)
if m.kind == "gan":
    st.caption(session.GAN_MAP_NOTE.format(n=len(lmap.z)))
else:
    st.caption(f"**{len(lmap.z):,} points** · {session.method_label(ss.proj)} · the map's size is "
               "chosen on the Latent map page, and kept in the link")
view = f"{ss.model}-{ss.proj}"
comp_key = f"dragmap-{view}"


class Geometry(NamedTuple):
    atlas_png: bytes           # the n x n atlas over the extent, as one PNG
    atlas_name: str            # its content key (dragmap.picture_url)
    extent: np.ndarray         # [[xmin, xmax], [ymin, ymax]]: every point plus a margin
    points_uv: np.ndarray      # the points normalised to the extent, all inside [0, 1]
    typical_z: float           # median distance from a code to its nearest other code
    pcs: list                  # principal directions of the codes


@cache_resource(show_spinner="Decoding the atlas of this map (once per map)…", max_entries=16,
                max_bytes=128 * MB)
def geometry(name: str, method: str, sha: str, map_name: str, _lmap, _m) -> Geometry:
    """Shared by all sessions (read-only arrays); keyed by model, projection, weights hash and the
    map's cache name (which holds the hashes of everything the map depends on: for a GAN map, the
    classifier's weights that lay its points out)."""
    extent = full_extent(_lmap.y)
    images = _m.decode(_lmap.to_latent(grid_points(extent, N_ATLAS)))
    uv = normalise(_lmap.y, extent)
    extent.flags.writeable = uv.flags.writeable = False
    png = png_bytes(tile_atlas(images, N_ATLAS, N_ATLAS))
    return Geometry(png, f"atlas-{hashlib.blake2b(png, digest_size=16).hexdigest()}", extent, uv,
                    typical_nn_distance(_lmap.z), principal_directions(_lmap.z, 5))


geo = geometry(ss.model, ss.proj, m.card["weights"]["sha256"], lmap.cache_name, lmap, m)


# ---- the cursor ---------------------------------------------------------------------------------

def move_to_z(z) -> None:
    """The server moves the cursor (a slider, an upload, a new map): the code changes, the cursor
    goes where that code lands on the map, and the browser is told by a new revision."""
    ss.drag_z = np.array(z, np.float32)                 # a copy: never a view of a shared map
    ss.drag_uv = tuple(np.clip(normalise(lmap.place(ss.drag_z), geo.extent)[0], 0, 1))
    ss._drag_rev = ss.get("_drag_rev", 0) + 1


if ss.get("_drag_view") != view:                      # a new model or projection: start afresh
    ss._drag_view = view
    ss._drag_pin_uv = {}                              # where pins were dropped on this map
    ss._drag_slider_gen = {}                          # (kind, index) -> generation of its widget
    sent = read_cursor((ss.get(comp_key) or {}).get("cursor"))
    ss._drag_seen = sent.key if sent else None        # an old send is not a new move
    ss._drag_applied = None
    move_to_z(lmap.z[0])


def apply_browser_cursor() -> None:
    """A release or arrow key in the browser: decode that exact point (learned inverse for t-SNE).
    Every send is applied once, in order, however fast they come."""
    sent = read_cursor((ss.get(comp_key) or {}).get("cursor"))
    if sent is None or sent.key == ss.get("_drag_seen"):
        return
    ss._drag_seen, ss._drag_applied = sent.key, sent
    ss.drag_uv = (sent.u, sent.v)
    position = denormalise([sent.u, sent.v], geo.extent)[None]
    ss.drag_z = lmap.to_latent(position, base=ss.drag_z[None])[0].astype(np.float32)


# ---- pins (kept by session.py for the Interpolate page; bounded there by MAX_PINS) ----------------

def drop_pin() -> None:
    pins = session.pinned_codes(ss.model)
    numbers = [int(k.split()[-1]) for k in pins if k.split()[-1].isdigit()]
    name = f"pin {max(numbers, default=0) + 1}"
    session.remember_pins(ss.model, {**pins, name: ss.drag_z})
    ss._drag_pin_uv = {**ss._drag_pin_uv, name: tuple(ss.drag_uv)}


def clear_pins() -> None:
    session.remember_pins(ss.model, {})
    ss._drag_pin_uv = {}


def pin_positions(pins: dict) -> list:
    """Where to draw each pin: where it was dropped, or (dropped on another map) where its code lands."""
    known = {k: v for k, v in ss._drag_pin_uv.items() if k in pins}
    ss._drag_pin_uv = known                            # bounded like the pins themselves
    missing = [k for k in pins if k not in known]
    if missing:
        placed = np.clip(normalise(lmap.place(np.stack([pins[k] for k in missing])), geo.extent), 0, 1)
        known = {**known, **{k: tuple(p) for k, p in zip(missing, placed)}}
        ss._drag_pin_uv = known
    return [known[k] for k in pins]


# ---- the page's parts ---------------------------------------------------------------------------

def draw_map(exact: np.ndarray) -> None:
    show_atlas = st.toggle("Show the decoded atlas behind the points", key="drag_atlas",
                           help="The pre-decoded images the live preview blends, laid under the map.")
    applied: BrowserCursor | None = ss.get("_drag_applied")
    dragmap(comp_key, points_uv=geo.points_uv, labels=lmap.labels,
            atlas_url=picture_url(geo.atlas_png, geo.atlas_name), n=N_ATLAS,
            cell=m.image_shape[1:],
            cursor_uv=ss.drag_uv, rev=ss._drag_rev, applied=applied,
            exact_url=png_data_url(to_uint8(exact)[0]), show_atlas=show_atlas,
            pins_uv=pin_positions(session.pinned_codes(ss.model)), names=m.class_names,
            label_source=lmap.label_source, decoder=decoder_data(ss.model, m),
            inverse=inverse_data(lmap, geo.extent, base=ss.drag_z))


def distance_verdict(z: np.ndarray) -> None:
    """One verdict: how far the decoded code is from the codes of real data, in latent space."""
    st.markdown("**How far from real data?**" if m.kind == "vae" else "**How far from the map's samples?**")
    whose = "reference image" if m.kind == "vae" else "map sample"
    try:
        far = data_distance(z, lmap.z, geo.typical_z)
    except ValueError as e:
        st.warning(f"No distance verdict for this map: {e}")
    else:
        label = distance_label(far, m.kind)
        st.progress(min(far / 8, 1.0), text=f"Nearest {whose} code: {far:.1f}× the typical gap — {label}")
    shell = prior_shell(z)
    st.progress(min(shell / 2, 1.0), text=f"‖z‖ / √d = {shell:.2f} (a Gaussian prior draws ≈ 1.0)")
    if m.kind == "gan" and not 0.8 < shell < 1.2:
        st.caption("Off the prior's typical shell: the generator rarely saw codes this "
                   + ("short." if shell < 1 else "long."))
    how = ("none needed: on the latent plane of a 2-D model the map's two coordinates are the code z "
           "itself" if lmap.method == "latent" else
           "exact PCA inverse: the two map coordinates are set and the hidden components keep their "
           "current values" if lmap.exact else
           "learned inverse: the code is a weighted blend of the codes of the 8 nearest map points, so "
           "an empty spot of the map still decodes a blend of real codes, and the verdict can say "
           "*close* where the map shows no points")
    st.caption(f"Measured in latent space on the code that is decoded: the distance to the nearest "
               f"{whose}'s code, in units of the typical distance between neighbouring codes. "
               f"Map → latent: {how}.")


def pins_and_uploads() -> None:
    pins = session.pinned_codes(ss.model)
    b1, b2 = st.columns(2)
    b1.button("Drop a pin here", icon=":material/push_pin:", key="drag_pin", on_click=drop_pin,
              help=f"The newest {session.MAX_PINS} pins are kept.")
    b2.button("Clear pins", key="drag_clear", disabled=not pins, on_click=clear_pins)
    uploaded = session.uploaded_codes(ss.model)
    if uploaded:
        u1, u2 = st.columns([3, 2])
        u1.selectbox("Your uploaded images", list(uploaded), key="drag_upload", label_visibility="collapsed")
        u2.button("Start here", key="drag_start_upload", help="Move the cursor to the code found "
                  "for this uploaded picture.", on_click=lambda: move_to_z(uploaded[ss.drag_upload]))
    if len(pins) >= 2:
        za, zb = list(pins.values())[-2:]
        st.image(upscale(tile(m.decode(slerp(za, zb, 8)), 8), 2),
                 caption="From the last pin but one to the last (spherical). All pins are ends on "
                         "the Interpolate page.")
    else:
        st.caption(f"{len(pins)} pin(s). Drop two to interpolate between them.")


def directions(kind: str) -> tuple[list, str | None]:
    """(kind, index, Direction) for every slider of one kind ("axis", "pc" or "cls"), and why the
    class slider is missing (or None)."""
    if kind == "axis":
        return [("axis", i, d) for i, d in enumerate(axis_directions(m.latent_dim))], None
    if kind == "pc":
        return [("pc", i, d) for i, d in enumerate(geo.pcs)], None
    if len(m.class_names) < 2 or lmap.label_source == NO_CLASSIFIER_SOURCE:
        return [], "This model's map has no classes (no class names, or no classifier for its data)."
    a, b = class_pair()
    if a == b:
        return [], "Choose two different classes: a class has no direction towards itself."
    try:
        return [("cls", 0, class_direction(lmap.z, lmap.labels, a, b, m.class_names))], None
    except ValueError as e:
        return [], f"No slider between these two classes: {e}."


def class_pair() -> tuple[int, int]:
    """The two classes of the class slider, kept apart from their selectboxes' own state: those are
    made only while their tab is open, and Streamlit forgets a widget's value in a run that does not
    make it (one pair per map, like the selectboxes' keys)."""
    a, b = ss.get(f"_drag_pair_{view}", (0, 1))
    return class_index(a, m.class_names, 0), class_index(b, m.class_names, 1)


def keep_class_pair() -> None:
    ss[f"_drag_pair_{view}"] = (class_index(ss.get(f"drag_from_{view}"), m.class_names, 0),
                                class_index(ss.get(f"drag_to_{view}"), m.class_names, 1))


def slider_key(kind: str, i: int) -> str:
    """The key of a slider's current widget. The server never writes a slider's value: a value
    written from here reaches the browser after the browser may have sent other values (steps taken
    meanwhile, or its stale copy of an earlier value, which then looks like a move by the person).
    To show a new value, the slider gets a new widget (a new generation in its key) instead."""
    return f"drag_{kind}_{i}_{view}_{ss._drag_slider_gen.get((kind, i), 0)}"


def shown_value(kind: str, d: Direction, z: np.ndarray) -> float:
    """What the slider shows for code z: its coordinate, clipped and on the slider's grid."""
    return slider_value(d.coordinate(z), *RANGES[kind], STEP)


def on_slider(kind: str, i: int, key: str, d: Direction) -> None:
    """The person moved a slider: set that coordinate. Not a move: a report from a widget that has
    since been replaced (the browser sends the values of the widgets it still shows, and Streamlit
    calls back for a replaced one as if it had changed), or a value within float noise of the one
    shown (the browser's copy of it)."""
    if key != slider_key(kind, i):
        return
    value = ss[key]
    if abs(value - shown_value(kind, d, ss.drag_z)) > SLIDER_TOLERANCE:
        move_to_z(d.set(ss.drag_z, value))


def slider_values(dirs, z: np.ndarray) -> dict:
    """The value each slider shows: the one its widget holds if that is still the cursor's
    coordinate (so a slider being moved is left alone), else a new widget showing the coordinate."""
    values = {}
    for kind, i, d in dirs:
        want, held = shown_value(kind, d, z), ss.get(slider_key(kind, i))
        if held is not None and abs(held - want) > SLIDER_TOLERANCE:
            ss._drag_slider_gen[(kind, i)] = ss._drag_slider_gen.get((kind, i), 0) + 1
            held = None
        values[kind, i] = want if held is None else held
    return values


AXIS_COLUMNS, PC_COLUMNS = 4, 2      # sliders side by side in a tab


def tabs_height(n_axis: int, n_pc: int) -> int:
    """Pixels for the slider tabs: the tallest tab's content (measured in Chromium: a row of sliders
    84 px, the principal directions' caption 38 px, the class tab 206 px) and the tab bar. Fixed, so
    that opening a tab, whose content comes with the fragment's next run, neither shrinks the page
    nor moves the person's scroll position meanwhile; a taller content scrolls inside."""
    return max(84 * -(-n_axis // AXIS_COLUMNS), 38 + 84 * -(-n_pc // PC_COLUMNS), 206) + 56


def sliders(z: np.ndarray) -> None:
    """Each slider shows the cursor's coordinate along its direction, and moves only that. Only the
    open tab's sliders are made (the tabs rerun the fragment when another opens): every release
    reruns this fragment, and each slider costs the server its share of every run."""
    st.subheader("Steer with sliders")
    kinds = [k for k in ("axis", "pc", "cls") if k != "axis" or m.latent_dim <= 16]
    tabs = st.tabs(([f"Latent dimensions ({m.latent_dim})"] if m.latent_dim <= 16 else [])
                   + ["Principal directions", "Between two classes"], key=f"drag_tabs_{view}",
                   on_change="rerun", height=tabs_height(m.latent_dim if "axis" in kinds else 0, len(geo.pcs)))
    kind, tab = next(((k, t) for k, t in zip(kinds, tabs) if t.open), (kinds[0], tabs[0]))
    dirs, class_problem = directions(kind)
    values = slider_values(dirs, z)
    with tab:
        if kind == "pc":
            st.caption("The principal axes of the map's latent codes (GANSpace-style), in standard "
                       "deviations from their mean." + (" A GAN's z is isotropic, so these are close "
                                                        "to arbitrary directions." if m.kind == "gan" else ""))
        if kind == "cls" and class_problem and len(m.class_names) < 2:
            st.info(class_problem)
            return
        if kind == "cls":
            s1, s2 = st.columns(2)
            a, b = class_pair()
            s1.selectbox("From class", range(len(m.class_names)), index=a, key=f"drag_from_{view}",
                         format_func=lambda c: m.class_names[c], on_change=keep_class_pair)
            s2.selectbox("Towards class", range(len(m.class_names)), index=b, key=f"drag_to_{view}",
                         format_func=lambda c: m.class_names[c], on_change=keep_class_pair)
            st.caption("0 is the first class's mean code, 1 the second's (difference of class means"
                       + (", classes as the classifier sees the samples)." if m.kind == "gan" else ")."))
            if class_problem:
                st.warning(class_problem)
        cols = st.columns(AXIS_COLUMNS if kind == "axis" else PC_COLUMNS if kind == "pc" else 1)
        for j, (_, i, d) in enumerate(dirs):
            key = slider_key(kind, i)
            cols[j % len(cols)].slider(d.name, *RANGES[kind], value=values[kind, i], step=STEP, key=key,
                                       on_change=on_slider, args=(kind, i, key, d))


@st.fragment
def steer():
    apply_browser_cursor()
    z = ss.drag_z
    exact = m.decode(z[None])
    draw_map(exact)
    c1, c2, c3 = st.columns([1, 2, 2])
    c1.image(upscale(tile(exact, 1), 5), caption="Exact decoding at the cursor")
    with c2:
        distance_verdict(z)
    with c3:
        pins_and_uploads()
    sliders(z)


steer()
