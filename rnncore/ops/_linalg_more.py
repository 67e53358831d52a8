"""Keras's ``keras.ops.linalg``: factorizations, inverses, determinants and solvers on
(batches of) matrices, with NumPy's and SciPy's LAPACK routines.

The gradients are TensorFlow's formulas: ``inv``, ``det``, ``slogdet``, ``logdet``,
``solve``, ``solve_triangular``, ``cholesky`` (and ``cholesky_inverse`` through them),
``eigh`` and the singular values of ``svd``. The other results (``eig``, ``qr``,
``lu_factor``, ``pinv``, ``lstsq``, ``matrix_rank``, ``svd``'s vectors) record no gradient.
"""
import numpy as np
from scipy import linalg as sla

from . import _core as o
from ._dtypes import float_dtype, keras_in
from ._tape import make, make_many


def _float_in(x):
    """(recorded form, value) of a matrix argument, in a float dtype (Keras casts ints)."""
    t, v = keras_in(x)
    return t, v.astype(float_dtype(v.dtype), copy=False)


def _check_2d(v):
    if v.ndim < 2:
        raise ValueError(f"Expected input to have rank >= 2. Received input with shape "
                         f"{v.shape}.")


def _check_square(v):
    _check_2d(v)
    if v.shape[-1] != v.shape[-2]:
        raise ValueError(f"Expected a square matrix. Received non-square input with shape "
                         f"{v.shape}")


def _t(m):
    return np.swapaxes(m, -1, -2)


def inv(x):
    """The inverse of the square matrix ``x`` (or of each in a batch)."""
    t, xv = _float_in(x)
    _check_square(xv)
    y = np.linalg.inv(xv)
    return make(y, (t,), lambda g: (-_t(y) @ g @ _t(y),), "inv")


def det(x):
    """The determinant of the square matrix ``x`` (or of each in a batch)."""
    t, xv = _float_in(x)
    _check_square(xv)
    y = np.linalg.det(xv).astype(xv.dtype)
    return make(y, (t,), lambda g: ((g * y)[..., None, None] * _t(np.linalg.inv(xv)),), "det")


def slogdet(x):
    """The sign and the log of the absolute value of the determinant of ``x``."""
    t, xv = _float_in(x)
    _check_square(xv)
    sign, logabs = np.linalg.slogdet(xv)
    sign, logabs = sign.astype(xv.dtype), logabs.astype(xv.dtype)

    def vjp(gs):
        g = gs[1] if isinstance(gs, list) else gs
        return (None if g is None else g[..., None, None] * _t(np.linalg.inv(xv)),)
    return tuple(make_many([sign, logabs], (t,), vjp, "slogdet"))


def _cholesky_vjp(lower, g):
    # TensorFlow's CholeskyGrad: L^-H Φ(L^H G) L^-1, symmetrized (Φ: the lower triangle
    # with the diagonal halved)
    eye = np.broadcast_to(np.eye(lower.shape[-1], dtype=lower.dtype), lower.shape)
    l_inverse = _triangular_solve(lower, eye, True)
    middle = _t(lower) @ g
    middle = np.tril(middle) - 0.5 * np.tril(np.triu(middle))
    grad = _t(l_inverse) @ middle @ l_inverse
    return 0.5 * (grad + _t(grad))


def cholesky(x, upper=False):
    """The Cholesky factor of the positive-definite ``x``: lower ``L`` with ``x = L Lᵀ`` (or
    upper ``U = Lᵀ``)."""
    t, xv = _float_in(x)
    _check_square(xv)
    try:
        lower = np.linalg.cholesky(xv)
    except np.linalg.LinAlgError as e:
        raise ValueError(f"Cholesky decomposition failed: {e}") from None
    y = _t(lower).copy() if upper else lower
    return make(y, (t,), lambda g: (_cholesky_vjp(lower, _t(g) if upper else g),), "cholesky")


def cholesky_inverse(x, upper=False):
    """The inverse of ``A`` from its Cholesky factor ``x`` (``A = x xᵀ``, or ``xᵀ x`` when
    ``upper``)."""
    _, xv = _float_in(x)
    _check_square(xv)
    eye = np.eye(xv.shape[-1], dtype=xv.dtype)
    inverse = solve_triangular(x, np.broadcast_to(eye, xv.shape), lower=not upper)
    if upper:
        return o.matmul(inverse, o.swapaxes(inverse, -1, -2))
    return o.matmul(o.swapaxes(inverse, -1, -2), inverse)


def logdet(x):
    """The log of the determinant of the positive-definite ``x`` (through its Cholesky
    factor, as TensorFlow's); NaN where ``x`` is not positive-definite."""
    from ._products import diagonal

    _, xv = _float_in(x)
    _check_square(xv)
    try:
        lower = cholesky(x)
    except ValueError:  # the factorization failed (the shape is checked above)
        return np.full(xv.shape[:-2], np.nan, xv.dtype)

    return o.multiply(2.0, o.sum(o.log(diagonal(lower, axis1=-2, axis2=-1)), axis=-1))


def _solve_args(a, b, name):
    ta, av = _float_in(a)
    tb, bv = _float_in(b)
    _check_square(av)
    if bv.ndim < 1:
        raise ValueError(f"Expected input to have rank >= 1. Received scalar input {bv}.")
    if av.ndim == bv.ndim and av.shape[-2] != bv.shape[-2]:
        raise ValueError(f"Incompatible shapes between `a` and `b`. Expected `a.shape[-2] == "
                         f"b.shape[-2]`. Received: a.shape={av.shape}, b.shape={bv.shape}")
    if av.ndim == bv.ndim + 1 and av.shape[-1] != bv.shape[-1]:
        raise ValueError(f"Incompatible shapes between `a` and `b`. Expected `a.shape[-1] == "
                         f"b.shape[-1]`. Received: a.shape={av.shape}, b.shape={bv.shape}")
    dtype = np.result_type(av, bv)
    vector = bv.ndim == av.ndim - 1
    return ta, av.astype(dtype), tb, (bv[..., None] if vector else bv).astype(dtype), vector


def solve(a, b):
    """``x`` with ``a x = b`` (``b`` a vector or matrices, batched as ``a``)."""
    ta, av, tb, bv, vector = _solve_args(a, b, "solve")
    x = np.linalg.solve(av, bv)

    def vjp(g):
        g = g[..., None] if vector else g
        gb = np.linalg.solve(_t(av), g)
        return -gb @ _t(x), (gb[..., 0] if vector else gb)
    return make(x[..., 0] if vector else x, (ta, tb), vjp, "solve")


def _triangular_solve(a, b, lower):
    if a.ndim == 2:
        return sla.solve_triangular(a, b, lower=lower)
    return np.linalg.solve(np.tril(a) if lower else np.triu(a), b)


def solve_triangular(a, b, lower=False):
    """``x`` with ``a x = b`` for a triangular ``a`` (lower when ``lower``; only that
    triangle of ``a`` is read)."""
    ta, av, tb, bv, vector = _solve_args(a, b, "solve_triangular")
    x = _triangular_solve(av, bv, lower).astype(bv.dtype)

    def vjp(g):
        g = g[..., None] if vector else g
        gb = _triangular_solve(_t(av), g, not lower)
        ga = -gb @ _t(x)
        return (np.tril(ga) if lower else np.triu(ga)), (gb[..., 0] if vector else gb)
    return make(x[..., 0] if vector else x, (ta, tb), vjp, "solve_triangular")


def eigh(x):
    """The eigenvalues (ascending) and eigenvectors (columns) of the symmetric ``x`` (its
    lower triangle is read)."""
    t, xv = _float_in(x)
    _check_square(xv)
    w, v = np.linalg.eigh(xv)

    def vjp(gs):
        gw, gv = gs if isinstance(gs, list) else (gs, None)
        gw = np.zeros_like(w) if gw is None else gw
        inner = np.zeros(v.shape, v.dtype) if gv is None else _t(v) @ gv
        with np.errstate(divide="ignore"):
            gap = w[..., None, :] - w[..., :, None]
            f = np.where(gap == 0, 0, 1 / np.where(gap == 0, 1, gap))
        middle = f * inner + np.eye(w.shape[-1]) * gw[..., None, :]
        grad = v @ middle @ _t(v)
        grad = np.tril(grad + _t(grad))
        return (grad - 0.5 * np.tril(np.triu(grad)),)
    return tuple(make_many([w, v], (t,), vjp, "eigh"))


def eig(x):
    """The eigenvalues and eigenvectors of the square ``x``, complex (no gradient)."""
    _, xv = _float_in(x)
    _check_square(xv)
    w, v = np.linalg.eig(xv)
    complex_dtype = np.complex128 if xv.dtype == np.float64 else np.complex64
    return w.astype(complex_dtype), v.astype(complex_dtype)


def svd(x, full_matrices=True, compute_uv=True):
    """``u, s, vh`` with ``x = u diag(s) vh`` (``s`` alone when not ``compute_uv``). The
    gradient reaches ``x`` through ``s``."""
    t, xv = _float_in(x)
    _check_2d(xv)
    if not compute_uv:
        u, s, vh = np.linalg.svd(xv, full_matrices=False)
        return make(s, (t,), lambda g: ((u * g[..., None, :]) @ vh,), "svd")
    return tuple(np.linalg.svd(xv, full_matrices=full_matrices))


def qr(x, mode="reduced"):
    """``q, r`` with ``x = q r``, ``q`` orthonormal columns and ``r`` upper triangular."""
    if mode not in ("reduced", "complete"):
        raise ValueError(f"`mode` argument value not supported. Expected one of "
                         f"{{'reduced', 'complete'}}. Received: mode={mode}")
    _, xv = _float_in(x)
    _check_2d(xv)
    return tuple(np.linalg.qr(xv, mode=mode))


def lu_factor(x):
    """The LU factorization of the square ``x``: ``L`` (unit diagonal, not stored) and ``U``
    in one matrix, and the row permutation ``p`` (int32) with ``(L U)[p] = x`` (Keras's
    TensorFlow backend's order)."""
    _, xv = _float_in(x)
    _check_square(xv)
    if xv.ndim != 2:
        raise ValueError(f"lu_factor: rnncore factors one matrix at a time; received "
                         f"x.shape={xv.shape}")
    permutation, lower, upper = sla.lu(xv)
    combined = np.tril(lower, -1) + upper
    return combined.astype(xv.dtype), np.argmax(permutation, axis=1).astype(np.int32)


def pinv(x, rcond=None):
    """The Moore-Penrose pseudo-inverse; singular values below ``rcond`` times the largest
    count as 0 (TensorFlow's default: 10 · max(m, n) · eps)."""
    _, xv = _float_in(x)
    _check_2d(xv)
    if rcond is None:
        rcond = 10 * max(xv.shape[-2:]) * np.finfo(xv.dtype).eps
    return np.linalg.pinv(xv, rcond=rcond).astype(xv.dtype)


def matrix_rank(x, tol=None):
    """The number of singular values above ``tol`` (by default the largest times
    max(m, n) · eps), as int32."""
    _, xv = _float_in(x)
    _check_2d(xv)
    return np.asarray(np.linalg.matrix_rank(xv, tol=tol)).astype(np.int32)


def lstsq(a, b, rcond=None):
    """The least-squares solution ``x`` of ``a x = b`` for a matrix ``a`` (singular values
    below ``rcond`` times the largest dropped; by default eps · max(m, n))."""
    _, av = _float_in(a)
    _, bv = _float_in(b)
    if av.ndim != 2:
        raise ValueError(f"Expected a to have rank 2. Received: a.shape={av.shape}")
    if bv.ndim not in (1, 2):
        raise ValueError(f"Expected b to have rank 1 or 2. Received: b.shape={bv.shape}")
    if bv.shape[0] != av.shape[0]:
        raise ValueError(f"Expected b.shape[0] to be equal to a.shape[0]. Received: "
                         f"a.shape={av.shape}, b.shape={bv.shape}")
    if rcond is None:
        rcond = np.finfo(av.dtype).eps * max(av.shape)
    return np.linalg.lstsq(av, bv.astype(av.dtype), rcond=rcond)[0].astype(av.dtype)
