"""Pure-NumPy twins of the compiled kernels: the executable spec, the fallback and the oracle.

``recurrence`` has the contract of ``rnncore._kernels._recurrence``; ``simple_rnn``, ``lstm``
and ``gru`` state each cell's maths step by step behind it.
"""
from . import _recurrence as recurrence
from . import _simple_rnn as simple_rnn
from . import _lstm as lstm
from . import _gru as gru

__all__ = ["recurrence", "simple_rnn", "lstm", "gru"]
