"""Keras's ``keras.ops`` on rnncore: what a custom layer's ``call``, a custom RNN cell, a loss or
a metric computes with.

Keras's names, arguments and NumPy's broadcasting. The ops take NumPy arrays, Python numbers,
rnncore Variables (which also take part in ``+ - * / @ **`` and indexing) and the tensors of a
recorded training step. During ``fit`` the arrays flowing through a custom ``call`` record the
ops that made them, and the backward pass replays that record in reverse with each op's
vector-Jacobian product (built-in layers called inside use their own fused backward); in
``predict``, ``evaluate`` and eager calls nothing is recorded and the ops return NumPy arrays.

rnncore's whole-layer recurrent functions (``lstm_forward``, ...) live in
:mod:`rnncore.recurrent`; their old names here still resolve, with a DeprecationWarning.

Example::

    from rnncore import ops
    ops.softmax(ops.matmul(q, ops.transpose(k, (0, 2, 1))), axis=-1)   # (batch, Tq, Tk)
"""
import importlib
import warnings

from . import linalg, nn  # noqa: F401  (Keras's submodules; numpy at the end)
from ._symbolic import wrap_namespace
from ._core import (  # noqa: F401  (the public names are listed in __all__)
    abs, absolute, add, all, amax, amin, any, arange, argmax, argmin, broadcast_to, cast, ceil,
    clip, concatenate, convert_to_numpy, convert_to_tensor, cos, cumsum, divide, dot, dtype, einsum,
    elu, equal, exp, expand_dims, expm1, eye, flip, floor, floor_divide, full, full_like,
    greater, greater_equal, hard_sigmoid, is_tensor, isfinite, isinf, isnan, leaky_relu, less,
    less_equal, log, log1p, log_softmax, logical_and, logical_not, logical_or, logsumexp,
    matmul, max, maximum, mean, min, minimum, mod, moveaxis, multiply, ndim, negative, norm,
    not_equal, one_hot, ones, ones_like, power, relu, relu6, repeat, reshape, round, rsqrt, selu,
    shape, sigmoid, sign, silu, sin, size, softmax, softplus, softsign, split, sqrt, square,
    squeeze, stack, std, stop_gradient, subtract, sum, swapaxes, swish, take, tanh, tensordot,
    tile, transpose, true_divide, unstack, var, where, zeros, zeros_like)
from ._arrays import hstack, linspace, nan_to_num, vstack  # noqa: F401
from ._conv import conv, conv_transpose, depthwise_conv, separable_conv  # noqa: F401
from ._control import cond, fori_loop, while_loop  # noqa: F401
from ._ctc import ctc_loss  # noqa: F401
from ._ctc_decode import ctc_decode  # noqa: F401
from ._math import segment_sum, top_k  # noqa: F401
from ._nn import (binary_crossentropy, categorical_crossentropy,  # noqa: F401
                  dot_product_attention, moments, sparse_categorical_crossentropy)
from ._pooling import (adaptive_average_pool, adaptive_max_pool,  # noqa: F401
                       average_pool, max_pool)
from ._more import (argsort, erf, gelu, log10, log2, log_sigmoid, outer, pad,  # noqa: F401
                    prod, reciprocal, slice, sort, take_along_axis, tril, triu)
from ._elementwise_more import (  # noqa: F401
    allclose, angle, arccos, arccosh, arcsin, arcsinh, arctan, arctan2, arctanh, bitwise_and,
    bitwise_invert, bitwise_left_shift, bitwise_not, bitwise_or, bitwise_right_shift,
    bitwise_xor, cbrt, conj, conjugate, copy, cosh, deg2rad, divide_no_nan, erfc, erfinv, exp2,
    fabs, fmax, fmin, fmod, gcd, heaviside, hypot, i0, imag, isclose, isneginf, isposinf,
    isreal, lcm, ldexp, left_shift, logaddexp, logaddexp2, logical_xor, nextafter, rad2deg,
    real, right_shift, signbit, sinc, sinh, tan, trunc)
from ._nn_more import (  # noqa: F401
    batch_normalization, celu, depth_to_space, fold, glu, hard_shrink, hard_silu, hard_swish,
    hard_tanh, layer_normalization, multi_hot, normalize, polar, psnr, rms_normalization,
    soft_shrink, space_to_depth, sparse_plus, sparse_sigmoid, sparsemax, squareplus,
    tanh_shrink, threshold, unfold)
from ._stats import (  # noqa: F401
    average, bincount, corrcoef, count_nonzero, cumprod, diff, digitize, histogram, median,
    nanargmax, nanargmin, nancumprod, nancumsum, nanmax, nanmean, nanmedian, nanmin,
    nanpercentile, nanprod, nanquantile, nanstd, nansum, nanvar, percentile, ptp, quantile,
    searchsorted, trapezoid)
from ._products import (  # noqa: F401
    correlate, cross, diagonal, inner, kron, trace, vdot)
from ._arrays_more import (  # noqa: F401
    append, array_split, diag, diagflat, dsplit, dstack, fliplr, flipud, get_item, hsplit,
    meshgrid, ravel, roll, rot90, scatter, scatter_update, segment_max, segment_min,
    segment_prod, select, slice_update, vander, vsplit)
from ._arrays_index import (  # noqa: F401
    argpartition, array, bartlett, blackman, empty, empty_like, geomspace, hamming, hanning,
    identity, in_top_k, isin, kaiser, logspace, nonzero, tri, unique, unravel_index, view)
from ._linalg_more import (  # noqa: F401
    cholesky, cholesky_inverse, det, eig, eigh, inv, logdet, lstsq, lu_factor, matrix_rank,
    pinv, qr, slogdet, solve, solve_triangular, svd)
from ._control_more import (  # noqa: F401
    associative_scan, custom_gradient, jvp, map, scan, switch, vectorize, vectorized_map)
from ._einops import rearrange  # noqa: F401
from ._signal import (  # noqa: F401
    cdist, extract_sequences, fft, fft2, ifft2, irfft, istft, rfft, saturate_cast, stft,
    view_as_complex, view_as_real)
__all__ = [
    "conv", "conv_transpose", "depthwise_conv", "separable_conv",
    "adaptive_average_pool", "adaptive_max_pool", "average_pool", "max_pool",
    "ctc_decode", "ctc_loss",
    "cond", "dot_product_attention", "fori_loop", "hstack", "linspace", "moments",
    "nan_to_num", "segment_sum", "top_k", "vstack", "while_loop",
    "argsort", "erf", "gelu", "log10", "log2", "log_sigmoid", "outer", "pad", "prod",
    "reciprocal", "slice", "sort", "take_along_axis", "tril", "triu",
    "abs", "absolute", "add", "all", "amax", "amin", "any", "arange", "argmax", "argmin",
    "binary_crossentropy", "broadcast_to", "cast", "categorical_crossentropy", "ceil", "clip",
    "concatenate", "convert_to_numpy", "convert_to_tensor", "cos", "cumsum", "divide", "dot",
    "dtype", "einsum", "elu", "equal", "exp", "expand_dims", "expm1", "eye", "flip", "floor",
    "floor_divide", "full", "full_like", "greater", "greater_equal", "hard_sigmoid",
    "is_tensor", "isfinite", "isinf", "isnan", "leaky_relu", "less", "less_equal",
    "log", "log1p", "log_softmax", "logical_and", "logical_not", "logical_or", "logsumexp",
    "matmul", "max", "maximum", "mean", "min", "minimum", "mod", "moveaxis", "multiply", "ndim",
    "negative", "nn", "norm", "not_equal", "one_hot", "ones", "ones_like", "power", "relu",
    "relu6", "repeat", "reshape", "round", "rsqrt", "selu", "shape", "sigmoid", "sign", "silu",
    "sin", "size", "softmax", "softplus", "softsign", "sparse_categorical_crossentropy",
    "split", "sqrt", "square", "squeeze", "stack", "std", "stop_gradient", "subtract", "sum",
    "swapaxes", "swish", "take", "tanh", "tensordot", "tile", "transpose", "true_divide",
    "unstack", "var", "where", "zeros", "zeros_like"]
__all__ += [
    "allclose", "angle", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2",
    "arctanh", "bitwise_and", "bitwise_invert", "bitwise_left_shift", "bitwise_not",
    "bitwise_or", "bitwise_right_shift", "bitwise_xor", "cbrt", "conj", "conjugate", "copy",
    "cosh", "deg2rad", "divide_no_nan", "erfc", "erfinv", "exp2", "fabs", "fmax", "fmin",
    "fmod", "gcd", "heaviside", "hypot", "i0", "imag", "isclose", "isneginf", "isposinf",
    "isreal", "lcm", "ldexp", "left_shift", "logaddexp", "logaddexp2", "logical_xor",
    "nextafter", "rad2deg", "real", "right_shift", "signbit", "sinc", "sinh", "tan", "trunc"]
__all__ += [
    "batch_normalization", "celu", "depth_to_space", "fold", "glu", "hard_shrink", "hard_silu",
    "hard_swish", "hard_tanh", "layer_normalization", "multi_hot", "normalize", "polar", "psnr",
    "rms_normalization", "soft_shrink", "space_to_depth", "sparse_plus", "sparse_sigmoid",
    "sparsemax", "squareplus", "tanh_shrink", "threshold", "unfold"]
__all__ += [
    "average", "bincount", "corrcoef", "count_nonzero", "cumprod", "diff", "digitize",
    "histogram", "median", "nanargmax", "nanargmin", "nancumprod", "nancumsum", "nanmax",
    "nanmean", "nanmedian", "nanmin", "nanpercentile", "nanprod", "nanquantile", "nanstd",
    "nansum", "nanvar", "percentile", "ptp", "quantile", "searchsorted", "trapezoid"]
__all__ += [
    "correlate", "cross", "diagonal", "inner", "kron", "trace", "vdot"]
__all__ += [
    "append", "argpartition", "array", "array_split", "bartlett", "blackman", "diag",
    "diagflat", "dsplit", "dstack", "empty", "empty_like", "fliplr", "flipud", "geomspace",
    "get_item", "hamming", "hanning", "hsplit", "identity", "in_top_k", "isin", "kaiser",
    "logspace", "meshgrid", "nonzero", "ravel", "roll", "rot90", "scatter", "scatter_update",
    "segment_max", "segment_min", "segment_prod", "select", "slice_update", "tri", "unique",
    "unravel_index", "vander", "view", "vsplit"]
__all__ += ["linalg", "numpy"]
__all__ += [
    "cholesky", "cholesky_inverse", "det", "eig", "eigh", "inv", "logdet", "lstsq", "lu_factor",
    "matrix_rank", "pinv", "qr", "slogdet", "solve", "solve_triangular", "svd"]
__all__ += [
    "associative_scan", "custom_gradient", "jvp", "map", "scan", "switch", "vectorize",
    "vectorized_map"]
__all__ += [
    "cdist", "extract_sequences", "fft", "fft2", "ifft2", "irfft", "istft", "rearrange", "rfft",
    "saturate_cast", "stft", "view_as_complex", "view_as_real"]

# an op called on a functional model's symbolic tensor becomes a node of its graph
wrap_namespace(globals(), __all__)
from . import numpy  # noqa: E402,F401  (Keras's keras.ops.numpy: the wrapped ops above)

_MOVED = ("simple_rnn", "simple_rnn_forward", "simple_rnn_backward", "lstm", "lstm_forward",
          "lstm_backward", "gru", "gru_forward", "gru_backward", "Lookup", "Projections")


def __getattr__(name):
    # Keras 3's keras.ops has no lstm_forward: a program written for rnncore before the move
    # keeps running for a while and is told where the name went.
    if name in _MOVED:
        warnings.warn(f"rnncore.ops.{name} moved to rnncore.recurrent.{name}; the old name will "
                      "be removed", DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module("rnncore.recurrent"), name)
    raise AttributeError(f"module 'rnncore.ops' has no attribute {name!r}")
