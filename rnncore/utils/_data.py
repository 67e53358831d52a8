"""Label and array helpers: ``to_categorical`` and ``normalize`` (Keras's utils)."""
import numbers

import numpy as np

__all__ = ["normalize", "to_categorical"]


class _ClassIndexError(ValueError, IndexError):
    """Class id outside ``[0, num_classes)``.

    Keras raises ``IndexError`` here (from NumPy's fancy indexing); being both
    lets code written for either ``except`` clause keep working.
    """


def to_categorical(x, num_classes=None):
    """Convert integer class ids to one-hot rows.

    Parameters
    ----------
    x : array_like of int
        Class ids in ``[0, num_classes)``, any shape. Floats are truncated
        towards zero, as Keras does. A trailing axis of size 1 is dropped, so
        ``(n, 1)`` labels give ``(n, num_classes)``.
    num_classes : int, optional
        Number of classes. ``None`` (or 0, as in Keras) means ``max(x) + 1``.

    Returns
    -------
    numpy.ndarray
        float64, shape ``x.shape + (num_classes,)`` (after dropping a trailing
        size-1 axis; a scalar gives shape ``(num_classes,)``).

    Raises
    ------
    ValueError
        If ``num_classes`` is negative or not an integer, if ``x`` is empty and
        ``num_classes`` is not given, or if a class id is negative or
        ``>= num_classes`` (this one is also an ``IndexError``, the class Keras
        raises). Keras silently maps negative ids to the last classes; rnncore
        refuses them.

    Examples
    --------
    >>> to_categorical([0, 2, 1])
    array([[1., 0., 0.],
           [0., 0., 1.],
           [0., 1., 0.]])
    >>> to_categorical([[1], [0]], num_classes=3).shape
    (2, 3)
    """
    if num_classes is not None and (
            isinstance(num_classes, bool)
            or not isinstance(num_classes, numbers.Integral) or num_classes < 0):
        raise ValueError(
            "`num_classes` must be None or a positive integer. "
            f"Received: num_classes={num_classes!r}")
    ids = np.array(x, dtype="int64")
    shape = ids.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    ids = ids.reshape(-1)
    if not num_classes:
        if ids.size == 0:
            raise ValueError(
                "`num_classes` cannot be inferred from an empty `x`; pass "
                f"`num_classes`. Received: x={x!r}")
        num_classes = int(ids.max()) + 1
    num_classes = int(num_classes)
    bad = (ids < 0) | (ids >= num_classes)
    if bad.any():
        raise _ClassIndexError(
            f"`x` must hold class ids in [0, {num_classes}) for "
            f"num_classes={num_classes}. Received: x containing "
            f"{int(ids[bad][0])}")
    onehot = np.zeros((ids.size, num_classes))
    onehot[np.arange(ids.size), ids] = 1.0
    return onehot.reshape(shape + (num_classes,))


def normalize(x, axis=-1, order=2):
    """Scale ``x`` to unit ``order``-norm along ``axis``.

    Parameters
    ----------
    x : array_like
        Input array.
    axis : int, default -1
        Axis along which the norm is taken.
    order : int or float, default 2
        Norm order, as ``numpy.linalg.norm``'s ``ord`` for vectors.

    Returns
    -------
    numpy.ndarray
        ``x / norm``; slices whose norm is 0 are returned unchanged.

    Notes
    -----
    As in Keras, a 1-D ``x`` comes back as one row, shape ``(1, n)``. Keras's
    NumPy path divides along the last axis whatever ``axis`` is; rnncore
    divides along ``axis``, as Keras's tensor path does.
    """
    x = np.asarray(x)
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, -1 if axis is None else axis)
