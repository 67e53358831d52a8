"""Learning-rate schedules, as Keras's ``keras.optimizers.schedules``.

A schedule is called with the optimizer's step counter (the number of ``apply_gradients`` calls
so far) and returns the learning rate for that step, computed in float32 as Keras does.
"""
import numpy as np

__all__ = ["LearningRateSchedule", "ExponentialDecay", "InverseTimeDecay",
           "PiecewiseConstantDecay", "PolynomialDecay", "CosineDecay", "CosineDecayRestarts",
           "serialize", "deserialize"]


def _as_tensor(x):
    # TensorFlow turns a bare Python float into float32; NumPy values keep their dtype.
    arr = np.asarray(x)
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        arr = arr.astype(np.float32)
    return arr[()]


def _check_decay_steps(decay_steps):
    if isinstance(decay_steps, bool) or not np.isscalar(decay_steps) or not decay_steps > 0:
        raise ValueError("Argument `decay_steps` must be > 0. "
                         f"Received: decay_steps={decay_steps!r}")


class LearningRateSchedule:
    """Base class: subclasses define ``__call__(step)`` and ``get_config()``."""

    def __call__(self, step):
        raise NotImplementedError(f"{type(self).__name__} must override `__call__(self, step)`.")

    def get_config(self):
        raise NotImplementedError(f"{type(self).__name__} must override `get_config()`.")

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class ExponentialDecay(LearningRateSchedule):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)``.

    Parameters
    ----------
    initial_learning_rate : float
    decay_steps : int, > 0.
    decay_rate : float
    staircase : bool, if True ``step / decay_steps`` is floored (the rate drops in steps).
    name : str

    Examples
    --------
    >>> lr = ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    >>> float(lr(10))
    0.05000000074505806
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="ExponentialDecay"):
        _check_decay_steps(decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def _progress(self, step):
        init = _as_tensor(self.initial_learning_rate)
        dt = init.dtype.type
        p = dt(step) / dt(self.decay_steps)
        return init, dt, (np.floor(p) if self.staircase else p)

    def __call__(self, step):
        init, dt, p = self._progress(step)
        return init * np.power(dt(self.decay_rate), p)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class InverseTimeDecay(ExponentialDecay):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)``; arguments as
    :class:`ExponentialDecay`."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="InverseTimeDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step):
        init, dt, p = self._progress(step)
        return init / (dt(1) + dt(self.decay_rate) * p)


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[i]`` while ``boundaries[i-1] < step <= boundaries[i]``.

    Parameters
    ----------
    boundaries : list of int, increasing.
    values : list of float, one longer than ``boundaries``.
    name : str
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError("The length of `boundaries` should be 1 less than the length of "
                             f"`values`. Received: boundaries={boundaries} of length "
                             f"{len(boundaries)}, and values={values} of length {len(values)}.")
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step):
        values = [_as_tensor(v) for v in self.values]
        # Keras sums value * indicator over the ranges; with one range true this is exact.
        index = int(np.searchsorted(np.asarray(self.boundaries), step, side="left"))
        return values[0].dtype.type(values[index])

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """``(initial - end) * (1 - step / decay_steps) ** power + end``, ``step`` capped at
    ``decay_steps`` (with ``cycle=True`` the horizon grows to the next multiple instead).

    Parameters
    ----------
    initial_learning_rate : float
    decay_steps : int, > 0.
    end_learning_rate : float, default 0.0001.
    power : float, default 1.0 (linear).
    cycle : bool, default False.
    name : str
    """

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0,
                 cycle=False, name="PolynomialDecay"):
        _check_decay_steps(decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step):
        init = _as_tensor(self.initial_learning_rate)
        dt = init.dtype.type
        end, power = _cast(self.end_learning_rate, dt), _cast(self.power, dt)
        s, horizon = dt(step), dt(self.decay_steps)
        if self.cycle:
            horizon = horizon * (dt(1.0) if s == 0 else np.ceil(s / horizon))
        else:
            s = np.minimum(s, horizon)
        return (init - end) * np.power(dt(1) - s / horizon, power) + end

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Cosine decay with an optional linear warmup.

    Without ``warmup_target``: ``lr * ((1 - alpha) * 0.5 (1 + cos(pi s / decay_steps)) +
    alpha)`` with ``s = min(step, decay_steps)``. With it, the rate first climbs linearly from
    ``initial_learning_rate`` to ``warmup_target`` over ``warmup_steps``, then decays from
    ``warmup_target`` as above.

    Parameters
    ----------
    initial_learning_rate : float
    decay_steps : int, > 0.
    alpha : float, default 0.0: the floor, as a fraction of the decayed-from rate.
    name : str
    warmup_target : float or None.
    warmup_steps : int, default 0.
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        _check_decay_steps(decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_steps = warmup_steps
        self.warmup_target = warmup_target

    def _decay(self, s, decay_steps, start, dt):
        cosine = dt(0.5) * (dt(1.0) + np.cos(dt(np.pi) * (s / decay_steps)))
        return start * (dt(1 - self.alpha) * cosine + dt(self.alpha))

    def __call__(self, step):
        init = _as_tensor(self.initial_learning_rate)
        dt = init.dtype.type
        decay_steps, s = dt(self.decay_steps), dt(step)
        if self.warmup_target is None:
            return self._decay(np.minimum(s, decay_steps), decay_steps, init, dt)
        target, warmup = _cast(self.warmup_target, dt), dt(self.warmup_steps)
        s = np.minimum(s, decay_steps + warmup)
        if s < warmup:
            return (target - init) * (s / warmup) + init
        return self._decay(s - warmup, decay_steps, target, dt)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): each period decays as :class:`CosineDecay`, the
    i-th lasting ``first_decay_steps * t_mul**i`` steps and starting at ``m_mul**i`` times the
    initial rate.

    Parameters
    ----------
    initial_learning_rate : float
    first_decay_steps : int, > 0.
    t_mul, m_mul : float, defaults 2.0 and 1.0.
    alpha : float, default 0.0.
    name : str
    """

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0,
                 alpha=0.0, name="SGDRDecay"):
        if isinstance(first_decay_steps, bool) or not first_decay_steps > 0:
            raise ValueError("Argument `first_decay_steps` must be > 0. "
                             f"Received: first_decay_steps={first_decay_steps!r}")
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self._t_mul, self._m_mul = t_mul, m_mul
        self.alpha = alpha
        self.name = name

    def __call__(self, step):
        init = _as_tensor(self.initial_learning_rate)
        dt = init.dtype.type
        alpha, t_mul, m_mul = (_cast(v, dt) for v in (self.alpha, self._t_mul, self._m_mul))
        fraction = dt(step) / dt(self.first_decay_steps)
        if t_mul == dt(1.0):
            restart = np.floor(fraction)
            fraction = fraction - restart
        else:
            restart = np.floor(np.log(dt(1.0) - fraction * (dt(1.0) - t_mul)) / np.log(t_mul))
            done = (dt(1.0) - np.power(t_mul, restart)) / (dt(1.0) - t_mul)
            fraction = (fraction - done) / np.power(t_mul, restart)
        cosine = dt(0.5) * np.power(m_mul, restart) * (
            dt(1.0) + np.cos(dt(np.pi) * fraction))
        return init * ((dt(1) - alpha) * cosine + alpha)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self._t_mul,
                "m_mul": self._m_mul, "alpha": self.alpha, "name": self.name}


def _cast(x, dt):
    # ops.cast(python_float, dtype): through float32 first, as TensorFlow converts it
    return dt(np.float32(x)) if isinstance(x, float) else dt(x)


_SCHEDULES = {c.__name__: c for c in (ExponentialDecay, InverseTimeDecay, PiecewiseConstantDecay,
                                      PolynomialDecay, CosineDecay, CosineDecayRestarts)}


def serialize(schedule):
    """A schedule as Keras's serialized dict (``module``, ``class_name``, ``config``)."""
    return {"module": "keras.optimizers.schedules", "class_name": type(schedule).__name__,
            "config": schedule.get_config(), "registered_name": None}


def deserialize(config):
    """Inverse of :func:`serialize`."""
    name = config.get("class_name") if isinstance(config, dict) else None
    if name not in _SCHEDULES:
        raise ValueError(f"Unknown learning rate schedule: received config={config!r}. "
                         f"Expected class_name one of {sorted(_SCHEDULES)}.")
    return _SCHEDULES[name].from_config(dict(config.get("config", {})))
