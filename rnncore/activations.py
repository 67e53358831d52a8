"""Activation functions for Dense layers: value and backward pass, Keras's names.

Each entry maps a name to ``(forward(x) -> y, backward(x, y, dy) -> dx)``.
"""
import numpy as np
from scipy import special

__all__ = ["get", "serialize", "linear", "relu", "tanh", "sigmoid", "softmax", "elu", "selu",
           "softplus", "softsign", "swish", "silu", "gelu", "hard_sigmoid", "exponential",
           "leaky_relu", "relu6", "log_softmax"]

_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772, 1.0507009873554805


def linear(x):
    return x


def relu(x):
    return np.maximum(x, 0)


def tanh(x):
    return np.tanh(x)


def sigmoid(x):
    return special.expit(x)


def softmax(x, axis=-1):
    z = x - x.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x, axis=-1):
    return special.log_softmax(x, axis=axis)


def elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def selu(x):
    return _SELU_SCALE * elu(x, _SELU_ALPHA)


def softplus(x):
    return np.logaddexp(0, x).astype(x.dtype, copy=False)


def softsign(x):
    return x / (1 + np.abs(x))


def silu(x):
    return x * special.expit(x)


swish = silu


def gelu(x, approximate=False):
    if approximate:
        return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1 + special.erf(x / np.sqrt(2)))


def hard_sigmoid(x):
    return np.clip((x + 3) / 6, 0, 1)  # Keras 3: relu6(x + 3) / 6


def exponential(x):
    return np.exp(x)


def leaky_relu(x, negative_slope=0.2):
    return np.where(x > 0, x, negative_slope * x)


def relu6(x):
    return np.clip(x, 0, 6)


def _gelu_grad(x, y, dy):
    cdf = 0.5 * (1 + special.erf(x / np.sqrt(2)))
    pdf = np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)
    return dy * (cdf + x * pdf)


_TABLE = {
    "linear": (linear, lambda x, y, dy: dy),
    "relu": (relu, lambda x, y, dy: dy * (x > 0)),
    "tanh": (tanh, lambda x, y, dy: dy * (1 - y * y)),
    "sigmoid": (sigmoid, lambda x, y, dy: dy * y * (1 - y)),
    "softmax": (softmax, lambda x, y, dy: y * (dy - (dy * y).sum(axis=-1, keepdims=True))),
    "log_softmax": (log_softmax,
                    lambda x, y, dy: dy - np.exp(y) * dy.sum(axis=-1, keepdims=True)),
    "elu": (elu, lambda x, y, dy: dy * np.where(x > 0, 1, y + 1)),
    "selu": (selu, lambda x, y, dy: dy * np.where(x > 0, _SELU_SCALE, y + _SELU_SCALE * _SELU_ALPHA)),
    "softplus": (softplus, lambda x, y, dy: dy * special.expit(x)),
    "softsign": (softsign, lambda x, y, dy: dy / (1 + np.abs(x)) ** 2),
    "silu": (silu, lambda x, y, dy: dy * (special.expit(x) * (1 + x * (1 - special.expit(x))))),
    "gelu": (gelu, _gelu_grad),
    "hard_sigmoid": (hard_sigmoid, lambda x, y, dy: dy * ((x > -3) & (x < 3)) / 6),
    "exponential": (exponential, lambda x, y, dy: dy * y),
    "leaky_relu": (leaky_relu, lambda x, y, dy: dy * np.where(x > 0, 1, 0.2)),
    "relu6": (relu6, lambda x, y, dy: dy * ((x > 0) & (x < 6))),
}
_TABLE["swish"] = _TABLE["silu"]


def get(identifier, argument="activation"):
    """Resolve an activation name (or one of this module's functions, or None) to its name."""
    if identifier is None:
        return "linear"
    if callable(identifier) and getattr(identifier, "__name__", None) in _TABLE:
        return identifier.__name__
    if isinstance(identifier, str) and identifier in _TABLE:
        return identifier
    raise ValueError(f"{argument}: unknown activation {identifier!r}; expected one of "
                     f"{sorted(_TABLE)}")


def forward(name, x):
    return _TABLE[name][0](x).astype(x.dtype, copy=False)


def backward(name, x, y, dy):
    return _TABLE[name][1](x, y, dy).astype(dy.dtype, copy=False)


def serialize(name):
    return name
