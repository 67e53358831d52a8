"""LSTM forward and backward on batch-major arrays with Keras's weight layout."""
import numpy as np

from .._kernels import _lstm as _kernel
from ..reference import lstm as _twin
from . import _checks as K
from . import _recurrent as R

GATES = 4


class LSTMCache:
    """What backward needs from forward (time-major arrays owned by the workspace)."""

    __slots__ = ("x_tm", "z", "hs", "cs", "tc", "hm", "rec_mask", "step_mask", "seen", "kernel",
                 "recurrent_kernel", "act", "ract", "steps", "go_backwards", "return_sequences",
                 "input_mask", "gate_input_mask", "engine", "n_threads", "unit_blocks", "workspace",
                 "has_bias", "forward_number")


def _kernel_threads(n_threads, B, H):
    """(threads, unit_blocks) for the kernel.

    `n_threads` when given, else rnncore's thread count. Threads split the batch rows, each
    running its rows through every step with no meeting between steps, unless one step's
    product is big (the size at which ``R.gemm`` splits a product too): then they split the
    hidden units, so that each packs only its share of U at every step, and meet once per step.
    (Small LSTMs used to run on one thread: with the per-step product in OpenBLAS, two threads
    made the seeds' LSTM(8) many times slower on a busy machine. The per-step products of few
    units now run in rnncore's own loop, and two batch blocks take the seeds' forward from 416
    to 334 us.)
    """
    step = B * H * GATES * H  # multiply-adds of one step's recurrent product
    if n_threads is None:
        n_threads = R.num_threads(None)
    return n_threads, n_threads > 1 and step >= R._PARALLEL_GEMM_MIN


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
        :class:`rnncore.ops.Lookup` (the input gradient is then the table's IndexedSlices).
    kernel : (input_dim, 4·units); recurrent_kernel : (units, 4·units);
    bias : (4·units,) or None. The gate blocks along the last axis are i, f, c, o.
    initial_state : [h0, c0], each (batch, units) or None (zeros); or None.
    activation, recurrent_activation : 'tanh', 'relu', 'sigmoid', 'hard_sigmoid' or 'linear'.
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
    workspace : a :class:`rnncore.ops._recurrent.Workspace` reused across calls (the layer's).

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
        x, kernel, recurrent_kernel, bias, initial_state, gates=GATES, n_states=2,
        gate_names="i, f, c, o", mask=mask, dropout_mask=dropout_mask,
        recurrent_dropout_mask=recurrent_dropout_mask, return_sequences=return_sequences,
        go_backwards=go_backwards, zero_output_for_mask=zero_output_for_mask,
        n_threads=n_threads, workspace=workspace)
    dtype, kernel, recurrent_kernel, bias = a.dtype, a.kernel, a.recurrent_kernel, a.bias
    go_backwards, return_sequences = a.go_backwards, a.return_sequences
    B, T, F, H = a.B, a.T, a.F, a.H
    x = a.x
    module = R.pick_engine(engine, _kernel, _twin)
    ws = a.workspace if a.workspace is not None else R.Workspace()
    c = LSTMCache()
    K.stamp(c, ws)
    c.act = R.activation_code(activation, "activation")
    c.ract = R.activation_code(recurrent_activation, "recurrent_activation")
    c.steps = R.window(truncate_gradient, T)
    dp, rdp = a.dropout_mask, a.recurrent_dropout_mask
    c.gate_input_mask = dp if dp is not None and dp.shape[0] == GATES else None
    c.input_mask = dp[0] if dp is not None and dp.shape[0] == 1 else None
    c.x_tm = R.time_major(x, dtype, go_backwards, c.input_mask, ws,
                          keep_lookup=c.gate_input_mask is None)
    c.z = ws.get("z", (T, B, GATES * H), dtype)
    if c.gate_input_mask is None:
        R.input_gemm(c.x_tm, kernel, bias, c.z)
    else:
        # one x·W_g + b_g per gate, each on x through that gate's own mask
        for g in range(GATES):
            gate = slice(g * H, (g + 1) * H)
            xg = (c.x_tm * c.gate_input_mask[g]).reshape(T * B, F)
            c.z[:, :, gate] = R.gemm(xg, np.ascontiguousarray(kernel[:, gate])).reshape(T, B, H)
            if bias is not None:
                c.z[:, :, gate] += bias[gate]
    c.hs = ws.get("hs", (T + 1, B, H), dtype)
    c.cs = ws.get("cs", (T + 1, B, H), dtype)
    h0, c0 = (None, None) if a.initial_state is None else a.initial_state
    c.hs[0] = 0 if h0 is None else h0
    c.cs[0] = 0 if c0 is None else c0
    c.tc = ws.get("tc", (T, B, H), dtype)
    if rdp is None:
        c.rec_mask, c.hm = R.empty(dtype, 3), R.empty(dtype, 4)
    else:
        c.rec_mask = rdp
        c.hm = ws.get("hm", (c.rec_mask.shape[0], T, B, H), dtype)
    c.step_mask = R.step_mask_time_major(a.mask, go_backwards, T, B)
    c.n_threads, c.unit_blocks = _kernel_threads(a.n_threads, B, H)
    module.forward(c.z, recurrent_kernel, c.hs, c.cs, c.tc, c.rec_mask, c.hm, c.step_mask,
                   c.act, c.ract, c.n_threads, c.unit_blocks)
    c.seen = None
    if a.mask is not None:
        # Keras emits the previous *output* at a masked step, and zeros before the first real
        # step (or zeros at every masked step with zero_output_for_mask).
        used = c.step_mask.astype(bool)
        c.seen = used if a.zero_output_for_mask else np.logical_or.accumulate(used, axis=0)
    c.kernel, c.recurrent_kernel = kernel, recurrent_kernel
    c.go_backwards, c.return_sequences = go_backwards, return_sequences
    c.engine, c.workspace, c.has_bias = module, ws, bias is not None
    outs = c.hs[1:]
    if c.seen is not None:
        outs = outs * c.seen[:, :, None]
    output = R.to_batch_major(outs) if return_sequences else outs[-1].copy()
    return output, [c.hs[T].copy(), c.cs[T].copy()], c


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
    c = K.check_cache(cache, LSTMCache, "lstm_forward")
    T, B, G4 = c.z.shape
    H = G4 // GATES
    dtype = c.z.dtype
    d_output = K.output_grad(d_output, c, H)
    d_states = K.states(d_states, "d_states", 2, B, H, dtype)
    need_dx = K.flag(need_dx, "need_dx")
    ws = c.workspace
    dhs, dh = R.output_grads(d_output, c.seen, T, B, H, dtype, c.return_sequences, ws)
    dc = ws.get("dc", (B, H), dtype, zero=True)
    if d_states is not None:
        if d_states[0] is not None:
            dh += d_states[0]
        if d_states[1] is not None:
            dc += d_states[1]
    dz = ws.get("dz", (T, B, G4), dtype)
    tmp = ws.get("tmp", (2, B, H), dtype)
    c.engine.backward(dhs, c.z, c.cs, c.tc, c.recurrent_kernel, c.rec_mask, c.step_mask,
                      c.steps, dh, dc, dz, tmp, c.act, c.ract, c.n_threads, c.unit_blocks)
    t0 = T - c.steps
    dz_win = dz[t0:].reshape(c.steps * B, G4)
    if c.gate_input_mask is None:
        dW, db, dx_tm = R.input_grads(c.x_tm, c.kernel, dz, c.steps, need_dx)
        if need_dx and c.input_mask is not None:
            dx_tm *= c.input_mask
    else:
        dW, db, dx_tm = _gate_masked_input_grads(c, dz, t0, need_dx)
    n_rmask = c.rec_mask.shape[0]
    if n_rmask == 0:
        # dU = Hprevᵀ · dz over the window
        dU = R.gemm(c.hs[t0:T].reshape(c.steps * B, H), dz_win, trans_a=True)
    elif n_rmask == 1:
        dU = R.gemm(c.hm[0, t0:].reshape(c.steps * B, H), dz_win, trans_a=True)
    else:
        # each gate's block of U saw h_{t-1} through its own mask
        dU = np.empty((H, G4), dtype)
        for g in range(GATES):
            gate = slice(g * H, (g + 1) * H)
            dU[:, gate] = R.gemm(c.hm[g, t0:].reshape(c.steps * B, H),
                                 np.ascontiguousarray(dz_win[:, gate]), trans_a=True)
    dx = R.batch_major_input_grad(dx_tm, c.go_backwards) if need_dx else None
    return {"kernel": dW, "recurrent_kernel": dU, "bias": db if c.has_bias else None,
            "x": dx, "initial_state": [dh.copy(), dc.copy()]}


def _gate_masked_input_grads(c, dz, t0, need_dx):
    """dW, db and time-major dX when each gate saw its own dropout mask of x."""
    T, B, F = c.x_tm.shape
    H = dz.shape[2] // GATES
    steps = T - t0
    dz_win = dz[t0:]
    dW = np.empty((F, GATES * H), dz.dtype)
    dx = np.zeros((T, B, F), dz.dtype) if need_dx else None
    for g in range(GATES):
        gate = slice(g * H, (g + 1) * H)
        m = c.gate_input_mask[g]
        xg = (c.x_tm[t0:] * m).reshape(steps * B, F)
        dz_g = np.ascontiguousarray(dz_win[:, :, gate]).reshape(steps * B, H)
        dW[:, gate] = R.gemm(xg, dz_g, trans_a=True)
        if need_dx:
            dx_g = R.gemm(dz_g, np.ascontiguousarray(c.kernel[:, gate]), trans_b=True)
            dx[t0:] += dx_g.reshape(steps, B, F) * m
    db = dz_win.reshape(steps * B, GATES * H).sum(axis=0)
    return dW, db, dx


def lstm(x, kernel, recurrent_kernel, bias=None, initial_state=None, **kwargs):
    """Forward only: the output of :func:`lstm_forward`."""
    return lstm_forward(x, kernel, recurrent_kernel, bias, initial_state, **kwargs)[0]
