"""Keras's ``keras.ops`` on NumPy arrays, each op with its vector-Jacobian product.

Every op takes arrays, Python numbers, rnncore Variables or recorded :class:`Tensor`s, with
Keras's names, arguments and NumPy's broadcasting. Outside a recorded training step an op
returns a NumPy array; inside one, a Tensor whose node holds the op's gradient (see
``_tape``). The gradients follow TensorFlow's where a choice exists: ties of ``max``/``min``
share the gradient, ``relu``'s is 0 at 0, ``clip``'s passes at the bounds, ``maximum``'s goes
to the first argument on ties.
"""
import string

import numpy as np

from .._config import floatx
from .._variable import Variable
from ._tape import Tensor, as_recorded, is_recording, make, make_many, value_of, _unbroadcast


def _in(x):
    """(recorded form, NumPy value) of an op's argument."""
    x = as_recorded(x)
    if isinstance(x, Tensor):
        return x, x.value
    if isinstance(x, (list, tuple)):
        x = np.asarray([value_of(as_recorded(v)) for v in x])
    return x, x


def _arr(v):
    return v if isinstance(v, np.ndarray) else np.asarray(v)


def _need(x):
    return isinstance(x, Tensor)


# ---- element-wise: one argument ---------------------------------------------------------------
def _unary(name, f, df):
    """An element-wise op `f` whose gradient is ``df(x, y, g)``."""
    def op(x):
        t, xv = _in(x)
        xv = _float(xv)
        y = f(xv)
        return make(y, (t,), lambda g: (df(xv, y, g),), name)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Element-wise ``{name}`` of ``x`` (Keras's ``keras.ops.{name}``)."
    return op


def _float(v):
    v = _arr(v)
    return v if v.dtype.kind in "fc" else v.astype(np.float32)


def _sigmoid(x):
    # exp of -|x| only: no overflow for large inputs of either sign
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def _softplus(x):
    return np.logaddexp(np.zeros((), x.dtype), x)


exp = _unary("exp", np.exp, lambda x, y, g: g * y)
log = _unary("log", np.log, lambda x, y, g: g / x)
log1p = _unary("log1p", np.log1p, lambda x, y, g: g / (1 + x))
expm1 = _unary("expm1", np.expm1, lambda x, y, g: g * (y + 1))
sqrt = _unary("sqrt", np.sqrt, lambda x, y, g: g / (2 * y))
rsqrt = _unary("rsqrt", lambda x: 1 / np.sqrt(x), lambda x, y, g: g * (-0.5) * y ** 3)
square = _unary("square", np.square, lambda x, y, g: g * 2 * x)
abs = absolute = _unary("abs", np.abs, lambda x, y, g: g * np.sign(x))  # noqa: A001
negative = _unary("negative", np.negative, lambda x, y, g: -g)
sign = _unary("sign", np.sign, lambda x, y, g: np.zeros_like(g))
floor = _unary("floor", np.floor, lambda x, y, g: np.zeros_like(g))
ceil = _unary("ceil", np.ceil, lambda x, y, g: np.zeros_like(g))
round = _unary("round", np.round, lambda x, y, g: np.zeros_like(g))  # noqa: A001
sin = _unary("sin", np.sin, lambda x, y, g: g * np.cos(x))
cos = _unary("cos", np.cos, lambda x, y, g: -g * np.sin(x))
tanh = _unary("tanh", np.tanh, lambda x, y, g: g * (1 - y * y))
sigmoid = _unary("sigmoid", _sigmoid, lambda x, y, g: g * y * (1 - y))
relu = _unary("relu", lambda x: np.maximum(x, 0), lambda x, y, g: g * (x > 0))
relu6 = _unary("relu6", lambda x: np.clip(x, 0, 6), lambda x, y, g: g * ((x > 0) & (x < 6)))
softplus = _unary("softplus", _softplus, lambda x, y, g: g * _sigmoid(x))
softsign = _unary("softsign", lambda x: x / (1 + np.abs(x)),
                  lambda x, y, g: g / (1 + np.abs(x)) ** 2)
silu = swish = _unary("silu", lambda x: x * _sigmoid(x),
                      lambda x, y, g: g * (_sigmoid(x) * (1 + x * (1 - _sigmoid(x)))))
elu = _unary("elu", lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
             lambda x, y, g: g * np.where(x > 0, 1, y + 1))
# Keras 3's hard_sigmoid: relu6(x + 3) / 6
hard_sigmoid = _unary("hard_sigmoid", lambda x: np.clip(x + 3, 0, 6) / 6,
                      lambda x, y, g: g * ((x > -3) & (x < 3)) / 6)
linear = _unary("linear", lambda x: x, lambda x, y, g: g)


def leaky_relu(x, negative_slope=0.2):
    """Keras's ``leaky_relu``: ``x`` where positive, ``negative_slope * x`` elsewhere."""
    t, xv = _in(x)
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


def logsumexp(x, axis=None, keepdims=False):
    t, xv = _in(x)
    m = np.max(xv, axis=axis, keepdims=True)
    s = np.log(np.sum(np.exp(xv - m), axis=axis, keepdims=True)) + m
    y = s if keepdims else np.squeeze(s, axis=axis) if axis is not None else s.reshape(())
    return make(y, (t,), lambda g: (_grow(g, xv.shape, axis, keepdims) * np.exp(xv - s),),
                "logsumexp")


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
argmax = _unrecorded("argmax", lambda x, axis=None, keepdims=False: np.argmax(
    x, axis=axis, keepdims=keepdims))
argmin = _unrecorded("argmin", lambda x, axis=None, keepdims=False: np.argmin(
    x, axis=axis, keepdims=keepdims))
any = _unrecorded("any", np.any)  # noqa: A001
all = _unrecorded("all", np.all)  # noqa: A001


# ---- reductions -------------------------------------------------------------------------------
def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    return tuple(sorted(a % ndim for a in axes))


def _grow(g, shape, axis, keepdims):
    """A reduction's output gradient `g` put back on the reduced axes of `shape`."""
    if not keepdims:
        g = np.expand_dims(g, _axes(axis, len(shape)))
    return np.broadcast_to(g, shape)


def _count(shape, axis):
    return int(np.prod([shape[a] for a in _axes(axis, len(shape))], dtype=np.int64))


def sum(x, axis=None, keepdims=False):  # noqa: A001
    """Sum over ``axis`` (all axes when None), Keras's ``keras.ops.sum``."""
    t, xv = _in(x)
    y = np.sum(xv, axis=_tuple(axis), keepdims=keepdims)
    return make(y, (t,), lambda g: (np.array(_grow(g, xv.shape, axis, keepdims)),), "sum")


def _tuple(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def mean(x, axis=None, keepdims=False):
    t, xv = _in(x)
    xv = _float(xv)
    y = np.mean(xv, axis=_tuple(axis), keepdims=keepdims)
    n = xv.dtype.type(_count(xv.shape, axis))
    return make(y, (t,), lambda g: (np.array(_grow(g, xv.shape, axis, keepdims)) / n,), "mean")


def _extreme(name, f):
    def op(x, axis=None, keepdims=False, initial=None):
        t, xv = _in(x)
        y = f(xv, axis=_tuple(axis), keepdims=keepdims,
              **({} if initial is None else {"initial": initial}))

        def vjp(g):
            hit = (xv == _grow(y, xv.shape, axis, keepdims)).astype(g.dtype)
            # ties share the gradient, as TensorFlow's reduce_max does
            ties = np.sum(hit, axis=_axes(axis, xv.ndim), keepdims=True)
            return (hit * _grow(g, xv.shape, axis, keepdims) / ties,)
        return make(y, (t,), vjp, name)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Keras's ``keras.ops.{name}`` over ``axis``; tied extremes share the gradient."
    return op


max = amax = _extreme("max", np.max)  # noqa: A001
min = amin = _extreme("min", np.min)  # noqa: A001


def var(x, axis=None, keepdims=False):
    t, xv = _in(x)
    xv = _float(xv)
    m = np.mean(xv, axis=_tuple(axis), keepdims=True)
    y = np.mean((xv - m) ** 2, axis=_tuple(axis), keepdims=keepdims)
    n = xv.dtype.type(_count(xv.shape, axis))
    return make(y, (t,), lambda g: (_grow(g, xv.shape, axis, keepdims) * 2 * (xv - m) / n,),
                "var")


def std(x, axis=None, keepdims=False):
    return sqrt(var(x, axis=axis, keepdims=keepdims))


def norm(x, ord=None, axis=None, keepdims=False):
    """The Euclidean (Frobenius) norm over ``axis``; other ``ord`` values are not offered."""
    if ord not in (None, 2, "fro", "euclidean"):
        raise NotImplementedError(f"rnncore.ops.norm supports the Euclidean norm only; got "
                                  f"ord={ord!r}")
    return sqrt(sum(square(x), axis=axis, keepdims=keepdims))


# ---- linear algebra ---------------------------------------------------------------------------
def matmul(x1, x2):
    """Matrix product with NumPy's (and Keras's) broadcasting of leading dimensions."""
    a, av = _in(x1)
    b, bv = _in(x2)
    av, bv = _arr(av), _arr(bv)
    if av.ndim == 0 or bv.ndim == 0:
        raise ValueError(f"matmul: the arguments must have at least one dimension, got shapes "
                         f"{av.shape} and {bv.shape}")
    if av.shape[-1] != bv.shape[-2 if bv.ndim > 1 else 0]:
        raise ValueError(f"matmul: the last dimension of x1 (shape {av.shape}) must equal the "
                         f"{'second-to-last' if bv.ndim > 1 else 'only'} dimension of x2 (shape "
                         f"{bv.shape})")
    y = np.matmul(av, bv)

    def vjp(g):
        a2 = av[None, :] if av.ndim == 1 else av
        b2 = bv[:, None] if bv.ndim == 1 else bv
        g2 = g
        if av.ndim == 1:
            g2 = np.expand_dims(g2, -2 if bv.ndim > 1 else 0)
        if bv.ndim == 1:
            g2 = g2[..., None]
        da = db = None
        if _need(a):
            da = _unbroadcast(np.matmul(g2, np.swapaxes(b2, -1, -2)), a2.shape).reshape(av.shape)
        if _need(b):
            db = _unbroadcast(np.matmul(np.swapaxes(a2, -1, -2), g2), b2.shape).reshape(bv.shape)
        return da, db
    return make(y, (a, b), vjp, "matmul")


def dot(x1, x2):
    """NumPy's ``dot``: a matrix product for up to 2-D, else a sum over the last axis of ``x1``
    and the second-to-last of ``x2``."""
    av, bv = np.shape(value_of(x1)), np.shape(value_of(x2))
    if len(av) == 0 or len(bv) == 0:
        return multiply(x1, x2)
    if len(av) <= 2 and len(bv) <= 2:
        return matmul(x1, x2)
    return tensordot(x1, x2, axes=([len(av) - 1], [len(bv) - 2 if len(bv) > 1 else 0]))


def tensordot(x1, x2, axes=2):
    na, nb = np.ndim(value_of(x1)), np.ndim(value_of(x2))
    if isinstance(axes, (int, np.integer)):
        ax_a, ax_b = list(range(na - axes, na)), list(range(axes))
    else:
        ax_a, ax_b = axes
        ax_a = [ax_a] if isinstance(ax_a, (int, np.integer)) else list(ax_a)
        ax_b = [ax_b] if isinstance(ax_b, (int, np.integer)) else list(ax_b)
    letters = iter(string.ascii_letters)
    sa = [next(letters) for _ in range(na)]
    sb = [next(letters) for _ in range(nb)]
    for i, j in zip(ax_a, ax_b):
        sb[j % nb] = sa[i % na]
    contracted = {sa[i % na] for i in ax_a}
    out = [c for c in sa if c not in contracted] + [c for c in sb if c not in contracted]
    return einsum(f"{''.join(sa)},{''.join(sb)}->{''.join(out)}", x1, x2)


def _parse_einsum(subscripts, shapes):
    """Explicit subscripts with letters for the ellipses: ([per operand], output)."""
    subscripts = subscripts.replace(" ", "")
    inputs, _, output = subscripts.partition("->")
    parts = inputs.split(",")
    if len(parts) != len(shapes):
        raise ValueError(f"einsum: the subscripts {subscripts!r} name {len(parts)} operands, got "
                         f"{len(shapes)}")
    free = [c for c in string.ascii_letters if c not in subscripts]
    ell = 0
    for p, s in zip(parts, shapes):
        if "..." in p:
            ell = np.maximum(ell, len(s) - (len(p) - 3))
    ell_letters = "".join(free[:ell])
    parts = [p.replace("...", ell_letters[ell - (len(s) - (len(p) - 3)):]) if "..." in p else p
             for p, s in zip(parts, shapes)]
    if "->" not in subscripts:
        counts = {}
        for c in "".join(parts):
            counts[c] = counts.get(c, 0) + 1
        output = ell_letters + "".join(sorted(c for c, n in counts.items()
                                              if n == 1 and c not in ell_letters))
    else:
        output = output.replace("...", ell_letters)
    return parts, output


def einsum(subscripts, *operands):
    """Keras's ``einsum``: Einstein summation over ``operands`` as ``subscripts`` say."""
    ins = [_in(x) for x in operands]
    vals = [_arr(v) for _, v in ins]
    parts, output = _parse_einsum(subscripts, [v.shape for v in vals])
    try:
        y = np.einsum(f"{','.join(parts)}->{output}", *vals)
    except ValueError as exc:
        raise ValueError(f"einsum {subscripts!r}: operands of shapes "
                         f"{[v.shape for v in vals]} do not fit ({exc})") from None

    def vjp(g):
        grads = []
        for k, (t, _) in enumerate(ins):
            if not _need(t):
                grads.append(None)
                continue
            if len(set(parts[k])) != len(parts[k]):
                raise NotImplementedError(f"rnncore.ops.einsum: no gradient for an operand "
                                          f"with a repeated index ({subscripts!r})")
            others = [(parts[i], vals[i]) for i in range(len(vals)) if i != k]
            seen = set(output).union(*[set(p) for p, _ in others])
            target = "".join(c for c in parts[k] if c in seen)
            spec = ",".join([output] + [p for p, _ in others]) + "->" + target
            d = np.einsum(spec, g, *[v for _, v in others])
            if target != parts[k]:  # indices summed within this operand alone
                d = np.expand_dims(d, tuple(i for i, c in enumerate(parts[k]) if c not in seen))
                d = np.broadcast_to(d, vals[k].shape).copy()
            grads.append(d)
        return grads
    return make(y, [t for t, _ in ins], vjp, "einsum")


# ---- shapes -----------------------------------------------------------------------------------
def reshape(x, newshape):
    t, xv = _in(x)
    y = np.reshape(xv, newshape)
    return make(y, (t,), lambda g: (np.reshape(g, np.shape(xv)),), "reshape")


def transpose(x, axes=None):
    t, xv = _in(x)
    y = np.transpose(xv, axes)
    inverse = None if axes is None else np.argsort([a % np.ndim(xv) for a in axes])
    return make(y, (t,), lambda g: (np.transpose(g, inverse),), "transpose")


def swapaxes(x, axis1, axis2):
    t, xv = _in(x)
    return make(np.swapaxes(xv, axis1, axis2), (t,),
                lambda g: (np.swapaxes(g, axis1, axis2),), "swapaxes")


def moveaxis(x, source, destination):
    t, xv = _in(x)
    return make(np.moveaxis(xv, source, destination), (t,),
                lambda g: (np.moveaxis(g, destination, source),), "moveaxis")


def expand_dims(x, axis):
    t, xv = _in(x)
    return make(np.expand_dims(xv, axis), (t,), lambda g: (np.reshape(g, np.shape(xv)),),
                "expand_dims")


def squeeze(x, axis=None):
    t, xv = _in(x)
    return make(np.squeeze(xv, axis=_tuple(axis)), (t,),
                lambda g: (np.reshape(g, np.shape(xv)),), "squeeze")


def broadcast_to(x, shape):
    t, xv = _in(x)
    return make(np.broadcast_to(xv, shape).copy(), (t,),
                lambda g: (_unbroadcast(g, np.shape(xv)),), "broadcast_to")


def _many(xs, name):
    if not isinstance(xs, (list, tuple)) or len(xs) == 0:
        raise ValueError(f"{name}: expected a non-empty list of tensors, got {xs!r}")
    ins = [_in(x) for x in xs]
    return [t for t, _ in ins], [_arr(v) for _, v in ins]


def concatenate(xs, axis=0):
    ts, vs = _many(xs, "concatenate")
    try:
        y = np.concatenate(vs, axis=axis)
    except ValueError:
        raise ValueError(f"concatenate: along axis={axis} the other dimensions must match; got "
                         f"shapes {[v.shape for v in vs]}") from None
    bounds = np.cumsum([v.shape[axis] for v in vs])[:-1]
    return make(y, ts, lambda g: np.split(g, bounds, axis=axis), "concatenate")


def stack(x, axis=0):
    ts, vs = _many(x, "stack")
    try:
        y = np.stack(vs, axis=axis)
    except ValueError:
        raise ValueError(f"stack: all tensors must have the same shape; got "
                         f"{[v.shape for v in vs]}") from None
    return make(y, ts, lambda g: [np.take(g, i, axis=axis) for i in range(len(vs))], "stack")


def unstack(x, num=None, axis=0):
    """The slices of ``x`` along ``axis``, as one recorded op (a custom cell's timesteps)."""
    t, xv = _in(x)
    ys = list(np.moveaxis(_arr(xv), axis, 0))

    def vjp(gs):
        gs = gs if isinstance(gs, list) else [gs]
        return (np.stack([np.zeros_like(y) if g is None else g for g, y in zip(gs, ys)],
                         axis=axis),)
    if len(ys) == 1:
        return [make(ys[0], (t,), lambda g: (np.expand_dims(g, axis),), "unstack")]
    return make_many(ys, (t,), vjp, "unstack")


def split(x, indices_or_sections, axis=0):
    t, xv = _in(x)
    ys = np.split(xv, indices_or_sections, axis=axis)

    def vjp(gs):
        gs = gs if isinstance(gs, list) else [gs]
        return (np.concatenate([np.zeros_like(y) if g is None else g for g, y in zip(gs, ys)],
                               axis=axis),)
    if len(ys) == 1:
        return [make(ys[0], (t,), lambda g: (g,), "split")]
    return make_many(ys, (t,), vjp, "split")


def _basic_index(key):
    keys = key if isinstance(key, tuple) else (key,)
    return builtins_all(isinstance(k, (slice, int, np.integer, type(None), type(Ellipsis)))
                        for k in keys)


builtins_all = __builtins__["all"] if isinstance(__builtins__, dict) else __builtins__.all


def getitem(x, key):
    """``x[key]`` (Python's indexing and NumPy's slicing)."""
    t, xv = _in(x)
    key = tuple(value_of(k) for k in key) if isinstance(key, tuple) else value_of(key)
    y = np.asarray(xv)[key]

    def vjp(g):
        d = np.zeros(np.shape(xv), g.dtype)
        if _basic_index(key):
            d[key] = g
        else:
            np.add.at(d, key, g)
        return (d,)
    return make(y, (t,), vjp, "getitem")


def take(x, indices, axis=None):
    t, xv = _in(x)
    idx = np.asarray(value_of(indices)).astype(np.int64)
    y = np.take(xv, idx, axis=axis)

    def vjp(g):
        d = np.zeros(np.size(xv) if axis is None else np.shape(xv), g.dtype)
        if axis is None:
            np.add.at(d, idx.ravel(), g.ravel())
            return (d.reshape(np.shape(xv)),)
        ax = axis % np.ndim(xv)
        dm = np.moveaxis(d, ax, 0)
        gm = np.moveaxis(g, tuple(range(ax, ax + idx.ndim)), tuple(range(idx.ndim)))
        np.add.at(dm, idx, gm)
        return (d,)
    return make(y, (t,), vjp, "take")


def tile(x, repeats):
    t, xv = _in(x)
    y = np.tile(xv, repeats)
    shape = np.shape(xv)

    def vjp(g):
        reps = (repeats,) if isinstance(repeats, (int, np.integer)) else tuple(repeats)
        full = (1,) * (g.ndim - len(shape)) + tuple(shape)
        reps = (1,) * (g.ndim - len(reps)) + reps
        g = g.reshape([n for pair in zip(reps, full) for n in pair])
        g = g.sum(axis=tuple(range(0, 2 * g.ndim // 2, 2)))
        return (g.reshape(shape),)
    return make(y, (t,), vjp, "tile")


def repeat(x, repeats, axis=None):
    t, xv = _in(x)
    y = np.repeat(xv, repeats, axis=axis)

    def vjp(g):
        if axis is None:
            idx = np.repeat(np.arange(np.size(xv)), repeats)
            d = np.zeros(np.size(xv), g.dtype)
            np.add.at(d, idx, g.ravel())
            return (d.reshape(np.shape(xv)),)
        idx = np.repeat(np.arange(np.shape(xv)[axis]), repeats)
        d = np.zeros(np.shape(xv), g.dtype)
        np.add.at(np.moveaxis(d, axis, 0), idx, np.moveaxis(g, axis, 0))
        return (d,)
    return make(y, (t,), vjp, "repeat")


def flip(x, axis=None):
    t, xv = _in(x)
    return make(np.flip(xv, axis=axis), (t,), lambda g: (np.flip(g, axis=axis),), "flip")


def cumsum(x, axis=None, dtype=None):
    t, xv = _in(x)
    if axis is None:
        y = np.cumsum(np.ravel(xv))
        return make(y, (t,), lambda g: (np.flip(np.cumsum(np.flip(g))).reshape(np.shape(xv)),),
                    "cumsum")
    y = np.cumsum(xv, axis=axis)
    return make(y, (t,), lambda g: (np.flip(np.cumsum(np.flip(g, axis), axis), axis),), "cumsum")


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
