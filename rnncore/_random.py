"""The process-wide random generator behind initializers and dropout masks."""
import numpy as np

_state = {"rng": np.random.default_rng()}


def generator(seed=None):
    """A NumPy Generator: a fresh one for an explicit seed, else the shared one."""
    if seed is not None:
        return np.random.default_rng(seed)
    return _state["rng"]


def set_random_seed(seed):
    """Seed rnncore's generator (and NumPy's and Python's, as ``keras.utils.set_random_seed``)."""
    import random

    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise ValueError(f"set_random_seed: seed must be an int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    _state["rng"] = np.random.default_rng(seed)
