"""Keras's SimpleRNN layer over rnncore's compiled kernel."""
from .. import recurrent
from ._rnn import RNNBase


class SimpleRNN(RNNBase):
    """Fully-connected RNN whose output is fed back as the next step's state.

    ``h_t = activation(x_t·kernel + h_{t-1}·recurrent_kernel + bias)``

    Parameters are Keras's (``units``, ``activation`` (any: see ``LSTM``), ``use_bias``,
    ``kernel_initializer``, ``recurrent_initializer``, ``bias_initializer``, ``dropout``,
    ``recurrent_dropout``, ``return_sequences``, ``return_state``, ``go_backwards``,
    ``stateful``, ``seed``), plus the rnncore extension ``truncate_gradient``: the number of
    steps backpropagation runs over, counted from the end (-1, the default: all of them).

    Weights, in ``get_weights()`` order: ``kernel (input_dim, units)``,
    ``recurrent_kernel (units, units)``, ``bias (units,)``.

    Example
    -------
    >>> import numpy as np, rnncore
    >>> layer = rnncore.layers.SimpleRNN(4, return_sequences=True)
    >>> layer(np.zeros((32, 10, 8), "float32")).shape
    (32, 10, 4)
    """

    def _build_weights(self, input_dim):
        self.kernel = self.add_weight((input_dim, self.units), self.kernel_initializer, "kernel")
        self.recurrent_kernel = self.add_weight((self.units, self.units),
                                                self.recurrent_initializer, "recurrent_kernel")
        self.bias = (self.add_weight((self.units,), self.bias_initializer, "bias")
                     if self.use_bias else None)

    def _forward_op(self, x, initial_state, mask, dropout_mask, recurrent_dropout_mask):
        output, h, cache = recurrent.simple_rnn_forward(
            x, self.kernel.value, self.recurrent_kernel.value,
            self.bias.value if self.use_bias else None,
            None if initial_state is None else initial_state[0],
            activation=self.activation, return_sequences=self.return_sequences,
            go_backwards=self.go_backwards, truncate_gradient=self.truncate_gradient,
            mask=mask, dropout_mask=dropout_mask, recurrent_dropout_mask=recurrent_dropout_mask,
            zero_output_for_mask=self.zero_output_for_mask, workspace=self._workspace)
        return output, [h], cache

    def _backward_op(self, cache, d_output, d_states):
        return recurrent.simple_rnn_backward(
            cache, d_output, None if d_states is None else d_states[0],
            need_dx=self.input_grad_needed)
