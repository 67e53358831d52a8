"""Reductions of ``rnncore.ops``: sums, means, extremes, variance, norms."""
import numpy as np

from ._common import _axes, _count, _float, _grow, _in, _tuple
from .._config import floatx
from ._elementwise import abs, power, sqrt, square  # noqa: A004
from ._tape import make, value_of


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
    """Keras's ``norm``: over one axis a vector norm (``ord`` None or 2, ±inf, 0, any
    number), over two a matrix norm (None or ``"fro"``, ±1, ±inf, ±2, ``"nuc"``); all axes
    when ``axis`` is None (then the norm of the flattened ``x``, or of the matrix)."""
    from ._core import cast  # (_core gathers this module)
    from ._dtypes import float_dtype, keras_in

    t, xv = keras_in(x)
    ndim = xv.ndim
    axes = tuple(range(ndim)) if axis is None else (axis,) if isinstance(
        axis, (int, np.integer)) else tuple(axis)
    if any(a < -ndim or a >= ndim for a in axes):
        raise ValueError(f"All `axis` values must be in the range [-ndim, ndim). Received "
                         f"inputs with ndim={ndim}, while axis={axis}")
    dtype = np.dtype(floatx()) if xv.dtype == np.int64 else float_dtype(xv.dtype)
    x = t if xv.dtype == dtype else cast(t, dtype)
    if len(axes) == 1:
        axis = axes[0]
        if ord is None or ord == 2:
            return sqrt(sum(square(x), axis=axis, keepdims=keepdims))
        if isinstance(ord, str):
            raise ValueError(f"Invalid `ord` argument for vector norm. Received: ord={ord}")
        if ord == float("inf"):
            return max(abs(x), axis=axis, keepdims=keepdims)
        if ord == float("-inf"):
            return min(abs(x), axis=axis, keepdims=keepdims)
        if ord == 0:
            return np.sum(np.asarray(value_of(x)) != 0, axis=axis,
                          keepdims=keepdims).astype(dtype)
        p = np.asarray(ord, dtype)
        return power(sum(power(abs(x), p), axis=axis, keepdims=keepdims), 1 / p)
    if len(axes) != 2:
        raise ValueError(f"Invalid axis values. Received: axis={axis}")
    rows, cols = (a % ndim for a in axes)
    if ord is None or ord == "fro":
        return sqrt(sum(square(x), axis=axes, keepdims=keepdims))
    if ord in (1, -1, float("inf"), float("-inf")):
        # ±1: the extreme column sum; ±inf: the extreme row sum
        summed, then = (rows, cols) if ord in (1, -1) else (cols, rows)
        if not keepdims and then > summed:
            then -= 1
        pick = max if ord in (1, float("inf")) else min
        return pick(sum(abs(x), axis=summed, keepdims=keepdims), axis=then, keepdims=keepdims)
    if ord in ("nuc", 2, -2):
        from ._linalg_more import svd
        from ._shapes import expand_dims, moveaxis

        s = svd(moveaxis(x, axes, (-2, -1)), compute_uv=False)
        out = sum(s, axis=-1) if ord == "nuc" else (max if ord == 2 else min)(s, axis=-1)
        return expand_dims(expand_dims(out, axes[0]), axes[1]) if keepdims else out
    raise ValueError(f"Invalid `ord` argument for matrix norm. Received: ord={ord}")


def logsumexp(x, axis=None, keepdims=False):
    t, xv = _in(x)
    m = np.max(xv, axis=axis, keepdims=True)
    s = np.log(np.sum(np.exp(xv - m), axis=axis, keepdims=True)) + m
    y = s if keepdims else np.squeeze(s, axis=axis) if axis is not None else s.reshape(())
    return make(y, (t,), lambda g: (_grow(g, xv.shape, axis, keepdims) * np.exp(xv - s),),
                "logsumexp")
