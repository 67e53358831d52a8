"""Array building and cleaning ops of ``keras.ops``: ``linspace``, ``vstack``, ``hstack``,
``nan_to_num``, with TensorFlow's results where they differ from NumPy's (``vstack`` of 1-D
arrays joins them end to end, as Keras's TensorFlow backend does)."""
import numpy as np

from .._config import floatx
from . import _core as o
from ._tape import value_of


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """``num`` evenly spaced values from ``start`` to ``stop`` (``stop`` left out when
    ``endpoint=False``), in floatx unless ``dtype`` says otherwise (Keras's ``linspace``);
    with ``retstep``, also the step (NaN for fewer than two values)."""
    if num < 0:
        raise ValueError(f"linspace: `num` must be a non-negative integer; received num={num}")
    if dtype is None:
        # Python numbers give floatx; an array of float64 keeps its precision (Keras's
        # result_type of the two and `float`)
        wide = any(getattr(value_of(v), "dtype", None) == np.float64 for v in (start, stop))
        dtype = np.float64 if wide else floatx()
    dtype = np.dtype(dtype)
    values, step = np.linspace(np.asarray(value_of(start), dtype),
                               np.asarray(value_of(stop), dtype), int(num), endpoint=endpoint,
                               retstep=True, axis=axis)
    values = values.astype(dtype, copy=False)
    if retstep:
        return values, np.asarray(step if int(num) > int(bool(endpoint)) else np.nan,
                                  dtype if dtype.kind == "f" else floatx())
    return values


def vstack(xs):
    """The arrays of ``xs`` joined along their first axis (TensorFlow's ``concat(xs, 0)``: 1-D
    arrays are joined end to end, not stacked as rows)."""
    return o.concatenate(list(xs), axis=0)


def hstack(xs):
    """The arrays of ``xs`` joined along their second axis (their only one when 1-D)."""
    xs = list(xs)
    return o.concatenate(xs, axis=0 if np.ndim(value_of(xs[0])) == 1 else 1)


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """``x`` with NaN replaced by ``nan``, +inf by ``posinf`` and -inf by ``neginf`` (the
    dtype's largest and lowest finite values by default); integers come back unchanged. The
    gradient passes where ``x`` was finite."""
    xv = np.asarray(value_of(x))
    if xv.dtype.kind not in "fc":
        return x
    info = np.finfo(xv.dtype)
    xv_pos, xv_neg = np.isposinf(xv), np.isneginf(xv)
    x = o.where(np.isnan(xv), np.asarray(nan, xv.dtype), x)
    x = o.where(xv_pos, np.asarray(info.max if posinf is None else posinf, xv.dtype), x)
    return o.where(xv_neg, np.asarray(info.min if neginf is None else neginf, xv.dtype), x)
