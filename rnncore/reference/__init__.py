"""Pure-NumPy twins of the compiled kernels: the executable spec, the fallback and the oracle.

Each module has the same functions and signatures as its ``rnncore._kernels`` counterpart.
"""
from . import _simple_rnn as simple_rnn

__all__ = ["simple_rnn"]
