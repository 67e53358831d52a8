"""Keras's default names: a class name in snake case (``keras.src.utils.naming``).

One rule for layers, metrics and the paths in saved files: ``GlobalMaxPooling1D`` ->
``global_max_pooling1d``, ``Conv1D`` -> ``conv1d``, ``AUC`` -> ``auc``, ``PReLU`` ->
``p_re_lu``. A digit does not start a new word, so ``1D`` stays ``1d``.

Layers, models and metrics given no name share one count per name, as Keras's ``auto_name``:
the second ``Dense()`` is ``dense_1``, the second ``AUC()`` is ``auc_1``.
"""
import re


def snake_case(name):
    """``name`` (a class name) in Keras's snake case."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


_NAME_COUNTS = {}


def unique_name(base):
    """``base`` the first time, then ``base_1``, ``base_2``, ..."""
    n = _NAME_COUNTS.get(base, 0)
    _NAME_COUNTS[base] = n + 1
    return base if n == 0 else f"{base}_{n}"
