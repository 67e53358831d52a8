"""Keras's LSTM layer over rnncore's compiled kernel."""
import numpy as np

from .. import recurrent
from ._rnn import GatedRNNBase


class LSTM(GatedRNNBase):
    """Long Short-Term Memory layer (Hochreiter & Schmidhuber, 1997), as Keras's ``LSTM``.

    ::

        z_t = x_t·kernel + h_{t-1}·recurrent_kernel + bias     split into z_i, z_f, z_c, z_o
        i, f, o = recurrent_activation(z_i, z_f, z_o)
        c_t = f ⊙ c_{t-1} + i ⊙ activation(z_c)
        h_t = o ⊙ activation(c_t)                               (the output)

    Parameters are Keras's: ``units``, ``activation`` (default 'tanh'),
    ``recurrent_activation`` (default 'sigmoid'; the kernels run 'tanh', 'relu', 'sigmoid',
    'hard_sigmoid' and 'linear'/None; any other activation, a Keras built-in such as 'gelu' or
    a function written with ``rnncore.ops``, runs each step's element-wise part in NumPy,
    several times slower), ``use_bias``, ``kernel_initializer``,
    ``recurrent_initializer``, ``bias_initializer``, ``unit_forget_bias`` (default True: the
    forget gate's bias starts at one), ``dropout``, ``recurrent_dropout``, ``return_sequences``,
    ``return_state`` (then the layer returns ``[output, h, c]``), ``go_backwards``,
    ``stateful``, ``seed``; ``use_cudnn`` and ``implementation`` are accepted for
    compatibility. As in Keras, ``recurrent_dropout`` > 0 (or ``implementation=1``) draws one
    dropout mask per gate. Call with ``initial_state=[h0, c0]``, each (batch, units).

    rnncore extension: ``truncate_gradient``, the number of steps backpropagation runs over,
    counted from the end (-1, the default: all of them).

    Weights, in ``get_weights()`` order, gate blocks i, f, c, o along the last axis:
    ``kernel (input_dim, 4·units)``, ``recurrent_kernel (units, 4·units)``,
    ``bias (4·units,)``.

    Example
    -------
    >>> import numpy as np, rnncore
    >>> layer = rnncore.layers.LSTM(4, return_sequences=True, return_state=True)
    >>> y, h, c = layer(np.zeros((32, 10, 8), "float32"))
    >>> y.shape, h.shape, c.shape
    ((32, 10, 4), (32, 4), (32, 4))
    """

    GATES = 4
    N_STATES = 2
    CELL_NAME = "lstm_cell"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, *, use_cudnn="auto",
                 implementation=2, **kwargs):
        super().__init__(units, activation=activation,
                         recurrent_activation=recurrent_activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer, use_cudnn=use_cudnn,
                         implementation=implementation, **kwargs)
        if not isinstance(unit_forget_bias, (bool, np.bool_)):
            raise ValueError(f"unit_forget_bias must be True or False, got {unit_forget_bias!r}")
        self.unit_forget_bias = bool(unit_forget_bias)

    def _build_weights(self, input_dim):
        H = self.units
        self.kernel = self.add_weight((input_dim, 4 * H), self.kernel_initializer, "kernel")
        self.recurrent_kernel = self.add_weight((H, 4 * H), self.recurrent_initializer,
                                                "recurrent_kernel")
        if not self.use_bias:
            self.bias = None
            return
        base = self.bias_initializer
        if self.unit_forget_bias:
            # Keras: the forget gate's block starts at one, the others from bias_initializer
            def init(shape, dtype="float32"):
                return np.concatenate([base((H,), dtype=dtype), np.ones(H, dtype),
                                       base((2 * H,), dtype=dtype)])
        else:
            init = base
        self.bias = self.add_weight((4 * H,), init, "bias")

    def _forward_op(self, x, initial_state, mask, dropout_mask, recurrent_dropout_mask):
        output, states, cache = recurrent.lstm_forward(
            x, self.kernel.value, self.recurrent_kernel.value,
            self.bias.value if self.use_bias else None, initial_state,
            activation=self.activation, recurrent_activation=self.recurrent_activation,
            return_sequences=self.return_sequences, go_backwards=self.go_backwards,
            truncate_gradient=self.truncate_gradient, mask=mask, dropout_mask=dropout_mask,
            recurrent_dropout_mask=recurrent_dropout_mask,
            zero_output_for_mask=self.zero_output_for_mask, workspace=self._workspace)
        return output, states, cache

    def _backward_op(self, cache, d_output, d_states):
        return recurrent.lstm_backward(cache, d_output, d_states, need_dx=self.input_grad_needed)

    def get_config(self):
        config = super().get_config()
        config["unit_forget_bias"] = self.unit_forget_bias
        return config
