"""Checking and slicing the arrays given to fit / evaluate / predict."""
import math
import numbers
import warnings

import numpy as np


def to_arrays(x, argument, n_inputs=1, strings=()):
    """An ndarray, or a list of `n_inputs` ndarrays for multi-input models. Inputs whose
    index is in `strings` (an ``Input(dtype="string")`` into a TextVectorization) may hold
    text instead of numbers."""
    if isinstance(x, dict):
        raise ValueError(f"{argument}: dict inputs are not supported; pass an array")
    if n_inputs > 1:
        if not isinstance(x, (list, tuple)) or len(x) != n_inputs:
            raise ValueError(f"{argument} must be a list of {n_inputs} arrays (one per model "
                             f"input), got {type(x).__name__}")
        return [_checked(_asarray(v, f"{argument}[{i}]"), f"{argument}[{i}]", i in strings)
                for i, v in enumerate(x)]
    if x is None:
        raise ValueError(f"{argument} must be an array, got None")
    return _checked(_asarray(x, argument), argument, 0 in strings)


def _checked(a, argument, text):
    if text and (a.dtype.kind in "US" or (a.dtype == object and a.size and all(
            isinstance(v, (str, bytes)) for v in a.reshape(-1)))):
        if a.ndim == 0:
            raise ValueError(f"{argument} must have a batch dimension, got a scalar")
        return a
    return _numeric(a, argument)


def _asarray(x, argument):
    try:
        return np.asarray(x)
    except ValueError:  # NumPy refuses ragged nested lists
        raise ValueError(f"{argument} must be a rectangular numeric array, got nested lists of "
                         "different lengths (pad them with rnncore.preprocessing.sequence."
                         "pad_sequences)") from None


def _numeric(a, argument):
    if a.dtype == object:
        raise ValueError(f"{argument} must be a numeric array, got an object array (ragged "
                         "lists? pad them with rnncore.preprocessing.sequence.pad_sequences)")
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_) or \
            np.issubdtype(a.dtype, np.complexfloating):
        raise ValueError(f"{argument} must be a numeric array of real numbers, got dtype "
                         f"{a.dtype}")
    if a.ndim == 0:
        raise ValueError(f"{argument} must have a batch dimension, got a scalar")
    return a


def num_samples(x):
    return (x[0] if isinstance(x, list) else x).shape[0]


def take(x, index):
    if x is None:
        return None
    if isinstance(x, list):
        return [v[index] for v in x]
    return x[index]


def check_xy(x, y, x_name="x", y_name="y"):
    n = num_samples(x)
    if isinstance(x, list):
        for i, v in enumerate(x):
            if v.shape[0] != n:
                raise ValueError(f"{x_name}[{i}] has {v.shape[0]} samples but {x_name}[0] has {n}")
    if n == 0:
        raise ValueError(f"{x_name} is empty: expected at least one sample")
    for i, target in enumerate(y if isinstance(y, list) else [y]):
        name = f"{y_name}[{i}]" if isinstance(y, list) else y_name
        if target is not None and target.shape[0] != n:
            raise ValueError(f"{x_name} and {name} have different numbers of samples: "
                             f"{x_name} has {n}, {name} has {target.shape[0]}")


def check_batch_size(batch_size, default=32):
    if batch_size is None:
        return default
    if not isinstance(batch_size, numbers.Integral) or isinstance(batch_size, bool) \
            or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    return int(batch_size)


def check_steps(steps, argument):
    """`steps`, `steps_per_epoch`, `validation_steps`: None or a positive number of batches."""
    if steps is not None and (not isinstance(steps, numbers.Integral) or isinstance(steps, bool)
                              or steps < 1):
        raise ValueError(f"{argument} must be None or a positive integer, got {steps!r}")


def first_steps(n, batch_size, steps):
    """How many of `n` samples ``steps`` batches cover (Keras's `steps` on arrays: the first
    batches only; all of them, with Keras's warning, when there are fewer)."""
    if steps is None:
        return n
    if steps * batch_size > n and -(-n // batch_size) < steps:
        warnings.warn("Your input ran out of data; interrupting. Make sure that your data can "
                      f"generate at least `steps` batches: {steps} were asked for, the data "
                      f"has {-(-n // batch_size)} of {batch_size}.", stacklevel=4)
    return min(n, steps * batch_size)


def validation_split(x, y, split):
    """Keras's rule: the LAST ``split`` fraction of the data, taken before any shuffling."""
    if not isinstance(split, numbers.Real) or not 0 <= split < 1:
        raise ValueError(f"validation_split must be a float in [0, 1), got {split!r}")
    n = num_samples(x)
    split_at = int(math.floor(n * (1.0 - split)))
    if split_at == 0 or split_at == n:
        raise ValueError(f"validation_split={split} leaves an empty training or validation set "
                         f"for {n} samples")
    return ((take(x, slice(0, split_at)), take(y, slice(0, split_at))),
            (take(x, slice(split_at, n)), take(y, slice(split_at, n))))


def unpack_validation_data(data):
    if isinstance(data, dict):  # inputs by name, no targets (a model training on add_loss)
        return data, None, None
    if not isinstance(data, (tuple, list)) or len(data) not in (2, 3):
        raise ValueError("validation_data must be a tuple or list (x_val, y_val) or "
                         f"(x_val, y_val, sample_weight), got {type(data).__name__}"
                         f"{' of length ' + str(len(data)) if isinstance(data, (tuple, list)) else ''}")
    return data[0], data[1], (data[2] if len(data) == 3 else None)


def batches(n, batch_size, order=None):
    """Index slices (or index arrays for a shuffled order) of consecutive batches."""
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        yield slice(start, stop) if order is None else order[start:stop]
