"""Layers with Keras's names, arguments, weight names, shapes and order."""
from ._base import Layer
from ._rnn import RNNBase
from ._simple_rnn import SimpleRNN

__all__ = ["Layer", "RNNBase", "SimpleRNN"]
