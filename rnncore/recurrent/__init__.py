"""rnncore.recurrent (an extension to Keras): whole-layer forward and backward of each cell on
NumPy arrays.

Arrays are batch-major ``(batch, timesteps, features)`` with Keras's weight layout; every
forward returns ``(output, final_state(s), cache)`` and the matching backward takes the cache.
Every function checks all its arguments (shapes, dtypes, options; a backward's cache and
gradients) and raises a ValueError naming the one that is wrong: the compiled kernels behind
them trust their inputs. Arrays of any memory layout and of integer dtypes are converted.
"""
from ._simple_rnn import simple_rnn, simple_rnn_backward, simple_rnn_forward
from ._lstm import lstm, lstm_backward, lstm_forward
from ._gru import gru, gru_backward, gru_forward
from ._recurrent import Lookup, Projections

__all__ = ["simple_rnn", "simple_rnn_forward", "simple_rnn_backward",
           "lstm", "lstm_forward", "lstm_backward",
           "gru", "gru_forward", "gru_backward", "Lookup", "Projections"]
