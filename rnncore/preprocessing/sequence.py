"""Sequence preprocessing: ``pad_sequences`` with Keras's semantics.

Mirrors ``keras.preprocessing.sequence`` (``keras.utils.pad_sequences``), so
``from rnncore.preprocessing import sequence`` and
``from rnncore.preprocessing.sequence import pad_sequences`` work as in Keras.
"""
import numbers
import reprlib

import numpy as np

__all__ = ["pad_sequences", "TimeseriesGenerator"]

_SIDES = ("pre", "post")


def _check_side(name, value):
    # Checked up front: Keras only notices a bad value when it meets the
    # first non-empty sequence, after filling part of the output.
    if not isinstance(value, str) or value not in _SIDES:
        raise ValueError(
            f'`{name}` must be "pre" or "post". Received: {name}={value!r}')


def _check_maxlen(maxlen):
    if (isinstance(maxlen, bool) or not isinstance(maxlen, numbers.Integral)
            or maxlen < 0):
        raise ValueError(
            "`maxlen` must be None or a non-negative integer. "
            f"Received: maxlen={maxlen!r}")
    return int(maxlen)


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre",
                  truncating="pre", value=0.0):
    """Pad (or truncate) sequences to one common length.

    Parameters
    ----------
    sequences : sequence of sequences
        ``num_samples`` sequences (lists, tuples or arrays), each of length
        ``len_i``. Elements may themselves be arrays of one fixed shape
        (``sample_shape``), taken from the first non-empty sequence.
    maxlen : int, optional
        Length of the output rows. Defaults to the longest sequence.
    dtype : str or numpy dtype, default "int32"
        Dtype of the output. Use ``object`` (or a numpy string dtype) to pad
        sequences of strings.
    padding : {"pre", "post"}, default "pre"
        Pad before or after each sequence.
    truncating : {"pre", "post"}, default "pre"
        Drop values from the start ("pre") or the end ("post") of sequences
        longer than ``maxlen``.
    value : float or str, default 0.0
        The padding value.

    Returns
    -------
    numpy.ndarray
        Shape ``(num_samples, maxlen) + sample_shape``, dtype ``dtype``.

    Raises
    ------
    ValueError
        If ``padding`` / ``truncating`` is not "pre" or "post", ``maxlen`` is
        negative or not an integer, ``sequences`` is not a sized collection of
        sequences, ``maxlen`` cannot be inferred from zero sequences, a string
        ``value`` meets a non-string ``dtype``, or the samples' shapes differ.

    Notes
    -----
    Same results as Keras, with two differences where Keras fails: ``maxlen=0``
    returns ``(num_samples, 0)`` for any ``truncating`` (Keras raises a
    broadcast error for "pre"), and ``dtype="object"`` given as a string is
    accepted with a string ``value`` like ``dtype=object``.

    Examples
    --------
    >>> pad_sequences([[1], [2, 3], [4, 5, 6]], maxlen=2)
    array([[0, 1],
           [2, 3],
           [5, 6]], dtype=int32)
    >>> pad_sequences([[1], [2, 3]], padding="post", value=-1)
    array([[ 1, -1],
           [ 2,  3]], dtype=int32)
    """
    _check_side("padding", padding)
    _check_side("truncating", truncating)
    if not hasattr(sequences, "__len__"):
        raise ValueError(
            "`sequences` must be a list (or array) of sequences; iterators and "
            f"generators are not accepted. Received: sequences={sequences!r}")

    lengths = []
    sample_shape = None
    for i, seq in enumerate(sequences):
        try:
            n = len(seq)
        except TypeError:
            raise ValueError(
                "`sequences` must be a list of sequences. Found non-iterable "
                f"at position {i}: {seq!r}") from None
        lengths.append(n)
        if sample_shape is None and n:
            sample_shape = np.asarray(seq).shape[1:]
    if sample_shape is None:
        sample_shape = ()

    if maxlen is None:
        if not lengths:
            raise ValueError(
                "`maxlen` cannot be inferred from an empty `sequences`; pass "
                "`maxlen` explicitly. Received: sequences=[] and maxlen=None")
        maxlen = max(lengths)
    else:
        maxlen = _check_maxlen(maxlen)

    np_dtype = np.dtype(dtype)
    if isinstance(value, str) and np_dtype.kind not in "OUS":
        raise ValueError(
            f"`dtype` {dtype} is not compatible with `value`'s type: it cannot hold the "
            f"string `value` {value!r}. Use "
            "`dtype=object` to pad sequences of variable-length strings.")

    out = np.full((len(lengths), maxlen) + sample_shape, value, dtype=dtype)
    if maxlen == 0:
        return out
    for i, (seq, n) in enumerate(zip(sequences, lengths)):
        if not n:
            continue
        kept = seq[-maxlen:] if truncating == "pre" else seq[:maxlen]
        try:
            kept = np.asarray(kept, dtype=dtype)
        except (TypeError, ValueError) as e:
            raise ValueError(f"`sequences[{i}]` cannot be stored as dtype {np.dtype(dtype).name} "
                             f"({e}). Received: {reprlib.repr(seq)}") from None
        if kept.shape[1:] != sample_shape:
            raise ValueError(
                f"Shape of sample {kept.shape[1:]} of sequence at position {i} "
                f"is different from expected shape {sample_shape}")
        if padding == "pre":
            out[i, maxlen - len(kept):] = kept
        else:
            out[i, :len(kept)] = kept
    return out


# Imported last: rnncore.utils imports pad_sequences from this module, and this import reaches
# rnncore.utils (PyDataset), so pad_sequences must exist before it runs.
from ._timeseries_generator import TimeseriesGenerator  # noqa: E402
