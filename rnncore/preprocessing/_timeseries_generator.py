"""Keras 2's ``TimeseriesGenerator`` (``keras.preprocessing.sequence``), still used by tutorials."""
import json
import numbers

import numpy as np

from .._random import generator
from ..utils._py_dataset import PyDataset


def _check_int(name, value, minimum):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}. Received: {name}={value!r}")


class TimeseriesGenerator(PyDataset):
    """Batches of windows over a series, with Keras 2's semantics.

    The sample for "current step" ``row`` is ``data[row - length:row:sampling_rate]`` (the
    ``length`` steps before ``row``, every ``sampling_rate``-th), its target ``targets[row]``.
    Rows run from ``start_index + length`` to ``end_index`` (inclusive), ``stride`` apart.

    Parameters
    ----------
    data : array-like, shape ``(steps, ...)``; the first axis is time.
    targets : array-like, one target per step of ``data`` (same length).
    length : int, how many steps before the current one a window covers.
    sampling_rate : int, steps between two rows of a window (default 1).
    stride : int, steps between two consecutive windows (default 1).
    start_index, end_index : int. Rows before ``start_index + length`` or after ``end_index``
        (default ``len(data) - 1``) are not used as current steps.
    shuffle : bool. True: each batch draws its rows at random (with replacement, as Keras 2,
        from rnncore's generator).
    reverse : bool. True: the steps of each window in reverse order.
    batch_size : int (default 128).

    Example
    -------
    >>> import numpy as np
    >>> data = np.arange(50).reshape(50, 1)
    >>> gen = TimeseriesGenerator(data, data, length=10, sampling_rate=2, batch_size=2)
    >>> len(gen)
    20
    >>> x, y = gen[0]
    >>> x[:, :, 0].tolist(), y.tolist()
    ([[0, 2, 4, 6, 8], [1, 3, 5, 7, 9]], [[10], [11]])
    """

    def __init__(self, data, targets, length, sampling_rate=1, stride=1, start_index=0,
                 end_index=None, shuffle=False, reverse=False, batch_size=128, **kwargs):
        super().__init__(**kwargs)
        if len(data) != len(targets):
            raise ValueError(f"Data and targets have to be of same length. Data length is "
                             f"{len(data)} while target length is {len(targets)}")
        _check_int("length", length, 1)
        _check_int("sampling_rate", sampling_rate, 1)
        _check_int("stride", stride, 1)
        _check_int("start_index", start_index, 0)
        _check_int("batch_size", batch_size, 1)
        if end_index is None:
            end_index = len(data) - 1
        _check_int("end_index", end_index, 0)
        self.data, self.targets = data, targets
        self.length, self.sampling_rate, self.stride = length, sampling_rate, stride
        self.start_index = start_index + length
        self.end_index = end_index
        self.shuffle, self.reverse, self.batch_size = shuffle, reverse, batch_size
        if self.start_index > self.end_index:
            raise ValueError(f"`start_index+length={self.start_index} > "
                             f"end_index={self.end_index}` is disallowed, as no part of the "
                             "sequence would be left to be used as current step.")

    def __len__(self):
        step = self.batch_size * self.stride
        return (self.end_index - self.start_index + step) // step

    def __getitem__(self, index):
        if self.shuffle:
            rows = generator().integers(self.start_index, self.end_index + 1,
                                        size=self.batch_size)
        else:
            i = self.start_index + self.batch_size * self.stride * index
            rows = np.arange(i, min(i + self.batch_size * self.stride, self.end_index + 1),
                             self.stride)
        samples = np.array([self.data[row - self.length:row:self.sampling_rate]
                            for row in rows])
        targets = np.array([self.targets[row] for row in rows])
        if self.reverse:
            return samples[:, ::-1, ...], targets
        return samples, targets

    def get_config(self):
        """Keras 2's config: the arguments, with data and targets as lists."""
        def listed(a):
            return np.asarray(a).tolist()
        return {"data": listed(self.data), "targets": listed(self.targets),
                "length": self.length, "sampling_rate": self.sampling_rate,
                "stride": self.stride, "start_index": self.start_index - self.length,
                "end_index": self.end_index, "shuffle": self.shuffle, "reverse": self.reverse,
                "batch_size": self.batch_size}

    def to_json(self, **kwargs):
        return json.dumps({"class_name": type(self).__name__, "config": self.get_config()},
                          **kwargs)
