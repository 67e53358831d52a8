"""Ftrl."""
import numpy as np

from ._base import _OneStepForSlices, _cast, _dense, _squares


class Ftrl(_OneStepForSlices):
    """FTRL-Proximal ("Follow The Regularized Leader"), with L1, L2 and L2-shrinkage terms.

    With ``n`` the accumulator, ``z`` the linear term and ``p = -learning_rate_power``:
    ``n' = n + g**2``; ``z += g + 2 s w - (n'**p - n**p) / lr * w``;
    ``w = (clip(z, -l1, l1) - z) / (n'**p / lr + 2 (l2 + beta / (2 lr)))``.

    Parameters
    ----------
    learning_rate : float, default 0.001.
    learning_rate_power : float <= 0, default -0.5.
    initial_accumulator_value : float >= 0, default 0.1.
    l1_regularization_strength, l2_regularization_strength : float >= 0, default 0.
    l2_shrinkage_regularization_strength : float >= 0, default 0 (``s`` above).
    beta : float, default 0.
    **kwargs : the common arguments of :class:`Optimizer`.
    """

    _default_name = "ftrl"

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5,
                 initial_accumulator_value=0.1, l1_regularization_strength=0.0,
                 l2_regularization_strength=0.0, l2_shrinkage_regularization_strength=0.0,
                 beta=0.0, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        checks = (("initial_accumulator_value", initial_accumulator_value, "positive or zero"),
                  ("l1_regularization_strength", l1_regularization_strength, "positive or zero"),
                  ("l2_regularization_strength", l2_regularization_strength, "positive or zero"),
                  ("l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength,
                   "positive or zero"),
                  ("learning_rate_power", -learning_rate_power, "negative or zero"))
        for arg, value, expected in checks:
            if value < 0.0:
                received = -value if arg == "learning_rate_power" else value
                raise ValueError(f"`{arg}` needs to be {expected}. Received: {arg}={received}.")
        self.learning_rate_power = learning_rate_power
        self.initial_accumulator_value = initial_accumulator_value
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.l2_shrinkage_regularization_strength = l2_shrinkage_regularization_strength
        self.beta = beta

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        # interleaved per variable as Keras's add_optimizer_variables, each slot with its own
        # initial value (the base class's _add_slots gives all slots one)
        self._accumulators, self._linears = [], []
        for var in self._trainable_variables:
            for slot, value, out in (("accumulator", self.initial_accumulator_value,
                                      self._accumulators), ("linear", 0.0, self._linears)):
                arr = np.full(var.shape, _cast(value, var.dtype), dtype=var.dtype)
                out.append(arr)
                self._slots.append((f"{var.path.replace('/', '_')}_{slot}", arr))

    def _update(self, g, w, lr, i):
        # the slices meet dense tensors in both adds: summed per row (squares per occurrence)
        dt = w.dtype.type
        accum, linear = self._accumulators[i], self._linears[i]
        power = dt(-self.learning_rate_power)
        l2 = dt(self.l2_regularization_strength) + dt(self.beta) / (dt(2.0) * lr)
        grad_to_use = _dense(g) + dt(2 * self.l2_shrinkage_regularization_strength) * w
        new_accum = accum + _squares(g)
        linear += grad_to_use - ((np.power(new_accum, power) - np.power(accum, power)) / lr) * w
        quadratic = np.power(new_accum, power) / lr + dt(2) * l2
        l1 = dt(self.l1_regularization_strength)
        w[...] = (np.clip(linear, -l1, l1) - linear) / quadratic
        accum[...] = new_accum

    def get_config(self):
        return {**super().get_config(), "learning_rate_power": self.learning_rate_power,
                "initial_accumulator_value": self.initial_accumulator_value,
                "l1_regularization_strength": self.l1_regularization_strength,
                "l2_regularization_strength": self.l2_regularization_strength,
                "l2_shrinkage_regularization_strength":
                    self.l2_shrinkage_regularization_strength,
                "beta": self.beta}
