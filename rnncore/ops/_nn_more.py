"""More of Keras's ``keras.ops.nn``: the newer activations (``celu``, ``glu``, ``hard_silu``,
the shrinks, ``sparsemax``, ``squareplus``...), the normalizations (``normalize``,
``rms_normalization``, ``layer_normalization``, ``batch_normalization``), ``psnr``,
``multi_hot``, the block rearrangements ``depth_to_space`` / ``space_to_depth`` and the
patch ones ``unfold`` / ``fold``.

Each is written with the recorded ops of ``_core`` in the formula of Keras's TensorFlow
backend, so that its values and gradients are Keras's (``sparsemax`` keeps Keras's threshold,
the sum of the cumulative sums over the support, which all of Keras's backends share).
"""
import numpy as np

from .. import backend
from . import _core as o
from ._more import pad, sort
from ._nn import moments
from ._common import _in
from ._tape import make, value_of


def _value(x):
    return np.asarray(value_of(x))


def celu(x, alpha=1.0):
    """``max(x, 0) + alpha * expm1(min(x, 0) / alpha)``."""
    return o.add(o.maximum(x, 0.0), o.multiply(alpha, o.expm1(o.divide(o.minimum(x, 0.0),
                                                                       alpha))))


def glu(x, axis=-1):
    """The gated linear unit: the first half of ``x`` along ``axis`` times the sigmoid of the
    second half."""
    size = np.shape(value_of(x))[axis]
    if size % 2 != 0:
        raise ValueError(f"axis size must be divisible by 2. Received: "
                         f"x.shape={np.shape(value_of(x))} with axis={axis}")
    a, b = o.split(x, 2, axis=axis)
    return o.multiply(a, o.sigmoid(b))


def hard_silu(x):
    """``x * hard_sigmoid(x)`` (also ``hard_swish``)."""
    return o.multiply(x, o.hard_sigmoid(x))


hard_swish = hard_silu


def hard_tanh(x):
    """``x`` clipped to ``[-1, 1]``."""
    return o.clip(x, -1.0, 1.0)


def hard_shrink(x, threshold=0.5):
    """``x`` where ``|x| > threshold``, else 0."""
    return o.where(np.abs(_value(x)) > threshold, x, 0)


def soft_shrink(x, threshold=0.5):
    """``x`` moved toward 0 by ``threshold``, and 0 within ``threshold`` of it."""
    xv = _value(x)
    return o.where(xv > threshold, o.subtract(x, threshold),
                   o.where(xv < -threshold, o.add(x, threshold), 0))


def sparse_plus(x):
    """0 for ``x <= -1``, ``(x + 1)² / 4`` up to 1, ``x`` from 1 on."""
    xv = _value(x)
    return o.where(xv <= -1, 0, o.where(xv < 1, o.multiply(0.25, o.square(o.add(x, 1.0))), x))


def sparse_sigmoid(x):
    """0 for ``x <= -1``, ``(x + 1) / 2`` up to 1, 1 from 1 on."""
    xv = _value(x)
    return o.where(xv <= -1, 0, o.where(xv >= 1, 1, o.multiply(0.5, o.add(x, 1.0))))


def squareplus(x, b=4):
    """``(x + sqrt(x² + b)) / 2``."""
    b = np.asarray(value_of(b), _value(x).dtype)
    return o.divide(o.add(x, o.sqrt(o.add(o.square(x), b))), 2.0)


def tanh_shrink(x):
    """``x - tanh(x)``."""
    return o.subtract(x, o.tanh(x))


def threshold(x, threshold, default_value):  # noqa: F811  (Keras's argument name)
    """``x`` where ``x > threshold``, else ``default_value``."""
    default = default_value if isinstance(default_value, (int, float)) else value_of(
        default_value)
    return o.where(_value(x) > threshold, x, np.asarray(default, _value(x).dtype))


def sparsemax(x, axis=-1):
    """Sparsemax over ``axis``: ``max(x - tau, 0)`` with Keras's threshold ``tau`` (the sum
    of the cumulative sums of the sorted ``x`` over its support, less 1, over the support's
    size)."""
    xv = _value(x)
    ranked = o.negative(sort(o.negative(x), axis=axis))  # descending
    running = o.cumsum(ranked, axis=axis)
    shape = [1] * xv.ndim
    shape[axis] = -1
    r = np.arange(1, xv.shape[axis] + 1, dtype=xv.dtype).reshape(shape)
    support = _value(ranked) - (_value(running) - 1) / r > 0
    k = np.sum(support, axis=axis, keepdims=True).astype(xv.dtype)
    tau = o.divide(o.subtract(o.sum(o.where(support, running, 0), axis=axis, keepdims=True),
                              1.0), k)
    return o.maximum(o.subtract(x, tau), 0.0)


def normalize(x, axis=-1, order=2, epsilon=None):
    """``x`` divided by its ``order``-norm over ``axis`` (at least ``epsilon``, Keras's
    ``backend.epsilon()`` by default)."""
    if not isinstance(order, int) or isinstance(order, bool) or order < 1:
        raise ValueError(f"Argument `order` must be an int >= 1. Received: order={order}")
    if np.ndim(value_of(x)) == 0:
        x = o.expand_dims(x, 0)
    epsilon = backend.epsilon() if epsilon is None else epsilon
    if order == 2:
        inverse = o.rsqrt(o.sum(o.square(x), axis=axis, keepdims=True))
        return o.multiply(x, o.minimum(inverse, 1.0 / epsilon))
    norm = o.power(o.sum(o.power(o.abs(x), float(order)), axis=axis, keepdims=True),
                   1.0 / order)
    return o.divide(x, o.maximum(norm, epsilon))


def _compute_dtype(x):
    # at least float32, as Keras computes the normalizations for half-precision inputs
    return np.result_type(_value(x).dtype, np.float32)


def rms_normalization(x, scale=None, axis=-1, epsilon=None):
    """``x * rsqrt(mean(x², axis) + epsilon) * scale`` (Keras's ``rms_normalization``)."""
    epsilon = backend.epsilon() if epsilon is None else epsilon
    original = _value(x).dtype
    x = o.cast(x, _compute_dtype(x))
    if np.ndim(value_of(x)) == 0:
        x = o.expand_dims(x, 0)
    axis = sorted(axis) if isinstance(axis, (list, tuple)) else axis
    out = o.multiply(x, o.rsqrt(o.add(o.mean(o.square(x), axis=axis, keepdims=True),
                                      epsilon)))
    if scale is not None:
        out = o.multiply(out, o.cast(scale, _value(x).dtype))
    return o.cast(out, original)


def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None, **kwargs):
    """Normalizes ``x`` to zero mean and unit variance over ``axis``, then scales by
    ``gamma`` and shifts by ``beta`` (Keras's ``layer_normalization``; ``rms_scaling=True``,
    deprecated in Keras, divides by the root of the variance alone)."""
    rms_scaling = kwargs.pop("rms_scaling", False)
    if kwargs:
        raise TypeError(f"layer_normalization: unexpected arguments {sorted(kwargs)}")
    epsilon = backend.epsilon() if epsilon is None else epsilon
    original = _value(x).dtype
    x = o.cast(x, _compute_dtype(x))
    dtype = _value(x).dtype
    ndim = np.ndim(value_of(x))
    axes = sorted(a % ndim for a in ([axis] if isinstance(axis, int) else axis))
    shape = [1] * ndim
    for a in axes:
        shape[a] = np.shape(value_of(x))[a]

    def broadcast(v):
        if v is None:
            return None
        v = o.cast(v, dtype)
        return o.reshape(v, shape) if np.ndim(value_of(v)) != ndim and axes != [ndim - 1] else v

    gamma, beta = broadcast(gamma), broadcast(beta)
    if rms_scaling:
        out = o.multiply(x, o.rsqrt(o.add(o.var(x, axis=tuple(axes), keepdims=True), epsilon)))
        return o.cast(out if gamma is None else o.multiply(out, gamma), original)
    mean, variance = moments(x, axes=axes, keepdims=True)
    inverse = o.rsqrt(o.add(variance, epsilon))
    if gamma is not None:
        inverse = o.multiply(inverse, gamma)
    shift = o.multiply(o.negative(mean), inverse)
    if beta is not None:
        shift = o.add(shift, beta)
    return o.cast(o.add(o.multiply(x, inverse), shift), original)


def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    """``(x - mean) / sqrt(variance + epsilon) * scale + offset``, with ``mean``,
    ``variance``, ``offset``, ``scale`` laid along ``axis`` of ``x``."""
    ndim = np.ndim(value_of(x))
    if axis != -1 and axis != ndim - 1:
        shape = [1] * ndim
        shape[axis] = np.shape(value_of(mean))[0]
        mean, variance = o.reshape(mean, shape), o.reshape(variance, shape)
        offset = None if offset is None else o.reshape(offset, shape)
        scale = None if scale is None else o.reshape(scale, shape)
    inverse = o.rsqrt(o.add(variance, epsilon))
    if scale is not None:
        inverse = o.multiply(inverse, scale)
    shift = o.multiply(o.negative(mean), inverse)
    if offset is not None:
        shift = o.add(shift, offset)
    return o.add(o.multiply(x, inverse), shift)


def psnr(x1, x2, max_val):
    """The peak signal-to-noise ratio of ``x2`` against ``x1``, in decibels:
    ``20 log10(max_val) - 10 log10(mean((x1 - x2)²))``."""
    s1, s2 = np.shape(value_of(x1)), np.shape(value_of(x2))
    if s1 != s2:
        raise ValueError(f"Input shapes {s1} and {s2} must match for PSNR calculation. ")
    dtype = _value(x2).dtype
    mse = o.mean(o.square(o.subtract(x1, x2)))
    peak = 20 * np.log10(np.asarray(value_of(max_val), dtype))
    return o.subtract(peak.astype(dtype), o.multiply(np.asarray(10, dtype),
                                                      o.divide(o.log(mse), float(np.log(10.0)))))


def multi_hot(inputs, num_classes=None, axis=-1, dtype=None, sparse=False, **kwargs):
    """Which of ``num_classes`` classes each row of ``inputs`` names, as 0/1 (a 1-D input is
    one row)."""
    if num_classes is None and "num_tokens" in kwargs:
        num_classes = kwargs.pop("num_tokens")
    if num_classes is None:
        raise ValueError("Argument `num_classes` must be specified.")
    if sparse:
        raise ValueError("multi_hot: rnncore has no sparse tensors; received sparse=True")
    ids = _value(inputs)
    dtype = np.dtype(dtype or backend.floatx())
    hot = o.one_hot(ids, num_classes, axis=axis, dtype=dtype)
    return np.max(hot, axis=1 if ids.ndim > 1 else 0)


def _block_args(x, block_size, data_format, name):
    shape = np.shape(value_of(x))
    if len(shape) != 4:
        raise ValueError(f"{name}: x must be 4-D (batch, height, width, channels); received "
                         f"x.shape={shape}")
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{name}: data_format must be 'channels_last' or 'channels_first'; "
                         f"received data_format={data_format!r}")
    if not isinstance(block_size, (int, np.integer)) or block_size < 2:
        raise ValueError(f"{name}: block_size must be an int >= 2; received "
                         f"block_size={block_size!r}")
    if data_format == "channels_first":
        x = o.transpose(x, (0, 2, 3, 1))
    return x, np.shape(value_of(x))


def depth_to_space(x, block_size, data_format="channels_last"):
    """Moves blocks of ``block_size²`` channels into ``block_size × block_size`` spatial
    blocks: ``(N, H, W, C)`` -> ``(N, H·b, W·b, C / b²)`` (TensorFlow's order)."""
    x, (n, h, w, c) = _block_args(x, block_size, data_format, "depth_to_space")
    b = int(block_size)
    if c % (b * b):
        raise ValueError(f"depth_to_space: the channels ({c}) must be divisible by "
                         f"block_size² ({b * b})")
    y = o.reshape(x, (n, h, w, b, b, c // (b * b)))
    y = o.reshape(o.transpose(y, (0, 1, 3, 2, 4, 5)), (n, h * b, w * b, c // (b * b)))
    return o.transpose(y, (0, 3, 1, 2)) if data_format == "channels_first" else y


def space_to_depth(x, block_size, data_format="channels_last"):
    """The inverse of :func:`depth_to_space`: ``(N, H, W, C)`` -> ``(N, H / b, W / b, C·b²)``."""
    x, (n, h, w, c) = _block_args(x, block_size, data_format, "space_to_depth")
    b = int(block_size)
    if h % b or w % b:
        raise ValueError(f"space_to_depth: height and width ({h}, {w}) must be divisible by "
                         f"block_size ({b})")
    y = o.reshape(x, (n, h // b, b, w // b, b, c))
    y = o.reshape(o.transpose(y, (0, 1, 3, 2, 4, 5)), (n, h // b, w // b, c * b * b))
    return o.transpose(y, (0, 3, 1, 2)) if data_format == "channels_first" else y


def polar(abs_, angle):
    """The complex numbers of modulus ``abs_`` and argument ``angle`` (no gradient)."""
    r, a = _value(abs_), _value(angle)
    out = r * np.exp(1j * a)
    return out.astype(np.complex128 if np.result_type(r, a) == np.float64 else np.complex64)


def _two(value, name):
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or any(int(v) < 0 for v in pair):
        raise ValueError(f"`{name}` must be an int or a tuple of two non-negative ints; "
                         f"received {name}={value!r}")
    return tuple(int(v) for v in pair)


def _patch_index(size, kernel, dilation, padding, stride):
    """(rows, cols) of every patch entry in the padded image, shaped to index the patches
    ``(kH, kW, outH, outW)``, and the number of patches along each axis."""
    (h, w), (kh, kw), (dh, dw), (ph, pw), (sh, sw) = size, kernel, dilation, padding, stride
    out_h = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    out_w = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    if out_h < 1 or out_w < 1:
        raise ValueError(f"The kernel {kernel} (dilation {dilation}) does not fit the image "
                         f"{size} with padding {padding}")
    rows = (np.arange(out_h)[None, :] * sh + np.arange(kh)[:, None] * dh)[:, None, :, None]
    cols = (np.arange(out_w)[None, :] * sw + np.arange(kw)[:, None] * dw)[None, :, None, :]
    return rows, cols, out_h, out_w


def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    """The sliding ``kernel_size`` blocks of the channels-first images ``x`` ``(N, C, H, W)``
    (im2col): ``(N, C·kH·kW, L)`` with one column per block position."""
    shape = np.shape(value_of(x))
    if len(shape) != 4:
        raise ValueError(f"Input must be a 4D tensor. Received: input.shape={shape}")
    kernel, dil = _two(kernel_size, "kernel_size"), _two(dilation, "dilation")
    margin, step = _two(padding, "padding"), _two(stride, "stride")
    rows, cols, out_h, out_w = _patch_index(shape[2:], kernel, dil, margin, step)
    if any(margin):
        x = pad(x, ((0, 0), (0, 0), (margin[0], margin[0]), (margin[1], margin[1])))
    patches = o.getitem(x, (slice(None), slice(None), rows, cols))  # (N, C, kH, kW, oH, oW)
    return o.reshape(patches, (shape[0], shape[1] * kernel[0] * kernel[1], out_h * out_w))


def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """The inverse arrangement of :func:`unfold` (col2im): the blocks of ``x``
    ``(N, C·kH·kW, L)`` added into images ``(N, C, *output_size)`` where they overlap."""
    shape = np.shape(value_of(x))
    if len(shape) != 3:
        raise ValueError(f"Input must be a 3D tensor. Received: input.shape={shape}")
    kernel, dil = _two(kernel_size, "kernel_size"), _two(dilation, "dilation")
    margin, step = _two(padding, "padding"), _two(stride, "stride")
    size = _two(output_size, "output_size")
    if shape[1] % (kernel[0] * kernel[1]):
        raise ValueError(f"The second dimension of the input ({shape[1]}) must be divisible "
                         f"by kernel_size product ({kernel[0] * kernel[1]}).")
    rows, cols, out_h, out_w = _patch_index(size, kernel, dil, margin, step)
    if shape[2] != out_h * out_w:
        raise ValueError(f"fold: x holds {shape[2]} blocks; output_size={size} with these "
                         f"settings has {out_h * out_w}")
    channels = shape[1] // (kernel[0] * kernel[1])
    t, xv = _in(x)
    blocks = np.asarray(xv).reshape(shape[0], channels, kernel[0], kernel[1], out_h, out_w)
    index = (slice(None), slice(None), rows, cols)
    padded = np.zeros((shape[0], channels, size[0] + 2 * margin[0], size[1] + 2 * margin[1]),
                      blocks.dtype)
    np.add.at(padded, index, blocks)
    inner = (slice(None), slice(None), slice(margin[0], margin[0] + size[0]),
             slice(margin[1], margin[1] + size[1]))

    def vjp(g):
        grown = np.zeros(padded.shape, g.dtype)
        grown[inner] = g
        return (grown[index].reshape(shape),)
    return make(padded[inner].copy(), (t,), vjp, "fold")
