"""Adam."""
import numpy as np

from ._base import _AdamArguments, _cast, _dense, _squares


class Adam(_AdamArguments):
    """Adam: bias-corrected running means of the gradient and of its square.

    ``m += (g - m)(1 - beta_1)``; ``v += (g**2 - v)(1 - beta_2)``;
    ``w -= m * lr sqrt(1 - beta_2**t) / (1 - beta_1**t) / (sqrt(v) + epsilon)``, t = step + 1
    (``amsgrad=True`` uses the running maximum of ``v``).

    Parameters
    ----------
    learning_rate : float, default 0.001.
    beta_1, beta_2 : float in [0, 1], defaults 0.9 and 0.999.
    epsilon : float, default 1e-7.
    amsgrad : bool, default False.
    **kwargs : the common arguments of :class:`Optimizer`.
    """

    _default_name = "adam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, **kwargs):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, **kwargs)
        self.amsgrad = amsgrad

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        if self.amsgrad:
            self._velocity_hats = self._add_slots(["velocity_hat"])[0]

    # rnncore.distributed may hand Adam an Embedding's gradient as per-row sums: _update reads
    # the slices only as their sum and the sum of their squares per row
    takes_row_sums = True

    def _row_sums_update_step(self, g, w, lr, i):
        self._update(g, w, lr, i)

    def _update(self, g, w, lr, i):
        """The step for a dense or an IndexedSlices ``g``."""
        # slices: subtract(slices, m) sums them: m as dense. square(slices) squares each
        # occurrence before subtract(., v) sums them: v gains sum_k g_k**2.
        dt = w.dtype.type
        step = dt(self._iterations + 1)
        beta_1_power = np.power(_cast(self.beta_1, w.dtype), step)
        beta_2_power = np.power(_cast(self.beta_2, w.dtype), step)
        alpha = lr * np.sqrt(dt(1) - beta_2_power) / (dt(1) - beta_1_power)
        m, v = self._momentums[i], self._velocities[i]
        m += (_dense(g) - m) * dt(1 - self.beta_1)
        v += (_squares(g) - v) * dt(1 - self.beta_2)
        if self.amsgrad:
            v = np.maximum(self._velocity_hats[i], v, out=self._velocity_hats[i])
        w -= (m * alpha) / (np.sqrt(v) + dt(self.epsilon))

    def get_config(self):
        return {**super().get_config(), "amsgrad": self.amsgrad}
