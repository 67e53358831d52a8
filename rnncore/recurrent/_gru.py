"""GRU forward and backward on batch-major arrays with Keras's weight layout."""
import numpy as np

from . import _checks as K
from . import _recurrence as F
from . import _recurrent as R


def _split_bias(bias, H, dtype):
    """(x-side bias, b'_h): with reset_after the recurrent biases of z and r simply add to the
    input side; b'_h sits inside r ⊙ (…), so the kernel takes it apart."""
    if bias is None:
        # the kernel's fused rows for the default activations want b'_h even when it is zero
        return None, np.zeros(H, dtype)
    xbias = bias[0].copy()
    xbias[:2 * H] += bias[1, :2 * H]
    return xbias, np.ascontiguousarray(bias[1, 2 * H:], dtype=dtype)


def _join_bias_grad(db, daux_sum):
    """(2, 3H) bias gradient: z and r meet U with the same gradient as x·W; the candidate's
    recurrent bias with r ⊙ dL/dhh."""
    H = db.shape[0] // 3
    return np.stack([db, np.concatenate([db[:2 * H], daux_sum])])


AFTER = F.Cell("gru_forward", "gru", _split_bias, _join_bias_grad)
BEFORE = F.Cell("gru_forward", "gru_before")



@R.single_threaded_blas
def gru_forward(x, kernel, recurrent_kernel, bias=None, initial_state=None, *,
                activation="tanh", recurrent_activation="sigmoid", reset_after=True,
                return_sequences=False, go_backwards=False, truncate_gradient=-1, mask=None,
                dropout_mask=None, recurrent_dropout_mask=None, zero_output_for_mask=False,
                engine="auto", n_threads=None, workspace=None):
    """Run a GRU (Keras's ``GRU``) over a batch of sequences.

    Gate blocks z, r, h in that order along the ``3·units`` columns::

        z_t  = recurrent_activation(x_t·W_z + h_{t-1}·U_z + b_z)
        r_t  = recurrent_activation(x_t·W_r + h_{t-1}·U_r + b_r)
        hh_t = activation(x_t·W_h + r_t ⊙ (h_{t-1}·U_h + b'_h) + b_h)   reset_after=True
        hh_t = activation(x_t·W_h + (r_t ⊙ h_{t-1})·U_h + b_h)          reset_after=False
        h_t  = z_t ⊙ h_{t-1} + (1 - z_t) ⊙ hh_t

    With reset_after=True a step makes one product ``h_{t-1}·U`` over all gates; with False
    the candidate needs a second product that waits for r_t, so each step costs two dependent
    gemms (slower for the same shapes).

    Parameters
    ----------
    x : ndarray (batch, timesteps, input_dim), or an Embedding's rows as a
        :class:`rnncore.recurrent.Lookup` (the input gradient is then the table's IndexedSlices).
    kernel : (input_dim, 3·units); recurrent_kernel : (units, 3·units)
    bias : (2, 3·units) with reset_after (row 0 input bias, row 1 recurrent bias),
        (3·units,) without; or None.
    initial_state : (batch, units) (or ``[that]``) or None (zeros)
    activation, recurrent_activation : a built-in activation's name ('tanh', 'relu',
        'sigmoid', 'hard_sigmoid' and 'linear' run on the kernels; others such as 'gelu' step
        by step in NumPy) or a function written with :mod:`rnncore.ops` (step by step,
        differentiated on the record).
    reset_after : Keras's GRU variant (see above).
    return_sequences : return every step's output (batch, timesteps, units), else the last.
    go_backwards : process the sequence in reverse (outputs come in processing order, as Keras).
    truncate_gradient : BPTT window used by :func:`gru_backward` (-1: all steps).
    mask : (batch, timesteps) booleans; masked steps keep the previous state (Keras semantics).
    dropout_mask : (batch, input_dim), or (3, batch, input_dim) for one mask per gate
        (what Keras draws with recurrent dropout); multiplies x_t at every step.
    recurrent_dropout_mask : (batch, units) or (3, batch, units); multiplies h_{t-1} where it
        enters a product with recurrent_kernel (not in ``z ⊙ h_{t-1}``), as Keras.
    engine : 'auto' or 'kernel' (compiled), 'numpy' (the reference twin).
    n_threads : batch blocks run in parallel (default: rnncore.get_num_threads()).
    workspace : a :class:`rnncore.recurrent._recurrent.Workspace` reused across calls.

    Returns
    -------
    output, [h_T], cache
        ``h_T`` is the final state (batch, units); ``cache`` goes to :func:`gru_backward`.

    Example
    -------
    >>> x = np.zeros((2, 5, 3), np.float32)
    >>> W = np.ones((3, 12), np.float32); U = np.zeros((4, 12), np.float32)
    >>> y, (h,), _ = gru_forward(x, W, U, np.zeros((2, 12), np.float32), return_sequences=True)
    >>> y.shape, h.shape
    ((2, 5, 4), (2, 4))
    """
    reset_after = K.flag(reset_after, "reset_after")
    a = K.forward_arguments(
        x, kernel, recurrent_kernel, bias, initial_state, gates=3, n_states=1,
        gate_names="z, r, h", mask=mask, dropout_mask=dropout_mask,
        recurrent_dropout_mask=recurrent_dropout_mask, return_sequences=return_sequences,
        go_backwards=go_backwards, zero_output_for_mask=zero_output_for_mask,
        n_threads=n_threads, workspace=workspace,
        bias_shape=(lambda H: (2, 3 * H)) if reset_after else (lambda H: (3 * H,)),
        bias_note=f" with reset_after={reset_after}")
    return F.forward(AFTER if reset_after else BEFORE, a, engine,
                     R.activation_code(activation, "activation"),
                     R.activation_code(recurrent_activation, "recurrent_activation"),
                     truncate_gradient)


@R.single_threaded_blas
def gru_backward(cache, d_output, d_states=None, need_dx=True):
    """Gradients of a :func:`gru_forward` call.

    Parameters
    ----------
    cache : from the forward call.
    d_output : gradient of the loss w.r.t. the output (same shape as the output), or None.
    d_states : ``[dL/dh_T]`` (batch, units) for the returned final state, or None.
    need_dx : compute the input gradient (skip it for a first layer fed by data).

    Returns
    -------
    dict with ``kernel``, ``recurrent_kernel``, ``bias`` (None without bias), ``x``
    (batch, timesteps, input_dim; None without need_dx) and ``initial_state`` ([dL/dh0]).
    Only the last ``truncate_gradient`` steps contribute (all with -1).
    """
    cell = AFTER if getattr(cache, "cell", None) is AFTER else BEFORE
    return F.backward(cell, cache, "gru_forward", d_output, d_states, "d_states", need_dx)


def gru(x, kernel, recurrent_kernel, bias=None, initial_state=None, **kwargs):
    """Forward only: the output of :func:`gru_forward`."""
    return gru_forward(x, kernel, recurrent_kernel, bias, initial_state, **kwargs)[0]
