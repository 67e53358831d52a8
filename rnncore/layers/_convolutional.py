"""Conv1D, and the 1D window helpers the 1D pooling layers share."""
import numbers

import numpy as np

from ._conv_nd import BaseConv


def standardize_int(value, argument, allow_zero=False):
    """Keras's standardize_tuple for one spatial dimension: an int or a 1-tuple of one."""
    v = value
    if isinstance(v, (list, tuple)) and len(v) == 1:
        v = v[0]
    if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < (0 if allow_zero else 1):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"The `{argument}` argument must be a {kind} integer or a tuple of "
                         f"one {kind} integer. Received: {argument}={value!r}")
    return int(v)


def standardize_padding(padding, allowed):
    if not isinstance(padding, str) or padding.lower() not in allowed:
        raise ValueError(f"The `padding` argument must be one of {sorted(allowed)}. "
                         f"Received: padding={padding!r}")
    return padding.lower()


def standardize_data_format(data_format, layer):
    if data_format is None or data_format == "channels_last":
        return "channels_last"
    if data_format == "channels_first":
        raise NotImplementedError(f"{layer}(data_format='channels_first') is not implemented "
                                  "by rnncore; transpose the inputs to (batch, steps, channels)")
    raise ValueError("The `data_format` argument must be one of 'channels_first', "
                     f"'channels_last'. Received: data_format={data_format!r}")


def same_padding(length, size, stride):
    """TensorFlow's SAME padding (left, right) for a window of `size` (dilated) cells."""
    out = -(-length // stride)
    total = max((out - 1) * stride + size - length, 0)
    return total // 2, total - total // 2


def windows(xp, size, stride, dilation, out_len):
    """A read-only view (batch, out_len, size, channels) of `xp` (batch, steps, channels):
    ``view[b, t, k] = xp[b, t·stride + k·dilation]``."""
    sb, sl, sc = xp.strides
    return np.lib.stride_tricks.as_strided(
        xp, (xp.shape[0], out_len, size, xp.shape[2]),
        (sb, sl * stride, sl * dilation, sc), writeable=False)


def scatter_windows(d, padded_len, stride, dilation):
    """The adjoint of :func:`windows`: adds ``d[b, t, k]`` into ``out[b, t·stride + k·dilation]``
    (a loop over the `size` window taps, never over steps)."""
    batch, out_len, size, channels = d.shape
    out = np.zeros((batch, padded_len, channels), d.dtype)
    for k in range(size):
        start = k * dilation
        out[:, start:start + stride * (out_len - 1) + 1:stride] += d[:, :, k]
    return out


class Conv1D(BaseConv):
    """1D convolution over steps: ``y[b, t] = activation(Σ_k x[b, t·s + k·d] · kernel[k] + bias)``.

    Inputs ``(batch, steps, channels)`` (channels_last) or ``(batch, channels, steps)``,
    outputs ``(batch, new_steps, filters)``. Weights: ``kernel (kernel_size, channels //
    groups, filters)``, ``bias (filters,)``. ``padding``: ``'valid'`` (no padding), ``'same'``
    (TensorFlow's: ``ceil(steps / strides)`` outputs), ``'causal'``
    (``dilation_rate·(kernel_size-1)`` zeros on the left, so that ``y[t]`` sees no input after
    ``t``). Computed as im2col and one gemm over all ``batch·new_steps`` rows, by the N-D
    convolution Conv2D and Conv3D share.

    >>> Conv1D(8, 3, padding="causal")(np.ones((2, 10, 4), "float32")).shape
    (2, 10, 8)
    """

    rank, input_ndim = 1, 3
    _keras_name = "conv1d"  # Keras's name, not snake case's conv1_d
    _paddings = {"valid", "same", "causal"}
