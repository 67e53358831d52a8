"""Pure-NumPy twins of the compiled kernels: the executable spec, the fallback and the oracle.

Each module has the same functions and signatures as its ``rnncore._kernels`` counterpart.
"""
from . import _recurrence as recurrence
from . import _simple_rnn as simple_rnn
from . import _lstm as lstm
from . import _gru as gru

__all__ = ["recurrence", "simple_rnn", "lstm", "gru"]
