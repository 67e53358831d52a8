"""Keras's ``keras.ops`` on NumPy arrays, each op with its vector-Jacobian product: the ops
gathered from their modules (element-wise, reductions, products, shapes), plus selection,
conversion and creation, and the Python operators of recorded tensors and Variables.

Every op takes arrays, Python numbers, rnncore Variables or recorded :class:`Tensor`s, with
Keras's names, arguments and NumPy's broadcasting. Outside a recorded training step an op
returns a NumPy array; inside one, a Tensor whose node holds the op's gradient (see
``_tape``). The gradients follow TensorFlow's where a choice exists: ties of ``max``/``min``
share the gradient, ``relu``'s is 0 at 0, ``clip``'s passes at the bounds, ``maximum``'s goes
to the first argument on ties.
"""
import numpy as np

from .._config import floatx
from .._variable import Variable
from ._common import _arr, _in, _need
from ._elementwise import (  # noqa: F401
    abs, absolute, add, all, any, argmax, argmin, ceil, cos, divide, elu, equal, exp, expm1,
    floor, floor_divide, greater, greater_equal, hard_sigmoid, isfinite, isinf, isnan,
    leaky_relu, less, less_equal, linear, log, log1p, log_softmax, logical_and, logical_not,
    logical_or, maximum, minimum, mod, multiply, negative, not_equal, power, relu, relu6, round,
    rsqrt, selu, sigmoid, sign, silu, sin, softmax, softplus, softsign, sqrt, square, subtract,
    swish, tanh, true_divide)
from ._linalg import (  # noqa: F401
    dot, einsum, matmul, tensordot)
from ._reductions import (  # noqa: F401
    amax, amin, logsumexp, max, mean, min, norm, std, sum, var)
from ._shapes import (  # noqa: F401
    broadcast_to, concatenate, cumsum, expand_dims, flip, getitem, moveaxis, repeat, reshape,
    split, squeeze, stack, swapaxes, take, tile, transpose, unstack)
from ._tape import Tensor, _unbroadcast, as_recorded, is_recording, make, value_of  # noqa: F401


# ---- selection and conversion -------------------------------------------------------------
def where(condition, x1=None, x2=None):
    """Elements of ``x1`` where ``condition`` holds, of ``x2`` elsewhere (Keras's ``where``);
    with ``condition`` alone, the indices where it holds."""
    c = np.asarray(value_of(as_recorded(condition))).astype(bool)
    if x1 is None and x2 is None:
        return np.nonzero(c)
    if x1 is None or x2 is None:
        raise ValueError("where: give both x1 and x2, or neither")
    a, av = _in(x1)
    b, bv = _in(x2)
    y = np.where(c, av, bv)
    return make(y, (a, b), lambda g: (
        _unbroadcast(np.where(c, g, 0), np.shape(av)) if _need(a) else None,
        _unbroadcast(np.where(c, 0, g), np.shape(bv)) if _need(b) else None), "where")


def clip(x, x_min, x_max):
    """``x`` limited to ``[x_min, x_max]``; the gradient passes where ``x`` is inside, bounds
    included (TensorFlow's ``clip_by_value``)."""
    t, xv = _in(x)
    lo, hi = value_of(x_min), value_of(x_max)
    y = np.clip(xv, lo, hi).astype(_arr(xv).dtype, copy=False)
    return make(y, (t,), lambda g: (g * ((xv >= lo) & (xv <= hi)),), "clip")


def cast(x, dtype):
    t, xv = _in(x)
    dtype = np.dtype(dtype)
    y = _arr(xv).astype(dtype)
    source = _arr(xv).dtype
    return make(y, (t,), lambda g: (g.astype(source) if source.kind == "f" else None,), "cast")


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """An array (or, inside a recorded step, the recorded Tensor itself) of ``dtype``."""
    x = as_recorded(x)
    if isinstance(x, Tensor):
        return x if dtype is None or np.dtype(dtype) == x.dtype else cast(x, dtype)
    if dtype is None and not isinstance(x, (np.ndarray, np.generic)):
        out = np.asarray(x)
        # Python floats become floatx (float32) and ints int32, as Keras converts them
        if out.dtype == np.float64:
            return out.astype(floatx())
        return out.astype(np.int32) if out.dtype == np.int64 else out
    return np.asarray(x, dtype=None if dtype is None else np.dtype(dtype))


def convert_to_numpy(x):
    return np.array(value_of(x), copy=True)


def stop_gradient(variable):
    """The value of ``variable``, with no gradient flowing back through it."""
    return np.asarray(value_of(variable))


def shape(x):
    """The shape of ``x`` as a tuple of ints (Keras's ``keras.ops.shape``)."""
    return tuple(int(n) for n in np.shape(value_of(x)))


def ndim(x):
    return np.ndim(value_of(x))


def size(x):
    return int(np.size(value_of(x)))


def dtype(x):
    return np.asarray(value_of(x)).dtype.name


def zeros(shape, dtype=None):
    return np.zeros(shape, dtype or floatx())


def ones(shape, dtype=None):
    return np.ones(shape, dtype or floatx())


def full(shape, fill_value, dtype=None):
    return np.full(shape, value_of(fill_value), dtype or floatx())


def zeros_like(x, dtype=None):
    return np.zeros(np.shape(value_of(x)), dtype or _arr(value_of(x)).dtype)


def ones_like(x, dtype=None):
    return np.ones(np.shape(value_of(x)), dtype or _arr(value_of(x)).dtype)


def full_like(x, fill_value, dtype=None):
    return np.full(np.shape(value_of(x)), value_of(fill_value), dtype or _arr(value_of(x)).dtype)


def eye(N, M=None, k=0, dtype=None):
    return np.eye(N, M, k, dtype=dtype or floatx())


def arange(start, stop=None, step=1, dtype=None):
    """NumPy's ``arange`` in Keras's dtypes: floatx when a bound is a float, else int32."""
    if dtype is None:
        floats = any(isinstance(v, float) for v in (start, stop, step))
        dtype = floatx() if floats else np.int32
    return np.arange(start, stop, step, dtype=dtype)


def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    ids = np.asarray(value_of(x)).astype(np.int64)
    out = (ids[..., None] == np.arange(num_classes)).astype(dtype or floatx())
    return np.moveaxis(out, -1, axis) if axis != -1 else out


# ---- the Python operators on Tensors (and on Variables) -----------------------------------
def _swap(f):
    return lambda self, other: f(other, self)


OPERATORS = {
    "__add__": add, "__radd__": _swap(add), "__sub__": subtract, "__rsub__": _swap(subtract),
    "__mul__": multiply, "__rmul__": _swap(multiply), "__truediv__": divide,
    "__rtruediv__": _swap(divide), "__floordiv__": floor_divide,
    "__rfloordiv__": _swap(floor_divide), "__mod__": mod, "__rmod__": _swap(mod),
    "__pow__": power, "__rpow__": _swap(power), "__matmul__": matmul,
    "__rmatmul__": _swap(matmul), "__neg__": negative, "__pos__": lambda self: self,
    "__abs__": abs, "__getitem__": getitem, "__lt__": less, "__le__": less_equal,
    "__gt__": greater, "__ge__": greater_equal,
}
for _name, _f in OPERATORS.items():
    setattr(Tensor, _name, _f)
Tensor.astype = lambda self, dtype: cast(self, dtype)
Tensor.sum = lambda self, axis=None, dtype=None, out=None, keepdims=False, **kw: sum(
    self, axis=axis, keepdims=keepdims)
Tensor.mean = lambda self, axis=None, dtype=None, out=None, keepdims=False, **kw: mean(
    self, axis=axis, keepdims=keepdims)
Tensor.max = lambda self, axis=None, out=None, keepdims=False, **kw: max(
    self, axis=axis, keepdims=keepdims)
Tensor.min = lambda self, axis=None, out=None, keepdims=False, **kw: min(
    self, axis=axis, keepdims=keepdims)

# NumPy's ufuncs on a recorded tensor (a loss written with np.square, np.tanh, ...) run as the
# ops of the same name, so they are recorded too
_UFUNCS = {
    np.add: add, np.subtract: subtract, np.multiply: multiply, np.true_divide: divide,
    np.power: power, np.negative: negative, np.exp: exp, np.log: log, np.log1p: log1p,
    np.expm1: expm1, np.sqrt: sqrt, np.square: square, np.absolute: abs, np.tanh: tanh,
    np.sin: sin, np.cos: cos, np.sign: sign, np.maximum: maximum, np.minimum: minimum,
    np.matmul: matmul, np.floor: floor, np.ceil: ceil, np.floor_divide: floor_divide,
    np.greater: greater, np.greater_equal: greater_equal, np.less: less,
    np.less_equal: less_equal, np.equal: equal, np.not_equal: not_equal, np.isnan: isnan,
    np.isfinite: isfinite, np.logical_and: logical_and, np.logical_or: logical_or,
    np.logical_not: logical_not,
}


def _array_ufunc(self, ufunc, method, *inputs, **kwargs):
    op = _UFUNCS.get(ufunc) if method == "__call__" and not kwargs else None
    if op is None:
        raise TypeError(f"NumPy's {ufunc.__name__} ({method}) cannot be recorded on an rnncore "
                        "tensor during training; write it with rnncore.ops (as with keras.ops)")
    return op(*inputs)


Tensor.__array_ufunc__ = _array_ufunc
Tensor.reshape = lambda self, *shape: reshape(
    self, shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape)


def is_tensor(x):
    return isinstance(x, (Tensor, np.ndarray, Variable))


def recording_active():
    return is_recording()
