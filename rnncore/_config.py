"""Process-wide settings: thread count and float dtype; the weight budget of a load."""
import contextlib
import os
import threading

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
