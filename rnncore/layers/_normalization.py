"""LayerNormalization and BatchNormalization (Keras 3's rules, forward and backward)."""
import numbers

import numpy as np

from .. import constraints as _constraints
from .. import initializers as _initializers
from .. import regularizers as _regularizers
from ._base import Layer, as_float_array
from .._config import epsilon as _eps

# Keras's backend.epsilon(), added to the masked count in BatchNormalization's moments


def _check_real(value, argument, low=None, low_open=False, high=None):
    """`value` as a float, or a TypeError/ValueError naming `argument` and the value."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"Argument `{argument}` must be a number. Received: "
                        f"{argument}={value!r}")
    value = float(value)
    if not np.isfinite(value) or (low is not None and (value < low or (low_open and value == low))) \
            or (high is not None and value > high):
        bound = ("" if low is None else (f" > {low}" if low_open else f" >= {low}")) + \
            ("" if high is None else f" and <= {high}")
        raise ValueError(f"Argument `{argument}` must be a finite number{bound}. Received: "
                         f"{argument}={value!r}")
    return value


def _check_axis(axis, ndim, layer):
    if not -ndim <= axis < ndim:
        raise ValueError(f"Axis {axis} is out of bounds for input shape of rank {ndim} "
                         f"(layer {layer.name!r}). Received: axis={layer.axis!r}")
    return axis % ndim


class _Normalization(Layer):
    """What both normalizations share: gamma/beta options and their (de)serialisation."""

    def __init__(self, epsilon, center, scale, beta_initializer, gamma_initializer,
                 beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint,
                 **kwargs):
        super().__init__(**kwargs)
        self.epsilon = _check_real(epsilon, "epsilon", low=0.0)  # Keras allows 0
        for argument, value in (("center", center), ("scale", scale)):
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"Argument `{argument}` must be a bool. Received: "
                                f"{argument}={value!r}")
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = _initializers.get(beta_initializer, "beta_initializer")
        self.gamma_initializer = _initializers.get(gamma_initializer, "gamma_initializer")
        self.beta_regularizer = _regularizers.get(beta_regularizer, "beta_regularizer")
        self.gamma_regularizer = _regularizers.get(gamma_regularizer, "gamma_regularizer")
        self.beta_constraint = _constraints.get(beta_constraint, "beta_constraint")
        self.gamma_constraint = _constraints.get(gamma_constraint, "gamma_constraint")
        self._weight_regularizers = {"beta": self.beta_regularizer,
                                     "gamma": self.gamma_regularizer}
        self._weight_constraints = {"beta": self.beta_constraint, "gamma": self.gamma_constraint}
        self.supports_masking = True
        self.gamma = self.beta = None
        self._cache = None

    def _add_gamma_beta(self, shape):
        self.gamma = (self.add_weight(shape, self.gamma_initializer, "gamma")
                      if self.scale else None)
        self.beta = (self.add_weight(shape, self.beta_initializer, "beta")
                     if self.center else None)

    def check_input(self, x):
        x = as_float_array(x, "inputs", self.dtype)
        if x.ndim < 1:
            raise ValueError(f"{type(self).__name__} {self.name!r}: inputs must have at least "
                             f"one dimension, got shape {x.shape}")
        return x

    def _check_axis_size(self, x, size, what):
        """Refuse inputs whose size on the (single, int) ``axis`` is not the `size` the layer
        was built for; `what` names those entries in the message ("features", "channels")."""
        axis = _check_axis(self.axis, x.ndim, self)
        if x.shape[axis] != size:
            raise ValueError(f"{type(self).__name__} {self.name!r}: inputs have "
                             f"{x.shape[axis]} {what} on axis {self.axis}, but the layer "
                             f"was built for {size}")

    def get_config(self):
        config = super().get_config()
        config.update({
            "axis": self.axis, "epsilon": self.epsilon, "center": self.center,
            "scale": self.scale,
            "beta_initializer": _initializers.serialize(self.beta_initializer),
            "gamma_initializer": _initializers.serialize(self.gamma_initializer),
            "beta_regularizer": _regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": _regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": _constraints.serialize(self.beta_constraint),
            "gamma_constraint": _constraints.serialize(self.gamma_constraint)})
        return config


class LayerNormalization(_Normalization):
    """Normalizes each sample over ``axis`` (the features), then scales and shifts.

    ``y = (x - mean) / sqrt(var + epsilon) * gamma + beta``, mean and variance taken over
    ``axis`` for every sample (and timestep) separately. Weights: ``gamma``, ``beta``, each of
    the shape of the normalized axes (``(features,)`` for the default ``axis=-1``).
    The mask, if any, passes through unchanged.

    >>> LayerNormalization()(np.ones((2, 5, 3), "float32")).shape
    (2, 5, 3)
    """

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 rms_scaling=False, **kwargs):
        if isinstance(axis, (list, tuple)) and axis and all(
                isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in axis):
            axis = [int(a) for a in axis]
        elif isinstance(axis, numbers.Integral) and not isinstance(axis, bool):
            axis = int(axis)
        else:
            raise TypeError(f"Expected an int or a list/tuple of ints for the argument 'axis' "
                            f"(a non-empty one), but received: axis={axis!r}")
        if rms_scaling:
            raise NotImplementedError("LayerNormalization(rms_scaling=True) (deprecated in "
                                      "Keras) is not implemented by rnncore")
        super().__init__(epsilon, center, scale, beta_initializer, gamma_initializer,
                         beta_regularizer, gamma_regularizer, beta_constraint,
                         gamma_constraint, **kwargs)
        self.axis = axis
        self.rms_scaling = False

    def _axes(self, ndim):
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        for a in axes:
            _check_axis(a, ndim, self)
        return axes

    def build(self, input_shape):
        axes = self._axes(len(input_shape))
        # Keras sorts the axes as given (negative ones first) and takes gamma's shape from them
        self.axis = sorted(axes)
        self._add_gamma_beta(tuple(int(input_shape[a]) for a in self.axis))
        self.built = True

    def compute_output_shape(self, input_shape):
        self._axes(len(input_shape))
        return tuple(input_shape)

    def _broadcast(self, v, ndim, shape):
        """gamma/beta reshaped (not transposed, as Keras) over the normalized axes."""
        b = [1] * ndim
        for a in self.axis:
            b[a] = shape[a]
        return v.reshape(b)

    def forward(self, inputs, training=False, mask=None):
        x = inputs
        axes = tuple(a % x.ndim for a in self._axes(x.ndim))
        mean = x.mean(axis=axes, keepdims=True)
        xc = x - mean
        var = np.mean(xc * xc, axis=axes, keepdims=True)
        inv = 1.0 / np.sqrt(var + x.dtype.type(self.epsilon))
        xhat = xc * inv
        y = xhat
        if self.gamma is not None:
            y = y * self._broadcast(self.gamma.value, x.ndim, x.shape)
        if self.beta is not None:
            y = y + self._broadcast(self.beta.value, x.ndim, x.shape)
        self._cache = (axes, xhat, inv)
        return y.astype(x.dtype, copy=False)

    def backward(self, d_outputs):
        r"""With :math:`\hat x = (x - \mu)\,s`, :math:`s = 1/\sqrt{\sigma^2 + \epsilon}`:
        :math:`dx = s\,(g - \overline{g} - \hat x\,\overline{g \hat x})`, :math:`g = dy\,\gamma`,
        bars being means over the normalized axes."""
        axes, xhat, inv = self._cache
        dy = d_outputs
        others = tuple(a for a in range(dy.ndim) if a not in axes)
        if self.trainable:
            if self.gamma is not None:
                self.gamma.grad = (dy * xhat).sum(axis=others).reshape(self.gamma.shape)
            if self.beta is not None:
                self.beta.grad = dy.sum(axis=others).reshape(self.beta.shape)
        g = dy if self.gamma is None else dy * self._broadcast(self.gamma.value, dy.ndim,
                                                                dy.shape)
        dx = inv * (g - g.mean(axis=axes, keepdims=True)
                    - xhat * (g * xhat).mean(axis=axes, keepdims=True))
        return dx.astype(dy.dtype, copy=False)

    def get_config(self):
        config = super().get_config()
        config["rms_scaling"] = self.rms_scaling
        return config


class BatchNormalization(_Normalization):
    """Normalizes each feature (``axis``) over the batch (and timesteps), then scales and shifts.

    Training (``forward(training=True)`` on a trainable layer) uses the batch's mean and
    variance, taken over the unmasked timesteps when a mask ``(batch, timesteps)`` is given
    (Keras's rule: ``sum / (count + 1e-7)``), and updates the moving statistics as Keras does::

        moving_mean     = moving_mean * momentum + mean * (1 - momentum)
        moving_variance = moving_variance * momentum + variance * (1 - momentum)

    Inference (and training of a frozen layer) uses the moving statistics.
    Weights, in Keras's order: ``gamma``, ``beta`` (trainable), ``moving_mean``,
    ``moving_variance`` (non-trainable), each ``(features,)``.

    >>> BatchNormalization()(np.ones((4, 3), "float32"), training=True).shape
    (4, 3)
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, renorm=False, renorm_clipping=None,
                 renorm_momentum=0.99, synchronized=False, **kwargs):
        if not isinstance(axis, numbers.Integral) or isinstance(axis, bool):
            raise TypeError(f"Argument `axis` must be an int. Received: axis={axis!r}")
        if renorm:
            raise NotImplementedError("BatchNormalization(renorm=True) is not implemented by "
                                      "rnncore")
        if synchronized:
            raise NotImplementedError("BatchNormalization(synchronized=True) needs a "
                                      "distributed TensorFlow strategy; rnncore has none")
        super().__init__(epsilon, center, scale, beta_initializer, gamma_initializer,
                         beta_regularizer, gamma_regularizer, beta_constraint,
                         gamma_constraint, **kwargs)
        self.axis = int(axis)
        self.momentum = _check_real(momentum, "momentum", low=0.0, high=1.0)
        self.moving_mean_initializer = _initializers.get(moving_mean_initializer,
                                                         "moving_mean_initializer")
        self.moving_variance_initializer = _initializers.get(moving_variance_initializer,
                                                             "moving_variance_initializer")
        self.renorm, self.renorm_clipping = False, renorm_clipping
        self.renorm_momentum = _check_real(renorm_momentum, "renorm_momentum", 0.0, high=1.0)
        self.synchronized = False
        self.moving_mean = self.moving_variance = None

    def build(self, input_shape):
        axis = _check_axis(self.axis, len(input_shape), self)
        if input_shape[axis] is None:
            raise ValueError(f"BatchNormalization {self.name!r}: the normalized axis "
                             f"{self.axis} of the input shape {tuple(input_shape)} must be "
                             "known")
        shape = (int(input_shape[axis]),)
        self._add_gamma_beta(shape)
        self.moving_mean = self.add_weight(shape, self.moving_mean_initializer, "moving_mean",
                                           trainable=False)
        self.moving_variance = self.add_weight(shape, self.moving_variance_initializer,
                                               "moving_variance", trainable=False)
        self.built = True

    def compute_output_shape(self, input_shape):
        _check_axis(self.axis, len(input_shape), self)
        return tuple(input_shape)

    def check_input(self, x):
        x = super().check_input(x)
        if self.built:
            self._check_axis_size(x, self.moving_mean.shape[0], "features")
        return x

    def _bshape(self, x):
        b = [1] * x.ndim
        b[self.axis % x.ndim] = x.shape[self.axis % x.ndim]
        return b

    def forward(self, inputs, training=False, mask=None):
        x = inputs
        axis = _check_axis(self.axis, x.ndim, self)
        red = tuple(a for a in range(x.ndim) if a != axis)
        bshape = self._bshape(x)
        w = None
        if mask is not None:
            mask = np.asarray(mask)
            if mask.ndim != x.ndim - 1:
                raise ValueError("The mask provided should be one dimension less than the "
                                 f"inputs. Received: mask.shape={mask.shape}, "
                                 f"inputs.shape={x.shape}")
        batch_stats = bool(training) and self.trainable
        if batch_stats:
            if mask is None:
                count = x.dtype.type(np.prod([x.shape[a] for a in red], dtype=np.int64))
                mean = x.mean(axis=red, keepdims=True)
                xc = x - mean
                var = np.mean(xc * xc, axis=red, keepdims=True)
            else:
                w = np.broadcast_to((mask != 0)[..., None], x.shape).astype(x.dtype)
                count = w.sum(axis=red, keepdims=True) + x.dtype.type(_eps())
                mean = (x * w).sum(axis=red, keepdims=True) / count
                xc = x - mean
                var = (w * xc * xc).sum(axis=red, keepdims=True) / count
            # Keras: two Python floats, each cast to the variable's dtype
            m, m1 = self.momentum, 1.0 - self.momentum
            mm, mv = self.moving_mean, self.moving_variance
            mm.value[...] = mm.value * mm.dtype.type(m) + mean.reshape(-1) * mm.dtype.type(m1)
            mv.value[...] = mv.value * mv.dtype.type(m) + var.reshape(-1) * mv.dtype.type(m1)
        else:
            mean = self.moving_mean.value.astype(x.dtype).reshape(bshape)
            var = self.moving_variance.value.astype(x.dtype).reshape(bshape)
            xc = x - mean
            count = None
        inv = 1.0 / np.sqrt(var + x.dtype.type(self.epsilon))
        xhat = xc * inv
        y = xhat
        if self.gamma is not None:
            y = y * self.gamma.value.reshape(bshape)
        if self.beta is not None:
            y = y + self.beta.value.reshape(bshape)
        self._cache = (red, bshape, xc, xhat, inv, w, count, batch_stats)
        return y.astype(x.dtype, copy=False)

    def backward(self, d_outputs):
        r"""Training: mean and variance depend on x. With weights :math:`w` (the mask, or 1),
        :math:`N = \sum w`, :math:`x_c = x - \mu`, :math:`g = dy\,\gamma`:
        :math:`\partial\sigma^2 = -\tfrac12 s^3 \sum g x_c`,
        :math:`dx_c = g s + \partial\sigma^2\, 2 w x_c / N`,
        :math:`dx = dx_c - w \sum dx_c / N`. Inference: :math:`dx = g s`."""
        red, bshape, xc, xhat, inv, w, count, batch_stats = self._cache
        dy = d_outputs
        if self.trainable:
            if self.gamma is not None:
                self.gamma.grad = (dy * xhat).sum(axis=red)
            if self.beta is not None:
                self.beta.grad = dy.sum(axis=red)
        g = dy if self.gamma is None else dy * self.gamma.value.reshape(bshape)
        if not batch_stats:
            return (g * inv).astype(dy.dtype, copy=False)
        dvar = -0.5 * inv ** 3 * (g * xc).sum(axis=red, keepdims=True)
        wx = xc if w is None else w * xc
        dxc = g * inv + dvar * 2 * wx / count
        dmean = dxc.sum(axis=red, keepdims=True)
        dx = dxc - (dmean / count if w is None else w * dmean / count)
        return dx.astype(dy.dtype, copy=False)

    def get_config(self):
        config = super().get_config()
        config.update({
            "momentum": self.momentum,
            "moving_mean_initializer": _initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": _initializers.serialize(
                self.moving_variance_initializer),
            "synchronized": self.synchronized, "renorm": self.renorm,
            "renorm_clipping": self.renorm_clipping, "renorm_momentum": self.renorm_momentum})
        return config
