"""Conv1DTranspose, Conv2DTranspose and Conv3DTranspose: the transpose (input gradient) of a
convolution, as layers, over ``rnncore.ops._conv``'s N-D transposed convolution."""
from ..ops._conv import (conv_transpose_backward, conv_transpose_forward,
                         conv_transpose_output_shape, standardize_tuple)
from ._conv_nd import BaseConv


class BaseConvTranspose(BaseConv):
    """A transposed N-D convolution ("deconvolution"), Keras's ``BaseConvTranspose``: each
    input pixel spreads ``x[b, i] · kernel[k]ᵀ`` onto output pixel ``i·strides +
    k·dilation`` (less the left padding).

    Weights: ``kernel (*kernel_size, filters, channels)`` (Keras's order), ``bias
    (filters,)``. Each output axis has ``n·strides`` pixels for ``padding='same'`` and
    ``(n-1)·strides + max(kernel_size, strides)`` for ``'valid'``; ``output_padding`` (each
    smaller than its stride) sets it to ``(n-1)·strides + kernel_size + output_padding``, less
    ``2·(kernel_size // 2)`` for ``'same'``. The backward pass is a convolution of the output
    gradient.
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None,
                 data_format=None, dilation_rate=1, **kwargs):
        if "groups" in kwargs:
            raise TypeError(f"{type(self).__name__} got an unexpected keyword argument "
                            "'groups'")
        super().__init__(filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate, **kwargs)
        self.output_padding = (None if output_padding is None else standardize_tuple(
            output_padding, self.rank, "output_padding", allow_zero=True))
        for i, (p, s) in enumerate(zip(self.output_padding or (), self.strides)):
            if p >= s:
                raise ValueError("`output_padding` must be strictly less than `strides` for "
                                 f"all dimensions. At dimension {i}, `output_padding` is {p} "
                                 f"but `strides` is {s}. Received: output_padding="
                                 f"{self.output_padding}, strides={self.strides}")

    def _kernel_shape(self, channels):
        return self.kernel_size + (self.filters, channels)

    def _out_spatial(self, spatial):
        out = conv_transpose_output_shape([1 if n is None else n for n in spatial],
                                          self.kernel_size, self.strides, self.padding,
                                          self.output_padding, self.dilation_rate)
        return tuple(None if n is None else m for n, m in zip(spatial, out))

    def _linear(self, x):
        return conv_transpose_forward(x, self.kernel.value, self.strides, self.padding,
                                      self.output_padding, self.dilation_rate), x

    def _linear_backward(self, dz, x, x_shape):
        dx, dkernel = conv_transpose_backward(dz, x, self.kernel.value, self.strides,
                                              self.padding, self.output_padding,
                                              self.dilation_rate,
                                              input_grad=self.input_grad_needed)
        if self.trainable:
            self.kernel.grad = dkernel
        return dx

    def get_config(self):
        config = super().get_config()
        del config["groups"]
        config["output_padding"] = self.output_padding
        return config


class Conv1DTranspose(BaseConvTranspose):
    """Transposed 1D convolution: inputs ``(batch, steps, channels)``, outputs
    ``(batch, new_steps, filters)``; kernel ``(kernel_size, filters, channels)``.

    >>> Conv1DTranspose(4, 3, strides=2, padding="same")(np.ones((2, 5, 3), "float32")).shape
    (2, 10, 4)
    """

    rank, input_ndim = 1, 3
    _keras_name = "conv1d_transpose"


class Conv2DTranspose(BaseConvTranspose):
    """Transposed 2D convolution (upsampling images with a learned kernel): inputs
    ``(batch, height, width, channels)``; kernel ``(kh, kw, filters, channels)``.

    >>> Conv2DTranspose(4, 3, strides=2, padding="same")(np.ones((2, 5, 6, 3), "float32")).shape
    (2, 10, 12, 4)
    """

    rank, input_ndim = 2, 4
    _keras_name = "conv2d_transpose"


class Conv3DTranspose(BaseConvTranspose):
    """Transposed 3D convolution: inputs ``(batch, d1, d2, d3, channels)``; kernel
    ``(k1, k2, k3, filters, channels)``."""

    rank, input_ndim = 3, 5
    _keras_name = "conv3d_transpose"
