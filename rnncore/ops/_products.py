"""More products and diagonals of ``keras.ops``: ``vdot``, ``inner``, ``kron``, ``cross``,
``correlate``, ``diagonal`` and ``trace``, written with the recorded ops so that each has its
gradient, in Keras's result dtypes (integer products stay integers)."""
import numpy as np

from . import _core as o
from ._more import pad
from ._dtypes import float_dtype, keras_in, result_dtype
from ._tape import make


def _pair(x1, x2):
    """Both arguments in their common dtype (Keras's ``result_type``), and that dtype."""
    dtype = result_dtype(x1, x2)
    return o.cast(x1, dtype), o.cast(x2, dtype), dtype


def vdot(x1, x2):
    """The dot product of the flattened ``x1`` and ``x2``."""
    a, b, _ = _pair(x1, x2)
    return o.sum(o.multiply(o.reshape(a, (-1,)), o.reshape(b, (-1,))))


def inner(x1, x2):
    """The sum of products over the last axes of ``x1`` and ``x2`` (a product when either is a
    scalar)."""
    a, b, _ = _pair(x1, x2)
    if np.ndim(keras_in(a)[1]) == 0 or np.ndim(keras_in(b)[1]) == 0:
        return o.multiply(a, b)
    return o.tensordot(a, b, axes=([-1], [-1]))


def kron(x1, x2):
    """The Kronecker product: every entry of ``x1`` times the whole of ``x2``, in blocks."""
    a, b, _ = _pair(x1, x2)
    sa, sb = np.shape(keras_in(a)[1]), np.shape(keras_in(b)[1])
    n = max(len(sa), len(sb))
    sa, sb = (1,) * (n - len(sa)) + sa, (1,) * (n - len(sb)) + sb
    # interleave: a's axis i becomes (a_i, 1), b's (1, b_i); their product is (a_i, b_i)
    a = o.reshape(a, [d for s in sa for d in (s, 1)])
    b = o.reshape(b, [d for s in sb for d in (1, s)])
    return o.reshape(o.multiply(a, b), [p * q for p, q in zip(sa, sb)])


def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """The cross product of vectors of 3 (or 2, read with a zero third) components along
    ``axisa`` of ``x1`` and ``axisb`` of ``x2``; the result's vectors lie along ``axisc`` (all
    three are ``axis`` when given). Two 2-vectors give the scalar third component."""
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b, _ = _pair(x1, x2)
    a, b = o.moveaxis(a, axisa, -1), o.moveaxis(b, axisb, -1)
    na, nb = np.shape(keras_in(a)[1])[-1], np.shape(keras_in(b)[1])[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError(f"cross: the vectors must have 2 or 3 components; received "
                         f"x1.shape={np.shape(keras_in(x1)[1])} (axisa={axisa}), "
                         f"x2.shape={np.shape(keras_in(x2)[1])} (axisb={axisb})")
    ax = [o.getitem(a, (Ellipsis, i)) for i in range(na)]
    bx = [o.getitem(b, (Ellipsis, i)) for i in range(nb)]
    if na == nb == 2:
        return o.subtract(o.multiply(ax[0], bx[1]), o.multiply(ax[1], bx[0]))
    zero = np.zeros_like(keras_in(ax[0] if na == 2 else bx[0])[1])
    ax, bx = ax + [zero] * (3 - na), bx + [zero] * (3 - nb)
    c = o.stack([o.subtract(o.multiply(ax[1], bx[2]), o.multiply(ax[2], bx[1])),
                 o.subtract(o.multiply(ax[2], bx[0]), o.multiply(ax[0], bx[2])),
                 o.subtract(o.multiply(ax[0], bx[1]), o.multiply(ax[1], bx[0]))], axis=-1)
    return o.moveaxis(c, -1, axisc)


def correlate(x1, x2, mode="valid"):
    """The cross-correlation of the 1-D ``x1`` and ``x2``: ``c[k] = sum_j x1[k + j] * x2[j]``
    over the shifts ``mode`` keeps (``"valid"``: ``x2`` inside ``x1``; ``"full"``: any
    overlap; ``"same"``: the central ``max(n, m)``). Integers give float32 (int64 gives
    float64), as Keras's."""
    if mode not in ("valid", "same", "full"):
        raise ValueError(f"Invalid mode: '{mode}'. Mode must be one of: 'full', 'same', "
                         f"'valid'.")
    dtype = result_dtype(x1, x2)
    dtype = np.dtype(np.float64) if dtype == np.int64 else float_dtype(dtype)
    a, b = o.cast(x1, dtype), o.cast(x2, dtype)
    n, m = np.shape(keras_in(a)[1])[0], np.shape(keras_in(b)[1])[0]
    if mode != "valid":
        a = pad(a, ((m - 1, m - 1),))
    length = np.shape(keras_in(a)[1])[0] - m + 1
    if length < 1:
        raise ValueError(f"correlate: with mode='valid' x2 must not be longer than x1; "
                         f"received lengths {n} and {m}")
    windows = o.take(a, np.arange(length)[:, None] + np.arange(m)[None, :], axis=0)
    out = o.matmul(windows, b)
    if mode == "same":
        start = (n + m - 1 - max(n, m)) // 2
        out = o.getitem(out, slice(start, start + max(n, m)))
    return out


def diagonal(x, offset=0, axis1=0, axis2=1):
    """The ``offset``-th diagonal of the matrices over ``axis1`` and ``axis2``, as the last
    axis of the result (NumPy's layout); the gradient goes back to the diagonal."""
    t, xv = keras_in(x)
    y = np.diagonal(xv, offset, axis1, axis2).copy()

    def vjp(g):
        d = np.zeros(xv.shape, g.dtype)
        moved = np.moveaxis(d, (axis1, axis2), (-2, -1))  # a view: writes reach d
        k = g.shape[-1]
        rows = np.arange(k) + max(-offset, 0)
        moved[..., rows, rows + offset] = g
        return (d,)
    return make(y, (t,), vjp, "diagonal")


def trace(x, offset=0, axis1=0, axis2=1):
    """The sum along the ``offset``-th diagonal over ``axis1`` and ``axis2`` (small integers
    sum as int32)."""
    _, xv = keras_in(x)
    if xv.dtype.kind == "b" or xv.dtype in (np.int8, np.int16):
        x = o.cast(x, np.int32)
    elif xv.dtype in (np.uint8, np.uint16):
        x = o.cast(x, np.uint32)
    return o.sum(diagonal(x, offset, axis1, axis2), axis=-1)
