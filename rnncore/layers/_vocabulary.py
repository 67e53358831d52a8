"""What the vocabulary layers (TextVectorization, StringLookup, IntegerLookup) share: reading
the batches ``adapt`` is given, ranking counted tokens as Keras does, inverse document
frequencies, vocabulary files, and encoding ids as one-hot rows or bags (CategoryEncoding,
Discretization and Hashing encode with it too)."""
import collections

import numpy as np


def positive_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0


def adapt_batches(data, steps, caller, whole=(list, tuple, np.ndarray)):
    """The batches of `data` for ``adapt``: `data` itself when it is one batch (an instance of
    `whole`, or a tensor), else each batch of an iterable (a generator, a PyDataset,
    ``tf_dataset.as_numpy_iterator()``), at most `steps` of them; a batch that is a tuple
    ``(x, y)`` gives its ``x``. Yields ``(batch, is_whole)``."""
    if steps is not None and not positive_int(steps):
        raise ValueError(f"{caller}: steps must be None or a positive integer, got "
                         f"steps={steps!r}")
    if isinstance(data, (str, bytes)):
        raise ValueError(f"{caller}: data must be a batch of values or an iterable of "
                         f"batches, got one string {data!r}")
    if isinstance(data, whole) or hasattr(data, "numpy"):
        yield data, True
        return
    if hasattr(data, "__getitem__") and hasattr(data, "__len__"):  # a PyDataset
        data = map(data.__getitem__, range(len(data)))
    elif not hasattr(data, "__iter__"):
        raise ValueError(f"{caller}: data must be a batch of values or an iterable of batches, "
                         f"got {type(data).__name__}")
    for i, batch in enumerate(data):
        if steps is not None and i >= steps:
            break
        if isinstance(batch, tuple) and batch and not isinstance(batch[0], (str, bytes)):
            batch = batch[0]
        yield batch, False


def ranked_tokens(counts, limit=None, key=lambda token: token):
    """Tokens by descending count, ties broken by descending ``key(token)`` (Keras's
    ``np.lexsort((tokens, counts))[::-1]``: strings compare by their UTF-8 bytes), at most
    `limit` of them."""
    tokens = sorted(counts, key=lambda t: (counts[t], key(t)), reverse=True)
    return tokens[:limit] if limit is not None else tokens


def inverse_document_frequency(tokens, document_counts, num_documents, dtype):
    """Keras's idf, ``log(1 + documents / (1 + documents holding the token))``, led by the
    mean weight for the OOV slot that has no document frequency."""
    df = np.array([document_counts[t] for t in tokens], dtype=np.float64)
    idf = np.log(1 + num_documents / (1 + df)).astype(dtype)
    return np.concatenate([[np.mean(idf, dtype=idf.dtype)], idf])


def read_vocabulary_file(path, encoding, caller):
    """The lines of a vocabulary file (one term a line)."""
    try:
        with open(path, encoding=encoding) as f:
            return f.read().splitlines()
    except OSError as exc:
        raise ValueError(f"{caller}: vocabulary file {path} does not exist or cannot be read "
                         f"({exc})") from None


def repeated(tokens):
    return [t for t, c in collections.Counter(tokens).items() if c > 1]


def encode_ids(ids, output_mode, depth, dtype, count_weights=None):
    """Integer ids as Keras's ``encode_categorical_inputs`` lays them out: "one_hot" gives a
    row of `depth` per id (a last axis of 1 is replaced by it), "multi_hot" and "count" one
    bag per row of a 2-D batch (one bag for a 1-D one or a scalar); a batch of rank 3 or
    more is bagged over its axis 1, as Keras's one_hot-then-reduce path does ((2, 3, 4)
    gives (2, 4, depth)). Ids outside [0, depth) are left out
    (a bag drops them, a one-hot row stays zero), as TensorFlow's bincount and one_hot do;
    "count" adds ``count_weights`` (of the ids' shape) instead of ones where given."""
    ids = np.asarray(ids)
    if ids.ndim == 0:
        ids = ids.reshape(1)
    inside = (ids >= 0) & (ids < depth)
    if output_mode == "one_hot":
        if ids.ndim > 1 and ids.shape[-1] == 1:
            ids, inside = ids[..., 0], inside[..., 0]
        out = np.zeros(ids.shape + (depth,), dtype=dtype)
        np.put_along_axis(out, np.where(inside, ids, 0)[..., None],
                          inside[..., None].astype(dtype), axis=-1)
        return out
    if ids.ndim > 2:  # Keras's rank-3+ path: one-hot rows reduced over axis 1 (not the last)
        hot = np.zeros(ids.shape + (depth,), dtype=np.float64)
        np.put_along_axis(hot, np.where(inside, ids, 0)[..., None],
                          inside[..., None].astype(np.float64), axis=-1)
        if output_mode == "multi_hot":
            return hot.max(axis=1).astype(dtype)
        if count_weights is not None:
            weights = np.asarray(count_weights)
            return (hot * weights.astype(np.float64)[..., None]).sum(axis=1).astype(
                weights.dtype)
        return hot.sum(axis=1).astype(dtype)
    rows = ids if ids.ndim == 2 else ids[None]
    inside = inside.reshape(rows.shape)
    weights = np.ones(rows.shape) if count_weights is None else \
        np.asarray(count_weights, np.float64).reshape(rows.shape)
    which = np.nonzero(inside)
    out = np.zeros((rows.shape[0], depth), dtype=np.float64)
    np.add.at(out, (which[0], rows[which]), weights[which])
    if output_mode == "multi_hot":
        out = (out > 0).astype(np.float64)
    out = out.astype(dtype if count_weights is None else np.asarray(count_weights).dtype)
    return out if ids.ndim == 2 else out[0]

