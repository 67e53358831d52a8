"""The parts of ``keras.backend`` a Keras program still calls: the float type, epsilon, the
image data format, the backend's name, Keras's dtype names and promotion, ``get_uid``; and
tf.keras 2's ``get_value``/``set_value`` (``set_value(optimizer.learning_rate, x)`` in older
callbacks), which Keras 3 dropped and rnncore keeps as an extension."""
import numpy as np

from ._config import (epsilon, floatx, image_data_format, set_epsilon, set_floatx,
                      set_image_data_format)
from ._dtypes import is_float_dtype, is_int_dtype, result_type, standardize_dtype

__all__ = ["backend", "floatx", "set_floatx", "epsilon", "image_data_format", "get_value",
           "set_value", "clear_session", "set_epsilon", "set_image_data_format",
           "is_float_dtype", "is_int_dtype", "result_type", "standardize_dtype",
           "is_keras_tensor", "get_uid"]


def backend():
    """The name of the array library rnncore computes with: ``'numpy'``."""
    return "numpy"


def get_value(x):
    """``x`` as a NumPy array (a Variable's value, an optimizer's learning rate, an array)."""
    numpy = getattr(x, "numpy", None)
    return np.asarray(numpy() if callable(numpy) else x)


def set_value(x, value):
    """``x.assign(value)``: set a Variable, or an optimizer's ``learning_rate`` as read."""
    assign = getattr(x, "assign", None)
    if assign is None:
        raise TypeError(f"set_value: x must have an `assign` method (a Variable or an "
                        f"optimizer's learning_rate); received {type(x).__name__}")
    assign(value)


def clear_session(free_memory=True):
    """Keras's ``clear_session``: default names start again (the next ``Dense()`` is
    ``dense``, the next model ``sequential`` or ``functional``, the next ``Precision()``
    ``precision``); a dtype policy set by ``config.set_dtype_policy`` is dropped (layers follow
    ``floatx()`` again), as Keras's global state is; with `free_memory`, Python's garbage
    collector runs. rnncore keeps no global graph to clear."""
    import gc

    from ._naming import _NAME_COUNTS
    from .mixed_precision import set_global_policy

    _NAME_COUNTS.clear()
    _UIDS.clear()
    set_global_policy(None)
    if free_memory:
        gc.collect()


def is_keras_tensor(x):
    """Whether ``x`` is a symbolic tensor of a functional model (``keras.Input(...)`` or a
    layer's output on one), not an array."""
    from .layers._base import SymbolicTensor

    return isinstance(x, SymbolicTensor)


_UIDS = {}


def get_uid(prefix=""):
    """Keras's ``get_uid``: 1 the first time ``prefix`` is asked for, then 2, 3, ...;
    ``clear_session`` starts every count again."""
    _UIDS[prefix] = _UIDS.get(prefix, 0) + 1
    return _UIDS[prefix]
