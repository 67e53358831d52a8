"""Element-wise ops of ``rnncore.ops`` (one and two arguments, broadcasting), the
activations, and the comparisons, which record nothing."""
import numpy as np

from ._common import _arr, _float, _in, _need, _sigmoid, _softplus
from ._tape import _unbroadcast, as_recorded, make, value_of


# ---- element-wise: one argument ---------------------------------------------------------------
# TensorFlow computes inf and nan (x / 0, log(0), exp overflow) without a word, and so do
# rnncore's ops: NumPy's RuntimeWarnings would print lines a Keras program never shows
_SILENT = {"divide": "ignore", "invalid": "ignore", "over": "ignore"}


def _unary(name, f, df, integers=False):
    """An element-wise op `f` whose gradient is ``df(x, y, g)``; with `integers`, integer
    and bool inputs keep their dtype (Keras's ``abs``, ``sign``, ``relu``...: a bool squares
    as int32), else they become float32."""
    def op(x):
        t, xv = _in(x)
        xv = _arr(xv)
        if integers and xv.dtype.kind in "biu":
            y = f(xv.astype(np.int32) if name == "square" and xv.dtype == bool else xv)
            return make(y, (t,), lambda g: (None,), name)
        xv = _float(xv)
        with np.errstate(**_SILENT):
            y = f(xv)
        return make(y, (t,), lambda g: (df(xv, y, g),), name)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Element-wise ``{name}`` of ``x`` (Keras's ``keras.ops.{name}``)."
    return op


exp = _unary("exp", np.exp, lambda x, y, g: g * y)
log = _unary("log", np.log, lambda x, y, g: g / x)
log1p = _unary("log1p", np.log1p, lambda x, y, g: g / (1 + x))
expm1 = _unary("expm1", np.expm1, lambda x, y, g: g * (y + 1))
sqrt = _unary("sqrt", np.sqrt, lambda x, y, g: g / (2 * y))
rsqrt = _unary("rsqrt", lambda x: 1 / np.sqrt(x), lambda x, y, g: g * (-0.5) * y ** 3)
square = _unary("square", np.square, lambda x, y, g: g * 2 * x, integers=True)
abs = absolute = _unary("abs", np.abs, lambda x, y, g: g * np.sign(x),  # noqa: A001
                        integers=True)
negative = _unary("negative", np.negative, lambda x, y, g: -g, integers=True)
sign = _unary("sign", np.sign, lambda x, y, g: np.zeros_like(g), integers=True)
floor = _unary("floor", np.floor, lambda x, y, g: np.zeros_like(g))
ceil = _unary("ceil", np.ceil, lambda x, y, g: np.zeros_like(g))
round = _unary("round", np.round, lambda x, y, g: np.zeros_like(g),  # noqa: A001
               integers=True)
sin = _unary("sin", np.sin, lambda x, y, g: g * np.cos(x))
cos = _unary("cos", np.cos, lambda x, y, g: -g * np.sin(x))
tanh = _unary("tanh", np.tanh, lambda x, y, g: g * (1 - y * y))
sigmoid = _unary("sigmoid", _sigmoid, lambda x, y, g: g * y * (1 - y))
relu = _unary("relu", lambda x: np.maximum(x, 0), lambda x, y, g: g * (x > 0), integers=True)
relu6 = _unary("relu6", lambda x: np.clip(x, 0, 6), lambda x, y, g: g * ((x > 0) & (x < 6)),
               integers=True)
softplus = _unary("softplus", _softplus, lambda x, y, g: g * _sigmoid(x))
softsign = _unary("softsign", lambda x: x / (1 + np.abs(x)),
                  lambda x, y, g: g / (1 + np.abs(x)) ** 2)
silu = swish = _unary("silu", lambda x: x * _sigmoid(x),
                      lambda x, y, g: g * (_sigmoid(x) * (1 + x * (1 - _sigmoid(x)))))
def elu(x, alpha=1.0):
    """Keras's ``elu``: ``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere."""
    t, xv = _in(x)
    xv = _float(xv)
    with np.errstate(**_SILENT):
        e = np.expm1(np.minimum(xv, 0))
    y = np.where(xv > 0, xv, alpha * e).astype(xv.dtype, copy=False)
    return make(y, (t,), lambda g: (g * np.where(xv > 0, 1, alpha * (e + 1)).astype(g.dtype),),
                "elu")
# Keras 3's hard_sigmoid: relu6(x + 3) / 6
hard_sigmoid = _unary("hard_sigmoid", lambda x: np.clip(x + 3, 0, 6) / 6,
                      lambda x, y, g: g * ((x > -3) & (x < 3)) / 6)
linear = _unary("linear", lambda x: x, lambda x, y, g: g)


def leaky_relu(x, negative_slope=0.2):
    """Keras's ``leaky_relu``: ``x`` where positive, ``negative_slope * x`` elsewhere."""
    t, xv = _in(x)
    xv = _float(xv)  # integers become float32, as Keras's
    y = np.where(xv > 0, xv, xv * xv.dtype.type(negative_slope))
    return make(y, (t,), lambda g: (np.where(xv > 0, g, g * g.dtype.type(negative_slope)),),
                "leaky_relu")


def selu(x):
    a, s = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
    t, xv = _in(x)
    xv = _float(xv)
    e = np.expm1(np.minimum(xv, 0))
    y = (s * np.where(xv > 0, xv, a * e)).astype(xv.dtype)
    return make(y, (t,), lambda g: (g * np.where(xv > 0, s, s * a * (e + 1)).astype(g.dtype),),
                "selu")


def softmax(x, axis=-1):
    """Keras's ``softmax`` over ``axis`` (max subtracted first)."""
    t, xv = _in(x)
    xv = _float(xv)
    e = np.exp(xv - np.max(xv, axis=axis, keepdims=True))
    y = e / np.sum(e, axis=axis, keepdims=True)
    return make(y, (t,), lambda g: (y * (g - np.sum(g * y, axis=axis, keepdims=True)),),
                "softmax")


def log_softmax(x, axis=-1):
    t, xv = _in(x)
    xv = _float(xv)
    shifted = xv - np.max(xv, axis=axis, keepdims=True)
    y = shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
    return make(y, (t,), lambda g: (g - np.exp(y) * np.sum(g, axis=axis, keepdims=True),),
                "log_softmax")


# ---- element-wise: two arguments ----------------------------------------------------------
def _check_broadcast(name, a, b):
    try:
        return np.broadcast_shapes(np.shape(a), np.shape(b))
    except ValueError:
        raise ValueError(f"{name}: the shapes of the arguments cannot be broadcast together: "
                         f"x1 has shape {np.shape(a)}, x2 has shape {np.shape(b)}") from None


def _binary(name, f, da, db):
    """A broadcasting element-wise op `f`; ``da(g, a, b, y)`` and ``db(...)`` are the
    gradients reaching each argument before the broadcast is summed away."""
    def op(x1, x2):
        a, av = _in(x1)
        b, bv = _in(x2)
        try:
            with np.errstate(**_SILENT):
                y = f(av, bv)
        except ValueError:
            _check_broadcast(name, av, bv)  # names both shapes when they do not broadcast
            raise

        def vjp(g):
            return (_unbroadcast(da(g, av, bv, y), np.shape(av)) if _need(a) else None,
                    _unbroadcast(db(g, av, bv, y), np.shape(bv)) if _need(b) else None)
        return make(y, (a, b), vjp, name)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Element-wise ``{name}`` of ``x1`` and ``x2`` with broadcasting " \
                 f"(Keras's ``keras.ops.{name}``)."
    return op


def _bcast(g, v):
    return np.broadcast_to(g, np.broadcast_shapes(g.shape, np.shape(v)))


add = _binary("add", np.add, lambda g, a, b, y: g, lambda g, a, b, y: g)
subtract = _binary("subtract", np.subtract, lambda g, a, b, y: g, lambda g, a, b, y: -g)
multiply = _binary("multiply", np.multiply, lambda g, a, b, y: g * b, lambda g, a, b, y: g * a)
divide = true_divide = _binary("divide", np.true_divide, lambda g, a, b, y: g / b,
                               lambda g, a, b, y: -g * a / (b * b))
floor_divide = _binary("floor_divide", np.floor_divide, lambda g, a, b, y: None,
                       lambda g, a, b, y: None)
mod = _binary("mod", np.mod, lambda g, a, b, y: g, lambda g, a, b, y: -g * np.floor_divide(a, b))


def _pow_db(g, a, b, y):
    return g * y * np.log(np.where(a > 0, a, 1))


power = _binary("power", np.power,
                lambda g, a, b, y: g * b * np.power(a, np.subtract(b, 1)), _pow_db)
maximum = _binary("maximum", np.maximum, lambda g, a, b, y: _bcast(g * (_arr(a) >= b), b),
                  lambda g, a, b, y: _bcast(g * (_arr(a) < b), a))
minimum = _binary("minimum", np.minimum, lambda g, a, b, y: _bcast(g * (_arr(a) <= b), b),
                  lambda g, a, b, y: _bcast(g * (_arr(a) > b), a))


def _unrecorded(name, f):
    def op(*args, **kwargs):
        return f(*[value_of(as_recorded(a)) if not isinstance(a, (list, tuple)) else a
                   for a in args], **kwargs)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Keras's ``keras.ops.{name}`` (not differentiable: records nothing)."
    return op


equal = _unrecorded("equal", np.equal)
not_equal = _unrecorded("not_equal", np.not_equal)
greater = _unrecorded("greater", np.greater)
greater_equal = _unrecorded("greater_equal", np.greater_equal)
less = _unrecorded("less", np.less)
less_equal = _unrecorded("less_equal", np.less_equal)
logical_and = _unrecorded("logical_and", np.logical_and)
logical_or = _unrecorded("logical_or", np.logical_or)
logical_not = _unrecorded("logical_not", np.logical_not)
isnan = _unrecorded("isnan", np.isnan)
isfinite = _unrecorded("isfinite", np.isfinite)
isinf = _unrecorded("isinf", np.isinf)
# int32 indices, as Keras's (NumPy's are int64)
argmax = _unrecorded("argmax", lambda x, axis=None, keepdims=False: np.argmax(
    x, axis=axis, keepdims=keepdims).astype(np.int32))
argmin = _unrecorded("argmin", lambda x, axis=None, keepdims=False: np.argmin(
    x, axis=axis, keepdims=keepdims).astype(np.int32))
any = _unrecorded("any", np.any)  # noqa: A001
all = _unrecorded("all", np.all)  # noqa: A001
