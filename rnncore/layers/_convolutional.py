"""Conv1D: the rank-1 convolution layer, with Keras's causal padding."""
from ._conv_nd import BaseConv


class Conv1D(BaseConv):
    """1D convolution over steps: ``y[b, t] = activation(Σ_k x[b, t·s + k·d] · kernel[k] + bias)``.

    Inputs ``(batch, steps, channels)`` (channels_last) or ``(batch, channels, steps)``,
    outputs ``(batch, new_steps, filters)``. Weights: ``kernel (kernel_size, channels //
    groups, filters)``, ``bias (filters,)``. ``padding``: ``'valid'`` (no padding), ``'same'``
    (TensorFlow's: ``ceil(steps / strides)`` outputs), ``'causal'``
    (``dilation_rate·(kernel_size-1)`` zeros on the left, so that ``y[t]`` sees no input after
    ``t``). Computed as im2col and one gemm over all ``batch·new_steps`` rows, by the N-D
    convolution Conv2D and Conv3D share.

    >>> Conv1D(8, 3, padding="causal")(np.ones((2, 10, 4), "float32")).shape
    (2, 10, 8)
    """

    rank, input_ndim = 1, 3
    _keras_name = "conv1d"  # Keras's name, not snake case's conv1_d
    _paddings = {"valid", "same", "causal"}
