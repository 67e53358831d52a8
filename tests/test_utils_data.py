"""to_categorical and normalize: Keras's results, clear errors."""
import doctest

import numpy as np
import pytest

from rnncore.utils import _data, normalize, to_categorical


@pytest.fixture(scope="module")
def keras_utils():
    return pytest.importorskip("keras").utils


CATEGORICAL = {
    "vector": ([0, 2, 1], None),
    "column_squeezed": ([[0], [2]], None),
    "row": ([[0, 1]], None),
    "scalar": (3, None),
    "single": ([1], None),
    "3d_trailing_1": (np.array([[[1], [0]], [[2], [1]]]), None),
    "more_classes": ([0, 1], 5),
    "numpy_int_classes": (np.array([1, 0]), np.int64(3)),
    "zero_classes_infers": ([1], 0),
    "floats_truncate": ([1.7, 0.2], None),
    "bools": ([True, False], None),
    "strings": (["1", "0"], None),
    "empty_with_classes": ([], 2),
}


@pytest.mark.parametrize("x,num_classes", CATEGORICAL.values(), ids=CATEGORICAL.keys())
def test_to_categorical_matches_keras(keras_utils, x, num_classes):
    expected = keras_utils.to_categorical(x, num_classes=num_classes)
    got = to_categorical(x, num_classes=num_classes)
    assert got.dtype == expected.dtype == np.float64
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


CATEGORICAL_ERRORS = {
    "too_large": ([0, 3], 3, r"`x`.*\[0, 3\).*containing 3"),
    "negative": ([-1, 0], 3, r"`x`.*containing -1"),
    "negative_classes": ([1], -2, r"`num_classes`.*-2"),
    "float_classes": ([1], 2.5, r"`num_classes`.*2\.5"),
    "empty_without_classes": ([], None, r"`num_classes`.*empty"),
}


@pytest.mark.parametrize("x,num_classes,match", CATEGORICAL_ERRORS.values(),
                         ids=CATEGORICAL_ERRORS.keys())
def test_to_categorical_bad_input(x, num_classes, match):
    with pytest.raises(ValueError, match=match):
        to_categorical(x, num_classes=num_classes)


def test_out_of_range_class_is_also_index_error_like_keras():
    with pytest.raises(IndexError):
        to_categorical([5], num_classes=3)


NORMALIZE = {
    "rows_l2": ((4, 3), -1, 2),
    "rows_l1": ((4, 3), -1, 1),
    "middle_axis": ((2, 3, 4), 1, 2),
    "vector": ((5,), -1, 2),
}


@pytest.mark.parametrize("shape,axis,order", NORMALIZE.values(), ids=NORMALIZE.keys())
def test_normalize_matches_keras(keras_utils, shape, axis, order):
    x = np.random.default_rng(0).normal(size=shape)
    x[0] = 0  # zero slices come back unchanged
    np.testing.assert_allclose(normalize(x, axis=axis, order=order),
                               keras_utils.normalize(x, axis=axis, order=order))


def test_normalize_axis_0_gives_unit_columns():
    x = np.array([[3.0, 0.0, 1.0], [4.0, 0.0, 1.0]])
    np.testing.assert_allclose(normalize(x, axis=0),
                               [[0.6, 0.0, 2**-0.5], [0.8, 0.0, 2**-0.5]])


def test_docstring_examples():
    assert doctest.testmod(_data).failed == 0
