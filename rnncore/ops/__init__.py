"""rnncore's functional API: whole-layer forward and backward of each cell on NumPy arrays.

Arrays are batch-major ``(batch, timesteps, features)`` with Keras's weight layout; every
forward returns ``(output, final_state(s), cache)`` and the matching backward takes the cache.
"""
from ._simple_rnn import simple_rnn, simple_rnn_backward, simple_rnn_forward

__all__ = ["simple_rnn", "simple_rnn_forward", "simple_rnn_backward"]
