"""Keras's helpers around the data of a training step and of a functional graph:
``pack_x_y_sample_weight`` / ``unpack_x_y_sample_weight`` (for a custom ``train_step``),
``get_source_inputs``, ``split_dataset``."""
import random

import numpy as np


def unpack_x_y_sample_weight(data):
    """``(x, y, sample_weight)`` from a batch given as ``x``, ``(x,)``, ``(x, y)`` or
    ``(x, y, sample_weight)`` (a list counts as a tuple); what is missing is None."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) in (1, 2, 3):
        return tuple(data) + (None,) * (3 - len(data))
    raise ValueError("Data is expected to be in format `x`, `(x,)`, `(x, y)`, or "
                     f"`(x, y, sample_weight)`, found: {data}")


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """The batch ``fit`` takes: ``x`` alone (``(x,)`` when ``x`` is a list or tuple, so that
    it is not read as ``(x, y)``), ``(x, y)`` or ``(x, y, sample_weight)``."""
    if y is None:
        return (x,) if isinstance(x, (list, tuple)) else x
    if sample_weight is None:
        return x, y
    return x, y, sample_weight


def _tensors_in(value):
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensors_in(v)]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors_in(v)]
    return [value] if hasattr(value, "_keras_history") else []


def get_source_inputs(tensor):
    """The ``Input`` tensors that ``tensor`` is computed from, in the order first met (a
    list); anything that is not a symbolic tensor is returned as it is."""
    if not hasattr(tensor, "_keras_history"):
        return tensor
    layer, node_index, _ = tensor._keras_history
    nodes = getattr(layer, "_inbound_nodes", None)
    if not nodes:  # an Input's tensor
        return [tensor]
    node = nodes[node_index]
    sources = []
    for parent in _tensors_in(node.inputs) + _tensors_in(node.kwargs):
        for source in get_source_inputs(parent):
            if all(source is not s for s in sources):
                sources.append(source)
    return sources


def _split_size(size, argument, total):
    if size is None:
        return None
    if type(size) not in (int, float):
        raise TypeError(f"Invalid `{argument}` Type. Expected: int or float or None, "
                        f"Received: type({argument})={type(size)}.")
    if (type(size) is int and not 0 < size < total) or (type(size) is float and
                                                        not 0 < size < 1):
        raise ValueError(f"`{argument}` should be either a positive integer smaller than "
                         f"{total}, or a float within the range `[0, 1]`. "
                         f"Received: {argument}={size}")
    return round(size * total) if type(size) is float else size


def _as_samples(dataset):
    """(list of per-sample items, function that stacks a list of them back) for a
    ``tf.data.Dataset`` or an array / list / tuple / dict of arrays of one length."""
    if hasattr(dataset, "unbatch") and hasattr(dataset, "element_spec"):
        import tensorflow as tf

        batched = hasattr(dataset, "_batch_size")
        samples = list((dataset.unbatch() if batched else dataset).as_numpy_iterator())
        return samples, lambda part: tf.nest.map_structure(lambda *xs: np.stack(xs), *part)
    if isinstance(dataset, dict):
        keys = list(dataset)
        columns = [np.asarray(dataset[k]) for k in keys]
        samples = list(zip(*columns))
        return samples, lambda part: {k: np.stack([s[i] for s in part])
                                      for i, k in enumerate(keys)}
    if isinstance(dataset, (list, tuple)):
        columns = [np.asarray(c) for c in dataset]
        lengths = {len(c) for c in columns}
        if len(lengths) > 1:
            raise ValueError("split_dataset: the arrays of `dataset` must have the same "
                             f"length; received lengths {[len(c) for c in columns]}")
        kind = type(dataset)
        return list(zip(*columns)), lambda part: kind(
            np.stack([s[i] for s in part]) for i in range(len(columns)))
    if isinstance(dataset, np.ndarray):
        return list(dataset), np.stack
    raise TypeError("The `dataset` argument must be either a `tf.data.Dataset` object, or a "
                    f"list/tuple of arrays. Received: dataset={dataset!r:.80} of type "
                    f"{type(dataset)}")


def split_dataset(dataset, left_size=None, right_size=None, shuffle=False, seed=None):
    """Keras's ``split_dataset``: ``dataset`` (a ``tf.data.Dataset``, an array, or a
    list / tuple / dict of arrays of one length) cut into two ``tf.data.Dataset``\\ s of
    ``left_size`` and ``right_size`` samples (ints: counts; floats in (0, 1): fractions; one
    of them None: the rest). With ``shuffle``, the samples are shuffled first in the order
    Keras draws for the same ``seed``. Needs TensorFlow, as Keras's does."""
    try:
        import tensorflow as tf
    except ImportError:
        raise ImportError("split_dataset returns tf.data.Dataset objects, as Keras's does, "
                          "and needs TensorFlow: pip install tensorflow-cpu") from None
    if left_size is None and right_size is None:
        raise ValueError("At least one of the `left_size` or `right_size` must be specified. "
                         "Received: left_size=None and right_size=None")
    samples, stack = _as_samples(dataset)
    total = len(samples)
    if shuffle:
        if seed is None:
            seed = random.randint(0, int(1e6))
        random.Random(seed).shuffle(samples)
    left = _split_size(left_size, "left_size", total)
    right = _split_size(right_size, "right_size", total)
    if type(left_size) is type(right_size) is float and left_size + right_size > 1:
        raise ValueError("The sum of `left_size` and `right_size` is greater than 1. It must "
                         "be less than or equal to 1.")
    left = total - right if left is None else left
    right = total - left if right is None else right
    if left + right > total:
        raise ValueError(f"The sum of `left_size` and `right_size` should be smaller than the "
                         f"{total}. Received: left_size + right_size = {left + right} and "
                         f"total_length = {total}")
    for size, side in ((left, "left"), (right, "right")):
        if size == 0:
            raise ValueError(f"With `dataset` of length={total}, `left_size`={left_size} and "
                             f"`right_size`={right_size}. Resulting {side} side dataset split "
                             "will be empty. Adjust any of the aforementioned parameters")
    parts = [tf.data.Dataset.from_tensor_slices(stack(part))
             for part in (samples[:left], samples[total - right:])]
    batch = getattr(dataset, "_batch_size", None)
    if batch is not None:
        parts = [p.batch(int(batch)) for p in parts]
    return tuple(parts)
