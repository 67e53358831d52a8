"""Lamb."""
import numpy as np

from ._base import _AdamArguments, _cast, _dense, _squares


class Lamb(_AdamArguments):
    """Lamb: Adam's bias-corrected step, rescaled per variable ("layer-wise") by the ratio of
    the variable's norm to the step's norm, which keeps large-batch training stable.

    ``m += (g - m)(1 - beta_1)``; ``v += (g**2 - v)(1 - beta_2)``;
    ``u = (m / (1 - beta_1**t)) / (sqrt(v / (1 - beta_2**t)) + epsilon)``;
    ``w -= (||w|| / ||u||) lr u`` (ratio 1 where either norm is 0), t = step + 1.

    Parameters
    ----------
    learning_rate : float, default 0.001.
    beta_1, beta_2 : float in [0, 1], defaults 0.9 and 0.999.
    epsilon : float, default 1e-7.
    **kwargs : the common arguments of :class:`Optimizer`.
    """

    _default_name = "lamb"

    def _update(self, g, w, lr, i):
        # slices as Adam's: subtract(slices, m) sums the slices, square(slices) squares each
        # occurrence before the sum; the rest of the step is dense
        dt = w.dtype.type
        step = dt(self._iterations + 1)
        beta_1_power = np.power(_cast(self.beta_1, w.dtype), step)
        beta_2_power = np.power(_cast(self.beta_2, w.dtype), step)
        m, v = self._momentums[i], self._velocities[i]
        m += (_dense(g) - m) * dt(1 - self.beta_1)
        v += (_squares(g) - v) * dt(1 - self.beta_2)
        update = (m / (dt(1) - beta_1_power)) / (
            np.sqrt(v / (dt(1) - beta_2_power)) + dt(self.epsilon))
        w_norm = np.sqrt(np.sum(np.square(w), dtype=w.dtype))
        u_norm = np.sqrt(np.sum(np.square(update), dtype=w.dtype))
        ratio = w_norm / u_norm if w_norm > 0 and u_norm > 0 else dt(1)
        w -= (ratio * lr) * update
