"""NumPy twins of the kernels' activations (codes as in ``_kernels/_fastmath.h``)."""
import numpy as np

TANH, RELU, SIGMOID, LINEAR, HARD_SIGMOID = 0, 1, 2, 3, 4


def activate(x, act):
    """Return act(x)."""
    if act == TANH:
        return np.tanh(x)
    if act == RELU:
        return np.where(x < 0, 0, x).astype(x.dtype, copy=False)
    if act == SIGMOID:
        return 1 / (1 + np.exp(-x))
    if act == HARD_SIGMOID:
        return np.clip((x + 3) / 6, 0, 1).astype(x.dtype, copy=False)  # relu6(x + 3) / 6
    return x.copy()


def grad_from_output(y, act):
    """act'(·) written from the output y = act(·)."""
    if act == TANH:
        return 1 - y * y
    if act == RELU:
        return (y > 0).astype(y.dtype)
    if act == SIGMOID:
        return y * (1 - y)
    if act == HARD_SIGMOID:
        return np.where((y > 0) & (y < 1), 1 / 6, 0).astype(y.dtype)
    return np.ones_like(y)
