"""ZeroPadding2D and ZeroPadding3D: zeros added before and after each spatial axis."""
import numpy as np

from ..ops._pooling import spatial_axes, standardize_data_format
from ._base import Layer
from ._pairs import int_pairs


class _ZeroPadding(Layer):
    """Pads spatial axis i with ``padding[i] = (before, after)`` zeros. The gradient is the
    output's, cut back to the inputs' cells. A mask is dropped, as in Keras."""

    dims = None

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.padding = int_pairs("padding", padding, self.dims)

    def _widths(self):
        widths = [(0, 0)] * (self.dims + 2)
        for axis, pad in zip(spatial_axes(self.dims + 2, self.data_format), self.padding):
            widths[axis] = pad
        return widths

    def compute_output_shape(self, input_shape):
        return tuple(None if n is None else n + sum(pad)
                     for n, pad in zip(input_shape, self._widths()))

    def forward(self, inputs, training=False, mask=None):
        self._shape = inputs.shape
        return np.pad(inputs, self._widths())

    def backward(self, d_outputs):
        index = tuple(slice(before, before + n)
                      for (before, _), n in zip(self._widths(), self._shape))
        return np.ascontiguousarray(d_outputs[index])

    def get_config(self):
        config = super().get_config()
        config.update({"padding": self.padding, "data_format": self.data_format})
        return config


class ZeroPadding2D(_ZeroPadding):
    """Zeros around the rows and columns of ``(batch, rows, cols, channels)`` inputs:
    ``padding`` is an int (all four sides), ``(rows, cols)`` (both sides of each) or
    ``((top, bottom), (left, right))``.

    >>> ZeroPadding2D(((1, 0), (2, 1)))(np.ones((2, 3, 4, 5))).shape
    (2, 4, 7, 5)
    """

    dims, input_ndim = 2, 4

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class ZeroPadding3D(_ZeroPadding):
    """Zeros around the three spatial axes of ``(batch, d1, d2, d3, channels)`` inputs,
    ``padding`` as ZeroPadding2D's with three entries."""

    dims, input_ndim = 3, 5

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)
