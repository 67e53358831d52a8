"""SGD: gradient descent, with optional (Nesterov) momentum."""
import numbers

import numpy as np

from ._base import Optimizer, _cast, _dense, _scatter_add


class SGD(Optimizer):
    """Gradient descent, with optional (Nesterov) momentum.

    ``m = momentum * m - lr * g``; ``w += m`` (or ``w += momentum * m - lr * g`` with
    ``nesterov=True``); without momentum ``w -= lr * g``.

    Parameters
    ----------
    learning_rate : float, default 0.01.
    momentum : float in [0, 1], default 0.
    nesterov : bool, default False.
    **kwargs : the common arguments of :class:`Optimizer`.
    """

    _default_name = "sgd"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        if not (isinstance(momentum, numbers.Real) and not isinstance(momentum, bool)
                and 0.0 <= momentum <= 1.0):
            raise ValueError("`momentum` must be a float between [0, 1]. Received: "
                             f"momentum={momentum!r}")
        self.momentum, self.nesterov = momentum, nesterov

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._momentums = self._add_slots(["momentum"])[0] if self.momentum != 0 else []

    def update_step(self, g, w, lr, i):
        if self.momentum == 0:
            w -= g * lr
            return
        mom, m = _cast(self.momentum, w.dtype), self._momentums[i]
        np.multiply(m, mom, out=m)
        m -= g * lr
        if self.nesterov:
            w += m * mom - g * lr
        else:
            w += m

    # rnncore.distributed may hand SGD an Embedding's gradient as per-row sums: its sparse
    # step reads only each row's sum of slices (scattered, or into the momentum)
    takes_row_sums = True

    def _row_sums_update_step(self, g, w, lr, i):
        self.update_step(g.sums, w, lr, i)

    def _sparse_update_step(self, g, w, lr, i):
        # multiply(slices, lr) stays sparse; assign_sub scatters it one slice at a time (here:
        # adds it negated), touching only the batch's rows; subtract(m * momentum, slices)
        # sums it.
        if self.momentum == 0:
            _scatter_add(w, g, g.values * -lr)
            return
        step = _dense(g, lambda x: x * lr)
        mom, m = _cast(self.momentum, w.dtype), self._momentums[i]
        np.multiply(m, mom, out=m)
        m -= step
        if self.nesterov:
            w += m * mom - step
        else:
            w += m

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}
