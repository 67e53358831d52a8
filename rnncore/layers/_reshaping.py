"""RepeatVector, Reshape and Permute: layers that only move values around.

None of them supports masking (as in Keras, a mask reaching them is dropped): their backward
pass moves the gradient back the same way.
"""
import math

import numpy as np

from ._arguments import is_int, positive_int
from ._base import Layer


class RepeatVector(Layer):
    """Repeats the input ``n`` times: (batch, features) → (batch, n, features).

    The bridge of an encoder-decoder: ``LSTM(128)`` → ``RepeatVector(T)`` →
    ``LSTM(128, return_sequences=True)``. The gradient is the sum over the ``n`` copies.

    >>> RepeatVector(3)(np.zeros((2, 32))).shape
    (2, 3, 32)
    """

    input_ndim = 2

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = positive_int("RepeatVector", "n", n)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])

    def check_input(self, x):
        x = super().check_input(x)
        if x.ndim != 2:
            raise ValueError(f"RepeatVector {self.name!r}: inputs must be 2D (batch, features), "
                             f"got shape {x.shape}")
        return x

    def forward(self, inputs, training=False, mask=None):
        # np.repeat makes a C-contiguous copy, which the next recurrent layer's gemm reads
        return np.repeat(inputs[:, None, :], self.n, axis=1)

    def backward(self, d_outputs):
        return d_outputs.sum(axis=1)

    def get_config(self):
        config = super().get_config()
        config["n"] = self.n
        return config


def _check_target_shape(target_shape):
    try:
        dims = tuple(target_shape)
    except TypeError:
        raise TypeError(f"Reshape: target_shape must be a tuple of integers (without the batch "
                        f"dimension), got {target_shape!r}") from None
    if isinstance(target_shape, str) or not all(is_int(d) for d in dims):
        raise TypeError(f"Reshape: target_shape must be a tuple of integers (without the batch "
                        f"dimension), got target_shape={target_shape!r}")
    if any(d < -1 for d in dims):
        raise ValueError("Reshape: each dimension in target_shape must be a non-negative "
                         "integer, or -1 for a single unknown dimension. Received: "
                         f"target_shape={target_shape!r}")
    if dims.count(-1) > 1:
        raise ValueError("Reshape: there must be at most one unknown dimension (-1) in "
                         f"target_shape. Received: target_shape={target_shape!r}")
    return tuple(int(d) for d in dims)


class Reshape(Layer):
    """Reshapes the inputs to ``(batch, *target_shape)``; one entry may be -1 (inferred).

    >>> Reshape((3, 4))(np.zeros((2, 12))).shape
    (2, 3, 4)
    >>> Reshape((-1, 2, 2))(np.zeros((2, 12))).shape
    (2, 3, 2, 2)
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = _check_target_shape(target_shape)

    def _resolved(self, input_shape):
        """target_shape with its -1 worked out from the per-sample input shape (None where the
        input shape has an unknown size)."""
        target = self.target_shape
        if any(d is None for d in input_shape):
            return tuple(None if d == -1 else d for d in target)
        size = math.prod(input_shape)
        known = math.prod(d for d in target if d != -1)
        if -1 not in target:
            if size != known:
                raise ValueError(f"Reshape {self.name!r}: the total size must be unchanged: "
                                 f"inputs of shape (batch, {', '.join(map(str, input_shape))}) "
                                 f"cannot be reshaped to target_shape={target}")
            return target
        if known == 0 or size % known:
            raise ValueError(f"Reshape {self.name!r}: inputs of shape (batch, "
                             f"{', '.join(map(str, input_shape))}) cannot be reshaped to "
                             f"target_shape={target}: {size} values per sample")
        return tuple(size // known if d == -1 else d for d in target)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._resolved(tuple(input_shape[1:]))

    def forward(self, inputs, training=False, mask=None):
        self._shape = inputs.shape
        # the sizes written out: -1 cannot be inferred for an empty batch
        return inputs.reshape((inputs.shape[0],) + self._resolved(inputs.shape[1:]))

    def backward(self, d_outputs):
        return d_outputs.reshape(self._shape)

    def get_config(self):
        config = super().get_config()
        config["target_shape"] = list(self.target_shape)
        return config


class Permute(Layer):
    """Permutes the non-batch axes: ``dims`` counts from 1, e.g. ``Permute((2, 1))`` turns
    (batch, steps, features) into (batch, features, steps)."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        try:
            dims = tuple(dims)
        except TypeError:
            raise TypeError(f"Permute: dims must be a tuple of integers, got {dims!r}") from None
        if not all(is_int(d) for d in dims) or sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError("Permute: Invalid permutation argument `dims`: the set of indices "
                             "in dims must be consecutive and start "
                             f"from 1 (the batch axis is not included). Received: dims={dims!r}")
        self.dims = tuple(int(d) for d in dims)
        self.input_ndim = len(self.dims) + 1

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def check_input(self, x):
        x = super().check_input(x)
        if x.ndim != self.input_ndim:
            raise ValueError(f"Permute {self.name!r} with dims={self.dims} expects "
                             f"{self.input_ndim}D inputs, got shape {x.shape}")
        return x

    def forward(self, inputs, training=False, mask=None):
        return np.ascontiguousarray(inputs.transpose((0,) + self.dims))

    def backward(self, d_outputs):
        return np.ascontiguousarray(d_outputs.transpose(np.argsort((0,) + self.dims)))

    def get_config(self):
        config = super().get_config()
        config["dims"] = list(self.dims)
        return config
