"""Adamax."""
import numpy as np

from ._base import _AdamArguments, _cast, _dense


class Adamax(_AdamArguments):
    """Adamax: Adam with the infinity norm in place of the second moment.

    ``m += (g - m)(1 - beta_1)``; ``u = max(beta_2 u, |g|)``;
    ``w -= lr m / ((1 - beta_1**t)(u + epsilon))``, t = step + 1.

    Parameters
    ----------
    learning_rate : float, default 0.001.
    beta_1, beta_2 : float in [0, 1], defaults 0.9 and 0.999.
    epsilon : float, default 1e-7.
    **kwargs : the common arguments of :class:`Optimizer`.
    """

    _default_name = "adamax"

    _slot_names = ("momentum", "norm")

    def _update(self, g, w, lr, i):
        # slices: subtract(slices, m) sums them; abs keeps them sparse and maximum with a dense
        # tensor sums them per row: u meets sum_k |g_k|, not |sum_k g_k|
        dt = w.dtype.type
        beta_1_power = np.power(_cast(self.beta_1, w.dtype), dt(self._iterations + 1))
        m, u = self._momentums[i], self._velocities[i]  # u: the infinity norm
        m += (_dense(g) - m) * dt(1 - self.beta_1)
        np.maximum(dt(self.beta_2) * u, _dense(g, np.abs), out=u)
        w -= (lr * m) / ((dt(1) - beta_1_power) * (u + dt(self.epsilon)))
