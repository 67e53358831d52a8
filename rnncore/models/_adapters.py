"""Data pipelines for fit / evaluate / predict: what Keras's data adapters and EpochIterator do.

Besides arrays, Keras programs pass their data as Python generators, ``PyDataset`` (the old
``Sequence``) objects and ``tf.data`` datasets. Each becomes an adapter that makes an iterator
of batches ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)`` of NumPy arrays, and
:class:`EpochIterator` cuts those iterators into epochs with Keras's rules:

- a source of known length (arrays, a PyDataset, a dataset of known cardinality) is read once
  per epoch, from a new iterator, unless ``steps_per_epoch`` is given: then one iterator runs
  on across epochs, ``steps_per_epoch`` batches each, until the source is used up;
- a source of unknown length (a generator, a dataset of unknown cardinality) is read until it
  ends, with Keras's "ran out of data" warning; a Python generator can be read only once, and
  Keras replays its first two batches (which it peeked at) in every later epoch;
- ``shuffle`` is Keras's: arrays are reshuffled each epoch (``fit`` does that itself), a
  PyDataset's batches are visited in a new order, and generators and datasets are taken as
  they come (with Keras's warning that ``shuffle=True`` is ignored).

TensorFlow is never imported here: a ``tf.data`` dataset is recognised by its class and read
with its own ``as_numpy_iterator``.
"""
import itertools
import types
import warnings

import numpy as np

from .. import _config
from .._random import generator

# Keras peeks at this many batches of a generator and replays them (data_adapter_utils)
_PEEKED = 2


def is_tf_dataset(x):
    return any(cls.__name__ in ("DatasetV2", "DistributedDataset")
               and cls.__module__.startswith("tensorflow.") for cls in type(x).__mro__)


def is_py_dataset(x):
    """A PyDataset, Keras's or rnncore's, or an object that behaves as one (Keras's Sequence)."""
    from ..utils import PyDataset

    if isinstance(x, PyDataset):
        return True
    if any(cls.__name__ in ("PyDataset", "Sequence") and cls.__module__.startswith("keras")
           for cls in type(x).__mro__):
        return True
    return (hasattr(type(x), "__getitem__") and hasattr(type(x), "__len__")
            and hasattr(x, "on_epoch_end") and not isinstance(x, (np.ndarray, list, tuple)))


def is_pipeline(x):
    """Whether `x` is a data source other than arrays."""
    return (isinstance(x, types.GeneratorType) or is_tf_dataset(x) or is_py_dataset(x)
            or (hasattr(x, "__next__") and hasattr(x, "__iter__")))


def _kind(x):
    if is_tf_dataset(x):
        return "tf.data.Dataset"
    if is_py_dataset(x):
        return "PyDataset"
    return "generator"


def make_adapter(x, y=None, sample_weight=None, class_weight=None, shuffle=False,
                 batch_size=None, validation_split=0.0):
    """The adapter for a data source that is not arrays, after Keras's argument checks."""
    kind = _kind(x)
    for argument, value, what in (("y", y, "the targets"),
                                  ("sample_weight", sample_weight, "the sample weights")):
        if value is not None:
            raise ValueError(f"When providing `x` as a {kind}, `{argument}` should not be "
                             f"passed. Instead, {what} should be included as part of the "
                             f"{kind}.")
    if validation_split:
        raise ValueError("`validation_split` is only supported for NumPy arrays; received "
                         f"`x` as a {kind}. Pass `validation_data` instead.")
    if batch_size is not None:
        raise ValueError(f"When providing `x` as a {kind}, `batch_size` should not be passed: "
                         f"the {kind} makes the batches. Received: batch_size={batch_size!r}")
    if kind == "PyDataset":
        return PyDatasetAdapter(x, class_weight, shuffle)
    if kind == "generator" and class_weight is not None:
        raise ValueError("Argument `class_weight` is not supported for Python generator "
                         f"inputs. Received: class_weight={class_weight}")
    if shuffle is True:
        warnings.warn(f"`shuffle=True` was passed, but will be ignored since the data `x` was "
                      f"provided as a {kind}: it is expected to yield already-shuffled data.",
                      stacklevel=4)
    if kind == "tf.data.Dataset":
        return TFDatasetAdapter(x, class_weight)
    return GeneratorAdapter(x)


def standardize_batch(batch, source):
    """One element of a data source as Keras reads it: (x, y, sample_weight), y and
    sample_weight None when absent."""
    if isinstance(batch, (np.ndarray, dict)):  # inputs alone (a dict: by input name)
        batch = (batch,)
    if isinstance(batch, list):
        batch = tuple(batch)
    if not isinstance(batch, tuple) or len(batch) not in (1, 2, 3):
        raise ValueError(f"A {source} must give tuples (inputs,), (inputs, targets) or "
                         f"(inputs, targets, sample_weights) of arrays. Received: "
                         f"{str(batch)[:100]} of type {type(batch).__name__}")
    return tuple(batch) + (None,) * (3 - len(batch))


class _Adapter:
    num_batches = None

    def batches(self):
        """A new iterator over the source's batches, each (x, y, sample_weight)."""
        raise NotImplementedError

    def on_epoch_begin(self):
        pass

    def on_epoch_end(self):
        pass


class ArrayAdapter(_Adapter):
    """Arrays, cut into batches (in a new random order each iterator, with `shuffle`)."""

    def __init__(self, x, y, sample_weight, batch_size, shuffle):
        from . import _data

        self._data = _data
        self.x, self.y, self.sample_weight = x, y, sample_weight
        self.batch_size, self.shuffle = batch_size, shuffle
        self.num_samples = _data.num_samples(x)
        self.num_batches = -(-self.num_samples // batch_size)

    def batches(self):
        n, size = self.num_samples, self.batch_size
        if self.shuffle is True:
            order = generator().permutation(n)
        elif self.shuffle == "batch":
            starts = generator().permutation(self.num_batches) * size
            order = np.concatenate([np.arange(s, min(s + size, n)) for s in starts])
        else:
            order = None
        take = self._data.take
        for index in self._data.batches(n, size, order):
            yield take(self.x, index), take(self.y, index), take(self.sample_weight, index)


class PyDatasetAdapter(_Adapter):
    def __init__(self, dataset, class_weight, shuffle):
        # a dataset with `_fit_shuffles = False` keeps its own order, as Keras keeps a
        # tf.data dataset's (timeseries_dataset_from_array)
        if not getattr(dataset, "_fit_shuffles", True):
            shuffle = False
        self.dataset, self.class_weight, self.shuffle = dataset, class_weight, shuffle
        self.num_batches = getattr(dataset, "num_batches", None) if hasattr(
            dataset, "num_batches") else len(dataset)
        if self.num_batches is None and shuffle is True:
            warnings.warn("`shuffle=True` was passed, but will be ignored since the data `x` "
                          "was provided as an infinite PyDataset. The PyDataset is expected "
                          "to already be shuffled.", stacklevel=5)

    def batches(self):
        if self.num_batches is None:
            indices = itertools.count()
        elif self.shuffle is True:
            indices = generator().permutation(self.num_batches)
        else:
            indices = range(self.num_batches)
        for i in indices:
            yield standardize_batch(self.dataset[int(i)], "PyDataset")

    def on_epoch_begin(self):
        if hasattr(self.dataset, "on_epoch_begin"):
            self.dataset.on_epoch_begin()

    def on_epoch_end(self):
        if hasattr(self.dataset, "on_epoch_end"):
            self.dataset.on_epoch_end()


class TFDatasetAdapter(_Adapter):
    def __init__(self, dataset, class_weight):
        self.dataset, self.class_weight = dataset, class_weight
        cardinality = int(dataset.cardinality())
        self.num_batches = cardinality if cardinality >= 0 else None

    def batches(self):
        for batch in self.dataset.as_numpy_iterator():
            yield standardize_batch(batch, "tf.data.Dataset")


class GeneratorAdapter(_Adapter):
    """A generator or iterator: read once; the first batches, peeked at to check them, are
    replayed at the start of every new iterator, as Keras does."""

    class_weight = None

    def __init__(self, source):
        self.source = iter(source)
        self.first = list(itertools.islice(self.source, _PEEKED))
        if not self.first:
            raise ValueError("When passing a Python generator to a model, the generator must "
                             "yield at least one batch. Received an empty generator.")
        if not isinstance(self.first[0], tuple):
            raise ValueError("When passing a Python generator to a model, the generator must "
                             "return a tuple, either (input,) or (inputs, targets) or (inputs, "
                             f"targets, sample_weights). Received: {str(self.first[0])[:100]}")

    def batches(self):
        for batch in itertools.chain(self.first, self.source):
            yield standardize_batch(batch, "generator")


def _ran_out():
    warnings.warn("Your input ran out of data; interrupting training. Make sure that your "
                  "dataset or generator can generate at least `steps_per_epoch * epochs` "
                  "batches. You may need to use the `.repeat()` function when building your "
                  "dataset.", stacklevel=4)


class EpochIterator:
    """Cuts an adapter's batches into epochs as Keras's EpochIterator does (see the module
    docstring). One is made per ``fit`` (and one for its validation data, kept across
    epochs and reset before each evaluation, as Keras's) or per ``evaluate`` / ``predict``."""

    def __init__(self, adapter, steps_per_epoch=None):
        cap = _config.max_steps_per_epoch()  # keras.config.set_max_steps_per_epoch
        if cap and (not steps_per_epoch or cap < steps_per_epoch):
            warnings.warn(f"Limiting steps_per_epoch to {cap}", stacklevel=3)
            steps_per_epoch = cap
        self.adapter = adapter
        self.steps_per_epoch = steps_per_epoch
        self._num_batches = adapter.num_batches
        self._iterator = None
        self._seen = 0

    def reset(self):
        """Start again from a new iterator; Keras does this once before fit's first epoch and
        before every evaluation (also of fit's validation data), and it counts as the end of
        an epoch for the source (a PyDataset's ``on_epoch_end`` runs)."""
        self._iterator, self._seen = None, 0
        self._num_batches = self.adapter.num_batches
        self.adapter.on_epoch_end()

    @property
    def num_batches(self):
        """Batches per epoch, when known (for the progress bar)."""
        return self.steps_per_epoch or self._num_batches

    def epoch(self):
        """The batches of one epoch."""
        self.adapter.on_epoch_begin()
        n = self._num_batches
        steps = self.steps_per_epoch or n or -1
        if steps > 0:
            if self._iterator is None or self.steps_per_epoch is None:
                self._iterator, self._seen = iter(self.adapter.batches()), 0
            for _ in range(steps):
                if n and self._seen >= n:
                    if self.steps_per_epoch:
                        _ran_out()
                    break
                self._seen += 1
                try:
                    batch = next(self._iterator)
                except StopIteration:
                    if self._num_batches is None:
                        self._num_batches = self._seen
                    _ran_out()
                    self._iterator = None
                    break
                yield batch
            if n and self._seen >= n:
                self._iterator, self._seen = None, 0
        else:
            iterator = iter(self.adapter.batches())
            seen = 0
            while True:
                seen += 1
                try:
                    batch = next(iterator)
                except StopIteration:
                    self._num_batches = seen
                    _ran_out()
                    break
                yield batch
        self.adapter.on_epoch_end()
