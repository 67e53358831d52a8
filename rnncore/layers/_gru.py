"""Keras's GRU layer over rnncore's compiled kernel."""
import numpy as np

from .. import recurrent
from ._rnn import GatedRNNBase


class GRU(GatedRNNBase):
    """Gated Recurrent Unit (Cho et al., 2014), as Keras's ``GRU``.

    Gate blocks z (update), r (reset), h (candidate) in that order along the last axis::

        z_t  = recurrent_activation(x_t·W_z + h_{t-1}·U_z + b_z)
        r_t  = recurrent_activation(x_t·W_r + h_{t-1}·U_r + b_r)
        hh_t = activation(x_t·W_h + r_t ⊙ (h_{t-1}·U_h + b'_h) + b_h)   reset_after=True
        hh_t = activation(x_t·W_h + (r_t ⊙ h_{t-1})·U_h + b_h)          reset_after=False
        h_t  = z_t ⊙ h_{t-1} + (1 - z_t) ⊙ hh_t                         (the output)

    Parameters are Keras's: ``units``, ``activation`` (default 'tanh'),
    ``recurrent_activation`` (default 'sigmoid'; any activation, as for ``LSTM``),
    ``use_bias``, ``kernel_initializer``,
    ``recurrent_initializer``, ``bias_initializer``, ``dropout``, ``recurrent_dropout``,
    ``return_sequences``, ``return_state`` (then the layer returns ``[output, h]``),
    ``go_backwards``, ``stateful``, ``seed`` and ``reset_after`` (default True, the variant
    compatible with cuDNN and PyTorch; it is also the faster one here: one recurrent product per
    step instead of two dependent ones). ``use_cudnn`` and ``implementation`` are accepted for
    compatibility. As in Keras, ``recurrent_dropout`` > 0 (or ``implementation=1``) draws one
    dropout mask per gate, and the recurrent mask multiplies h_{t-1} only where it meets
    ``recurrent_kernel``.

    rnncore extension: ``truncate_gradient``, the number of steps backpropagation runs over,
    counted from the end (-1, the default: all of them).

    Weights, in ``get_weights()`` order: ``kernel (input_dim, 3·units)``,
    ``recurrent_kernel (units, 3·units)``, ``bias`` — ``(2, 3·units)`` with reset_after
    (row 0 the input bias, row 1 the recurrent bias), ``(3·units,)`` without.

    Example
    -------
    >>> import numpy as np, rnncore
    >>> layer = rnncore.layers.GRU(4, return_sequences=True, return_state=True)
    >>> y, h = layer(np.zeros((32, 10, 8), "float32"))
    >>> y.shape, h.shape, layer.bias.shape
    ((32, 10, 4), (32, 4), (2, 12))
    """

    GATES = 3
    N_STATES = 1
    CELL_NAME = "gru_cell"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", *, reset_after=True, use_cudnn="auto",
                 implementation=2, **kwargs):
        super().__init__(units, activation=activation,
                         recurrent_activation=recurrent_activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer, use_cudnn=use_cudnn,
                         implementation=implementation, **kwargs)
        if not isinstance(reset_after, (bool, np.bool_)):
            raise ValueError(f"reset_after must be True or False, got {reset_after!r}")
        self.reset_after = bool(reset_after)

    def _build_weights(self, input_dim):
        H = self.units
        self.kernel = self.add_weight((input_dim, 3 * H), self.kernel_initializer, "kernel")
        self.recurrent_kernel = self.add_weight((H, 3 * H), self.recurrent_initializer,
                                                "recurrent_kernel")
        bias_shape = (2, 3 * H) if self.reset_after else (3 * H,)
        self.bias = (self.add_weight(bias_shape, self.bias_initializer, "bias")
                     if self.use_bias else None)

    def _forward_op(self, x, initial_state, mask, dropout_mask, recurrent_dropout_mask):
        return recurrent.gru_forward(
            x, self.kernel.value, self.recurrent_kernel.value,
            self.bias.value if self.use_bias else None,
            None if initial_state is None else initial_state[0],
            activation=self.activation, recurrent_activation=self.recurrent_activation,
            reset_after=self.reset_after, return_sequences=self.return_sequences,
            go_backwards=self.go_backwards, truncate_gradient=self.truncate_gradient,
            mask=mask, dropout_mask=dropout_mask, recurrent_dropout_mask=recurrent_dropout_mask,
            zero_output_for_mask=self.zero_output_for_mask, workspace=self._workspace)

    def _backward_op(self, cache, d_output, d_states):
        return recurrent.gru_backward(cache, d_output, d_states, need_dx=self.input_grad_needed)

    def get_config(self):
        config = super().get_config()
        config["reset_after"] = self.reset_after
        return config
