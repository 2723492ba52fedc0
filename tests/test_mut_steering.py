"""playground.steering on small codes with known answers (written against the mutation run:
`bash scripts/mutation.sh`, docs/mutation.md)."""
import numpy as np
import pytest

from playground.steering import (Direction, axis_directions, class_direction, data_distance, slider_value,
                                 principal_directions, prior_shell, typical_nn_distance)


def test_direction_coordinate_and_set_exact():
    d = Direction("d", np.array([2.0, 0.0]), np.array([1.0, 1.0]))
    assert d.coordinate([5.0, 3.0]) == 2.0                       # (4 * 2) / |u|^2 = 8 / 4
    assert d.coordinate(np.array([5, 3], np.int64)) == 2.0
    moved = d.set([5.0, 3.0], 3.0)
    assert moved.dtype == np.float32
    np.testing.assert_array_equal(moved, [7.0, 3.0])             # one more u along, nothing else
    np.testing.assert_array_equal(d.set(np.array([5, 3]), -1.0), [-1.0, 3.0])
    assert isinstance(d.coordinate([1.0, 1.0]), float)


def test_axis_directions_are_the_unit_axes_through_the_origin():
    dirs = axis_directions(3)
    assert [d.name for d in dirs] == ["z1", "z2", "z3"]
    np.testing.assert_array_equal(np.stack([d.u for d in dirs]), np.eye(3))
    for d in dirs:
        np.testing.assert_array_equal(d.origin, np.zeros(3))
    assert dirs[1].coordinate([4.0, -2.5, 1.0]) == -2.5


CROSS = np.array([[3.0, 1.0], [-1.0, 1.0], [1.0, 2.0], [1.0, 0.0]])   # mean (1, 1); s^2 = 8 and 2


def test_principal_directions_exact_on_a_cross():
    pcs = principal_directions(CROSS)
    assert [p.name for p in pcs] == ["PC 1 (80% of variance)", "PC 2 (20% of variance)"]   # k=5, 2 exist
    np.testing.assert_allclose(np.abs(pcs[0].u), [np.sqrt(8 / 3), 0], atol=1e-12)   # one sd (ddof 1)
    np.testing.assert_allclose(np.abs(pcs[1].u), [0, np.sqrt(2 / 3)], atol=1e-12)
    for p in pcs:
        np.testing.assert_array_equal(p.origin, [1.0, 1.0])
    coords = [abs(pcs[0].coordinate(row)) for row in CROSS]
    np.testing.assert_allclose(coords, [np.sqrt(1.5), np.sqrt(1.5), 0, 0], atol=1e-12)
    assert len(principal_directions(CROSS, k=1)) == 1


def test_principal_directions_of_two_codes_use_n_minus_1():
    pcs = principal_directions(np.array([[0.0, 0.0], [2.0, 0.0]]))
    pc = pcs[0]
    np.testing.assert_allclose(np.abs(pc.u), [np.sqrt(2), 0], atol=1e-12)     # s = sqrt(2), n - 1 = 1
    assert [p.name for p in pcs] == ["PC 1 (100% of variance)", "PC 2 (0% of variance)"]
    np.testing.assert_array_equal(pc.origin, [1.0, 0.0])


def test_principal_directions_of_one_code_do_not_divide_by_zero():
    with np.errstate(invalid="ignore"):
        (pc,) = principal_directions(np.array([[1.0, 2.0]]))
    np.testing.assert_array_equal(pc.u, [0.0, 0.0])               # no spread: a zero direction
    np.testing.assert_array_equal(pc.origin, [1.0, 2.0])


def test_class_direction_exact_names_and_messages():
    z = np.array([[0.0, 0.0], [2.0, 0.0], [4.0, 4.0], [6.0, 4.0]])
    labels = np.array([0, 0, 1, 1])
    d = class_direction(z, labels, 0, 1, ["zero", "one"])
    assert d.name == "zero → one"
    np.testing.assert_array_equal(d.u, [4.0, 4.0])
    np.testing.assert_array_equal(d.origin, [1.0, 0.0])
    assert class_direction(z, labels, 1, 0).name == "1 → 0"
    assert class_direction(z, labels.tolist(), 1, 0).name == "1 → 0"       # labels as a list
    with pytest.raises(ValueError, match="^no point of the map has the class 'two'$"):
        class_direction(z, labels, 0, 2, ["zero", "one", "two"])
    with pytest.raises(ValueError, match="^no point of the map has the class '2'$"):
        class_direction(z, labels, 2, 0)
    with pytest.raises(ValueError, match="^'a' and 'b' have the same mean code$"):
        class_direction(np.array([[1.0], [3.0], [2.0], [2.0]]), labels, 0, 1, ["a", "b"])
    with pytest.raises(ValueError, match="^'0' and '1' have the same mean code$"):
        class_direction(np.array([[1.0], [3.0], [2.0], [2.0]]), labels, 0, 1)


def test_prior_shell_exact():
    assert prior_shell([3.0, 4.0]) == pytest.approx(5 / np.sqrt(2), rel=1e-15)
    assert prior_shell(np.array([[3, 4, 0, 0]], np.int64)) == pytest.approx(2.5, rel=1e-15)
    assert isinstance(prior_shell([1.0]), float)


def test_data_distance_exact_and_refuses_a_zero_typical_distance():
    codes = np.array([[0.0, 0.0], [10.0, 10.0]])
    assert data_distance([3.0, 4.0], codes, 2.5) == 2.0
    assert data_distance(np.array([9, 10]), codes.tolist(), 0.5) == 2.0
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match=f"^the typical distance between codes is {bad}: the codes coincide$"):
            data_distance([0.0, 0.0], codes, bad)


def test_typical_nn_distance_exact_median():
    codes = np.array([[0.0], [0.1], [0.3], [0.7]])                # nearest distances .1 .1 .2 .4
    assert typical_nn_distance(codes) == pytest.approx(0.15, abs=1e-12)
    assert typical_nn_distance(codes.tolist()) == pytest.approx(0.15, abs=1e-12)
    for seed in (0, 1, 2):
        idx = np.random.default_rng(seed).permutation(4)[:2]
        expect = np.median(np.array([0.1, 0.1, 0.2, 0.4])[idx])
        assert typical_nn_distance(codes, sample=2, seed=seed) == pytest.approx(expect, abs=1e-12)
    assert typical_nn_distance(codes, sample=2) == typical_nn_distance(codes, sample=2, seed=0)
    assert typical_nn_distance(codes, sample=1) == pytest.approx(
        [0.1, 0.1, 0.2, 0.4][np.random.default_rng(0).permutation(4)[0]], abs=1e-12)


def test_typical_nn_distance_of_duplicates_is_zero_not_nan():
    c = np.array([160.7, -375.9, 189.6])          # |c|^2 - 2 c.c + |c|^2 rounds to -6e-11 here
    codes = np.vstack([c, c, c + 5])
    assert typical_nn_distance(codes) == 0.0
    with pytest.raises(ValueError, match="codes coincide"):
        data_distance(c, codes, typical_nn_distance(codes))


# ---- precision and slider values (second mutation pass) -------------------------------------------

H16 = np.array([[0.1, 0.7, -0.3], [0.9, -0.2, 0.4], [-0.5, 0.3, 0.8], [0.2, 0.1, -0.9]], np.float16)


def test_codes_in_half_precision_are_handled_in_double_precision():
    """The map cache keeps float16 arrays: every helper works in float64 whatever it is given."""
    exact = H16.astype(np.float64)
    for a, b in zip(principal_directions(H16), principal_directions(exact)):
        np.testing.assert_allclose(np.abs(a.u), np.abs(b.u), rtol=0, atol=1e-12)
        np.testing.assert_allclose(a.origin, b.origin, rtol=0, atol=1e-12)
    d = class_direction(H16, np.array([0, 0, 1, 1]), 0, 1)
    assert d.u.dtype == d.origin.dtype == np.float64
    assert prior_shell(H16[0]) == pytest.approx(float(np.linalg.norm(exact[0]) / np.sqrt(3)), rel=1e-12)
    assert typical_nn_distance(H16) == pytest.approx(typical_nn_distance(exact), rel=1e-12)


def test_typical_nn_distance_of_integer_codes():
    assert typical_nn_distance([[0], [1], [3], [7]]) == 1.5


def test_slider_value_clips_and_snaps_to_the_grid():
    assert slider_value(0.123, -4.0, 4.0, 0.05) == 0.1
    assert slider_value(0.126, -4.0, 4.0, 0.05) == 0.15
    assert slider_value(9.0, -4.0, 4.0, 0.05) == 4.0
    assert slider_value(-9.0, -4.0, 4.0, 0.05) == -4.0
    assert slider_value(0.3, 0.0, 1.0, 0.25) == 0.25
    assert slider_value(0.99, 0.1, 1.0, 0.25) == 1.0             # the grid's last step would pass hi: clipped
    assert slider_value(0.7, 0.1, 1.0, 0.25) == 0.6
    assert slider_value(1 / 3, 0.0, 1.0, 0.1) == 0.3             # rounded to 10 places: no 0.30000000000000004


def test_defaults_five_principal_directions_and_a_500_code_sample():
    x = np.random.default_rng(5).normal(size=(50, 8))
    assert len(principal_directions(x)) == 5
    codes = np.random.default_rng(6).normal(size=(700, 3))
    assert typical_nn_distance(codes) == typical_nn_distance(codes, sample=500, seed=0)
    assert typical_nn_distance(codes) != typical_nn_distance(codes, sample=501, seed=0)


def test_slider_value_is_rounded_to_ten_places():
    assert slider_value(3e-11, 0.0, 1.0, 1e-11) == 0.0
