"""Keras's ``keras.saving``: saving and loading models, the registry of user classes, and
(de)serializing objects to Keras's config dicts."""
from ._serialization import (CustomObjectScope, custom_object_scope,
                             deserialize_keras_object, serialize_keras_object)
from .models import load_model
from .models._saving import save_model
from .utils._registration import (get_custom_objects, get_registered_name,
                                  get_registered_object, register_keras_serializable)

__all__ = ["CustomObjectScope", "custom_object_scope", "deserialize_keras_object",
           "get_custom_objects", "get_registered_name", "get_registered_object", "load_model",
           "load_weights", "register_keras_serializable", "save_model", "save_weights",
           "serialize_keras_object"]


def save_weights(model, filepath, overwrite=True, max_shard_size=None, **kwargs):
    """Keras's ``keras.saving.save_weights(model, filepath)``: ``model.save_weights``."""
    if kwargs:
        raise ValueError(f"save_weights: the following argument(s) are not supported by "
                         f"rnncore: {sorted(kwargs)}")
    model.save_weights(filepath, overwrite=overwrite, max_shard_size=max_shard_size)


def load_weights(model, filepath, skip_mismatch=False, **kwargs):
    """Keras's ``keras.saving.load_weights(model, filepath)``: ``model.load_weights``."""
    if kwargs:
        raise ValueError(f"load_weights: the following argument(s) are not supported by "
                         f"rnncore: {sorted(kwargs)}")
    model.load_weights(filepath, skip_mismatch=skip_mismatch)
