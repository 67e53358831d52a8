"""Process-wide settings: thread count and float dtype."""
import os

_state = {"num_threads": None, "floatx": "float32"}


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
