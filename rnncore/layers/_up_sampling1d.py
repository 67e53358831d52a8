"""UpSampling1D: each step repeated along the steps axis."""
import numpy as np

from ._arguments import is_int
from ._base import Layer


class UpSampling1D(Layer):
    """Repeats each step ``size`` times: (batch, steps, features) →
    (batch, steps * size, features). The gradient of a step is the sum over its copies. A mask
    is dropped, as in Keras.

    >>> UpSampling1D(2)(np.ones((2, 3, 4), "float32")).shape
    (2, 6, 4)
    """

    input_ndim = 3

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        if not is_int(size):
            raise TypeError(f"UpSampling1D: Expected an integer value for `size`, got {size!r} "
                            f"(of type {type(size).__name__})")
        if size <= 0:
            raise ValueError(f"UpSampling1D: argument `size` should be a positive integer. "
                             f"Received: size={size}")
        self.size = int(size)

    def compute_output_shape(self, input_shape):
        steps = None if input_shape[1] is None else input_shape[1] * self.size
        return (input_shape[0], steps, input_shape[2])

    def forward(self, inputs, training=False, mask=None):
        return np.repeat(inputs, self.size, axis=1)

    def backward(self, d_outputs):
        b, t, f = d_outputs.shape
        return d_outputs.reshape(b, t // self.size, self.size, f).sum(axis=2)

    def get_config(self):
        config = super().get_config()
        config["size"] = self.size
        return config
