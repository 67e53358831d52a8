"""SimpleRNN forward and backward on batch-major arrays with Keras's weight layout."""
from . import _checks as K
from . import _recurrence as F
from . import _recurrent as R

CELL = F.Cell("simple_rnn_forward", "simple")



@R.single_threaded_blas
def simple_rnn_forward(x, kernel, recurrent_kernel, bias=None, initial_state=None, *,
                       activation="tanh", return_sequences=False, go_backwards=False,
                       truncate_gradient=-1, mask=None, dropout_mask=None,
                       recurrent_dropout_mask=None, zero_output_for_mask=False,
                       engine="auto", n_threads=None, workspace=None):
    """Run a SimpleRNN over a batch of sequences.

    ``h_t = activation(x_t·kernel + h_{t-1}·recurrent_kernel + bias)``

    Parameters
    ----------
    x : ndarray (batch, timesteps, input_dim), or an Embedding's rows as a
        :class:`rnncore.recurrent.Lookup` (the input gradient is then the table's IndexedSlices).
    kernel : (input_dim, units); recurrent_kernel : (units, units); bias : (units,) or None
    initial_state : (batch, units) (or ``[that]``) or None (zeros)
    activation : a built-in activation's name ('tanh', 'relu', 'sigmoid', 'hard_sigmoid' and
        'linear' run on the kernels; others such as 'gelu' step by step in NumPy) or a
        function written with :mod:`rnncore.ops` (step by step, differentiated on the record).
    return_sequences : return every step's output (batch, timesteps, units), else the last.
    go_backwards : process the sequence in reverse (outputs come in processing order, as Keras).
    truncate_gradient : BPTT window used by :func:`simple_rnn_backward` (-1: all steps).
    mask : (batch, timesteps) booleans; masked steps keep the previous state (Keras semantics).
    dropout_mask, recurrent_dropout_mask : (batch, input_dim) / (batch, units) multipliers
        applied to x_t / h_{t-1} at every step (Keras draws them once per batch).
    engine : 'auto' or 'kernel' (compiled), 'numpy' (the reference twin).

    Returns
    -------
    output, final_state, cache
        ``final_state`` is h_T (batch, units); ``cache`` goes to :func:`simple_rnn_backward`.

    Example
    -------
    >>> x = np.zeros((2, 5, 3), np.float32)
    >>> W, U, b = np.ones((3, 4), np.float32), np.eye(4, dtype=np.float32), np.zeros(4, np.float32)
    >>> y, h, _ = simple_rnn_forward(x, W, U, b, return_sequences=True)
    >>> y.shape, h.shape
    ((2, 5, 4), (2, 4))
    """
    # public API: every argument is checked (the kernels trust theirs); transposed or
    # mixed-dtype weights are converted to C-contiguous arrays of one float dtype
    a = K.forward_arguments(
        x, kernel, recurrent_kernel, bias, initial_state, gates=1, n_states=1, gate_names=None,
        mask=mask, dropout_mask=dropout_mask, recurrent_dropout_mask=recurrent_dropout_mask,
        return_sequences=return_sequences, go_backwards=go_backwards,
        zero_output_for_mask=zero_output_for_mask, n_threads=n_threads, workspace=workspace)
    act = R.activation_code(activation)
    output, (h,), cache = F.forward(CELL, a, engine, act, R.ACTIVATIONS["sigmoid"],
                                    truncate_gradient)
    return output, h, cache


@R.single_threaded_blas
def simple_rnn_backward(cache, d_output, d_state=None, need_dx=True):
    """Gradients of a :func:`simple_rnn_forward` call.

    Parameters
    ----------
    cache : from the forward call.
    d_output : gradient of the loss w.r.t. the output (same shape as the output).
    d_state : gradient w.r.t. the returned final state (batch, units) (or ``[that]``), or None.

    Returns
    -------
    dict with ``kernel``, ``recurrent_kernel``, ``bias`` (None without bias), ``x``
    (batch, timesteps, input_dim) and ``initial_state`` (batch, units).
    Only the last ``truncate_gradient`` steps contribute (all with -1).
    """
    grads = F.backward(CELL, cache, "simple_rnn_forward", d_output, d_state, "d_state", need_dx)
    grads["initial_state"] = grads["initial_state"][0]
    return grads


def simple_rnn(x, kernel, recurrent_kernel, bias=None, initial_state=None, **kwargs):
    """Forward only: the output of :func:`simple_rnn_forward`."""
    return simple_rnn_forward(x, kernel, recurrent_kernel, bias, initial_state, **kwargs)[0]
