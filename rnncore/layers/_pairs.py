"""The ``(before, after)`` pair argument of the 1D padding and cropping layers, as Keras reads
it: one int for both sides, or two."""
from ._arguments import is_int


def int_pair(layer, argument, value):
    """``value`` as a tuple of two non-negative ints (an int stands for both)."""
    pair = (value, value) if is_int(value) else value
    try:
        pair = tuple(pair)
    except TypeError:
        pair = ()
    if len(pair) != 2 or not all(is_int(v) for v in pair):
        raise ValueError(f"{layer}: the `{argument}` argument must be a tuple of 2 integers, "
                         f"or one integer. Received: {argument}={value!r}")
    if any(v < 0 for v in pair):
        raise ValueError(f"{layer}: the `{argument}` argument must be non-negative integers. "
                         f"Received: {argument}={value!r}")
    return tuple(int(v) for v in pair)


_ORDINALS = ("1st", "2nd", "3rd")


def int_pairs(argument, value, n):
    """Keras's ``(before, after)`` pair for each of `n` spatial axes: one int for every side,
    `n` ints (one per axis, both sides), or `n` pairs; each non-negative."""
    from ..ops._pooling import standardize_tuple

    if is_int(value):
        if value < 0:
            raise ValueError(f"`{argument}` cannot be negative. Received: "
                             f"{argument}={value!r}.")
        return ((int(value),) * 2,) * n
    if not hasattr(value, "__len__") or isinstance(value, str):
        raise ValueError(f"`{argument}` should be either an int, a tuple of {n} ints, or a "
                         f"tuple of {n} tuples of 2 ints. Received: {argument}={value!r}.")
    if len(value) != n:
        raise ValueError(f"`{argument}` should have {n} elements. Received: "
                         f"{argument}={value!r}.")
    return tuple(standardize_tuple(v, 2, f"{_ORDINALS[i]} entry of {argument}",
                                   allow_zero=True) for i, v in enumerate(value))
