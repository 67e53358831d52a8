"""The parts of ``keras.backend`` a Keras program still calls: the float type, epsilon, the
backend's name; and tf.keras 2's ``get_value``/``set_value`` (``set_value(optimizer.learning_rate,
x)`` in older callbacks), which Keras 3 dropped and rnncore keeps as an extension."""
import numpy as np

from ._config import floatx, set_floatx

__all__ = ["backend", "floatx", "set_floatx", "epsilon", "image_data_format", "get_value",
           "set_value", "clear_session"]


def backend():
    """The name of the array library rnncore computes with: ``'numpy'``."""
    return "numpy"


def epsilon():
    """The fuzz factor Keras's losses and metrics clip with, ``1e-7``."""
    return 1e-7


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
    ``precision``); with `free_memory`, Python's garbage collector runs. rnncore keeps no
    global graph to clear."""
    import gc

    from ._naming import _NAME_COUNTS

    _NAME_COUNTS.clear()
    if free_memory:
        gc.collect()


def image_data_format():
    """``'channels_last'``, the only layout rnncore's layers use (Keras's default)."""
    return "channels_last"
