"""The trainer's per-batch loss and metric for a sigmoid output of width 1, in one call each.

For the seeds' models a batch's binary crossentropy (with its gradient) and binary accuracy are
about 25 NumPy calls on 64 numbers: 90 us a step, where the LSTM's whole backward kernel takes
160 us. These functions do the same arithmetic, operation by operation, in one pass. The caller
(``rnncore/losses.py``, ``rnncore/metrics.py``) checks shapes and dtypes and takes NumPy's path
for everything else.
"""
from cython cimport floating
from libc.math cimport exp, expf, log1p, log1pf


def binary_crossentropy_logits(const floating[::1] t,   # IN (n,) targets
                               const floating[::1] x,   # IN (n,) logits
                               floating scale,          # IN d(loss)/d(per-sample loss)
                               floating[::1] grad):     # OUT (n,) d(loss)/dx
    """TensorFlow's sigmoid_cross_entropy_with_logits per sample,
    ``max(x, 0) - x t + log1p(exp(-|x|))``; returns their sum (accumulated in double) and
    writes ``grad = scale * (dmax - t + d log1p)``, in the order of operations of
    ``losses.BinaryCrossentropy``'s NumPy path."""
    cdef Py_ssize_t n = x.shape[0], i
    cdef double total = 0
    cdef floating xi, e, elem, gl, de = scale
    cdef floating zero = 0, one = 1
    with nogil:
        for i in range(n):
            xi = x[i]
            e = _exp(-xi if xi >= 0 else xi)
            elem = ((xi if xi >= 0 else zero) - xi * t[i]) + _log1p(e)
            total += elem
            gl = (de * (one / (one + e))) * e
            grad[i] = ((de if xi >= 0 else zero) + (-de) * t[i]) + (-gl if xi >= 0 else gl)
    return total


def binary_accuracy_matches(const double[::1] t,    # IN (n,) targets
                            const floating[::1] p,  # IN (n,) predictions
                            floating threshold):    # IN
    """How many ``t[i] == (p[i] > threshold)`` (as 1.0 or 0.0)."""
    cdef Py_ssize_t n = p.shape[0], i, count = 0
    with nogil:
        for i in range(n):
            count += t[i] == (1.0 if p[i] > threshold else 0.0)
    return count


cdef inline floating _exp(floating x) noexcept nogil:
    if floating is float:
        return expf(x)
    else:
        return exp(x)


cdef inline floating _log1p(floating x) noexcept nogil:
    if floating is float:
        return log1pf(x)
    else:
        return log1p(x)
