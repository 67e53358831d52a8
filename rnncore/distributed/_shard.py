"""shard: this rank's part of the training data, chosen the same way on every rank."""
import itertools

import numpy as np

from ..utils import PyDataset
from . import _comm


def shard(data, rank=None, size=None, drop_remainder=True):
    """This rank's share of ``data``: every ``size``-th sample (or batch), from the
    ``rank``-th on.

    Parameters
    ----------
    data : array, list / tuple / dict of arrays (nested), PyDataset, tf.data.Dataset,
        generator or iterator.
        Arrays (and structures of them: ``shard((x, y))``) are cut along their first axis,
        all with the same sample order. A PyDataset gives every ``size``-th batch; a
        ``tf.data.Dataset`` its ``shard(size, rank)``; a generator every ``size``-th item.
    rank, size : int, optional. Default: this process's ``rank()`` and ``size()``.
    drop_remainder : bool, default True
        Arrays and PyDatasets: leave out the last ``len % size`` samples (batches), so that
        every rank has as many and takes as many steps per epoch: a rank with a step more
        than the others would wait for them at its extra step.

    Why every ``size``-th sample: with ``fit(..., batch_size=b, shuffle=False)`` on each
    rank, the ranks' k-th batches together are samples ``k·N·b .. (k+1)·N·b - 1`` of the data,
    the k-th batch of one process with ``batch_size=N·b``; with DistributedOptimizer the
    N ranks then train as that one process does (up to float round-off).

    Example
    -------
    >>> x_train, y_train = hvd.shard((x_train, y_train))                 # doctest: +SKIP
    """
    rank = _comm.rank() if rank is None else rank
    size = _comm.size() if size is None else size
    for argument, value in (("rank", rank), ("size", size)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
            raise ValueError(f"shard: {argument} must be an integer, got {value!r}")
    if not 0 <= rank < size:
        raise ValueError(f"shard: rank must lie in [0, size={size}), got rank={rank}")
    from ..models import _adapters

    if _adapters.is_tf_dataset(data):
        return data.shard(size, rank)
    if _adapters.is_py_dataset(data):
        return _ShardedPyDataset(data, rank, size, drop_remainder)
    if _adapters.is_pipeline(data):
        return itertools.islice(data, rank, None, size)
    n = _first_length(data)
    if n is None:
        raise ValueError("shard: data must be an array, a list/tuple/dict of arrays, a "
                         f"PyDataset, a tf.data.Dataset or a generator; got "
                         f"{type(data).__name__}")
    stop = n - n % size if drop_remainder else n
    return _take(data, slice(rank, stop, size))


def _first_length(data):
    if isinstance(data, dict):
        lengths = [_first_length(v) for v in data.values()]
    elif isinstance(data, (list, tuple)):
        lengths = [_first_length(v) for v in data]
    elif data is None:
        return None
    else:
        return len(data) if np.ndim(data) else None
    lengths = [n for n in lengths if n is not None]
    if len(set(lengths)) > 1:
        raise ValueError(f"shard: the arrays must all have the same number of samples; got "
                         f"{sorted(set(lengths))}")
    return lengths[0] if lengths else None


def _take(data, index):
    if isinstance(data, dict):
        return {k: _take(v, index) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return type(data)(_take(v, index) for v in data)
    if data is None:
        return None
    return np.asarray(data)[index]


class _ShardedPyDataset(PyDataset):
    """Batches ``rank, rank + size, ...`` of a PyDataset."""

    def __init__(self, dataset, rank, size, drop_remainder):
        super().__init__()
        self.dataset, self._rank, self._size = dataset, rank, size
        n = len(dataset)
        self._length = n // size if drop_remainder else len(range(rank, n, size))
        self._fit_shuffles = getattr(dataset, "_fit_shuffles", True)

    def __len__(self):
        return self._length

    def __getitem__(self, index):
        if not 0 <= index < self._length:
            raise IndexError(f"batch {index} of a shard of {self._length} batches")
        return self.dataset[self._rank + index * self._size]

    def on_epoch_begin(self):
        if hasattr(self.dataset, "on_epoch_begin"):
            self.dataset.on_epoch_begin()

    def on_epoch_end(self):
        if hasattr(self.dataset, "on_epoch_end"):
            self.dataset.on_epoch_end()
