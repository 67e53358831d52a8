"""The element-wise ops of ``keras.ops.numpy`` and ``keras.ops.math`` beyond the basic ones:
inverse and hyperbolic trigonometry, special functions, two-argument float maths, complex
parts of real arrays, predicates and bitwise integer ops.

Float ops compute in Keras's dtype (an integer or bool input becomes floatx, ``cbrt`` and
``i0`` widen int64 to float64 as Keras's TensorFlow backend does) and record their gradient;
predicates, integer and bitwise ops record nothing, as their Keras twins have no gradient.
"""
import math

import numpy as np
from scipy import special

from ._dtypes import float_dtype, is_python_number, keras_in, result_dtype
from ._elementwise import _SILENT, _check_broadcast
from ._tape import _unbroadcast, as_recorded, make, value_of


# ---- one argument, float result -------------------------------------------------------------
def _float_unary(name, f, df, wide_int64=False, doc=None):
    """An element-wise float op `f` whose gradient is ``df(x, y, g)``; `wide_int64`: int64
    input computes in float64 (Keras's ``cbrt`` and ``i0``)."""
    def op(x):
        t, xv = keras_in(x)
        dtype = np.dtype(np.float64) if wide_int64 and xv.dtype == np.int64 \
            else float_dtype(xv.dtype)
        xv = xv.astype(dtype, copy=False)
        with np.errstate(**_SILENT):
            y = np.asarray(f(xv)).astype(dtype, copy=False)
        return make(y, (t,), lambda g: (np.asarray(df(xv, y, g)).astype(g.dtype, copy=False),),
                    name)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc or f"Element-wise ``{name}`` of ``x`` in a float dtype (Keras's " \
                        f"``keras.ops.{name}``: integers become floatx)."
    return op


arccos = _float_unary("arccos", np.arccos, lambda x, y, g: -g / np.sqrt(1 - x * x))
arccosh = _float_unary("arccosh", np.arccosh, lambda x, y, g: g / np.sqrt(x * x - 1))
arcsin = _float_unary("arcsin", np.arcsin, lambda x, y, g: g / np.sqrt(1 - x * x))
arcsinh = _float_unary("arcsinh", np.arcsinh, lambda x, y, g: g / np.sqrt(x * x + 1))
arctan = _float_unary("arctan", np.arctan, lambda x, y, g: g / (1 + x * x))
arctanh = _float_unary("arctanh", np.arctanh, lambda x, y, g: g / (1 - x * x))
cosh = _float_unary("cosh", np.cosh, lambda x, y, g: g * np.sinh(x))
sinh = _float_unary("sinh", np.sinh, lambda x, y, g: g * np.cosh(x))
tan = _float_unary("tan", np.tan, lambda x, y, g: g * (1 + y * y))
cbrt = _float_unary("cbrt", np.cbrt, lambda x, y, g: g / (3 * y * y), wide_int64=True)
deg2rad = _float_unary("deg2rad", np.deg2rad, lambda x, y, g: g * (math.pi / 180),
                       wide_int64=True)
rad2deg = _float_unary("rad2deg", np.rad2deg, lambda x, y, g: g * (180 / math.pi),
                       wide_int64=True)
erfc = _float_unary("erfc", special.erfc,
                    lambda x, y, g: -g * (2 / math.sqrt(math.pi)) * np.exp(-x * x))
erfinv = _float_unary("erfinv", special.erfinv,
                      lambda x, y, g: g * (math.sqrt(math.pi) / 2) * np.exp(y * y))
exp2 = _float_unary("exp2", np.exp2, lambda x, y, g: g * y * math.log(2))
fabs = _float_unary("fabs", np.fabs, lambda x, y, g: g * np.sign(x))
i0 = _float_unary("i0", special.i0, lambda x, y, g: g * special.i1(x), wide_int64=True)
# sinc's derivative, (cos(πx) - sinc(x)) / x, is 0 at x = 0 (TensorFlow's where there)
sinc = _float_unary("sinc", np.sinc, lambda x, y, g: g * np.where(
    x == 0, 0, (np.cos(math.pi * x) - y) / np.where(x == 0, 1, x)))
angle = _float_unary("angle", np.angle, lambda x, y, g: np.zeros_like(g),
                     doc="The argument of complex ``x`` (0 or π for real ``x``), in a float "
                         "dtype (Keras's ``keras.ops.angle``).")


def _same_dtype_unary(name, f, df, doc):
    def op(x):
        t, xv = keras_in(x)
        y = np.asarray(f(xv))
        return make(y, (t,), lambda g: (df(g),), name)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


copy = _same_dtype_unary("copy", np.array, lambda g: g, "A copy of ``x``; the gradient passes.")
# integers and bools come back as they are (Keras's trunc); the gradient is zero
trunc = _same_dtype_unary("trunc", np.trunc, np.zeros_like,
                          "``x`` rounded toward zero; integers come back unchanged.")
real = _same_dtype_unary("real", np.real, lambda g: g, "The real part of ``x``.")
conj = conjugate = _same_dtype_unary("conj", np.conj, lambda g: g,
                                     "The complex conjugate of ``x`` (``x`` when real).")


def imag(x):
    """The imaginary part of ``x`` (zeros of ``x``'s dtype when real)."""
    return np.imag(np.asarray(value_of(as_recorded(x))))


# ---- two arguments, float result -------------------------------------------------------------
def _float_binary(name, f, da, db, doc=None):
    """A broadcasting float op `f`; ``da(g, a, b, y)`` and ``db(...)`` are the gradients
    reaching each argument before the broadcast is summed away."""
    def op(x1, x2):
        a, av = keras_in(x1)
        b, bv = keras_in(x2)
        dtype = float_dtype(result_dtype(x1, x2))
        av, bv = av.astype(dtype, copy=False), bv.astype(dtype, copy=False)
        _check_broadcast(name, av, bv)
        with np.errstate(**_SILENT):
            y = np.asarray(f(av, bv)).astype(dtype, copy=False)

        def vjp(g):
            with np.errstate(**_SILENT):
                return (_unbroadcast(np.asarray(da(g, av, bv, y), g.dtype), av.shape),
                        _unbroadcast(np.asarray(db(g, av, bv, y), g.dtype), bv.shape))
        return make(y, (a, b), vjp, name)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc or f"Element-wise ``{name}`` of ``x1`` and ``x2`` with broadcasting, in " \
                        f"a float dtype (Keras's ``keras.ops.{name}``)."
    return op


def _bcast(g, v):
    return np.broadcast_to(g, np.broadcast_shapes(np.shape(g), np.shape(v)))


arctan2 = _float_binary("arctan2", np.arctan2, lambda g, a, b, y: g * b / (a * a + b * b),
                        lambda g, a, b, y: -g * a / (a * a + b * b))
hypot = _float_binary("hypot", np.hypot, lambda g, a, b, y: g * a / y,
                      lambda g, a, b, y: g * b / y)
logaddexp = _float_binary("logaddexp", np.logaddexp, lambda g, a, b, y: g * np.exp(a - y),
                          lambda g, a, b, y: g * np.exp(b - y))
logaddexp2 = _float_binary("logaddexp2", np.logaddexp2, lambda g, a, b, y: g * np.exp2(a - y),
                           lambda g, a, b, y: g * np.exp2(b - y))


def _no_nan_divide(a, b):
    return np.where(b == 0, 0, a / np.where(b == 0, 1, b))


divide_no_nan = _float_binary(
    "divide_no_nan", _no_nan_divide, lambda g, a, b, y: _bcast(_no_nan_divide(g, b), a),
    lambda g, a, b, y: -g * _no_nan_divide(y, b),
    doc="``x1 / x2``, and 0 where ``x2`` is 0 (Keras's ``keras.ops.divide_no_nan``).")


def fmod(x1, x2):
    """The remainder of ``x1 / x2`` with the sign of ``x1`` (C's fmod), in the dtype of the
    arguments (integers stay integers)."""
    a, av = keras_in(x1)
    b, bv = keras_in(x2)
    dtype = result_dtype(x1, x2)
    dtype = np.dtype(np.int32) if dtype == bool else dtype
    av, bv = av.astype(dtype, copy=False), bv.astype(dtype, copy=False)
    _check_broadcast("fmod", av, bv)
    with np.errstate(**_SILENT):
        y = np.fmod(av, bv)
    if dtype.kind not in "fc":
        return y
    return make(y, (a, b), lambda g: (
        _unbroadcast(_bcast(g, bv), av.shape),
        _unbroadcast(-g * np.trunc(av / bv), bv.shape)), "fmod")


def heaviside(x1, x2):
    """The Heaviside step of ``x1``: 0 below zero, 1 above, ``x2`` at zero. Integer
    arguments give floatx (int64 gives float64), as Keras's; the gradient reaches ``x2``
    where ``x1`` is zero."""
    a, av = keras_in(x1)
    b, bv = keras_in(x2)
    dtype = result_dtype(x1, x2)
    dtype = np.dtype(np.float64) if dtype == np.int64 else float_dtype(dtype)
    av, bv = av.astype(dtype, copy=False), bv.astype(dtype, copy=False)
    _check_broadcast("heaviside", av, bv)
    y = np.heaviside(av, bv).astype(dtype, copy=False)
    return make(y, (a, b), lambda g: (
        None, _unbroadcast(np.where(av == 0, g, 0).astype(g.dtype), bv.shape)), "heaviside")


def ldexp(x1, x2):
    """``x1 * 2**x2`` for an integer exponent ``x2`` (Keras's ``keras.ops.ldexp``)."""
    a, av = keras_in(x1)
    _, bv = keras_in(x2)
    if bv.dtype.kind not in "iu":
        raise TypeError(f"ldexp exponent must be an integer type. Received: x2 "
                        f"dtype={bv.dtype.name}")
    dtype = float_dtype(result_dtype(x1, x2))
    _check_broadcast("ldexp", av, bv)
    scale = np.exp2(bv.astype(dtype))
    y = np.ldexp(av.astype(dtype), bv.astype(np.int32)).astype(dtype, copy=False)
    return make(y, (a, None), lambda g: (_unbroadcast(g * scale, av.shape), None), "ldexp")


def _nan_skipping(name, extreme):
    """``fmax`` / ``fmin``: ``maximum`` / ``minimum`` (`extreme`), and the other argument
    where exactly one is NaN."""
    def op(x1, x2):
        from . import _core as o  # (_core does not import this module)

        dtype = result_dtype(x1, x2)
        a, b = o.cast(x1, dtype), o.cast(x2, dtype)
        out = getattr(o, extreme)(a, b)
        if dtype.kind != "f":
            return out
        nan_a, nan_b = np.isnan(keras_in(a)[1]), np.isnan(keras_in(b)[1])
        out = o.where(nan_a & ~nan_b, b, out)
        return o.where(nan_b & ~nan_a, a, out)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = (f"Element-wise {extreme} of ``x1`` and ``x2`` that skips NaNs: the other "
                  f"argument where one is NaN (Keras's ``keras.ops.{name}``).")
    return op


fmax = _nan_skipping("fmax", "maximum")
fmin = _nan_skipping("fmin", "minimum")


# ---- predicates and integer ops: no gradient ---------------------------------------------
def _plain(name, f, doc, integers=False):
    def op(*args, **kwargs):
        # Python numbers stay weak: `bitwise_and(x, 3)` keeps x's dtype
        values = [a if is_python_number(a) else keras_in(a)[1] for a in args]
        if integers:
            for v in values:
                if np.asarray(v).dtype.kind not in "biu":
                    raise TypeError(f"Arguments to {name} must be integers. Received: "
                                    f"dtype={np.asarray(v).dtype.name}")
        if len(values) == 2:
            _check_broadcast(name, *values)
        return f(*values, **kwargs)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc + f" (Keras's ``keras.ops.{name}``; records no gradient)."
    return op


signbit = _plain("signbit", np.signbit, "Whether the sign bit of each entry is set")
isneginf = _plain("isneginf", np.isneginf, "Whether each entry is -inf")
isposinf = _plain("isposinf", np.isposinf, "Whether each entry is +inf")
isreal = _plain("isreal", np.isreal, "Whether each entry has no imaginary part")
logical_xor = _plain("logical_xor", np.logical_xor, "Element-wise exclusive or")
isclose = _plain("isclose", np.isclose,
                 "Whether ``|x1 - x2| <= atol + rtol * |x2|``, element-wise")


def allclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """Whether every entry of ``x1`` is close to ``x2``'s (:func:`isclose` everywhere)."""
    return np.all(isclose(x1, x2, rtol=rtol, atol=atol, equal_nan=equal_nan))


def nextafter(x1, x2):
    """The next float64 after ``x1`` toward ``x2``, given in the arguments' float dtype (as
    Keras's TensorFlow backend computes it: a float32 ``x1`` mostly comes back unchanged)."""
    _, av = keras_in(x1)
    _, bv = keras_in(x2)
    dtype = float_dtype(result_dtype(x1, x2))
    return np.nextafter(av.astype(np.float64), bv.astype(np.float64)).astype(dtype)


gcd = _plain("gcd", np.gcd, "The greatest common divisor of integers", integers=True)
lcm = _plain("lcm", np.lcm, "The least common multiple of integers", integers=True)
bitwise_and = _plain("bitwise_and", np.bitwise_and, "Bitwise and of integers", integers=True)
bitwise_or = _plain("bitwise_or", np.bitwise_or, "Bitwise or of integers", integers=True)
bitwise_xor = _plain("bitwise_xor", np.bitwise_xor, "Bitwise xor of integers", integers=True)
bitwise_invert = bitwise_not = _plain("bitwise_invert", np.invert, "Bitwise not of integers",
                                      integers=True)
bitwise_left_shift = left_shift = _plain("bitwise_left_shift", np.left_shift,
                                         "``x`` shifted left by ``y`` bits", integers=True)
bitwise_right_shift = right_shift = _plain("bitwise_right_shift", np.right_shift,
                                           "``x`` shifted right by ``y`` bits", integers=True)
