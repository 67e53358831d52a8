"""Regularization by noise: SpatialDropout1D/2D/3D, GaussianNoise, GaussianDropout.

All three are the identity at inference. In training they draw their noise from rnncore's
generator (``rnncore._random.generator()``, seeded by ``rnncore.utils.set_random_seed``), or
from their own generator when given a ``seed``, as Dropout does; the noise is kept for the
backward pass. Masks pass through unchanged (``supports_masking``), as in Keras.
"""
import math

import numpy as np

from .._random import generator
from ..ops._pooling import standardize_data_format
from ._arguments import real
from ._base import Layer, as_float_array
from ._core import Dropout


class SpatialDropout1D(Dropout):
    """Dropout of whole feature channels: one keep/drop draw per (sample, feature), shared by
    every timestep of (batch, steps, features) inputs; kept values are scaled by
    1 / (1 - rate)."""

    input_ndim = 3

    def __init__(self, rate, seed=None, **kwargs):
        real("SpatialDropout1D", "rate", rate, 0.0, 1.0)
        super().__init__(rate, seed=seed, **kwargs)

    def check_input(self, x):
        x = as_float_array(x, "inputs", self.dtype)
        if x.ndim != 3:
            raise ValueError(f"SpatialDropout1D {self.name!r}: inputs must be 3D (batch, steps, "
                             f"features), got shape {x.shape}")
        return x

    def _mask_shape(self, inputs):
        # Dropout's forward draws the mask; one entry per (sample, feature)
        return (inputs.shape[0], 1, inputs.shape[2])

    def get_config(self):
        # Keras's SpatialDropout1D takes neither noise_shape nor trainable (its from_config
        # fails on them), so its config holds rate, seed, name and dtype (a plain name) only
        config = super().get_config()
        config.pop("noise_shape")
        config.pop("trainable", None)
        config["dtype"] = self.dtype
        return config


class SpatialDropout2D(SpatialDropout1D):
    """Dropout of whole feature maps: one keep/drop draw per (sample, channel), shared by
    every cell of (batch, rows, cols, channels) inputs ((batch, channels, rows, cols) with
    ``data_format='channels_first'``); kept values are scaled by 1 / (1 - rate)."""

    input_ndim = 4

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)
        self.data_format = standardize_data_format(data_format)

    def check_input(self, x):
        x = as_float_array(x, "inputs", self.dtype)
        if x.ndim != self.input_ndim:
            raise ValueError(f"{type(self).__name__} {self.name!r}: inputs must be "
                             f"{self.input_ndim}D, got shape {x.shape}")
        return x

    def _mask_shape(self, inputs):
        shape = [1] * inputs.ndim
        shape[0] = inputs.shape[0]
        channels = 1 if self.data_format == "channels_first" else inputs.ndim - 1
        shape[channels] = inputs.shape[channels]
        return tuple(shape)

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


class SpatialDropout3D(SpatialDropout2D):
    """Dropout of whole feature volumes of (batch, d1, d2, d3, channels) inputs, as
    SpatialDropout2D."""

    input_ndim = 5


class GaussianNoise(Layer):
    """Adds zero-centred Gaussian noise of standard deviation ``stddev`` in training."""

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.stddev = real("GaussianNoise", "stddev", stddev, 0.0, 1.0)
        self.seed = seed
        self._rng = generator(seed) if seed is not None else None
        self.supports_masking = True

    def forward(self, inputs, training=False, mask=None):
        if not training or self.stddev == 0:
            return inputs
        rng = self._rng or generator()
        noise = rng.standard_normal(inputs.shape, dtype=np.float64) * self.stddev
        return inputs + noise.astype(inputs.dtype)

    def backward(self, d_outputs):
        return d_outputs

    def get_config(self):
        config = super().get_config()
        config.update({"stddev": self.stddev, "seed": self.seed})
        return config


class GaussianDropout(Layer):
    """Multiplies the inputs by Gaussian noise of mean 1 and standard deviation
    ``sqrt(rate / (1 - rate))`` in training (``rate`` as Dropout's drop probability)."""

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = real("GaussianDropout", "rate", rate, 0.0, 1.0)
        self.seed = seed
        self._rng = generator(seed) if seed is not None else None
        self.supports_masking = True
        self._keep = None

    def forward(self, inputs, training=False, mask=None):
        if not training or self.rate == 0:
            self._keep = None
            return inputs
        rng = self._rng or generator()
        stddev = math.sqrt(self.rate / (1.0 - self.rate)) if self.rate < 1 else math.inf
        self._keep = (1.0 + stddev * rng.standard_normal(inputs.shape)).astype(inputs.dtype)
        return inputs * self._keep

    def backward(self, d_outputs):
        return d_outputs if self._keep is None else d_outputs * self._keep

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed})
        return config
