"""N-D convolutions (1, 2 or 3 spatial axes): Keras's ``ops.conv``, ``conv_transpose``,
``depthwise_conv`` and ``separable_conv``, and the plain forward/backward functions the
convolutional layers share.

One implementation for every rank: im2col through a strided view of the padded input
``(batch, *out, *kernel_size, channels)``, copied once into a ``(batch·Π out, Π kernel_size·C)``
matrix, then ONE gemm with the kernel reshaped to ``(Π kernel_size·C, filters)``. The backward
pass is two gemms (``dW = colsᵀ·dy``, ``dcols = dy·Wᵀ``) and a scatter-add of ``dcols`` back
onto the input, looping over the kernel's taps only (never over pixels or batch items).
Grouped convolutions run one batched matmul over the groups. A transposed convolution is the
input gradient of a convolution, and its backward pass a convolution.

The plain functions work on channels_last arrays and trust their arguments (strides and
dilations as tuples, padding ``'valid'``, ``'same'`` or ``'causal'``); the ops validate,
transpose channels_first data and record their vector-Jacobian products.
"""
import itertools
import math

import numpy as np

from ..recurrent._blas_threads import single_threaded_blas
from ._common import _in
from ._core import reshape
from ._spatial_arguments import standardize_data_format, standardize_tuple  # noqa: F401
from ._tape import Tensor, make, value_of

__all__ = ["conv", "conv_transpose", "depthwise_conv", "separable_conv"]


# ---- geometry ---------------------------------------------------------------------------------
def conv_pads(spatial, kernel_size, strides, padding, dilation_rate):
    """The zeros ``(before, after)`` added on each spatial axis: none for ``'valid'``,
    TensorFlow's SAME split (the odd one after) for ``'same'``, ``span - 1`` before for
    ``'causal'``."""
    pads = []
    for n, k, s, d in zip(spatial, kernel_size, strides, dilation_rate):
        span = d * (k - 1) + 1
        if padding == "valid":
            pads.append((0, 0))
        elif padding == "causal":
            pads.append((span - 1, 0))
        else:
            total = max((-(-n // s) - 1) * s + span - n, 0)
            pads.append((total // 2, total - total // 2))
    return tuple(pads)


def conv_output_shape(spatial, kernel_size, strides, padding, dilation_rate):
    """The output's spatial shape (entries may be zero or negative where the input is shorter
    than the kernel's span with ``'valid'``)."""
    pads = conv_pads(spatial, kernel_size, strides, padding, dilation_rate)
    return _output_shape(spatial, kernel_size, strides, dilation_rate, pads)


def _output_shape(spatial, kernel_size, strides, dilation_rate, pads):
    return tuple((n + a + b - d * (k - 1) - 1) // s + 1 for n, k, s, d, (a, b)
                 in zip(spatial, kernel_size, strides, dilation_rate, pads))


def _padded(x, pads):
    """`x` with `pads` zeros around its spatial axes (np.pad's Python overhead was a third
    of a small Conv1D's step)."""
    if not any(a or b for a, b in pads):
        return x
    shape = (x.shape[0],) + tuple(n + a + b for n, (a, b) in zip(x.shape[1:-1], pads)) \
        + (x.shape[-1],)
    xp = np.zeros(shape, x.dtype)
    xp[(slice(None),) + tuple(slice(a, a + n) for n, (a, _) in zip(x.shape[1:-1], pads))] = x
    return xp


def conv_transpose_output_shape(spatial, kernel_size, strides, padding, output_padding,
                                dilation_rate):
    """Keras's ``deconv_output_length`` per axis: ``n·s`` ('same') or
    ``(n-1)·s + max(span, s)`` ('valid') without ``output_padding``, else
    ``(n-1)·s + span + output_padding`` less the SAME padding ``2·(span // 2)``."""
    out = []
    for i, (n, k, s, d) in enumerate(zip(spatial, kernel_size, strides, dilation_rate)):
        span = d * (k - 1) + 1
        p = None if output_padding is None else output_padding[i]
        if p is None:
            out.append(n * s if padding == "same" else (n - 1) * s + max(span, s))
        else:
            out.append((n - 1) * s + span + p - (2 * (span // 2) if padding == "same" else 0))
    return tuple(out)


# ---- im2col and its adjoint -------------------------------------------------------------------
def _windows(xp, kernel_size, strides, dilation_rate, out_shape):
    """A read-only view ``(batch, *out, *kernel_size, C)`` of the padded ``xp``:
    ``view[b, o, k] = xp[b, o·strides + k·dilation]`` per spatial axis."""
    st = xp.strides
    spatial = st[1:-1]
    return np.lib.stride_tricks.as_strided(
        xp, (xp.shape[0],) + tuple(out_shape) + tuple(kernel_size) + (xp.shape[-1],),
        (st[0],) + tuple(a * s for a, s in zip(spatial, strides))
        + tuple(a * d for a, d in zip(spatial, dilation_rate)) + (st[-1],), writeable=False)


def _scatter_windows(dwin, padded_shape, strides, dilation_rate):
    """The adjoint of :func:`_windows`: ``dwin (batch, *out, *kernel_size, C)`` added back onto
    a zero array of ``padded_shape``, one strided slice per kernel tap."""
    n = len(strides)
    out_shape, kernel_size = dwin.shape[1:1 + n], dwin.shape[1 + n:1 + 2 * n]
    dxp = np.zeros(padded_shape, dwin.dtype)
    lead = (slice(None),) * (1 + n)
    for tap in itertools.product(*(range(k) for k in kernel_size)):
        target = tuple(slice(t * d, t * d + s * (o - 1) + 1, s) for t, d, s, o
                       in zip(tap, dilation_rate, strides, out_shape))
        dxp[(slice(None),) + target] += dwin[lead + tap]
    return dxp


def _grouped(cols, groups, taps):
    """``cols (rows, taps·C)`` as ``(groups, rows, taps·C/groups)``: each group's own
    channels of every tap."""
    rows = cols.shape[0]
    return cols.reshape(rows, taps, groups, -1).transpose(2, 0, 1, 3).reshape(groups, rows, -1)


def _ungrouped(gcols, taps):
    groups, rows = gcols.shape[:2]
    return gcols.reshape(groups, rows, taps, -1).transpose(1, 2, 0, 3).reshape(rows, -1)


def _kernel_matrix(kernel, groups):
    """``kernel (*kernel_size, C/groups, F)`` as ``(taps·C/groups, F)``, or per group
    ``(groups, taps·C/groups, F/groups)``."""
    m = kernel.reshape(-1, kernel.shape[-1])
    if groups == 1:
        return m
    return m.reshape(m.shape[0], groups, -1).transpose(1, 0, 2)


# ---- convolution: forward and backward ------------------------------------------------------
@single_threaded_blas
def conv_forward(x, kernel, strides, padding, dilation_rate, groups=1):
    """``y[b, o, f] = Σ_{k, c} xp[b, o·strides + k·dilation, c] · kernel[k, c, f]`` (per group).

    Parameters
    ----------
    x : ``(batch, *spatial, C)``, channels_last.
    kernel : ``(*kernel_size, C // groups, filters)``.
    strides, dilation_rate : tuples, one int per spatial axis.
    padding : ``'valid'``, ``'same'`` or ``'causal'``.
    groups : ``C`` and ``filters`` split into this many independent convolutions.

    Returns
    -------
    y : ``(batch, *out, filters)``, the dtype of ``x``.
    cols : the im2col matrix ``(batch·Π out, Π kernel_size·C)``, for :func:`conv_backward`.
    """
    n = x.ndim - 2
    kernel_size = kernel.shape[:n]
    pads = conv_pads(x.shape[1:-1], kernel_size, strides, padding, dilation_rate)
    xp = _padded(x, pads)
    out_shape = _output_shape(x.shape[1:-1], kernel_size, strides, dilation_rate, pads)
    taps = math.prod(kernel_size)
    rows = x.shape[0] * math.prod(out_shape)
    # im2col: cols[(b, o), (k, c)] = xp[b, o·s + k·d, c]
    cols = np.ascontiguousarray(_windows(xp, kernel_size, strides, dilation_rate, out_shape)
                                ).reshape(rows, taps * x.shape[-1])
    w = _kernel_matrix(kernel.astype(x.dtype, copy=False), groups)
    if groups == 1:
        y = cols @ w
    else:
        y = _ungrouped(_grouped(cols, groups, taps) @ w, 1)
    return y.reshape((x.shape[0],) + out_shape + (kernel.shape[-1],)), cols


@single_threaded_blas
def conv_backward(dy, cols, x_shape, kernel, strides, padding, dilation_rate, groups=1,
                  input_grad=True):
    """The gradients of :func:`conv_forward`'s inputs from ``dy (batch, *out, filters)``.

    ``cols`` is the forward's im2col matrix and ``x_shape`` its input's shape. Returns
    ``(dx, dkernel)``; ``dx`` is None unless ``input_grad``.
    """
    n = len(x_shape) - 2
    kernel_size = kernel.shape[:n]
    taps = math.prod(kernel_size)
    dy2 = dy.reshape(-1, dy.shape[-1]).astype(cols.dtype, copy=False)
    w = _kernel_matrix(kernel.astype(cols.dtype, copy=False), groups)
    if groups == 1:
        dkernel = (cols.T @ dy2).reshape(kernel.shape)      # colsᵀ · dy
    else:
        gdy = dy2.reshape(dy2.shape[0], groups, -1).transpose(1, 0, 2)
        gcols = _grouped(cols, groups, taps)
        dkernel = (gcols.transpose(0, 2, 1) @ gdy).transpose(1, 0, 2).reshape(kernel.shape)
    if not input_grad:
        return None, dkernel
    if groups == 1:
        dcols = dy2 @ w.T
    else:
        dcols = _ungrouped(gdy @ w.transpose(0, 2, 1), taps)
    pads = conv_pads(x_shape[1:-1], kernel_size, strides, padding, dilation_rate)
    padded = (x_shape[0],) + tuple(m + a + b for m, (a, b) in zip(x_shape[1:-1], pads)) \
        + (x_shape[-1],)
    dwin = dcols.reshape(dy.shape[:-1] + tuple(kernel_size) + (x_shape[-1],))
    dxp = _scatter_windows(dwin, padded, strides, dilation_rate)
    inner = (slice(None),) + tuple(slice(a, a + m) for m, (a, _) in zip(x_shape[1:-1], pads))
    return np.ascontiguousarray(dxp[inner]), dkernel


# ---- transposed convolution -------------------------------------------------------------------
def _transpose_geometry(in_spatial, kernel_size, strides, padding, output_padding,
                        dilation_rate):
    """(output spatial shape, the steps cut from the front of each axis, the length each axis
    of the spread-out taps needs): the output is the input gradient of a convolution of it,
    with TensorFlow's SAME split of that convolution's padding."""
    out = conv_transpose_output_shape(in_spatial, kernel_size, strides, padding, output_padding,
                                      dilation_rate)
    lefts, full = [], []
    for n, k, s, d, m in zip(in_spatial, kernel_size, strides, dilation_rate, out):
        span = d * (k - 1) + 1
        left = 0 if padding == "valid" else max((n - 1) * s + span - m, 0) // 2
        lefts.append(left)
        full.append(max((n - 1) * s + span, left + m))
    return out, tuple(lefts), tuple(full)


@single_threaded_blas
def conv_transpose_forward(x, kernel, strides, padding, output_padding, dilation_rate):
    """Transposed convolution: each input pixel spreads ``x[b, i] · kernel[k]ᵀ`` onto output
    pixel ``i·strides + k·dilation - left``.

    Parameters
    ----------
    x : ``(batch, *spatial, C)``, channels_last.
    kernel : ``(*kernel_size, filters, C)`` (Keras's order for transposed kernels).
    output_padding : None, or one int per axis: the output's extra length (Keras's rule).

    Returns ``(batch, *out, filters)``.
    """
    n = x.ndim - 2
    kernel_size, filters = kernel.shape[:n], kernel.shape[n]
    out, lefts, full = _transpose_geometry(x.shape[1:-1], kernel_size, strides, padding,
                                           output_padding, dilation_rate)
    # w[c, (k, f)] = kernel[k, f, c]
    w = np.moveaxis(kernel.astype(x.dtype, copy=False), -1, 0).reshape(x.shape[-1], -1)
    spread = (x.reshape(-1, x.shape[-1]) @ w).reshape(
        x.shape[:-1] + tuple(kernel_size) + (filters,))
    yp = _scatter_windows(spread, (x.shape[0],) + full + (filters,), strides, dilation_rate)
    inner = (slice(None),) + tuple(slice(a, a + m) for a, m in zip(lefts, out))
    return np.ascontiguousarray(yp[inner])


@single_threaded_blas
def conv_transpose_backward(dy, x, kernel, strides, padding, output_padding, dilation_rate,
                            input_grad=True):
    """The gradients ``(dx, dkernel)`` of :func:`conv_transpose_forward` from
    ``dy (batch, *out, filters)``: a convolution of ``dy`` reads the windows back."""
    n = x.ndim - 2
    kernel_size, filters = kernel.shape[:n], kernel.shape[n]
    out, lefts, full = _transpose_geometry(x.shape[1:-1], kernel_size, strides, padding,
                                           output_padding, dilation_rate)
    dyp = np.zeros((x.shape[0],) + full + (filters,), x.dtype)
    dyp[(slice(None),) + tuple(slice(a, a + m) for a, m in zip(lefts, out))] = dy
    rows = x.shape[0] * math.prod(x.shape[1:-1])
    dcols = np.ascontiguousarray(_windows(dyp, kernel_size, strides, dilation_rate,
                                          x.shape[1:-1])).reshape(rows, -1)
    x2 = x.reshape(rows, x.shape[-1])
    # dkernel[k, f, c] = Σ_rows dcols[(k, f)] · x[c]
    dkernel = (dcols.T @ x2).reshape(kernel.shape)
    w = np.moveaxis(kernel.astype(x.dtype, copy=False), -1, 0).reshape(x.shape[-1], -1)
    dx = (dcols @ w.T).reshape(x.shape) if input_grad else None
    return dx, dkernel


# ---- the ops ---------------------------------------------------------------------------------
def _padding(padding):
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ValueError("`padding` must be either `'valid'` or `'same'`. Received "
                         f"{padding!r}.")
    return padding.lower()


def _operands(name, inputs, kernel):
    """(recorded inputs, recorded kernel, their float arrays, number of spatial axes)."""
    ti, xv = _in(inputs)
    tk, kv = _in(kernel)
    xv, kv = np.asarray(xv), np.asarray(kv)
    if xv.ndim not in (3, 4, 5):
        raise ValueError(f"{name}: `inputs` must be of rank 3, 4 or 5 (batch, 1 to 3 spatial "
                         f"axes, channels). Received: inputs.shape={xv.shape}")
    if kv.ndim != xv.ndim:
        raise ValueError("Kernel shape must have the same length as input, but received "
                         f"kernel of shape {kv.shape} and input of shape {xv.shape}.")
    dtype = np.result_type(xv.dtype if xv.dtype.kind == "f" else np.float32,
                           kv.dtype if kv.dtype.kind == "f" else np.float32)
    return ti, tk, xv.astype(dtype, copy=False), kv.astype(dtype, copy=False), xv.ndim - 2


def _to_last(x, data_format):
    return np.moveaxis(x, 1, -1) if data_format == "channels_first" else x


def _from_last(y, data_format):
    return np.ascontiguousarray(np.moveaxis(y, -1, 1)) if data_format == "channels_first" \
        else y


def _check_output(out_shape, xshape, kshape, strides, padding, dilation_rate):
    if min(out_shape) <= 0:
        raise ValueError("Computed output size would be zero or negative. Received "
                         f"`inputs shape={xshape}`, `kernel shape={kshape}`, "
                         f"`dilation_rate={dilation_rate}`, `strides={strides}`, "
                         f"`padding={padding}`.")


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """General N-D convolution (1, 2 or 3 spatial axes), Keras's ``ops.conv``.

    Parameters
    ----------
    inputs : ``(batch, *spatial, C)`` (channels_last) or ``(batch, C, *spatial)``.
    kernel : ``(*kernel_size, C // groups, filters)``; an input with ``groups`` times the
        kernel's input channels is a grouped convolution, as in TensorFlow.
    strides, dilation_rate : an int or one per spatial axis.
    padding : ``'valid'`` or ``'same'`` (TensorFlow's: ``ceil(n / strides)`` outputs).
    data_format : ``'channels_last'`` or ``'channels_first'``; None reads
        ``keras.config.image_data_format()``.

    Returns ``(batch, *out, filters)`` (channels_last).

    >>> conv(np.ones((2, 8, 8, 3)), np.ones((3, 3, 3, 4)), padding="same").shape
    (2, 8, 8, 4)
    """
    data_format, padding = standardize_data_format(data_format), _padding(padding)
    ti, tk, xv, kv, n = _operands("conv", inputs, kernel)
    strides = standardize_tuple(strides, n, "strides")
    dilation_rate = standardize_tuple(dilation_rate, n, "dilation_rate")
    x = _to_last(xv, data_format)
    channels, kernel_channels = x.shape[-1], kv.shape[-2]
    if kernel_channels == 0 or channels % kernel_channels or kv.shape[-1] % (
            channels // kernel_channels or 1):
        raise ValueError("The number of input channels must match the kernel's input "
                         f"channels. Received: input channels={channels}, kernel "
                         f"input channels={kernel_channels}, data_format='{data_format}'.")
    groups = channels // kernel_channels
    _check_output(conv_output_shape(x.shape[1:-1], kv.shape[:n], strides, padding,
                                    dilation_rate), xv.shape, kv.shape, strides, padding,
                  dilation_rate)
    y, cols = conv_forward(x, kv, strides, padding, dilation_rate, groups)

    def vjp(g):
        dx, dk = conv_backward(_to_last(np.asarray(g), data_format), cols, x.shape, kv,
                               strides, padding, dilation_rate, groups,
                               input_grad=isinstance(ti, Tensor))
        return (None if dx is None else _from_last(dx, data_format), dk)
    return make(_from_last(y, data_format), (ti, tk), vjp, "conv")


def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None,
                   data_format=None, dilation_rate=1):
    """General N-D transposed convolution ("deconvolution"), Keras's ``ops.conv_transpose``.

    ``kernel`` is ``(*kernel_size, filters, C)``; the output has ``n·strides`` pixels per axis
    for ``'same'`` and ``(n-1)·strides + max(span, strides)`` for ``'valid'``, or
    ``(n-1)·strides + span + output_padding`` (less ``2·(span // 2)`` for ``'same'``) where
    ``output_padding`` is given.

    >>> conv_transpose(np.ones((2, 5, 5, 3)), np.ones((3, 3, 4, 3)), 2, "same").shape
    (2, 10, 10, 4)
    """
    data_format, padding = standardize_data_format(data_format), _padding(padding)
    ti, tk, xv, kv, n = _operands("conv_transpose", inputs, kernel)
    strides = standardize_tuple(strides, n, "strides")
    dilation_rate = standardize_tuple(dilation_rate, n, "dilation_rate")
    if output_padding is not None:
        output_padding = standardize_tuple(output_padding, n, "output_padding",
                                           allow_zero=True)
        for p, s, d in zip(output_padding, strides, dilation_rate):
            if p >= max(s, d):
                raise ValueError(f"`output_padding` must be smaller than the strides (or the "
                                 f"dilation rate). Received: output_padding={output_padding}, "
                                 f"strides={strides}, dilation_rate={dilation_rate}")
    x = _to_last(xv, data_format)
    if kv.shape[-1] != x.shape[-1]:
        raise ValueError("The number of input channels must match the kernel's input "
                         f"channels (its last axis for conv_transpose). Received: input "
                         f"channels={x.shape[-1]}, kernel input channels={kv.shape[-1]}, "
                         f"data_format='{data_format}'.")
    y = conv_transpose_forward(x, kv, strides, padding, output_padding, dilation_rate)

    def vjp(g):
        dx, dk = conv_transpose_backward(_to_last(np.asarray(g), data_format), x, kv, strides,
                                         padding, output_padding, dilation_rate,
                                         input_grad=isinstance(ti, Tensor))
        return (None if dx is None else _from_last(dx, data_format), dk)
    return make(_from_last(y, data_format), (ti, tk), vjp, "conv_transpose")


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1):
    """Depthwise convolution, Keras's ``ops.depthwise_conv``: each input channel ``c``
    convolved with its own ``kernel[..., c, :]`` of ``(*kernel_size, C, multiplier)``, output
    channel ``c·multiplier + m``. A grouped :func:`conv` with ``C`` groups."""
    kv = np.asarray(value_of(kernel))
    if kv.ndim < 3:
        raise ValueError("depthwise_conv: `kernel` must be (*kernel_size, channels, "
                         f"depth_multiplier). Received: kernel.shape={kv.shape}")
    shape = kv.shape[:-2] + (1, kv.shape[-2] * kv.shape[-1])
    return conv(inputs, reshape(kernel, shape), strides, padding, data_format, dilation_rate)


def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid",
                   data_format=None, dilation_rate=1):
    """Separable convolution, Keras's ``ops.separable_conv``: :func:`depthwise_conv` with
    ``depthwise_kernel``, then a 1x1 :func:`conv` with ``pointwise_kernel``
    ``(1, ..., C·multiplier, filters)``."""
    depthwise = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format,
                               dilation_rate)
    return conv(depthwise, pointwise_kernel, 1, "valid", data_format, 1)
