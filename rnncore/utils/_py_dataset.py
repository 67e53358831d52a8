"""PyDataset: Keras's base class for data made batch by batch in Python code."""


class PyDataset:
    """A dataset of batches made by Python code, for ``fit`` / ``evaluate`` / ``predict``.

    Subclass it and define ``__len__`` (the number of batches) and ``__getitem__(index)``
    (batch ``index``: ``(inputs,)``, ``(inputs, targets)`` or ``(inputs, targets,
    sample_weights)`` of NumPy arrays). ``on_epoch_begin`` / ``on_epoch_end`` run around
    every epoch (reshuffle there). ``fit(shuffle=True)`` visits the batches in a new random
    order each epoch, as Keras does. A ``num_batches`` property returning None makes the
    dataset endless (``fit`` then needs ``steps_per_epoch``).

    ``workers``, ``use_multiprocessing`` and ``max_queue_size`` are accepted and kept, as
    Keras's are; rnncore reads the batches one after another in the training thread (a batch
    of the recurrent models it trains is computed in well under the time a worker pool would
    take to hand it over).

    Example
    -------
    >>> import math, numpy as np
    >>> class Batches(PyDataset):
    ...     def __init__(self, x, y, batch_size, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.x, self.y, self.batch_size = x, y, batch_size
    ...     def __len__(self):
    ...         return math.ceil(len(self.x) / self.batch_size)
    ...     def __getitem__(self, i):
    ...         s = slice(i * self.batch_size, (i + 1) * self.batch_size)
    ...         return self.x[s], self.y[s]
    >>> len(Batches(np.zeros((10, 5, 3)), np.zeros(10), 4))
    3
    """

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self._workers = workers
        self._use_multiprocessing = use_multiprocessing
        self._max_queue_size = max_queue_size

    @property
    def workers(self):
        return getattr(self, "_workers", 1)

    @workers.setter
    def workers(self, value):
        self._workers = value

    @property
    def use_multiprocessing(self):
        return getattr(self, "_use_multiprocessing", False)

    @use_multiprocessing.setter
    def use_multiprocessing(self, value):
        self._use_multiprocessing = value

    @property
    def max_queue_size(self):
        return getattr(self, "_max_queue_size", 10)

    @max_queue_size.setter
    def max_queue_size(self, value):
        self._max_queue_size = value

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index), "
                                  "returning batch `index`")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__(), the number "
                                  "of batches (or a num_batches property returning None for an "
                                  "endless dataset)")

    @property
    def num_batches(self):
        """The number of batches (``len(self)``), or None for an endless dataset."""
        if type(self).__len__ is PyDataset.__len__:
            return None
        return len(self)

    def on_epoch_begin(self):
        """Called at the start of every epoch."""

    def on_epoch_end(self):
        """Called at the end of every epoch."""


Sequence = PyDataset  # Keras 3 keeps the old name as an alias
