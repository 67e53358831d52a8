# Activations shared by the kernels; the C lives in _fastmath.h (vectorisable loops).
from cython cimport floating

cdef extern from "_fastmath.h" nogil:
    enum:
        RC_TANH
        RC_RELU
        RC_SIGMOID
        RC_LINEAR
        RC_HARD_SIGMOID
    void rc_activate_f(float* x, long n, int act)
    void rc_activate_d(double* x, long n, int act)
    void rc_grad_f(const float* y, float* d, long n, int act)
    void rc_grad_d(const double* y, double* d, long n, int act)
    float rc_act1_f(float x, int act)
    double rc_act1_d(double x, int act)
    float rc_dact1_f(float y, int act)
    double rc_dact1_d(double y, int act)


cdef inline void activate(floating* x, long n, int act) noexcept nogil:
    """x[:n] = act(x[:n]) in place."""
    if floating is float:
        rc_activate_f(x, n, act)
    else:
        rc_activate_d(x, n, act)


cdef inline void grad_from_output(const floating* y, floating* d, long n, int act) noexcept nogil:
    """d[:n] *= act'(·), with the derivative written from the output y = act(·)."""
    if floating is float:
        rc_grad_f(y, d, n, act)
    else:
        rc_grad_d(y, d, n, act)


cdef inline floating act1(floating x, int act) noexcept nogil:
    if floating is float:
        return rc_act1_f(x, act)
    else:
        return rc_act1_d(x, act)


cdef inline floating dact1(floating y, int act) noexcept nogil:
    if floating is float:
        return rc_dact1_f(y, act)
    else:
        return rc_dact1_d(y, act)
