"""StringLookup: strings to vocabulary indices, as Keras's."""
import numpy as np

from ._index_lookup import IndexLookup


class StringLookup(IndexLookup):
    """Maps strings to integer indices from a vocabulary, as Keras's ``StringLookup``.

    Parameters
    ----------
    max_tokens : int or None
        Largest vocabulary size, mask and OOV indices included (> 1).
    num_oov_indices : int
        Indices for out-of-vocabulary strings (0: they are an error; more than 1: a string
        goes to ``fingerprint64(utf8) % num_oov_indices``, as Keras hashes it).
    mask_token : str or None
        A string that maps to index 0 in "int" mode (and is dropped from the other modes).
    oov_token : str
        What ``invert=True`` gives for an OOV index.
    vocabulary : list, array or str (a file with one term a line), optional
    idf_weights : list of float, "tf_idf" mode with a given vocabulary.
    invert : bool
        Map indices back to strings ("int" mode only).
    output_mode : {"int", "one_hot", "multi_hot", "count", "tf_idf"}
    pad_to_max_tokens : bool
        Non-int modes: ``max_tokens`` columns whatever the vocabulary's size.
    sparse : bool
        Only False: rnncore's outputs are dense.
    encoding : str
        Encoding of ``bytes`` inputs.
    salt : int or pair of int
        Key of the SipHash used for OOV strings instead of FarmHash.

    Outputs: int64 indices of the inputs' shape in "int" mode; float32 one-hot rows or bags
    otherwise (Keras's eager ones are int64 for "one_hot"/"multi_hot"/"count"; its model's
    output spec, which rnncore follows, is float32); strings (an object array of ``str``)
    with ``invert=True``.

    >>> layer = StringLookup(vocabulary=["a", "b", "c"])
    >>> layer(np.array([["a", "c"], ["d", "b"]]))
    array([[1, 3],
           [0, 2]])
    """

    _takes_strings = True

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]",
                 vocabulary=None, idf_weights=None, invert=False, output_mode="int",
                 pad_to_max_tokens=False, sparse=False, encoding="utf-8", name=None, salt=None,
                 **kwargs):
        self.encoding = encoding
        for argument, token in (("mask_token", mask_token), ("oov_token", oov_token)):
            if token is not None and not isinstance(token, str):
                raise ValueError(f"StringLookup: `{argument}` must be a string or None. "
                                 f"Received: {argument}={token!r}")
        super().__init__(max_tokens, num_oov_indices, mask_token, oov_token, vocabulary,
                         idf_weights, invert, output_mode, pad_to_max_tokens, sparse,
                         name=name, salt=salt, **kwargs)

    _sort_key = staticmethod(lambda token: token.encode("utf-8"))

    def _decode(self, s):
        if isinstance(s, (bytes, np.bytes_)):
            return bytes(s).decode(self.encoding)
        if isinstance(s, str):
            return str(s)
        raise ValueError(f"StringLookup: expected strings, got {s!r} of type "
                         f"{type(s).__name__}")

    def _values(self, x, argument):
        arr = x if isinstance(x, np.ndarray) else np.asarray(x, dtype=object)
        if arr.dtype.kind not in "USO":
            raise ValueError(f"StringLookup: {argument} must be strings, got an array of dtype "
                             f"{arr.dtype}")
        out = np.empty(arr.shape, dtype=object)
        out.flat[:] = [self._decode(s) for s in arr.flat]
        return out

    @staticmethod
    def _from_lines(lines):
        return lines

    @staticmethod
    def _listed(vocabulary):
        return list(vocabulary)

    def _hash_key(self, value):
        return value.encode("utf-8")

    @staticmethod
    def _inverted(values):
        return values

    def get_config(self):
        config = super().get_config()
        config["encoding"] = self.encoding
        return config
