"""``timeseries_dataset_from_array``: Keras's sliding windows, as a PyDataset of NumPy arrays."""
import numbers

import numpy as np

from .._random import generator
from ._py_dataset import PyDataset


class EagerArray(np.ndarray):
    """A NumPy array that also answers ``.numpy()`` (a plain ndarray), as the eager tensors of
    a ``tf.data`` dataset do, so tutorial code such as ``inputs.numpy().shape`` runs unchanged.
    """

    def numpy(self):
        return self.view(np.ndarray)


def _eager(batch):
    if isinstance(batch, tuple):
        return tuple(np.asarray(b).view(EagerArray) for b in batch)
    return np.asarray(batch).view(EagerArray)


class _Taken:
    """The first ``count`` batches of a dataset (``dataset.take(count)``), iterable again."""

    def __init__(self, dataset, count):
        self.dataset, self.count = dataset, count

    def __len__(self):
        return min(self.count, len(self.dataset))

    def __iter__(self):
        for i, batch in enumerate(self.dataset):
            if i >= self.count:
                return
            yield batch


class TimeseriesDataset(PyDataset):
    """Batches of sliding windows over a series; made by :func:`timeseries_dataset_from_array`.

    ``dataset[i]`` is batch ``i`` as plain NumPy arrays (what ``fit`` reads); iterating gives
    the same batches as :class:`EagerArray` (arrays with a ``.numpy()`` method). ``take(n)``:
    the first ``n`` batches. ``fit`` reads the batches in the dataset's own order and does not
    shuffle them again (``fit(shuffle=...)`` is ignored), as Keras does with a ``tf.data``
    dataset.
    """

    _fit_shuffles = False

    def __init__(self, data, targets, sequence_length, sampling_rate, batch_size,
                 start_index, end_index, positions, shuffle, seed):
        super().__init__()
        self._data, self._targets = data, targets
        self._offsets = np.arange(sequence_length) * sampling_rate
        self._start_index, self._end_index = start_index, end_index
        self._positions = positions
        self._order = positions
        self.batch_size = batch_size
        self._shuffle = shuffle
        self._rng = np.random.default_rng(seed) if shuffle else None
        if shuffle:
            self._reshuffle()

    def __len__(self):
        if self.batch_size is None:
            return len(self._positions)
        return -(-len(self._positions) // self.batch_size)

    def __getitem__(self, index):
        if not isinstance(index, numbers.Integral):
            raise TypeError(f"index must be an integer, got index={index!r}")
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"index={index} is out of range for a dataset of {n} batches")
        index %= n
        if self.batch_size is None:
            starts = self._order[index]
        else:
            starts = self._order[index * self.batch_size:(index + 1) * self.batch_size]
        starts = np.asarray(starts) + self._start_index
        windows = self._data[starts[..., None] + self._offsets]
        if self._targets is None:
            return windows
        return windows, np.asarray(self._targets[starts])

    def __iter__(self):
        if self._shuffle:
            self._reshuffle()
        for i in range(len(self)):
            yield _eager(self[i])

    def take(self, count):
        """The first ``count`` batches, as an iterable (``tf.data.Dataset.take``)."""
        if not isinstance(count, numbers.Integral) or isinstance(count, bool):
            raise TypeError(f"count must be an integer, got count={count!r}")
        return _Taken(self, len(self) if count < 0 else int(count))

    def on_epoch_begin(self):
        if self._shuffle:
            self._reshuffle()

    def _reshuffle(self):
        # tf.data's shuffle buffer (Keras: ``dataset.shuffle(batch_size * 8, seed)``, drawn
        # anew each pass): keep a buffer full, emit a random element of it, refill. The
        # algorithm is TensorFlow's; the random numbers are rnncore's, so the order differs.
        size = 1024 if self.batch_size is None else self.batch_size * 8
        stream, rng = self._positions, self._rng
        buffer = list(stream[:size])
        order = np.empty_like(stream)
        for i in range(len(stream)):
            j = int(rng.integers(len(buffer)))
            order[i] = buffer[j]
            nxt = i + size
            if nxt < len(stream):
                buffer[j] = stream[nxt]
            else:
                buffer[j] = buffer[-1]
                buffer.pop()
        self._order = order


def _check_int(name, value, minimum=None):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(f"`{name}` must be an integer. Received: {name}={value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"`{name}` must be {minimum} or greater. Received: {name}={value}")


def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1,
                                  sampling_rate=1, batch_size=128, shuffle=False, seed=None,
                                  start_index=None, end_index=None, format="tf"):
    """Batches of sliding windows over a series, as Keras's
    ``keras.utils.timeseries_dataset_from_array``.

    Window ``i`` starts at ``p = start_index + i * sequence_stride`` and holds
    ``data[p], data[p + sampling_rate], …`` (``sequence_length`` steps); its target is
    ``targets[p]``.

    Parameters
    ----------
    data : array-like, shape ``(steps, ...)``; the first axis is time.
    targets : array-like or None. ``targets[i]`` is the target of the window starting at
        ``data[i]`` (``targets[start_index + i]`` with ``start_index``). None: the dataset
        gives inputs only.
    sequence_length : int, the number of steps in a window.
    sequence_stride : int, steps between the starts of consecutive windows (default 1).
    sampling_rate : int, steps between two rows of one window (default 1).
    batch_size : int or None. None: single windows, without a batch axis.
    shuffle : bool. As Keras: the window starts are permuted once with
        ``np.random.RandomState(seed)`` (the same permutation as Keras), then each pass goes
        through a shuffle buffer of ``batch_size * 8`` windows as ``tf.data`` does. The buffer
        draws from rnncore's generator, so that second stage orders the windows differently
        from Keras (the set of windows, and each window, are the same).
    seed : int, optional. None: drawn from rnncore's generator (``set_random_seed``).
    start_index, end_index : int, optional. Only ``data[start_index:end_index]`` is used.
    format : "tf" (Keras's default, a ``tf.data.Dataset`` there): rnncore's dataset of the same
        batches. Keras's other choice, "grain", is not offered.

    Returns
    -------
    TimeseriesDataset : a :class:`rnncore.utils.PyDataset` giving ``(inputs, targets)``
        batches of shapes ``(batch, sequence_length, ...)`` and ``(batch, ...)``, or inputs only.

    Example
    -------
    >>> import numpy as np
    >>> ds = timeseries_dataset_from_array(np.arange(10), np.arange(10) * 2,
    ...                                    sequence_length=3, batch_size=4)
    >>> x, y = ds[0]
    >>> x.tolist(), y.tolist()
    ([[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5]], [0, 2, 4, 6])
    >>> len(ds)
    2
    """
    if format not in ("tf", "grain"):
        raise ValueError('`format` should be either "tf" or "grain". '
                         f"Received: format={format!r}")
    if format == "grain":
        raise NotImplementedError('timeseries_dataset_from_array(format="grain") is not '
                                  'offered by rnncore; use format="tf" (the default)')
    data = np.asarray(data)
    if data.ndim == 0:
        raise ValueError(f"`data` must be an array with a time axis first. Received: data of "
                         f"shape {data.shape}")
    if targets is not None:
        targets = np.asarray(targets)
        if targets.ndim == 0:
            raise ValueError(f"`targets` must be an array (one target per step) or None. "
                             f"Received: targets of shape {targets.shape}")
    _check_int("sequence_length", sequence_length, 1)
    for name, value in (("sequence_stride", sequence_stride),
                        ("sampling_rate", sampling_rate)):
        _check_int(name, value)
        if value <= 0:
            raise ValueError(f"`{name}` must be higher than 0. Received: {name}={value}")
        if value >= len(data):
            raise ValueError(f"`{name}` must be lower than the length of the data. Received: "
                             f"{name}={value}, for data of length {len(data)}")
    if batch_size is not None:
        _check_int("batch_size", batch_size, 1)
    if start_index is not None:
        _check_int("start_index", start_index, 0)
        if start_index >= len(data):
            raise ValueError(f"`start_index` must be lower than the length of the data. "
                             f"Received: start_index={start_index}, for data of length "
                             f"{len(data)}")
    if end_index is not None:
        _check_int("end_index", end_index)
        if start_index and end_index <= start_index:
            raise ValueError(f"`end_index` must be higher than `start_index`. Received: "
                             f"start_index={start_index}, and end_index={end_index}")
        if end_index >= len(data):
            raise ValueError(f"`end_index` must be lower than the length of the data. "
                             f"Received: end_index={end_index}, for data of length {len(data)}")
        if end_index <= 0:
            raise ValueError(f"`end_index` must be higher than 0. Received: "
                             f"end_index={end_index}")
    start_index = 0 if start_index is None else int(start_index)
    end_index = len(data) if end_index is None else int(end_index)

    # Keras's window count, including its use of len(targets) (not len - start_index)
    num_seqs = end_index - start_index - (sequence_length - 1) * sampling_rate
    if targets is not None:
        num_seqs = min(num_seqs, len(targets))
    positions = np.arange(0, max(num_seqs, 0), sequence_stride, dtype=np.int64)
    if shuffle:
        if seed is None:
            seed = int(generator().integers(1_000_000))
        _check_int("seed", seed)
        np.random.RandomState(seed).shuffle(positions)
    return TimeseriesDataset(data[:end_index], targets, sequence_length, sampling_rate,
                             batch_size, start_index, end_index, positions, bool(shuffle),
                             seed)
