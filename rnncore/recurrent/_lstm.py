"""LSTM forward and backward on batch-major arrays with Keras's weight layout."""
from . import _checks as K
from . import _recurrence as F
from . import _recurrent as R

CELL = F.Cell("lstm_forward", "lstm")



@R.single_threaded_blas
def lstm_forward(x, kernel, recurrent_kernel, bias=None, initial_state=None, *,
                 activation="tanh", recurrent_activation="sigmoid", return_sequences=False,
                 go_backwards=False, truncate_gradient=-1, mask=None, dropout_mask=None,
                 recurrent_dropout_mask=None, zero_output_for_mask=False, engine="auto",
                 n_threads=None, workspace=None):
    """Run an LSTM over a batch of sequences (Keras's ``LSTM`` layer, gates i, f, c, o).

    ::

        z_t = x_t·kernel + h_{t-1}·recurrent_kernel + bias     split into z_i, z_f, z_c, z_o
        i, f, o = recurrent_activation(z_i, z_f, z_o)
        c_t = f ⊙ c_{t-1} + i ⊙ activation(z_c)
        h_t = o ⊙ activation(c_t)

    Parameters
    ----------
    x : ndarray (batch, timesteps, input_dim), or an Embedding's rows as a
        :class:`rnncore.recurrent.Lookup` (the input gradient is then the table's IndexedSlices).
    kernel : (input_dim, 4·units); recurrent_kernel : (units, 4·units);
    bias : (4·units,) or None. The gate blocks along the last axis are i, f, c, o.
    initial_state : [h0, c0], each (batch, units) or None (zeros); or None.
    activation, recurrent_activation : a built-in activation's name ('tanh', 'relu',
        'sigmoid', 'hard_sigmoid' and 'linear' run on the kernels; others such as 'gelu' step
        by step in NumPy) or a function written with :mod:`rnncore.ops` (step by step,
        differentiated on the record).
    return_sequences : return every step's output (batch, timesteps, units), else the last.
    go_backwards : process the sequence in reverse (outputs come in processing order, as Keras).
    truncate_gradient : BPTT window used by :func:`lstm_backward` (-1: all steps).
    mask : (batch, timesteps) booleans; masked steps keep h and c (Keras semantics).
    dropout_mask : (batch, input_dim) multiplier of x_t shared by the gates, or
        (4, batch, input_dim), one per gate (Keras's ``implementation=1``, which Keras uses
        whenever ``recurrent_dropout`` > 0).
    recurrent_dropout_mask : (batch, units) or (4, batch, units), likewise for h_{t-1} in the
        recurrent product.
    engine : 'auto' or 'kernel' (compiled), 'numpy' (the reference twin).
    n_threads : threads of the kernel (default: rnncore.get_num_threads() for a large
        recurrence, one for a small one); they split the batch rows, or the hidden units when
        one step's product is big.
    workspace : a :class:`rnncore.recurrent._recurrent.Workspace` reused across calls (the layer's).

    Returns
    -------
    output, [h_T, c_T], cache
        ``cache`` goes to :func:`lstm_backward`.

    Example
    -------
    >>> x = np.zeros((2, 5, 3), np.float32)
    >>> W, U = np.ones((3, 16), np.float32), np.zeros((4, 16), np.float32)
    >>> y, (h, c), _ = lstm_forward(x, W, U, return_sequences=True)
    >>> y.shape, h.shape, c.shape
    ((2, 5, 4), (2, 4), (2, 4))
    """
    a = K.forward_arguments(
        x, kernel, recurrent_kernel, bias, initial_state, gates=4, n_states=2,
        gate_names="i, f, c, o", mask=mask, dropout_mask=dropout_mask,
        recurrent_dropout_mask=recurrent_dropout_mask, return_sequences=return_sequences,
        go_backwards=go_backwards, zero_output_for_mask=zero_output_for_mask,
        n_threads=n_threads, workspace=workspace)
    return F.forward(CELL, a, engine, R.activation_code(activation, "activation"),
                     R.activation_code(recurrent_activation, "recurrent_activation"),
                     truncate_gradient)


@R.single_threaded_blas
def lstm_backward(cache, d_output, d_states=None, need_dx=True):
    """Gradients of a :func:`lstm_forward` call.

    Parameters
    ----------
    cache : from the forward call.
    d_output : gradient of the loss w.r.t. the output (same shape as the output), or None.
    d_states : [dh_T, dc_T], gradients w.r.t. the returned final states (batch, units), either
        of which may be None; or None.
    need_dx : compute the input gradient (a first layer fed by an embedding lookup needs it,
        one fed by data does not).

    Returns
    -------
    dict with ``kernel``, ``recurrent_kernel``, ``bias`` (None without bias), ``x``
    (batch, timesteps, input_dim) or None, and ``initial_state`` [dh0, dc0] (batch, units).
    Only the last ``truncate_gradient`` steps contribute (all with -1).
    """
    return F.backward(CELL, cache, "lstm_forward", d_output, d_states, "d_states", need_dx)


def lstm(x, kernel, recurrent_kernel, bias=None, initial_state=None, **kwargs):
    """Forward only: the output of :func:`lstm_forward`."""
    return lstm_forward(x, kernel, recurrent_kernel, bias, initial_state, **kwargs)[0]
