"""DepthwiseConv1D/2D and SeparableConv1D/2D, over ``rnncore.ops._conv``'s grouped
convolution.

A depthwise convolution is a grouped convolution with one group per input channel: its kernel
``(*kernel_size, C, depth_multiplier)`` read as ``(*kernel_size, 1, C·depth_multiplier)``
puts output channel ``c·depth_multiplier + m`` on input channel ``c``, TensorFlow's order. A
separable convolution follows it with a 1x1 convolution, here one gemm."""
import numbers

from .. import activations as _activations
from .. import constraints as _constraints
from .. import initializers as _initializers
from .. import regularizers as _regularizers
from ..ops._conv import conv_backward, conv_forward
from ._base import Layer, unique_name
from ._conv_nd import BaseConv, check_filters_and_groups


def _check_multiplier(depth_multiplier):
    if not isinstance(depth_multiplier, numbers.Integral) or isinstance(
            depth_multiplier, bool) or depth_multiplier <= 0:
        raise ValueError("Invalid value for argument `depth_multiplier`. Expected a strictly "
                         f"positive value. Received depth_multiplier={depth_multiplier!r}.")
    return int(depth_multiplier)


class BaseDepthwiseConv(BaseConv):
    """An N-D depthwise convolution, Keras's ``BaseDepthwiseConv``: input channel ``c``
    convolved with its own ``depth_multiplier`` filters, ``y[..., c·M + m] =
    activation(Σ_k x[..., k, c] · kernel[k, c, m] + bias[c·M + m])``.

    Weights: ``kernel (*kernel_size, C, depth_multiplier)``, ``bias (C·depth_multiplier,)``.
    """

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        if kwargs.get("name") is None:
            kwargs["name"] = unique_name(self._keras_name)
        # BaseConv's own arguments (filters, groups, kernel_*) are not a depthwise layer's
        Layer.__init__(self, activity_regularizer=activity_regularizer, **kwargs)
        self.depth_multiplier = _check_multiplier(depth_multiplier)
        self._conv_options(kernel_size, strides, padding, data_format, dilation_rate,
                           activation, use_bias)
        self._weight_options(
            depthwise=(depthwise_initializer, depthwise_regularizer, depthwise_constraint),
            bias=(bias_initializer, bias_regularizer, bias_constraint))
        self.groups = 1
        self.kernel = self.bias = None

    def _out_channels(self, channels):
        return None if channels is None else channels * self.depth_multiplier

    def _kernel_shape(self, channels):
        return self.kernel_size + (channels, self.depth_multiplier)

    def build(self, input_shape):
        self.input_channels = self.groups = self._known_channels(input_shape)
        self.compute_output_shape(input_shape)
        # named kernel, with the depthwise_* regularizer and constraint
        self.kernel = self.add_weight(self._kernel_shape(self.input_channels),
                                      self.depthwise_initializer, "kernel",
                                      regularizer=self.depthwise_regularizer,
                                      constraint=self.depthwise_constraint)
        self.bias = (self.add_weight((self.input_channels * self.depth_multiplier,),
                                     self.bias_initializer, "bias")
                     if self.use_bias else None)
        self.built = True

    def _grouped_kernel(self, kernel):
        return kernel.reshape(self.kernel_size + (1, -1))

    def _linear(self, x):
        return conv_forward(x, self._grouped_kernel(self.kernel.value), self.strides,
                            self.padding, self.dilation_rate, self.groups)

    def _linear_backward(self, dz, cols, x_shape):
        dx, dkernel = conv_backward(dz, cols, x_shape, self._grouped_kernel(self.kernel.value),
                                    self.strides, self.padding, self.dilation_rate,
                                    self.groups, input_grad=self.input_grad_needed)
        if self.trainable:
            self.kernel.grad = dkernel.reshape(self.kernel.shape)
        return dx

    def get_config(self):
        config = Layer.get_config(self)
        config.update({
            "depth_multiplier": self.depth_multiplier, "kernel_size": self.kernel_size,
            "strides": self.strides, "padding": self.padding, "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": _activations.serialize(self.activation), "use_bias": self.use_bias,
            "depthwise_initializer": _initializers.serialize(self.depthwise_initializer),
            "bias_initializer": _initializers.serialize(self.bias_initializer),
            "depthwise_regularizer": _regularizers.serialize(self.depthwise_regularizer),
            "bias_regularizer": _regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": _regularizers.serialize(self.activity_regularizer),
            "depthwise_constraint": _constraints.serialize(self.depthwise_constraint),
            "bias_constraint": _constraints.serialize(self.bias_constraint)})
        return config


class DepthwiseConv1D(BaseDepthwiseConv):
    """Depthwise 1D convolution: inputs ``(batch, steps, channels)``, outputs
    ``(batch, new_steps, channels·depth_multiplier)``.

    >>> DepthwiseConv1D(3, depth_multiplier=2)(np.ones((2, 10, 4), "float32")).shape
    (2, 8, 8)
    """

    rank, input_ndim = 1, 3
    _keras_name = "depthwise_conv1d"


class DepthwiseConv2D(BaseDepthwiseConv):
    """Depthwise 2D convolution: inputs ``(batch, height, width, channels)``, outputs
    ``(batch, new_height, new_width, channels·depth_multiplier)``."""

    rank, input_ndim = 2, 4
    _keras_name = "depthwise_conv2d"


class BaseSeparableConv(BaseDepthwiseConv):
    """An N-D separable convolution, Keras's ``BaseSeparableConv``: a depthwise convolution
    (``depthwise_kernel (*kernel_size, C, depth_multiplier)``, strides, padding, dilation),
    then a pointwise 1x1 convolution (``pointwise_kernel (1, ..., C·depth_multiplier,
    filters)``), one gemm, plus ``bias (filters,)``.
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(kernel_size, strides=strides, padding=padding,
                         depth_multiplier=depth_multiplier, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, activity_regularizer=activity_regularizer,
                         **kwargs)
        self.filters = check_filters_and_groups(filters, 1)[0]
        self._weight_options(
            depthwise=(depthwise_initializer, depthwise_regularizer, depthwise_constraint),
            pointwise=(pointwise_initializer, pointwise_regularizer, pointwise_constraint),
            bias=(bias_initializer, bias_regularizer, bias_constraint))
        self.depthwise_kernel = self.pointwise_kernel = None

    def _out_channels(self, channels):
        return self.filters

    def build(self, input_shape):
        self.input_channels = self.groups = self._known_channels(input_shape)
        self.compute_output_shape(input_shape)
        self.depthwise_kernel = self.add_weight(
            self._kernel_shape(self.input_channels), self.depthwise_initializer,
            "depthwise_kernel", regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint)
        self.pointwise_kernel = self.add_weight(
            (1,) * self.rank + (self.input_channels * self.depth_multiplier, self.filters),
            self.pointwise_initializer, "pointwise_kernel",
            regularizer=self.pointwise_regularizer, constraint=self.pointwise_constraint)
        self.bias = (self.add_weight((self.filters,), self.bias_initializer, "bias")
                     if self.use_bias else None)
        self.built = True

    def _linear(self, x):
        mid, cols = conv_forward(x, self._grouped_kernel(self.depthwise_kernel.value),
                                 self.strides, self.padding, self.dilation_rate, self.groups)
        pointwise = self.pointwise_kernel.value.reshape(-1, self.filters)
        z = (mid.reshape(-1, mid.shape[-1]) @ pointwise).reshape(mid.shape[:-1]
                                                                 + (self.filters,))
        return z, (mid, cols)

    def _linear_backward(self, dz, saved, x_shape):
        mid, cols = saved
        pointwise = self.pointwise_kernel.value.reshape(-1, self.filters)
        dz2 = dz.reshape(-1, self.filters)
        # the 1x1 convolution: d_pointwise = midᵀ · dz, d_mid = dz · pointwiseᵀ
        dmid = (dz2 @ pointwise.T).reshape(mid.shape)
        dx, ddepthwise = conv_backward(
            dmid, cols, x_shape, self._grouped_kernel(self.depthwise_kernel.value),
            self.strides, self.padding, self.dilation_rate, self.groups,
            input_grad=self.input_grad_needed)
        if self.trainable:
            self.pointwise_kernel.grad = (mid.reshape(-1, mid.shape[-1]).T @ dz2).reshape(
                self.pointwise_kernel.shape)
            self.depthwise_kernel.grad = ddepthwise.reshape(self.depthwise_kernel.shape)
        return dx

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters,
            "pointwise_initializer": _initializers.serialize(self.pointwise_initializer),
            "pointwise_regularizer": _regularizers.serialize(self.pointwise_regularizer),
            "pointwise_constraint": _constraints.serialize(self.pointwise_constraint)})
        return config


class SeparableConv1D(BaseSeparableConv):
    """Separable 1D convolution: inputs ``(batch, steps, channels)``, outputs
    ``(batch, new_steps, filters)``.

    >>> SeparableConv1D(6, 3, padding="same")(np.ones((2, 10, 4), "float32")).shape
    (2, 10, 6)
    """

    rank, input_ndim = 1, 3
    _keras_name = "separable_conv1d"


class SeparableConv2D(BaseSeparableConv):
    """Separable 2D convolution: inputs ``(batch, height, width, channels)``, outputs
    ``(batch, new_height, new_width, filters)``."""

    rank, input_ndim = 2, 4
    _keras_name = "separable_conv2d"
