"""Process-wide settings: thread count, float dtype, Keras's ``keras.config`` switches
(epsilon, image data format, interactive logging, the debugging caps on epochs and steps);
the weight budget of a load."""
import contextlib
import os
import threading

_state = {"num_threads": None, "floatx": "float32", "epsilon": 1e-7,
          "image_data_format": "channels_last", "interactive_logging": True,
          "traceback_filtering": True, "unsafe_deserialization": False}


def _env_cap(variable):
    """Keras reads its debugging caps on epochs and steps from the environment at import."""
    value = os.environ.get(variable)
    return int(value) if value else None


_state["max_epochs"] = _env_cap("KERAS_MAX_EPOCHS")
_state["max_steps_per_epoch"] = _env_cap("KERAS_MAX_STEPS_PER_EPOCH")


def _available_cpus():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def get_num_threads():
    """Threads the kernels split a batch over (default: the CPUs this process may use)."""
    return _state["num_threads"] or _available_cpus()


def set_num_threads(n):
    """Set the kernels' thread count; ``None`` goes back to the default."""
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
        raise ValueError(f"set_num_threads: n must be a positive int or None, got {n!r}")
    _state["num_threads"] = n


def floatx():
    """The default float dtype of weights, as a string (Keras's ``keras.config.floatx``)."""
    return _state["floatx"]


def set_floatx(value):
    if value not in ("float32", "float64"):
        raise ValueError(f"set_floatx: value must be 'float32' or 'float64', got {value!r}")
    _state["floatx"] = value


_budget = threading.local()  # per thread: how many weight elements a load may still create


@contextlib.contextmanager
def weight_budget(elements, what):
    """While a model is rebuilt from a file: the layers may create at most `elements` weight
    elements (what the file's checked index declares), so an architecture that declares more
    (a crafted Embedding(10**9, 1000)) is refused before its memory is allocated."""
    saved = getattr(_budget, "left", None), getattr(_budget, "what", None)
    _budget.left, _budget.what = int(elements), what
    try:
        yield
    finally:
        _budget.left, _budget.what = saved


def charge_weight(elements, name):
    """Called before a layer allocates a weight of `elements` elements."""
    left = getattr(_budget, "left", None)
    if left is None:
        return
    if elements > left:
        raise ValueError(f"{_budget.what}: the architecture creates weight {name!r} of "
                         f"{elements:,} elements, more than the file's weights hold "
                         f"({left:,} left of what its index declares)")
    _budget.left = left - elements


def epsilon():
    """The fuzz factor of Keras's numeric expressions (clipping in losses, metrics and
    constraints), ``1e-7`` unless :func:`set_epsilon` changed it."""
    return _state["epsilon"]


def set_epsilon(value):
    """Keras's ``set_epsilon``: every loss, metric, constraint and layer that reads
    ``backend.epsilon()`` in Keras reads the new value from now on."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"set_epsilon: value must be a float in [0, 1), such as 1e-7. "
                         f"Received: value={value!r}")
    _state["epsilon"] = float(value)


_DATA_FORMATS = ("channels_first", "channels_last")


def image_data_format():
    """The default ``data_format`` of layers made without one: ``'channels_last'`` unless
    :func:`set_image_data_format` changed it."""
    return _state["image_data_format"]


def standardize_data_format(data_format):
    """A layer's ``data_format`` argument checked and lower-cased; None: the global one."""
    if data_format is None:
        return image_data_format()
    data_format = str(data_format).lower()
    if data_format not in _DATA_FORMATS:
        raise ValueError("The `data_format` argument must be one of "
                         "{'channels_first', 'channels_last'}. "
                         f"Received: data_format={data_format}")
    return data_format


def set_image_data_format(data_format):
    """Keras's ``set_image_data_format``: the ``data_format`` of layers made without one."""
    _state["image_data_format"] = standardize_data_format(
        data_format if data_format is not None else "None")


def set_flag(name, value):
    _state[name] = bool(value)


def flag(name):
    return _state[name]


def _check_cap(value, argument):
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                              or value < 1):
        raise ValueError(f"{argument} must be a positive integer or None. "
                         f"Received: {argument}={value!r}")
    return value


def set_max_epochs(max_epochs):
    """Keras's debugging cap on the epochs of every ``fit`` (None: no cap)."""
    _state["max_epochs"] = _check_cap(max_epochs, "max_epochs")


def max_epochs():
    return _state["max_epochs"]


def set_max_steps_per_epoch(max_steps_per_epoch):
    """Keras's debugging cap on the steps of each epoch of ``fit``, ``evaluate`` and
    ``predict`` (None: no cap)."""
    _state["max_steps_per_epoch"] = _check_cap(max_steps_per_epoch, "max_steps_per_epoch")


def max_steps_per_epoch():
    return _state["max_steps_per_epoch"]
