"""Cropping2D and Cropping3D: cells cut off both ends of each spatial axis."""
import numpy as np

from ..ops._pooling import spatial_axes, standardize_data_format
from ._base import Layer
from ._pairs import int_pairs


class _Cropping(Layer):
    """Cuts ``cropping[i] = (before, after)`` cells off spatial axis i. The gradient is the
    output's with zeros at the cut cells. A mask is dropped, as in Keras."""

    dims = None

    def __init__(self, cropping, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.cropping = int_pairs("cropping", cropping, self.dims)

    def _cuts(self):
        cuts = [(0, 0)] * (self.dims + 2)
        for axis, cut in zip(spatial_axes(self.dims + 2, self.data_format), self.cropping):
            cuts[axis] = cut
        return cuts

    def compute_output_shape(self, input_shape):
        shape = tuple(None if n is None else n - sum(cut)
                      for n, cut in zip(input_shape, self._cuts()))
        if any(n is not None and n <= 0 for n in shape):
            raise ValueError("Values in `cropping` argument should be smaller than the "
                             "corresponding spatial dimension of the input. Received: "
                             f"input_shape={tuple(input_shape)}, cropping={self.cropping}")
        return shape

    def check_input(self, x):
        x = super().check_input(x)
        if x.ndim == self.dims + 2:
            self.compute_output_shape(x.shape)
        return x

    def _index(self, shape):
        return tuple(slice(before, n - after) for (before, after), n in zip(self._cuts(), shape))

    def forward(self, inputs, training=False, mask=None):
        self._shape = inputs.shape
        return inputs[self._index(inputs.shape)]

    def backward(self, d_outputs):
        d = np.zeros(self._shape, d_outputs.dtype)
        d[self._index(self._shape)] = d_outputs
        return d

    def get_config(self):
        config = super().get_config()
        config.update({"cropping": self.cropping, "data_format": self.data_format})
        return config


class Cropping2D(_Cropping):
    """Cuts rows and columns off ``(batch, rows, cols, channels)`` inputs: ``cropping`` is
    an int (all four sides), ``(rows, cols)`` (both ends of each) or
    ``((top, bottom), (left, right))``.

    >>> Cropping2D(((1, 0), (2, 1)))(np.ones((2, 5, 6, 3))).shape
    (2, 4, 3, 3)
    """

    dims, input_ndim = 2, 4

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


class Cropping3D(_Cropping):
    """Cuts cells off the three spatial axes of ``(batch, d1, d2, d3, channels)`` inputs,
    ``cropping`` as Cropping2D's with three entries."""

    dims, input_ndim = 3, 5

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)
