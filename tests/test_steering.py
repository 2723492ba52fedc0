"""Steering directions, slider <-> cursor consistency, and the map's inverses (PCA exact, learned)."""
import numpy as np
import pytest

import models
from playground.latent_map import build_map
from playground.projection import KNNInverse
from playground.steering import (axis_directions, class_direction, data_distance, principal_directions,
                                 prior_shell, slider_value, typical_nn_distance)

rng = np.random.default_rng(0)


def test_setting_a_coordinate_moves_only_along_its_direction():
    z = rng.normal(size=8).astype(np.float32)
    for d in axis_directions(8) + principal_directions(rng.normal(size=(300, 8)), 3):
        moved = d.set(z, 1.25)
        assert d.coordinate(moved) == pytest.approx(1.25, abs=1e-5)
        step = moved - z
        u = d.u / np.linalg.norm(d.u)
        np.testing.assert_allclose(step - (step @ u) * u, 0, atol=1e-5)   # nothing orthogonal changed


def test_principal_directions_are_orthogonal_and_in_standard_deviations():
    x = rng.normal(size=(2000, 6)) * [5, 2, 1, 1, 0.5, 0.1] + 3
    pcs = principal_directions(x, 3)
    u = np.stack([p.u / np.linalg.norm(p.u) for p in pcs])
    np.testing.assert_allclose(u @ u.T, np.eye(3), atol=1e-8)
    coords = np.array([[p.coordinate(row) for p in pcs] for row in x])
    np.testing.assert_allclose(coords.mean(0), 0, atol=1e-8)
    np.testing.assert_allclose(coords.std(0, ddof=1), 1, rtol=1e-6)
    assert "PC 1" in pcs[0].name and np.linalg.norm(pcs[0].u) == pytest.approx(5, rel=0.05)


def test_class_direction_runs_from_one_mean_to_the_other():
    z = np.concatenate([rng.normal(0, 1, (50, 4)), rng.normal(3, 1, (50, 4))])
    labels = np.repeat([0, 1], 50)
    d = class_direction(z, labels, 0, 1, ["a", "b"])
    assert d.name == "a → b"
    assert d.coordinate(z[:50].mean(0)) == pytest.approx(0, abs=1e-9)
    assert d.coordinate(z[50:].mean(0)) == pytest.approx(1, abs=1e-9)
    with pytest.raises(ValueError):
        class_direction(np.ones((4, 2)), np.array([0, 0, 1, 1]), 0, 1)


def test_slider_values_are_clipped_and_on_the_sliders_grid():
    assert slider_value(0.155, -4, 4, 0.05) == 0.15            # the grid value, with no float noise
    assert slider_value(0.18, -4, 4, 0.05) == 0.2
    assert slider_value(-7.3, -4, 4, 0.05) == -4 and slider_value(9, -4, 4, 0.05) == 4
    assert slider_value(0.97, -0.5, 1.5, 0.05) == 0.95
    assert slider_value(1.49, -0.5, 1.5, 0.2) == 1.5           # never past the end of the range
    for x in np.linspace(-5, 5, 101):
        v = slider_value(x, -4, 4, 0.05)
        assert v == round(v, 2) and abs(v - np.clip(x, -4, 4)) <= 0.025 + 1e-9


def test_distance_indicators():
    z = rng.normal(size=(5000, 64))
    assert prior_shell(z[0]) == pytest.approx(1, abs=0.25)
    assert prior_shell(np.zeros(64)) == 0
    codes = rng.normal(size=(400, 4))
    typ = typical_nn_distance(codes)
    assert 0 < typ < 2
    assert data_distance(codes[3], codes, typ) == 0
    assert data_distance(codes[3] + 50, codes, typ) > 20
    with pytest.raises(ValueError, match="coincide"):           # no silent 'infinitely far'
        data_distance(codes[3], codes, 0.0)


@pytest.fixture(scope="module")
def vae_maps():
    m = models.load("mnist-vae")
    ref = models.reference("mnist")
    return m, build_map(m, "pca", ref, None, write_dir=None), build_map(m, "tsne", ref, None, write_dir=None)


def test_pca_drag_is_exact_and_holds_the_hidden_components(vae_maps):
    m, pca, _ = vae_maps
    z = pca.z[:20]
    y = pca.place(z)
    np.testing.assert_allclose(pca.to_latent(y, base=z), z, atol=1e-4)         # round trip, exactly
    moved = pca.to_latent(y + [0.5, -0.3], base=z)                               # drag a little
    np.testing.assert_allclose(pca.place(moved), y + [0.5, -0.3], atol=1e-4)    # lands where dropped
    basis = pca.projection.basis_[2:]
    np.testing.assert_allclose((moved - z) @ basis.T, 0, atol=1e-4)             # the rest held


def test_learned_tsne_inverse_recovers_held_out_codes(vae_maps):
    """Bound: half the distance between two random codes (chance = 1.0; measured 0.32 in
    bench/inverse_quality.py), and the decoded image keeps its class for >= 85% (measured 93%)."""
    m, _, tsne = vae_maps
    n = len(tsne.y)
    held = np.random.default_rng(1).permutation(n)[: n // 10]
    rest = np.setdiff1d(np.arange(n), held)
    inv = KNNInverse(k=8, power=2.0, keep_norm=True).fit(tsne.y[rest], tsne.z[rest])
    z_hat = inv.predict(tsne.y[held])
    pairs = np.random.default_rng(2).integers(0, n, (2000, 2))
    chance = np.median(np.linalg.norm(tsne.z[pairs[:, 0]] - tsne.z[pairs[:, 1]], axis=1))
    err = np.median(np.linalg.norm(z_hat - tsne.z[held], axis=1)) / chance
    assert err < 0.5, err
    clf = models.load("mnist-classifier")
    agree = (clf.predict_proba(m.decode(z_hat)).argmax(1) == tsne.labels[held]).mean()
    assert agree >= 0.85, agree


def test_sliders_and_cursor_stay_in_sync_on_the_drag_page():
    from playground.dragmap import full_extent, normalise
    from conftest import assert_clean, run_app
    from test_drag import slider

    at = run_app(model="mnist-vae", proj="pca")
    at.switch_page("views/drag.py").run()
    assert_clean(at, "drag page")
    view = "mnist-vae-pca"
    z0 = np.array(at.session_state.drag_z)
    # the sliders show the cursor's code
    assert slider(at, "axis", 0, view).value == pytest.approx(np.clip(z0[0], -4, 4), abs=0.025 + 1e-9)
    # moving one latent-dimension slider changes that coordinate only, and moves the cursor there
    slider(at, "axis", 0, view).set_value(2.5).run()
    assert_clean(at, "slider moved")
    z1 = np.array(at.session_state.drag_z)
    assert z1[0] == pytest.approx(2.5, abs=1e-5)
    np.testing.assert_allclose(z1[1:], z0[1:], atol=1e-5)
    from playground import map_points                 # the page's map: the default 10,000 digits
    lmap = build_map(models.load("mnist-vae"), "pca", map_points.pool("mnist", models.CHECKPOINTS), None,
                     write_dir=None)
    expected_uv = np.clip(normalise(lmap.place(z1), full_extent(lmap.y))[0], 0, 1)
    np.testing.assert_allclose(at.session_state.drag_uv, expected_uv, atol=1e-5)
    # ...and every other slider now shows the new code's coordinate along its direction
    pc1 = principal_directions(lmap.z, 5)[0]
    assert slider(at, "pc", 0, view).value == pytest.approx(
        slider_value(pc1.coordinate(z1), -4, 4, 0.05), abs=1e-9)
    # a class-direction slider: 0 is the first class's mean, 1 the second's
    slider(at, "cls", 0, view).set_value(1.0).run()
    assert_clean(at, "class slider")
    d = class_direction(lmap.z, lmap.labels, 0, 1)
    assert d.coordinate(np.array(at.session_state.drag_z)) == pytest.approx(1.0, abs=1e-4)


def test_pins_collect_codes_and_feed_the_interpolation_page():
    from conftest import assert_clean, run_app
    from test_drag import slider

    at = run_app(model="mnist-gan", proj="tsne")
    at.switch_page("views/drag.py").run()
    at.button(key="drag_pin").click().run()
    slider(at, "pc", 0, "mnist-gan-tsne").set_value(2.0).run()
    at.button(key="drag_pin").click().run()
    assert_clean(at, "pins")
    pins = at.session_state["_pinned_codes"][1]                 # kept by session.py for other pages
    assert list(pins) == ["pin 1", "pin 2"] and not np.allclose(pins["pin 1"], pins["pin 2"])
    assert any("last pin" in c for el in at.image for c in el.captions)
    at.switch_page("views/interpolate.py").run()
    at.radio(key="interp_source").set_value("Pins from the drag page").run()
    assert_clean(at, "interpolate pins")
