"""The later ``keras.ops`` of rnncore (``top_k``, ``segment_sum``, ``moments``, ``nan_to_num``,
``vstack``/``hstack``, ``dot_product_attention``, ``cond``/``while_loop``/``fori_loop``,
``linspace``) against Keras's where the shared cases of ``test_ops.py`` (values, gradients by
finite differences and under TensorFlow's ``GradientTape``) do not reach: indices, ties,
structures, bad arguments."""
import numpy as np
import pytest

from rnncore import ops


def test_top_k_indices_and_ties_as_keras(keras):
    x = np.array([[1.0, 3.0, 3.0, -2.0, 3.0], [0.5, 0.5, 0.5, 0.5, 0.5]], np.float32)
    values, indices = ops.top_k(x, 3)
    their_values, their_indices = keras.ops.top_k(x, 3)
    np.testing.assert_array_equal(values, their_values)
    np.testing.assert_array_equal(indices, their_indices)
    assert indices.dtype == their_indices.numpy().dtype


def test_nan_to_num_replaces_as_keras(keras):
    x = np.array([np.nan, np.inf, -np.inf, 1.5], np.float32)
    for kwargs in ({}, {"nan": 2.0, "posinf": 9.0, "neginf": -9.0}):
        np.testing.assert_array_equal(ops.nan_to_num(x, **kwargs),
                                      keras.ops.nan_to_num(x, **kwargs))
    ints = np.array([1, 2], np.int32)
    np.testing.assert_array_equal(ops.nan_to_num(ints), ints)


@pytest.mark.parametrize("kwargs", [
    {"start": 0, "stop": 1}, {"start": -1.0, "stop": 2.5, "num": 7, "endpoint": False},
    {"start": 2, "stop": 10, "num": 5, "dtype": "int32"},
    {"start": np.array([0.0, 1.0]), "stop": np.array([1.0, 3.0]), "num": 4, "axis": 1},
    {"start": 0.0, "stop": 1.0, "num": 1}])
def test_linspace_matches_keras(keras, kwargs):
    mine, theirs = ops.linspace(**kwargs), keras.ops.linspace(**kwargs)
    np.testing.assert_allclose(mine, theirs, rtol=1e-6)
    assert mine.dtype == theirs.numpy().dtype


@pytest.mark.parametrize("endpoint", [True, False])
def test_linspace_retstep_matches_keras(keras, endpoint):
    mine = ops.linspace(1.0, 4.0, num=4, endpoint=endpoint, retstep=True)
    theirs = keras.ops.linspace(1.0, 4.0, num=4, endpoint=endpoint, retstep=True)
    for a, b in zip(mine, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_while_loop_returns_the_structure_it_was_given():
    out = ops.while_loop(lambda i, s: i < 3, lambda i, s: (i + 1, s + i), [0, 0.0])
    assert isinstance(out, tuple) and out == (3, 3.0)
    assert ops.while_loop(lambda x: x < 10, lambda x: x * 2, 1) == 16
    with pytest.raises(ValueError, match="body"):
        ops.while_loop(lambda i, s: i < 3, lambda i, s: i + 1, (0, 0.0))


def test_top_k_and_segment_sum_name_the_bad_argument():
    with pytest.raises(ValueError, match="k=6"):
        ops.top_k(np.ones((2, 5)), 6)
    with pytest.raises(ValueError, match="segment_ids.shape"):
        ops.segment_sum(np.ones((4, 2)), np.array([0, 1]))
    with pytest.raises(ValueError, match="num_segments=2"):
        ops.segment_sum(np.ones((2, 2)), np.array([0, 2]), num_segments=2)
