"""Models: Sequential, functional Model, and saving/loading (``rnncore.models``)."""
from ._model import Model
from ._sequential import Sequential
from ._functional import Functional
from ._saving import load_model
from ._cloning import clone_model, model_from_json

__all__ = ["Model", "Sequential", "Functional", "load_model", "clone_model", "model_from_json"]
