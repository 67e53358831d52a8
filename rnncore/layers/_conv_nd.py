"""BaseConv, Conv2D and Conv3D: N-D convolution layers over ``rnncore.ops._conv``'s im2col and
one gemm.

The layers keep Keras's arguments, weights and config; the maths (padding, im2col, the gemm and
the backward scatter over kernel taps) is the op module's plain forward and backward, shared by
every rank (Conv1D, the transposed, depthwise and separable layers build on BaseConv too)."""
import numbers

import numpy as np

from .. import activations as _activations
from .. import constraints as _constraints
from .. import initializers as _initializers
from .. import regularizers as _regularizers
from ..ops._conv import (conv_backward, conv_forward, conv_output_shape,
                         standardize_data_format, standardize_tuple)
from ._arguments import ActivationAttribute
from ._base import Layer, as_float_array, unique_name


def standardize_padding(padding, allowed):
    if not isinstance(padding, str) or padding.lower() not in allowed:
        raise ValueError(f"The `padding` argument must be one of {sorted(allowed)}. "
                         f"Received: padding={padding!r}")
    return padding.lower()


def check_filters_and_groups(filters, groups):
    if not isinstance(filters, numbers.Integral) or isinstance(filters, bool) or filters <= 0:
        raise ValueError("Invalid value for argument `filters`. Expected a strictly "
                         f"positive value. Received filters={filters!r}.")
    if not isinstance(groups, numbers.Integral) or isinstance(groups, bool) or groups <= 0:
        raise ValueError("The number of groups must be a positive integer. "
                         f"Received: groups={groups!r}.")
    if filters % groups:
        raise ValueError("The number of filters must be evenly divisible by the number of "
                         f"groups. Received: groups={groups}, filters={filters}.")
    return int(filters), int(groups)


def channels_last(x, data_format):
    return np.moveaxis(x, 1, -1) if data_format == "channels_first" else x


def channels_back(y, data_format):
    """`y` (channels_last) in the layer's own data format."""
    return (np.ascontiguousarray(np.moveaxis(y, -1, 1)) if data_format == "channels_first"
            else y)


class BaseConv(Layer):
    """An N-D convolution layer (``rank`` spatial axes), Keras's ``BaseConv``.

    ``y = activation(conv(x, kernel) + bias)`` with ``kernel (*kernel_size, C // groups,
    filters)`` and ``bias (filters,)``. Inputs ``(batch, *spatial, C)`` (channels_last) or
    ``(batch, C, *spatial)``; ``padding='same'`` is TensorFlow's (``ceil(n / strides)``
    outputs, the odd zero after). Computed as im2col and one gemm over all
    ``batch·Π out`` rows (one batched gemm over the groups).
    """

    rank = None
    _keras_name = None
    _paddings = {"valid", "same"}
    activation = ActivationAttribute()

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None,
                 lora_alpha=None, **kwargs):
        if kwargs.get("name") is None:
            kwargs["name"] = unique_name(self._keras_name)
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.filters, self.groups = check_filters_and_groups(filters, groups)
        self._conv_options(kernel_size, strides, padding, data_format, dilation_rate,
                           activation, use_bias)
        if lora_rank:
            raise NotImplementedError(f"{type(self).__name__}(lora_rank=...) is not "
                                      "implemented by rnncore")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError("`strides > 1` not supported in conjunction with "
                             f"`dilation_rate > 1`. Received: strides={self.strides} and "
                             f"dilation_rate={self.dilation_rate}")
        self._weight_options(
            kernel=(kernel_initializer, kernel_regularizer, kernel_constraint),
            bias=(bias_initializer, bias_regularizer, bias_constraint))
        self.kernel = self.bias = None

    def _conv_options(self, kernel_size, strides, padding, data_format, dilation_rate,
                      activation, use_bias):
        """The arguments every convolution layer shares, checked as Keras does."""
        n = self.rank
        self.kernel_size = standardize_tuple(kernel_size, n, "kernel_size")
        self.strides = standardize_tuple(strides, n, "strides")
        self.dilation_rate = standardize_tuple(dilation_rate, n, "dilation_rate")
        self.padding = standardize_padding(padding, self._paddings)
        self.data_format = standardize_data_format(data_format)
        self.activation = _activations._resolve(activation)
        if not isinstance(use_bias, (bool, np.bool_)):
            raise TypeError(f"Argument `use_bias` must be a bool. Received: "
                            f"use_bias={use_bias!r}")
        self.use_bias = bool(use_bias)
        self._cache = None

    # ---- shapes ---------------------------------------------------------------------------
    def _channel_axis(self):
        return -1 if self.data_format == "channels_last" else 1

    def _known_channels(self, input_shape):
        """The inputs' channel count, which building needs known."""
        channels = input_shape[self._channel_axis()]
        if channels is None:
            raise ValueError(f"{type(self).__name__} {self.name!r}: the channel dimension of "
                             f"the inputs must be known, got input shape {tuple(input_shape)}")
        return int(channels)

    def _spatial(self, shape):
        return tuple(shape[1:-1]) if self.data_format == "channels_last" else tuple(shape[2:])

    def _out_spatial(self, spatial):
        return tuple(None if n is None else m for n, m in zip(
            spatial, conv_output_shape([1 if n is None else n for n in spatial],
                                       self.kernel_size, self.strides, self.padding,
                                       self.dilation_rate)))

    def _kernel_shape(self, channels):
        return self.kernel_size + (channels // self.groups, self.filters)

    def build(self, input_shape):
        channels = self._known_channels(input_shape)
        if channels % self.groups:
            raise ValueError("The number of input channels must be evenly divisible by the "
                             f"number of groups. Received groups={self.groups}, but the input "
                             f"has {channels} channels (full input shape is "
                             f"{tuple(input_shape)}).")
        self.input_channels = channels
        self.kernel = self.add_weight(self._kernel_shape(self.input_channels),
                                      self.kernel_initializer, "kernel")
        self.bias = (self.add_weight((self.filters,), self.bias_initializer, "bias")
                     if self.use_bias else None)
        self.built = True

    def compute_output_shape(self, input_shape):
        spatial = self._spatial(input_shape)
        out = self._out_spatial(spatial)
        if any(m is not None and m <= 0 for m in out):
            raise ValueError("Computed output size would be zero or negative. Received "
                             f"`inputs shape={tuple(input_shape)}`, `kernel shape="
                             f"{self._kernel_shape(input_shape[self._channel_axis()] or 1)}`, "
                             f"`dilation_rate={self.dilation_rate}`, `strides={self.strides}`, "
                             f"`padding={self.padding}`.")
        filters = self._out_channels(input_shape[self._channel_axis()])
        if self.data_format == "channels_last":
            return (input_shape[0],) + out + (filters,)
        return (input_shape[0], filters) + out

    def _out_channels(self, channels):
        return self.filters

    def check_input(self, x):
        x = as_float_array(x, "inputs", self.dtype)
        if x.ndim != self.rank + 2:
            spatial = ("steps", "height, width", "d1, d2, d3")[self.rank - 1]
            layout = (f"(batch, {spatial}, channels)" if self.data_format == "channels_last"
                      else f"(batch, channels, {spatial})")
            raise ValueError(f"{type(self).__name__} {self.name!r}: inputs must be "
                             f"{self.rank + 2}D {layout}, got shape {x.shape}")
        channels = x.shape[self._channel_axis()]
        if self.built and channels != self.input_channels:
            raise ValueError(f"{type(self).__name__} {self.name!r}: inputs have {channels} "
                             f"channels, but the layer was built for {self.input_channels}")
        self.compute_output_shape(x.shape)
        return x

    # ---- forward and backward -----------------------------------------------------------------
    def _linear(self, x):
        """The pre-activation ``(batch, *out, filters)`` of channels_last ``x``, and what the
        backward pass needs of it."""
        return conv_forward(x, self.kernel.value, self.strides, self.padding,
                            self.dilation_rate, self.groups)

    def _linear_backward(self, dz, saved, x_shape):
        """The input gradient (None where not needed) of :meth:`_linear`; the kernels'
        gradients go to their ``grad``."""
        dx, dkernel = conv_backward(dz, saved, x_shape, self.kernel.value, self.strides,
                                    self.padding, self.dilation_rate, self.groups,
                                    input_grad=self.input_grad_needed)
        if self.trainable:
            self.kernel.grad = dkernel
        return dx

    def forward(self, inputs, training=False, mask=None):
        x = channels_last(inputs, self.data_format)
        z, saved = self._linear(x)
        if self.use_bias:
            z += self.bias.value
        y = z if self.activation == "linear" else _activations.forward(self.activation, z)
        self._cache = (saved, z, y, x.shape)
        return channels_back(y, self.data_format)

    def backward(self, d_outputs):
        saved, z, y, x_shape = self._cache
        d = channels_last(d_outputs, self.data_format)
        dz = (d if self.activation == "linear"
              else _activations.backward(self.activation, z, y, d))
        dx = self._linear_backward(dz, saved, x_shape)
        if self.trainable and self.use_bias:
            self.bias.grad = dz.reshape(-1, dz.shape[-1]).sum(axis=0)
        if dx is None:
            return None
        return channels_back(dx, self.data_format)

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
            "activity_regularizer": _regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": _constraints.serialize(self.kernel_constraint),
            "bias_constraint": _constraints.serialize(self.bias_constraint)})
        return config


class Conv2D(BaseConv):
    """2D convolution over images, Keras's ``Conv2D``.

    Inputs ``(batch, height, width, channels)`` (channels_last) or ``(batch, channels, height,
    width)``; outputs ``(batch, new_height, new_width, filters)``. Weights: ``kernel
    (kh, kw, channels // groups, filters)``, ``bias (filters,)``.

    >>> Conv2D(8, 3, padding="same")(np.ones((2, 32, 16, 1), "float32")).shape
    (2, 32, 16, 8)
    """

    rank, input_ndim = 2, 4
    _keras_name = "conv2d"


class Conv3D(BaseConv):
    """3D convolution over volumes (or frames of video), Keras's ``Conv3D``.

    Inputs ``(batch, d1, d2, d3, channels)`` (channels_last) or ``(batch, channels, d1, d2,
    d3)``. Weights: ``kernel (k1, k2, k3, channels // groups, filters)``, ``bias (filters,)``.

    >>> Conv3D(4, 3, padding="same")(np.ones((2, 5, 8, 8, 1), "float32")).shape
    (2, 5, 8, 8, 4)
    """

    rank, input_ndim = 3, 5
    _keras_name = "conv3d"
