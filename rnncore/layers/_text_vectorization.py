"""TextVectorization: strings to token ids or bags of tokens, with a vocabulary learnt by
``adapt``, as Keras's layer (which runs on TensorFlow's string ops) does in plain Python."""
import collections
import re

import numpy as np

from ._tf_data import TFDataLayer
from ._vocabulary import (adapt_batches, inverse_document_frequency, ranked_tokens,
                          read_vocabulary_file, repeated)
from ._vocabulary import positive_int as _positive_int

# Keras's regex, run by TensorFlow on UTF-8 bytes: ASCII punctuation only
_PUNCTUATION = re.compile(r'[!"#$%&()\*\+,\-\./:;<=>?@\[\\\]^_`{|}~\']')
# tf.strings.lower without an encoding changes ASCII letters only ("ÉCOLE" -> "École")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
# tf.strings.split splits on ASCII whitespace only (U+00A0 stays inside a token)
_WHITESPACE = re.compile(r"[ \t\n\v\f\r]+")

_STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
_SPLIT = ("whitespace", "character")
_OUTPUT_MODES = ("int", "multi_hot", "count", "tf_idf")
_MASK, _OOV = "", "[UNK]"


class TextVectorization(TFDataLayer):
    """Maps strings to token ids (``output_mode="int"``) or to one vector per string
    (``"multi_hot"``, ``"count"``, ``"tf_idf"``), as Keras's ``TextVectorization``.

    Each string is standardized (``standardize``), split into tokens (``split``), optionally
    turned into n-grams (``ngrams``, joined by a space), then looked up in the vocabulary.
    The vocabulary comes from ``vocabulary=`` / ``set_vocabulary()`` or is learnt by
    ``adapt(data)``: the tokens by descending count, ties broken by the tokens' UTF-8 bytes
    in descending order (Keras's ``np.lexsort(...)[::-1]``), cut to ``max_tokens``.

    In ``"int"`` mode index 0 is padding (the empty string) and 1 is ``"[UNK]"`` (out of
    vocabulary); the other modes have ``"[UNK]"`` at index 0 and no padding index.

    Parameters
    ----------
    max_tokens : int or None
        Size of the vocabulary, special tokens included (> 1).
    standardize : {"lower_and_strip_punctuation", "lower", "strip_punctuation"}, None or
        callable
        "lower" lowercases ASCII letters only and "strip_punctuation" removes ASCII
        punctuation, as TensorFlow's string ops do. A callable takes one ``str`` and returns
        one ``str`` (Keras's takes a tensor of strings: rnncore applies it string by string).
    split : {"whitespace", "character"}, None or callable
        "whitespace" splits on runs of ASCII whitespace, "character" on Unicode code points;
        None keeps each string as one token. A callable takes one ``str`` and returns its
        list of tokens.
    ngrams : None, int or tuple of int
        ``n`` makes the 1- to n-grams; a tuple, the n-grams of the widths it lists.
    output_mode : {"int", "multi_hot", "count", "tf_idf"}
    output_sequence_length : int or None
        "int" mode only: the ids are padded with 0 or truncated to this length; None pads
        each batch to its longest string.
    pad_to_max_tokens : bool
        Non-int modes: the output has ``max_tokens`` columns whatever the vocabulary size.
    vocabulary : list of str or None
        A fixed vocabulary (the layer cannot then be adapted).
    idf_weights : list of float or None
        "tf_idf" mode with ``vocabulary``: the inverse document frequency of each term.
    sparse, ragged : bool
        Only False: rnncore's outputs are dense NumPy arrays.
    encoding : str
        Encoding of ``bytes`` inputs.

    Outputs: int64 ids of shape (batch, sequence_length) in "int" mode; otherwise float
    (``dtype``, float32 by default) of shape (batch, vocabulary_size). Two differences from
    Keras's eager outputs, both to the shape and dtype Keras's own output spec declares:
    "multi_hot" and "count" bags are floats (Keras's eager ones are int64), and with
    ``split=None`` strings of shape (batch,) give ids of shape (batch, 1) (Keras's: (batch,)).

    Examples
    --------
    >>> layer = TextVectorization(max_tokens=10, output_sequence_length=4)
    >>> layer.adapt(["The cat sat.", "The dog sat!"])
    >>> layer.get_vocabulary()
    ['', '[UNK]', 'the', 'sat', 'dog', 'cat']
    >>> layer(np.array(["the bird sat"]))              # (1, 4) int64
    array([[2, 1, 3, 0]])
    """

    _takes_strings = True  # a Sequential model starting with it is given text

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation",
                 split="whitespace", ngrams=None, output_mode="int",
                 output_sequence_length=None, pad_to_max_tokens=False, vocabulary=None,
                 idf_weights=None, sparse=False, ragged=False, encoding="utf-8", name=None,
                 **kwargs):
        # Keras's own hidden arguments, found in its configs and in rnncore's
        has_input_vocabulary = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        kwargs.pop("vocabulary_size", None)
        if not (standardize is None or callable(standardize) or standardize in _STANDARDIZE):
            raise ValueError(f"TextVectorization: standardize must be one of {_STANDARDIZE}, "
                             f"None or a callable, got standardize={standardize!r}")
        if not (split is None or callable(split) or split in _SPLIT):
            raise ValueError(f"TextVectorization: split must be one of {_SPLIT}, None or a "
                             f"callable, got split={split!r}")
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        if output_mode not in _OUTPUT_MODES:
            raise ValueError(f"TextVectorization: output_mode must be one of {_OUTPUT_MODES}, "
                             f"got output_mode={output_mode!r}")
        if isinstance(ngrams, list):  # a tuple after a JSON round trip
            ngrams = tuple(ngrams)
        if not (ngrams is None or _positive_int(ngrams) or (
                isinstance(ngrams, tuple) and ngrams and all(map(_positive_int, ngrams)))):
            raise ValueError(f"TextVectorization: ngrams must be None, a positive integer or "
                             f"a tuple of positive integers, got ngrams={ngrams!r}")
        if output_sequence_length is not None:
            if output_mode != "int":
                raise ValueError(f"TextVectorization: output_sequence_length must not be set "
                                 f"if output_mode is not 'int', got output_sequence_length="
                                 f"{output_sequence_length!r} with output_mode="
                                 f"{output_mode!r}")
            if not _positive_int(output_sequence_length):
                raise ValueError(f"TextVectorization: output_sequence_length must be None or a "
                                 f"positive integer, got output_sequence_length="
                                 f"{output_sequence_length!r}")
        if max_tokens is not None and (not _positive_int(max_tokens) or max_tokens <= 1):
            raise ValueError(f"TextVectorization: max_tokens must be None or an integer "
                             f"greater than 1, got max_tokens={max_tokens!r}")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError("TextVectorization: pad_to_max_tokens=True needs max_tokens, got "
                             "max_tokens=None")
        if sparse:
            raise ValueError(f"TextVectorization: rnncore's outputs are dense; sparse must be "
                             f"False, got sparse={sparse!r}")
        if ragged:
            raise ValueError(f"TextVectorization: rnncore's outputs are dense; ragged must be "
                             f"False, got ragged={ragged!r}")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(f"TextVectorization: idf_weights should only be set if "
                             f"output_mode is 'tf_idf', got output_mode={output_mode!r}")
        if output_mode == "tf_idf" and has_input_vocabulary and idf_weights is None:
            raise ValueError("TextVectorization: with output_mode='tf_idf', a vocabulary "
                             "argument needs idf_weights too, got idf_weights=None")
        "".encode(encoding)  # an unknown encoding is a LookupError here, not at the first call
        super().__init__(name=name, **kwargs)
        self.max_tokens = max_tokens
        self.standardize = standardize
        self.split = split
        self.ngrams = ngrams
        self._ngram_widths = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else ngrams
        self.output_mode = output_mode
        self.output_sequence_length = output_sequence_length
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        self.encoding = encoding
        self.sparse = self.ragged = False
        self.input_grad_needed = False
        self._has_input_vocabulary = bool(has_input_vocabulary)
        self._tokens = None       # learnt or given tokens, special tokens left out
        self._index = {}          # token -> id
        self._idf = None          # (depth,) idf weight of each id, "tf_idf" mode
        self.reset_state()
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    # ---- vocabulary ----------------------------------------------------------------------
    def _token_start(self):
        return 2 if self.output_mode == "int" else 1

    def get_vocabulary(self, include_special_tokens=True):
        """The vocabulary, a term's position being its id (special tokens first)."""
        special = [_MASK, _OOV] if self.output_mode == "int" else [_OOV]
        tokens = list(self._tokens or [])
        return special + tokens if include_special_tokens else tokens

    def vocabulary_size(self):
        """Size of the vocabulary, padding and OOV tokens included."""
        return self._token_start() + len(self._tokens or [])

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Set the vocabulary (a list, a 1-D array, or the path of a text file with one term a
        line) and, in "tf_idf" mode, the idf weight of each term, as Keras does: special
        tokens may lead the list in the order ``get_vocabulary()`` gives them."""
        if self.output_mode == "tf_idf" and idf_weights is None:
            raise ValueError("TextVectorization: idf_weights must be set if output_mode is "
                             "'tf_idf'")
        if self.output_mode != "tf_idf" and idf_weights is not None:
            raise ValueError(f"TextVectorization: idf_weights should only be set if "
                             f"output_mode is 'tf_idf', got output_mode={self.output_mode!r}")
        if isinstance(vocabulary, str):
            if self.output_mode == "tf_idf":
                raise ValueError("TextVectorization: output_mode 'tf_idf' does not support "
                                 "loading a vocabulary from file")
            vocabulary = read_vocabulary_file(vocabulary, self.encoding, "TextVectorization")
        vocabulary = [self._decode(t) for t in np.asarray(vocabulary, dtype=object).ravel()]
        if not vocabulary:
            raise ValueError("TextVectorization: cannot set an empty vocabulary, got "
                             "vocabulary=[]")
        special = self.get_vocabulary()[:self._token_start()]
        found_special = vocabulary[:len(special)] == special
        tokens = vocabulary[len(special):] if found_special else vocabulary
        twice = repeated(tokens)
        if twice:
            raise ValueError(f"TextVectorization: the vocabulary has repeated terms "
                             f"{twice}; the terms must be unique")
        if _MASK in tokens:
            raise ValueError(f"TextVectorization: found the reserved padding token '' at an "
                             f"unexpected place in vocabulary; leave the special tokens out, "
                             f"or put them first in this order: {special}")
        size = self._token_start() + len(tokens)
        if self.max_tokens is not None and size > self.max_tokens:
            raise ValueError(f"TextVectorization: the vocabulary (size {size}, special "
                             f"tokens included) is larger than max_tokens={self.max_tokens}")
        if idf_weights is not None:
            idf_weights = np.asarray(idf_weights, dtype=np.float64)
            if idf_weights.ndim != 1 or len(idf_weights) != len(vocabulary):
                raise ValueError(f"TextVectorization: idf_weights must be 1-D and as long as "
                                 f"the vocabulary ({len(vocabulary)}), got shape "
                                 f"{idf_weights.shape}")
            if not found_special:  # no document frequencies for OOV: Keras uses the mean
                idf_weights = np.concatenate([[np.mean(idf_weights)], idf_weights])
        self._set_tokens(tokens, idf_weights)

    def _set_tokens(self, tokens, idf):
        start = self._token_start()
        self._tokens = list(tokens)
        self._index = {t: i for i, t in enumerate(self._tokens, start)}
        if idf is not None:
            depth = self._depth()
            idf = np.pad(np.asarray(idf, dtype=self.dtype), (0, depth - len(idf)))
        self._idf = idf

    def _depth(self):
        return self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()

    # ---- adapt ---------------------------------------------------------------------------
    def reset_state(self):
        self._counts = collections.Counter()
        self._doc_counts = collections.Counter()
        self._num_documents = 0

    def adapt(self, data, batch_size=None, steps=None):
        """Learn the vocabulary (and, in "tf_idf" mode, the idf weights) from `data`: a list
        or array of strings, shape (n,) or (n, 1), or an iterable of such batches (a
        generator, a PyDataset, ``tf_dataset.as_numpy_iterator()``; a batch that is a tuple
        ``(x, y)`` contributes its ``x``). ``steps`` limits the number of batches read from
        an iterable; ``batch_size`` is accepted for Keras's signature and unused.

        Counts of all tokens are kept, then the vocabulary is the tokens by descending
        count, ties broken by descending UTF-8 bytes, cut to ``max_tokens``."""
        self.reset_state()
        for batch, _ in adapt_batches(data, steps, "TextVectorization.adapt"):
            self.update_state(batch)
        self.finalize_state()

    def update_state(self, data):
        """Add the token counts of one batch of strings (see `adapt`)."""
        if self._has_input_vocabulary:
            raise ValueError(f"Cannot adapt layer {self.name!r} after setting a static "
                             f"vocabulary via the vocabulary argument")
        docs = self._tokenize(self._as_strings(data, "data"))
        for doc in docs:
            self._counts.update(doc)
        if self.output_mode == "tf_idf":
            for doc in docs:
                self._doc_counts.update(set(doc))
            self._num_documents += len(docs)

    def finalize_state(self):
        """Build the vocabulary from the counts `update_state` gathered."""
        counts = self._counts
        counts.pop(_MASK, None)
        counts.pop(_OOV, None)
        if self._has_input_vocabulary or not counts:
            return
        limit = self.max_tokens - self._token_start() if self.max_tokens else None
        tokens = ranked_tokens(counts, limit, key=lambda t: t.encode("utf-8"))
        idf = None
        if self.output_mode == "tf_idf":
            # OOV has no document frequency; Keras gives it the mean weight
            idf = inverse_document_frequency(tokens, self._doc_counts, self._num_documents,
                                             self.dtype)
        self._set_tokens(tokens, idf)
        self.reset_state()

    # ---- calling -------------------------------------------------------------------------
    def _decode(self, s):
        if isinstance(s, (bytes, np.bytes_)):
            return bytes(s).decode(self.encoding)
        if isinstance(s, str):
            return str(s)
        raise ValueError(f"TextVectorization: expected strings, got {s!r} of type "
                         f"{type(s).__name__}")

    def _as_strings(self, x, argument):
        """A batch of strings (list, array, tensor of str or bytes) as an object array of
        str, of shape (batch,) or (batch, n)."""
        if hasattr(x, "numpy") and not isinstance(x, np.ndarray):
            x = x.numpy()
        arr = np.asarray(x, dtype=object) if not isinstance(x, np.ndarray) else x
        if arr.dtype.kind not in "USO":
            raise ValueError(f"TextVectorization: {argument} must be strings, got an array of "
                             f"dtype {arr.dtype}")
        if arr.ndim == 0:
            raise ValueError(f"TextVectorization: {argument} must have a batch dimension, got "
                             f"a scalar {x!r}")
        out = np.empty(arr.shape, dtype=object)
        out.flat[:] = [self._decode(s) for s in arr.flat]
        return out

    def _standardized(self, s):
        if self.standardize in ("lower", "lower_and_strip_punctuation"):
            s = s.translate(_ASCII_LOWER)
        if self.standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
            s = _PUNCTUATION.sub("", s)
        if callable(self.standardize):
            s = self.standardize(s)
        return s

    def _split_one(self, s):
        if self.split == "whitespace":
            return [t for t in _WHITESPACE.split(s) if t]
        if self.split == "character":
            return list(s)
        return [self._decode(t) for t in self.split(s)]

    def _tokenize(self, strings):
        """The token list of each string: standardize, split, n-grams."""
        if self.split is not None:
            if strings.ndim > 2 or (strings.ndim == 2 and strings.shape[1] != 1):
                raise ValueError(f"When using TextVectorization to tokenize strings, the input "
                                 f"rank must be 1 or the last dimension must be 1. Received: "
                                 f"inputs.shape={strings.shape}")
            docs = [self._split_one(self._standardized(s)) for s in strings.ravel()]
        else:
            docs = [[self._standardized(s) for s in row]
                    for row in strings.reshape(len(strings), -1)]
        if self._ngram_widths is not None:
            docs = [[" ".join(doc[i:i + w]) for w in self._ngram_widths
                     for i in range(len(doc) - w + 1)] for doc in docs]
        return docs

    def check_input(self, x):
        return self._as_strings(x, "inputs")

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return (input_shape[0], self.output_sequence_length)
        return (input_shape[0], self._depth())

    def forward(self, inputs, training=False, mask=None):
        """(batch,) or (batch, 1) strings -> (batch, length) int64 ids in "int" mode, else
        (batch, vocabulary_size) floats."""
        if self._tokens is None:  # Keras: its lookup table is not initialized
            raise RuntimeError(f"TextVectorization {self.name!r} has no vocabulary: pass a "
                               f"vocabulary argument, call set_vocabulary, or call adapt with "
                               f"some sample data before calling the layer")
        docs = self._tokenize(inputs)
        if self.output_mode == "int":
            ids = [[0 if t == _MASK else self._index.get(t, 1) for t in doc] for doc in docs]
            length = self.output_sequence_length
            if length is None:
                length = max((len(row) for row in ids), default=0)
            out = np.zeros((len(ids), length), dtype=np.int64)
            for i, row in enumerate(ids):
                row = row[:length]
                out[i, :len(row)] = row
            return out
        out = np.zeros((len(docs), self._depth()), dtype=self.dtype)
        for i, doc in enumerate(docs):
            # the padding token is dropped from the bags, as Keras's bincount drops it
            ids = [self._index.get(t, 0) for t in doc if t != _MASK]
            if self.output_mode == "multi_hot":
                out[i, ids] = 1
            else:
                np.add.at(out[i], ids, 1)
        if self.output_mode == "tf_idf":
            out *= self._idf
        return out

    def backward(self, d_outputs):
        """Strings have no gradient."""
        return None

    # ---- serialisation -------------------------------------------------------------------
    def get_config(self):
        """Keras's config, except that ``vocabulary`` (and ``idf_weights``) hold the adapted
        vocabulary too (Keras keeps it in an asset file beside the config), so that
        ``from_config``, ``model.save`` and ``clone_model`` keep it; ``has_input_vocabulary``
        (a hidden Keras argument) says whether the rebuilt layer may still be adapted.

        A callable ``standardize`` or ``split`` is Python code, which rnncore's configs never
        hold (as ``Lambda``): a ValueError names it; pickling the layer keeps it."""
        for argument in ("standardize", "split"):
            if callable(getattr(self, argument)):
                raise ValueError(f"TextVectorization {self.name!r}: {argument}="
                                 f"{getattr(self, argument)!r} is Python code, and rnncore's "
                                 f"configs and files never store code; pickle the layer or "
                                 f"use one of the built-in {argument} options")
        config = super().get_config()
        has_vocabulary = self._tokens is not None
        config.update({
            "max_tokens": self.max_tokens, "standardize": self.standardize,
            "split": self.split, "ngrams": self.ngrams, "output_mode": self.output_mode,
            "output_sequence_length": self.output_sequence_length,
            "pad_to_max_tokens": self.pad_to_max_tokens, "sparse": False, "ragged": False,
            "vocabulary": self.get_vocabulary() if has_vocabulary else None,
            "idf_weights": ([float(w) for w in self._idf[:self.vocabulary_size()]]
                            if has_vocabulary and self._idf is not None else None),
            "encoding": self.encoding, "vocabulary_size": self.vocabulary_size(),
            "has_input_vocabulary": self._has_input_vocabulary,
        })
        return config

