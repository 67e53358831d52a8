"""Rescaling: inputs times a scale plus an offset (Keras's preprocessing layer)."""
import numpy as np

from ._base import as_float_array
from ._tf_data import TFDataLayer


class Rescaling(TFDataLayer):
    """``outputs = inputs * scale + offset``, in the layer's float dtype (integer inputs, such
    as pixel values, are converted first).

    Parameters
    ----------
    scale : float, or an array broadcast against the inputs (one value per channel).
    offset : float, or an array likewise; default 0.

    >>> Rescaling(1 / 127.5, offset=-1)(np.array([[0, 255]])).tolist()
    [[-1.0, 1.0]]
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("scale", scale), ("offset", offset)):
            arr = np.asarray(value)
            if arr.dtype.kind not in "biuf":
                raise ValueError(f"Rescaling: {name} must be a number or an array of numbers; "
                                 f"received {name}={value!r}")
        self.scale, self.offset = scale, offset
        self.supports_masking = True
        self.built = True

    def check_input(self, x):
        return as_float_array(np.asarray(x).astype(self.dtype) if np.asarray(x).dtype.kind
                              in "iub" else x, "inputs", self.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def forward(self, inputs, training=False, mask=None):
        dtype = np.dtype(self.dtype)
        self._shape = np.shape(inputs)
        return (np.asarray(inputs, dtype) * np.asarray(self.scale, dtype)
                + np.asarray(self.offset, dtype)).astype(dtype, copy=False)

    def backward(self, d_outputs):
        g = d_outputs * np.asarray(self.scale, d_outputs.dtype)
        shape = self._shape
        if g.shape != tuple(shape):  # a scale array that broadcast the inputs up
            g = g.sum(axis=tuple(range(g.ndim - len(shape)))) if g.ndim > len(shape) else g
            axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
            g = g.sum(axis=axes, keepdims=True) if axes else g
        return g

    def get_config(self):
        config = super().get_config()
        scale, offset = self.scale, self.offset
        config.update(scale=np.asarray(scale).tolist() if np.ndim(scale) else scale,
                      offset=np.asarray(offset).tolist() if np.ndim(offset) else offset)
        return config
