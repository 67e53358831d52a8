"""HashedCrossing: crosses of categorical features hashed into bins, as Keras's."""
import numbers

import numpy as np

from ._string_hash import cross_fingerprint
from ._tf_data import TFDataLayer
from ._vocabulary import encode_ids


class HashedCrossing(TFDataLayer):
    """Crosses two or more categorical features (strings or integers, each of shape
    (batch,) or (batch, 1)) and hashes each combination into one of ``num_bins`` bins, as
    ``tf.sparse.cross_hashed`` (which Keras calls) does: each string by FarmHash
    Fingerprint64, each integer as its own 64-bit word, chained with TensorFlow's
    FingerprintCat64 (rnncore.layers._string_hash, plain Python).

    Outputs: int64 bins of the inputs' shape ("int"), or float32 one-hot rows of
    ``num_bins`` ("one_hot").

    >>> HashedCrossing(num_bins=5)([np.array([1, 2]), np.array(["A", "B"])]).shape
    (2,)
    """

    _takes_strings = True

    def __init__(self, num_bins, output_mode="int", sparse=False, name=None, dtype=None,
                 **kwargs):
        if isinstance(dtype, dict):  # Keras's serialized DTypePolicy
            dtype = dtype.get("config", {}).get("name")
        kwargs.pop("trainable", None)  # not Keras's argument
        super().__init__(name=name, dtype=None if output_mode == "int" else dtype, **kwargs)
        if not isinstance(num_bins, numbers.Integral) or isinstance(num_bins, bool) or \
                num_bins <= 0:
            raise ValueError(f"HashedCrossing: `num_bins` must be a positive integer. "
                             f"Received: num_bins={num_bins!r}")
        if output_mode not in ("int", "one_hot"):
            raise ValueError(f"HashedCrossing: `output_mode` must be one of ('int', "
                             f"'one_hot'). Received: output_mode={output_mode!r}")
        if sparse:
            raise ValueError(f"HashedCrossing: rnncore's outputs are dense; sparse must be "
                             f"False. Received: sparse={sparse!r}")
        if output_mode == "int" and dtype not in (None, "int32", "int64"):
            raise ValueError(f"HashedCrossing: in 'int' mode `dtype` must be 'int32' or "
                             f"'int64'. Received: dtype={dtype}")
        self._int_dtype = dtype or "int64"
        self.num_bins, self.output_mode, self.sparse = int(num_bins), output_mode, False
        self.built = True

    def _eager_call(self, inputs, training=False, mask=None):
        # several inputs: checked together, no batch-dimension rule (Keras takes scalars)
        return self.forward(self.check_input(inputs))

    def check_input(self, x):
        if not isinstance(x, (list, tuple)):
            raise ValueError(f"`HashedCrossing` should be called on a list or tuple of inputs. "
                             f"Received: inputs={x!r:.200}")
        if len(x) < 2:
            raise ValueError(f"`HashedCrossing` should be called on at least two inputs. "
                             f"Received: inputs={x!r:.200}")
        arrays = [np.asarray(v.numpy() if hasattr(v, "numpy") else v) for v in x]
        shape = arrays[0].shape
        if len(shape) > 2 or (len(shape) == 2 and shape[-1] != 1):
            raise ValueError(f"All `HashedCrossing` inputs should have shape `()`, "
                             f"`(batch_size)` or `(batch_size, 1)`. Received shapes: "
                             f"{[a.shape for a in arrays]}")
        if any(a.shape != shape for a in arrays[1:]):
            raise ValueError(f"All `HashedCrossing` inputs should have equal shape. Received "
                             f"shapes: {[a.shape for a in arrays]}")
        if any(a.dtype.kind not in "iuSUO" for a in arrays):
            raise ValueError(f"All `HashedCrossing` inputs should have an integer or string "
                             f"dtype. Received dtypes: {[str(a.dtype) for a in arrays]}")
        return arrays

    def compute_output_shape(self, input_shape):
        if len(input_shape) < 2 or not all(isinstance(s, (list, tuple)) for s in input_shape):
            raise ValueError(f"Expected as input a list/tuple of 2 tensors. Received "
                             f"input_shape={input_shape}")
        shape = tuple(input_shape[0])
        if self.output_mode == "int":
            return shape
        if shape and shape[-1] != 1:
            return shape + (self.num_bins,)
        return shape[:-1] + (self.num_bins,)

    @staticmethod
    def _word(value):
        if isinstance(value, str):
            return value.encode("utf-8")
        if isinstance(value, (bytes, np.bytes_)):
            return bytes(value)
        return int(value)

    def forward(self, inputs, training=False, mask=None):
        shape = inputs[0].shape
        columns = [[self._word(v) for v in a.ravel().tolist()] for a in inputs]
        bins = np.array([cross_fingerprint(row) % self.num_bins for row in zip(*columns)],
                        dtype=np.int64).reshape(shape)
        if self.output_mode == "int":
            return bins.astype(self._int_dtype)
        return encode_ids(bins, "one_hot", self.num_bins, self.dtype)

    def backward(self, d_outputs):
        """Bins have no gradient."""
        return None

    def get_config(self):
        """Keras's config: a plain dtype name and no ``trainable``."""
        return {"num_bins": self.num_bins, "output_mode": self.output_mode, "sparse": False,
                "name": self.name,
                "dtype": self._int_dtype if self.output_mode == "int" else self.dtype}
