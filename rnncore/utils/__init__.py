"""Utilities with Keras's names (``keras.utils``)."""
from .._random import set_random_seed
from ..backend import clear_session
from ..preprocessing.sequence import pad_sequences
from ._data import normalize, to_categorical
from ._progbar import Progbar
from ._py_dataset import PyDataset, Sequence
from ._timeseries import timeseries_dataset_from_array
from ._plot_model import model_to_dot_text, plot_model
from ._registration import (get_custom_objects, get_registered_name, get_registered_object,
                            register_keras_serializable)
from .._serialization import (CustomObjectScope, custom_object_scope,  # noqa: E402
                              deserialize_keras_object, serialize_keras_object)

__all__ = ["CustomObjectScope", "Progbar", "PyDataset", "Sequence", "clear_session",
           "custom_object_scope",
           "deserialize_keras_object", "get_custom_objects", "get_registered_name",
           "get_registered_object", "model_to_dot_text", "normalize", "pad_sequences",
           "plot_model", "register_keras_serializable", "serialize_keras_object",
           "set_random_seed", "timeseries_dataset_from_array", "to_categorical"]
