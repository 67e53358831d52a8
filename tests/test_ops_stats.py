"""The statistics, NaN-skipping reductions and products of ``keras.ops`` added after the
first ops (quantiles, ``nan*``, ``average``, ``cumprod``, ``diff``, ``trapezoid``,
``corrcoef``, ``vdot``/``inner``/``kron``/``cross``/``correlate``, ``diagonal``/``trace``, and
the counting ops) against Keras's: values, dtypes, gradients (finite differences and
TensorFlow's ``GradientTape``), and the errors Keras raises."""
import numpy as np
import pytest

from _ops_parity import assert_same_as_keras, parity_tests
from rnncore import ops

NAN = np.array([[1.0, np.nan, 3.0, 0.5], [np.nan, np.nan, np.nan, np.nan],
                [2.0, -1.0, np.nan, 4.0]])



CASES = {
    "quantile_linear": (lambda K, a: K.quantile(a, [0.2, 0.5, 0.9], axis=1), [(3, 5)]),
    "quantile_methods": (lambda K, a: K.quantile(a, 0.3, axis=0, method="lower")
                         + K.quantile(a, 0.3, axis=0, method="higher") * 2.0
                         + K.quantile(a, 0.7, axis=0, method="midpoint")
                         + K.quantile(a, 0.6, axis=0, method="nearest"), [(4, 3)]),
    "percentile_keepdims": (lambda K, a: K.percentile(a, 40.0, axis=(0, 2), keepdims=True),
                            [(2, 3, 4)]),
    "median": (lambda K, a: K.median(a) + K.median(a, axis=-1), [(3, 4)]),
    "nansum_nanmean": (lambda K, a: K.nansum(a, axis=1) + K.nanmean(a, axis=1) * 2.0,
                       [(3, 4)]),
    "nanvar_nanstd": (lambda K, a: K.nanvar(a, axis=0) + K.nanstd(a, axis=0), [(3, 4)]),
    "nanmax_nanmin": (lambda K, a: K.nanmax(a, axis=-1) - K.nanmin(a, axis=-1) * 2.0,
                      [(3, 4)]),
    "nanprod": (lambda K, a: K.nanprod(a, axis=0, keepdims=True), [(3, 4)]),
    "nancumsum_nancumprod": (lambda K, a: K.nancumsum(a, axis=1) + K.nancumprod(a, axis=1),
                             [(3, 4)]),
    "nanmedian_nanquantile": (lambda K, a: K.nanmedian(a, axis=1) + K.nanquantile(
        a, 0.3, axis=1) + K.nanpercentile(a, 80.0, axis=1), [(3, 4)]),
    "ptp": (lambda K, a: K.ptp(a, axis=1), [(3, 4)]),
    "average": (lambda K, a, w: K.average(a) + K.average(a, axis=1, weights=K.abs(w) + 0.5),
                [(3, 4), (4,)]),
    "average_full_weights": (lambda K, a, w: K.average(a, axis=0, weights=K.abs(w) + 0.5),
                             [(3, 4), (3, 4)]),
    "cumprod": (lambda K, a: K.cumprod(a, axis=1) + K.reshape(K.cumprod(a), (3, 4)), [(3, 4)]),
    # (a * 1.0: Keras's diff needs a tensor, TF's variables lack ndim)
    "diff": (lambda K, a: K.diff(a * 1.0) * 2.0 + K.sum(K.diff(a * 1.0, n=2, axis=0)), [(3, 4)]),
    "trapezoid": (lambda K, a, x: K.trapezoid(a) + K.trapezoid(a, x=K.cumsum(K.abs(x)))
                  + K.trapezoid(a, dx=0.5, axis=0)[:3], [(3, 4), (4,)]),
    "corrcoef": (lambda K, a: K.corrcoef(a), [(3, 6)]),
    "vdot_inner": (lambda K, a, b: K.vdot(a, b) + K.inner(a, b), [(3, 4), (3, 4)]),
    "inner_nd": (lambda K, a, b: K.inner(a, b), [(2, 3, 4), (5, 4)]),
    "kron": (lambda K, a, b: K.kron(a, b), [(2, 3), (3, 2)]),
    "kron_ranks": (lambda K, a, b: K.kron(a, b), [(3,), (2, 2)]),
    "cross": (lambda K, a, b: K.cross(a * 1.0, b * 1.0), [(4, 3), (4, 3)]),
    "cross_axis_2d": (lambda K, a, b: K.cross(a * 1.0, b * 1.0, axis=0) * 2.0 + K.sum(K.cross(
        a[:2], b[:2], axisa=0, axisb=0)), [(3, 4), (3, 4)]),
    "correlate": (lambda K, a, b: K.correlate(a, b), [(7,), (3,)]),
    "correlate_same_full": (lambda K, a, b: K.sum(K.correlate(a, b, mode="full")) + K.correlate(
        a, b, mode="same"), [(6,), (4,)]),
    "diagonal_trace": (lambda K, a: K.diagonal(a * 1.0, offset=1) + K.trace(
        a * 1.0, offset=-1, axis1=1, axis2=2), [(3, 4, 4)]),
}
# compared with Keras on inputs holding NaNs at NAN's places (a row of NaNs only among them);
# by finite differences, without (a NaN output makes every difference NaN)
WITH_NANS = {"nansum_nanmean", "nanvar_nanstd", "nanmax_nanmin", "nanprod",
             "nancumsum_nancumprod", "nanmedian_nanquantile"}


def _with_nans(name, xs):
    if name in WITH_NANS:
        xs[0] = xs[0] + np.where(np.isnan(NAN[:, :xs[0].shape[1]]), np.nan, 0).astype(xs[0].dtype)
    return xs


(test_gradient_matches_finite_differences,
 test_value_and_gradient_match_keras_under_gradient_tape) = parity_tests(CASES, keras_inputs=_with_nans)


INT = np.array([[3, 1, 4, 1], [5, 9, 2, 6], [0, 0, 7, 2]], "int32")
CALLS = {
    "nanargmax": lambda K, x: K.nanargmax(x, axis=1),
    "nanargmin": lambda K, x: K.nanargmin(x, axis=-1, keepdims=True),
    "nanmax_all_nan": lambda K, x: K.nanmax(x, axis=1),
    "nanmean_all": lambda K, x: K.nanmean(x),
    "nansum_int": lambda K, x: K.nansum(INT, axis=0),
    "median_int": lambda K, x: K.median(INT, axis=1),
    "quantile_int": lambda K, x: K.quantile(INT, 0.25),
    "average_int": lambda K, x: K.average(INT, axis=0),
    "count_nonzero": lambda K, x: K.count_nonzero(INT, axis=1),
    "count_nonzero_all": lambda K, x: K.count_nonzero(INT),
    "cumprod_int": lambda K, x: K.cumprod(INT, axis=0),
    "prod_int_bool": lambda K, x: [K.prod(INT, axis=0), K.prod(INT > 0, axis=1),
                                   K.prod(INT.astype("int8"))],
    "cumsum_int_bool_dtype": lambda K, x: [K.cumsum(INT, axis=1), K.cumsum(INT > 2),
                                           K.cumsum(INT, dtype="float32")],
    "trace_int": lambda K, x: K.trace(INT),
    "vdot_int": lambda K, x: K.vdot(INT, INT),
    "kron_int": lambda K, x: K.kron(INT[:2, :2], INT[:1]),
    "cross_int": lambda K, x: K.cross(INT[:, :3], INT[::-1, 1:]),
    "correlate_int": lambda K, x: K.correlate(INT[1], INT[0, :2]),
    "diff_bool": lambda K, x: K.diff(INT > 2),
    "ptp_int": lambda K, x: K.ptp(INT, axis=0),
    "bincount": lambda K, x: K.bincount(INT.ravel()),
    "bincount_weights": lambda K, x: K.bincount(INT[0], weights=np.array(
        [0.5, 1.0, 2.0, 3.0], "float32"), minlength=8),
    "bincount_2d": lambda K, x: K.bincount(INT, minlength=10),
    "histogram": lambda K, x: K.histogram(np.array([0.1, 0.5, 0.5, 2.0, 3.5], "float32"), 4),
    "histogram_range": lambda K, x: K.histogram(np.array([0.1, 0.5, 2.0, 3.5], "float32"),
                                                bins=3, range=(0.0, 3.0)),
    "digitize": lambda K, x: K.digitize(np.array([0.2, 1.0, 6.4, 3.0]), [0.0, 1.0, 2.5, 4.0]),
    "searchsorted": lambda K, x: K.searchsorted(np.array([1.0, 2.0, 2.0, 5.0], "float32"),
                                                np.array([2.0, 0.0, 9.0], "float32")),
    "searchsorted_right": lambda K, x: K.searchsorted(np.array([1, 2, 2, 5], "int32"),
                                                      np.array([2, 5], "int32"), side="right"),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_value_and_dtype_match_keras(keras, name):
    x = NAN.astype("float32")
    assert_same_as_keras(CALLS[name](ops, x), CALLS[name](keras.ops, x))


def test_bad_arguments_are_named_as_keras():
    with pytest.raises(ValueError, match="Order `n` must be non-negative. Received n=-1"):
        ops.diff(np.ones(3), n=-1)
    with pytest.raises(ValueError, match="Received: side=middle"):
        ops.searchsorted(np.ones(3), np.ones(2), side="middle")
    with pytest.raises(ValueError, match="1-D sorted sequences"):
        ops.searchsorted(np.ones((2, 3)), np.ones(2))
    with pytest.raises(ValueError, match="Invalid mode: 'wide'"):
        ops.correlate(np.ones(3), np.ones(2), mode="wide")
    with pytest.raises(ValueError, match=r"q=\[1.5\]"):
        ops.quantile(np.ones(3), [1.5])
    with pytest.raises(ValueError, match="method='cubic'"):
        ops.median(np.ones(3)) + ops.quantile(np.ones(3), 0.5, method="cubic")
    with pytest.raises(ValueError, match="2 or 3 components"):
        ops.cross(np.ones((2, 4)), np.ones((2, 4)))
