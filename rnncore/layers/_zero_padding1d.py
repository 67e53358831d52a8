"""ZeroPadding1D: zeros added at the start and end of the steps axis."""
import numpy as np

from .._config import image_data_format
from ._base import Layer
from ._pairs import int_pair

_FORMATS = ("channels_last", "channels_first")


class ZeroPadding1D(Layer):
    """Pads the steps axis with zeros: (batch, steps, features) →
    (batch, before + steps + after, features), ``padding=(before, after)`` (an int pads both
    sides alike). With ``data_format="channels_first"`` the inputs are (batch, features, steps).
    The gradient is the output's, cut back to the original steps. A mask is dropped, as in
    Keras.

    >>> ZeroPadding1D((1, 2))(np.ones((2, 3, 4), "float32")).shape
    (2, 6, 4)
    """

    input_ndim = 3

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = int_pair("ZeroPadding1D", "padding", padding)
        data_format = image_data_format() if data_format is None else str(data_format).lower()
        if data_format not in _FORMATS:
            raise ValueError(f"ZeroPadding1D: `data_format` must be one of {_FORMATS}. "
                             f"Received: data_format={data_format!r}")
        self.data_format = data_format
        self._axis = 2 if data_format == "channels_first" else 1

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        if shape[self._axis] is not None:
            shape[self._axis] += sum(self.padding)
        return tuple(shape)

    def forward(self, inputs, training=False, mask=None):
        widths = [(0, 0)] * 3
        widths[self._axis] = self.padding
        self._shape = inputs.shape
        return np.pad(inputs, widths)

    def backward(self, d_outputs):
        index = [slice(None)] * 3
        index[self._axis] = slice(self.padding[0], self.padding[0] + self._shape[self._axis])
        return np.ascontiguousarray(d_outputs[tuple(index)])

    def get_config(self):
        config = super().get_config()
        config.update({"padding": self.padding, "data_format": self.data_format})
        return config
