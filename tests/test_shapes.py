"""The shapes data family (models.shapes): deterministic, each factor changes the pixels it should,
and the shipped reference set is what the generator makes."""
import numpy as np
import pytest

import models
from models import shapes

BASE = [0, 0, 2, 3, 4, 0]        # square, red, size 7, x 17, y 19, no rotation


def one(**changes):
    f = list(BASE)
    for name, value in changes.items():
        f[shapes.FACTORS.index(name)] = value
    return shapes.render(np.array([f]))[0]


def test_same_seed_same_bytes_other_seed_other_images():
    a, fa = shapes.generate(64, seed=3)
    b, fb = shapes.generate(64, seed=3)
    assert a.dtype == np.uint8 and a.shape == (64, 3, 32, 32) and fa.shape == (64, 6)
    assert a.tobytes() == b.tobytes() and np.array_equal(fa, fb)
    c, fc = shapes.generate(64, seed=4)
    assert not np.array_equal(fa, fc) and not np.array_equal(a, c)


def test_colour_changes_only_the_channels_not_the_silhouette():
    red, blue = one(colour=0), one(colour=2)
    assert np.array_equal(red.max(0) > 0, blue.max(0) > 0)             # same pixels covered
    inside = red.max(0) == red.max()
    assert tuple(red[:, inside][:, 0]) == shapes.COLOURS["red"]
    assert tuple(blue[:, inside][:, 0]) == shapes.COLOURS["blue"]


def test_position_moves_the_shape_by_the_grid_step():
    a, b = one(x=3), one(x=4)
    step = shapes.POSITIONS[4] - shapes.POSITIONS[3]
    assert step == 2.0
    np.testing.assert_array_equal(np.roll(a, 2, axis=2), b)             # moved right by 2 px
    c = one(y=5)
    np.testing.assert_array_equal(np.roll(a, 2, axis=1), c)             # y: 2 px down


def test_size_grows_the_area_and_keeps_the_centre():
    areas = [one(size=s)[0].astype(float).sum() / shapes.COLOURS["red"][0] for s in range(4)]
    assert all(a < b for a, b in zip(areas, areas[1:]))
    square = [(2 * r / np.sqrt(2)) ** 2 for r in shapes.SIZES]          # anti-aliased area ~ exact
    np.testing.assert_allclose(areas, square, rtol=0.03)
    cy, cx = np.argwhere(one(size=3).max(0) > 0).mean(0) + 0.5
    assert abs(cx - shapes.POSITIONS[3]) < 0.6 and abs(cy - shapes.POSITIONS[4]) < 0.6


def test_rotation_turns_a_square_but_not_a_circle():
    assert not np.array_equal(one(rotation=0), one(rotation=3))
    c0, c3 = one(shape=1, rotation=0), one(shape=1, rotation=3)
    assert np.abs(c0.astype(int) - c3).max() <= 1                       # a circle looks the same
    # a 45-degree square reaches further along the axes than an upright one
    assert (one(rotation=3).max(0) > 0).any(0).sum() > (one(rotation=0).max(0) > 0).any(0).sum()


def test_shapes_differ_and_are_anti_aliased():
    imgs = [one(shape=s) for s in range(len(shapes.SHAPES))]
    for i in range(len(imgs)):
        for j in range(i + 1, len(imgs)):
            assert not np.array_equal(imgs[i], imgs[j])
    tri = imgs[shapes.SHAPES.index("triangle")][0]
    assert ((tri > 0) & (tri < 230)).any()                               # partial-coverage edges
    top = np.argwhere(tri > 0)[:, 0].min(); bottom = np.argwhere(tri > 0)[:, 0].max()
    assert (tri[top] > 0).sum() < (tri[bottom] > 0).sum()               # apex up


def test_split_is_disjoint_and_fixed():
    train, held = shapes.split(0, n_train=5000, n_held_out=500)
    t = {tuple(r) for r in train}
    assert len(t) == 5000 and not t & {tuple(r) for r in held}
    np.testing.assert_array_equal(held, shapes.split(0, n_train=5000, n_held_out=500)[1])


@pytest.mark.parametrize("bad, words", [(np.zeros((2, 5), int), "shape (N, 6)"),
                                        (np.array([[4, 0, 0, 0, 0, 0]]), "'shape' takes indices 0 to 3"),
                                        (np.zeros((1, 6)) + 0.5, "integer")])
def test_bad_factors_say_what_is_wrong(bad, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        shapes.render(bad)


def test_shipped_reference_set_is_the_generators_held_out_split():
    images, labels = models.reference("shapes")
    with np.load(models.reference_path("shapes"), allow_pickle=False) as z:
        factors, names = z["factors"], list(z["factor_names"])
    _, held = shapes.split(0)
    assert names == list(shapes.FACTORS)
    np.testing.assert_array_equal(factors, held)
    np.testing.assert_array_equal(labels, held[:, 0])
    assert images.shape == (shapes.REFERENCE_SIZE, 3, 32, 32)
    assert np.array_equal(images, shapes.render(held))


def test_shapes_is_a_data_family_with_its_factors():
    from models.data import SOURCES, load_dataset, to_float
    d = load_dataset("shapes")
    assert d.class_names == SOURCES["shapes"]["class_names"] == list(shapes.SHAPES)
    assert d.train_x.shape == (shapes.TRAIN_SIZE, 3, 32, 32) and d.test_x.shape == (2000, 3, 32, 32)
    assert d.factor_names == shapes.FACTORS
    np.testing.assert_array_equal(d.train_y, d.train_factors[:, 0])
    np.testing.assert_array_equal(d.test_x, models.reference("shapes")[0])    # held out = reference
    assert not {tuple(r) for r in d.train_factors} & {tuple(r) for r in d.test_factors}
    assert to_float(d.test_x[:2]).shape == (2, 3, 32, 32)
