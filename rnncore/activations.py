"""Activation functions, Keras's names: value and backward pass.

Each built-in name maps to ``(forward(x) -> y, backward(x, y, dy) -> dx)``. A layer keeps a
built-in activation as its name; any other callable (a user's function written with
:mod:`rnncore.ops`, as a Keras user writes one with ``keras.ops``) is kept as the function and
differentiated by recording the ops it runs (see :func:`forward`, :func:`backward`). Only
rnncore's and Keras's own function objects count as built-ins: a user's function that happens
to be called ``gelu`` stays the user's.
"""
import functools

import numpy as np
from scipy import special

__all__ = ["get", "serialize", "deserialize", "mish", "linear", "relu", "tanh", "sigmoid",
           "softmax", "elu", "selu",
           "softplus", "softsign", "swish", "silu", "gelu", "hard_sigmoid", "exponential",
           "leaky_relu", "relu6", "log_softmax"]
__all__ += ["celu", "glu", "hard_shrink", "hard_silu", "hard_swish", "hard_tanh", "log_sigmoid",
            "soft_shrink", "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus",
            "tanh_shrink", "threshold"]

_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772, 1.0507009873554805


def _recordable(recorded):
    """The NumPy function for arrays; for anything else (an rnncore Tensor, when a custom
    layer's ``call`` uses ``keras.activations.relu`` while a training step records) the same
    activation through :mod:`rnncore.ops`, ``recorded(ops, x, ...)``, so it is differentiated."""
    def wrap(fn):
        @functools.wraps(fn)
        def activation(x, *args, **kwargs):
            if isinstance(x, np.ndarray) or np.isscalar(x):
                return fn(x, *args, **kwargs)
            from . import ops

            return recorded(ops, x, *args, **kwargs)
        return activation
    return wrap


def _elu_ops(ops, x, alpha=1.0):
    if alpha == 1.0:
        return ops.elu(x)
    return ops.where(x > 0, x, ops.expm1(ops.minimum(x, 0)) * alpha)


@_recordable(lambda ops, x: x)
def linear(x):
    return x


@_recordable(lambda ops, x: ops.relu(x))
def relu(x):
    return np.maximum(x, 0)


@_recordable(lambda ops, x: ops.tanh(x))
def tanh(x):
    return np.tanh(x)


@_recordable(lambda ops, x: ops.sigmoid(x))
def sigmoid(x):
    return special.expit(x)


@_recordable(lambda ops, x, axis=-1: ops.softmax(x, axis=axis))
def softmax(x, axis=-1):
    z = x - x.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


@_recordable(lambda ops, x, axis=-1: ops.log_softmax(x, axis=axis))
def log_softmax(x, axis=-1):
    return special.log_softmax(x, axis=axis)


@_recordable(_elu_ops)
def elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


@_recordable(lambda ops, x: ops.selu(x))
def selu(x):
    return _SELU_SCALE * elu(x, _SELU_ALPHA)


@_recordable(lambda ops, x: ops.softplus(x))
def softplus(x):
    return np.logaddexp(0, x).astype(x.dtype, copy=False)


@_recordable(lambda ops, x: ops.softsign(x))
def softsign(x):
    return x / (1 + np.abs(x))


@_recordable(lambda ops, x: ops.silu(x))
def silu(x):
    return x * special.expit(x)


swish = silu


@_recordable(lambda ops, x, approximate=False: ops.gelu(x, approximate=approximate))
def gelu(x, approximate=False):
    if approximate:
        return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1 + special.erf(x / np.sqrt(2)))


@_recordable(lambda ops, x: ops.hard_sigmoid(x))
def hard_sigmoid(x):
    return np.clip((x + 3) / 6, 0, 1)  # Keras 3: relu6(x + 3) / 6


@_recordable(lambda ops, x: ops.exp(x))
def exponential(x):
    return np.exp(x)


@_recordable(lambda ops, x, negative_slope=0.2: ops.leaky_relu(x, negative_slope))
def leaky_relu(x, negative_slope=0.2):
    return np.where(x > 0, x, negative_slope * x)


@_recordable(lambda ops, x: ops.relu6(x))
def relu6(x):
    return np.clip(x, 0, 6)


@_recordable(lambda ops, x: x * ops.tanh(ops.softplus(x)))
def mish(x):
    return x * np.tanh(softplus(x))


def _mish_grad(x, y, dy):
    t = np.tanh(np.logaddexp(0, x))
    return dy * (t + x * special.expit(x) * (1 - t * t))


def _gelu_grad(x, y, dy):
    cdf = 0.5 * (1 + special.erf(x / np.sqrt(2)))
    pdf = np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)
    return dy * (cdf + x * pdf)


# The newer activations are the ops of the same names: NumPy arrays in, NumPy arrays out, and
# recorded on a training step's tensors; a layer's backward pass replays that record.
def _ops():
    from . import ops

    return ops


def celu(x, alpha=1.0):
    """``max(x, 0) + alpha * expm1(min(x, 0) / alpha)``."""
    return _ops().celu(x, alpha=alpha)


def glu(x, axis=-1):
    """The first half of ``x`` along ``axis`` times the sigmoid of the second half."""
    return _ops().glu(x, axis=axis)


def hard_shrink(x, threshold=0.5):
    """``x`` where ``|x| > threshold``, else 0."""
    return _ops().hard_shrink(x, threshold=threshold)


def hard_silu(x):
    """``x * hard_sigmoid(x)``; ``hard_swish`` is the same function, as in Keras."""
    return _ops().hard_silu(x)


hard_swish = hard_silu


def hard_tanh(x):
    """``x`` clipped to ``[-1, 1]``."""
    return _ops().hard_tanh(x)


def log_sigmoid(x):
    """``log(sigmoid(x))``, computed without overflow."""
    return _ops().log_sigmoid(x)


def soft_shrink(x, threshold=0.5):
    """``x`` moved toward 0 by ``threshold``, 0 within ``threshold`` of it."""
    return _ops().soft_shrink(x, threshold=threshold)


def sparse_plus(x):
    """0 below -1, ``(x + 1)² / 4`` up to 1, ``x`` above."""
    return _ops().sparse_plus(x)


def sparse_sigmoid(x):
    """0 below -1, ``(x + 1) / 2`` up to 1, 1 above."""
    return _ops().sparse_sigmoid(x)


def sparsemax(x, axis=-1):
    """Sparsemax over ``axis`` (Keras's threshold)."""
    return _ops().sparsemax(x, axis=axis)


def squareplus(x, b=4):
    """``(x + sqrt(x² + b)) / 2``."""
    return _ops().squareplus(x, b=b)


def tanh_shrink(x):
    """``x - tanh(x)``."""
    return _ops().tanh_shrink(x)


def threshold(x, threshold, default_value):
    """``x`` where ``x > threshold``, else ``default_value`` (both required, as in Keras)."""
    return _ops().threshold(x, threshold, default_value)


def _replayed(fn):
    """The backward pass of an activation written with the ops: its record, replayed."""
    return lambda x, y, dy: backward(fn, x, y, dy)


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
    "mish": (mish, _mish_grad),
}
_TABLE["swish"] = _TABLE["silu"]
_TABLE.update({fn.__name__: (fn, _replayed(fn)) for fn in (
    celu, glu, hard_shrink, hard_silu, hard_tanh, log_sigmoid, soft_shrink, sparse_plus,
    sparse_sigmoid, sparsemax, squareplus, tanh_shrink, threshold)})
_TABLE["hard_swish"] = _TABLE["hard_silu"]


_BY_FUNCTION = {id(f): name for name, (f, _) in _TABLE.items()}
_BY_FUNCTION[id(swish)] = "silu"  # the same function object; Keras names it silu too
_BY_FUNCTION[id(hard_swish)] = "hard_silu"


def _builtin_name(fn):
    """The built-in name of one of our function objects or of Keras's, else None."""
    name = _BY_FUNCTION.get(id(fn))
    if name is None and str(getattr(fn, "__module__", "")).split(".")[0] in ("keras",
                                                                             "tf_keras"):
        name = getattr(fn, "__name__", None)
        name = name if name in _TABLE else None
    return name


def _resolve(identifier, argument="activation"):
    """What a layer keeps: a built-in's name (None is 'linear'), or the user's callable."""
    if identifier is None:
        return "linear"
    if isinstance(identifier, str):
        if identifier in _TABLE:
            # an alias is kept under Keras's name for its function ('swish' is 'silu')
            return _BY_FUNCTION.get(id(_TABLE[identifier][0]), identifier)
    elif isinstance(identifier, dict):
        return _resolve(deserialize(identifier), argument)
    elif callable(identifier):
        return _builtin_name(identifier) or identifier
    raise ValueError(f"{argument}: unknown activation {identifier!r}; expected one of "
                     f"{sorted(_TABLE)}, a callable or a serialized activation")


def get(identifier):
    """The activation function for a name, a serialized activation, a callable or None (the
    identity, ``linear``), as Keras's ``activations.get``: ``get('relu')(x)``."""
    act = _resolve(identifier)
    return _TABLE[act][0] if isinstance(act, str) else act


def forward(activation, x):
    """``activation(x)`` in ``x``'s dtype; ``activation`` as :func:`_resolve` gives it."""
    if isinstance(activation, str):
        return _TABLE[activation][0](x).astype(x.dtype, copy=False)
    from .ops._tape import recording, value_of

    with recording(False):
        y = value_of(activation(x))
    return np.asarray(y).astype(x.dtype, copy=False)


def backward(activation, x, y, dy):
    """d(loss)/dx from ``dy``. A user's callable is run again on ``x`` while its ops are
    recorded, and the record replayed backward from ``dy``."""
    if isinstance(activation, str):
        return _TABLE[activation][1](x, y, dy).astype(dy.dtype, copy=False)
    from .ops._tape import Tensor, backward as replay, recording

    with recording(True):
        leaf = Tensor(x)
        out = activation(leaf)
    grad = replay([out], [dy]).of(leaf) if isinstance(out, Tensor) else None
    return np.zeros_like(dy) if grad is None else np.asarray(grad).astype(dy.dtype, copy=False)


def serialize(activation):
    """A built-in's name (``'relu'``); for another function Keras's form,
    ``{'module': 'builtins', 'class_name': 'function', 'config': name, ...}`` with the name it
    is registered under (``'package>name'``) or its ``__name__``."""
    act = _resolve(activation)
    if isinstance(act, str):
        return act
    from .utils._registration import get_registered_name

    return {"module": "builtins", "class_name": "function",
            "config": get_registered_name(act), "registered_name": "function"}


def deserialize(config, custom_objects=None):
    """Inverse of :func:`serialize`: the function for a name or a serialized function (looked
    up in ``custom_objects``, the registered objects, then the built-ins)."""
    from .utils._registration import get_registered_object

    name = config
    if isinstance(config, dict):
        name = config.get("config") if config.get("class_name") == "function" else None
        if not isinstance(name, str):
            raise ValueError(f"Could not interpret serialized activation: {config!r}")
    if isinstance(name, str):
        if name in _TABLE and not (custom_objects and name in custom_objects):
            return _TABLE[name][0]
        # the objects of a custom_object_scope in force (load_model(custom_objects=...)),
        # functions included: the registry's lookup takes classes only from the scope
        from .layers._registry import _custom

        scope = getattr(_custom, "objects", None) or {}
        found = get_registered_object(name, {**scope, **(custom_objects or {})})
        if found is not None:
            return found
    raise ValueError(f"Could not interpret activation function identifier: {config!r}; "
                     "register a custom function with "
                     "keras.saving.register_keras_serializable or pass custom_objects")
