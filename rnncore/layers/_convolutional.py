"""Conv1D over (batch, steps, channels): im2col and one gemm, forward and backward."""
import numbers

import numpy as np

from .. import activations as _activations
from .. import constraints as _constraints
from .. import initializers as _initializers
from .. import regularizers as _regularizers
from .._config import image_data_format
from ..recurrent import _recurrent as R
from ._arguments import ActivationAttribute
from ._base import Layer, as_float_array, unique_name


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
    if data_format is None:  # Keras: the global image data format
        data_format = image_data_format()
    if data_format == "channels_last":
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


class Conv1D(Layer):
    """1D convolution over steps: ``y[b, t] = activation(Σ_k x[b, t·s + k·d] · kernel[k] + bias)``.

    Inputs ``(batch, steps, channels)`` (channels_last), outputs ``(batch, new_steps, filters)``.
    Weights: ``kernel (kernel_size, channels, filters)``, ``bias (filters,)``.
    ``padding``: ``'valid'`` (no padding), ``'same'`` (TensorFlow's: ``ceil(steps / strides)``
    outputs), ``'causal'`` (``dilation_rate·(kernel_size-1)`` zeros on the left, so that
    ``y[t]`` sees no input after ``t``). Computed as im2col and one gemm over all
    ``batch·new_steps`` rows. ``groups > 1`` and ``channels_first`` are not implemented.

    >>> Conv1D(8, 3, padding="causal")(np.ones((2, 10, 4), "float32")).shape
    (2, 10, 8)
    """

    input_ndim = 3
    activation = ActivationAttribute()

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None,
                 lora_alpha=None, **kwargs):
        if kwargs.get("name") is None:
            kwargs["name"] = unique_name("conv1d")  # Keras's name, not snake case's conv1_d
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if not isinstance(filters, numbers.Integral) or isinstance(filters, bool) or \
                filters <= 0:
            raise ValueError("Invalid value for argument `filters`. Expected a strictly "
                             f"positive value. Received filters={filters!r}.")
        self.filters = int(filters)
        self.kernel_size = (standardize_int(kernel_size, "kernel_size"),)
        self.strides = (standardize_int(strides, "strides"),)
        self.dilation_rate = (standardize_int(dilation_rate, "dilation_rate"),)
        self.padding = standardize_padding(padding, {"valid", "same", "causal"})
        self.data_format = standardize_data_format(data_format, "Conv1D")
        if not isinstance(groups, numbers.Integral) or isinstance(groups, bool) or groups <= 0:
            raise ValueError("The number of groups must be a positive integer. "
                             f"Received: groups={groups!r}.")
        if groups != 1:
            raise NotImplementedError(f"Conv1D(groups={groups}) is not implemented by rnncore "
                                      "(groups=1 only)")
        self.groups = 1
        if lora_rank:
            raise NotImplementedError("Conv1D(lora_rank=...) is not implemented by rnncore")
        if self.strides[0] > 1 and self.dilation_rate[0] > 1:
            raise ValueError("`strides > 1` not supported in conjunction with "
                             f"`dilation_rate > 1`. Received: strides={self.strides} and "
                             f"dilation_rate={self.dilation_rate}")
        self.activation = _activations._resolve(activation)
        if not isinstance(use_bias, (bool, np.bool_)):
            raise TypeError(f"Argument `use_bias` must be a bool. Received: "
                            f"use_bias={use_bias!r}")
        self.use_bias = bool(use_bias)
        self._weight_options(
            kernel=(kernel_initializer, kernel_regularizer, kernel_constraint),
            bias=(bias_initializer, bias_regularizer, bias_constraint))
        self.kernel = self.bias = None
        self._cache = None

    # ---- shapes ---------------------------------------------------------------------------
    def _span(self):
        return self.dilation_rate[0] * (self.kernel_size[0] - 1) + 1

    def _pads(self, length):
        if self.padding == "valid":
            return 0, 0
        if self.padding == "causal":
            return self._span() - 1, 0
        return same_padding(length, self._span(), self.strides[0])

    def _out_len(self, length):
        if length is None:
            return None
        left, right = self._pads(length)
        n = length + left + right - self._span()
        return n // self.strides[0] + 1 if n >= 0 else 0

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(f"Conv1D {self.name!r}: the channel dimension of the inputs must "
                             f"be known, got input shape {tuple(input_shape)}")
        self.input_channels = int(channels)
        self.kernel = self.add_weight((self.kernel_size[0], self.input_channels, self.filters),
                                      self.kernel_initializer, "kernel")
        self.bias = (self.add_weight((self.filters,), self.bias_initializer, "bias")
                     if self.use_bias else None)
        self.built = True

    def compute_output_shape(self, input_shape):
        out = self._out_len(input_shape[1])
        if out is not None and out <= 0:
            raise ValueError(f"Conv1D {self.name!r}: inputs of {input_shape[1]} steps are "
                             f"shorter than the kernel's span ({self._span()} steps) with "
                             f"padding={self.padding!r}; the output would have {out} steps")
        return (input_shape[0], out, self.filters)

    def check_input(self, x):
        x = as_float_array(x, "inputs", self.dtype)
        if x.ndim != 3:
            raise ValueError(f"Conv1D {self.name!r}: inputs must be 3D (batch, steps, "
                             f"channels), got shape {x.shape}")
        if self.built and x.shape[-1] != self.input_channels:
            raise ValueError(f"Conv1D {self.name!r}: inputs have {x.shape[-1]} channels, but "
                             f"the layer was built for {self.input_channels}")
        self.compute_output_shape(x.shape)
        return x

    # ---- forward and backward -----------------------------------------------------------------
    # One OpenBLAS thread for the gemms, as the recurrent ops: threaded, these skinny products
    # (6400x40ᵀ·6400x32) took 2-12 ms instead of 0.5 on this busy 2-core machine.
    @R.single_threaded_blas
    def forward(self, inputs, training=False, mask=None):
        x = inputs
        batch, length, channels = x.shape
        left, right = self._pads(length)
        xp = np.pad(x, ((0, 0), (left, right), (0, 0))) if left or right else x
        out_len = self._out_len(length)
        k = self.kernel_size[0]
        # im2col: cols[b·t, k·C + c] = xp[b, t·s + k·d, c]
        cols = np.ascontiguousarray(windows(xp, k, self.strides[0], self.dilation_rate[0],
                                            out_len)).reshape(batch * out_len, k * channels)
        z = cols @ self.kernel.value.reshape(k * channels, self.filters)
        if self.use_bias:
            z += self.bias.value
        z = z.reshape(batch, out_len, self.filters)
        y = z if self.activation == "linear" else _activations.forward(self.activation, z)
        self._cache = (cols, z, y, x.shape, xp.shape[1], left)
        return y

    @R.single_threaded_blas
    def backward(self, d_outputs):
        cols, z, y, x_shape, padded_len, left = self._cache
        dz = (d_outputs if self.activation == "linear"
              else _activations.backward(self.activation, z, y, d_outputs))
        batch, out_len, _ = dz.shape
        k, channels = self.kernel_size[0], x_shape[2]
        dz2 = dz.reshape(batch * out_len, self.filters)
        if self.trainable:
            # dW = colsᵀ · dz, one gemm over every output row
            self.kernel.grad = (cols.T @ dz2).reshape(self.kernel.shape)
            if self.use_bias:
                self.bias.grad = dz2.sum(axis=0)
        if not self.input_grad_needed:
            return None
        dcols = (dz2 @ self.kernel.value.reshape(k * channels, self.filters).T).reshape(
            batch, out_len, k, channels)
        dxp = scatter_windows(dcols, padded_len, self.strides[0], self.dilation_rate[0])
        return np.ascontiguousarray(dxp[:, left:left + x_shape[1]])

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters, "kernel_size": self.kernel_size, "strides": self.strides,
            "padding": self.padding, "data_format": self.data_format,
            "dilation_rate": self.dilation_rate, "groups": self.groups,
            "activation": _activations.serialize(self.activation), "use_bias": self.use_bias,
            "kernel_initializer": _initializers.serialize(self.kernel_initializer),
            "bias_initializer": _initializers.serialize(self.bias_initializer),
            "kernel_regularizer": _regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": _regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": _constraints.serialize(self.kernel_constraint),
            "bias_constraint": _constraints.serialize(self.bias_constraint),
            "activity_regularizer": _regularizers.serialize(self.activity_regularizer)})
        return config
