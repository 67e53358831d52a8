"""Adadelta."""
import numpy as np

from ._base import Optimizer, _check_number, _scatter_add, _squares


class Adadelta(Optimizer):
    """Adadelta: steps scaled by the ratio of running RMS of past steps and of gradients.

    ``a = rho a + (1 - rho) g**2``;
    ``d = -sqrt(b + epsilon) g / sqrt(a + epsilon)``;
    ``b = rho b + (1 - rho) d**2``; ``w += lr d``.

    Parameters
    ----------
    learning_rate : float, default 0.001.
    rho : float in [0, 1], default 0.95.
    epsilon : float, default 1e-7.
    **kwargs : the common arguments of :class:`Optimizer`.
    """

    _default_name = "adadelta"

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        _check_number("rho", rho, high=1.0)
        _check_number("epsilon", epsilon)
        self.rho, self.epsilon = rho, epsilon

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._grads, self._deltas = self._add_slots(["accumulated_grad",
                                                     "accumulated_delta_var"])

    def update_step(self, g, w, lr, i):
        dt = w.dtype.type
        rho, eps = dt(self.rho), dt(self.epsilon)
        a, b = self._grads[i], self._deltas[i]
        a[...] = rho * a + dt(1 - self.rho) * np.square(g)
        delta = -((np.sqrt(b + eps) * g) / np.sqrt(a + eps))
        b[...] = rho * b + dt(1 - self.rho) * np.square(delta)
        w += lr * delta

    def _sparse_update_step(self, g, w, lr, i):
        # (1 - rho) * square(slices) stays sparse until added to rho * a (summed per row);
        # multiply/divide with a dense tensor gather its rows, so the step d is one slice per
        # occurrence, read from b before and a after their updates, and scattered into w
        dt = w.dtype.type
        rho, eps = dt(self.rho), dt(self.epsilon)
        a, b = self._grads[i], self._deltas[i]
        a[...] = rho * a + _squares(g, dt(1 - self.rho))
        delta = -((np.sqrt(g.gather(b) + eps) * g.values) / np.sqrt(g.gather(a) + eps))
        b[...] = rho * b + _squares(g.with_values(delta), dt(1 - self.rho))
        _scatter_add(w, g, lr * delta)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}
