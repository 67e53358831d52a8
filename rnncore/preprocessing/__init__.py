"""Data preprocessing, mirroring ``keras.preprocessing``."""
from . import sequence
from .sequence import pad_sequences
from ..utils._timeseries import timeseries_dataset_from_array

__all__ = ["sequence", "pad_sequences", "timeseries_dataset_from_array"]
