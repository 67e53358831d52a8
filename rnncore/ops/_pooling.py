"""N-D pooling: Keras's ``max_pool``, ``average_pool``, ``adaptive_max_pool`` and
``adaptive_average_pool`` in ``keras.ops`` (and ``keras.ops.nn``), and the forward/backward
pair behind every pooling layer (MaxPooling1D/2D/3D, AveragePooling1D/2D/3D, the adaptive
ones).

Inputs are ``(batch, *spatial, channels)`` (``channels_last``) or ``(batch, channels,
*spatial)`` (``channels_first``); both are pooled in place, without transposes, by indexing
the spatial axes. A window's taps are visited one at a time, each a strided slice of the whole
(padded) batch: the loops run over the ``prod(pool_size)`` taps, never over pixels or samples.

TensorFlow's rules: ``'same'`` padding puts ``total // 2`` cells before and the rest after,
padded cells count neither in a maximum nor in an average's divisor; a maximum's gradient goes
to the first maximum of its window in row-major tap order.
"""
import itertools
import numbers

import numpy as np

from ._common import _in
from ._spatial_arguments import standardize_data_format, standardize_tuple  # noqa: F401
from ._tape import make


# ---- arguments --------------------------------------------------------------------------------
def standardize_pool_padding(padding):
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ValueError("Argument `padding` must be either 'valid' or 'same'. Received: "
                         f"padding={padding!r}")
    return padding.lower()


def spatial_axes(ndim, data_format):
    """The spatial axes of a rank-`ndim` input."""
    return tuple(range(1, ndim - 1)) if data_format == "channels_last" else \
        tuple(range(2, ndim))


# ---- shapes -----------------------------------------------------------------------------------
def same_padding(length, size, stride):
    """TensorFlow's SAME padding (before, after) of one axis."""
    out = -(-length // stride)
    total = max((out - 1) * stride + size - length, 0)
    return total // 2, total - total // 2


def pooled_length(length, size, stride, padding):
    """Output cells of one axis (None stays None); ≤ 0 when the window does not fit."""
    if length is None:
        return None
    if padding == "same":
        return -(-length // stride)
    return (length - size) // stride + 1 if length >= size else 0


def pooled_shape(shape, pool_size, strides, padding, data_format):
    """The output shape, or Keras's ValueError when a window does not fit (``'valid'``)."""
    shape = list(shape)
    for axis, p, s in zip(spatial_axes(len(shape), data_format), pool_size, strides):
        out = pooled_length(shape[axis], p, s, padding)
        if out is not None and out <= 0:
            raise ValueError("Computed output size would be zero or negative. Received: "
                             f"`inputs.shape={tuple(shape)}`, `pool_size={tuple(pool_size)}`, "
                             f"`strides={tuple(strides)}`, `padding={padding}`.")
        shape[axis] = out
    return tuple(shape)


def _tap_index(ndim, axes, tap, strides, out):
    """The strided slice of the padded input that tap `tap` of every window reads."""
    index = [slice(None)] * ndim
    for axis, k, s, n in zip(axes, tap, strides, out):
        index[axis] = slice(k, k + s * (n - 1) + 1, s)
    return tuple(index)


# ---- fixed windows ----------------------------------------------------------------------------
def pool_forward(x, mode, pool_size, strides, padding, data_format):
    """``(outputs, cache)`` of max (``mode='max'``) or average pooling of `x`; the cache is
    what :func:`pool_backward` needs."""
    axes = spatial_axes(x.ndim, data_format)
    pads = [same_padding(x.shape[a], p, s) if padding == "same" else (0, 0)
            for a, p, s in zip(axes, pool_size, strides)]
    out = [pooled_length(x.shape[a], p, s, padding) for a, p, s in zip(axes, pool_size, strides)]
    widths = [(0, 0)] * x.ndim
    for axis, pad in zip(axes, pads):
        widths[axis] = pad
    padded = any(sum(p) for p in pads)
    fill = -np.inf if mode == "max" else 0
    xp = np.pad(x, widths, constant_values=fill) if padded else x
    taps = [_tap_index(x.ndim, axes, tap, strides, out)
            for tap in itertools.product(*(range(p) for p in pool_size))]
    y = xp[taps[0]].copy()
    if mode == "max":
        for index in taps[1:]:
            np.maximum(y, xp[index], out=y)
        if len(axes) == 3:
            # TensorFlow's MaxPool3DGrad gives every tied maximum the window's whole gradient
            extra = (xp, y)
        else:
            # the first maximum in tap order takes the gradient, as TensorFlow's MaxPoolGrad
            extra = np.full(y.shape, len(taps) - 1, np.min_scalar_type(len(taps)))
            for i in range(len(taps) - 2, -1, -1):
                np.copyto(extra, i, where=xp[taps[i]] == y)
    else:
        for index in taps[1:]:
            y += xp[index]
        extra = _window_counts(x.shape, axes, pool_size, strides, pads, out, padding, x.dtype)
        y /= extra
    return y, (mode, extra, taps, xp.shape, widths, x.shape, padded)


def _window_counts(shape, axes, pool_size, strides, pads, out, padding, dtype):
    """How many real (unpadded) cells each window holds, broadcastable to the outputs."""
    if padding == "valid":
        return np.asarray(np.prod(pool_size), dtype)
    counts = np.ones([1] * len(shape), dtype)
    for axis, p, s, (before, _), n in zip(axes, pool_size, strides, pads, out):
        start = np.arange(n) * s
        inside = np.minimum(start + p, before + shape[axis]) - np.maximum(start, before)
        view = [1] * len(shape)
        view[axis] = n
        counts = counts * inside.reshape(view).astype(dtype)
    return counts


def pool_backward(cache, d_outputs):
    """The gradient of the inputs of :func:`pool_forward` for `d_outputs`."""
    mode, extra, taps, padded_shape, widths, shape, padded = cache
    dxp = np.zeros(padded_shape, d_outputs.dtype)
    if mode == "max":
        for i, index in enumerate(taps):
            hit = (extra[0][index] == extra[1]) if isinstance(extra, tuple) else (extra == i)
            np.add(dxp[index], d_outputs, out=dxp[index], where=hit)
    else:
        g = d_outputs / extra
        for index in taps:
            dxp[index] += g
    if not padded:
        return dxp
    return np.ascontiguousarray(dxp[tuple(slice(b, b + n) for (b, _), n in zip(widths, shape))])


# ---- adaptive windows -------------------------------------------------------------------------
def adaptive_bounds(length, size):
    """Window ``j`` of `size` over `length` cells covers ``[floor(j·L/n), ceil((j+1)·L/n))``,
    computed in float32 as Keras's TensorFlow backend does."""
    j = np.arange(size + 1, dtype=np.float32)
    edges = j * np.float32(length) / np.float32(size)
    starts = np.minimum(np.floor(edges[:-1]).astype(np.int64), length - 1)
    ends = np.minimum(np.ceil(edges[1:]).astype(np.int64), length)
    return starts, ends


def along_axis(x, matrix, axis):
    """``x`` with its `axis` mapped through the sparse ``matrix (new, old)`` (a few nonzeros
    a row: the work grows with the output, not with output × input length)."""
    moved = np.moveaxis(x, axis, 0)
    out = matrix @ moved.reshape(moved.shape[0], -1)
    return np.moveaxis(out.reshape((matrix.shape[0],) + moved.shape[1:]), 0, axis)


def sparse_rows(columns, weights, length):
    """A CSR ``(len(columns[0]), length)`` matrix with ``weights[k][i]`` at
    ``(i, columns[k][i])`` (repeated entries add up)."""
    from scipy import sparse

    n = len(columns[0])
    rows = np.tile(np.arange(n), len(columns))
    return sparse.csr_matrix((np.concatenate(weights), (rows, np.concatenate(columns))),
                             shape=(n, length))


def adaptive_forward(x, mode, output_size, data_format):
    """``(outputs, cache)`` of adaptive pooling, one spatial axis after the other (first to
    last, as Keras's backend pools them)."""
    axes = spatial_axes(x.ndim, data_format)
    steps, y = [], x
    for axis, n in zip(axes, output_size):
        starts, ends = adaptive_bounds(y.shape[axis], n)
        width = int((ends - starts).max())
        # a tap loop over the widest window; a narrower window repeats its last cell
        picks = [np.minimum(starts + t, ends - 1) for t in range(width)]
        if mode == "average":
            real = [(starts + t < ends).astype(x.dtype) / (ends - starts) for t in range(width)]
            matrix = sparse_rows(picks, real, y.shape[axis]).astype(x.dtype)
            steps.append((axis, matrix, None))
            y = along_axis(y, matrix, axis)
            continue
        best = np.take(y, picks[0], axis=axis)
        for p in picks[1:]:
            np.maximum(best, np.take(y, p, axis=axis), out=best)
        if len(axes) == 3:
            # TensorFlow pools 3D inputs with MaxPool3D: every tied maximum takes the gradient
            view = [1] * y.ndim
            view[axis] = n
            hits = [(np.take(y, p, axis=axis) == best) & (starts + t < ends).reshape(view)
                    for t, p in enumerate(picks)]
        else:
            arg = np.full(best.shape, width - 1, np.min_scalar_type(width))
            for t in range(width - 2, -1, -1):
                np.copyto(arg, t, where=np.take(y, picks[t], axis=axis) == best)
            hits = [arg == t for t in range(width)]
        ones = np.ones(n, x.dtype)
        scatters = [sparse_rows([p], [ones], y.shape[axis]).T.tocsr() for p in picks]
        steps.append((axis, scatters, hits))
        y = best
    return y, (mode, steps)


def adaptive_backward(cache, d_outputs):
    """The gradient of the inputs of :func:`adaptive_forward` for `d_outputs`: the axes in
    reverse, each through the transpose of its averaging matrix, or (max) each tap's share
    scattered back to the cell that tap read."""
    mode, steps = cache
    g = d_outputs
    for axis, maps, hits in reversed(steps):
        if mode == "average":
            g = along_axis(g, maps.T.tocsr(), axis)
            continue
        zero = np.zeros((), g.dtype)
        g = sum(along_axis(np.where(hit, g, zero), scatter, axis)
                for scatter, hit in zip(maps, hits))
    return np.ascontiguousarray(g)


def standardize_output_size(output_size, n):
    """Keras's ``output_size`` of adaptive pooling: one int for every axis, or `n` ints."""
    if isinstance(output_size, numbers.Integral) and not isinstance(output_size, bool):
        values = (int(output_size),) * n
    elif isinstance(output_size, (tuple, list)) and len(output_size) == n and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in output_size):
        values = tuple(int(v) for v in output_size)
    else:
        raise TypeError(f"`output_size` must be an integer or a tuple of {n} integers. "
                        f"Received: output_size={output_size!r}")
    if any(v <= 0 for v in values):
        raise ValueError(f"`output_size` must be positive. Received: output_size={output_size!r}")
    return values


# ---- the ops ----------------------------------------------------------------------------------
def _pool_inputs(name, inputs):
    t, xv = _in(inputs)
    xv = np.asarray(xv)
    if xv.dtype.kind != "f":
        xv = xv.astype(np.float32)
    if xv.ndim < 3:
        raise ValueError(f"{name}: `inputs` must be of rank N+2 (batch, spatial dimensions, "
                         f"channels), N ≥ 1; received inputs.shape={xv.shape}")
    return t, xv


def _pool_op(name, mode, inputs, pool_size, strides, padding, data_format):
    t, xv = _pool_inputs(name, inputs)
    n = xv.ndim - 2
    pool_size = standardize_tuple(pool_size, n, "pool_size")
    strides = pool_size if strides is None else standardize_tuple(strides, n, "strides")
    padding = standardize_pool_padding(padding)
    data_format = standardize_data_format(data_format)
    pooled_shape(xv.shape, pool_size, strides, padding, data_format)
    y, cache = pool_forward(xv, mode, pool_size, strides, padding, data_format)
    return make(y, (t,), lambda g: (pool_backward(cache, g),), name)


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """The maximum of each ``pool_size`` window every ``strides`` cells (default:
    ``pool_size``) over the N spatial axes of a rank N+2 input.

    >>> max_pool(np.ones((2, 8, 6, 3)), 2).shape
    (2, 4, 3, 3)
    """
    return _pool_op("max_pool", "max", inputs, pool_size, strides, padding, data_format)


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """The mean of each window, as :func:`max_pool`; with ``padding='same'`` the mean of the
    window's cells inside the input."""
    return _pool_op("average_pool", "average", inputs, pool_size, strides, padding, data_format)


def _adaptive_op(name, mode, inputs, output_size, data_format):
    t, xv = _pool_inputs(name, inputs)
    if xv.ndim > 5:
        raise ValueError(f"{name} supports 1D, 2D, or 3D inputs only; received "
                         f"inputs.shape={xv.shape}")
    output_size = standardize_output_size(output_size, xv.ndim - 2)
    y, cache = adaptive_forward(xv, mode, output_size, standardize_data_format(data_format))
    return make(y, (t,), lambda g: (adaptive_backward(cache, g),), name)


def adaptive_max_pool(inputs, output_size, data_format=None):
    """Max pooling to a fixed spatial size: output cell ``j`` of an axis of length L pools
    cells ``floor(j·L/n)`` to ``ceil((j+1)·L/n) - 1``.

    >>> adaptive_max_pool(np.ones((2, 10, 7, 3)), (4, 3)).shape
    (2, 4, 3, 3)
    """
    return _adaptive_op("adaptive_max_pool", "max", inputs, output_size, data_format)


def adaptive_average_pool(inputs, output_size, data_format=None):
    """Average pooling to a fixed spatial size, windows as :func:`adaptive_max_pool`."""
    return _adaptive_op("adaptive_average_pool", "average", inputs, output_size, data_format)
