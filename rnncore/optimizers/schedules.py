"""Learning-rate schedules, as Keras's ``keras.optimizers.schedules``.

A schedule is called with the optimizer's step counter (the number of ``apply_gradients`` calls
so far) and returns the learning rate for that step, computed in float32 as Keras does.
"""
import numpy as np

__all__ = ["LearningRateSchedule", "ExponentialDecay", "InverseTimeDecay",
           "PiecewiseConstantDecay", "serialize", "deserialize"]


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


_SCHEDULES = {c.__name__: c for c in (ExponentialDecay, InverseTimeDecay, PiecewiseConstantDecay)}


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
