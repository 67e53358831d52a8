"""Dense, Dropout, Flatten, Activation and the Input layer."""
import numbers
import warnings

import numpy as np

from .. import activations as _activations
from .. import constraints as _constraints
from .. import initializers as _initializers
from .. import regularizers as _regularizers
from .._config import image_data_format
from .._random import generator
from ._arguments import ActivationAttribute
from ._base import Layer, SymbolicTensor, as_float_array


class InputLayer(Layer):
    """The entry of a functional model; :func:`Input` makes one and returns its tensor."""

    def __init__(self, shape=None, batch_size=None, dtype=None, name=None, sparse=None,
                 batch_shape=None, input_shape=None, ragged=False, optional=False, **kwargs):
        # Keras 3.15 writes ragged and optional into every InputLayer config
        for argument, value in (("sparse", sparse), ("ragged", ragged), ("optional", optional)):
            if value:
                raise ValueError(f"Input: `{argument}=True` is not supported by rnncore; give "
                                 "dense arrays")
        super().__init__(name=name, **kwargs)
        if input_shape is not None:
            warnings.warn("Argument `input_shape` is deprecated. Use `shape` instead.",
                          stacklevel=2)
            shape = shape if shape is not None else input_shape
        if shape is not None and batch_shape is not None:
            raise ValueError("Input: you cannot pass both `shape` and `batch_shape` at the same "
                             f"time. Received: shape={shape!r}, batch_shape={batch_shape!r}")
        if batch_size is not None and batch_shape is not None:
            raise ValueError("Input: you cannot pass both `batch_size` and `batch_shape` at the "
                             f"same time. Received: batch_size={batch_size!r}, "
                             f"batch_shape={batch_shape!r}")
        if batch_shape is None:
            if shape is None:
                raise ValueError("Input: you must pass a `shape` argument (the shape without the "
                                 "batch dimension, e.g. shape=(timesteps, features))")
            if isinstance(shape, numbers.Integral):
                shape = (shape,)
            if batch_size is not None and (not isinstance(batch_size, numbers.Integral)
                                           or isinstance(batch_size, bool) or batch_size < 1):
                raise ValueError("Input: batch_size must be a positive integer or None. "
                                 f"Received: batch_size={batch_size!r}")
            batch_shape = (batch_size,) + _standardize_shape(shape, "shape")
        self.sparse = False
        self.ragged = False
        self.optional = False
        self.batch_shape = _standardize_shape(batch_shape, "batch_shape")
        try:
            self.input_dtype = "string" if dtype in ("string", str) else \
                np.dtype(dtype or "float32").name
        except TypeError:
            raise ValueError(f"Input: dtype must be a NumPy dtype name such as 'float32' or "
                             f"'int32'. Received: dtype={dtype!r}") from None
        self.built = True
        self._output_tensor = SymbolicTensor(self.batch_shape, self.input_dtype, self, 0, 0,
                                             name=self.name)

    @property
    def output(self):
        return self._output_tensor

    def forward(self, inputs, training=False, mask=None):
        return inputs

    def backward(self, d_outputs):
        return d_outputs

    def get_config(self):
        return {"name": self.name, "batch_shape": list(self.batch_shape),
                "dtype": self.input_dtype}


def _standardize_shape(shape, argument):
    """Keras's standardize_shape: a tuple of non-negative ints or None (the batch entry)."""
    try:
        dims = tuple(shape)
    except TypeError:
        dims = None
    if dims is None or isinstance(shape, str) or not all(
            d is None or (isinstance(d, numbers.Integral) and not isinstance(d, bool) and d >= 0)
            for d in dims):
        raise ValueError(f"Input: {argument} must be a tuple of non-negative integers or None "
                         f"(an unknown size). Received: {argument}={shape!r}")
    return tuple(None if d is None else int(d) for d in dims)


def Input(shape=None, batch_size=None, dtype=None, name=None, batch_shape=None, **kwargs):
    """A symbolic input tensor for a functional model: ``Input(shape=(timesteps,), dtype='int32')``."""
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name,
                      batch_shape=batch_shape, **kwargs).output


class Dense(Layer):
    """``output = activation(inputs · kernel + bias)`` over the last axis.

    Weights: ``kernel (input_dim, units)``, ``bias (units,)``.
    """

    input_min_ndim = 2
    activation = ActivationAttribute()

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, numbers.Integral) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"units must be a positive integer, got {units!r}")
        self.activity_regularizer = _regularizers.get(activity_regularizer,
                                                      "activity_regularizer")
        self._weight_options(
            kernel=(kernel_initializer, kernel_regularizer, kernel_constraint),
            bias=(bias_initializer, bias_regularizer, bias_constraint))
        self.units = int(units)
        self.activation = _activations._resolve(activation)
        self.use_bias = bool(use_bias)
        self.supports_masking = True
        self._x = self._z = self._y = None

    def build(self, input_shape):
        self.input_dim = int(input_shape[-1])
        self.kernel = self.add_weight((self.input_dim, self.units), self.kernel_initializer,
                                      "kernel")
        self.bias = (self.add_weight((self.units,), self.bias_initializer, "bias")
                     if self.use_bias else None)
        self.built = True

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def check_input(self, x):
        x = as_float_array(x, "inputs", self.dtype)
        if x.ndim < 2:
            raise ValueError(f"Dense {self.name!r}: inputs must be at least 2D (batch, features), "
                             f"got shape {x.shape}")
        self._check_features(x.shape)
        return x

    def check_input_shape(self, input_shape):
        super().check_input_shape(input_shape)
        self._check_features(tuple(input_shape))

    def _check_features(self, shape):
        # Keras's input spec after build: the last axis keeps the size the kernel was made for
        if self.built and shape[-1] is not None and shape[-1] != self.input_dim:
            raise ValueError(f"Input 0 of layer {self.name!r} is incompatible with the layer: "
                             f"expected axis -1 of input shape to have value {self.input_dim}, "
                             f"but received input with shape {shape}")

    def forward(self, inputs, training=False, mask=None):
        self._x = inputs
        z = inputs @ self.kernel.value
        if self.use_bias:
            z += self.bias.value
        self._z = z
        self._y = z if self.activation == "linear" else _activations.forward(self.activation, z)
        return self._y

    @property
    def preactivation(self):
        """The last forward's ``inputs · kernel + bias`` (the logits for sigmoid/softmax)."""
        return self._z

    def backward(self, d_outputs):
        dz = (d_outputs if self.activation == "linear"
              else _activations.backward(self.activation, self._z, self._y, d_outputs))
        return self.backward_preactivation(dz)

    def preactivation_activity_grad(self):
        """The activity penalty's gradient carried through the activation to the
        pre-activation, or None: what a fused loss's backward adds to its own."""
        if not self._activity:
            return None
        g = self._activity[1][0]
        return g if self.activation == "linear" else _activations.backward(
            self.activation, self._z, self._y, g)

    def backward_preactivation(self, dz):
        """Backward from the gradient w.r.t. the pre-activation (used for fused losses)."""
        rows = int(np.prod(self._x.shape[:-1], dtype=np.int64))  # -1 fails for 0 features
        x2 = self._x.reshape(rows, self.input_dim)
        dz2 = dz.reshape(rows, self.units)
        if self.trainable:
            self.kernel.grad = x2.T @ dz2
            if self.use_bias:
                self.bias.grad = dz2.sum(axis=0)
        return (dz2 @ self.kernel.value.T).reshape(self._x.shape)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units,
                       "activation": _activations.serialize(self.activation),
                       "use_bias": self.use_bias,
                       "kernel_initializer": _initializers.serialize(self.kernel_initializer),
                       "bias_initializer": _initializers.serialize(self.bias_initializer),
                       "kernel_regularizer": _regularizers.serialize(self.kernel_regularizer),
                       "bias_regularizer": _regularizers.serialize(self.bias_regularizer),
                       "kernel_constraint": _constraints.serialize(self.kernel_constraint),
                       "bias_constraint": _constraints.serialize(self.bias_constraint)})
        return config


class Activation(Layer):
    """Applies an activation function: ``Activation('softmax')``."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = _activations._resolve(activation)
        self.supports_masking = True

    def forward(self, inputs, training=False, mask=None):
        self._x = inputs
        self._y = _activations.forward(self.activation, inputs)
        return self._y

    def backward(self, d_outputs):
        return _activations.backward(self.activation, self._x, self._y, d_outputs)

    def get_config(self):
        config = super().get_config()
        config["activation"] = _activations.serialize(self.activation)
        return config


class Dropout(Layer):
    """Zeroes a fraction ``rate`` of the inputs in training and scales the rest by 1/(1-rate)."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(rate, numbers.Real) or not 0 <= rate <= 1:
            raise ValueError("Invalid value received for argument `rate`. Expected a float "
                             f"value between 0 and 1. Received: rate={rate!r}")
        self.rate = float(rate)
        self.noise_shape = _noise_shape(noise_shape)
        self.seed = seed
        self._rng = generator(seed) if seed is not None else None
        self.supports_masking = True
        self._keep = None

    def forward(self, inputs, training=False, mask=None):
        if not training or self.rate == 0:
            self._keep = None
            return inputs
        shape = self._mask_shape(inputs)
        rng = self._rng or generator()
        if self.rate >= 1:
            self._keep = np.zeros(shape, inputs.dtype)
        else:
            self._keep = ((rng.random(shape) >= self.rate) / (1 - self.rate)).astype(inputs.dtype)
        return inputs * self._keep

    def _mask_shape(self, inputs):
        """The shape of the keep mask, broadcast over ``inputs`` (SpatialDropout1D's differs)."""
        if self.noise_shape is None:
            return inputs.shape
        shape = tuple(s if n is None else n for s, n in zip(inputs.shape, self.noise_shape))
        # Keras's rule: one mask entry per input entry, or 1 to share it along an axis
        if len(self.noise_shape) != inputs.ndim or any(
                n not in (1, s) for n, s in zip(shape, inputs.shape)):
            raise ValueError(f"Dropout {self.name!r}: noise_shape must have one entry per "
                             f"input dimension, each None, 1 or that dimension, for inputs "
                             f"of shape {inputs.shape}; got noise_shape={self.noise_shape}")
        return shape

    def backward(self, d_outputs):
        return d_outputs if self._keep is None else d_outputs * self._keep

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed,
                       "noise_shape": None if self.noise_shape is None else list(self.noise_shape)})
        return config


def _noise_shape(noise_shape):
    """Keras's check of Dropout's ``noise_shape``: None, or a tuple of positive ints and
    None (an axis the inputs' size fills in)."""
    if noise_shape is None:
        return None
    start = "Invalid value received for argument `noise_shape`. "
    if isinstance(noise_shape, str):
        raise ValueError(f"{start}Expected a tuple or list of integers. "
                         f"Received: noise_shape={noise_shape}")
    try:
        dims = tuple(noise_shape)
    except TypeError:
        raise ValueError(f"{start}Expected an iterable of integers (e.g., a tuple or list). "
                         f"Received: noise_shape={noise_shape!r}") from None
    for i, dim in enumerate(dims):
        if dim is None:
            continue
        # NumPy integers are integers here (Keras refuses them)
        if not isinstance(dim, numbers.Integral) or isinstance(dim, bool):
            raise ValueError(f"{start}Expected all elements to be integers or None. Received "
                             f"element at index {i}: {dim!r} (type: {type(dim).__name__})")
        if dim <= 0:
            raise ValueError(f"{start}Expected all dimensions to be positive integers or None. "
                             f"Received negative or zero value at index {i}: {dim}")
    return tuple(None if d is None else int(d) for d in dims)


class Flatten(Layer):
    """(batch, d1, d2, …) → (batch, d1·d2·…).

    ``data_format="channels_first"`` reads inputs as (batch, channels, d2, …) and, as Keras
    does, moves the channels last before flattening, so the order of the features is the one
    a channels_last model would give.
    """

    input_min_ndim = 1

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last", "channels_first"):
            raise ValueError(f"Flatten: data_format must be 'channels_last' or "
                             f"'channels_first'. Received: data_format={data_format!r}")
        self.data_format = data_format or image_data_format()
        self._shape = None

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        size = None if any(d is None for d in rest) else int(np.prod(rest))
        return (input_shape[0], size)

    def _channels_moved(self, ndim):
        return self.data_format == "channels_first" and ndim > 2

    def forward(self, inputs, training=False, mask=None):
        self._shape = inputs.shape
        if self._channels_moved(inputs.ndim):
            inputs = np.moveaxis(inputs, 1, -1)
        # the size written out: -1 cannot be inferred for an empty batch
        return inputs.reshape(inputs.shape[0], int(np.prod(inputs.shape[1:], dtype=np.int64)))

    def backward(self, d_outputs):
        if self._channels_moved(len(self._shape)):
            moved = (self._shape[0],) + self._shape[2:] + (self._shape[1],)
            return np.ascontiguousarray(np.moveaxis(d_outputs.reshape(moved), -1, 1))
        return d_outputs.reshape(self._shape)

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config
