"""Keras's ``keras.ops`` on rnncore.

rnncore's whole-layer recurrent functions (``lstm_forward``, ...) live in
:mod:`rnncore.recurrent`; their old names here still resolve, with a DeprecationWarning.
"""
import importlib
import warnings

__all__ = []

_MOVED = ("simple_rnn", "simple_rnn_forward", "simple_rnn_backward", "lstm", "lstm_forward",
          "lstm_backward", "gru", "gru_forward", "gru_backward", "Lookup", "Projections")


def __getattr__(name):
    # Keras 3's keras.ops has no lstm_forward: a program written for rnncore before the move
    # keeps running for a while and is told where the name went.
    if name in _MOVED:
        warnings.warn(f"rnncore.ops.{name} moved to rnncore.recurrent.{name}; the old name will "
                      "be removed", DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module("rnncore.recurrent"), name)
    raise AttributeError(f"module 'rnncore.ops' has no attribute {name!r}")
