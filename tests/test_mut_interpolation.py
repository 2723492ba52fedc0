"""playground.interpolation, exact values on small inputs (written against the mutation run:
`bash scripts/mutation.sh`, docs/mutation.md)."""
import numpy as np
import pytest

from playground.interpolation import codes_csv, interpolate, lerp, slerp

FRAMES = "^an interpolation needs at least 2 frames$"


def test_lerp_exact_frames_dtype_and_both_ends():
    path = lerp([0.0, 2.0], [4.0, -2.0], 5)
    assert path.dtype == np.float32 and path.shape == (5, 2)
    np.testing.assert_array_equal(path, [[0, 2], [1, 1], [2, 0], [3, -1], [4, -2]])


def test_lerp_accepts_two_frames_and_refuses_fewer_with_a_message():
    np.testing.assert_array_equal(lerp([1.0], [3.0], 2), [[1.0], [3.0]])
    with pytest.raises(ValueError, match=FRAMES):
        lerp([1.0], [3.0], 1)
    with pytest.raises(ValueError, match=FRAMES):
        slerp([1.0, 0.0], [0.0, 1.0], 1)
    np.testing.assert_allclose(slerp([1.0, 0.0], [0.0, 1.0], 2), [[1, 0], [0, 1]], atol=1e-7)


def test_ends_are_flattened_and_a_shape_mismatch_names_both_shapes():
    np.testing.assert_array_equal(lerp([[1.0, 2.0]], [[3.0], [4.0]], 2), [[1, 2], [3, 4]])
    with pytest.raises(ValueError, match=r"end points differ in shape: \(3,\) vs \(4,\)"):
        lerp(np.ones(3), np.ones(4), 3)
    with pytest.raises(ValueError, match=r"\(2,\) vs \(1,\)"):
        slerp(np.ones(2), np.ones(1), 3)


def test_slerp_quarter_circle_exact_points():
    path = slerp([1.0, 0.0], [0.0, 1.0], 3)
    assert path.dtype == np.float32
    h = np.sqrt(0.5)
    np.testing.assert_allclose(path, [[1, 0], [h, h], [0, 1]], atol=1e-6)


def test_slerp_norm_moves_linearly_between_the_ends():
    path = slerp([2.0, 0.0], [0.0, 4.0], 5)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), [2, 2.5, 3, 3.5, 4], rtol=1e-6)
    angles = np.arctan2(path[:, 1], path[:, 0])
    np.testing.assert_allclose(angles, np.linspace(0, np.pi / 2, 5), atol=1e-6)


def test_slerp_with_a_zero_end_is_the_straight_line():
    np.testing.assert_allclose(slerp([0.0, 0.0], [2.0, 4.0], 3), [[0, 0], [1, 2], [2, 4]], atol=1e-7)
    np.testing.assert_allclose(slerp([2.0, 4.0], [0.0, 0.0], 3), [[2, 4], [1, 2], [0, 0]], atol=1e-7)
    # tiny but nonzero norms still count as a direction
    tiny = slerp([1e-9, 0.0], [0.0, 1e-9], 3)
    np.testing.assert_allclose(tiny[1] / 1e-9, [np.sqrt(0.5), np.sqrt(0.5)], atol=1e-6)


def test_slerp_parallel_ends_of_different_length_stay_on_the_ray():
    path = slerp([1.0, 0.0, 0.0], [3.0, 0.0, 0.0], 3)
    np.testing.assert_allclose(path, [[1, 0, 0], [2, 0, 0], [3, 0, 0]], atol=1e-6)


def test_slerp_of_opposite_codes_turns_through_the_least_used_axis():
    a = np.array([3.0, 1.0, 0.5])
    path = slerp(a, -a, 3)
    ua = a / np.linalg.norm(a)
    perp = np.array([0.0, 0.0, 1.0]) - ua[2] * ua          # axis 2 is where |ua| is smallest
    perp /= np.linalg.norm(perp)
    np.testing.assert_allclose(path[1], np.linalg.norm(a) * perp, atol=1e-5)
    np.testing.assert_allclose(path[0], a, atol=1e-6)
    np.testing.assert_allclose(path[2], -a, atol=1e-6)
    quarter = slerp(a, -a, 5)[1]
    np.testing.assert_allclose(quarter, np.linalg.norm(a) * (np.cos(np.pi / 4) * ua + np.sin(np.pi / 4) * perp),
                               atol=1e-5)


def test_slerp_close_to_but_not_exactly_opposite_takes_the_general_formula():
    a = np.array([1.0, 0.0])
    b = np.array([-1.0, 1e-3])                                # omega = pi - 1e-3
    mid = slerp(a, b, 3)[1]
    assert mid[1] > 0.99 and abs(mid[0]) < 0.01                # through +y, towards b's side


def test_interpolate_dispatches_by_name_and_rejects_unknown_methods():
    a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    for name in ("slerp", "spherical"):
        np.testing.assert_array_equal(interpolate(a, b, 3, name), slerp(a, b, 3))
    for name in ("lerp", "linear"):
        np.testing.assert_array_equal(interpolate(a, b, 3, name), lerp(a, b, 3))
    np.testing.assert_array_equal(interpolate(a, b, 3), slerp(a, b, 3))       # spherical by default
    with pytest.raises(ValueError, match="unknown interpolation 'cubic': use 'linear' or 'spherical'"):
        interpolate(a, b, 3, "cubic")


def test_slerp_works_in_double_precision_whatever_the_input_dtype():
    """Half-precision codes (the map cache stores float16) are interpolated at full precision."""
    a16 = np.array([1.0, 0.3, 0.7], np.float16)
    b16 = np.array([-0.2, 1.1, 0.4], np.float16)
    exact = slerp(a16.astype(np.float64), b16.astype(np.float64), 5)
    np.testing.assert_allclose(slerp(a16, b16.astype(np.float64), 5), exact, rtol=0, atol=1e-6)
    np.testing.assert_allclose(slerp(a16.astype(np.float64), b16, 5), exact, rtol=0, atol=1e-6)


def test_slerp_angle_rounding_past_plus_or_minus_one_is_clipped():
    # these unit vectors' dot products round to 1 + 2e-16 and -1 - 2e-16: arccos would give NaN
    a = np.array([1.3, 0.95, -0.7])
    np.testing.assert_allclose(slerp(a, 2 * a, 3), [a, 1.5 * a, 2 * a], atol=1e-6)
    b = np.array([-0.92, -0.46, 0.22])
    opp = slerp(b, -b, 3)
    assert np.isfinite(opp).all()
    np.testing.assert_allclose(np.linalg.norm(opp, axis=1), np.linalg.norm(b), rtol=1e-6)
    assert abs(opp[1] @ b) < 1e-6                              # half way round: orthogonal to both ends


def test_a_norm_of_exactly_1e_12_is_still_a_direction():
    path = slerp([1e-12, 0.0], [0.0, 1.0], 3)
    np.testing.assert_allclose(path[1], np.sqrt(0.5) * (0.5 + 0.5e-12), rtol=1e-6)
    path = slerp([0.0, 1.0], [1e-12, 0.0], 3)
    np.testing.assert_allclose(path[1], np.sqrt(0.5) * (0.5 + 0.5e-12), rtol=1e-6)


def test_slerp_takes_the_general_formula_for_angles_well_inside_0_and_pi():
    for omega in (0.5, 1.0, 2.2, 2.5):
        b = [np.cos(omega), np.sin(omega)]
        path = slerp([1.0, 0.0], b, 5)
        t = np.linspace(0, 1, 5)
        np.testing.assert_allclose(path, np.stack([np.cos(t * omega), np.sin(t * omega)], 1), atol=1e-6)


def test_codes_csv_exact_text_and_float32_round_trip():
    text = codes_csv([[1.0, 0.5], [0.1, -2.0]])
    assert text == "frame,z1,z2\n0,1,0.5\n1,0.100000001,-2\n"
    assert codes_csv([3.0, 4.0, 5.0]) == "frame,z1,z2,z3\n0,3,4,5\n"         # one code: one row
    z = np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32)
    back = np.loadtxt(codes_csv(z).splitlines(), delimiter=",", skiprows=1, dtype=np.float64)
    np.testing.assert_array_equal(back[:, 0], np.arange(4))
    np.testing.assert_array_equal(back[:, 1:].astype(np.float32), z)        # 9 digits: exact
