"""Keras's ``keras.saving``: saving and loading models, the registry of user classes, and
(de)serializing objects to Keras's config dicts."""
from ._serialization import (CustomObjectScope, custom_object_scope,
                             deserialize_keras_object, serialize_keras_object)
from .models import load_model
from .utils._registration import (get_custom_objects, get_registered_name,
                                  get_registered_object, register_keras_serializable)

__all__ = ["CustomObjectScope", "custom_object_scope", "deserialize_keras_object",
           "get_custom_objects", "get_registered_name", "get_registered_object", "load_model",
           "register_keras_serializable", "serialize_keras_object"]
