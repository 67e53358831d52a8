"""Masking: marks the timesteps whose features all equal ``mask_value`` as padding."""
import numbers

import numpy as np

from ._base import Layer


class Masking(Layer):
    """Masks the timesteps of (batch, steps, features) inputs whose features all equal
    ``mask_value``: their outputs are zeroed, and the mask ``any(inputs != mask_value,
    axis=-1)`` makes the recurrent layers downstream skip them (the state is carried over
    and, with ``return_sequences``, the previous output repeated), as in Keras.

    >>> model = Sequential([Input((10, 8)), Masking(0.0), LSTM(32)])
    """

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(mask_value, numbers.Real) or isinstance(mask_value, bool):
            raise TypeError(f"Masking: mask_value must be a number, got mask_value="
                            f"{mask_value!r}")
        self.mask_value = mask_value
        self.supports_masking = True
        self._keep = None

    def compute_mask(self, inputs, mask=None):
        return np.any(np.asarray(inputs) != self.mask_value, axis=-1)

    def forward(self, inputs, training=False, mask=None):
        self._keep = np.any(inputs != self.mask_value, axis=-1, keepdims=True)
        return np.where(self._keep, inputs, 0).astype(inputs.dtype, copy=False)

    def backward(self, d_outputs):
        return np.where(self._keep, d_outputs, 0).astype(d_outputs.dtype, copy=False)

    def get_config(self):
        config = super().get_config()
        config["mask_value"] = self.mask_value
        return config
