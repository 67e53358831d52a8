"""More of Keras's ``keras.ops``: masks, padding, products, sorting and the error function,
most written with the ops of ``_core`` so that their gradients come from those."""
import builtins
import math

import numpy as np

from . import _core as o
from ._common import _axes, _float, _grow, _in, _tuple
from ._tape import make, value_of


def tril(x, k=0):
    """``x`` with the entries above the ``k``-th diagonal of its last two axes zeroed."""
    shape = np.shape(value_of(x))
    return o.multiply(x, np.tril(np.ones(shape[-2:], bool), k).astype(
        np.asarray(value_of(x)).dtype))


def triu(x, k=0):
    shape = np.shape(value_of(x))
    return o.multiply(x, np.triu(np.ones(shape[-2:], bool), k).astype(
        np.asarray(value_of(x)).dtype))


def pad(x, pad_width, mode="constant", constant_values=None):
    """``x`` padded by ``pad_width`` (one ``(before, after)`` per axis) with
    ``constant_values`` (0 by default); modes other than ``"constant"`` are not offered."""
    if mode != "constant":
        raise NotImplementedError(f"rnncore.ops.pad supports mode='constant' only; got "
                                  f"mode={mode!r}")
    t, xv = _in(x)
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (np.ndim(xv), 2))
    y = np.pad(xv, widths, constant_values=0 if constant_values is None else constant_values)
    inner = tuple(builtins.slice(int(b), y.shape[i] - int(a)) for i, (b, a) in enumerate(widths))
    return make(y, (t,), lambda g: (g[inner],), "pad")


def slice(inputs, start_indices, shape):  # noqa: A001  (Keras's name)
    """The block of ``inputs`` of ``shape`` starting at ``start_indices``."""
    index = tuple(builtins.slice(int(s), int(s) + int(n)) for s, n in zip(start_indices, shape))
    return o.getitem(inputs, index)


def prod(x, axis=None, keepdims=False, dtype=None):
    """The product over ``axis``; its gradient is exact where some entries are zero."""
    t, xv = _in(x)
    xv = np.asarray(xv)
    # Keras's accumulator: bools and narrow integers as (u)int32, wider types their own
    # (NumPy widens int32 to int64); Keras's TensorFlow backend leaves `dtype` unused
    if dtype is None and (xv.dtype == bool or xv.dtype.kind in "iu" and xv.dtype.itemsize < 4):
        xv = xv.astype(np.uint32 if xv.dtype.kind == "u" else np.int32)
    y = np.prod(xv, axis=_tuple(axis), keepdims=keepdims,
                dtype=xv.dtype if xv.dtype.kind in "iu" else None)

    def vjp(g):
        axes = _axes(axis, xv.ndim)
        # the product of all the other entries: exclusive products from both sides
        moved = np.moveaxis(xv, axes, tuple(range(len(axes))))
        flat = moved.reshape((-1,) + moved.shape[len(axes):])
        before = np.concatenate([np.ones_like(flat[:1]), np.cumprod(flat, axis=0)[:-1]])
        after = np.flip(np.concatenate([np.ones_like(flat[:1]),
                                        np.cumprod(np.flip(flat, 0), axis=0)[:-1]]), 0)
        others = np.moveaxis((before * after).reshape(moved.shape), tuple(range(len(axes))),
                             axes)
        return (_grow(g, xv.shape, axis, keepdims) * others,)
    return make(y, (t,), vjp, "prod")


def reciprocal(x):
    return o.divide(1.0, x)


def outer(x1, x2):
    return o.multiply(o.reshape(x1, (-1, 1)), o.reshape(x2, (1, -1)))


def log2(x):
    return o.divide(o.log(x), math.log(2.0))


def log10(x):
    return o.divide(o.log(x), math.log(10.0))


def log_sigmoid(x):
    return o.negative(o.softplus(o.negative(x)))


def erf(x):
    """The error function, element-wise."""
    from scipy.special import erf as _erf

    t, xv = _in(x)
    xv = _float(xv)
    y = _erf(xv).astype(xv.dtype)
    return make(y, (t,), lambda g: (g * (2 / math.sqrt(math.pi)) * np.exp(-xv * xv),), "erf")


def gelu(x, approximate=True):
    """Keras's ``gelu``: the tanh approximation by default, else ``x * Φ(x)`` through erf."""
    if approximate:
        c = math.sqrt(2 / math.pi)
        return 0.5 * x * (1.0 + o.tanh(c * (x + 0.044715 * o.power(x, 3.0))))
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def take_along_axis(x, indices, axis=None):
    t, xv = _in(x)
    idx = np.asarray(value_of(indices)).astype(np.int64)
    if axis is None:
        xv, axis = np.ravel(xv), 0
    y = np.take_along_axis(np.asarray(xv), idx, axis=axis)
    shape = np.shape(value_of(x))

    def vjp(g):
        d = np.zeros(np.shape(xv), g.dtype)
        # scatter-add along the axis (repeated indices add up)
        grid = list(np.indices(idx.shape, sparse=True))
        grid[axis] = idx
        np.add.at(d, tuple(grid), g)
        return (d.reshape(shape),)
    return make(y, (t,), vjp, "take_along_axis")


def sort(x, axis=-1):
    """``x`` sorted along ``axis``; the gradient goes back to each value's place."""
    return take_along_axis(x, np.argsort(np.asarray(value_of(x)), axis=axis), axis=axis)


def argsort(x, axis=-1):
    return np.argsort(np.asarray(value_of(x)), axis=axis).astype(np.int32)
