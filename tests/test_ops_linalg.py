"""``keras.ops.linalg`` (and ``norm``'s orders) on rnncore against Keras's: values, dtypes,
gradients (finite differences and TensorFlow's ``GradientTape``) of the differentiable
factorizations, solvers and determinants, and Keras's errors."""
import numpy as np
import pytest

from _ops_parity import assert_same_as_keras, parity_tests
from rnncore import ops


def _tensors(f):
    """`f` on tensors (Keras's linalg reads ``ndim``, which TF's variables lack)."""
    return lambda K, *xs: f(K, *[x * 1.0 for x in xs])


def _spd(K, a):
    """A symmetric positive-definite matrix made of ``a`` (its gradient reaches ``a``)."""
    return K.matmul(a, K.transpose(a)) + K.convert_to_tensor(3.0 * np.eye(a.shape[0]), a.dtype)


CASES = {
    "inv": (lambda K, a: K.linalg.inv(_spd(K, a)), [(3, 3)]),
    "inv_batched": (lambda K, a: K.inv(K.stack([_spd(K, a), _spd(K, a) * 2.0])), [(3, 3)]),
    "det": (_tensors(lambda K, a: K.det(a) + K.linalg.det(_spd(K, a))), [(3, 3)]),
    "slogdet": (lambda K, a: K.slogdet(_spd(K, a))[1] + K.slogdet(a)[0] * 0.0, [(3, 3)]),
    "logdet": (lambda K, a: K.logdet(_spd(K, a)), [(3, 3)]),
    "solve": (_tensors(lambda K, a, b: K.solve(_spd(K, a), b)), [(3, 3), (3, 2)]),
    "solve_vector": (_tensors(lambda K, a, b: K.linalg.solve(_spd(K, a), b)), [(3, 3), (3,)]),
    "solve_triangular": (_tensors(lambda K, a, b: K.solve_triangular(
        K.tril(a) + K.convert_to_tensor(3.0 * np.eye(3), a.dtype), b, lower=True)),
        [(3, 3), (3, 2)]),
    "solve_triangular_upper": (_tensors(lambda K, a, b: K.linalg.solve_triangular(
        K.triu(a) + K.convert_to_tensor(3.0 * np.eye(3), a.dtype), b)), [(3, 3), (3,)]),
    "cholesky": (lambda K, a: K.cholesky(_spd(K, a)), [(3, 3)]),
    "cholesky_upper": (lambda K, a: K.linalg.cholesky(_spd(K, a), upper=True), [(3, 3)]),
    "cholesky_inverse": (lambda K, a: K.cholesky_inverse(K.cholesky(_spd(K, a))), [(3, 3)]),
    # eigenvectors are defined up to sign: their squares are not
    "eigh": (lambda K, a: K.eigh(_spd(K, a))[0] + K.sum(
        K.square(K.eigh(_spd(K, a))[1]) * K.arange(3.0), axis=0), [(3, 3)]),
    "svd_values": (_tensors(lambda K, a: K.svd(a, compute_uv=False)), [(4, 3)]),
    "norm_orders": (lambda K, a: K.norm(a, ord=1, axis=-1) + K.norm(a, ord=3, axis=1)
                    + K.norm(a, ord=float("inf"), axis=-1), [(3, 4)]),
    "norm_matrix": (_tensors(lambda K, a: K.linalg.norm(a, ord=1) + K.norm(a, ord="fro") * 2.0
                    + K.norm(a, ord=float("-inf"), axis=(0, 1)) + K.norm(a, ord="nuc")
                    + K.norm(a, ord=2)), [(3, 4)]),
}


(test_gradient_matches_finite_differences,
 test_value_and_gradient_match_keras_under_gradient_tape) = parity_tests(CASES)


A = np.array([[4.0, 1.0, 2.0], [1.0, 3.0, 0.5], [2.0, 0.5, 5.0]], "float32")
B = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 7.0]], "float32")
CALLS = {
    "qr": lambda K: K.qr(B),
    "qr_complete": lambda K: K.qr(B, mode="complete"),
    "svd": lambda K: K.svd(B, full_matrices=False),
    "pinv": lambda K: K.pinv(B),
    "lstsq": lambda K: K.lstsq(B, np.array([1.0, 0.0, 2.0], "float32")),
    "lstsq_matrix": lambda K: K.lstsq(B, A),
    "matrix_rank": lambda K: K.matrix_rank(np.array([[1.0, 2.0], [2.0, 4.0]], "float32")),
    "lu_factor": lambda K: K.lu_factor(np.array([[1.0, 2.0, 0.0], [3.0, 1.0, 1.0],
                                                 [0.5, 4.0, 2.0]], "float32")),
    "det_int": lambda K: K.det(np.array([[2, 1], [1, 3]], "int32") * 1.0),
    "norm_vector_ords": lambda K: [K.norm(B, ord=o, axis=0) for o in (0, -np.inf, 0.5)],
    "norm_keepdims": lambda K: K.norm(B, ord=-1, axis=(0, 1), keepdims=True),
    "norm_int": lambda K: K.norm(np.array([3, 4], "int32")),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_value_and_dtype_match_keras(keras, name):
    # a factor's columns are defined up to sign: compare them up to sign
    assert_same_as_keras(CALLS[name](ops), CALLS[name](keras.ops), rtol=1e-4, atol=1e-5,
                         up_to_sign=True)


def test_factors_rebuild_the_matrix(keras):
    q, r = ops.qr(B)
    np.testing.assert_allclose(q @ r, B, atol=1e-5)
    u, s, vh = ops.svd(B)
    np.testing.assert_allclose((u[:, :2] * s) @ vh, B, atol=1e-5)
    w, v = ops.eig(A)
    assert w.dtype == np.asarray(keras.ops.eig(A)[0]).dtype
    np.testing.assert_allclose(A @ v, v * w, atol=1e-4)
    lu, p = ops.lu_factor(A)
    lower = np.tril(lu, -1) + np.eye(3)
    np.testing.assert_allclose((lower @ np.triu(lu))[p], A, atol=1e-5)


def test_bad_arguments_are_named_as_keras():
    with pytest.raises(ValueError, match="Expected a square matrix"):
        ops.inv(np.ones((2, 3)))
    with pytest.raises(ValueError, match="Expected input to have rank >= 2"):
        ops.det(np.ones(3))
    with pytest.raises(ValueError, match="Cholesky decomposition failed"):
        ops.cholesky(-np.eye(2))
    with pytest.raises(ValueError, match=r"Expected `a.shape\[-2\] == b.shape\[-2\]`"):
        ops.solve(np.eye(3), np.ones((2, 2)))
    with pytest.raises(ValueError, match="Received: mode=full"):
        ops.qr(np.eye(2), mode="full")
    with pytest.raises(ValueError, match="Invalid `ord` argument for vector norm"):
        ops.norm(np.ones(3), ord="fro")
    with pytest.raises(ValueError, match=r"b.shape\[0\] to be equal"):
        ops.lstsq(np.ones((3, 2)), np.ones(2))
