"""UnitNormalization, RMSNormalization and GroupNormalization (Keras 3's rules, forward and
backward).

All three normalize over some axes of each sample and pass masks through. Their gradients
share one form: with ``xhat = x * s`` for a per-sample factor ``s`` that depends on ``x``
through a mean (or sum) over the normalized axes, ``dx = s * (g - xhat * mean(g * xhat))``
(minus ``mean(g)`` where the mean is subtracted too).
"""
import numbers

import numpy as np

from ._base import Layer
from ._normalization import _Normalization, _check_axis, _check_real


def _int_or_int_list(axis, layer):
    """``axis`` as an int or a list of ints (Keras keeps a list/tuple as a list)."""
    if isinstance(axis, numbers.Integral) and not isinstance(axis, bool):
        return int(axis)
    if isinstance(axis, (list, tuple)) and all(
            isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in axis):
        return [int(a) for a in axis]
    raise TypeError(f"Invalid value for `axis` argument: expected an int or a list/tuple of "
                    f"ints. Received: axis={axis} (in {layer})")


def _axes(axis, ndim, layer):
    """The normalized axes, non-negative, each checked against the inputs' rank."""
    return tuple(sorted(_check_axis(a, ndim, layer)
                        for a in (axis if isinstance(axis, list) else [axis])))


class UnitNormalization(Layer):
    """Scales each sample to unit L2 norm over ``axis``: ``x * min(1/||x||, 1e12)`` (Keras's
    ``ops.normalize`` with epsilon 1e-12, so an all-zero sample stays zero).

    >>> UnitNormalization()(np.array([[3.0, 4.0]], "float32"))
    array([[0.6, 0.8]], dtype=float32)
    """

    _MAX_INV_NORM = 1e12

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = _int_or_int_list(axis, "UnitNormalization")
        self.supports_masking = True
        self.built = True  # Keras builds it at construction: it has no weights
        self._cache = None

    def compute_output_shape(self, input_shape):
        _axes(self.axis, len(input_shape), self)
        return tuple(input_shape)

    def forward(self, inputs, training=False, mask=None):
        x = inputs
        axes = _axes(self.axis, x.ndim, self)
        with np.errstate(divide="ignore"):
            inv = 1.0 / np.sqrt(np.sum(x * x, axis=axes, keepdims=True))
        clamped = inv >= self._MAX_INV_NORM
        inv = np.minimum(inv, x.dtype.type(self._MAX_INV_NORM))
        y = x * inv
        self._cache = (axes, y, inv, clamped)
        return y

    def backward(self, d_outputs):
        # where the norm is clamped the factor is a constant, as in TensorFlow's minimum
        axes, y, inv, clamped = self._cache
        g = d_outputs
        dx = inv * (g - np.where(clamped, 0, y * np.sum(g * y, axis=axes, keepdims=True)))
        return dx.astype(g.dtype, copy=False)

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


class RMSNormalization(Layer):
    """Root-mean-square normalization: ``x / sqrt(mean(x², axis) + epsilon) * scale``.

    Weight: ``scale`` (ones), of the shape of the normalized axes. As in Keras, ``axis``
    becomes a sorted list when the layer is built (its config then holds the list).

    >>> RMSNormalization()(np.ones((2, 5, 3), "float32")).shape
    (2, 5, 3)
    """

    def __init__(self, axis=-1, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.axis = _int_or_int_list(axis, "RMSNormalization")
        self.epsilon = _check_real(epsilon, "epsilon", low=0.0)
        self.supports_masking = True
        self.scale = None
        self._cache = None

    def build(self, input_shape):
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        for a in axes:
            _check_axis(a, len(input_shape), self)
        self.axis = sorted(axes)
        self.scale = self.add_weight(tuple(int(input_shape[a]) for a in self.axis), "ones",
                                     "scale")
        self.built = True

    def compute_output_shape(self, input_shape):
        _axes(self.axis, len(input_shape), self)
        return tuple(input_shape)

    def _scale_shape(self, ndim, axes):
        shape = [1] * ndim
        for a, n in zip(axes, self.scale.shape):
            shape[a] = n
        return shape

    def forward(self, inputs, training=False, mask=None):
        x = inputs
        axes = _axes(self.axis, x.ndim, self)
        r = 1.0 / np.sqrt(np.mean(x * x, axis=axes, keepdims=True) + x.dtype.type(self.epsilon))
        scale = self.scale.value.reshape(self._scale_shape(x.ndim, axes))
        xhat = x * r
        self._cache = (axes, xhat, r, scale)
        return (xhat * scale).astype(x.dtype, copy=False)

    def backward(self, d_outputs):
        axes, xhat, r, scale = self._cache
        dy = d_outputs
        if self.trainable:
            others = tuple(a for a in range(dy.ndim) if a not in axes)
            self.scale.grad = (dy * xhat).sum(axis=others).reshape(self.scale.shape)
        g = dy * scale
        dx = r * (g - xhat * np.mean(g * xhat, axis=axes, keepdims=True))
        return dx.astype(dy.dtype, copy=False)

    def get_config(self):
        config = super().get_config()
        config.update({"axis": self.axis, "epsilon": self.epsilon})
        return config


class GroupNormalization(_Normalization):
    """Splits the channels (``axis``) into ``groups`` groups and normalizes each group of each
    sample over its channels and all other non-batch axes, then scales and shifts per channel.

    ``groups=-1`` makes one group per channel (instance normalization). Weights: ``gamma``,
    ``beta``, each ``(channels,)``. The channel count must be a multiple of ``groups``.

    >>> GroupNormalization(groups=2)(np.ones((2, 5, 4), "float32")).shape
    (2, 5, 4)
    """

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 **kwargs):
        if not isinstance(groups, numbers.Integral) or isinstance(groups, bool) or (
                groups <= 0 and groups != -1):
            raise ValueError("Received an invalid value for argument `groups`, expected a "
                             "positive integer (or `-1` for instance normalization). "
                             f"Received: groups={groups!r}")
        if not isinstance(axis, numbers.Integral) or isinstance(axis, bool):
            raise TypeError(f"GroupNormalization: `axis` must be an int. Received: "
                            f"axis={axis!r}")
        super().__init__(epsilon, center, scale, beta_initializer, gamma_initializer,
                         beta_regularizer, gamma_regularizer, beta_constraint,
                         gamma_constraint, **kwargs)
        self.groups, self.axis = int(groups), int(axis)

    def build(self, input_shape):
        axis = _check_axis(self.axis, len(input_shape), self)
        dim = input_shape[axis]
        if dim is None:
            raise ValueError(f"Axis {self.axis} of input tensor should have a defined "
                             f"dimension but the layer received an input with shape "
                             f"{tuple(input_shape)}.")
        if self.groups == -1:
            self.groups = int(dim)
        if dim < self.groups:
            raise ValueError(f"Number of groups ({self.groups}) cannot be more than the number "
                             f"of channels ({dim}).")
        if dim % self.groups:
            raise ValueError(f"Number of groups ({self.groups}) must be a multiple of the "
                             f"number of channels ({dim}).")
        self._channels = int(dim)
        self._add_gamma_beta((self._channels,))
        self.built = True

    def compute_output_shape(self, input_shape):
        _check_axis(self.axis, len(input_shape), self)
        return tuple(input_shape)

    def check_input(self, x):
        x = super().check_input(x)
        if self.built:
            self._check_axis_size(x, self._channels, "channels")
        return x

    def forward(self, inputs, training=False, mask=None):
        x = inputs
        axis = _check_axis(self.axis, x.ndim, self)
        shape = x.shape
        grouped = shape[:axis] + (self.groups, shape[axis] // self.groups) + shape[axis + 1:]
        xg = x.reshape(grouped)
        axes = tuple(a for a in range(1, xg.ndim) if a != axis)
        mean = xg.mean(axis=axes, keepdims=True)
        xc = xg - mean
        var = np.mean(xc * xc, axis=axes, keepdims=True)
        inv = 1.0 / np.sqrt(var + x.dtype.type(self.epsilon))
        xhat = (xc * inv).reshape(shape)
        bshape = [1] * x.ndim
        bshape[axis] = shape[axis]
        y = xhat
        if self.gamma is not None:
            y = y * self.gamma.value.reshape(bshape)
        if self.beta is not None:
            y = y + self.beta.value.reshape(bshape)
        self._cache = (axis, grouped, axes, xhat, inv, bshape)
        return y.astype(x.dtype, copy=False)

    def backward(self, d_outputs):
        axis, grouped, axes, xhat, inv, bshape = self._cache
        dy = d_outputs
        if self.trainable:
            others = tuple(a for a in range(dy.ndim) if a != axis)
            if self.gamma is not None:
                self.gamma.grad = (dy * xhat).sum(axis=others)
            if self.beta is not None:
                self.beta.grad = dy.sum(axis=others)
        g = dy if self.gamma is None else dy * self.gamma.value.reshape(bshape)
        g, xh = g.reshape(grouped), xhat.reshape(grouped)
        dx = inv * (g - g.mean(axis=axes, keepdims=True)
                    - xh * (g * xh).mean(axis=axes, keepdims=True))
        return dx.reshape(dy.shape).astype(dy.dtype, copy=False)

    def get_config(self):
        config = super().get_config()
        config["groups"] = self.groups
        return config

