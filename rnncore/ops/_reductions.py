"""Reductions of ``rnncore.ops``: sums, means, extremes, variance, norms."""
import numpy as np

from ._common import _axes, _count, _float, _grow, _in, _tuple
from ._elementwise import sqrt, square
from ._tape import make


def sum(x, axis=None, keepdims=False):  # noqa: A001
    """Sum over ``axis`` (all axes when None), Keras's ``keras.ops.sum``."""
    t, xv = _in(x)
    xv = np.asarray(xv)
    # Keras's (JAX's) accumulator: int32 and int64 keep their width (NumPy widens int32 to
    # int64), bools and narrower integers sum as int32 (unsigned as uint32)
    kind, wide = xv.dtype.kind, xv.dtype.itemsize >= 4
    dtype = xv.dtype if kind in "iu" and wide else np.int32 if kind in "bi" else \
        np.uint32 if kind == "u" else None
    y = np.sum(xv, axis=_tuple(axis), keepdims=keepdims, dtype=dtype)
    return make(y, (t,), lambda g: (np.array(_grow(g, xv.shape, axis, keepdims)),), "sum")


def mean(x, axis=None, keepdims=False):
    t, xv = _in(x)
    xv = _float(xv)
    y = np.mean(xv, axis=_tuple(axis), keepdims=keepdims)
    n = xv.dtype.type(_count(xv.shape, axis))
    return make(y, (t,), lambda g: (np.array(_grow(g, xv.shape, axis, keepdims)) / n,), "mean")


def _extreme(name, f):
    def op(x, axis=None, keepdims=False, initial=None):
        t, xv = _in(x)
        y = f(xv, axis=_tuple(axis), keepdims=keepdims,
              **({} if initial is None else {"initial": initial}))

        def vjp(g):
            hit = (xv == _grow(y, xv.shape, axis, keepdims)).astype(g.dtype)
            # ties share the gradient, as TensorFlow's reduce_max does
            ties = np.sum(hit, axis=_axes(axis, xv.ndim), keepdims=True)
            return (hit * _grow(g, xv.shape, axis, keepdims) / ties,)
        return make(y, (t,), vjp, name)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Keras's ``keras.ops.{name}`` over ``axis``; tied extremes share the gradient."
    return op


max = amax = _extreme("max", np.max)  # noqa: A001
min = amin = _extreme("min", np.min)  # noqa: A001


def var(x, axis=None, keepdims=False):
    t, xv = _in(x)
    xv = _float(xv)
    m = np.mean(xv, axis=_tuple(axis), keepdims=True)
    y = np.mean((xv - m) ** 2, axis=_tuple(axis), keepdims=keepdims)
    n = xv.dtype.type(_count(xv.shape, axis))
    return make(y, (t,), lambda g: (_grow(g, xv.shape, axis, keepdims) * 2 * (xv - m) / n,),
                "var")


def std(x, axis=None, keepdims=False):
    return sqrt(var(x, axis=axis, keepdims=keepdims))


def norm(x, ord=None, axis=None, keepdims=False):
    """The Euclidean (Frobenius) norm over ``axis``; other ``ord`` values are not offered."""
    if ord not in (None, 2, "fro", "euclidean"):
        raise NotImplementedError(f"rnncore.ops.norm supports the Euclidean norm only; got "
                                  f"ord={ord!r}")
    return sqrt(sum(square(x), axis=axis, keepdims=keepdims))



def logsumexp(x, axis=None, keepdims=False):
    t, xv = _in(x)
    m = np.max(xv, axis=axis, keepdims=True)
    s = np.log(np.sum(np.exp(xv - m), axis=axis, keepdims=True)) + m
    y = s if keepdims else np.squeeze(s, axis=axis) if axis is not None else s.reshape(())
    return make(y, (t,), lambda g: (_grow(g, xv.shape, axis, keepdims) * np.exp(xv - s),),
                "logsumexp")
