"""Array building, splitting, rearranging and indexing ops of ``keras.ops`` beyond the first
ones: ``append``, ``array_split`` and the ``h/v/dsplit``s, ``dstack``, ``diag``, ``roll``,
``rot90``, ``select``, ``vander``, ``meshgrid``, the scatters and ``slice_update``, the other
segment reductions (the creation and index ops are in ``_arrays_index``).

They are written with the recorded ops of ``_core`` (a scatter's gradient is written here: it
reads back the places it wrote), in Keras's dtypes.
"""
import builtins

import numpy as np

from . import _core as o
from ._dtypes import keras_in, result_dtype
from ._tape import make, value_of


def _value(x):
    return keras_in(x)[1]


def _shape(x):
    return np.shape(_value(x))


# ---- joining and splitting ---------------------------------------------------------------
def append(x1, x2, axis=None):
    """``x2`` joined after ``x1`` along ``axis`` (both flattened without one)."""
    if axis is None:
        return o.concatenate([o.reshape(x1, (-1,)), o.reshape(x2, (-1,))], axis=0)
    return o.concatenate([x1, x2], axis=axis)


def array_split(x, indices_or_sections, axis=0):
    """``x`` split along ``axis`` into ``indices_or_sections`` parts as equal as can be (the
    first ones one longer), or at the given indices."""
    n = _shape(x)[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        sections = int(indices_or_sections)
        if sections < 1:
            raise ValueError(f"array_split: `indices_or_sections` must be a positive int or "
                             f"a list of indices; received {indices_or_sections}")
        size, extra = divmod(n, sections)
        bounds = np.cumsum([0] + [size + 1] * extra + [size] * (sections - extra))
    else:
        bounds = [0] + [min(int(i), n) for i in indices_or_sections] + [n]
    index = [builtins.slice(None)] * len(_shape(x))
    parts = []
    for start, stop in zip(bounds[:-1], bounds[1:]):
        index[axis] = builtins.slice(int(start), int(max(start, stop)))
        parts.append(o.getitem(x, tuple(index)))
    return parts


def _split_along(x, indices_or_sections, axis, name, min_ndim):
    if len(_shape(x)) < min_ndim:
        raise ValueError(f"{name}: x must have at least {min_ndim} dimensions; received "
                         f"x.shape={_shape(x)}")
    return o.split(x, indices_or_sections, axis=axis)


def hsplit(x, indices_or_sections):
    """``split`` along the second axis (the only one of 1-D ``x``)."""
    return _split_along(x, indices_or_sections, 1 if len(_shape(x)) > 1 else 0, "hsplit", 1)


def vsplit(x, indices_or_sections):
    """``split`` along the first axis of an ``x`` of 2 or more dimensions."""
    return _split_along(x, indices_or_sections, 0, "vsplit", 2)


def dsplit(x, indices_or_sections):
    """``split`` along the third axis of an ``x`` of 3 or more dimensions."""
    return _split_along(x, indices_or_sections, 2, "dsplit", 3)


def dstack(xs):
    """The arrays joined along a third axis (1-D ``(n,)`` read as ``(1, n, 1)``, 2-D as
    ``(m, n, 1)``)."""
    def as_3d(x):
        shape = _shape(x)
        if len(shape) == 0:
            return o.reshape(x, (1, 1, 1))
        if len(shape) == 1:
            return o.reshape(x, (1, shape[0], 1))
        return o.expand_dims(x, -1) if len(shape) == 2 else x
    return o.concatenate([as_3d(x) for x in xs], axis=2)


# ---- rearranging -------------------------------------------------------------------------
def get_item(x, key):
    """``x[key]`` (Keras's function for the indexing operator)."""
    return o.getitem(x, key)


def ravel(x):
    return o.reshape(x, (-1,))


def fliplr(x):
    return o.flip(x, axis=1)


def flipud(x):
    return o.flip(x, axis=0)


def roll(x, shift, axis=None):
    """``x`` rolled by ``shift`` places along ``axis`` (of the flattened ``x`` without one),
    entries leaving one end coming back at the other."""
    if axis is None:
        return o.reshape(roll(o.reshape(x, (-1,)), shift, 0), _shape(x))
    shifts = np.broadcast_to(np.asarray(value_of(shift)), np.shape(axis))
    for s, a in zip(np.atleast_1d(shifts), np.atleast_1d(axis)):
        n = _shape(x)[a]
        x = o.take(x, (np.arange(n) - int(s)) % n if n else np.arange(0), axis=int(a))
    return x


def rot90(array, k=1, axes=(0, 1)):
    """``array`` rotated by ``k`` quarter turns in the plane of ``axes`` (from the first axis
    toward the second)."""
    if len(axes) != 2 or axes[0] % len(_shape(array)) == axes[1] % len(_shape(array)):
        raise ValueError(f"rot90: `axes` must name two different axes; received axes={axes}")
    if len(_shape(array)) < 2:
        raise ValueError(f"rot90: the array must have at least 2 dimensions; received "
                         f"array.shape={_shape(array)}")
    k = int(k) % 4
    a, b = axes
    if k == 1:
        return o.swapaxes(o.flip(array, axis=b), a, b)
    if k == 2:
        return o.flip(o.flip(array, axis=a), axis=b)
    if k == 3:
        return o.flip(o.swapaxes(array, a, b), axis=b)
    return array


def diag(x, k=0):
    """The ``k``-th diagonal of a matrix, or the square matrix with vector ``x`` on its
    ``k``-th diagonal."""
    shape = _shape(x)
    if len(shape) == 2:
        from ._products import diagonal

        return diagonal(x, offset=k)
    if len(shape) != 1:
        raise ValueError(f"diag: x must be 1-D or 2-D; received x.shape={shape}")
    n = shape[0] + abs(k)
    rows = np.arange(shape[0]) + max(-k, 0)
    index = np.full((n, n), shape[0])  # an index past the end reads the appended zero
    index[rows, rows + k] = np.arange(shape[0])
    padded = o.concatenate([x, np.zeros(1, _value(x).dtype)], axis=0)
    return o.take(padded, index, axis=0)


def diagflat(x, k=0):
    """The square matrix with the flattened ``x`` on its ``k``-th diagonal."""
    return diag(o.reshape(x, (-1,)), k)


def select(condlist, choicelist, default=0):
    """Per entry, the choice of the first condition that holds, else ``default``."""
    if not isinstance(condlist, (list, tuple)) or not isinstance(choicelist, (list, tuple)):
        raise ValueError(f"select: condlist and choicelist must be lists; received "
                         f"condlist={type(condlist).__name__}, "
                         f"choicelist={type(choicelist).__name__}")
    if len(condlist) != len(choicelist):
        raise ValueError(f"select: condlist and choicelist must be of the same length; "
                         f"received {len(condlist)} and {len(choicelist)}")
    dtype = result_dtype(*choicelist)
    out = np.asarray(value_of(default), dtype)
    for cond, choice in zip(reversed(condlist), reversed(choicelist)):
        out = o.where(np.asarray(_value(cond), bool), o.cast(choice, dtype), out)
    return out


def vander(x, N=None, increasing=False):
    """The Vandermonde matrix of the 1-D ``x``: its powers ``N-1 ... 0`` as columns (``0 ...
    N-1`` when ``increasing``)."""
    shape = _shape(x)
    if len(shape) != 1:
        raise ValueError(f"vander: x must be 1-D; received x.shape={shape}")
    n = shape[0] if N is None else int(N)
    if n < 0:
        raise ValueError(f"vander: N must be non-negative; received N={N}")
    powers = np.arange(n) if increasing else np.arange(n)[::-1]
    dtype = _value(x).dtype
    columns = [o.power(x, np.asarray(p, dtype)) if p else o.ones_like(x) for p in powers]
    return o.stack(columns, axis=1) if columns else np.zeros((shape[0], 0), dtype)


def meshgrid(*x, indexing="xy"):
    """Coordinate arrays of the grid over the 1-D ``x``s (``"xy"``: the first two swapped,
    as for images; ``"ij"``: matrix order)."""
    if indexing not in ("xy", "ij"):
        raise ValueError(f"Valid values for `indexing` are 'xy' and 'ij'. Received: "
                         f"indexing={indexing}")
    sizes = [int(np.size(_value(v))) for v in x]
    if indexing == "xy" and len(sizes) > 1:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    grids = []
    for i, v in enumerate(x):
        place = i if indexing == "ij" or len(sizes) < 2 else {0: 1, 1: 0}.get(i, i)
        shape = [1] * len(sizes)
        shape[place] = -1
        grids.append(o.broadcast_to(o.reshape(v, shape), sizes))
    return grids


# ---- writing into arrays -------------------------------------------------------------------
def _scatter_index(indices, shape, name):
    idx = np.asarray(value_of(indices)).astype(np.int64)
    if idx.ndim == 0 or idx.shape[-1] > len(shape):
        raise ValueError(f"{name}: indices must end in an axis of at most {len(shape)} "
                         f"coordinates; received indices.shape={idx.shape}")
    return tuple(np.moveaxis(idx, -1, 0))


def scatter(indices, values, shape):
    """A zero array of ``shape`` with ``values`` added at ``indices`` (each row of
    ``indices`` the coordinates of one value or slice; repeated places add up)."""
    t, vv = keras_in(values)
    shape = tuple(int(s) for s in shape)
    where = _scatter_index(indices, shape, "scatter")
    out = np.zeros(shape, vv.dtype)
    np.add.at(out, where, vv)
    return make(out, (t,), lambda g: (g[where],), "scatter")


def scatter_update(inputs, indices, updates, reduction=None):
    """``inputs`` with the places at ``indices`` set to ``updates`` (or combined with them by
    ``reduction``: ``"add"``, ``"max"``, ``"min"``, ``"mul"``)."""
    a, av = keras_in(inputs)
    b, bv = keras_in(updates)
    where = _scatter_index(indices, av.shape, "scatter_update")
    bv = bv.astype(av.dtype, copy=False)
    out = np.array(av)
    if reduction is None:
        out[where] = bv

        def vjp(g):
            ga = np.array(g)
            ga[where] = 0
            return ga, g[where]
        return make(out, (a, b), vjp, "scatter_update")
    combine = {"add": np.add, "max": np.maximum, "min": np.minimum, "mul": np.multiply}
    if reduction not in combine:
        raise ValueError(f"Unsupported reduction: {reduction}")
    combine[reduction].at(out, where, bv)
    if reduction == "add":
        return make(out, (a, b), lambda g: (g, g[where]), "scatter_update")
    return out


def slice_update(inputs, start_indices, updates):
    """``inputs`` with the block starting at ``start_indices`` replaced by ``updates``."""
    a, av = keras_in(inputs)
    b, bv = keras_in(updates)
    starts = [int(value_of(s)) for s in start_indices]
    if len(starts) != av.ndim or bv.ndim != av.ndim:
        raise ValueError(f"slice_update: start_indices and updates must have one entry and "
                         f"one axis per axis of inputs; received inputs.shape={av.shape}, "
                         f"start_indices={starts}, updates.shape={bv.shape}")
    # clamped so that the block fits, as XLA's dynamic_update_slice does
    starts = [min(max(s, 0), n - m) for s, n, m in zip(starts, av.shape, bv.shape)]
    block = tuple(builtins.slice(s, s + m) for s, m in zip(starts, bv.shape))
    out = np.array(av)
    out[block] = bv

    def vjp(g):
        ga = np.array(g)
        ga[block] = 0
        return ga, g[block]
    return make(out, (a, b), vjp, "slice_update")


def _segment_extreme(name, data, segment_ids, num_segments, sorted, reduce, empty):  # noqa: A002
    t, dv = keras_in(data)
    ids = np.asarray(value_of(segment_ids)).astype(np.int64)
    if ids.ndim != 1 or ids.shape[0] != dv.shape[0]:
        raise ValueError(f"{name}: segment_ids must be 1-D with one id per row of data; "
                         f"received segment_ids.shape={ids.shape}, data.shape={dv.shape}")
    if sorted and num_segments is not None:
        raise ValueError(f"Argument `num_segments` cannot be set when sorted is True when "
                         f"using the tensorflow backend.Received: num_segments={num_segments}, "
                         f"sorted={sorted}.")
    n = int(ids.max()) + 1 if num_segments is None else int(value_of(num_segments))
    keep = (ids >= 0) & (ids < n)
    out = np.full((n,) + dv.shape[1:], empty(dv.dtype), dv.dtype)
    reduce.at(out, ids[keep], dv[keep])
    if reduce is np.multiply:
        def vjp(g):
            # the product of the other rows of the segment (exact where rows hold zeros)
            d = np.zeros(dv.shape, g.dtype)
            for s in np.unique(ids[keep]):
                rows = np.nonzero(ids == s)[0]
                for r in rows:
                    others = dv[rows[rows != r]]
                    d[r] = g[s] * np.prod(others, axis=0)
            return (d,)
    else:
        def vjp(g):
            # ties share the gradient, as TensorFlow's unsorted_segment_max
            hit = np.zeros(dv.shape, bool)
            hit[keep] = dv[keep] == out[ids[keep]]
            ties = np.zeros(out.shape, g.dtype)
            np.add.at(ties, ids[keep], hit[keep].astype(g.dtype))
            d = np.zeros(dv.shape, g.dtype)
            d[keep] = np.where(hit[keep], g[ids[keep]] / np.maximum(ties[ids[keep]], 1), 0)
            return (d,)
    return make(out, (t,), vjp, name)


def segment_max(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """The largest of the rows of ``data`` sharing a segment id (the dtype's lowest value for
    an empty segment, as TensorFlow's)."""
    return _segment_extreme("segment_max", data, segment_ids, num_segments, sorted, np.maximum,
                            lambda d: np.finfo(d).min if d.kind == "f" else np.iinfo(d).min)


def segment_min(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """The smallest of the rows sharing a segment id (the dtype's largest value for an empty
    segment)."""
    return _segment_extreme("segment_min", data, segment_ids, num_segments, sorted, np.minimum,
                            lambda d: np.finfo(d).max if d.kind == "f" else np.iinfo(d).max)


def segment_prod(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """The product of the rows sharing a segment id (1 for an empty segment)."""
    return _segment_extreme("segment_prod", data, segment_ids, num_segments, sorted,
                            np.multiply, lambda d: 1)
