"""IndexLookup, the base of StringLookup and IntegerLookup: values to vocabulary indices (or
back, with ``invert=True``), as Keras's lookup layers (which run on TensorFlow's hash tables)
map them.

The index space is Keras's: in "int" mode a ``mask_token`` takes index 0, then come
``num_oov_indices`` OOV indices, then the vocabulary's terms. Values outside the vocabulary go
to the one OOV index, or, with several, to ``hash(value) % num_oov_indices`` (strings: FarmHash
Fingerprint64 of their UTF-8 bytes, or SipHash under ``salt``; integers: ``value %
num_oov_indices``), exactly as Keras bins them.
"""
import collections
import numbers

import numpy as np

from ._hashing import standardize_salt
from ._string_hash import fingerprint64, siphash
from ._tf_data import TFDataLayer
from ._vocabulary import (adapt_batches, encode_ids, inverse_document_frequency,
                          positive_int, ranked_tokens, read_vocabulary_file, repeated)

_OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


class IndexLookup(TFDataLayer):
    """What StringLookup and IntegerLookup share; see :class:`StringLookup` for the
    arguments. Subclasses say how values are read (``_values``) and hashed (``_hash_key``)."""

    _takes_strings = False

    def __init__(self, max_tokens, num_oov_indices, mask_token, oov_token, vocabulary=None,
                 idf_weights=None, invert=False, output_mode="int", pad_to_max_tokens=False,
                 sparse=False, oov_method="floormod", salt=None, name=None, **kwargs):
        caller = type(self).__name__
        # Keras's hidden arguments, found in its configs and in rnncore's
        has_input_vocabulary = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        kwargs.pop("vocabulary_size", None)
        if max_tokens is not None and (not positive_int(max_tokens) or max_tokens <= 1):
            raise ValueError(f"{caller}: if set, `max_tokens` must be an integer greater than "
                             f"1. Received: max_tokens={max_tokens!r}")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(f"{caller}: if pad_to_max_tokens is True, must set `max_tokens`. "
                             f"Received: max_tokens={max_tokens}")
        if not isinstance(num_oov_indices, numbers.Integral) or \
                isinstance(num_oov_indices, bool) or num_oov_indices < 0:
            raise ValueError(f"{caller}: `num_oov_indices` must be an integer greater than or "
                             f"equal to 0. Received: num_oov_indices={num_oov_indices!r}")
        if oov_method not in ("floormod", "farmhash"):
            raise ValueError(f"{caller}: `oov_method` must be one of ('floormod', "
                             f"'farmhash'). Received: oov_method={oov_method!r}")
        if salt is not None:
            if not self._takes_strings and oov_method != "farmhash":
                raise ValueError(f"`salt` can only be used when `oov_method='farmhash'`. "
                                 f"Received: oov_method={oov_method}")
            salt = standardize_salt(salt, f"The `salt` argument for `{caller}` can only be a "
                                          "tuple of 2 integers, or a single integer.")
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        if output_mode not in _OUTPUT_MODES:
            raise ValueError(f"{caller}: `output_mode` must be one of {_OUTPUT_MODES}. "
                             f"Received: output_mode={output_mode!r}")
        if invert and output_mode != "int":
            raise ValueError(f"`output_mode` must be `'int'` when `invert` is true. Received: "
                             f"output_mode={output_mode}")
        if sparse:
            raise ValueError(f"{caller}: rnncore's outputs are dense; sparse must be False. "
                             f"Received: sparse={sparse!r}")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(f"`idf_weights` should only be set if `output_mode` is "
                             f"`'tf_idf'`. Received: idf_weights={idf_weights} and "
                             f"output_mode={output_mode}")
        if output_mode == "tf_idf" and has_input_vocabulary and idf_weights is None:
            raise ValueError("When specifying the `vocabulary` argument, in TF-IDF output "
                             "mode, the `idf_weights` argument must also be provided.")
        kwargs.pop("dtype", None)  # Keras ignores both: its outputs' types follow the mode
        kwargs.pop("trainable", None)
        super().__init__(name=name, **kwargs)
        self.max_tokens = max_tokens
        self.num_oov_indices = int(num_oov_indices)
        self.mask_token, self.oov_token = mask_token, oov_token
        self.invert, self.output_mode = bool(invert), output_mode
        self.pad_to_max_tokens, self.sparse = bool(pad_to_max_tokens), False
        self.oov_method, self.salt = oov_method, salt
        self._has_input_vocabulary = bool(has_input_vocabulary)
        self._tokens = None
        self._index = {}
        self._idf = None
        self.reset_state()
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        # what get_config writes, as Keras's input_vocabulary: the vocabulary as passed (special
        # tokens only where the user gave them); None for a file path or an adapted one, which
        # a .keras file keeps in assets/<layer path>/vocabulary.txt instead
        self._input_vocabulary = None if vocabulary is None or isinstance(vocabulary, str) \
            else self._listed(_plain_list(vocabulary))
        self._input_idf_weights = None if idf_weights is None else \
            [float(w) for w in _plain_list(idf_weights)]
        self.built = True

    # ---- the index space -------------------------------------------------------------------
    def _oov_start(self):
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start(self):
        return self._oov_start() + self.num_oov_indices

    def _special_tokens(self):
        return [self.mask_token] * self._oov_start() + [self.oov_token] * self.num_oov_indices

    def vocabulary_size(self):
        """Size of the vocabulary, mask and OOV indices included."""
        return self._token_start() + len(self._tokens or [])

    def get_vocabulary(self, include_special_tokens=True):
        """The vocabulary, a term's position being its index (special tokens first)."""
        tokens = list(self._tokens or [])
        return self._special_tokens() + tokens if include_special_tokens else tokens

    def _depth(self):
        return self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()

    @property
    def idf_weights(self):
        """The idf weight of each index ("tf_idf" mode), or None."""
        return self._idf

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Set the vocabulary (a list, a 1-D array, or the path of a text file with one term a
        line) and, in "tf_idf" mode, the idf weight of each term. The special tokens may lead
        the list in the order ``get_vocabulary()`` gives them."""
        caller = type(self).__name__
        if self.output_mode == "tf_idf" and idf_weights is None:
            raise ValueError("`idf_weights` must be set if output_mode is 'tf_idf'.")
        if self.output_mode != "tf_idf" and idf_weights is not None:
            raise ValueError(f"`idf_weights` should only be set if output_mode is `'tf_idf'`. "
                             f"Received: output_mode={self.output_mode} and "
                             f"idf_weights={idf_weights}")
        if isinstance(vocabulary, str):
            if self.output_mode == "tf_idf":
                raise ValueError("output_mode `'tf_idf'` does not support loading a "
                                 "vocabulary from file.")
            vocabulary = self._from_lines(read_vocabulary_file(vocabulary, "utf-8", caller))
        if hasattr(vocabulary, "numpy") and not isinstance(vocabulary, np.ndarray):
            vocabulary = vocabulary.numpy()
        vocabulary = list(self._values(np.asarray(vocabulary, dtype=object), "vocabulary")
                          .ravel())
        if not vocabulary:
            raise ValueError(f"Cannot set an empty vocabulary. Received: vocabulary="
                             f"{vocabulary}")
        special = self._special_tokens()
        found_special = vocabulary[:len(special)] == special
        tokens = vocabulary[len(special):] if found_special else vocabulary
        twice = repeated(tokens)
        if twice:
            raise ValueError(f"The passed vocabulary has at least one repeated term. Please "
                             f"uniquify your dataset. The repeated terms are: {twice}")
        for argument, token, reserved in (("mask_token", self.mask_token, True),
                                          ("oov_token", self.oov_token, self.invert)):
            if token is not None and reserved and token in tokens:
                raise ValueError(
                    f"Found reserved {'mask' if argument == 'mask_token' else 'OOV'} token at "
                    f"unexpected location in `vocabulary`. Note that passed `vocabulary` does "
                    f"not need to include the OOV and mask tokens. Either remove all mask and "
                    f"OOV tokens, or include them only at the start of the vocabulary in "
                    f"precisely this order: {special}. Received: {argument}={token} at "
                    f"vocabulary index {len(vocabulary) - 1 - vocabulary[::-1].index(token)}")
        size = self._token_start() + len(tokens)
        if self.max_tokens is not None and size > self.max_tokens:
            raise ValueError(f"Attempted to set a vocabulary larger than the maximum vocab "
                             f"size. Received vocabulary size is {size}; `max_tokens` is "
                             f"{self.max_tokens}.")
        if idf_weights is not None:
            if hasattr(idf_weights, "numpy") and not isinstance(idf_weights, np.ndarray):
                idf_weights = idf_weights.numpy()
            idf_weights = np.asarray(idf_weights, dtype=np.float64)
            if idf_weights.ndim != 1 or len(idf_weights) != len(vocabulary):
                raise ValueError(f"`idf_weights` must be 1-D and the same length as "
                                 f"vocabulary. Received: idf_weights of shape "
                                 f"{idf_weights.shape}; len(vocabulary) is {len(vocabulary)}")
            if not found_special:  # no document frequencies for them: Keras uses the mean
                idf_weights = np.concatenate([[np.mean(idf_weights)] * self._token_start(),
                                              idf_weights])
        self._set_tokens(tokens, idf_weights)

    def _set_tokens(self, tokens, idf):
        self._tokens = list(tokens)
        self._index = {t: i for i, t in enumerate(self._tokens, self._token_start())}
        if idf is not None:
            idf = np.asarray(idf, dtype="float32")
            idf = np.pad(idf, (0, max(self._depth() - len(idf), 0)))
        self._idf = idf

    # ---- adapt -----------------------------------------------------------------------------
    def reset_state(self):
        self._counts = collections.Counter()
        self._doc_counts = collections.Counter()
        self._num_documents = 0

    def adapt(self, data, batch_size=None, steps=None):
        """Learn the vocabulary (and in "tf_idf" mode the idf weights) from `data`: a list or
        array of values, or an iterable of batches (a generator, a PyDataset,
        ``tf_dataset.as_numpy_iterator()``; a batch ``(x, y)`` gives its ``x``). The
        vocabulary is the values by descending count, ties broken by descending value, cut
        to ``max_tokens``. In "tf_idf" mode each row of a 2-D batch is a document (each
        value of a 1-D array given whole is one, a 1-D batch of an iterable is one)."""
        caller = f"{type(self).__name__}.adapt"
        self.reset_state()
        for batch, whole in adapt_batches(data, steps, caller):
            if whole:
                values = self._as_values(batch, "data")
                self.update_state(values.reshape(-1, 1) if values.ndim == 1 else values)
            else:
                self.update_state(batch)
        self.finalize_state()

    def update_state(self, data):
        """Add the value counts of one batch (see `adapt`)."""
        if self._has_input_vocabulary:
            raise ValueError(f"Cannot adapt layer '{self.name}' after setting a static "
                             f"vocabulary via `vocabulary` argument or `set_vocabulary()` "
                             f"method.")
        values = self._as_values(data, "data")
        if values.ndim < 2:
            values = values.reshape(1, -1)
        # counted by NumPy, then added: a Counter fed value by value is ten times slower
        uniques, counts = np.unique(values.ravel(), return_counts=True)
        self._counts.update(dict(zip(uniques.tolist(), counts.tolist())))
        if self.output_mode == "tf_idf":
            for document in values.reshape(len(values), -1):
                self._doc_counts.update(set(document.tolist()))
            self._num_documents += len(values)

    def finalize_state(self):
        """Build the vocabulary from the counts `update_state` gathered."""
        counts = self._counts
        for special in (self.mask_token, self.oov_token):
            counts.pop(special, None)
        if self._has_input_vocabulary or not counts:
            return
        limit = self.max_tokens - self._token_start() if self.max_tokens else None
        tokens = ranked_tokens(counts, limit, self._sort_key)
        idf = None
        if self.output_mode == "tf_idf":
            idf = inverse_document_frequency(tokens, self._doc_counts, self._num_documents,
                                             "float32")
            # Keras gives each OOV index the mean weight
            idf = np.concatenate([idf[:1]] * self._token_start() + [idf[1:]])
        self._set_tokens(tokens, idf)
        self.reset_state()

    # ---- calling ---------------------------------------------------------------------------
    def _as_values(self, x, argument):
        if hasattr(x, "numpy") and not isinstance(x, np.ndarray):
            x = x.numpy()
        return self._values(x, argument)

    def check_input(self, x):
        return self._as_values(x, "inputs") if not self.invert else _as_indices(
            x, type(self).__name__)

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        shape = tuple(input_shape)
        if self.output_mode == "one_hot" and not (len(shape) > 1 and shape[-1] == 1):
            return shape + (self._depth(),)
        return shape[:-1] + (self._depth(),)

    def _lookup(self, values):
        """Indices of `values` (an array of the vocabulary's type), OOV and mask handled."""
        flat = values.ravel()
        ids = self._indices(flat)
        oov = ids < 0
        if self.mask_token is not None:
            masked = flat == self.mask_token
            # the mask is 0 in "int" mode, dropped from the other modes' encodings
            ids[masked] = 0 if self.output_mode == "int" else np.iinfo(np.int64).max
            oov &= ~masked
        if oov.any():
            if self.num_oov_indices == 0:
                found = flat[oov].tolist()
                raise ValueError(f"When `num_oov_indices=0` all inputs should be in "
                                 f"vocabulary, found OOV values {found}, consider setting "
                                 f"`num_oov_indices=1`.")
            if self.num_oov_indices == 1:
                ids[oov] = self._oov_start()
            else:
                ids[oov] = [self._oov_bin(v) + self._oov_start() for v in flat[oov].tolist()]
        return ids.reshape(values.shape)

    def _indices(self, flat):
        """The vocabulary index of each of the 1-D array `flat`, -1 where it has none."""
        return np.fromiter((self._index.get(v, -1) for v in flat.tolist()), np.int64,
                           len(flat))

    def _oov_bin(self, value):
        key = self._hash_key(value)
        if isinstance(key, int):
            return key % self.num_oov_indices
        h = siphash(self.salt, key) if self.salt is not None else fingerprint64(key)
        return h % self.num_oov_indices

    def _inverse(self, ids):
        vocabulary = self.get_vocabulary()
        out = np.empty(ids.shape, dtype=object)
        out.flat[:] = [vocabulary[i] if self._token_start() <= i < len(vocabulary)
                       else self.oov_token for i in ids.ravel().tolist()]
        if self.mask_token is not None:
            out[ids == 0] = self.mask_token
        return self._inverted(out)

    def forward(self, inputs, training=False, mask=None):
        """Values -> int64 indices ("int"), one-hot rows or bags (float32, depth
        ``vocabulary_size()`` or ``max_tokens``); with ``invert``, indices -> values."""
        if self.invert:
            return self._inverse(inputs)
        ids = self._lookup(inputs)
        if self.output_mode == "int":
            return ids
        if self._tokens is None and not self.pad_to_max_tokens:
            raise RuntimeError(f"When using `output_mode={self.output_mode}` and "
                               f"`pad_to_max_tokens=False`, you must set the layer's "
                               f"vocabulary before calling it. Either pass a `vocabulary` "
                               f"argument to the layer, or call `adapt` with some sample "
                               f"data.")
        mode = "count" if self.output_mode == "tf_idf" else self.output_mode
        out = encode_ids(ids, mode, self._depth(), "float32")
        return out * self._idf if self.output_mode == "tf_idf" else out

    def backward(self, d_outputs):
        """Lookups have no gradient."""
        return None

    # ---- serialisation ---------------------------------------------------------------------
    def get_config(self):
        """Keras's config: ``vocabulary`` and ``idf_weights`` as the constructor was given them
        (None for a vocabulary file or an adapted or set one, which ``model.save`` writes to
        ``assets/<layer path>/vocabulary.txt`` as Keras does); ``has_input_vocabulary`` (a
        hidden Keras argument) says whether the rebuilt layer may still be adapted."""
        config = super().get_config()
        has_vocabulary = self._tokens is not None
        config.update({
            "invert": self.invert, "max_tokens": self.max_tokens,
            "num_oov_indices": self.num_oov_indices, "oov_token": self.oov_token,
            "mask_token": self.mask_token, "output_mode": self.output_mode,
            "sparse": False, "pad_to_max_tokens": self.pad_to_max_tokens,
            "idf_weights": self._input_idf_weights,
            "vocabulary": self._input_vocabulary,
            "vocabulary_size": self.vocabulary_size() if has_vocabulary else None,
            "oov_method": self.oov_method, "salt": self.salt,
            "has_input_vocabulary": self._has_input_vocabulary})
        if self._tf_idf_out_of_config():
            # Keras keeps these idf weights in its weights file, where rnncore does not write
            # them: the config holds the vocabulary, special tokens first, and the weights
            config["vocabulary"] = self._listed(self.get_vocabulary())
            config["idf_weights"] = [float(w) for w in self._idf[:self.vocabulary_size()]]
        return config

    def _tf_idf_out_of_config(self):
        """Whether this is a tf_idf layer whose vocabulary and idf weights were adapted or set
        rather than passed to the constructor."""
        return self.output_mode == "tf_idf" and self._input_vocabulary is None and \
            self._tokens is not None and self._idf is not None


def _plain_list(values):
    """A list of Python values from a list, an array or a tensor."""
    if hasattr(values, "numpy") and not isinstance(values, np.ndarray):
        values = values.numpy()
    if isinstance(values, np.ndarray):
        return [v.decode("utf-8") if isinstance(v, bytes) else v for v in values.tolist()]
    return list(values)


def _as_indices(x, caller):
    arr = np.asarray(x)
    if arr.dtype.kind not in "iu":
        raise ValueError(f"{caller} with invert=True maps indices back to values: inputs must "
                         f"be integers, got an array of dtype {arr.dtype}")
    return arr.astype(np.int64, copy=False)
