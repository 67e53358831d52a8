"""Custom layers called on symbolic tensors (Keras's KerasTensors) in a functional graph.

Keras works out such a call symbolically; rnncore runs the layer's ``call`` on stand-in
values instead (ones, the unknown dimensions taken as 2 and then as 3, so that a dimension
that follows them is known to be unknown) and reads the shapes. A symbolic tensor carries
the shape of the mask its value will carry, so a call that takes ``mask`` is run with a
stand-in of it. A call of several tensor arguments (``call(query, values)``) becomes one
graph node whose inputs are all of them; ``_recorded.run_call`` unpacks them.
"""
import contextlib
import warnings

import numpy as np

from ..ops._tape import recording, value_of
from ._recorded import carried_mask, has_call, is_array, run_call, takes_mask


def pack_tensor_arguments(layer, inputs, args, kwargs):
    """A custom layer called on symbolic tensors with more than one tensor argument
    (``call(query, values)``): one list of inputs for its graph node, the layer remembering
    how ``call`` takes them back (``run_call`` unpacks them)."""
    kwargs = dict(kwargs)
    names = tuple(k for k, v in kwargs.items() if k not in ("mask", "training")
                  and _is_tensor_like(v))
    if not args and not names:  # only a mask given with the inputs
        return inputs, args, kwargs
    if not _is_tensor_like(inputs) or not all(_is_tensor_like(a) for a in args):
        raise NotImplementedError(
            f"Layer {layer.name!r}: called on symbolic tensors with arguments rnncore cannot "
            "put in a graph (a list of tensors, or non-tensor values, next to other tensor "
            "arguments); pass one tensor per argument")
    layer._call_structure = (len(args), names)
    packed = [inputs, *args, *(kwargs.pop(k) for k in names)]
    return packed, (), kwargs


def _is_tensor_like(x):
    from ._base import SymbolicTensor
    return isinstance(x, SymbolicTensor) or is_array(x)


def _stand_in(shape, dtype, size=2):
    """Ones of `shape`, its unknown dimensions (the batch's too) taken as `size`."""
    if isinstance(shape, list):
        return [_stand_in(s, dtype, size) for s in shape]
    return np.ones([size if d is None else d for d in shape], dtype)


def _by_two_sizes(run):
    """The shapes of what ``run(size)`` gives with the unknown dimensions taken as 2 and as
    3: a dimension that follows them is unknown (None) in the result."""
    first, second = run(2), run(3)
    if first is None:
        return None

    def merge(a, b):
        if isinstance(a, list):
            return [merge(x, y) for x, y in zip(a, b)]
        return None if a is None else tuple(
            p if p == q else None for p, q in zip(np.shape(a), np.shape(b)))
    return merge(first, second)


@contextlib.contextmanager
def _quietly():
    # values made up to find a shape may overflow or divide by zero where real data does
    # not: Keras, which works shapes out symbolically, prints nothing then
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def symbolic_masks(layer, inputs, mask):
    """The shapes of the masks of a symbolic call (``call_mask``'s rule on the mask shapes
    symbolic tensors carry): the one the call gets, the one its output masks are computed
    from."""
    if mask is not None:
        mask = [None if m is None else m.shape for m in mask] if isinstance(mask, list) \
            else mask.shape
    carried = carried_mask(inputs, symbolic=True)
    if mask is None and takes_mask(layer) and getattr(layer, "_call_structure", None) is None:
        mask = carried
    return mask, (mask if mask is not None else carried)


def _mask_stand_in(shape, size):
    if shape is None:
        return None
    if isinstance(shape, list):
        return [_mask_stand_in(s, size) for s in shape]
    return _stand_in(shape, bool, size)


def set_symbolic_masks(layer, inputs, outputs, previous):
    """The shapes of the masks the outputs of a symbolic call will carry (``_keras_mask``):
    ``compute_mask`` on stand-in inputs (rnncore's layers work theirs out from the values
    they were last run on, so one that cannot is taken to give none; their Embedding makes
    a mask without saying it supports masking)."""
    if has_call(layer) and not layer.supports_masking:
        return
    shapes = [t.shape for t in inputs] if isinstance(inputs, list) else inputs.shape

    def run(size):
        masks = layer.compute_mask(_stand_in(shapes, layer.dtype, size),
                                   _mask_stand_in(previous, size))
        masks = masks if isinstance(masks, (list, tuple)) else [masks]
        return [None if m is None else np.asarray(value_of(m)) for m in masks]
    try:
        with recording(False), _quietly():
            masks = _by_two_sizes(run)
    except Exception:
        if has_call(layer) and type(layer).compute_mask is not _base_compute_mask():
            raise
        return
    for t, m in zip(outputs if isinstance(outputs, list) else [outputs], masks):
        if m is not None:
            t._keras_mask = (None,) + m[1:]


def _base_compute_mask():
    from ._base import Layer
    return Layer.compute_mask


def output_shape_by_running(layer, input_shape, mask=None):
    """Keras's default ``compute_output_shape`` for a layer with ``call``: run it (here on
    ones, unknown dimensions taken as 2 and then 3, nothing recorded, with a stand-in of the
    mask the call will get) and read the shape."""
    def run(size):
        out = run_call(layer, _stand_in(input_shape, layer.dtype, size), False,
                       _mask_stand_in(mask, size))
        return [np.asarray(value_of(o)) for o in out] if isinstance(out, (list, tuple)) \
            else np.asarray(value_of(out))
    with recording(False), _quietly():
        out = _by_two_sizes(run)
    batch = input_shape[0][0] if isinstance(input_shape, list) else input_shape[0]
    if isinstance(out, list):
        return [(batch,) + o[1:] for o in out]
    return (batch,) + out[1:]
