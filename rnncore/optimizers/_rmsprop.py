"""RMSprop, with its compiled step for an Embedding's IndexedSlices gradient."""
import numpy as np

from .._config import get_num_threads
from .._kernels import _rows
from ._base import Optimizer, _check_number, _dense, _squares


class RMSprop(Optimizer):
    """RMSprop: divide the gradient by a running root mean square of recent gradients.

    ``v = rho * v + (1 - rho) * g**2``; ``w -= lr * g / sqrt(v + epsilon)`` (with
    ``centered=True`` the running mean ``a`` of ``g`` is used: ``sqrt(v - a**2 + epsilon)``;
    with momentum the step goes through ``m = momentum * m + step``).

    Parameters
    ----------
    learning_rate : float, default 0.001.
    rho : float in [0, 1], default 0.9.
    momentum : float in [0, 1], default 0.
    epsilon : float, default 1e-7.
    centered : bool, default False.
    **kwargs : the common arguments of :class:`Optimizer`.
    """

    _default_name = "rm_sprop"  # Keras's snake case of "RMSprop"

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        _check_number("rho", rho, high=1.0)
        _check_number("momentum", momentum, high=1.0)
        _check_number("epsilon", epsilon)
        self.rho, self.momentum, self.epsilon, self.centered = rho, momentum, epsilon, centered

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._velocities = self._add_slots(["velocity"])[0]
        self._momentums = self._add_slots(["momentum"])[0] if self.momentum > 0 else []
        self._average_gradients = (self._add_slots(["average_gradient"])[0]
                                   if self.centered else [])
        self._row_scratch_by_index = {}

    def update_step(self, g, w, lr, i):
        self._step(g, np.square(g), w, lr, i)

    def _step(self, g, squares, w, lr, i):
        """The dense step, from the gradient and its squares (a RowSums gives both as per-row
        sums of its slices)."""
        dt = w.dtype.type
        rho, one_minus_rho, eps = dt(self.rho), dt(1 - self.rho), dt(self.epsilon)
        v = self._velocities[i]
        np.multiply(v, rho, out=v)
        v += one_minus_rho * squares
        if self.centered:
            a = self._average_gradients[i]
            np.multiply(a, rho, out=a)
            a += one_minus_rho * g
            denominator = v - np.square(a) + eps
        else:
            denominator = v + eps
        increment = (lr * g) / np.sqrt(denominator)
        if self.momentum > 0:
            m = self._momentums[i]
            np.multiply(m, dt(self.momentum), out=m)
            m += increment
            w -= m
        else:
            w -= increment

    def _sparse_update_step(self, g, w, lr, i):
        # One compiled step (_rows.rmsprop_rows) doing Keras's sparse ops to the bit: the table
        # decays once, and only the rows the batch touched are read again. For Embedding(10000,
        # 64) and 6,400 ids a batch: 0.45 ms (0.6 ms with the caches cold, as in training)
        # where NumPy's form of the same ops took 1.3 ms.
        # Without momentum, an untouched row only has its slots decay, so the decay could wait
        # until the row is next touched. It stays eager: only k separate multiplications by rho
        # give Keras's bits (one by rho**k differs by an ulp or so), and they are as many
        # operations as the eager decay; done outside the kernel, gathering and scattering
        # the touched rows cost more than the pass over the table they save. That pays only
        # inside rmsprop_rows, replaying each touched row's missed decays with no copies.
        dt = w.dtype.type
        v = self._velocities[i]
        a = self._average_gradients[i] if self.centered else None
        m = self._momentums[i] if self.momentum > 0 else None
        arrays = [w, v] + [x for x in (a, m) if x is not None]
        if w.dtype not in (np.float32, np.float64) or w.ndim < 2 or not all(
                x.flags.c_contiguous for x in arrays):
            return self._sparse_update_step_dense(g, w, lr, i)
        rows = w.shape[0]
        w2, v2 = w.reshape(rows, -1), v.reshape(rows, -1)
        none = np.empty((0, w2.shape[1]), w.dtype)
        indices = g._int_indices()
        slot, sums = self._row_scratch(i, rows, min(indices.size, rows), w2.shape[1], w.dtype)
        # the row width written out: -1 cannot be inferred for a batch without ids
        values = np.ascontiguousarray(g.values.reshape(indices.size, w2.shape[1]))
        _rows.rmsprop_rows(indices, values,
                           lr, dt(self.rho), dt(1 - self.rho), dt(self.epsilon),
                           dt(self.momentum), v2,
                           none if a is None else a.reshape(rows, -1),
                           none if m is None else m.reshape(rows, -1), w2,
                           slot, np.empty(indices.size, np.int32),
                           np.empty(sums.shape[1], indices.dtype), sums, get_num_threads())

    # rnncore.distributed may hand this optimizer an Embedding's gradient as per-row sums
    takes_row_sums = True

    def _row_sums_update_step(self, g, w, lr, i):
        # Keras's sparse step on a RowSums (rnncore._indexed_slices): the table's slots decay
        # once, each row gains (1 - rho) times its slices' squares and moves by its slices'
        # sum over the root; rows the batch did not touch have zero sums and only decay. The
        # dense step's operations on each row's totals (equal up to their order).
        self._step(g.sums, g.square_sums, w, lr, i)

    def _row_scratch(self, i, rows, n, cols, dtype):
        # Per variable: the row-to-slot map (all -1 between steps) and room for n rows of sums.
        slot, sums = self._row_scratch_by_index.get(i, (None, None))
        if slot is None:
            slot = np.full(rows, -1, np.int32)
        if sums is None or sums.size < 3 * n * cols or sums.dtype != dtype:
            sums = np.empty(3 * n * cols, dtype)
        self._row_scratch_by_index[i] = slot, sums
        # the kernel wants (3, n, cols) C-contiguous: a prefix of a flat buffer is, where a
        # slice [:, :n] of a bigger (3, N, cols) block is not (a shorter last batch)
        return slot, sums[:3 * n * cols].reshape(3, n, cols)

    def _sparse_update_step_dense(self, g, w, lr, i):
        dt = w.dtype.type
        rho, one_minus_rho, eps = dt(self.rho), dt(1 - self.rho), dt(self.epsilon)
        v = self._velocities[i]
        np.multiply(v, rho, out=v)
        # square(slices) squares each occurrence; add(dense, slices) then sums them.
        v += _squares(g, one_minus_rho)
        if self.centered:
            a = self._average_gradients[i]
            np.multiply(a, rho, out=a)
            a += _dense(g, lambda x: one_minus_rho * x)
            denominator = v - np.square(a) + eps
        else:
            denominator = v + eps
        # divide(slices, dense) divides each occurrence by its row of the divisor; assign_sub
        # then subtracts them one by one (add, with momentum, sums them first).
        quotients = (lr * g.values) / np.sqrt(denominator[g.indices])
        if self.momentum > 0:
            m = self._momentums[i]
            np.multiply(m, dt(self.momentum), out=m)
            m += g.with_values(quotients).to_dense()
            w -= m
        else:
            np.subtract.at(w, g.indices, quotients)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}
