"""Keras's array creation and index ops, which record nothing: ``array``, ``empty``,
``identity``, ``tri``, ``logspace``/``geomspace``, the window functions, ``nonzero``,
``unravel_index``, ``argpartition``, ``isin``, ``in_top_k``, ``unique`` and ``view``, in
Keras's dtypes (floatx for new float arrays, int32 for indices)."""
import builtins

import numpy as np

from .._config import floatx
from . import _core as o
from ._dtypes import keras_in
from ._tape import value_of


def _value(x):
    return keras_in(x)[1]


def _shape(x):
    return np.shape(_value(x))


def array(x, dtype=None):
    """``x`` as an array (Keras's conversion of Python numbers: floats to floatx)."""
    return o.convert_to_tensor(value_of(x), dtype=dtype)


def empty(shape, dtype=None):
    return np.empty(shape, dtype or floatx())


def empty_like(x, dtype=None):
    return np.empty(_shape(x), dtype or _value(x).dtype)


def identity(n, dtype=None):
    return np.identity(n, dtype=dtype or floatx())


def tri(N, M=None, k=0, dtype=None):
    """Ones at and below the ``k``-th diagonal of an ``N × M`` matrix, zeros above."""
    return np.tri(N, M, k, dtype=dtype or floatx())


def _spaced(f, start, stop, num, endpoint, dtype, axis, name, **kw):
    if num < 0:
        raise ValueError(f"{name}: `num` must be a non-negative integer; received num={num}")
    if dtype is None:
        wide = builtins.any(getattr(value_of(v), "dtype", None) == np.float64
                            for v in (start, stop))
        dtype = np.float64 if wide else floatx()
    return f(np.asarray(value_of(start), np.float64), np.asarray(value_of(stop), np.float64),
             int(num), endpoint=endpoint, axis=axis, **kw).astype(dtype)


def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    """``num`` powers of ``base`` with evenly spaced exponents from ``start`` to ``stop``."""
    return _spaced(np.logspace, start, stop, num, endpoint, dtype, axis, "logspace",
                   base=base)


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """``num`` numbers evenly spaced on a log scale from ``start`` to ``stop``."""
    return _spaced(np.geomspace, start, stop, num, endpoint, dtype, axis, "geomspace")


def _window(name, f):
    def window(x, *args):
        n = int(value_of(x))
        return f(n, *args).astype(np.float32)
    window.__name__ = window.__qualname__ = name
    window.__doc__ = f"The symmetric {name} window of ``x`` points, float32 (as Keras's)."
    return window


bartlett = _window("bartlett", np.bartlett)
blackman = _window("blackman", np.blackman)
hamming = _window("hamming", np.hamming)
hanning = _window("hanning", np.hanning)


def kaiser(x, beta):
    """The Kaiser window of ``x`` points with shape parameter ``beta``, float32."""
    return np.kaiser(int(value_of(x)), float(value_of(beta))).astype(np.float32)


def nonzero(x):
    """The indices (int32) of the entries that are not zero, one array per axis."""
    return tuple(i.astype(np.int32) for i in np.nonzero(_value(x)))


def unravel_index(indices, shape):
    """The coordinates in an array of ``shape`` of the flat ``indices``, one array per axis,
    in ``indices``' dtype."""
    if None in tuple(shape):
        raise ValueError(f"`shape` argument cannot contain `None`. Received: shape={shape}")
    idx = _value(indices)
    return tuple(c.astype(idx.dtype) for c in np.unravel_index(idx, tuple(shape)))


def argpartition(x, kth, axis=-1):
    """Indices (int32) that put the ``kth`` smallest entry in its sorted place along ``axis``,
    the smaller ones before it and the larger ones after."""
    return np.argpartition(_value(x), kth, axis=axis).astype(np.int32)


def isin(x1, x2, assume_unique=False, invert=False):
    """Whether each entry of ``x1`` is among the entries of ``x2``."""
    return np.isin(_value(x1), _value(x2), assume_unique=assume_unique, invert=invert)


def in_top_k(targets, predictions, k):
    """Whether each row's target class is among the ``k`` largest ``predictions`` of its row
    (ties with the k-th counting in, as TensorFlow's)."""
    p = _value(predictions)
    t = np.asarray(value_of(targets)).astype(np.int64)
    if p.ndim != 2 or t.shape != p.shape[:1]:
        raise ValueError(f"in_top_k: predictions must be (batch, classes) and targets "
                         f"(batch,); received predictions.shape={p.shape}, "
                         f"targets.shape={t.shape}")
    own = p[np.arange(len(t)), t]
    larger = np.sum(p > own[:, None], axis=1)
    return (larger < k) & np.isfinite(own)


def unique(x, sorted=True, return_index=False, return_inverse=False,  # noqa: A002
           return_counts=False, axis=None, size=None, fill_value=None):
    """The distinct entries of ``x`` (flattened without ``axis``), sorted; with
    ``return_index``/``return_inverse``/``return_counts`` also the first places, the
    inverse map and the counts (int32). ``size`` pads (with ``fill_value``, by default the
    smallest entry) or cuts the result to a fixed length."""
    xv = _value(x)
    out = np.unique(xv, return_index=True, return_inverse=True, return_counts=True, axis=axis)
    values, first, inverse, counts = out
    if not sorted:
        order = np.argsort(first, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        values = np.take(values, order, axis=0 if axis is None else axis)
        first, counts, inverse = first[order], counts[order], rank[inverse]
    if size is not None:
        n = values.shape[0 if axis is None else axis]
        if size < n:
            values = np.take(values, np.arange(size), axis=0 if axis is None else axis)
            first, counts = first[:size], counts[:size]
        elif size > n:
            fill = np.min(xv) if fill_value is None else fill_value
            pad = [(0, 0)] * values.ndim
            pad[0 if axis is None else axis] = (0, size - n)
            values = np.pad(values, pad, constant_values=fill)
            first = np.pad(first, (0, size - n))
            counts = np.pad(counts, (0, size - n))
    if axis is None:
        inverse = inverse.reshape(xv.shape)
    extras = [v.astype(np.int32) for v, wanted in
              ((first, return_index), (inverse, return_inverse), (counts, return_counts))
              if wanted]
    return (values, *extras) if extras else values


def view(x, dtype=None):
    """The bytes of ``x`` read as ``dtype`` (the last axis grows or shrinks by the ratio of
    the item sizes)."""
    xv = np.ascontiguousarray(_value(x))
    dtype = np.dtype(dtype or xv.dtype)
    if xv.ndim == 0 and dtype.itemsize != xv.dtype.itemsize or (
            xv.ndim and xv.shape[-1] * xv.dtype.itemsize % dtype.itemsize):
        raise ValueError(f"Cannot view array of shape {xv.shape} and dtype {xv.dtype.name} as "
                         f"dtype {dtype.name} because the total number of bytes is not "
                         f"divisible by the new itemsize.")
    return xv.view(dtype)
