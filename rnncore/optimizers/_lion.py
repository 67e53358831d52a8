"""Lion."""
import numpy as np

from ._base import _OneStepForSlices, _cast, _dense


class Lion(_OneStepForSlices):
    """Lion: the step is the sign of an interpolation of momentum and gradient.

    ``w -= lr sign(beta_1 m + (1 - beta_1) g)``; ``m = beta_2 m + (1 - beta_2) g``.

    Parameters
    ----------
    learning_rate : float, default 0.001.
    beta_1 : float in (0, 1], default 0.9.
    beta_2 : float in [0, 1], default 0.99.
    **kwargs : the common arguments of :class:`Optimizer`.
    """

    _default_name = "lion"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        if isinstance(beta_1, bool) or not 0 < beta_1 <= 1:
            raise ValueError("Argument for `beta_1` must be in the interval (0, 1]. "
                             f"Received: beta_1={beta_1!r}")
        self.beta_1, self.beta_2 = beta_1, beta_2

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._momentums = self._add_slots(["momentum"])[0]

    def _update(self, g, w, lr, i):
        # slices: g * (1 - beta) stays one slice per occurrence; adding it to the dense momentum
        # term sums the slices per row
        dt = w.dtype.type
        beta_1, beta_2 = _cast(self.beta_1, w.dtype), _cast(self.beta_2, w.dtype)
        m = self._momentums[i]
        w -= lr * np.sign(m * beta_1 + _dense(g, lambda v: v * (dt(1.0) - beta_1)))
        m[...] = m * beta_2 + _dense(g, lambda v: v * (dt(1.0) - beta_2))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}
