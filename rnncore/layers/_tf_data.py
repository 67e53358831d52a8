"""TFDataLayer: the base of the preprocessing layers that run inside a ``tf.data`` pipeline.

Keras programs put their preprocessing layers in ``Dataset.map`` (keras-io's "Text
classification from scratch": ``raw_ds.map(lambda x, y: (vectorize_layer(x), y))``; image
programs: ``ds.map(lambda x, y: (Rescaling(1 / 255)(x), y))``). There the layer receives a
symbolic ``tf.Tensor`` of a traced graph, which NumPy cannot read. Called on a TensorFlow
tensor, a ``TFDataLayer`` therefore runs its NumPy computation through ``tf.numpy_function``
and gives the output the dtype and static shape Keras's layer gives it in the pipeline (its
``compute_output_shape``, batch dimension as the input's), so that the dataset's
``element_spec`` is Keras's. On an eager tensor it computes at once and, as Keras, returns a
``tf.Tensor`` of that dtype.

TensorFlow is used only when the program has imported it (a ``tf.Tensor`` exists only then):
rnncore never imports it for this.
"""
import sys

import numpy as np

from . import _recorded
from ._base import _NO_INPUTS, Layer


def _tensorflow():
    return sys.modules.get("tensorflow")


def _flatten(structure):
    """The leaves of nested lists and tuples, in order."""
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in _flatten(item)]
    return [structure]


def _rebuild(structure, leaves):
    """`structure` with its leaves taken in order from the iterator `leaves`."""
    if isinstance(structure, (list, tuple)):
        return type(structure)(_rebuild(item, leaves) for item in structure)
    return next(leaves)


def keras_output_dtype(layer):
    """The dtype Keras's layer gives its output in a tf.data pipeline (TensorFlow's string
    ops and bincounts decide it there, not the layer's output spec): int64 ids, and int64
    one-hot rows and bags of a lookup or a TextVectorization; the looked-up values of an
    inverted lookup; Discretization's int32 bins; otherwise the layer's dtype (float32
    encodings, normalised or rescaled values)."""
    from ._discretization import Discretization
    from ._index_lookup import IndexLookup
    from ._text_vectorization import TextVectorization

    mode = getattr(layer, "output_mode", None)
    if isinstance(layer, IndexLookup) and layer.invert:
        return "string" if layer._takes_strings else "int64"
    if mode == "int":
        return "int32" if isinstance(layer, Discretization) else \
            getattr(layer, "_int_dtype", "int64")
    if mode in ("one_hot", "multi_hot", "count") and \
            isinstance(layer, (IndexLookup, TextVectorization)):
        return "int64"
    return layer.dtype


def _static_shape(layer, inputs):
    """Keras's static output shape for tensors of these shapes (None where unknown), or None
    where ``compute_output_shape`` cannot say."""
    shapes = [None if t.shape.rank is None else tuple(t.shape.as_list())
              for t in _flatten(inputs)]
    if any(s is None for s in shapes):
        return None
    try:
        shape = layer.compute_output_shape(shapes if isinstance(inputs, (list, tuple))
                                           else shapes[0])
    except (ValueError, TypeError, IndexError):
        return None
    return tuple(shape)


def _as_output(value, dtype):
    """One output of the NumPy computation as ``tf.numpy_function`` must return it: exactly
    `dtype`, strings as bytes."""
    value = np.asarray(value)
    if dtype != "string":
        return value.astype(dtype, copy=False)
    out = np.empty(value.shape, dtype=object)
    out.flat[:] = [s.encode("utf-8") if isinstance(s, str) else bytes(s) for s in value.flat]
    return out


class TFDataLayer(Layer):
    """A layer that Keras lets run in ``tf.data`` (Keras's ``DataLayer``, and its lookup and
    text layers, which run on TensorFlow's ops): called on TensorFlow tensors it returns a
    TensorFlow tensor (see the module docstring); on arrays, it is any rnncore layer."""

    def __call__(self, inputs=_NO_INPUTS, *args, **kwargs):
        tf = _tensorflow()
        # inside a layer's or model's call the inputs were already made arrays
        if tf is None or inputs is _NO_INPUTS or _recorded.in_call() or not any(
                tf.is_tensor(leaf) for leaf in _flatten([inputs, args, list(kwargs.values())])):
            return super().__call__(inputs, *args, **kwargs)
        # Dataset.map traces its function with AutoGraph, which would rewrite every function
        # it reaches: rnncore's are plain Python, run as they are
        call = tf.autograph.experimental.do_not_convert(self._call_on_tf_tensors)
        return call(tf, inputs, args, kwargs)

    def _call_on_tf_tensors(self, tf, inputs, args, kwargs):
        names = sorted(k for k, v in kwargs.items() if tf.is_tensor(v))
        structure = [inputs, list(args), [kwargs[k] for k in names]]
        leaves = _flatten(structure)
        tensors = [i for i, leaf in enumerate(leaves) if tf.is_tensor(leaf)]
        for i in tensors:
            if isinstance(leaves[i], (tf.RaggedTensor, tf.SparseTensor)):
                raise ValueError(f"{type(self).__name__} {self.name!r}: rnncore's layers take "
                                 f"dense tensors; received a {type(leaves[i]).__name__}. "
                                 "Pad it first (ragged.to_tensor(), tf.sparse.to_dense)")
        dtype = keras_output_dtype(self)
        shape = None if tf.executing_eagerly() else _static_shape(self, inputs)

        def compute(*arrays):
            values = list(leaves)
            for i, array in zip(tensors, arrays):
                values[i] = array
            x, a, k = _rebuild(structure, iter(values))
            rest = {key: v for key, v in kwargs.items() if key not in names}
            out = _as_output(super(TFDataLayer, self).__call__(
                x, *a, **rest, **dict(zip(names, k))), dtype)
            # TensorFlow trusts the static shape it was told: a wrong one is named here
            if shape is not None and (out.ndim != len(shape) or any(
                    d is not None and d != n for d, n in zip(shape, out.shape))):
                raise ValueError(f"{type(self).__name__} {self.name!r}: computed an output of "
                                 f"shape {out.shape} where its compute_output_shape said "
                                 f"{shape}")
            return out

        if tf.executing_eagerly():
            # computed now, errors raised as the layer raises them on arrays
            return tf.convert_to_tensor(compute(*(leaves[i].numpy() for i in tensors)),
                                        dtype=tf.as_dtype(dtype))
        out = tf.numpy_function(compute, [leaves[i] for i in tensors], tf.as_dtype(dtype),
                                stateful=False)
        if shape is not None:
            out.set_shape(shape)
        return out
