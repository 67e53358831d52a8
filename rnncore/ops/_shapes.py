"""Shape ops of ``rnncore.ops``: reshaping, joining, splitting, indexing, tiling."""
import numpy as np

from ._common import _arr, _in, _tuple
from .._indexed_slices import IndexedSlices
from ._tape import Tensor, _unbroadcast, make, make_many, value_of


def reshape(x, newshape):
    t, xv = _in(x)
    y = np.reshape(xv, newshape)
    return make(y, (t,), lambda g: (np.reshape(g, np.shape(xv)),), "reshape")


def transpose(x, axes=None):
    t, xv = _in(x)
    y = np.transpose(xv, axes)
    inverse = None if axes is None else np.argsort([a % np.ndim(xv) for a in axes])
    return make(y, (t,), lambda g: (np.transpose(g, inverse),), "transpose")


def swapaxes(x, axis1, axis2):
    t, xv = _in(x)
    return make(np.swapaxes(xv, axis1, axis2), (t,),
                lambda g: (np.swapaxes(g, axis1, axis2),), "swapaxes")


def moveaxis(x, source, destination):
    t, xv = _in(x)
    return make(np.moveaxis(xv, source, destination), (t,),
                lambda g: (np.moveaxis(g, destination, source),), "moveaxis")


def expand_dims(x, axis):
    t, xv = _in(x)
    return make(np.expand_dims(xv, axis), (t,), lambda g: (np.reshape(g, np.shape(xv)),),
                "expand_dims")


def squeeze(x, axis=None):
    t, xv = _in(x)
    return make(np.squeeze(xv, axis=_tuple(axis)), (t,),
                lambda g: (np.reshape(g, np.shape(xv)),), "squeeze")


def broadcast_to(x, shape):
    t, xv = _in(x)
    return make(np.broadcast_to(xv, shape).copy(), (t,),
                lambda g: (_unbroadcast(g, np.shape(xv)),), "broadcast_to")


def _many(xs, name):
    if not isinstance(xs, (list, tuple)) or len(xs) == 0:
        raise ValueError(f"{name}: expected a non-empty list of tensors, got {xs!r}")
    ins = [_in(x) for x in xs]
    return [t for t, _ in ins], [_arr(v) for _, v in ins]


def concatenate(xs, axis=0):
    ts, vs = _many(xs, "concatenate")
    try:
        y = np.concatenate(vs, axis=axis)
    except ValueError:
        raise ValueError(f"concatenate: along axis={axis} the other dimensions must match; got "
                         f"shapes {[v.shape for v in vs]}") from None
    bounds = np.cumsum([v.shape[axis] for v in vs])[:-1]
    return make(y, ts, lambda g: np.split(g, bounds, axis=axis), "concatenate")


def stack(x, axis=0):
    if isinstance(x, (np.ndarray, Tensor)):  # a tensor stacks its slices, as in Keras
        x = list(x)
    ts, vs = _many(x, "stack")
    try:
        y = np.stack(vs, axis=axis)
    except ValueError:
        raise ValueError(f"stack: all tensors must have the same shape; got "
                         f"{[v.shape for v in vs]}") from None
    return make(y, ts, lambda g: [np.take(g, i, axis=axis) for i in range(len(vs))], "stack")


def unstack(x, num=None, axis=0):
    """The slices of ``x`` along ``axis``, as one recorded op (a custom cell's timesteps)."""
    t, xv = _in(x)
    ys = list(np.moveaxis(_arr(xv), axis, 0))

    def vjp(gs):
        gs = gs if isinstance(gs, list) else [gs]
        return (np.stack([np.zeros_like(y) if g is None else g for g, y in zip(gs, ys)],
                         axis=axis),)
    if len(ys) == 1:
        return [make(ys[0], (t,), lambda g: (np.expand_dims(g, axis),), "unstack")]
    return make_many(ys, (t,), vjp, "unstack")


def split(x, indices_or_sections, axis=0):
    t, xv = _in(x)
    ys = np.split(xv, indices_or_sections, axis=axis)

    def vjp(gs):
        gs = gs if isinstance(gs, list) else [gs]
        return (np.concatenate([np.zeros_like(y) if g is None else g for g, y in zip(gs, ys)],
                               axis=axis),)
    if len(ys) == 1:
        return [make(ys[0], (t,), lambda g: (g,), "split")]
    return make_many(ys, (t,), vjp, "split")


def _basic_index(key):
    keys = key if isinstance(key, tuple) else (key,)
    return builtins_all(isinstance(k, (slice, int, np.integer, type(None), type(Ellipsis)))
                        for k in keys)


builtins_all = __builtins__["all"] if isinstance(__builtins__, dict) else __builtins__.all


def getitem(x, key):
    """``x[key]`` (Python's indexing and NumPy's slicing)."""
    t, xv = _in(x)
    key = tuple(value_of(k) for k in key) if isinstance(key, tuple) else value_of(key)
    y = np.asarray(xv)[key]

    def vjp(g):
        d = np.zeros(np.shape(xv), g.dtype)
        if _basic_index(key):
            d[key] = g
        else:
            np.add.at(d, key, g)
        return (d,)
    return make(y, (t,), vjp, "getitem")


def take(x, indices, axis=None):
    """``x``'s entries at ``indices`` along ``axis`` (of the flattened ``x`` without one).

    Taken from a Variable along ``axis=0`` (a custom embedding's
    ``ops.take(self.embeddings, ids, axis=0)``), the Variable's gradient is an
    :class:`~rnncore._indexed_slices.IndexedSlices`, one slice per id occurrence, as
    TensorFlow's gather gives it: Adam, RMSprop and Adagrad then square the occurrences one by
    one, as Keras's do.
    """
    t, xv = _in(x)
    idx = np.asarray(value_of(indices)).astype(np.int64)
    y = np.take(xv, idx, axis=axis)
    # TensorFlow's gather returns slices for the literal axis 0 only (axis=-2 of a matrix is
    # dense there too); a Variable read is a leaf, where the slices reach the optimizer
    sparse = (axis is not None and not isinstance(axis, bool) and int(axis) == 0
              and isinstance(t, Tensor) and t.node is None and t.variable is not None)

    def vjp(g):
        if sparse:
            n = np.shape(xv)[0]
            rows = np.where(idx < 0, idx + n, idx).reshape(-1)
            return (IndexedSlices(rows, np.reshape(g, (rows.size,) + np.shape(xv)[1:]),
                                  np.shape(xv)),)
        d = np.zeros(np.size(xv) if axis is None else np.shape(xv), g.dtype)
        if axis is None:
            np.add.at(d, idx.ravel(), g.ravel())
            return (d.reshape(np.shape(xv)),)
        ax = axis % np.ndim(xv)
        dm = np.moveaxis(d, ax, 0)
        gm = np.moveaxis(g, tuple(range(ax, ax + idx.ndim)), tuple(range(idx.ndim)))
        np.add.at(dm, idx, gm)
        return (d,)
    return make(y, (t,), vjp, "take")


def tile(x, repeats):
    t, xv = _in(x)
    y = np.tile(xv, repeats)
    shape = np.shape(xv)

    def vjp(g):
        reps = (repeats,) if isinstance(repeats, (int, np.integer)) else tuple(repeats)
        full = (1,) * (g.ndim - len(shape)) + tuple(shape)
        reps = (1,) * (g.ndim - len(reps)) + reps
        g = g.reshape([n for pair in zip(reps, full) for n in pair])
        g = g.sum(axis=tuple(range(0, 2 * g.ndim // 2, 2)))
        return (g.reshape(shape),)
    return make(y, (t,), vjp, "tile")


def repeat(x, repeats, axis=None):
    t, xv = _in(x)
    y = np.repeat(xv, repeats, axis=axis)

    def vjp(g):
        if axis is None:
            idx = np.repeat(np.arange(np.size(xv)), repeats)
            d = np.zeros(np.size(xv), g.dtype)
            np.add.at(d, idx, g.ravel())
            return (d.reshape(np.shape(xv)),)
        idx = np.repeat(np.arange(np.shape(xv)[axis]), repeats)
        d = np.zeros(np.shape(xv), g.dtype)
        np.add.at(np.moveaxis(d, axis, 0), idx, np.moveaxis(g, axis, 0))
        return (d,)
    return make(y, (t,), vjp, "repeat")


def flip(x, axis=None):
    t, xv = _in(x)
    return make(np.flip(xv, axis=axis), (t,), lambda g: (np.flip(g, axis=axis),), "flip")


def cumsum(x, axis=None, dtype=None):
    """The running sum along ``axis`` (of the flattened ``x`` without one), in ``dtype`` or
    ``x``'s own (Keras's: int32 stays int32, bools count as int32)."""
    t, xv = _in(x)
    xv = np.asarray(xv)
    if dtype is not None or xv.dtype == bool:
        xv = xv.astype(dtype or np.int32)
    if axis is None:
        y = np.cumsum(np.ravel(xv), dtype=xv.dtype)
        return make(y, (t,), lambda g: (np.flip(np.cumsum(np.flip(g))).reshape(np.shape(xv)),),
                    "cumsum")
    y = np.cumsum(xv, axis=axis, dtype=xv.dtype)
    return make(y, (t,), lambda g: (np.flip(np.cumsum(np.flip(g, axis), axis), axis),), "cumsum")
