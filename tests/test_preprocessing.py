"""pad_sequences: same results as Keras's, clear errors, Keras's import paths."""
import doctest

import numpy as np
import pytest

from rnncore.preprocessing import sequence
from rnncore.preprocessing.sequence import pad_sequences

RAGGED = [[1, 2, 3, 4], [5], [], [6, 7]]


@pytest.fixture(scope="module")
def keras_pad():
    keras = pytest.importorskip("keras")
    return keras.utils.pad_sequences


CASES = {
    "ragged": (RAGGED, {}),
    "value": (RAGGED, {"value": -1}),
    "maxlen_longer": (RAGGED, {"maxlen": 6}),
    "all_empty": ([[], []], {}),
    "no_sequences_with_maxlen": ([], {"maxlen": 3}),
    "maxlen_0_truncating_post": (RAGGED, {"maxlen": 0, "truncating": "post"}),
    "object_array": (np.array([[1, 2], [3], [4, 5, 6]], dtype=object), {"maxlen": 2}),
    "2d_array": (np.arange(6).reshape(2, 3), {"maxlen": 5, "value": 9}),
    "tuples": (((1, 2), (3,)), {}),
    "floats_to_int": ([[1.7, -2.2], [3.5]], {}),
    "float32_nan": ([[1.5, 2.5], [3.5]], {"dtype": "float32", "value": np.nan}),
    "vectors": ([[[1, 2], [3, 4]], [[5, 6]], []], {"padding": "post"}),
    "strings_object": ([["a", "bb"], ["c"]], {"dtype": object, "value": "x"}),
    "strings_str_dtype": ([["a", "bb"], ["c"]], {"dtype": str, "value": "x"}),
    "int64": ([[2**40, 1], [3]], {"dtype": "int64"}),
}
for pad in ("pre", "post"):
    for trunc in ("pre", "post"):
        CASES[f"maxlen2_pad_{pad}_trunc_{trunc}"] = (
            RAGGED, {"maxlen": 2, "padding": pad, "truncating": trunc})


@pytest.mark.parametrize("sequences,kwargs", CASES.values(), ids=CASES.keys())
def test_matches_keras(keras_pad, sequences, kwargs):
    expected = keras_pad(sequences, **kwargs)
    got = pad_sequences(sequences, **kwargs)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


def test_default_is_int32_pre_padding_and_pre_truncation():
    got = pad_sequences([[1, 2, 3], [4]], maxlen=2)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, [[2, 3], [0, 4]])


def test_maxlen_0_keeps_rows_for_either_truncation():
    # Keras fails with a broadcast error for truncating="pre" here.
    for truncating in ("pre", "post"):
        assert pad_sequences(RAGGED, maxlen=0, truncating=truncating).shape == (4, 0)


def test_object_dtype_as_string_accepts_string_value():
    got = pad_sequences([["a"], []], dtype="object", value="-")
    assert got.tolist() == [["a"], ["-"]]


def test_keras_import_paths():
    from rnncore.preprocessing import pad_sequences as top

    assert sequence.pad_sequences is pad_sequences is top
    assert sequence.pad_sequences([[1]], maxlen=2).tolist() == [[0, 1]]


def generator():
    yield [1]


ERRORS = {
    "padding": (RAGGED, {"padding": "mid"}, r"`padding`.*'mid'"),
    "padding_all_empty": ([[]], {"padding": "left"}, r"`padding`.*'left'"),
    "truncating": (RAGGED, {"truncating": "middle"}, r"`truncating`.*'middle'"),
    "negative_maxlen": (RAGGED, {"maxlen": -1}, r"`maxlen`.*-1"),
    "float_maxlen": (RAGGED, {"maxlen": 2.5}, r"`maxlen`.*2\.5"),
    "non_iterable_item": ([[1], 2], {}, r"position 1: 2"),
    "generator": (generator(), {}, r"`sequences`"),
    "empty_without_maxlen": ([], {}, r"`maxlen`.*empty"),
    "string_value_int_dtype": (RAGGED, {"value": "x"}, r"`dtype` int32.*'x'"),
    "sample_shapes_differ": ([[[1, 2]], [[1, 2, 3]]], {}, r"position 1"),
}


@pytest.mark.parametrize("sequences,kwargs,match", ERRORS.values(), ids=ERRORS.keys())
def test_bad_input_raises_value_error(sequences, kwargs, match):
    with pytest.raises(ValueError, match=match):
        pad_sequences(sequences, **kwargs)


def test_docstring_examples():
    assert doctest.testmod(sequence).failed == 0
