"""Keras's default names: a class name in snake case (``keras.src.utils.naming``).

One rule for layers, metrics and the paths in saved files: ``GlobalMaxPooling1D`` ->
``global_max_pooling1d``, ``Conv1D`` -> ``conv1d``, ``AUC`` -> ``auc``, ``PReLU`` ->
``p_re_lu``. A digit does not start a new word, so ``1D`` stays ``1d``.
"""
import re


def snake_case(name):
    """``name`` (a class name) in Keras's snake case."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
