"""Keras's ``keras.ops.rearrange``: einops' axis notation (``"b (h w) c -> b h w c"``) for
reshapes and transposes in one pattern, written with the recorded ``reshape`` and
``transpose``."""
import math
import re

import numpy as np

from . import _core as o
from ._tape import value_of

_TOKEN = re.compile(r"\(\s*[\w\s]*\)|\w+")


def _groups(side, pattern):
    """The axes of one side of `pattern`: a list of groups, each a list of axis names."""
    tokens = _TOKEN.findall(side)
    if "".join(tokens).replace(" ", "") != side.replace(" ", ""):
        raise ValueError(f"rearrange: cannot read the pattern {pattern!r}: use axis names and "
                         f"parenthesised groups only")
    return [t.strip("() ").split() if t.startswith("(") else [t] for t in tokens]


def rearrange(tensor, pattern, **axes_lengths):
    """``tensor``'s axes regrouped and reordered as ``pattern`` says: on the left the input's
    axes (a group ``(h w)`` splits one axis, its sizes from ``axes_lengths`` but at most one),
    on the right the output's (a group merges axes).

    Example::

        rearrange(x, "b (h w) c -> b h w c", h=4)   # (2, 12, 3) -> (2, 4, 3, 3)
    """
    if pattern.count("->") != 1:
        raise ValueError(f"rearrange: the pattern must hold one '->'; received {pattern!r}")
    left, right = (part.strip() for part in pattern.split("->"))
    inputs, outputs = _groups(left, pattern), _groups(right, pattern)
    shape = np.shape(value_of(tensor))
    if len(inputs) != len(shape):
        raise ValueError(f"rearrange: the pattern {pattern!r} names {len(inputs)} input axes; "
                         f"the tensor has shape {shape}")
    names = [a for g in inputs for a in g]
    if sorted(names) != sorted(a for g in outputs for a in g) or len(set(names)) != len(names):
        raise ValueError(f"rearrange: both sides of {pattern!r} must name the same axes, each "
                         f"once")
    sizes = {}
    for group, size in zip(inputs, shape):
        unknown = [a for a in group if a not in axes_lengths]
        if len(unknown) > 1:
            raise ValueError(f"rearrange: the sizes of {unknown} in {pattern!r} cannot be "
                             f"inferred; give all but one in axes_lengths")
        known = math.prod(int(axes_lengths[a]) for a in group if a in axes_lengths)
        if unknown:
            sizes[unknown[0]] = size // known
        if known * (sizes[unknown[0]] if unknown else 1) != size:
            raise ValueError(f"rearrange: the axis {group} of size {size} cannot be split as "
                             f"{pattern!r} with {axes_lengths}")
        sizes.update({a: int(axes_lengths[a]) for a in group if a in axes_lengths})
    x = o.reshape(tensor, [sizes[a] for a in names])
    order = [names.index(a) for g in outputs for a in g]
    if order != sorted(order):
        x = o.transpose(x, order)
    return o.reshape(x, [math.prod(sizes[a] for a in g) for g in outputs])
