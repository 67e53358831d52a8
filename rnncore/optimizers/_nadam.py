"""Nadam: Adam with Nesterov momentum."""
import numpy as np

from .._config import floatx
from ._base import _AdamArguments, _cast, _dense, _squares


class Nadam(_AdamArguments):
    """Adam with Nesterov momentum and Keras's momentum schedule ``beta_1 (1 - 0.5 * 0.96**t)``.
    Arguments as :class:`Adam` (no ``amsgrad``)."""

    _default_name = "nadam"

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        dtype = self._trainable_variables[0].dtype if variables else np.dtype(floatx())
        self._u_product = np.ones((), dtype=dtype)
        self._slots.append(("u_product", self._u_product))

    def _update_all(self, grads, variables, learning_rate):
        dt = self._u_product.dtype.type
        decay = np.power(dt(0.96), dt(self._iterations + 1))
        self._u_product[...] = self._u_product * dt(self.beta_1) * (dt(1.0) - dt(0.5) * decay)
        super()._update_all(grads, variables, learning_rate)

    def _update(self, g, w, lr, i):
        """The step for a dense or an IndexedSlices ``g``."""
        # slices as Adam: m sees the summed slices, v the summed squares; m_hat's gradient term
        # is scaled per occurrence, then summed by add(dense, slices).
        dt = w.dtype.type
        decay = _cast(0.96, w.dtype)
        beta_1, beta_2 = _cast(self.beta_1, w.dtype), _cast(self.beta_2, w.dtype)
        u_t = beta_1 * (dt(1.0) - dt(0.5) * np.power(decay, dt(self._iterations + 1)))
        u_t_1 = beta_1 * (dt(1.0) - dt(0.5) * np.power(decay, dt(self._iterations + 2)))
        u_product_t = dt(self._u_product)
        u_product_t_1 = u_product_t * u_t_1
        beta_2_power = np.power(beta_2, dt(self._iterations + 1))
        m, v = self._momentums[i], self._velocities[i]
        m += (_dense(g) - m) * (dt(1) - beta_1)
        v += (_squares(g) - v) * (dt(1) - beta_2)
        m_hat = ((u_t_1 * m) / (dt(1) - u_product_t_1)
                 + _dense(g, lambda x: ((dt(1) - u_t) * x) / (dt(1) - u_product_t)))
        v_hat = v / (dt(1) - beta_2_power)
        w -= (m_hat * lr) / (np.sqrt(v_hat) + dt(self.epsilon))
