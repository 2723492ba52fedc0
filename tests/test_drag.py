"""The drag page without a browser: its geometry, what the browser may send, and the page (AppTest).

What only a browser shows (every arrow press counting, the preview at rest) is in test_browser_drag.py.
"""
import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

import models
from playground import dragmap
from playground.dragmap import denormalise, full_extent, grid_points, normalise, read_cursor
from playground.imaging import to_uint8
from playground.latent_map import build_map
from playground.steering import class_direction, class_index, distance_label, principal_directions, slider_value

from conftest import assert_clean, run_app

VIEW = "mnist-vae-pca"


@pytest.fixture(scope="module")
def pca_map():
    from playground import map_points                     # the page's map: the default 10,000 digits
    return build_map(models.load("mnist-vae"), "pca", map_points.pool("mnist", models.CHECKPOINTS), None,
                     write_dir=None)


# ---- geometry ------------------------------------------------------------------------------------

def test_the_extent_shows_and_reaches_every_point(pca_map):
    """The mnist-vae PCA map has points outside its 1-99 percentile box: the drag map must show
    them and the cursor (clipped to [0, 1]) must be able to land on each."""
    y = pca_map.y
    extent = full_extent(y, margin=0.05)
    uv = normalise(y, extent)
    assert uv.min() >= 0 and uv.max() <= 1                            # every point drawn
    np.testing.assert_allclose(uv.min(0), 0.05 / 1.1, atol=1e-6)      # the margin on each side
    np.testing.assert_allclose(uv.max(0), 1.05 / 1.1, atol=1e-6)
    np.testing.assert_allclose(denormalise(uv, extent), y, atol=1e-4)  # and reachable by the cursor


def test_extent_of_points_on_a_line_still_has_an_area():
    y = np.array([[1.0, 2.0], [3.0, 2.0]])
    extent = full_extent(y)
    assert extent[1, 1] > extent[1, 0]
    assert np.isfinite(normalise(y, extent)).all()


def test_grid_points_run_row_by_row_from_the_top():
    extent = np.array([[0.0, 2.0], [10.0, 20.0]])
    g = grid_points(extent, 3)
    assert g.shape == (9, 2)
    np.testing.assert_allclose(g[0], [0, 20])                # top left first
    np.testing.assert_allclose(g[2], [2, 20])                # along the top row
    np.testing.assert_allclose(g[-1], [2, 10])               # bottom right last


# ---- what the browser sends ----------------------------------------------------------------------

def test_read_cursor_takes_only_what_the_component_sends():
    sent = read_cursor({"uv": [0.25, 1.5], "seq": 3, "mount": "ab12"})
    assert (sent.u, sent.v, sent.key) == (0.25, 1.0, ("ab12", 3))           # clipped to the map
    for bad in (None, [0.1, 0.2], {"uv": [0.1], "seq": 1, "mount": "a"},
                {"uv": [0.1, float("nan")], "seq": 1, "mount": "a"}, {"uv": [0.1, 0.2], "mount": "a"},
                {"uv": [0.1, 0.2], "seq": 0, "mount": "a"}, {"uv": [0.1, 0.2], "seq": True, "mount": "a"},
                {"uv": ["0.1", 0.2], "seq": 1, "mount": "a"}, {"uv": [0.1, 0.2], "seq": 1}):
        assert read_cursor(bad) is None, bad
    # two presses that land on the same spot are two sends
    assert read_cursor({"uv": [0.5, 0.5], "seq": 1, "mount": "a"}).key != \
        read_cursor({"uv": [0.5, 0.5], "seq": 2, "mount": "a"}).key


# ---- the page ------------------------------------------------------------------------------------

def drag_page(**query):
    at = run_app(**query)
    at.switch_page("views/drag.py").run()
    assert_clean(at, "drag page")
    return at


def component_data(at) -> dict:
    (component,) = at.get("bidi_component")
    return json.loads(component.proto.json)


def png(url: str) -> np.ndarray:
    assert url.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))


def test_the_component_gets_every_point_and_the_exact_decoding():
    at = drag_page(model="mnist-vae", proj="pca")
    data = component_data(at)
    points = np.array(json.loads(data["points"])).reshape(-1, 2)
    assert len(points) == 10_000                                       # every digit that ships
    assert points.min() >= 0 and points.max() <= 1                    # no point clipped away
    # the preview at rest shows the server's exact decoding of the cursor's code
    exact = models.load("mnist-vae").decode(np.asarray(at.session_state.drag_z)[None])
    np.testing.assert_array_equal(png(data["exact"]), to_uint8(exact)[0])
    np.testing.assert_allclose(data["cursor"], at.session_state.drag_uv, atol=1e-9)
    assert isinstance(data["rev"], int)
    # one distance verdict, explained
    verdicts = [p.text for p in at.get("progress") if "typical gap" in p.text]
    assert len(verdicts) == 1 and verdicts[0].startswith("Nearest reference image code"), verdicts
    assert any("Measured in latent space" in c.value for c in at.caption)


def test_a_gans_distance_verdict_speaks_of_its_maps_samples_not_real_data():
    assert distance_label(1.0, "vae") == "close to the codes of real data"
    assert distance_label(1.0, "gan") == "close to the codes of the map's samples"
    assert [distance_label(f, "gan") for f in (2, 9)] == ["between map samples",
                                                           "far from every map sample: the model is guessing"]
    at = drag_page(model="mnist-gan", proj="pca")
    assert_clean(at, "GAN drag page")
    verdicts = [p.text for p in at.get("progress") if "typical gap" in p.text]
    assert len(verdicts) == 1 and verdicts[0].startswith("Nearest map sample code"), verdicts
    tail = verdicts[0].split("—")[1]
    assert ("map's samples" in tail or "map sample" in tail) and "real data" not in tail, verdicts
    assert "**How far from the map's samples?**" in [m.value for m in at.markdown]


def test_the_caption_says_how_the_map_maps_to_latent_space():
    """A 2-D model on its latent plane needs no inverse (the plane is z); PCA's inverse is exact."""
    plane = " ".join(c.value for c in drag_page(model="mnist-vae2d", proj="latent").caption)
    assert "Map → latent: none needed" in plane and "PCA inverse" not in plane and "hidden components" not in plane
    pca = " ".join(c.value for c in drag_page(model="mnist-vae", proj="pca").caption)
    assert "Map → latent: exact PCA inverse" in pca


def test_the_drag_page_says_how_many_points_its_map_shows():
    """The size is picked on the Latent map page and kept in the link (`n=`); the drag page says
    how many points it draws (found in the browser: a sparser map and no word of its size)."""
    captions = lambda at: " ".join(c.value for c in at.caption)
    assert "**10,000 points** · PCA" in captions(drag_page(model="mnist-vae", proj="pca"))
    at = drag_page(model="mnist-vae", proj="pca", n=2000)
    assert "**2,000 points** · PCA" in captions(at)
    assert len(np.array(json.loads(component_data(at)["points"])).reshape(-1, 2)) == 2000


TABS = {"axis": "Latent dimensions", "pc": "Principal directions", "cls": "Between two classes"}


def open_tab(at, kind: str, view: str = VIEW):
    """Open the drag page's slider tab of `kind` (only the open tab's sliders are made), as a click
    on the tab does: its state is the open tab's label."""
    (label,) = [t.label for t in at.tabs if t.label.startswith(TABS[kind])]
    if at.session_state[f"drag_tabs_{view}"] != label:
        at.session_state[f"drag_tabs_{view}"] = label
        at.run()
        assert_clean(at, f"tab {label}")
    return at


def slider(at, kind: str, i: int, view: str = VIEW):
    """The drag page's slider for direction (kind, i): its key is drag_{kind}_{i}_{view}_{generation};
    its tab is opened first."""
    open_tab(at, kind, view)
    (found,) = [s for s in at.slider if s.key.startswith(f"drag_{kind}_{i}_{view}_")]
    return found


def test_slider_steps_accumulate_and_no_slider_value_is_ever_written(pca_map):
    """Ten steps of one slider (PC 1) move its coordinate ten steps, and the other sliders follow the
    cursor. The server never writes a slider's value (set_value): a written value reaches the browser
    after it may have sent newer ones, and undoes steps taken meanwhile; a slider showing a new value
    is a new widget instead, while the one being moved stays the same widget (it keeps the focus)."""
    at = drag_page(model="mnist-vae", proj="pca")
    pc1 = principal_directions(pca_map.z, 5)[0]
    z0 = np.array(at.session_state.drag_z)
    moved = slider(at, "pc", 0)
    start, key = moved.value, moved.key                                  # on the slider's 0.05 grid
    rev0 = component_data(at)["rev"]
    for step in range(1, 11):
        slider(at, "pc", 0).set_value(round(start + 0.05 * step, 2)).run()
        assert_clean(at, f"slider step {step}")
        assert slider(at, "pc", 0).key == key
        written = [s.key for s in at.slider if s.proto.set_value]
        assert not written, f"step {step}: values written to {written}"
    z1 = np.array(at.session_state.drag_z)
    assert pc1.coordinate(z1) == pytest.approx(start + 0.5, abs=1e-5)
    step = (z1 - z0) / np.linalg.norm(z1 - z0)                           # only along PC 1
    assert abs(step @ pc1.u / np.linalg.norm(pc1.u)) == pytest.approx(1, abs=1e-5)
    followed = [i for i in range(16) if slider(at, "axis", i).value != slider_value(z0[i], -4, 4, 0.05)]
    assert len(followed) >= 4, followed                                   # the others follow the cursor
    for i in range(16):
        assert slider(at, "axis", i).value == pytest.approx(slider_value(z1[i], -4, 4, 0.05), abs=1e-9)
    assert component_data(at)["rev"] == rev0 + 10                      # the browser is told each time
    keys = [k for k in at.session_state if k.startswith("drag_axis_0_")]
    assert len(keys) <= 2, keys                                          # old widgets are not kept


def test_only_the_open_tabs_sliders_are_made_and_they_show_the_cursor():
    """Every release reruns the sliders' fragment, so only the open tab's sliders are made: 16 latent
    dimensions by default, the 5 principal directions once that tab opens, each showing the cursor's
    coordinate along its direction."""
    at = drag_page(model="mnist-vae", proj="pca")
    z = np.array(at.session_state.drag_z)
    kinds = {s.key.split("_")[1] for s in at.slider if s.key.startswith("drag_")}
    assert kinds == {"axis"} and len([s for s in at.slider if s.key.startswith("drag_axis_")]) == 16
    open_tab(at, "pc")
    shown = sorted((s for s in at.slider if s.key.startswith("drag_")), key=lambda s: int(s.key.split("_")[2]))
    assert [s.key.split("_")[1] for s in shown] == ["pc"] * 5
    from playground import map_points
    lmap = build_map(models.load("mnist-vae"), "pca", map_points.pool("mnist", models.CHECKPOINTS), None,
                     write_dir=None)
    for s, d in zip(shown, principal_directions(lmap.z, 5)):
        assert s.value == pytest.approx(slider_value(d.coordinate(z), -4, 4, 0.05), abs=1e-9)
    assert f"drag_to_{VIEW}" not in [b.key for b in at.selectbox]       # the class tab's are not made
    open_tab(at, "cls")
    assert [s.key.split("_")[1] for s in at.slider if s.key.startswith("drag_")] == ["cls"]


def test_the_browser_echoing_a_slider_value_moves_nothing():
    """A browser slider may report its copy of the value it was given with float noise (such as
    0.15000000000000036 for 0.15): that is no move by the person and must not change the code."""
    at = drag_page(model="mnist-vae", proj="pca")
    z0, rev0 = np.array(at.session_state.drag_z), component_data(at)["rev"]
    for kind, count in (("axis", 16), ("pc", 5)):
        for i in range(count):
            s = slider(at, kind, i)
            assert s.value == pytest.approx(round(s.value / 0.05) * 0.05, abs=1e-9)     # on the grid
            s.set_value(s.value + 3.6e-16 * (1 if s.value < 4 else -1))
        at.run()
        assert_clean(at, f"echo of the {kind} sliders")
        np.testing.assert_array_equal(at.session_state.drag_z, z0)
        assert component_data(at)["rev"] == rev0


def test_a_missing_class_slider_says_why():
    at = drag_page(model="mnist-vae", proj="pca")
    assert slider(at, "cls", 0)                                          # two classes: a slider
    at.selectbox(key=f"drag_to_{VIEW}").set_value(0).run()                     # from 0 towards 0
    assert_clean(at, "same class")
    assert not [s for s in at.slider if s.key.startswith(f"drag_cls_0_{VIEW}_")]
    assert any("two different classes" in w.value for w in at.warning), [w.value for w in at.warning]


def test_the_class_pair_is_kept_while_another_slider_tab_is_open():
    """The class selectboxes are made only while their tab is open, and Streamlit forgets a widget's
    value in a run that does not make it: the pair must still be 3 -> 7 after another tab (found by
    a review)."""
    at = drag_page(model="mnist-vae", proj="pca")
    open_tab(at, "cls")
    at.selectbox(key=f"drag_from_{VIEW}").set_value(3).run()
    at.selectbox(key=f"drag_to_{VIEW}").set_value(7).run()
    assert [s.label for s in at.slider if s.key.startswith("drag_cls_")] == ["3 → 7"]
    open_tab(at, "pc")
    open_tab(at, "cls")
    assert_clean(at, "back on the class tab")
    assert (at.selectbox(key=f"drag_from_{VIEW}").value, at.selectbox(key=f"drag_to_{VIEW}").value) == (3, 7)
    assert [s.label for s in at.slider if s.key.startswith("drag_cls_")] == ["3 → 7"]


def test_class_direction_names_an_empty_class():
    z = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(ValueError, match="'bag'"):
        class_direction(z, np.zeros(20, int), 0, 2, ["shirt", "coat", "bag"])


def test_pins_are_kept_by_the_session_bounded_and_uniquely_named():
    from playground import session

    sha = models.load("mnist-vae").card["weights"]["sha256"]
    at = run_app(model="mnist-vae", proj="pca")
    full = {f"pin {i}": np.full(16, i, np.float32) for i in range(1, session.MAX_PINS + 1)}
    at.session_state["_pinned_codes"] = (("mnist-vae", sha), full)
    at.switch_page("views/drag.py").run()
    assert len(component_data(at)["pins"]) == session.MAX_PINS         # drawn, placed on this map
    at.button(key="drag_pin").click().run()
    assert_clean(at, "one pin too many")
    pins = at.session_state["_pinned_codes"][1]
    assert len(pins) == session.MAX_PINS
    assert "pin 1" not in pins and f"pin {session.MAX_PINS + 1}" in pins   # the oldest one went
    np.testing.assert_allclose(pins[f"pin {session.MAX_PINS + 1}"], at.session_state.drag_z)
    at.button(key="drag_clear").click().run()
    assert at.session_state["_pinned_codes"][1] == {} and component_data(at)["pins"] == []


def test_points_are_encoded_once_per_map_and_again_when_they_change():
    """The points go to the browser as JSON text made once per map (every release reruns the page):
    the same arrays give the very same text, other points or other classes new text, and the text
    holds the points rounded to 4 decimals and the classes."""
    rng = np.random.default_rng(0)
    uv, labels = rng.random((500, 2)), rng.integers(0, 10, 500)
    pts, lab = dragmap.encode_points(uv, labels)
    assert dragmap.encode_points(uv.copy(), labels.copy())[0] is pts              # kept
    np.testing.assert_allclose(np.array(json.loads(pts)).reshape(-1, 2), uv, atol=5e-5)
    assert json.loads(lab) == labels.tolist()
    moved = uv.copy()
    moved[7, 0] = 0.123456
    assert json.loads(dragmap.encode_points(moved, labels)[0])[14] == 0.1235
    relabelled = labels.copy()
    relabelled[3] = (labels[3] + 1) % 10
    assert json.loads(dragmap.encode_points(uv, relabelled)[1])[3] == relabelled[3]


def test_points_go_as_a_blob_made_once_per_map_when_the_app_serves_it(monkeypatch):
    """Served through the app's route, the points leave the run's data: the page sends a URL whose
    blob holds float32 coordinates then int32 classes (as dragmap.js reads it), made once per map;
    other points make another blob. Without the route they go inline as text."""
    from playground import decoder_route

    rng = np.random.default_rng(1)
    uv, labels = rng.random((300, 2)), rng.integers(0, 10, 300)
    monkeypatch.setattr(decoder_route, "_routes_made", False)
    inline = dragmap.points_data(uv, labels)
    assert set(inline) == {"points", "labels", "n_points"} and inline["n_points"] == 300
    monkeypatch.setattr(decoder_route, "_routes_made", True)
    sent = dragmap.points_data(uv, labels)
    assert set(sent) == {"points_url", "n_points"} and sent["n_points"] == 300
    name = sent["points_url"].removeprefix(decoder_route.PREFIX + "/").removesuffix(".bin")
    blob = decoder_route.lookup(name)
    assert len(blob) == 12 * 300
    np.testing.assert_allclose(np.frombuffer(blob[:2400], "<f4").reshape(-1, 2), uv, atol=1e-6)
    np.testing.assert_array_equal(np.frombuffer(blob[2400:], "<i4"), labels)
    assert dragmap.points_blob(uv.copy(), labels.copy())[1] is blob                       # kept
    relabelled = labels.copy()
    relabelled[0] = (labels[0] + 1) % 10
    assert dragmap.points_data(uv, relabelled)["points_url"] != sent["points_url"]
    with pytest.raises(ValueError, match="300 points but 299 classes"):
        dragmap.points_blob(uv, labels[:-1])


def test_class_index_takes_an_index_its_digits_or_a_class_name_else_the_default():
    names = ["T-shirt/top", "Trouser", "Pullover"]
    assert class_index(2, names, 0) == 2 and class_index(np.int64(1), names, 0) == 1
    assert class_index("2", names, 0) == 2 and class_index("Trouser", names, 0) == 1
    for bad in (3, -1, "7", "Dress", None, True, 1.0, "x"):
        assert class_index(bad, names, 1) == 1, bad



def test_a_picture_is_served_by_the_app_when_it_can_else_a_data_url(monkeypatch):
    from playground import decoder_route
    png = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNgAAIAAAUAAen63NgAAAAASUVORK5CYII=")
    monkeypatch.setattr(decoder_route, "_routes_made", True)
    url = dragmap.picture_url(png, "atlas-test1")
    assert url == decoder_route.PREFIX + "/atlas-test1.png" and decoder_route.lookup("atlas-test1", "png") == png
    assert decoder_route.lookup("atlas-test1") is None                      # not served as .bin
    monkeypatch.setattr(decoder_route, "_routes_made", False)
    assert dragmap.picture_url(png, "atlas-test1") == "data:image/png;base64," + base64.b64encode(png).decode()
    with pytest.raises(ValueError, match="served as one of"):
        decoder_route.publish("x", png, "gif")


def test_a_maps_frozen_points_are_found_by_identity_and_anything_writable_is_hashed_again():
    """Read-only arrays (a map's, shared by all sessions) are not converted and hashed on every run;
    an array that can still change is, so a change is never served from the old blob."""
    rng = np.random.default_rng(2)
    uv, labels = rng.random((200, 2)), rng.integers(0, 10, 200)
    name, _ = dragmap.points_blob(uv, labels)
    uv[0, 0] = 0.5 if uv[0, 0] != 0.5 else 0.25                        # writable: changed in place
    assert dragmap.points_blob(uv, labels)[0] != name
    frozen_uv, frozen_labels = uv.copy(), labels.copy()
    frozen_uv.flags.writeable = frozen_labels.flags.writeable = False
    first = dragmap.points_blob(frozen_uv, frozen_labels)
    calls = []
    real = dragmap._points_blob
    try:
        dragmap._points_blob = lambda *a: calls.append(a) or real(*a)
        assert dragmap.points_blob(frozen_uv, frozen_labels) is first and not calls     # by identity
        view = uv[:]                                                   # a read-only view of a writable array
        view.flags.writeable = False
        dragmap.points_blob(view, frozen_labels)
        assert len(calls) == 1                                         # hashed: its base can change
    finally:
        dragmap._points_blob = real
    assert not dragmap._frozen([1, 2]) and not dragmap._frozen(np.zeros(2))
