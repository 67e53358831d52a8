"""Keras's ``keras.config``: the settings a Keras program reads (float type, epsilon, backend
name, image data format)."""
from ._config import floatx, set_floatx
from .backend import backend, epsilon, image_data_format

__all__ = ["floatx", "set_floatx", "epsilon", "backend", "image_data_format"]
