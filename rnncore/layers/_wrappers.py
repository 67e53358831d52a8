"""Wrapper (Keras's base of layers that hold another layer) and TimeDistributed."""
import numpy as np

from . import _recorded
from ._base import Layer, as_float_array


class Wrapper(Layer):
    """A layer that holds another layer (``self.layer``) and owns its weights: the wrapper's
    weights are the wrapped layer's, in its order. Only a base: use :class:`TimeDistributed`
    (``Bidirectional`` is rnncore's other wrapper)."""

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            if type(self) is Wrapper:
                raise ValueError(f"Wrapper: Layer {layer!r} supplied to Wrapper isn't a supported "
                                 "layer type. Please ensure wrapped layer is a valid Keras layer "
                                 f"(an rnncore Layer instance). Received: layer={layer!r}")
            raise ValueError(f"Please initialize `{type(self).__name__}` layer with a "
                             "`keras.layers.Layer` (an rnncore Layer) instance. Received: "
                             f"layer={layer!r}")
        super().__init__(**kwargs)
        self.layer = layer

    def build(self, input_shape=None):
        if not self.layer.built:
            self.layer.check_input_shape(input_shape)
            self.layer._maybe_build(input_shape)
            # Keras's weight paths inside a wrapper: "time_distributed/dense/kernel"
            for v in self.layer.weights:
                v.path = f"{self.name}/{v.path}"
        self.built = True

    @property
    def trainable_weights(self):
        return self.layer.trainable_weights if self.trainable else []

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return self.layer.weights
        return self.layer.non_trainable_weights

    def get_config(self):
        from ._registry import serialize

        config = super().get_config()
        config["layer"] = serialize(self.layer)
        return config

    @classmethod
    def from_config(cls, config):
        from ._registry import deserialize

        config = dict(config)
        return cls(deserialize(config.pop("layer")), **config)


class TimeDistributed(Wrapper):
    """Applies ``layer`` to every timestep: (batch, steps, ...) → (batch, steps, ...).

    Time is folded into the batch, so the wrapped layer runs once on (batch·steps, ...)
    arrays, forward and backward; its weights are shared by every step. Works for any layer
    whose forward/backward take (batch, ...) arrays: Dense, Dropout, Activation, the activation
    and noise layers, RepeatVector, a recurrent layer on (batch, steps, substeps, features)...
    Dropout-like layers draw independent noise for every step, as in Keras. The mask, if any,
    passes through unchanged (Keras's TimeDistributed); a mask of more than (batch, steps)
    reaches the wrapped layer folded as its inputs are.

    >>> TimeDistributed(Dense(8))(np.zeros((32, 10, 16))).shape
    (32, 10, 8)
    """

    input_min_ndim = 3

    def __init__(self, layer, **kwargs):
        super().__init__(layer, **kwargs)
        self.supports_masking = True

    @staticmethod
    def _child_shape(input_shape):
        if not isinstance(input_shape, (tuple, list)) or len(input_shape) < 3:
            raise ValueError("TimeDistributed: the inputs must have at least 3 dimensions "
                             f"(batch, steps, ...), received input_shape={input_shape!r}")
        return (input_shape[0],) + tuple(input_shape[2:])

    def build(self, input_shape):
        super().build(self._child_shape(tuple(input_shape)))

    def compute_output_shape(self, input_shape):
        child = self.layer.compute_output_shape(self._child_shape(tuple(input_shape)))
        return (child[0], input_shape[1]) + tuple(child[1:])

    def check_input(self, x):
        x = as_float_array(x, "inputs", self.dtype)
        if x.ndim < 3:
            raise ValueError(f"TimeDistributed {self.name!r}: inputs must be at least 3D "
                             f"(batch, steps, ...), got shape {x.shape}")
        self.layer.check_input(self._fold(x))
        return x

    @staticmethod
    def _fold(x):
        # sizes written out: -1 cannot be inferred for an empty batch
        return x.reshape((x.shape[0] * x.shape[1],) + x.shape[2:])

    def forward(self, inputs, training=False, mask=None):
        B, T = inputs.shape[:2]
        self._shape = (B, T)
        if mask is not None:
            mask = np.asarray(mask)
            _check_mask(mask.shape, inputs.shape)
        inner_mask = None
        if mask is not None and (_recorded.takes_mask(self.layer) or (
                self.layer.supports_masking and mask.ndim > 2)):
            # a layer written with call(..., mask) gets each step's mask, as Keras hands it
            inner_mask = self._fold(mask)
        self.layer.input_grad_needed = self.input_grad_needed
        y = self.layer.forward(self._fold(inputs), training=training, mask=inner_mask)
        return y.reshape((B, T) + y.shape[1:])

    def backward(self, d_outputs):
        B, T = self._shape
        dx = self.layer.backward(self._fold(d_outputs))
        return None if dx is None else dx.reshape((B, T) + dx.shape[1:])


def _check_mask(mask_shape, input_shape):
    """Keras's rule: the mask starts with the inputs' (batch, timesteps)."""
    if len(mask_shape) < 2:
        raise ValueError("The `mask` passed to the `TimeDistributed` layer must be at least 2D "
                         f"(e.g., `(batch_size, timesteps)`), but it has {len(mask_shape)} "
                         f"dimension(s) with shape {mask_shape}.")
    if tuple(mask_shape[:2]) != tuple(input_shape[:2]):
        raise ValueError(f"The `mask` passed to the `TimeDistributed` layer has a shape "
                         f"{mask_shape} that is incompatible with the input shape "
                         f"{input_shape}. The first two dimensions of the mask (batch size and "
                         "timesteps) must match the input's first two dimensions. Expected "
                         f"mask shape prefix: ({input_shape[0]}, {input_shape[1]}).")
