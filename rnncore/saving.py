"""Keras's ``keras.saving``: saving and loading models, and the registry of user classes."""
from .models import load_model
from .utils._registration import (get_custom_objects, get_registered_name,
                                  get_registered_object, register_keras_serializable)

__all__ = ["get_custom_objects", "get_registered_name", "get_registered_object", "load_model",
           "register_keras_serializable"]
