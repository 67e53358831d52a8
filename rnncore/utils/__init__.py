"""Utilities with Keras's names (``keras.utils``)."""
from .._random import set_random_seed
from ..backend import clear_session
from ..preprocessing.sequence import pad_sequences
from ._data import normalize, to_categorical
from ._progbar import (Progbar, disable_interactive_logging, enable_interactive_logging,
                       is_interactive_logging_enabled)
from ._py_dataset import PyDataset, Sequence
from ._timeseries import timeseries_dataset_from_array
from ._plot_model import model_to_dot_text, plot_model
from ._registration import (get_custom_objects, get_registered_name, get_registered_object,
                            register_keras_serializable)
from ._config_object import Config
from ._text_dataset import text_dataset_from_directory
from ._train_data import (get_source_inputs, pack_x_y_sample_weight, split_dataset,
                          unpack_x_y_sample_weight)
from .._dtypes import standardize_dtype
from ..backend import is_keras_tensor
from .._serialization import (CustomObjectScope, custom_object_scope,  # noqa: E402
                              deserialize_keras_object, serialize_keras_object)

__all__ = ["CustomObjectScope", "Progbar", "PyDataset", "Sequence", "clear_session",
           "custom_object_scope",
           "deserialize_keras_object", "get_custom_objects", "get_registered_name",
           "get_registered_object", "model_to_dot_text", "normalize", "pad_sequences",
           "plot_model", "register_keras_serializable", "serialize_keras_object",
           "set_random_seed", "timeseries_dataset_from_array", "to_categorical", "Config",
           "disable_interactive_logging", "enable_interactive_logging",
           "is_interactive_logging_enabled", "get_source_inputs", "is_keras_tensor",
           "pack_x_y_sample_weight", "split_dataset", "standardize_dtype",
           "unpack_x_y_sample_weight", "text_dataset_from_directory"]
