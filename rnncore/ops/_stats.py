"""Statistics of ``keras.ops``: the NaN-skipping reductions (``nansum`` ... ``nanquantile``),
quantiles and medians, ``average``, ``ptp``, ``cumprod``, ``diff``, ``trapezoid``,
``corrcoef``, and the counting ops (``count_nonzero``, ``bincount``, ``histogram``,
``digitize``, ``searchsorted``), which record nothing.

The differentiable ones are written with the recorded ops where Keras's TensorFlow backend
composes them the same way, so their gradients are Keras's: a quantile's gradient reaches the
one or two sorted entries it interpolates, a NaN-skipping reduction's never reaches a NaN.
"""
import builtins

import numpy as np

from .._config import floatx
from . import _core as o
from ._common import _axes
from ._dtypes import float_dtype, keras_in, result_dtype
from ._arrays import nan_to_num
from ._more import prod, take_along_axis
from ._tape import make, value_of


def _value(x):
    return keras_in(x)[1]


def _clean(x, fill):
    """``x`` with its NaNs replaced by `fill` (recorded: no gradient reaches a NaN)."""
    xv = _value(x)
    if xv.dtype.kind not in "fc":
        return x, xv
    nan = np.isnan(xv)
    return (o.where(nan, np.asarray(fill, xv.dtype), x) if nan.any() else x), xv


# ---- NaN-skipping reductions ----------------------------------------------------------------
def nansum(x, axis=None, keepdims=False):
    """The sum over ``axis`` of the entries that are not NaN (small integers sum as int32)."""
    x, xv = _clean(x, 0)
    if xv.dtype.kind == "b" or xv.dtype in (np.int8, np.int16):
        x = o.cast(x, np.int32)
    elif xv.dtype in (np.uint8, np.uint16):
        x = o.cast(x, np.uint32)
    return o.sum(x, axis=axis, keepdims=keepdims)


def nanprod(x, axis=None, keepdims=False):
    """The product over ``axis`` of the entries that are not NaN."""
    x, _ = _clean(x, 1)
    return prod(x, axis=axis, keepdims=keepdims)


def nanmean(x, axis=None, keepdims=False):
    """The mean over ``axis`` of the entries that are not NaN (NaN where there are none)."""
    xv = _value(x)
    if xv.dtype.kind not in "fc":
        return o.mean(o.cast(x, np.float32), axis=axis, keepdims=keepdims)
    count = np.sum(~np.isnan(xv), axis=axis, keepdims=keepdims).astype(xv.dtype)
    with np.errstate(invalid="ignore", divide="ignore"):
        return o.divide(nansum(x, axis=axis, keepdims=keepdims), count)


def nanvar(x, axis=None, keepdims=False):
    """The variance over ``axis`` of the entries that are not NaN."""
    xv = _value(x)
    dtype = float_dtype(xv.dtype)
    x = o.cast(x, dtype)
    valid = ~np.isnan(xv)
    centered = o.where(valid, o.subtract(x, nanmean(x, axis=axis, keepdims=True)), 0)
    count = np.sum(valid, axis=_axis(axis), keepdims=keepdims).astype(dtype)
    return o.divide(o.sum(o.square(centered), axis=axis, keepdims=keepdims), count)


def nanstd(x, axis=None, keepdims=False):
    return o.sqrt(nanvar(x, axis=axis, keepdims=keepdims))


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def _nan_extreme(x, axis, keepdims, fill, reduce, name):
    xv = _value(x)
    if xv.dtype.kind not in "fc":
        if xv.dtype.kind == "b":
            return (np.any if name == "nanmax" else np.all)(xv, axis=_axis(axis),
                                                            keepdims=keepdims)
        return reduce(x, axis=axis, keepdims=keepdims)
    clean, _ = _clean(x, fill)
    out = reduce(clean, axis=axis, keepdims=keepdims)
    empty = np.all(np.isnan(xv), axis=_axis(axis), keepdims=keepdims)
    return o.where(empty, np.asarray(np.nan, xv.dtype), out) if np.any(empty) else out


def nanmax(x, axis=None, keepdims=False):
    """The largest entry over ``axis`` that is not NaN (NaN where all are)."""
    return _nan_extreme(x, axis, keepdims, -np.inf, o.max, "nanmax")


def nanmin(x, axis=None, keepdims=False):
    """The smallest entry over ``axis`` that is not NaN (NaN where all are)."""
    return _nan_extreme(x, axis, keepdims, np.inf, o.min, "nanmin")


def _nan_arg(x, axis, keepdims, fill, arg):
    xv = _value(x)
    if xv.dtype.kind not in "fc":
        return arg(xv, axis=axis, keepdims=keepdims).astype(np.int32)
    nan = np.isnan(xv)
    index = arg(np.where(nan, fill, xv), axis=axis, keepdims=keepdims).astype(np.int32)
    return np.where(np.all(nan, axis=axis, keepdims=keepdims), np.int32(-1), index)


def nanargmax(x, axis=None, keepdims=False):
    """The index (int32) of the largest entry over ``axis`` that is not NaN; -1 where all are
    NaN (Keras's)."""
    return _nan_arg(x, axis, keepdims, -np.inf, np.argmax)


def nanargmin(x, axis=None, keepdims=False):
    """The index (int32) of the smallest entry that is not NaN; -1 where all are NaN."""
    return _nan_arg(x, axis, keepdims, np.inf, np.argmin)


def nancumsum(x, axis=None, dtype=None):
    """The cumulative sum with NaNs counted as 0."""
    return o.cumsum(nan_to_num(x) if _value(x).dtype.kind in "fc" else x, axis=axis,
                    dtype=dtype)


def nancumprod(x, axis=None, dtype=None):
    """The cumulative product with NaNs counted as 1."""
    return cumprod(nan_to_num(x, nan=1.0) if _value(x).dtype.kind in "fc" else x,
                   axis=axis, dtype=dtype)


# ---- quantiles -------------------------------------------------------------------------------
_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(x, q, axis, method, keepdims, name, skip_nan=False):
    """The ``q``-quantiles of ``x`` over ``axis``: the axes moved last and flattened, sorted
    (NaNs, when skipped, sorted past the end and not counted), and the entries at the
    positions ``q * (n - 1)`` taken and interpolated by `method`."""
    if method not in _METHODS:
        raise ValueError(f"{name}: `method` must be one of {_METHODS}; received "
                         f"method={method!r}")
    xv = _value(x)
    qv = np.asarray(value_of(q), np.float64)
    if np.any((qv < 0) | (qv > 1)):
        raise ValueError(f"{name}: the quantiles must lie in [0, 1] (percentiles in [0, 100]); "
                         f"received q={value_of(q)}")
    dtype = float_dtype(xv.dtype)
    x = o.cast(x, dtype)
    axes = _axes(_axis(axis), xv.ndim)
    rest = [i for i in range(xv.ndim) if i not in axes]
    flat = o.reshape(o.transpose(x, rest + list(axes)), [xv.shape[i] for i in rest] + [-1])
    values = np.asarray(value_of(flat))
    nan = np.isnan(values)
    if skip_nan:
        flat = o.where(nan, np.asarray(np.inf, dtype), flat)
    order = np.argsort(np.asarray(value_of(flat)), axis=-1, kind="stable")
    ranked = take_along_axis(flat, order, axis=-1)
    count = (values.shape[-1] - nan.sum(-1)) if skip_nan else np.full(values.shape[:-1],
                                                                       values.shape[-1])
    # positions: (rest..., q...) in float64, as Keras's (tfp's) index arithmetic
    position = qv[(None,) * len(rest)] * (count.reshape(count.shape + (1,) * qv.ndim) - 1)
    below, above = np.floor(position), np.ceil(position)
    if method == "lower":
        above = below
    elif method == "higher":
        below = above
    elif method == "nearest":
        below = above = np.round(position)
    limit = np.maximum(values.shape[-1] - 1, 0)
    lo_index = np.clip(below, 0, limit).astype(np.int64).reshape(count.shape + (-1,))
    hi_index = np.clip(above, 0, limit).astype(np.int64).reshape(count.shape + (-1,))
    lo, hi = take_along_axis(ranked, lo_index, -1), take_along_axis(ranked, hi_index, -1)
    if method == "linear":
        weight = (position - below).reshape(lo_index.shape).astype(dtype)
        out = o.add(lo, o.multiply(o.subtract(hi, lo), weight))
    elif method == "midpoint":
        out = o.multiply(o.add(lo, hi), np.asarray(0.5, dtype))
    else:
        out = lo
    if skip_nan:
        empty = np.broadcast_to((count == 0)[..., None], lo_index.shape)
        out = o.where(empty, np.asarray(np.nan, dtype), out) if empty.any() else out
    out = o.reshape(out, count.shape + qv.shape)
    # NumPy's layout: the quantiles' axes first, then the axes kept
    out = o.transpose(out, list(range(len(rest), len(rest) + qv.ndim)) + list(range(len(rest))))
    if keepdims:
        shape = list(qv.shape) + [1 if i in axes else xv.shape[i] for i in range(xv.ndim)]
        out = o.reshape(out, shape)
    return out


def quantile(x, q, axis=None, method="linear", keepdims=False):
    """The ``q``-th quantiles of ``x`` over ``axis`` (``q`` in [0, 1]), interpolated by
    ``method`` (``"linear"``, ``"lower"``, ``"higher"``, ``"midpoint"``, ``"nearest"``)."""
    return _quantile(x, q, axis, method, keepdims, "quantile")


def percentile(x, q, axis=None, method="linear", keepdims=False):
    """The ``q``-th percentiles of ``x`` over ``axis`` (``q`` in [0, 100])."""
    return _quantile(x, np.asarray(value_of(q), np.float64) / 100, axis, method, keepdims,
                     "percentile")


def median(x, axis=None, keepdims=False):
    return _quantile(x, 0.5, axis, "linear", keepdims, "median")


def nanquantile(x, q, axis=None, method="linear", keepdims=False):
    """:func:`quantile` of the entries that are not NaN (NaN where there are none)."""
    return _quantile(x, q, axis, method, keepdims, "nanquantile", skip_nan=True)


def nanpercentile(x, q, axis=None, method="linear", keepdims=False):
    return _quantile(x, np.asarray(value_of(q), np.float64) / 100, axis, method, keepdims,
                     "nanpercentile", skip_nan=True)


def nanmedian(x, axis=None, keepdims=False):
    return _quantile(x, 0.5, axis, "linear", keepdims, "nanmedian", skip_nan=True)


# ---- other reductions -----------------------------------------------------------------------
def ptp(x, axis=None, keepdims=False):
    """The range (largest less smallest) over ``axis``."""
    return o.subtract(o.max(x, axis=axis, keepdims=keepdims),
                      o.min(x, axis=axis, keepdims=keepdims))


def average(x, axis=None, weights=None):
    """The mean over ``axis``, weighted by ``weights`` (of ``x``'s shape, or 1-D along
    ``axis``)."""
    xv = _value(x)
    if weights is None:
        return o.mean(o.cast(x, float_dtype(xv.dtype)), axis=axis)
    dtype = float_dtype(result_dtype(x, weights))
    x, weights = o.cast(x, dtype), o.cast(weights, dtype)
    wv = _value(weights)
    if axis is None or wv.ndim == xv.ndim:
        if axis is None and wv.shape != xv.shape:
            raise ValueError(f"average: without `axis`, weights must have the shape of x; "
                             f"received x.shape={xv.shape}, weights.shape={wv.shape}")
        return o.divide(o.sum(o.multiply(x, weights), axis=axis), o.sum(weights, axis=axis))
    if wv.ndim != 1 or wv.shape[0] != xv.shape[axis]:
        raise ValueError(f"average: 1-D weights must have the length of x along axis={axis}; "
                         f"received x.shape={xv.shape}, weights.shape={wv.shape}")
    return o.divide(o.tensordot(x, weights, axes=([axis], [0])), o.sum(weights))


def cumprod(x, axis=None, dtype=None):
    """The cumulative product along ``axis`` (of the flattened ``x`` without one). Its
    gradient is TensorFlow's, the reversed cumulative sum of ``g * y`` over ``x``."""
    t, xv = keras_in(x)
    if dtype is not None:
        xv = xv.astype(dtype)
    elif xv.dtype == bool:
        xv = xv.astype(np.int32)
    shape = xv.shape
    if axis is None:
        xv, axis = xv.reshape(-1), 0
    y = np.cumprod(xv, axis=axis, dtype=xv.dtype)  # NumPy would widen int32

    def vjp(g):
        with np.errstate(divide="ignore", invalid="ignore"):
            back = np.flip(np.cumsum(np.flip(g * y, axis), axis), axis) / xv
        return (back.reshape(shape),)
    return make(y, (t,), vjp, "cumprod")


def diff(a, n=1, axis=-1):
    """The ``n``-th differences along ``axis``."""
    av = _value(a)
    if n < 0:
        raise ValueError(f"Order `n` must be non-negative. Received n={n}")
    if n and av.ndim == 0:
        raise ValueError(f"`diff` requires input that is at least one dimensional. "
                         f"Received: a={av}")
    for _ in range(n):
        later = [builtins.slice(None)] * av.ndim
        earlier = list(later)
        later[axis], earlier[axis] = builtins.slice(1, None), builtins.slice(None, -1)
        if av.dtype == bool:
            a = np.not_equal(_value(a)[tuple(later)], _value(a)[tuple(earlier)])
        else:
            a = o.subtract(o.getitem(a, tuple(later)), o.getitem(a, tuple(earlier)))
    return a


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """The integral of ``y`` along ``axis`` by the trapezoidal rule, at the points ``x`` (or
    spaced ``dx``)."""
    yv = _value(y)
    dtype = float_dtype(yv.dtype)
    y = o.cast(y, dtype)
    ndim = yv.ndim
    later = [builtins.slice(None)] * ndim
    earlier = list(later)
    later[axis], earlier[axis] = builtins.slice(1, None), builtins.slice(None, -1)
    mean = o.multiply(o.add(o.getitem(y, tuple(later)), o.getitem(y, tuple(earlier))), 0.5)
    if x is None:
        step = np.asarray(value_of(dx), dtype)
    else:
        step = o.cast(diff(x, axis=axis if np.ndim(value_of(x)) == ndim else -1), dtype)
        if np.ndim(value_of(x)) == 1 and ndim > 1:
            shape = [1] * ndim
            shape[axis] = -1
            step = o.reshape(step, shape)
    return o.sum(o.multiply(mean, step), axis=axis)


def corrcoef(x):
    """The Pearson correlations of the rows of ``x`` (variables in rows, observations in
    columns), clipped to [-1, 1]."""
    xv = _value(x)
    if xv.ndim == 0:
        return np.asarray(np.nan, floatx())
    x = o.cast(x, float_dtype(xv.dtype))
    centered = o.subtract(x, o.mean(x, axis=-1, keepdims=True))
    n = np.asarray(xv.shape[-1] - 1, float_dtype(xv.dtype))
    cov = o.divide(o.matmul(centered, o.transpose(centered)), n) if xv.ndim == 2 else \
        o.divide(o.sum(o.square(centered)), n)
    if xv.ndim == 1:
        return o.clip(o.divide(cov, cov), -1.0, 1.0)
    std = o.sqrt(o.sum(o.multiply(cov, np.eye(xv.shape[0], dtype=bool)), axis=-1))
    return o.clip(o.divide(cov, o.multiply(o.expand_dims(std, 1), o.expand_dims(std, 0))),
                  -1.0, 1.0)


# ---- counting: no gradient ---------------------------------------------------------------
def count_nonzero(x, axis=None):
    """How many entries over ``axis`` are not zero (int32)."""
    return np.asarray(np.count_nonzero(_value(x), axis=_axis(axis))).astype(np.int32)


def bincount(x, weights=None, minlength=0, sparse=False):
    """How often each value occurs in the non-negative integers ``x`` (or the sum of their
    ``weights``); a 2-D ``x`` counts each row."""
    if sparse:
        raise ValueError("bincount: rnncore has no sparse tensors; received sparse=True")
    xv = _value(x)
    if xv.dtype.kind not in "iu":
        raise ValueError(f"bincount: x must be integers; received dtype={xv.dtype.name}")
    if xv.size and xv.min() < 0:
        raise ValueError(f"bincount: x must be non-negative; received a value {xv.min()}")
    wv = None if weights is None else _value(weights)
    length = builtins.max(int(xv.max()) + 1 if xv.size else 0, int(minlength))
    dtype = np.dtype(np.int32) if wv is None else result_dtype(wv)
    rows = xv.reshape(-1, xv.shape[-1]) if xv.ndim > 1 else xv[None]
    w_rows = None if wv is None else wv.reshape(rows.shape)
    out = np.stack([np.bincount(r, None if w_rows is None else w_rows[i], length)
                    for i, r in enumerate(rows)]).astype(dtype)
    return out if xv.ndim > 1 else out[0]


def histogram(x, bins=10, range=None):  # noqa: A002  (Keras's name)
    """The counts of ``x`` in ``bins`` equal bins over ``range`` (its extremes by default),
    and the ``bins + 1`` edges; counts in ``x``'s dtype, as Keras's."""
    xv = _value(x)
    if not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"histogram: `bins` must be a positive int; received bins={bins!r}")
    if xv.ndim != 1:
        raise ValueError(f"histogram: x must be 1-D; received x.shape={xv.shape}")
    lo, hi = (xv.min(), xv.max()) if range is None else range
    kept = xv[(xv >= lo) & (xv <= hi)]
    edges = np.linspace(lo, hi, bins + 1).astype(xv.dtype)
    index = np.searchsorted(edges[1:-1], kept, side="right")
    return np.bincount(index, minlength=bins).astype(xv.dtype), edges


def digitize(x, bins):
    """The index of the bin of ``bins`` (increasing) each entry of ``x`` falls in (int32)."""
    return np.digitize(_value(x), np.asarray(value_of(bins), np.float64),
                       right=False).astype(np.int32)


def searchsorted(sorted_sequence, values, side="left"):
    """Where each of ``values`` would be inserted into the 1-D ``sorted_sequence`` to keep it
    sorted (int32; int64 for sequences of 2³¹ entries or more)."""
    if side not in ("left", "right"):
        raise ValueError(f"`side` must be either 'left' or 'right'. Received: side={side}")
    seq = _value(sorted_sequence)
    if seq.ndim != 1:
        raise ValueError(f"`searchsorted` only supports 1-D sorted sequences. You can use "
                         f"`keras.ops.vectorized_map` to extend it to N-D sequences. "
                         f"Received: sorted_sequence.shape={seq.shape}")
    dtype = np.int32 if seq.shape[0] < 2 ** 31 else np.int64
    return np.searchsorted(seq, _value(values), side=side).astype(dtype)
