"""Identity: the layer that returns its inputs (a placeholder, as Keras's)."""
import numpy as np

from ._base import Layer, as_float_array


class Identity(Layer):
    """Returns its inputs unchanged, mask included; the gradient passes through unchanged.

    A placeholder where a model's structure wants a layer and no computation, e.g. an optional
    projection switched off.

    >>> Identity()(np.ones((2, 3), "float32")).shape
    (2, 3)
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.built = True

    def check_input(self, x):
        arr = np.asarray(x)
        # integer and boolean inputs keep their dtype, as Keras's Identity keeps it
        if arr.dtype.kind in "iub":
            return arr
        return as_float_array(x, "inputs", self.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def forward(self, inputs, training=False, mask=None):
        return inputs

    def backward(self, d_outputs):
        return d_outputs
