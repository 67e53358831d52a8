"""Models: Sequential, functional Model, and saving/loading (``rnncore.models``)."""
from ._model import Model
from ._sequential import Sequential
from ._functional import Functional
from ._saving import load_model

__all__ = ["Model", "Sequential", "Functional", "load_model"]
