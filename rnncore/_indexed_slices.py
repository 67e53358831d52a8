"""IndexedSlices: a sparse gradient, one slice per row occurrence, as TensorFlow's.

Keras's TensorFlow backend gives an Embedding's weight a ``tf.IndexedSlices`` gradient: one
slice per token occurrence in the batch, repeated ids *not* summed. Keras's optimizers keep that
form through the element-wise ops that allow it (``square``, ``multiply`` by a scalar, ...), so
RMSprop's, Adam's and Adagrad's second moments see ``sum_k g_k**2`` where a dense gradient gives
``(sum_k g_k)**2``. rnncore's optimizers follow the same ops (see the ``rnncore/optimizers`` package).
"""
import numpy as np

from ._kernels import _rows

__all__ = ["IndexedSlices", "RowSums"]


class IndexedSlices:
    """Rows ``values[k]`` to be added into row ``indices[k]`` of an array of ``dense_shape``.

    Repeated indices are kept apart; :meth:`to_dense` adds them up.

    Parameters
    ----------
    indices : integer array-like, flattened to ``(n,)``; each in ``[0, dense_shape[0])``.
    values : array-like ``(n,) + dense_shape[1:]``.
    dense_shape : tuple of int, the shape of the dense array (the variable's shape).

    Notes
    -----
    ``tf.IndexedSlices`` takes ``(values, indices, dense_shape)``; this one takes the indices
    first, like ``np.add.at(dense, indices, values)``. ``np.asarray(slices)`` gives the dense
    array.

    Example
    -------
    >>> import numpy as np
    >>> g = IndexedSlices([0, 2, 0], np.ones((3, 2), np.float32), (4, 2))
    >>> g.to_dense()
    array([[2., 2.],
           [0., 0.],
           [1., 1.],
           [0., 0.]], dtype=float32)
    """

    __slots__ = ("indices", "values", "dense_shape")

    def __init__(self, indices, values, dense_shape):
        indices = np.asarray(indices).reshape(-1)
        values = np.asarray(values)
        dense_shape = tuple(int(d) for d in dense_shape)
        if not np.issubdtype(indices.dtype, np.integer):
            raise ValueError(f"IndexedSlices: `indices` must be integers, got dtype "
                             f"{indices.dtype}")
        if not dense_shape or values.shape != (indices.size,) + dense_shape[1:]:
            raise ValueError(f"IndexedSlices: `values` must have shape "
                             f"{(indices.size,) + dense_shape[1:]} for {indices.size} indices "
                             f"and dense_shape={dense_shape}; received {values.shape}")
        if indices.size and (indices.min() < 0 or indices.max() >= dense_shape[0]):
            raise ValueError(f"IndexedSlices: `indices` must lie in [0, {dense_shape[0]}); "
                             f"received values in [{indices.min()}, {indices.max()}]")
        self.indices, self.values, self.dense_shape = indices, values, dense_shape

    @property
    def dtype(self):
        return self.values.dtype

    @property
    def shape(self):
        return self.dense_shape

    def with_values(self, values):
        """The same indices with new ``values`` (what TensorFlow's element-wise ops on
        IndexedSlices return)."""
        out = IndexedSlices.__new__(IndexedSlices)
        out.indices, out.values, out.dense_shape = self.indices, values, self.dense_shape
        return out

    def astype(self, dtype):
        """These slices with ``values`` in ``dtype`` (no copy when already so)."""
        if self.values.dtype == dtype:
            return self
        return self.with_values(self.values.astype(dtype))

    def gather(self, dense):
        """``dense[indices]``: the rows of a dense array matching each slice."""
        return dense[self.indices]

    def to_dense(self):
        """The dense array: zeros, with each slice added into its row (repeats summed in order,
        as ``tf.math.unsorted_segment_sum``, to the bit)."""
        n, rows = self.indices.size, self.dense_shape[0]
        values = self.values.reshape(n, int(np.prod(self.dense_shape[1:], dtype=np.int64)))
        out = np.zeros((rows, values.shape[1]), values.dtype)
        if values.dtype in (np.float32, np.float64) and values.shape[1]:
            # One compiled pass over the slices in order. 6,400 ids x 16 columns into 500 rows,
            # float32: 14 us, where a sparse product with a 0/1 CSC matrix took 100 us plus
            # 80 us to build the matrix, and np.add.at 3.3 ms.
            _rows.scatter_add_rows(self._int_indices(), np.ascontiguousarray(values), out)
        else:
            np.add.at(out, self.indices, values)
        return out.reshape(self.dense_shape)

    def squares_to_dense(self, scale=None):
        """``IndexedSlices(indices, scale * values**2).to_dense()`` (``values**2`` without
        `scale`), to the bit, in one pass. ``scale`` is a scalar of the values' dtype."""
        values = self.values
        if values.dtype not in (np.float32, np.float64) or not values.size:
            squared = np.square(values)
            return self.with_values(squared if scale is None else scale * squared).to_dense()
        n, rows = self.indices.size, self.dense_shape[0]
        values = np.ascontiguousarray(values.reshape(n, -1))
        out = np.zeros((rows, values.shape[1]), values.dtype)
        _rows.scatter_add_squares(self._int_indices(), values,
                                  0 if scale is None else scale, scale is not None, out)
        return out.reshape(self.dense_shape)

    def sums_and_squares_into(self, sums, squares, scale=None):
        """Add :meth:`to_dense` into ``sums`` and :meth:`squares_to_dense` (`scale`) into
        ``squares`` (arrays of the dense shape, zeros for those two to the bit), in one
        pass over the slices."""
        values = self.values
        if values.dtype not in (np.float32, np.float64) or not values.size or \
                sums.dtype != values.dtype or squares.dtype != values.dtype or \
                not (sums.flags.c_contiguous and squares.flags.c_contiguous):
            sums += self.to_dense()
            squares += self.squares_to_dense(scale)
            return
        rows = self.dense_shape[0]  # (views of contiguous arrays: the writes land in them)
        _rows.scatter_add_rows_and_squares(
            self._int_indices(), np.ascontiguousarray(values.reshape(self.indices.size, -1)),
            0 if scale is None else scale, scale is not None, sums.reshape(rows, -1),
            squares.reshape(rows, -1))

    def _int_indices(self):
        # the compiled scatters want C-contiguous ids: a strided 1-D view (ids[::2]) is copied
        indices = self.indices
        return np.ascontiguousarray(
            indices, dtype=indices.dtype if indices.dtype in (np.int32, np.int64) else np.int64)

    def __array__(self, dtype=None, copy=None):
        if copy is False:
            raise ValueError("IndexedSlices: the dense array is always a new array; "
                             "received copy=False")
        dense = self.to_dense()
        return dense if dtype is None else dense.astype(dtype)

    def __repr__(self):
        return (f"IndexedSlices(indices=<{self.indices.size} ids>, values=<{self.values.shape} "
                f"{self.values.dtype.name}>, dense_shape={self.dense_shape})")


class RowSums:
    """An Embedding's gradient as each row's sum of slices and sum of squared slices: what an
    optimizer whose sparse step needs no more of the slices than these (RMSprop's) takes
    from ``rnncore.distributed``, where the sums of all ranks travel as two dense tables in
    the step's one Allreduce instead of every rank's slices.

    ``sums`` is ``IndexedSlices.to_dense()``, ``square_sums`` is ``squares_to_dense()``; both
    of the variable's shape. Equal to the slices' step up to the order of the sums.
    """

    __slots__ = ("sums", "square_sums")

    def __init__(self, sums, square_sums):
        self.sums, self.square_sums = sums, square_sums

    @property
    def shape(self):
        return self.sums.shape

    @property
    def dtype(self):
        return self.sums.dtype

    def astype(self, dtype):
        if np.dtype(dtype) == self.sums.dtype:
            return self
        return RowSums(self.sums.astype(dtype), self.square_sums.astype(dtype))

    def to_dense(self):
        return self.sums

    def __array__(self, dtype=None, copy=None):
        return self.sums if dtype is None else self.sums.astype(dtype)
