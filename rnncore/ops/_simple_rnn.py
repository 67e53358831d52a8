"""SimpleRNN forward and backward on batch-major arrays with Keras's weight layout."""
import numpy as np

from .._kernels import _simple_rnn as _kernel
from ..reference import simple_rnn as _twin
from . import _checks as K
from . import _recurrent as R


class SimpleRNNCache:
    """What backward needs from forward (time-major arrays owned by the workspace)."""

    __slots__ = ("x_tm", "z", "hs", "hm", "rec_mask", "step_mask", "seen", "kernel",
                 "recurrent_kernel", "act", "steps", "go_backwards", "return_sequences",
                 "input_mask", "engine", "n_threads", "workspace", "has_bias", "forward_number")


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
        :class:`rnncore.ops.Lookup` (the input gradient is then the table's IndexedSlices).
    kernel : (input_dim, units); recurrent_kernel : (units, units); bias : (units,) or None
    initial_state : (batch, units) (or ``[that]``) or None (zeros)
    activation : 'tanh' or 'relu'
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
    dtype, kernel, recurrent_kernel, bias = a.dtype, a.kernel, a.recurrent_kernel, a.bias
    go_backwards, return_sequences = a.go_backwards, a.return_sequences
    B, T, H = a.B, a.T, a.H
    module = R.pick_engine(engine, _kernel, _twin)
    act = R.activation_code(activation, allowed=("tanh", "relu"))
    steps = R.window(truncate_gradient, T)
    dropout_mask = None if a.dropout_mask is None else a.dropout_mask[0]
    ws = a.workspace if a.workspace is not None else R.Workspace()
    c = SimpleRNNCache()
    K.stamp(c, ws)
    c.x_tm = R.time_major(a.x, dtype, go_backwards, dropout_mask, ws)
    c.z = R.input_gemm(c.x_tm, kernel, bias, ws.get("z", (T, B, H), dtype))
    c.hs = ws.get("hs", (T + 1, B, H), dtype)
    if a.initial_state is None or a.initial_state[0] is None:
        c.hs[0] = 0
    else:
        c.hs[0] = a.initial_state[0]
    c.rec_mask = (R.empty(dtype, 2) if a.recurrent_dropout_mask is None
                  else a.recurrent_dropout_mask[0])
    c.hm = (R.empty(dtype, 3) if a.recurrent_dropout_mask is None
            else ws.get("hm", (T, B, H), dtype))
    c.step_mask = R.step_mask_time_major(a.mask, go_backwards, T, B)
    c.n_threads = R.num_threads(a.n_threads)
    module.forward(c.z, recurrent_kernel, c.hs, c.rec_mask, c.hm, c.step_mask, act, c.n_threads)
    c.seen = None
    if a.mask is not None:
        # Keras emits the previous *output* at a masked step, and zeros before the first real
        # step (or zeros at every masked step with zero_output_for_mask).
        c.seen = c.step_mask.astype(bool) if a.zero_output_for_mask else np.logical_or.accumulate(
            c.step_mask.astype(bool), axis=0)
    c.kernel, c.recurrent_kernel, c.act = kernel, recurrent_kernel, act
    c.steps = steps
    c.go_backwards, c.return_sequences = go_backwards, return_sequences
    c.input_mask, c.engine, c.workspace, c.has_bias = dropout_mask, module, ws, bias is not None
    outs = c.hs[1:]
    if c.seen is not None:
        outs = outs * c.seen[:, :, None]
    output = R.to_batch_major(outs) if return_sequences else outs[-1].copy()
    return output, c.hs[T].copy(), c


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
    c = K.check_cache(cache, SimpleRNNCache, "simple_rnn_forward")
    T, B, H = c.z.shape
    d_output = K.output_grad(d_output, c, H)
    d_state = K.states(d_state, "d_state", 1, B, H, c.z.dtype)
    need_dx = K.flag(need_dx, "need_dx")
    dtype = c.z.dtype
    ws = c.workspace
    dhs, dh = R.output_grads(d_output, c.seen, T, B, H, dtype, c.return_sequences, ws)
    if d_state is not None and d_state[0] is not None:
        dh += d_state[0]
    dz = ws.get("dz", (T, B, H), dtype)
    tmp = ws.get("tmp", (B, H), dtype) if c.rec_mask.shape[0] else R.empty(dtype, 2)
    c.engine.backward(dhs, c.z, c.recurrent_kernel, c.rec_mask, c.step_mask, c.steps, dh, dz,
                      tmp, c.act, c.n_threads)
    dW, db, dx_tm = R.input_grads(c.x_tm, c.kernel, dz, c.steps, need_dx)
    t0 = T - c.steps
    hprev = (c.hm if c.rec_mask.shape[0] else c.hs[:-1])[t0:].reshape(c.steps * B, H)
    dU = R.gemm(hprev, dz[t0:].reshape(c.steps * B, H), trans_a=True)
    dx = None
    if need_dx:
        if c.input_mask is not None:
            dx_tm *= c.input_mask
        dx = R.batch_major_input_grad(dx_tm, c.go_backwards)
    return {"kernel": dW, "recurrent_kernel": dU, "bias": db if c.has_bias else None,
            "x": dx, "initial_state": dh.copy()}


def simple_rnn(x, kernel, recurrent_kernel, bias=None, initial_state=None, **kwargs):
    """Forward only: the output of :func:`simple_rnn_forward`."""
    return simple_rnn_forward(x, kernel, recurrent_kernel, bias, initial_state, **kwargs)[0]
