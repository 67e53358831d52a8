"""Checks of constructor arguments shared by the reshaping, activation, noise and merge layers:
each error names the layer, the argument and the value received."""
import numbers

from .. import activations as _activations


def is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def positive_int(layer, argument, value):
    if not is_int(value):
        raise TypeError(f"{layer}: Expected an integer value for `{argument}`: {argument} "
                        f"must be a positive integer, got {value!r} (of type "
                        f"{type(value).__name__})")
    if value <= 0:
        raise ValueError(f"{layer}: Argument `{argument}` should be a positive integer. "
                         f"Received: {argument}={value!r}")
    return int(value)


def real(layer, argument, value, low=None, high=None, allow_none=False):
    """A real number (not a bool) in [low, high]; None only where `allow_none`."""
    if value is None and allow_none:
        return None
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{layer}: {argument} must be a float, got {value!r} (of type "
                        f"{type(value).__name__})")
    if value != value or (low is not None and value < low) or (
            high is not None and value > high):
        span = (f"between {low} and {high}" if high is not None
                else f">= {low}" if low is not None else "a number")
        raise ValueError(f"{layer}: {argument} must be a float {span}. Received: "
                         f"{argument}={value!r}")
    return float(value)


class ActivationAttribute:
    """A layer's ``activation``, kept as a built-in activation's name ('linear' for none) or a
    user's function. Assigning it after construction takes what the constructor takes (None,
    a name, a function), as Keras's ``dense.activation = None`` does."""

    def __set_name__(self, owner, name):
        self.name, self.key = name, "_" + name

    def __get__(self, layer, owner=None):
        if layer is None:
            return self
        # pickles made before this was a descriptor hold the plain attribute
        return layer.__dict__.get(self.key, layer.__dict__.get(self.name))

    def __set__(self, layer, value):
        layer.__dict__[self.key] = _activations._resolve(value, self.name)
