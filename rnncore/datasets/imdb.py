"""IMDB movie-review sentiment data, read from Keras's own files; never downloads.

``load_data`` and ``get_word_index`` take Keras's arguments and return what
``keras.datasets.imdb`` returns, but they only read files already on disk:
Keras's cache (``$KERAS_HOME/datasets/`` or ``~/.keras/datasets/``, where a
``keras.datasets.imdb.load_data()`` call leaves them) or a path you give.

``imdb.npz`` stores the reviews as NumPy object arrays, which only pickle can
hold. They are read with an unpickler that can build NumPy arrays, lists and
numbers and nothing else, so a tampered file cannot run code; it is never
passed to ``np.load(allow_pickle=True)``.
"""
import io
import itertools
import json
import os
import pickle
import zipfile

import numpy as np

__all__ = ["load_data", "get_word_index"]

_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
_KEYS = ("x_train", "y_train", "x_test", "y_test")


# --------------------------------------------------------------------------
# Finding the file
# --------------------------------------------------------------------------
def _keras_datasets_dirs():
    """Folders where Keras keeps downloaded data sets, most likely first."""
    home = os.environ.get("KERAS_HOME")
    if home is None:
        user = os.path.expanduser("~")
        home = os.path.join(user if os.access(user, os.W_OK) else "/tmp", ".keras")
    dirs = [os.path.join(os.path.expanduser(home), "datasets")]
    # Keras falls back to /tmp/.keras when its home is not writable.
    fallback = os.path.join("/tmp", ".keras", "datasets")
    if fallback not in dirs:
        dirs.append(fallback)
    return dirs


def _locate(path, what):
    """Resolve ``path``: a bare file name is looked up in Keras's cache."""
    path = os.fspath(path)
    if os.path.dirname(path):
        candidates = [os.path.expanduser(path)]
    else:
        candidates = [os.path.join(d, path) for d in _keras_datasets_dirs()]
    for candidate in candidates:
        if os.path.isfile(candidate):
            return candidate
    name = os.path.basename(path)
    raise FileNotFoundError(
        f"{what} not found at {candidates[0]}. rnncore never downloads data. "
        f"Put Keras's {name} there: Keras downloads it from {_ORIGIN}{name}, "
        "and running `keras.datasets.imdb.load_data()` once with network "
        "access leaves it in Keras's cache, which rnncore reads. Or pass "
        "`path=` the full path of a copy. For an offline stand-in with the "
        "same format use `rnncore.datasets.synthetic_reviews.load_data()`.")


# --------------------------------------------------------------------------
# Reading the file
# --------------------------------------------------------------------------
_NUMPY_GLOBALS = frozenset({
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    # numpy < 2 and numpy >= 2 spell the module differently.
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
})


class _ArrayOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _NUMPY_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"refusing to load {module}.{name}: the file holds more than "
            "NumPy arrays, lists and numbers")


def _read_npy(buffer):
    version = np.lib.format.read_magic(buffer)
    if version == (1, 0):
        _, _, dtype = np.lib.format.read_array_header_1_0(buffer)
    else:
        # Format 3.0 differs from 2.0 only in the header's text encoding.
        _, _, dtype = np.lib.format.read_array_header_2_0(buffer)
    if dtype.hasobject:
        return _ArrayOnlyUnpickler(buffer).load()
    buffer.seek(0)
    return np.lib.format.read_array(buffer, allow_pickle=False)


def _read_npz(path):
    """The arrays of Keras's ``imdb.npz`` at ``path``, checked."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.endswith(".npy")]
            keys = sorted(n[:-4] for n in names)
            if keys != sorted(_KEYS):
                raise ValueError(
                    f"{path} is not Keras's imdb.npz: expected the arrays "
                    f"{list(_KEYS)}, found {keys}")
            arrays = {n[:-4]: _read_npy(io.BytesIO(archive.read(n)))
                      for n in names}
    except (zipfile.BadZipFile, pickle.UnpicklingError) as exc:
        raise ValueError(f"{path} is not Keras's imdb.npz: {exc}") from exc
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 1 or y.ndim != 1 or len(x) != len(y):
            raise ValueError(
                f"{path} is not Keras's imdb.npz: x_{split} and y_{split} "
                f"must be 1-D of equal length, got shapes {x.shape} and {y.shape}")
    return arrays


# --------------------------------------------------------------------------
# Keras's encoding, on flat token arrays (shared with synthetic_reviews)
# --------------------------------------------------------------------------
def _flatten(reviews):
    """(tokens, lengths): all reviews' raw word ranks end to end."""
    lengths = np.fromiter((len(r) for r in reviews), dtype=np.int64,
                          count=len(reviews))
    tokens = np.fromiter(itertools.chain.from_iterable(reviews), dtype=np.int64,
                         count=int(lengths.sum()))
    return tokens, lengths


def _take(tokens, lengths, order):
    """Reorder (or select) whole reviews: review ``order[i]`` becomes review i."""
    starts = np.cumsum(lengths) - lengths
    new_lengths = lengths[order]
    new_starts = np.cumsum(new_lengths) - new_lengths
    shift = np.repeat(starts[order] - new_starts, new_lengths)
    return tokens[np.arange(int(new_lengths.sum())) + shift], new_lengths


def _to_object_array(tokens, lengths):
    """1-D object array of Python int lists (as Keras returns)."""
    flat = tokens.tolist()
    ends = np.cumsum(lengths).tolist()
    starts = [0] + ends[:-1]
    # fromiter keeps one list per element even when all lengths are equal,
    # where np.array(..., dtype=object) would build a 2-D array.
    return np.fromiter((flat[a:b] for a, b in zip(starts, ends)),
                       dtype=object, count=len(ends))


def _encode(train, test, *, start_char, oov_char, index_from, num_words,
            skip_top, maxlen):
    """Apply ``keras.datasets.imdb.load_data``'s steps after shuffling.

    ``train`` and ``test`` are ``(tokens, lengths, labels)`` of raw word ranks.
    """
    splits = []
    for tokens, lengths, labels in (train, test):
        tokens = tokens + index_from
        if start_char is not None:
            # One start_char in front of every review.
            starts = np.cumsum(lengths) - lengths
            tokens = np.insert(tokens, starts, start_char)
            lengths = lengths + 1
        if maxlen:
            # Keras keeps reviews strictly shorter than maxlen (start included).
            keep = np.flatnonzero(lengths < maxlen)
            tokens, lengths = _take(tokens, lengths, keep)
            labels = labels[keep]
        splits.append([tokens, lengths, labels])
    if maxlen and (len(splits[0][1]) == 0 or len(splits[1][1]) == 0):
        raise ValueError(
            f"No review is shorter than maxlen={maxlen} in both splits, so "
            "nothing is left; increase maxlen.")

    if not num_words:
        # Keras's default is the largest id, which itself then becomes OOV.
        num_words = max((int(t.max()) for t, _, _ in splits if t.size), default=0)
    out = []
    for tokens, lengths, labels in splits:
        in_vocab = (tokens >= skip_top) & (tokens < num_words)
        if oov_char is not None:
            tokens = np.where(in_vocab, tokens, oov_char)
        else:
            review = np.repeat(np.arange(len(lengths)), lengths)
            lengths = np.bincount(review[in_vocab], minlength=len(lengths))
            tokens = tokens[in_vocab]
        out.append(_to_object_array(tokens, lengths))
    labels = np.concatenate([splits[0][2], splits[1][2]])
    n_train = len(splits[0][2])
    return (out[0], labels[:n_train]), (out[1], labels[n_train:])


def _check_count(name, value, allow_none=True):
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or value < 0:
        expected = "None or " if allow_none else ""
        raise ValueError(f"`{name}` must be {expected}a non-negative integer. "
                         f"Received: {name}={value!r}")


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------
def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None,
              seed=113, start_char=1, oov_char=2, index_from=3, **kwargs):
    """Load the IMDB reviews as ``keras.datasets.imdb.load_data`` does, offline.

    25,000 training and 25,000 test reviews labelled positive (1) or negative
    (0), each a list of word ids. Word ``k`` of the frequency ranking (see
    `get_word_index`) has id ``k + index_from``.

    Parameters
    ----------
    path : str or path-like, default "imdb.npz"
        A bare file name is looked up in Keras's cache
        (``$KERAS_HOME/datasets/``, else ``~/.keras/datasets/``); a path with
        a folder is read as given. Unlike Keras, nothing is ever downloaded.
    num_words : int, optional
        Keep the ids below ``num_words``; others become ``oov_char``.
        ``None`` keeps all words (Keras's rule: all but the largest id).
    skip_top : int, default 0
        Ids below ``skip_top`` also become ``oov_char``.
    maxlen : int, optional
        Drop reviews whose length (start mark included) is ``>= maxlen``.
    seed : int, default 113
        Seed of the shuffle (the same order as Keras's for the same seed).
    start_char : int or None, default 1
        Id put at the start of every review; ``None`` for none.
    oov_char : int or None, default 2
        Id of words cut by ``num_words`` / ``skip_top``; ``None`` drops them.
    index_from : int, default 3
        Offset added to every word rank.
    **kwargs
        Ignored, as in Keras 3.

    Returns
    -------
    (x_train, y_train), (x_test, y_test)
        ``x_*``: 1-D object arrays of Python ``int`` lists; ``y_*``: integer
        label arrays as stored in the file (int64 in Keras's file).

    Raises
    ------
    FileNotFoundError
        If the file is not there; the message says where to put it.
    ValueError
        If the file is not Keras's ``imdb.npz`` (other arrays, or objects other
        than arrays, lists and numbers), or if ``maxlen`` leaves no review.

    Examples
    --------
    >>> (x_train, y_train), (x_test, y_test) = load_data(num_words=10000)  # doctest: +SKIP
    >>> x_train.shape, y_train.shape  # doctest: +SKIP
    ((25000,), (25000,))
    """
    for name, value in (("num_words", num_words), ("maxlen", maxlen)):
        _check_count(name, value)
    _check_count("skip_top", skip_top, allow_none=False)
    _check_count("index_from", index_from, allow_none=False)
    arrays = _read_npz(_locate(path, "IMDB data file"))

    # One generator shuffles train then test, so both orders match Keras's.
    rng = np.random.RandomState(seed)
    splits = []
    for split in ("train", "test"):
        x, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
        order = np.arange(len(x))
        rng.shuffle(order)
        tokens, lengths = _flatten(x)
        tokens, lengths = _take(tokens, lengths, order)
        splits.append((tokens, lengths, labels[order]))
    return _encode(*splits, start_char=start_char, oov_char=oov_char,
                   index_from=index_from, num_words=num_words,
                   skip_top=skip_top, maxlen=maxlen)


def get_word_index(path="imdb_word_index.json"):
    """Map each IMDB word to its frequency rank, from Keras's JSON file.

    Parameters
    ----------
    path : str or path-like, default "imdb_word_index.json"
        A bare file name is looked up in Keras's cache, as in `load_data`.

    Returns
    -------
    dict
        ``{word: rank}``; the word's id in `load_data` is ``rank + index_from``.

    Raises
    ------
    FileNotFoundError
        If the file is not there; the message says where to put it.
    """
    with open(_locate(path, "IMDB word index"), encoding="utf-8") as f:
        return json.load(f)
