"""What every op of ``rnncore.ops`` shares: reading its arguments, and the axis arithmetic of
reductions."""
import numpy as np

from ._tape import Tensor, as_recorded, value_of


def _in(x):
    """(recorded form, NumPy value) of an op's argument."""
    x = as_recorded(x)
    if isinstance(x, Tensor):
        return x, x.value
    if isinstance(x, (list, tuple)):
        items = [as_recorded(v) for v in x]
        if any(isinstance(v, Tensor) for v in items):
            # a list of recorded tensors (``ops.sum(model.losses)``) is their stack, so that
            # the gradient reaches each
            from ._shapes import stack
            t = stack(items)
            return t, t.value
        x = np.asarray([value_of(v) for v in items])
    return x, x


def _arr(v):
    return v if isinstance(v, np.ndarray) else np.asarray(v)


def _need(x):
    return isinstance(x, Tensor)


def _float(v):
    v = _arr(v)
    return v if v.dtype.kind in "fc" else v.astype(np.float32)


def _sigmoid(x):
    # exp of -|x| only: no overflow for large inputs of either sign
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def _softplus(x):
    return np.logaddexp(np.zeros((), x.dtype), x)


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    return tuple(sorted(a % ndim for a in axes))


def _grow(g, shape, axis, keepdims):
    """A reduction's output gradient `g` put back on the reduced axes of `shape`."""
    if not keepdims:
        g = np.expand_dims(g, _axes(axis, len(shape)))
    return np.broadcast_to(g, shape)


def _count(shape, axis):
    return int(np.prod([shape[a] for a in _axes(axis, len(shape))], dtype=np.int64))


def _tuple(axis):
    return tuple(axis) if isinstance(axis, list) else axis
