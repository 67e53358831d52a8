"""Utilities with Keras's names (``keras.utils``)."""
from .._random import set_random_seed
from ..preprocessing.sequence import pad_sequences
from ._data import normalize, to_categorical
from ._progbar import Progbar
from ._py_dataset import PyDataset, Sequence
from ._timeseries import timeseries_dataset_from_array

__all__ = ["Progbar", "PyDataset", "Sequence", "normalize", "pad_sequences", "set_random_seed",
           "timeseries_dataset_from_array", "to_categorical"]
