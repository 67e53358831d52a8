"""The element-wise maths of ``keras.ops`` added after the first ops (inverse and hyperbolic
trigonometry, special functions, two-argument float maths, predicates, integer and bitwise
ops) against Keras's: values, result dtypes for integer and float inputs, and gradients (by
finite differences and under TensorFlow's ``GradientTape``)."""
import numpy as np
import pytest

from _ops_parity import assert_same_as_keras, parity_tests
from rnncore import ops

# name -> (f(K, *xs), input shapes); inputs are normal draws, mapped into each op's domain
CASES = {
    "arccos_arcsin": (lambda K, a: K.arccos(a * 0.3) + K.arcsin(a * 0.25), [(3, 4)]),
    "arccosh": (lambda K, a: K.arccosh(K.abs(a) + 1.5), [(3, 4)]),
    "arcsinh_arctan": (lambda K, a: K.arcsinh(a) * K.arctan(a), [(3, 4)]),
    "arctanh": (lambda K, a: K.arctanh(a * 0.3), [(3, 4)]),
    "cosh_sinh_tan": (lambda K, a: K.cosh(a) + K.sinh(a) * K.tan(a * 0.4), [(3, 4)]),
    "cbrt": (lambda K, a: K.cbrt(a), [(3, 4)]),
    "deg_rad": (lambda K, a: K.deg2rad(a) * 3.0 + K.rad2deg(a), [(3, 4)]),
    "erfc": (lambda K, a: K.erfc(a), [(3, 4)]),
    "erfinv": (lambda K, a: K.erfinv(K.tanh(a) * 0.8), [(3, 4)]),
    "exp2_fabs": (lambda K, a: K.exp2(a) + K.fabs(a), [(3, 4)]),
    "i0": (lambda K, a: K.i0(a), [(3, 4)]),
    "sinc": (lambda K, a: K.sinc(a), [(3, 4)]),
    "copy_trunc_real_conj": (lambda K, a: K.copy(a) * K.trunc(a * 3.0) + K.real(a)
                             + K.conj(a) * 2.0, [(3, 4)]),
    "arctan2": (lambda K, a, b: K.arctan2(a, b), [(3, 4), (4,)]),
    "hypot": (lambda K, a, b: K.hypot(a, b), [(3, 4), (3, 1)]),
    "logaddexp": (lambda K, a, b: K.logaddexp(a, b), [(3, 4), (3, 4)]),
    "logaddexp2": (lambda K, a, b: K.logaddexp2(a, b * 2.0), [(3, 4), (4,)]),
    "divide_no_nan": (lambda K, a, b: K.divide_no_nan(a, b * K.cast(b > 0.0, "float32")),
                      [(3, 4), (3, 4)]),
    "fmod": (lambda K, a, b: K.fmod(a * 3.0, K.abs(b) + 0.7), [(3, 4), (3, 4)]),
    "heaviside": (lambda K, a, b: K.heaviside(K.round(a), b), [(3, 4), (3, 4)]),
    "ldexp": (lambda K, a: K.ldexp(a, np.array([1, -2, 3, 0], "int32")), [(3, 4)]),
}


(test_gradient_matches_finite_differences,
 test_value_and_gradient_match_keras_under_gradient_tape) = parity_tests(CASES)


UNARY = ["arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctanh", "cosh", "sinh", "tan",
         "cbrt", "deg2rad", "rad2deg", "erfc", "exp2", "fabs", "i0", "sinc", "angle", "copy",
         "trunc", "real", "conj", "conjugate", "imag", "signbit", "isneginf", "isposinf",
         "isreal"]
BINARY = ["arctan2", "hypot", "logaddexp", "logaddexp2", "divide_no_nan", "fmod", "heaviside",
          "logical_xor", "isclose", "nextafter"]


@pytest.mark.parametrize("dtype", ["int32", "int64", "float32", "float64"])
@pytest.mark.parametrize("name", UNARY)
def test_unary_value_and_dtype_match_keras(keras, name, dtype):
    if name == "erfc" and dtype.startswith("int"):
        pytest.skip("Keras's erfc fails on integers (TensorFlow has no integer kernel)")
    x = np.array([[-2, -1, 0], [1, 2, 3]]).astype(dtype)
    if name in ("arccos", "arcsin", "arctanh") and dtype.startswith("float"):
        x = x / np.asarray(4, dtype)  # inside the domain (integers give NaN on both sides)
    assert_same_as_keras(getattr(ops, name)(x), getattr(keras.ops, name)(x))


@pytest.mark.parametrize("dtype", ["int32", "float32", "float64"])
@pytest.mark.parametrize("name", BINARY)
def test_binary_value_and_dtype_match_keras(keras, name, dtype):
    a = np.array([[-3, 0, 2], [5, -1, 4]]).astype(dtype)
    b = np.array([2, 3, -2]).astype(dtype)
    assert_same_as_keras(getattr(ops, name)(a, b), getattr(keras.ops, name)(a, b))


@pytest.mark.parametrize("name", ["arccos", "arctan2", "hypot", "fmod", "logaddexp"])
def test_python_numbers_give_keras_dtypes(keras, name):
    args = (0.5,) if name == "arccos" else (2.0, 3)
    assert_same_as_keras(getattr(ops, name)(*args), getattr(keras.ops, name)(*args))


@pytest.mark.parametrize("name", ["bitwise_and", "bitwise_or", "bitwise_xor",
                                  "bitwise_left_shift", "bitwise_right_shift", "left_shift",
                                  "right_shift", "gcd", "lcm"])
def test_integer_ops_match_keras(keras, name):
    a = np.array([[12, 7, 9], [3, 64, 5]], "int32")
    b = np.array([4, 2, 3], "int32")
    assert_same_as_keras(getattr(ops, name)(a, b), getattr(keras.ops, name)(a, b))
    assert_same_as_keras(getattr(ops, name)(a, 2), getattr(keras.ops, name)(a, 2))


def test_bitwise_not_and_allclose_match_keras(keras):
    a = np.array([0, 5, -3], "int32")
    assert_same_as_keras(ops.bitwise_not(a), keras.ops.bitwise_not(a))
    assert_same_as_keras(ops.bitwise_invert(a), keras.ops.bitwise_invert(a))
    x = np.array([1.0, 2.0], "float32")
    for y in (x + 1e-7, x + 1e-3):
        assert bool(ops.allclose(x, y)) == bool(keras.ops.allclose(x, y))


def test_integer_only_ops_reject_floats_as_keras(keras):
    with pytest.raises(TypeError, match="gcd must be integers"):
        ops.gcd(np.array([1.5]), np.array([2.0]))
    with pytest.raises(TypeError, match="ldexp exponent must be an integer"):
        ops.ldexp(np.ones(2, "float32"), np.ones(2, "float32"))
    with pytest.raises(ValueError, match=r"hypot.*\(2, 3\).*\(4,\)"):
        ops.hypot(np.ones((2, 3)), np.ones(4))


@pytest.mark.parametrize("dtype", ["int32", "int64", "bool"])
@pytest.mark.parametrize("name", ["abs", "absolute", "negative", "sign", "square", "round",
                                  "relu", "relu6", "leaky_relu", "floor", "sqrt"])
def test_integer_inputs_keep_or_leave_their_dtype_as_in_keras(keras, name, dtype):
    x = np.array([[-2, 0], [3, 1]]).astype(dtype)
    try:
        theirs = getattr(keras.ops, name)(x)
    except Exception:  # noqa: BLE001  (an op Keras refuses for this dtype: nothing to match)
        pytest.skip(f"Keras's {name} refuses {dtype}")
    assert_same_as_keras(getattr(ops, name)(x), theirs)


def test_stack_of_a_tensor_and_logdet_of_an_indefinite_matrix_as_keras(keras):
    x = np.arange(6.0, dtype="float32").reshape(2, 3)
    assert_same_as_keras(ops.stack(x), keras.ops.stack(x))
    indefinite = np.array([[1.0, 2.0], [2.0, 1.0]], "float32")
    assert np.isnan(ops.logdet(indefinite)) and np.isnan(keras.ops.logdet(indefinite))
