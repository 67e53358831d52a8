"""Activation layers with arguments: ReLU, LeakyReLU, ELU, Softmax and PReLU (Keras's).

Each passes a mask through unchanged (``supports_masking``), as Keras's do; Softmax also
applies a mask it is given (Keras's rule: a mask broadcastable to the inputs from the right).
"""
import numbers
import warnings

import numpy as np

from .. import constraints as _constraints
from .. import initializers as _initializers
from .. import regularizers as _regularizers
from ._arguments import is_int, real
from ._base import Layer



def _is_negative(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and value < 0

class ReLU(Layer):
    """Rectified linear unit with a ceiling, a threshold and a leak::

        f(x) = max_value                           if x >= max_value
        f(x) = x                                   if threshold <= x < max_value
        f(x) = negative_slope * (x - threshold)    otherwise

    Parameters
    ----------
    max_value : float >= 0 or None (no ceiling).
    negative_slope : float >= 0, default 0.
    threshold : float >= 0, default 0.
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        # Keras's ValueErrors for None and negative values come first, then the type check
        if _is_negative(max_value):
            raise ValueError("max_value of a ReLU layer cannot be a negative value. "
                             f"Received: max_value={max_value!r}")
        for argument, value in (("negative_slope", negative_slope), ("threshold", threshold)):
            if value is None or _is_negative(value):
                raise ValueError(f"{argument} of a ReLU layer cannot be None or a negative "
                                 f"value. Received: {argument}={value!r}")
        self.max_value = real("ReLU", "max_value", max_value, low=0.0, allow_none=True)
        self.negative_slope = real("ReLU", "negative_slope", negative_slope, low=0.0)
        self.threshold = real("ReLU", "threshold", threshold, low=0.0)
        self.supports_masking = True

    def forward(self, inputs, training=False, mask=None):
        # Keras's activations.relu, term by term (its gradient is the sum of theirs)
        x, t, s = inputs, self.threshold, self.negative_slope
        self._x = x
        if s and self.max_value is None and not t:
            return np.where(x > 0, x, x * x.dtype.type(s))
        pos = np.where(x > t, x, 0) if t else np.maximum(x, 0)
        if self.max_value is not None:
            pos = np.minimum(pos, x.dtype.type(self.max_value))
        if s:
            pos = pos - x.dtype.type(s) * np.maximum(x.dtype.type(t) - x, 0)
        return pos.astype(x.dtype, copy=False)

    def backward(self, d_outputs):
        x, t, s = self._x, self.threshold, self.negative_slope
        passes = x > t
        if self.max_value is not None:
            # relu6 (Keras's op for max_value=6 without a threshold) stops at 6 exclusive;
            # clip_by_value lets the boundary through
            passes &= (x < 6) if (self.max_value == 6 and not t) else (x <= self.max_value)
        grad = passes.astype(x.dtype)
        if s:
            grad += x.dtype.type(s) * (x <= t if not t and self.max_value is None else x < t)
        return d_outputs * grad

    def get_config(self):
        config = super().get_config()
        config.update({"max_value": self.max_value, "negative_slope": self.negative_slope,
                       "threshold": self.threshold})
        return config


class LeakyReLU(Layer):
    """``f(x) = x`` for x > 0, ``negative_slope · x`` otherwise.

    Keras 3 still accepts the Keras 2 name ``alpha`` (with a deprecation warning).
    """

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn("Argument `alpha` is deprecated. Use `negative_slope` instead.",
                          stacklevel=2)
        super().__init__(**kwargs)
        if negative_slope is None or _is_negative(negative_slope):
            raise ValueError("The negative_slope value of a Leaky ReLU layer cannot be None or "
                             "negative value. Expected a float. Received: "
                             f"negative_slope={negative_slope!r}")
        self.negative_slope = real("LeakyReLU", "negative_slope", negative_slope, low=0.0)
        self.supports_masking = True

    def forward(self, inputs, training=False, mask=None):
        self._x = inputs
        return np.where(inputs > 0, inputs, inputs * inputs.dtype.type(self.negative_slope))

    def backward(self, d_outputs):
        return np.where(self._x > 0, d_outputs,
                        d_outputs * d_outputs.dtype.type(self.negative_slope))

    def get_config(self):
        config = super().get_config()
        config["negative_slope"] = self.negative_slope
        return config


class ELU(Layer):
    """Exponential linear unit: ``x`` for x > 0, ``alpha · (exp(x) - 1)`` otherwise."""

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = real("ELU", "alpha", alpha)
        self.supports_masking = True

    def forward(self, inputs, training=False, mask=None):
        self._x = inputs
        em1 = np.expm1(np.minimum(inputs, 0))
        return np.where(inputs > 0, inputs, inputs.dtype.type(self.alpha) * em1)

    def backward(self, d_outputs):
        x = self._x
        return d_outputs * np.where(x > 0, 1, x.dtype.type(self.alpha) * np.exp(np.minimum(x, 0)))

    def get_config(self):
        config = super().get_config()
        # Keras's ELU leaves alpha out of its config (a round trip loses it); rnncore keeps it
        config["alpha"] = self.alpha
        return config


class Softmax(Layer):
    """Softmax over ``axis`` (an int or a list of ints).

    A mask (booleans, or numbers read as ``> 0.5``) broadcastable to the inputs from the right
    sets the masked entries' logits to -1e9 before the softmax and their outputs to 0 after, as
    in Keras. As the last layer under a crossentropy loss its logits go to the loss (Keras's
    TensorFlow backend does the same for a softmax over the last axis without a mask).
    """

    _call_positional = ("mask",)  # Keras: call(inputs, mask=None)

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            if not axis or not all(is_int(a) for a in axis):
                raise TypeError(f"Softmax: axis must be an integer or a list of integers, "
                                f"got axis={axis!r}")
            axis = [int(a) for a in axis]
        elif not is_int(axis):
            raise TypeError(f"Softmax: axis must be an integer or a list of integers, got "
                            f"axis={axis!r}")
        self.axis = axis
        self.supports_masking = True
        self._keep = None

    def _axes(self, ndim):
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        for a in axes:
            if not -ndim <= a < ndim:
                raise ValueError(f"Softmax {self.name!r}: axis={self.axis!r} is out of range "
                                 f"for inputs of rank {ndim}")
        return tuple(a % ndim for a in axes)

    @property
    def activation(self):
        """'softmax' where the output is a plain softmax over the last axis (so a model may
        fold it into its crossentropy loss, as Keras does), else None."""
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        return "softmax" if axes == [-1] and self._keep is None else None

    def _check_mask(self, inputs, mask):
        mask = np.asarray(mask)
        if mask.ndim > inputs.ndim:
            raise ValueError(f"Softmax {self.name!r}: the mask must not have more dimensions "
                             f"than the inputs. Received: inputs.shape={inputs.shape}, "
                             f"mask.shape={mask.shape}")
        if any(m not in (1, i) for m, i in
                                          zip(mask.shape[::-1], inputs.shape[::-1])):
            raise ValueError(f"Softmax {self.name!r}: the mask must be broadcastable to the "
                             "inputs (each mask dimension 1 or the input's, counted from the "
                             f"right). Received: inputs.shape={inputs.shape}, "
                             f"mask.shape={mask.shape}")
        return mask if mask.dtype == np.bool_ else mask > 0.5

    def forward(self, inputs, training=False, mask=None):
        axes = self._axes(inputs.ndim)
        self._z = inputs
        self._keep = None
        if mask is not None:
            self._keep = self._check_mask(inputs, mask)
            inputs = np.where(self._keep, inputs, inputs.dtype.type(-1e9))
        e = np.exp(inputs - inputs.max(axis=axes, keepdims=True))
        y = e / e.sum(axis=axes, keepdims=True)
        if self._keep is not None:
            y = np.where(self._keep, y, 0).astype(y.dtype, copy=False)
        self._y = y
        return y

    @property
    def preactivation(self):
        return self._z

    def backward(self, d_outputs):
        y = self._y
        axes = self._axes(y.ndim)
        if self._keep is not None:
            d_outputs = np.where(self._keep, d_outputs, 0)
        dz = y * (d_outputs - (d_outputs * y).sum(axis=axes, keepdims=True))
        if self._keep is not None:
            dz = np.where(self._keep, dz, 0)
        return dz.astype(y.dtype, copy=False)

    def backward_preactivation(self, dz):
        return dz

    def preactivation_activity_grad(self):
        return None if not self._activity else self.backward(self._activity[1][0])

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


class PReLU(Layer):
    """Parametric ReLU: ``x`` for x > 0, ``alpha · x`` otherwise, with ``alpha`` learned.

    Weight: ``alpha``, shaped as the inputs without the batch axis, with 1 along each of
    ``shared_axes`` (counted from 1: ``shared_axes=[1]`` shares alpha over time for
    (batch, steps, features) inputs).
    """

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None, alpha_constraint=None,
                 shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.alpha_initializer = _initializers.get(alpha_initializer, "alpha_initializer")
        self.alpha_regularizer = _regularizers.get(alpha_regularizer, "alpha_regularizer")
        self.alpha_constraint = _constraints.get(alpha_constraint, "alpha_constraint")
        if shared_axes is None:
            self.shared_axes = None
        else:
            axes = list(shared_axes) if isinstance(shared_axes, (list, tuple)) else [shared_axes]
            if not all(is_int(a) and a >= 1 for a in axes):
                raise ValueError("PReLU: shared_axes must be axes counted from 1 (the batch "
                                 f"axis cannot be shared). Received: shared_axes={shared_axes!r}")
            self.shared_axes = [int(a) for a in axes]

    def build(self, input_shape):
        param_shape = list(input_shape[1:])
        for a in self.shared_axes or []:
            if a > len(param_shape):
                raise ValueError(f"PReLU {self.name!r}: shared_axes={self.shared_axes} names "
                                 f"axis {a}, but the inputs have shape {tuple(input_shape)}")
            param_shape[a - 1] = 1
        if any(d is None for d in param_shape):
            raise ValueError(f"PReLU {self.name!r}: every axis of the inputs that is not shared "
                             f"must have a known size, got input shape {tuple(input_shape)}; "
                             "share the others with shared_axes")
        self.alpha = self.add_weight(param_shape, self.alpha_initializer, "alpha",
                                     regularizer=self.alpha_regularizer,
                                     constraint=self.alpha_constraint)
        self._param_shape = tuple(param_shape)
        self.built = True

    def check_input(self, x):
        x = super().check_input(x)
        if self.built and (x.ndim != len(self._param_shape) + 1 or any(
                p not in (1, s) for p, s in zip(self._param_shape, x.shape[1:]))):
            raise ValueError(f"PReLU {self.name!r}: inputs of shape {x.shape} do not match the "
                             f"alpha weight of shape {self._param_shape}")
        return x

    def forward(self, inputs, training=False, mask=None):
        self._x = inputs
        # Keras: relu(x) - alpha · relu(-x)
        return np.maximum(inputs, 0) - self.alpha.value * np.maximum(-inputs, 0)

    def backward(self, d_outputs):
        x = self._x
        neg = x < 0
        if self.trainable:
            g = -d_outputs * np.maximum(-x, 0)
            reduce = (0,) + tuple(i + 1 for i, p in enumerate(self._param_shape) if p == 1
                                  and x.shape[i + 1] != 1)
            self.alpha.grad = g.sum(axis=reduce).reshape(self._param_shape).astype(x.dtype)
        # relu's gradient at 0 is 0 in TensorFlow, for both terms
        return d_outputs * np.where(x > 0, 1, np.where(neg, self.alpha.value, 0))

    def get_config(self):
        config = super().get_config()
        config.update({"alpha_initializer": _initializers.serialize(self.alpha_initializer),
                       "alpha_regularizer": _regularizers.serialize(self.alpha_regularizer),
                       "alpha_constraint": _constraints.serialize(self.alpha_constraint),
                       "shared_axes": self.shared_axes})
        return config
