"""Keras's signal ops on rnncore (the Fourier transforms on ``(real, imag)`` pairs,
``extract_sequences``, ``cdist``, ``saturate_cast``, the complex views) against Keras's:
values, dtypes and gradients; and that rnncore's op submodules hold Keras's names."""
import numpy as np
import pytest

from _ops_parity import (assert_gradient_matches_finite_differences, draw_inputs,
                         parity_tests)
from rnncore import ops


def _pair_sum(pair):
    return pair[0] * 2.0 + pair[1]


CASES = {
    "fft": (lambda K, a, b: _pair_sum(K.fft((a, b))), [(2, 5), (2, 5)]),
    "fft2": (lambda K, a, b: _pair_sum(K.fft2((a, b))), [(2, 3, 4), (2, 3, 4)]),
    "ifft2": (lambda K, a, b: _pair_sum(K.ifft2((a, b))), [(3, 4), (3, 4)]),
    "rfft": (lambda K, a: _pair_sum(K.rfft(a)), [(2, 6)]),
    "irfft": (lambda K, a, b: K.irfft((a, b)), [(2, 4), (2, 4)]),
    "irfft_odd_length": (lambda K, a, b: K.irfft((a, b), fft_length=7), [(4,), (4,)]),
    "stft": (lambda K, a: _pair_sum(K.stft(a, 6, 3, 8)), [(2, 20)]),
    "stft_hamming_uncentred": (lambda K, a: _pair_sum(K.stft(a, 8, 2, 8, window="hamming",
                                                             center=False)), [(17,)]),
    "istft": (lambda K, a, b: K.istft((a, b), 6, 3, 8), [(2, 5, 5), (2, 5, 5)]),
    "istft_length_no_window": (lambda K, a, b: K.istft((a, b), 8, 4, 8, length=14,
                                                      window=None), [(4, 5), (4, 5)]),
    "extract_sequences": (lambda K, a: K.extract_sequences(a, 3, 2), [(2, 8)]),
    "cdist": (lambda K, a, b: K.cdist(a, b), [(2, 3, 4), (2, 5, 4)]),
}


(test_gradient_matches_finite_differences,
 test_value_and_gradient_match_keras_under_gradient_tape) = parity_tests(CASES)


@pytest.mark.parametrize("fft_length", [4, 9])
def test_cut_or_padded_rfft_matches_keras(keras, fft_length):
    # (TensorFlow has no gradient for an rfft of another length: values against Keras, the
    # gradient by finite differences)
    x = draw_inputs([(2, 5)], 11)[0]
    for mine, theirs in zip(ops.rfft(x.astype("float32"), fft_length=fft_length),
                            keras.ops.rfft(x.astype("float32"), fft_length=fft_length)):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-5)
    assert_gradient_matches_finite_differences(
        lambda K, a: _pair_sum(K.rfft(a, fft_length=fft_length)), [x])


SATURATING = np.array([-1e10, -300.0, -1.5, 0.4, 255.7, 300.0, 1e10, np.inf], "float32")


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "float16"])
def test_saturate_cast_matches_keras(keras, dtype):
    mine = ops.saturate_cast(SATURATING, dtype)
    theirs = np.asarray(keras.ops.saturate_cast(SATURATING, dtype))
    assert mine.dtype == theirs.dtype
    np.testing.assert_array_equal(mine, theirs)


@pytest.mark.parametrize("dtype", ["int32", "uint32"])
def test_saturate_cast_saturates_where_float32_cannot_hold_the_bound(dtype):
    # Keras compares the bound in float32, where 2**31 - 1 rounds up to 2**31, and its cast of
    # 1e10 wraps around; rnncore moves the bound inside, as Keras's comment intends
    got = ops.saturate_cast(SATURATING, dtype)
    assert got.dtype == dtype and np.all(np.diff(got.astype(np.int64)) >= 0)
    assert got[-1] > np.iinfo(dtype).max - 256 and got[0] == np.iinfo(dtype).min


def test_complex_views_match_keras(keras):
    x = np.arange(6.0, dtype="float32").reshape(3, 2)
    c = ops.view_as_complex(x)
    assert c.dtype == np.asarray(keras.ops.view_as_complex(x)).dtype
    np.testing.assert_array_equal(c, keras.ops.view_as_complex(x))
    np.testing.assert_array_equal(ops.view_as_real(c), keras.ops.view_as_real(c))


def test_signal_ops_name_bad_arguments_as_keras():
    with pytest.raises(ValueError, match="`fft_length` must equal or larger"):
        ops.stft(np.ones(10, "float32"), 8, 2, 4)
    with pytest.raises(ValueError, match="Received: window=blackman"):
        ops.stft(np.ones(10, "float32"), 4, 2, 4, window="blackman")
    with pytest.raises(TypeError, match="Expected `float32` or `float64`"):
        ops.stft(np.ones(10, "int32"), 4, 2, 4)
    with pytest.raises(ValueError, match="tuple of two tensors"):
        ops.fft(np.ones(3))
    with pytest.raises(ValueError, match="same shape"):
        ops.fft((np.ones(3), np.ones(4)))
    with pytest.raises(ValueError, match="not of type float"):
        ops.fft2((np.ones((2, 2), "int32"), np.ones((2, 2), "int32")))
    with pytest.raises(ValueError, match="Last dimension of inputs to `cdist` must match"):
        ops.cdist(np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="size 2"):
        ops.view_as_complex(np.ones((2, 3)))


def test_submodules_hold_kerass_names(keras):
    def public(module):
        return {n for n in dir(module) if not n.startswith("_")}

    assert set(ops.numpy.__all__) == public(keras.ops.numpy)
    assert set(ops.linalg.__all__) == public(keras.ops.linalg)
    assert [n for n in ops.linalg.__all__ + ops.numpy.__all__ if not callable(
        getattr(ops, n))] == []
