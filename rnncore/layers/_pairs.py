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
