"""Adafactor."""
import numpy as np

from .._indexed_slices import IndexedSlices
from ._base import _OneStepForSlices, _cast, _check_number, _scatter_add, _squares


class Adafactor(_OneStepForSlices):
    """Adafactor (Shazeer & Stern, 2018): Adam-like steps whose second moment is kept, for a
    variable of two or more axes, as the running means of its rows and of its columns only
    (the last two axes), which saves memory.

    With t = step + 1, ``rho = min(lr, 1 / sqrt(t))``, ``beta = 1 - t**beta_2_decay`` and
    ``s = g**2 + epsilon_1``:

    * 2+ axes: ``r = beta r + (1 - beta) mean(s, -1)``, ``c = beta c + (1 - beta) mean(s, -2)``,
      ``v = (r / mean(r)) ⊗ c``;  fewer: ``v = beta v + (1 - beta) s``;
    * ``u = g / sqrt(v)``, clipped to ``u / max(1, rms(u) / clip_threshold)``;
    * ``w -= max(epsilon_2, rms(w)) rho u``.

    Parameters
    ----------
    learning_rate : float, default 0.001.
    beta_2_decay : float, default -0.8.
    epsilon_1 : float, default 1e-30: keeps ``v`` away from 0.
    epsilon_2 : float, default 1e-3: the smallest scale of a step.
    clip_threshold : float, default 1.0: the step's RMS limit (apart from ``clipnorm`` and
        the other clipping arguments).
    relative_step : bool, default True: kept for Keras's signature and config; in Keras 3 it
        caps the rate as ``rho`` already is, so it changes no step.
    **kwargs : the common arguments of :class:`Optimizer`.

    Notes
    -----
    The state, in Keras's order, is per variable ``r``, ``c`` and ``v``; a variable of fewer
    than two axes gets int32 scalar zeros for ``r`` and ``c``, as in Keras (except inside a
    :class:`LossScaleOptimizer`, whose Keras build leaves them out).
    """

    _default_name = "adafactor"
    # Keras's placeholders are state only when the optimizer is built with TensorFlow's
    # automatic tracking on: not inside a LossScaleOptimizer, which turns it off
    _tracks_placeholders = True

    def __init__(self, learning_rate=0.001, beta_2_decay=-0.8, epsilon_1=1e-30, epsilon_2=1e-3,
                 clip_threshold=1.0, relative_step=True, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        _check_number("epsilon_1", epsilon_1)
        _check_number("epsilon_2", epsilon_2)
        _check_number("clip_threshold", clip_threshold, low=np.finfo(float).tiny)
        _check_number("beta_2_decay", beta_2_decay, low=-np.inf)
        self.beta_2_decay, self.epsilon_1, self.epsilon_2 = beta_2_decay, epsilon_1, epsilon_2
        self.clip_threshold, self.relative_step = clip_threshold, relative_step

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._r, self._c, self._v = [], [], []
        for var in self._trainable_variables:
            prefix = var.path.replace("/", "_")
            if len(var.shape) < 2:
                # Keras's placeholders: int32 scalars, never read
                r, c = np.zeros((), np.int32), np.zeros((), np.int32)
            else:
                r = np.zeros(var.shape[:-1], var.dtype)
                c = np.zeros(var.shape[:-2] + var.shape[-1:], var.dtype)
            v = np.zeros(var.shape, var.dtype)
            for slot, arr in (("r", r), ("c", c), ("velocity", v)):
                if arr.ndim or self._tracks_placeholders:
                    self._slots.append((f"{prefix}_{slot}", arr))
            self._r.append(r)
            self._c.append(c)
            self._v.append(v)

    def _update(self, g, w, lr, i):
        # slices: square(slices) + epsilon_1 sums the squares of the occurrences per row;
        # g / sqrt(v) divides each occurrence by its row, and rms(u) averages the occurrences'
        # squares over the whole table's size; assign_sub scatters the scaled occurrences one
        # by one
        dt = w.dtype.type
        step = dt(self._iterations + 1)
        # Keras caps the rate by 1 / sqrt(t) once more with `relative_step` and a constant
        # rate, which changes nothing: the argument has no effect in Keras 3
        rho = np.minimum(lr, dt(1) / np.sqrt(step))
        alpha = np.maximum(_cast(self.epsilon_2, w.dtype), _rms(w)) * rho
        squares = _squares(g) + dt(self.epsilon_1)
        beta = dt(1) - np.power(step, dt(self.beta_2_decay))
        v = self._v[i]
        if w.ndim >= 2:
            r, c = self._r[i], self._c[i]
            r[...] = beta * r + (dt(1) - beta) * np.mean(squares, axis=-1)
            c[...] = beta * c + (dt(1) - beta) * np.mean(squares, axis=-2)
            v[...] = np.expand_dims(r / np.mean(r, axis=-1, keepdims=True), -1) \
                * np.expand_dims(c, -2)
        else:
            v[...] = beta * v + (dt(1) - beta) * squares
        if isinstance(g, IndexedSlices):
            u = g.values / np.sqrt(v[g.indices])
            rms = np.sqrt(np.sum(np.square(u), dtype=w.dtype) / dt(w.size))
            u = u / np.maximum(dt(1), rms / dt(self.clip_threshold))
            _scatter_add(w, g, -(alpha * u))
            return
        u = g / np.sqrt(v)
        u = u / np.maximum(dt(1), _rms(u) / dt(self.clip_threshold))
        w -= alpha * u

    def get_config(self):
        return {**super().get_config(), "beta_2_decay": self.beta_2_decay,
                "epsilon_1": self.epsilon_1, "epsilon_2": self.epsilon_2,
                "clip_threshold": self.clip_threshold, "relative_step": self.relative_step}


def _rms(x):
    return np.sqrt(np.mean(np.square(x), dtype=x.dtype))
