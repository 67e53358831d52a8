"""AlphaDropout: dropout that keeps a SELU network's self-normalizing mean and variance."""
import numpy as np

from .._random import generator
from ._core import Dropout

# SELU's constants; a dropped unit is set to SELU's negative saturation value -alpha * scale
_ALPHA = 1.6732632423543772848170429916717
_SCALE = 1.0507009873554804934193349852946


class AlphaDropout(Dropout):
    """In training, sets a fraction ``rate`` of the inputs to ``-alpha * scale`` (SELU's
    saturation value) instead of zero, then applies ``a * x + b`` so that inputs of zero mean
    and unit variance keep them, as Keras does::

        a = ((1 - rate) * (1 + rate * alpha_p ** 2)) ** -0.5,  b = -a * alpha_p * rate

    with ``alpha_p = -alpha * scale``. ``noise_shape`` shares the keep mask along the axes
    where it is 1 (as Dropout's). Identity at inference.
    """

    def forward(self, inputs, training=False, mask=None):
        if not training or self.rate == 0:
            self._keep = None
            return inputs
        rng = self._rng or generator()
        kept = (rng.random(self._mask_shape(inputs)) >= self.rate).astype(inputs.dtype)
        alpha_p = -_ALPHA * _SCALE
        with np.errstate(divide="ignore"):  # rate 1: Keras's a is inf as well
            a = ((1 - self.rate) * (1 + self.rate * alpha_p ** 2)) ** -0.5 \
                if self.rate < 1 else np.inf
        b = -a * alpha_p * self.rate
        dtype = inputs.dtype.type
        # the gradient reaches the kept inputs only, scaled by a (Dropout's backward)
        self._keep = kept * dtype(a)
        return (dtype(a) * (inputs * kept + dtype(alpha_p) * (1 - kept)) + dtype(b)) \
            .astype(inputs.dtype, copy=False)
