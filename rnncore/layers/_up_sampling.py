"""UpSampling2D and UpSampling3D: each spatial axis enlarged by an integer factor, by
repeating cells ('nearest') or, in 2D, by TensorFlow's bilinear resize."""
import numpy as np

from ..ops._pooling import (sparse_rows, along_axis, spatial_axes, standardize_data_format,
                            standardize_tuple)
from ._base import Layer

# what Keras's image resize accepts; rnncore computes the first two
_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "area", "lanczos3", "lanczos5")


def bilinear_matrix(length, factor, dtype):
    """``(length·factor, length)``, sparse: the weights of TensorFlow's bilinear resize along
    one axis (half-pixel centres: output cell i samples ``(i + 0.5) / factor - 0.5``, clamped
    to the edge cells), computed in float32 as TensorFlow does."""
    out = length * factor
    scale = np.float32(length) / np.float32(out)
    where = (np.arange(out, dtype=np.float32) + np.float32(0.5)) * scale - np.float32(0.5)
    below = np.floor(where)
    lerp = (where - below).astype(dtype)
    lower = np.maximum(below.astype(np.int64), 0)
    upper = np.minimum(np.ceil(where).astype(np.int64), length - 1)
    return sparse_rows([lower, upper], [1 - lerp, lerp], length).astype(dtype)


class _UpSampling(Layer):
    """Each spatial axis i enlarged ``size[i]`` times. 'nearest' repeats each cell (its
    gradient sums over the copies); 'bilinear' interpolates linearly between neighbouring
    cells along each axis, a linear map whose transpose is the gradient. A mask is dropped,
    as in Keras."""

    dims = None

    def __init__(self, size, data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.size = standardize_tuple(size, self.dims, "size")
        if not isinstance(interpolation, str) or interpolation.lower() not in _INTERPOLATIONS:
            raise ValueError("Invalid value for argument `interpolation`. Expected of one "
                             f"{_INTERPOLATIONS}. Received: interpolation={interpolation!r}")
        self.interpolation = interpolation.lower()
        if self.interpolation not in ("nearest", "bilinear"):
            raise NotImplementedError(f"{type(self).__name__}(interpolation="
                                      f"{self.interpolation!r}) is not implemented by "
                                      "rnncore; use 'nearest' or 'bilinear'")
        self._cache = None

    def _axes(self):
        return spatial_axes(self.dims + 2, self.data_format)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        for axis, factor in zip(self._axes(), self.size):
            if shape[axis] is not None:
                shape[axis] *= factor
        return tuple(shape)

    def forward(self, inputs, training=False, mask=None):
        y = inputs
        if self.interpolation == "nearest":
            for axis, factor in zip(self._axes(), self.size):
                y = np.repeat(y, factor, axis=axis)
            return y
        self._cache = [bilinear_matrix(inputs.shape[axis], factor, inputs.dtype)
                          for axis, factor in zip(self._axes(), self.size)]
        for axis, matrix in zip(self._axes(), self._cache):
            y = along_axis(y, matrix, axis)
        return np.ascontiguousarray(y)

    def backward(self, d_outputs):
        d = d_outputs
        if self.interpolation == "nearest":
            for axis, factor in zip(self._axes(), self.size):
                shape = d.shape
                d = d.reshape(shape[:axis] + (shape[axis] // factor, factor) +
                              shape[axis + 1:]).sum(axis=axis + 1)
            return d
        for axis, matrix in zip(self._axes(), self._cache):
            d = along_axis(d, matrix.T.tocsr(), axis)
        return np.ascontiguousarray(d)

    def get_config(self):
        config = super().get_config()
        config.update({"size": self.size, "data_format": self.data_format})
        return config


class UpSampling2D(_UpSampling):
    """Enlarges rows and columns of ``(batch, rows, cols, channels)`` inputs by ``size =
    (row_factor, col_factor)``, with ``interpolation`` 'nearest' (repeats) or 'bilinear'
    (TensorFlow's ``image.resize``, half-pixel centres).

    >>> UpSampling2D((2, 3), interpolation="bilinear")(np.ones((2, 3, 4, 5))).shape
    (2, 6, 12, 5)
    """

    dims, input_ndim = 2, 4

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(size, data_format, interpolation, **kwargs)

    def get_config(self):
        config = super().get_config()
        config["interpolation"] = self.interpolation
        return config


class UpSampling3D(_UpSampling):
    """Repeats each cell of ``(batch, d1, d2, d3, channels)`` inputs ``size[i]`` times along
    spatial axis i.

    >>> UpSampling3D(2)(np.ones((2, 1, 2, 3, 4))).shape
    (2, 2, 4, 6, 4)
    """

    dims, input_ndim = 3, 5

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(size, data_format, **kwargs)
