"""Weight constraints, as Keras's: projections applied to a weight after each optimizer step.

A layer built with ``kernel_constraint=MaxNorm(3)`` (or ``recurrent_constraint``,
``bias_constraint``, ``embeddings_constraint``) gives its weight that constraint; as in Keras's
``BaseOptimizer.apply``, every updated weight with a constraint is replaced by
``constraint(weight)`` right after the update. The arithmetic follows Keras's ops (norms are
``sqrt(sum(w**2, axis, keepdims=True))``, epsilon 1e-7).
"""
import numpy as np

from . import _configurable as _c
from ._config import epsilon as _eps

__all__ = ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "max_norm",
           "min_max_norm", "non_neg", "unit_norm", "get", "serialize", "deserialize"]


def _norms(w, axis):
    axis = tuple(axis) if isinstance(axis, list) else axis  # a config read back from JSON
    return np.sqrt(np.sum(np.square(w), axis=axis, keepdims=True))


class Constraint(_c.Configurable):
    """Base class: ``constraint(w)`` returns the projected weight (here: ``w`` unchanged)."""

    def __call__(self, w):
        return w


class MaxNorm(Constraint):
    """Scales the weights along ``axis`` down to a norm of at most ``max_value``."""

    def __init__(self, max_value=2, axis=0):
        self.max_value, self.axis = max_value, axis

    def __call__(self, w):
        w = np.asarray(w)
        dt = w.dtype.type
        norms = _norms(w, self.axis)
        desired = np.clip(norms, dt(0), dt(self.max_value))
        return w * (desired / (dt(_eps()) + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class MinMaxNorm(Constraint):
    """Moves the norms along ``axis`` towards ``[min_value, max_value]`` at ``rate``."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, w):
        w = np.asarray(w)
        dt = w.dtype.type
        norms = _norms(w, self.axis)
        desired = (dt(self.rate) * np.clip(norms, dt(self.min_value), dt(self.max_value))
                   + dt(1 - self.rate) * norms)
        return w * (desired / (dt(_eps()) + norms))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


class NonNeg(Constraint):
    """``max(w, 0)``."""

    def __call__(self, w):
        w = np.asarray(w)
        return np.maximum(w, w.dtype.type(0))


class UnitNorm(Constraint):
    """Divides the weights along ``axis`` by their norm."""

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        w = np.asarray(w)
        return w / (w.dtype.type(_eps()) + _norms(w, self.axis))

    def get_config(self):
        return {"axis": self.axis}


max_norm, min_max_norm, non_neg, unit_norm = MaxNorm, MinMaxNorm, NonNeg, UnitNorm

_CLASSES = {cls.__name__: cls for cls in (Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm)}
# Keras's string identifiers: the class names and their snake case
_NAMES = {**_CLASSES, "constraint": Constraint, "max_norm": MaxNorm,
          "min_max_norm": MinMaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm}


def serialize(constraint):
    if constraint is not None and not isinstance(constraint, Constraint):
        raise ValueError(f"constraint {constraint!r} is a plain function: rnncore's file format "
                         "stores no code; use an rnncore.constraints.Constraint to save the model")
    return _c.serialize(constraint)


def deserialize(config):
    return _c.deserialize(config, _CLASSES, "constraint")


def get(identifier, argument="constraint"):
    """A Constraint from None, a name ('max_norm', 'NonNeg', ...), a config dict, a class or
    an instance; a function of the weight is kept as it is."""
    obj = _c.resolve(identifier, Constraint, _CLASSES, _NAMES, "constraint", argument)
    if obj is not _c.NOT_RESOLVED:
        return obj
    if callable(identifier):
        return identifier  # a function of the weight, as Keras takes (not savable)
    raise ValueError(f"{argument}: expected None, a name, a config dict, a "
                     f"rnncore.constraints.Constraint or a function; received {identifier!r}")
