"""Max and average pooling layers over 1, 2 or 3 spatial axes, fixed windows and adaptive
ones: thin layers over the N-D forward/backward pair of ``rnncore.ops._pooling``."""
from ..ops import _pooling as P
from ._base import Layer, as_float_array

# the spatial axes as Keras's docstrings name them, for error messages
_LAYOUTS = {1: "steps", 2: "rows, cols", 3: "spatial_dim1, spatial_dim2, spatial_dim3"}


class _SpatialLayer(Layer):
    """What every layer over ``pool_dimensions`` spatial axes shares: the layout
    (``data_format``) and the rank check of its inputs."""

    pool_dimensions = None

    def _check_rank(self, x):
        x = as_float_array(x, "inputs", self.dtype)
        n = self.pool_dimensions
        if x.ndim != n + 2:
            layout = (f"channels, {_LAYOUTS[n]}" if self.data_format == "channels_first"
                      else f"{_LAYOUTS[n]}, channels")
            raise ValueError(f"{type(self).__name__} {self.name!r}: inputs must be {n + 2}D "
                             f"(batch, {layout}), got shape {x.shape}")
        return x


class _Pooling(_SpatialLayer):
    """Windows of ``pool_size`` cells every ``strides`` cells (default: ``pool_size``) along
    each spatial axis.

    ``padding='valid'``: ``(length - pool_size) // strides + 1`` outputs per axis;
    ``'same'``: ``ceil(length / strides)``, TensorFlow's padding, padded cells left out of
    the maximum and of the average's count. The layer has no weights and drops the mask, as
    Keras.
    """

    pool_mode = None

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, name=None,
                 **kwargs):
        super().__init__(name=name, **kwargs)
        n = self.pool_dimensions
        self.pool_size = P.standardize_tuple(pool_size, n, "pool_size")
        self.strides = (self.pool_size if strides is None
                        else P.standardize_tuple(strides, n, "strides"))
        self.padding = P.standardize_pool_padding(padding)
        self.data_format = P.standardize_data_format(data_format)
        self._cache = None

    def compute_output_shape(self, input_shape):
        return P.pooled_shape(input_shape, self.pool_size, self.strides, self.padding,
                              self.data_format)

    def check_input(self, x):
        x = self._check_rank(x)
        self.compute_output_shape(x.shape)
        return x

    def forward(self, inputs, training=False, mask=None):
        y, self._cache = P.pool_forward(inputs, self.pool_mode, self.pool_size, self.strides,
                                        self.padding, self.data_format)
        return y

    def backward(self, d_outputs):
        return P.pool_backward(self._cache, d_outputs)

    def get_config(self):
        config = super().get_config()
        config.update({"pool_size": self.pool_size, "padding": self.padding,
                       "strides": self.strides, "data_format": self.data_format})
        return config


class MaxPooling1D(_Pooling):
    """The maximum of each window of ``(batch, steps, channels)`` inputs. Its gradient goes
    to the window's first maximum, as TensorFlow's.

    >>> MaxPooling1D(2)(np.ones((2, 10, 4), "float32")).shape
    (2, 5, 4)
    """

    pool_dimensions, pool_mode, input_ndim = 1, "max", 3

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None,
                 name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


class MaxPooling2D(_Pooling):
    """The maximum of each window of ``(batch, rows, cols, channels)`` inputs. Its gradient
    goes to the window's first maximum in row-major order, as TensorFlow's.

    >>> MaxPooling2D((2, 2))(np.ones((2, 8, 6, 3), "float32")).shape
    (2, 4, 3, 3)
    """

    pool_dimensions, pool_mode, input_ndim = 2, "max", 4

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


class MaxPooling3D(_Pooling):
    """The maximum of each window of ``(batch, dim1, dim2, dim3, channels)`` inputs. Its
    gradient goes to every tied maximum of the window, as TensorFlow's MaxPool3D.

    >>> MaxPooling3D()(np.ones((2, 4, 6, 2, 3), "float32")).shape
    (2, 2, 3, 1, 3)
    """

    pool_dimensions, pool_mode, input_ndim = 3, "max", 5

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None,
                 name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


class AveragePooling1D(_Pooling):
    """The mean of each window of ``(batch, steps, channels)`` inputs; with
    ``padding='same'`` the mean of the window's cells inside the inputs.

    >>> AveragePooling1D(2)(np.ones((2, 10, 4), "float32")).shape
    (2, 5, 4)
    """

    pool_dimensions, pool_mode, input_ndim = 1, "average", 3

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None,
                 name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


class AveragePooling2D(_Pooling):
    """The mean of each window of ``(batch, rows, cols, channels)`` inputs, as
    AveragePooling1D.

    >>> AveragePooling2D(3, strides=2, padding="same")(np.ones((2, 8, 6, 3))).shape
    (2, 4, 3, 3)
    """

    pool_dimensions, pool_mode, input_ndim = 2, "average", 4

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None,
                 name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


class AveragePooling3D(_Pooling):
    """The mean of each window of ``(batch, dim1, dim2, dim3, channels)`` inputs, as
    AveragePooling1D.

    >>> AveragePooling3D(2)(np.ones((2, 4, 6, 2, 3))).shape
    (2, 2, 3, 1, 3)
    """

    pool_dimensions, pool_mode, input_ndim = 3, "average", 5

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None,
                 name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


class _AdaptivePooling(_SpatialLayer):
    """Pools to a fixed spatial size ``output_size`` whatever the input's: along an axis of
    length L pooled to n cells, output cell j covers input cells ``floor(j·L/n)`` to
    ``ceil((j+1)·L/n) - 1`` (windows overlap when n does not divide L)."""

    pool_mode = None

    def __init__(self, output_size, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.output_size = P.standardize_output_size(output_size, self.pool_dimensions)
        self.data_format = P.standardize_data_format(data_format)
        self._cache = None

    def compute_output_shape(self, input_shape):
        if self.data_format == "channels_last":
            return (input_shape[0], *self.output_size, input_shape[-1])
        return (input_shape[0], input_shape[1], *self.output_size)

    def check_input(self, x):
        return self._check_rank(x)

    def forward(self, inputs, training=False, mask=None):
        y, self._cache = P.adaptive_forward(inputs, self.pool_mode, self.output_size,
                                            self.data_format)
        return y

    def backward(self, d_outputs):
        return P.adaptive_backward(self._cache, d_outputs)

    def get_config(self):
        config = super().get_config()
        config.update({"output_size": self.output_size, "data_format": self.data_format})
        return config


class AdaptiveMaxPooling1D(_AdaptivePooling):
    """The maximum of each adaptive window over steps: ``(batch, steps, channels)`` →
    ``(batch, output_size, channels)``."""

    pool_dimensions, pool_mode, input_ndim = 1, "max", 3


class AdaptiveMaxPooling2D(_AdaptivePooling):
    """The maximum of each adaptive window: ``(batch, rows, cols, channels)`` →
    ``(batch, *output_size, channels)``.

    >>> AdaptiveMaxPooling2D((4, 3))(np.ones((2, 10, 7, 3))).shape
    (2, 4, 3, 3)
    """

    pool_dimensions, pool_mode, input_ndim = 2, "max", 4


class AdaptiveMaxPooling3D(_AdaptivePooling):
    """The maximum of each adaptive window over three spatial axes (every tied maximum
    takes the gradient, as TensorFlow's MaxPool3D)."""

    pool_dimensions, pool_mode, input_ndim = 3, "max", 5


class AdaptiveAveragePooling1D(_AdaptivePooling):
    """The mean of each adaptive window over steps."""

    pool_dimensions, pool_mode, input_ndim = 1, "average", 3


class AdaptiveAveragePooling2D(_AdaptivePooling):
    """The mean of each adaptive window over rows and columns.

    >>> AdaptiveAveragePooling2D(2)(np.ones((2, 5, 7, 3))).shape
    (2, 2, 2, 3)
    """

    pool_dimensions, pool_mode, input_ndim = 2, "average", 4


class AdaptiveAveragePooling3D(_AdaptivePooling):
    """The mean of each adaptive window over three spatial axes."""

    pool_dimensions, pool_mode, input_ndim = 3, "average", 5
