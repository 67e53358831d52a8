"""Keras's result dtypes for the ops of ``rnncore.ops``: Python numbers converted as Keras
converts them (a float to floatx, an int to int32), and the dtype an op computes in.

Keras's own lattice differs from NumPy's where integers meet floats: ``int32`` and a float
array give that float's dtype (NumPy widens to float64), an integer with a Python float gives
floatx, and an op that needs a float (``arccos``, ``hypot``) turns every integer into floatx.
"""
import numpy as np

from .._config import floatx
from ._common import _in
from ._tape import value_of


def keras_in(x):
    """(recorded form, NumPy value) of an op's argument, a Python number or list converted as
    Keras's ``convert_to_tensor`` converts it (floats to floatx, ints to int32)."""
    t, v = _in(x)
    if isinstance(v, np.ndarray):
        return t, v
    v = np.asarray(v)
    if v.dtype == np.float64:
        v = v.astype(floatx())
    elif v.dtype == np.int64:
        v = v.astype(np.int32)
    return t, v


def is_python_number(x):
    return isinstance(x, (bool, int, float)) and not isinstance(x, np.generic)


def result_dtype(*xs):
    """Keras's ``result_type`` of the arguments: arrays promote among themselves as in NumPy,
    except that integers never widen a float (``int64`` with ``float32`` is ``float32``);
    Python numbers are weak (a float only makes an integer result floatx)."""
    arrays = [np.asarray(value_of(x)).dtype for x in xs if not is_python_number(x)]
    floats = [d for d in arrays if d.kind in "fc"]
    if floats:
        return np.result_type(*floats)
    if any(isinstance(x, float) for x in xs if is_python_number(x)):
        return np.dtype(floatx())
    if arrays:
        return np.result_type(*arrays)
    return np.dtype(np.int32) if any(type(x) is int for x in xs) else np.dtype(bool)


def float_dtype(dtype):
    """The dtype a float op computes in: a float dtype stays, anything else is floatx."""
    dtype = np.dtype(dtype)
    return dtype if dtype.kind in "fc" else np.dtype(floatx())
