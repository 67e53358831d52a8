"""The array ops of ``keras.ops`` added after the first ones (joining, splitting,
rearranging, diagonals, ``select``, ``vander``, ``meshgrid``, the scatters, ``slice_update``,
the segment reductions) and the creation and index ops, against Keras's: values, dtypes,
gradients (finite differences and TensorFlow's ``GradientTape``), and Keras's errors."""
import numpy as np
import pytest

from _ops_parity import assert_same_as_keras, parity_tests
from rnncore import ops

IDS = np.array([0, 2, 0, 2, 1])
CASES = {
    "append": (lambda K, a, b: K.append(a, b) * 2.0 + K.sum(K.append(a, b[:1], axis=0)),
               [(2, 3), (2, 3)]),
    "array_split": (lambda K, a: K.array_split(a, 3, axis=1)[0] * 2.0
                    + K.array_split(a, 3, axis=1)[2], [(2, 5)]),
    # (a * 1.0: Keras's splits need a tensor, TF's variables lack ndim)
    "hsplit_vsplit_dsplit": (lambda K, a: (lambda b: K.hsplit(b, 2)[1] + K.vsplit(b, 2)[0] * 2.0
                                           + K.dsplit(b, 2)[1][..., :1])(a * 1.0), [(2, 2, 2)]),
    "dstack": (lambda K, a, b: K.dstack([a, b * 2.0]), [(2, 3), (2, 3)]),
    "ravel_fliplr_flipud": (lambda K, a: K.ravel(K.fliplr(a)) + K.ravel(K.flipud(a)) * 2.0,
                            [(3, 4)]),
    "roll": (lambda K, a: K.roll(a, 2) + K.roll(a, -1, axis=1) * 2.0, [(3, 4)]),
    "roll_axes": (lambda K, a: K.roll(a, (1, 2), axis=(0, 1)), [(3, 4)]),
    "rot90": (lambda K, a: K.rot90(a) * 1.0 + K.rot90(a, k=2) * 2.0 + K.rot90(a, k=3) * 3.0,
              [(3, 3)]),
    "rot90_axes": (lambda K, a: K.rot90(a, axes=(1, 2)), [(2, 3, 4)]),
    "diag": (lambda K, a, b: K.diag(a) * 2.0 + K.diag(b, k=1)[:3, :3], [(3,), (2,)]),
    "diag_of_matrix": (lambda K, a: K.diag(a * 1.0, k=-1), [(3, 4)]),
    "diagflat": (lambda K, a: K.diagflat(a), [(2, 2)]),
    "select": (lambda K, a, b: K.select([a > 0.3, a < -0.3], [a * 2.0, b], default=0.5),
               [(3, 4), (3, 4)]),
    "vander": (lambda K, a: K.vander(a) + K.vander(a, N=3, increasing=True)[:, :1], [(3,)]),
    "meshgrid": (lambda K, a, b: K.meshgrid(a, b)[0] * 2.0 + K.meshgrid(a, b)[1], [(3,), (4,)]),
    "meshgrid_ij": (lambda K, a, b: K.meshgrid(a, b, indexing="ij")[1], [(3,), (4,)]),
    "get_item": (lambda K, a: K.get_item(a, (slice(1, None), 2)), [(3, 4)]),
    "scatter": (lambda K, a: K.scatter(np.array([[0, 1], [2, 3], [0, 1]]), a, (3, 4)),
                [(3,)]),
    "scatter_slices": (lambda K, a: K.scatter(np.array([[1], [0]]), a, (3, 4)), [(2, 4)]),
    "scatter_update": (lambda K, a, b: K.scatter_update(a, np.array([[0, 1], [2, 0]]), b),
                       [(3, 4), (2,)]),
    "scatter_update_add": (lambda K, a, b: K.scatter_update(a, np.array([[1], [1]]), b,
                                                            reduction="add"),
                           [(3, 4), (2, 4)]),
    "slice_update": (lambda K, a, b: K.slice_update(a, (1, 2), b), [(3, 5), (2, 2)]),
    "rearrange": (lambda K, a: K.rearrange(a * 1.0, "b (h w) c -> (b c) w h", h=2), [(2, 4, 3)]),
    "rearrange_transpose": (lambda K, a: K.rearrange(a * 1.0, "b s c -> c b s"), [(2, 3, 4)]),
    "segment_max": (lambda K, a: K.segment_max(a, IDS, num_segments=4), [(5, 2)]),
    "segment_min": (lambda K, a: K.segment_min(a, IDS), [(5, 2)]),
    "segment_prod": (lambda K, a: K.segment_prod(a, IDS, num_segments=3), [(5, 2)]),
}


# TensorFlow has no gradient for the XLA op behind Keras's slice_update
(test_gradient_matches_finite_differences,
 test_value_and_gradient_match_keras_under_gradient_tape) = parity_tests(CASES, skip_keras={"slice_update"})


X = np.array([[3.0, 1.0, 4.0, 1.5], [5.0, 9.0, 2.0, 6.0], [0.0, 0.5, 7.0, 2.0]], "float32")
CALLS = {
    "array": lambda K: K.array([[1.0, 2.0]]),
    "array_int": lambda K: K.array([1, 2], dtype="int32"),
    "empty_shape": lambda K: K.zeros_like(K.empty((2, 3))),
    "empty_like": lambda K: K.zeros_like(K.empty_like(X, dtype="int32")),
    "identity": lambda K: K.identity(3),
    "tri": lambda K: K.tri(3, 4, k=1),
    "tri_int": lambda K: K.tri(3, dtype="int32"),
    "logspace": lambda K: K.logspace(0.0, 2.0, num=5),
    "logspace_base": lambda K: K.logspace(1, 3, num=3, base=2, endpoint=False),
    "geomspace": lambda K: K.geomspace(1.0, 1000.0, num=4),
    "nonzero": lambda K: K.nonzero(X > 3.0),
    "unravel_index": lambda K: K.unravel_index(np.array([1, 5, 11], "int32"), (3, 4)),
    "isin": lambda K: K.isin(X, np.array([1.0, 9.0], "float32")),
    "isin_invert": lambda K: K.isin(np.array([1, 2, 3]), np.array([2]), invert=True),
    "in_top_k": lambda K: K.in_top_k(np.array([2, 1, 0]), X, 2),
    "unique": lambda K: K.unique(np.array([3, 1, 3, 2, 1], "int32")),
    "unique_all": lambda K: K.unique(np.array([3, 1, 3, 2, 1], "int32"), return_index=True,
                                     return_inverse=True, return_counts=True),
    "unique_unsorted": lambda K: K.unique(np.array([3, 1, 3, 2, 1], "int32"), sorted=False,
                                          return_inverse=True),
    "unique_size": lambda K: K.unique(np.array([3, 1, 3], "int32"), size=4, fill_value=-1),
    "view": lambda K: K.view(np.array([1.0, 2.0], "float32"), "int32"),
    "view_narrow": lambda K: K.view(np.array([[1, 2]], "int32"), "int16"),
    "segment_max_int": lambda K: K.segment_max(np.array([[1, 2], [3, 0], [5, 5]], "int32"),
                                               np.array([0, 0, 1]), num_segments=3),
    "segment_max_sorted": lambda K: K.segment_max(X, np.array([0, 0, 1]), sorted=True),
    "select_int": lambda K: K.select([X > 4.0], [np.ones((3, 4), "int32")]),
    "slice_update": lambda K: K.slice_update(X, (1, 2), np.full((2, 2), -1.0, "float32")),
    "append_int": lambda K: K.append(np.array([1, 2], "int32"), np.array([[3]], "int32")),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_value_and_dtype_match_keras(keras, name):
    assert_same_as_keras(CALLS[name](ops), CALLS[name](keras.ops))


def test_argpartition_partitions_as_numpy():
    # (Keras's TensorFlow argpartition fails on 2-D input: NumPy's contract is the reference)
    x = np.array([[4, 1, 3, 2, 9], [7, 7, 0, 5, 1]], "int32")
    got = ops.argpartition(x, 2)
    assert got.dtype == np.int32
    picked = np.take_along_axis(x, got, axis=-1)
    assert np.all(picked[:, :2] <= picked[:, 2:3]) and np.all(picked[:, 3:] >= picked[:, 2:3])


def test_bad_arguments_are_named_as_keras():
    with pytest.raises(ValueError, match="Received: indexing=yx"):
        ops.meshgrid(np.ones(2), indexing="yx")
    with pytest.raises(ValueError, match="Unsupported reduction: sub"):
        ops.scatter_update(np.ones((2, 2)), np.array([[0, 0]]), np.ones(1), reduction="sub")
    with pytest.raises(ValueError, match="cannot contain `None`"):
        ops.unravel_index(np.array([1]), (None, 2))
    with pytest.raises(ValueError, match="total number of bytes"):
        ops.view(np.ones(3, "int16"), "int32")
    with pytest.raises(ValueError, match="num_segments=3"):
        ops.segment_max(np.ones((2, 2)), np.array([0, 1]), num_segments=3, sorted=True)
    with pytest.raises(ValueError, match="same length"):
        ops.select([np.ones(2) > 0], [np.ones(2), np.ones(2)])
    with pytest.raises(ValueError, match="same axes"):
        ops.rearrange(np.ones((2, 3)), "a b -> a c")
    with pytest.raises(ValueError, match="cannot be inferred"):
        ops.rearrange(np.ones((2, 6)), "a (b c) -> a b c")
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        ops.dsplit(np.ones((2, 2)), 2)
