"""Global pooling: over time (seed 000's "mean of all hidden states", masks honoured), and
over the spatial axes of 2D and 3D inputs."""
import numpy as np

from .._config import image_data_format
from ..ops._pooling import spatial_axes, standardize_data_format
from ..recurrent import _checks
from ._base import Layer, as_float_array


class GlobalAveragePooling1D(Layer):
    """(batch, steps, features) → (batch, features): the mean over steps (masked steps left out)."""

    input_ndim = 3
    _call_positional = ("mask",)  # Keras: call(inputs, mask=None)

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        if data_format not in ("channels_last", "channels_first", None):
            raise ValueError(f"data_format must be 'channels_last' or 'channels_first', got "
                             f"{data_format!r}")
        self.data_format = data_format or image_data_format()
        self.keepdims = bool(keepdims)
        self.supports_masking = True
        self._w = None

    def _axis(self):
        return 1 if self.data_format == "channels_last" else 2

    def compute_output_shape(self, input_shape):
        axis = self._axis()
        shape = list(input_shape)
        if self.keepdims:
            shape[axis] = 1
        else:
            del shape[axis]
        return tuple(shape)

    def compute_mask(self, inputs, mask=None):
        return None

    def check_input(self, x):
        x = as_float_array(x, "inputs", self.dtype)
        if x.ndim != 3:
            layout = "steps, features" if self._axis() == 1 else "features, steps"
            raise ValueError(f"{type(self).__name__} {self.name!r}: inputs must be 3D (batch, "
                             f"{layout}), got shape {x.shape}")
        return x

    def _eager_call(self, inputs, training=False, mask=None, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}() got unexpected arguments {sorted(kwargs)}")
        x = self.check_input(inputs)
        if mask is not None:
            mask = _checks.step_mask(mask, x.shape[0], x.shape[self._axis()])
        return self.forward(x, training=bool(training), mask=mask)

    def forward(self, inputs, training=False, mask=None):
        axis = self._axis()
        self._shape = inputs.shape
        if mask is None:
            self._w = None
            if not inputs.shape[axis]:  # Keras's mean over no steps: NaN, without a warning
                return np.full(self.compute_output_shape(inputs.shape), np.nan, inputs.dtype)
            return inputs.mean(axis=axis, keepdims=self.keepdims)
        m = np.asarray(mask, dtype=inputs.dtype)
        m = m[:, :, None] if axis == 1 else m[:, None, :]
        w = m / m.sum(axis=axis, keepdims=True)
        self._w = w
        return (inputs * w).sum(axis=axis, keepdims=self.keepdims)

    def backward(self, d_outputs):
        axis = self._axis()
        d = d_outputs if self.keepdims else np.expand_dims(d_outputs, axis)
        if self._w is None:
            return np.broadcast_to(d / self._shape[axis], self._shape).copy()
        return d * self._w

    def get_config(self):
        config = super().get_config()
        config.update({"data_format": self.data_format, "keepdims": self.keepdims})
        return config


class GlobalMaxPooling1D(GlobalAveragePooling1D):
    """(batch, steps, features) → (batch, features): the maximum over steps, masked steps
    included (Keras's GlobalMaxPooling1D does not support masking: it drops the mask)."""

    _call_positional = None  # Keras: call(inputs)

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(data_format=data_format, keepdims=keepdims, **kwargs)
        self.supports_masking = False

    def forward(self, inputs, training=False, mask=None):
        axis = self._axis()
        if not inputs.shape[axis]:
            raise ValueError(f"GlobalMaxPooling1D {self.name!r}: inputs must have at least one "
                             f"step, got shape {inputs.shape}")
        self._x = inputs
        self._shape = inputs.shape
        return inputs.max(axis=axis, keepdims=self.keepdims)

    def backward(self, d_outputs):
        axis = self._axis()
        x = self._x
        hit = (x == x.max(axis=axis, keepdims=True)).astype(x.dtype)
        # TensorFlow splits the gradient evenly between tied maxima
        hit /= hit.sum(axis=axis, keepdims=True)
        d = d_outputs if self.keepdims else np.expand_dims(d_outputs, axis)
        return hit * d


class _GlobalPooling(Layer):
    """The mean or maximum over every spatial axis of ``(batch, *spatial, channels)``
    inputs (``(batch, channels, *spatial)`` with ``data_format='channels_first'``):
    ``(batch, channels)``, or with ``keepdims`` ``(batch, 1, ..., 1, channels)``. A mask is
    dropped, as in Keras."""

    pool_dimensions = None

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.keepdims = bool(keepdims)
        self._x = None

    def _axes(self):
        return spatial_axes(self.pool_dimensions + 2, self.data_format)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        for axis in reversed(self._axes()):
            if self.keepdims:
                shape[axis] = 1
            else:
                del shape[axis]
        return tuple(shape)

    def check_input(self, x):
        x = as_float_array(x, "inputs", self.dtype)
        if x.ndim != self.pool_dimensions + 2:
            raise ValueError(f"{type(self).__name__} {self.name!r}: inputs must be "
                             f"{self.pool_dimensions + 2}D, got shape {x.shape}")
        return x

    def get_config(self):
        config = super().get_config()
        config.update({"data_format": self.data_format, "keepdims": self.keepdims})
        return config


class _GlobalAveragePooling(_GlobalPooling):
    def forward(self, inputs, training=False, mask=None):
        self._shape = inputs.shape
        return inputs.mean(axis=self._axes(), keepdims=self.keepdims)

    def backward(self, d_outputs):
        count = np.prod([self._shape[a] for a in self._axes()])
        d = d_outputs if self.keepdims else np.expand_dims(d_outputs, self._axes())
        return np.broadcast_to(d / count, self._shape).copy()


class _GlobalMaxPooling(_GlobalPooling):
    def forward(self, inputs, training=False, mask=None):
        self._x = inputs
        return inputs.max(axis=self._axes(), keepdims=self.keepdims)

    def backward(self, d_outputs):
        x, axes = self._x, self._axes()
        hit = (x == x.max(axis=axes, keepdims=True)).astype(x.dtype)
        # TensorFlow's reduce_max splits the gradient evenly between tied maxima
        hit /= hit.sum(axis=axes, keepdims=True)
        return hit * (d_outputs if self.keepdims else np.expand_dims(d_outputs, axes))


class GlobalAveragePooling2D(_GlobalAveragePooling):
    """The mean over rows and columns: ``(batch, rows, cols, channels) → (batch, channels)``.

    >>> GlobalAveragePooling2D()(np.ones((2, 4, 5, 3))).shape
    (2, 3)
    """

    pool_dimensions, input_ndim = 2, 4


class GlobalAveragePooling3D(_GlobalAveragePooling):
    """The mean over the three spatial axes: ``(batch, d1, d2, d3, channels) →
    (batch, channels)``."""

    pool_dimensions, input_ndim = 3, 5


class GlobalMaxPooling2D(_GlobalMaxPooling):
    """The maximum over rows and columns: ``(batch, rows, cols, channels) →
    (batch, channels)``; tied maxima share the gradient, as TensorFlow's."""

    pool_dimensions, input_ndim = 2, 4


class GlobalMaxPooling3D(_GlobalMaxPooling):
    """The maximum over the three spatial axes, as GlobalMaxPooling2D."""

    pool_dimensions, input_ndim = 3, 5
