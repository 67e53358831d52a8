"""Conv1DTranspose: the transpose (input gradient) of a Conv1D, as a layer."""
import numpy as np

from ..recurrent import _recurrent as R
from ._base import unique_name
from ._convolutional import Conv1D, scatter_windows, windows
from .. import activations as _activations


class Conv1DTranspose(Conv1D):
    """Transposed 1D convolution ("deconvolution"): each input step spreads
    ``x[b, t] · kernel[k]ᵀ`` into output step ``t·strides + k`` (less the left padding).

    Inputs ``(batch, steps, channels)``, outputs ``(batch, new_steps, filters)`` with
    ``new_steps = steps·strides`` for ``padding='same'`` and
    ``(steps - 1)·strides + max(kernel_size, strides)`` for ``'valid'``, as Keras. Weights:
    ``kernel (kernel_size, filters, channels)`` (Keras's order), ``bias (filters,)``. The
    backward pass is a Conv1D of the output gradient. ``output_padding`` and
    ``dilation_rate > 1`` are not offered.

    >>> Conv1DTranspose(4, 3, strides=2, padding="same")(np.ones((2, 5, 3), "float32")).shape
    (2, 10, 4)
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None,
                 data_format=None, dilation_rate=1, **kwargs):
        if kwargs.get("name") is None:
            kwargs["name"] = unique_name("conv1d_transpose")
        if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
            raise ValueError("The `padding` argument must be one of ['same', 'valid']. "
                             f"Received: padding={padding!r}")
        super().__init__(filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate, **kwargs)
        if output_padding is not None:
            raise NotImplementedError("Conv1DTranspose: rnncore does not offer output_padding; "
                                      f"received output_padding={output_padding!r}")
        if self.dilation_rate[0] != 1:
            raise NotImplementedError("Conv1DTranspose: rnncore offers dilation_rate=1 only; "
                                      f"received dilation_rate={dilation_rate!r}")
        self.output_padding = None

    # ---- shapes ---------------------------------------------------------------------------
    def _out_len(self, length):
        if length is None:
            return None
        k, s = self.kernel_size[0], self.strides[0]
        if self.padding == "same":
            return length * s
        return (length - 1) * s + max(k, s)

    def _left(self, length):
        """The steps cut off the front of the spread-out result ('same': TensorFlow's split of
        the padding of the Conv1D this layer transposes)."""
        if self.padding == "valid":
            return 0
        total = (length - 1) * self.strides[0] + self.kernel_size[0] - self._out_len(length)
        return max(total, 0) // 2

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(f"Conv1DTranspose {self.name!r}: the channel dimension of the "
                             f"inputs must be known, got input shape {tuple(input_shape)}")
        self.input_channels = int(channels)
        self.kernel = self.add_weight((self.kernel_size[0], self.filters, self.input_channels),
                                      self.kernel_initializer, "kernel")
        self.bias = (self.add_weight((self.filters,), self.bias_initializer, "bias")
                     if self.use_bias else None)
        self.built = True

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self._out_len(input_shape[1]), self.filters)

    def _matrix(self):
        # (channels, kernel_size·filters): row c holds kernel[:, :, c]
        k, f, c = self.kernel.shape
        return self.kernel.value.transpose(2, 0, 1).reshape(c, k * f)

    # ---- forward and backward -----------------------------------------------------------------
    @R.single_threaded_blas
    def forward(self, inputs, training=False, mask=None):
        x = inputs
        batch, length, channels = x.shape
        k, s = self.kernel_size[0], self.strides[0]
        out_len, left = self._out_len(length), self._left(length)
        padded_len = max((length - 1) * s + k, left + out_len)
        # taps[b, t, k, f] = Σ_c x[b, t, c] · kernel[k, f, c], then spread to t·s + k
        taps = (x.reshape(batch * length, channels) @ self._matrix()).reshape(
            batch, length, k, self.filters)
        z = np.ascontiguousarray(scatter_windows(taps, padded_len, s, 1)[:, left:left + out_len])
        if self.use_bias:
            z += self.bias.value
        y = z if self.activation == "linear" else _activations.forward(self.activation, z)
        self._cache = (x, z, y, padded_len, left)
        return y

    @R.single_threaded_blas
    def backward(self, d_outputs):
        x, z, y, padded_len, left = self._cache
        dz = (d_outputs if self.activation == "linear"
              else _activations.backward(self.activation, z, y, d_outputs))
        batch, length, channels = x.shape
        k, s = self.kernel_size[0], self.strides[0]
        dzp = np.zeros((batch, padded_len, self.filters), dz.dtype)
        dzp[:, left:left + dz.shape[1]] = dz
        # dtaps[b, t, k] = dzp[b, t·s + k]: the windows a Conv1D would read
        dtaps = np.ascontiguousarray(windows(dzp, k, s, 1, length)).reshape(
            batch * length, k * self.filters)
        x2 = x.reshape(batch * length, channels)
        if self.trainable:
            self.kernel.grad = (x2.T @ dtaps).reshape(channels, k, self.filters).transpose(
                1, 2, 0).copy()
            if self.use_bias:
                self.bias.grad = dz.sum(axis=(0, 1))
        if not self.input_grad_needed:
            return None
        return (dtaps @ self._matrix().T).reshape(batch, length, channels)

    def get_config(self):
        config = super().get_config()
        config.pop("groups", None)
        config["output_padding"] = self.output_padding
        return config
