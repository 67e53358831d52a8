"""MaxPooling1D and AveragePooling1D over (batch, steps, channels), vectorised over steps;
``data_format='channels_first'`` inputs (batch, channels, steps) are pooled transposed."""
import numpy as np

from .._config import image_data_format
from ._base import Layer, as_float_array
from ._convolutional import (same_padding, scatter_windows, standardize_data_format,
                             standardize_int, standardize_padding, windows)


class _Pooling1D(Layer):
    """Windows of ``pool_size`` steps every ``strides`` steps (default: ``pool_size``).

    ``padding='valid'``: ``(steps - pool_size) // strides + 1`` outputs; ``'same'``:
    ``ceil(steps / strides)`` outputs, TensorFlow's padding, padded cells left out of the
    maximum and of the average's count. The layer has no weights and drops the mask, as Keras.
    """

    input_ndim = 3

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, name=None,
                 **kwargs):
        super().__init__(name=name, **kwargs)
        self.pool_size = (standardize_int(pool_size, "pool_size"),)
        self.strides = (self.pool_size if strides is None
                        else (standardize_int(strides, "strides"),))
        self.padding = standardize_padding(padding, {"valid", "same"})
        if data_format is None:  # Keras: the global image data format
            data_format = image_data_format()
        self.data_format = ("channels_first" if data_format == "channels_first" else
                            standardize_data_format(data_format, type(self).__name__))
        self._cache = None

    def _steps_last(self):
        return self.data_format == "channels_first"

    def _pads(self, length):
        if self.padding == "valid":
            return 0, 0
        return same_padding(length, self.pool_size[0], self.strides[0])

    def _out_len(self, length):
        if length is None:
            return None
        if self.padding == "same":
            return -(-length // self.strides[0])
        n = length - self.pool_size[0]
        return n // self.strides[0] + 1 if n >= 0 else 0

    def compute_output_shape(self, input_shape):
        steps_axis = 2 if self._steps_last() else 1
        out = self._out_len(input_shape[steps_axis])
        if out is not None and out <= 0:
            raise ValueError(f"{type(self).__name__} {self.name!r}: inputs of "
                             f"{input_shape[steps_axis]} steps are shorter than "
                             f"pool_size={self.pool_size[0]} with padding={self.padding!r}")
        shape = list(input_shape)
        shape[steps_axis] = out
        return tuple(shape)

    def forward(self, inputs, training=False, mask=None):
        if self._steps_last():
            return np.ascontiguousarray(self._pool(inputs.transpose(0, 2, 1)).transpose(0, 2, 1))
        return self._pool(inputs)

    def backward(self, d_outputs):
        if self._steps_last():
            return np.ascontiguousarray(
                self._pool_backward(d_outputs.transpose(0, 2, 1)).transpose(0, 2, 1))
        return self._pool_backward(d_outputs)

    def check_input(self, x):
        x = as_float_array(x, "inputs", self.dtype)
        if x.ndim != 3:
            layout = "channels, steps" if self._steps_last() else "steps, channels"
            raise ValueError(f"{type(self).__name__} {self.name!r}: inputs must be 3D (batch, "
                             f"{layout}), got shape {x.shape}")
        self.compute_output_shape(x.shape)
        return x

    def _windows(self, x, fill):
        left, right = self._pads(x.shape[1])
        xp = (np.pad(x, ((0, 0), (left, right), (0, 0)), constant_values=fill)
              if left or right else x)
        out_len = self._out_len(x.shape[1])
        return windows(xp, self.pool_size[0], self.strides[0], 1, out_len), xp.shape[1], left

    def _unpad(self, dxp, left, length):
        return np.ascontiguousarray(dxp[:, left:left + length])

    def get_config(self):
        config = super().get_config()
        config.update({"pool_size": self.pool_size, "padding": self.padding,
                       "strides": self.strides, "data_format": self.data_format})
        return config


class MaxPooling1D(_Pooling1D):
    """The maximum of each window: ``(batch, steps, channels) → (batch, new_steps, channels)``.
    Its gradient goes to the first maximum of each window (TensorFlow's argmax).

    >>> MaxPooling1D(2)(np.ones((2, 10, 4), "float32")).shape
    (2, 5, 4)
    """

    def _pool(self, inputs):
        w, padded_len, left = self._windows(inputs, -np.inf)
        # a loop over the window's taps (argmax over a strided axis is several times slower)
        y = w[:, :, 0].copy()
        for p in range(1, w.shape[2]):
            np.maximum(y, w[:, :, p], out=y)
        arg = np.full(y.shape, w.shape[2] - 1, np.intp)  # the first maximum, as TensorFlow
        for p in range(w.shape[2] - 2, -1, -1):
            arg[w[:, :, p] == y] = p
        self._cache = (arg, padded_len, left, inputs.shape[1])
        return y

    def _pool_backward(self, d_outputs):
        arg, padded_len, left, length = self._cache
        p = self.pool_size[0]
        d = (arg[:, :, None, :] == np.arange(p)[None, None, :, None]) * d_outputs[:, :, None, :]
        dxp = scatter_windows(d.astype(d_outputs.dtype, copy=False), padded_len,
                              self.strides[0], 1)
        return self._unpad(dxp, left, length)


class AveragePooling1D(_Pooling1D):
    """The mean of each window: ``(batch, steps, channels) → (batch, new_steps, channels)``;
    with ``padding='same'`` the mean of the window's cells inside the inputs.

    >>> AveragePooling1D(2)(np.ones((2, 10, 4), "float32")).shape
    (2, 5, 4)
    """

    def _pool(self, inputs):
        w, padded_len, left = self._windows(inputs, 0)
        length = inputs.shape[1]
        if self.padding == "same":
            ones = np.zeros((1, padded_len, 1), inputs.dtype)
            ones[:, left:left + length] = 1
            count = windows(ones, self.pool_size[0], self.strides[0], 1,
                            w.shape[1]).sum(axis=2)  # (1, out, 1)
        else:
            count = np.full((1, 1, 1), self.pool_size[0], inputs.dtype)
        self._cache = (count, padded_len, left, length)
        return w.sum(axis=2) / count

    def _pool_backward(self, d_outputs):
        count, padded_len, left, length = self._cache
        d = np.broadcast_to((d_outputs / count)[:, :, None, :],
                            d_outputs.shape[:2] + (self.pool_size[0], d_outputs.shape[2]))
        dxp = scatter_windows(d, padded_len, self.strides[0], 1)
        return self._unpad(dxp, left, length)
