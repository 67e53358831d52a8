"""CategoryEncoding: integer ids to one-hot rows, multi-hot or count bags, as Keras's."""
import numbers

import numpy as np

from ._tf_data import TFDataLayer
from ._vocabulary import encode_ids

_OUTPUT_MODES = ("count", "one_hot", "multi_hot")


def as_ids(x, caller, argument="inputs"):
    """Integer ids as an int64 array: integers, or floats holding whole numbers (a model's
    float input); anything else is a ValueError naming `argument`."""
    if hasattr(x, "numpy") and not isinstance(x, np.ndarray):
        x = x.numpy()
    arr = np.asarray(x)
    if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.array_equal(arr,
                                                                              np.round(arr)):
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iub":
        raise ValueError(f"{caller}: {argument} must be integer ids, got an array of dtype "
                         f"{arr.dtype}")
    return arr.astype(np.int64, copy=False)


class CategoryEncoding(TFDataLayer):
    """Encodes integer ids in [0, num_tokens) as one-hot rows (``"one_hot"``), or each row of
    ids as one multi-hot (``"multi_hot"``, the default) or count (``"count"``) vector of
    ``num_tokens`` floats. ``layer(ids, count_weights=w)`` in "count" mode adds ``w`` (of the
    ids' shape) instead of ones. Ids at or above ``num_tokens`` are dropped (TensorFlow's
    bincount drops them); negative ids are an error, as in Keras.

    >>> CategoryEncoding(num_tokens=4)(np.array([[0, 1], [3, 3]]))
    array([[1., 1., 0., 0.],
           [0., 0., 0., 1.]], dtype=float32)
    """

    _call_positional = ("count_weights",)  # Keras: call(inputs, count_weights=None)
    _accepts_scalar = True  # Keras upranks a scalar to one sample
    _integer_dtype_ok = True  # dtype="int32": integer outputs, as in Keras

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode not in _OUTPUT_MODES:
            raise ValueError(f"Unknown arg for output_mode: {output_mode}. Expected one of "
                             f"{_OUTPUT_MODES}")
        if num_tokens is None:
            raise ValueError("num_tokens must be set to use this layer. If the number of "
                             "tokens is not known beforehand, use the IntegerLookup layer "
                             "instead.")
        if not isinstance(num_tokens, numbers.Integral) or isinstance(num_tokens, bool) or \
                num_tokens < 1:
            raise ValueError(f"`num_tokens` must be >= 1. Received: "
                             f"num_tokens={num_tokens}.")
        if sparse:
            raise ValueError(f"CategoryEncoding: rnncore's outputs are dense; sparse must be "
                             f"False. Received: sparse={sparse!r}")
        self.num_tokens, self.output_mode, self.sparse = int(num_tokens), output_mode, False
        self._count_weights = None
        self.built = True

    def _eager_call(self, inputs, training=False, mask=None, count_weights=None):
        if count_weights is not None:
            if self.output_mode != "count":
                raise ValueError(f"`count_weights` is not used when `output_mode` is not "
                                 f"`'count'`. Received `count_weights={count_weights}`.")
            count_weights = np.asarray(count_weights, dtype=self.dtype)
            if count_weights.shape != np.shape(inputs):
                raise ValueError(f"CategoryEncoding: count_weights must have the inputs' shape "
                                 f"{np.shape(inputs)}, got {count_weights.shape}")
        self._count_weights = count_weights
        try:
            return super()._eager_call(inputs, training, mask)
        finally:
            self._count_weights = None

    def check_input(self, x):
        ids = as_ids(x, "CategoryEncoding")
        if (ids < 0).any():
            raise ValueError(f"CategoryEncoding: inputs must be non-negative ids below "
                             f"num_tokens={self.num_tokens}, got {int(ids.min())}")
        return ids

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        if not shape:
            return (self.num_tokens,)
        if self.output_mode == "one_hot" and (shape[-1] != 1 or len(shape) == 1):
            return shape + (self.num_tokens,)
        return shape[:-1] + (self.num_tokens,)

    def forward(self, inputs, training=False, mask=None):
        return encode_ids(inputs, self.output_mode, self.num_tokens, self.dtype,
                          self._count_weights)

    def backward(self, d_outputs):
        """Ids have no gradient."""
        return None

    def get_config(self):
        config = super().get_config()
        config.update({"num_tokens": self.num_tokens, "output_mode": self.output_mode})
        return config
