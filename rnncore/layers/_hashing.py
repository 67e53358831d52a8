"""Hashing: values to one of ``num_bins`` bins by TensorFlow's string hashes, as Keras's."""
import numbers

import numpy as np

from ._string_hash import fingerprint64, siphash
from ._tf_data import TFDataLayer
from ._vocabulary import encode_ids

_OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count")


def standardize_salt(salt, refusal):
    """``salt`` as the SipHash key Keras keeps, ``[k0, k1]``, from a pair of ints or one int
    ``k`` (``[k, k]``); None stays None. Anything else raises ValueError with `refusal`
    (the caller's Keras message) followed by the value received."""
    if salt is None:
        return None
    if isinstance(salt, (tuple, list)) and len(salt) == 2 and all(
            isinstance(s, numbers.Integral) for s in salt):
        return [int(s) for s in salt]
    if isinstance(salt, numbers.Integral) and not isinstance(salt, bool):
        return [int(salt), int(salt)]
    raise ValueError(f"{refusal} Received: salt={salt!r}.")


class Hashing(TFDataLayer):
    """Hashes strings or integers into ``num_bins`` bins, exactly as Keras's layer does.

    A value's bin is ``fingerprint64(s) % num_bins`` (FarmHash Fingerprint64, TensorFlow's
    ``to_hash_bucket_fast``) or, with ``salt``, ``siphash(salt, s) % num_bins`` (SipHash-2-4,
    ``to_hash_bucket_strong``), where ``s`` is the UTF-8 bytes of a string, or the decimal
    string of an integer (a float is first truncated to an integer, as Keras casts it). Both
    hashes are computed in plain Python (rnncore.layers._string_hash), so TensorFlow is not
    needed. With ``mask_value``, that value goes to bin 0 and the others to bins 1 ..
    ``num_bins - 1``.

    Outputs: int64 bins of the inputs' shape in "int" mode (``dtype="int32"`` for int32),
    else float32 one-hot rows or bags of ``num_bins``.

    >>> Hashing(num_bins=3)(np.array([["A"], ["B"], ["C"], ["D"], ["E"]]))
    array([[1],
           [0],
           [1],
           [1],
           [2]])
    """

    _takes_strings = True
    _integer_dtype_ok = True  # dtype="int32": integer outputs, as in Keras

    def __init__(self, num_bins, mask_value=None, salt=None, output_mode="int", sparse=False,
                 **kwargs):
        dtype = kwargs.pop("dtype", None)
        if isinstance(dtype, dict):  # Keras's serialized DTypePolicy
            dtype = dtype.get("config", {}).get("name")
        if output_mode == "int":  # Keras: int64 unless int32 is asked for
            super().__init__(dtype=(dtype or "int64") if dtype in (None, "int32", "int64")
                             else None, **kwargs)
        else:
            super().__init__(dtype=dtype, **kwargs)
        if not isinstance(num_bins, numbers.Integral) or isinstance(num_bins, bool) or \
                num_bins <= 0:
            raise ValueError(f"The `num_bins` for `Hashing` cannot be `None` or non-positive "
                             f"values. Received: num_bins={num_bins!r}.")
        if output_mode not in _OUTPUT_MODES:
            raise ValueError(f"Invalid value for argument `output_mode`. Expected one of "
                             f"{_OUTPUT_MODES}. Received: output_mode={output_mode!r}")
        if output_mode == "int":
            if dtype not in (None, "int32", "int64"):
                raise ValueError(f"When `output_mode=\"int\"`, `dtype` should be an integer "
                                 f"type, 'int32' or 'in64'. Received: dtype={dtype}")
            self._int_dtype = dtype or "int64"
        if sparse:
            raise ValueError(f"Hashing: rnncore's outputs are dense; sparse must be False. "
                             f"Received: sparse={sparse!r}")
        salt = standardize_salt(salt, "The `salt` argument for `Hashing` can only be a tuple "
                                      "of size 2 integers, or a single integer.")
        self.num_bins, self.mask_value, self.salt = int(num_bins), mask_value, salt
        self.output_mode, self.sparse = output_mode, False
        self.built = True

    def check_input(self, x):
        if hasattr(x, "numpy") and not isinstance(x, np.ndarray):
            x = x.numpy()
        arr = x if isinstance(x, np.ndarray) else np.asarray(x)
        if arr.dtype.kind not in "iubfUSO":
            raise ValueError(f"Hashing: inputs must be strings or numbers, got an array of "
                             f"dtype {arr.dtype}")
        return arr

    def _key(self, value):
        """The bytes TensorFlow hashes for one value."""
        if isinstance(value, (bytes, np.bytes_)):
            return bytes(value)
        if isinstance(value, str):
            return value.encode("utf-8")
        if isinstance(value, (numbers.Integral, numbers.Real)):
            return str(int(value)).encode("ascii")  # tf.cast to int64, then tf.as_string
        raise ValueError(f"Hashing: expected strings or numbers, got {value!r} of type "
                         f"{type(value).__name__}")

    def _bins(self, values):
        bins = self.num_bins
        masked = None
        if self.mask_value is not None and bins > 1:
            bins -= 1
            masked = values == self.mask_value
        if self.salt is not None:
            out = [siphash(self.salt, self._key(v)) % bins for v in values.ravel().tolist()]
        else:
            out = [fingerprint64(self._key(v)) % bins for v in values.ravel().tolist()]
        out = np.array(out, dtype=np.int64).reshape(values.shape)
        if masked is not None:
            out = np.where(masked, 0, out + 1)
        return out

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        if len(input_shape) == 0:
            return (self.num_bins,)
        return tuple(input_shape[:-1]) + (self.num_bins,)

    def forward(self, inputs, training=False, mask=None):
        values = inputs
        if self.output_mode == "one_hot" and values.shape[-1] == 1:
            values = values[..., 0]
        bins = self._bins(values)
        if self.output_mode == "int":
            return bins.astype(self._int_dtype)
        return encode_ids(bins, self.output_mode, self.num_bins, self.dtype)

    def backward(self, d_outputs):
        """Bins have no gradient."""
        return None

    def get_config(self):
        config = super().get_config()
        if self.output_mode == "int":
            config["dtype"] = {"module": "keras", "class_name": "DTypePolicy",
                               "config": {"name": self._int_dtype}, "registered_name": None}
        config.update({"num_bins": self.num_bins, "salt": self.salt,
                       "mask_value": self.mask_value, "output_mode": self.output_mode,
                       "sparse": False})
        return config
