"""IntegerLookup: integers to vocabulary indices, as Keras's."""
import numbers

import numpy as np

from ._index_lookup import IndexLookup


class IntegerLookup(IndexLookup):
    """Maps integers to indices from a vocabulary, as Keras's ``IntegerLookup``: the arguments
    of :class:`StringLookup`, with integer tokens (``oov_token=-1``, ``mask_token`` e.g. 0).
    Several OOV indices take ``value % num_oov_indices`` (``oov_method="floormod"``) or the
    FarmHash of the value's decimal string (``"farmhash"``, with ``salt``: SipHash).

    >>> layer = IntegerLookup(vocabulary=[12, 36, 1138, 42])
    >>> layer(np.array([[12, 1138, 42], [42, 1000, 36]]))
    array([[1, 3, 4],
           [4, 0, 2]])
    """

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1,
                 vocabulary=None, vocabulary_dtype="int64", idf_weights=None, invert=False,
                 output_mode="int", sparse=False, pad_to_max_tokens=False,
                 oov_method="floormod", salt=None, name=None, **kwargs):
        if vocabulary_dtype != "int64":
            raise ValueError(f"Only `vocabulary_dtype='int64'` is supported at this time. "
                             f"Received: vocabulary_dtype={vocabulary_dtype}")
        for argument, token in (("mask_token", mask_token), ("oov_token", oov_token)):
            if token is not None and (not isinstance(token, numbers.Integral)
                                      or isinstance(token, bool)):
                raise ValueError(f"IntegerLookup: `{argument}` must be an integer or None. "
                                 f"Received: {argument}={token!r}")
        self.vocabulary_dtype = "int64"
        super().__init__(max_tokens, num_oov_indices,
                         None if mask_token is None else int(mask_token),
                         None if oov_token is None else int(oov_token), vocabulary,
                         idf_weights, invert, output_mode, pad_to_max_tokens, sparse,
                         oov_method=oov_method, salt=salt, name=name, **kwargs)

    _sort_key = staticmethod(lambda token: token)

    def _values(self, x, argument):
        arr = np.asarray(x)
        if arr.dtype == object:
            try:
                arr = arr.astype(np.int64)
            except (TypeError, ValueError):
                pass
        if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and \
                np.array_equal(arr, np.round(arr)):
            arr = arr.astype(np.int64)  # whole numbers a model's float input carried
        if arr.dtype.kind not in "iub":
            raise ValueError(f"IntegerLookup: {argument} must be integers, got an array of "
                             f"dtype {arr.dtype}")
        return arr.astype(np.int64, copy=False)

    def _indices(self, flat):
        # vectorised instead of a dict look-up per value, so that ids of IMDB-sized data
        # (millions of values) map in a fraction of a second: a dense table over the
        # tokens' range when it is compact (the usual word ids), else a sorted search
        if not self._tokens:
            return np.full(len(flat), -1, np.int64)
        tokens = np.asarray(self._tokens, np.int64)
        index = np.arange(self._token_start(), self._token_start() + len(tokens))
        low, high = int(tokens.min()), int(tokens.max())
        inside = (flat >= low) & (flat <= high)
        if high - low <= 4 * len(tokens) + 1024:
            table = np.full(high - low + 1, -1, np.int64)
            table[tokens - low] = index
            return np.where(inside, table[np.where(inside, flat - low, 0)], -1)
        order = np.argsort(tokens)
        at = np.searchsorted(tokens[order], flat).clip(max=len(tokens) - 1)
        return np.where(inside & (tokens[order][at] == flat), index[order][at], -1)

    @staticmethod
    def _from_lines(lines):
        return [int(line) for line in lines]

    @staticmethod
    def _listed(vocabulary):
        return [int(v) for v in vocabulary]

    def _hash_key(self, value):
        if self.oov_method == "farmhash":
            return str(value).encode("utf-8")
        return value

    @staticmethod
    def _inverted(values):
        return values.astype(np.int64)

    def get_config(self):
        config = super().get_config()
        config["vocabulary_dtype"] = self.vocabulary_dtype
        return config
