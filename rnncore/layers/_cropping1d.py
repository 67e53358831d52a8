"""Cropping1D: steps cut off the start and end of a sequence."""
import numpy as np

from ._base import Layer
from ._pairs import int_pair


class Cropping1D(Layer):
    """Cuts ``cropping=(before, after)`` steps off a (batch, steps, features) input (an int
    cuts as many from both ends): output (batch, steps - before - after, features). The
    gradient is the output's with zeros at the cut steps. A mask is dropped, as in Keras.

    >>> Cropping1D(1)(np.ones((2, 5, 4), "float32")).shape
    (2, 3, 4)
    """

    input_ndim = 3

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.cropping = int_pair("Cropping1D", "cropping", cropping)

    def _length(self, steps, shape):
        if steps is None:
            return None
        length = steps - sum(self.cropping)
        if length <= 0:
            raise ValueError(f"Cropping1D {self.name!r}: the `cropping` parameter of "
                             "`Cropping1D` layer must be smaller than the input length. "
                             f"Received: input_shape={tuple(shape)}, "
                             f"cropping={self.cropping}")
        return length

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self._length(input_shape[1], input_shape), input_shape[2])

    def forward(self, inputs, training=False, mask=None):
        length = self._length(inputs.shape[1], inputs.shape)
        self._shape = inputs.shape
        return inputs[:, self.cropping[0]:self.cropping[0] + length]

    def backward(self, d_outputs):
        d = np.zeros(self._shape, d_outputs.dtype)
        d[:, self.cropping[0]:self.cropping[0] + d_outputs.shape[1]] = d_outputs
        return d

    def get_config(self):
        config = super().get_config()
        config["cropping"] = self.cropping
        return config
