"""Adagrad."""
import numpy as np

from ._base import Optimizer, _check_number, _scatter_add, _scatter_add_squares


class Adagrad(Optimizer):
    """Adagrad: ``acc += g**2``; ``w -= lr * g / sqrt(acc + epsilon)``.

    Parameters
    ----------
    learning_rate : float, default 0.001.
    initial_accumulator_value : float >= 0, default 0.1.
    epsilon : float, default 1e-7.
    **kwargs : the common arguments of :class:`Optimizer`.
    """

    _default_name = "adagrad"

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        _check_number("initial_accumulator_value", initial_accumulator_value)
        _check_number("epsilon", epsilon)
        self.initial_accumulator_value, self.epsilon = initial_accumulator_value, epsilon

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._accumulators = self._add_slots(["accumulator"], self.initial_accumulator_value)[0]

    def update_step(self, g, w, lr, i):
        acc = self._accumulators[i]
        acc += np.square(g)
        w -= (lr * g) / np.sqrt(acc + w.dtype.type(self.epsilon))

    # rnncore.distributed may hand Adagrad an Embedding's gradient as per-row sums: its
    # sparse step reads each row's squares' sum (acc) and slices' sum (the move over the root)
    takes_row_sums = True

    def _row_sums_update_step(self, g, w, lr, i):
        acc = self._accumulators[i]
        acc += g.square_sums
        w -= (lr * g.sums) / np.sqrt(acc + w.dtype.type(self.epsilon))

    def _sparse_update_step(self, g, w, lr, i):
        # The rows no id names are left as they are (acc + 0, w - 0): only the batch's rows
        # are touched. assign_add scatters the squared occurrences one by one into acc;
        # divide(slices, dense) takes each occurrence's row of sqrt(acc + eps); assign_sub
        # scatters the quotients one by one (here: adds them negated).
        acc = self._accumulators[i]
        _scatter_add_squares(acc, g)
        denominator = np.sqrt(g.gather(acc) + w.dtype.type(self.epsilon))
        _scatter_add(w, g, (-lr * g.values) / denominator)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon,
                "initial_accumulator_value": self.initial_accumulator_value}
