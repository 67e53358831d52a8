"""Adamax."""
import numpy as np

from ._base import Optimizer, _cast, _check_number, _dense


class Adamax(Optimizer):
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

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        _check_number("beta_1", beta_1, high=1.0)
        _check_number("beta_2", beta_2, high=1.0)
        _check_number("epsilon", epsilon)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._m, self._u = self._add_slots(["momentum", "norm"])

    def update_step(self, g, w, lr, i):
        self._update(g, w, lr, i)

    def _sparse_update_step(self, g, w, lr, i):
        # subtract(slices, m) sums the slices; abs keeps them sparse and maximum with a dense
        # tensor sums them per row: u meets sum_k |g_k|, not |sum_k g_k|
        self._update(g, w, lr, i)

    def _update(self, g, w, lr, i):
        dt = w.dtype.type
        beta_1_power = np.power(_cast(self.beta_1, w.dtype), dt(self._iterations + 1))
        m, u = self._m[i], self._u[i]
        m += (_dense(g) - m) * dt(1 - self.beta_1)
        np.maximum(dt(self.beta_2) * u, _dense(g, np.abs), out=u)
        w -= (lr * m) / ((dt(1) - beta_1_power) * (u + dt(self.epsilon)))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}
