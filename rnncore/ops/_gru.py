"""GRU forward and backward on batch-major arrays with Keras's weight layout."""
import numpy as np

from .._kernels import _gru as _kernel
from ..reference import gru as _twin
from . import _checks as K
from . import _recurrent as R


class GRUCache:
    """What backward needs from forward (time-major arrays owned by the workspace)."""

    __slots__ = ("x_tm", "z", "hs", "hr", "hm", "rec_mask", "step_mask", "seen", "kernel",
                 "recurrent_kernel", "act", "ract", "reset_after", "steps", "go_backwards",
                 "return_sequences", "input_mask", "engine", "n_threads", "workspace",
                 "has_bias", "forward_number")


def _colsum(a):
    """Σ over the first two axes of a (steps, B, N) array: rows of B·N first, which vectorises
    (``.sum(axis=0)`` on (steps·B, N) is 10x slower for small N)."""
    steps, B, N = a.shape
    return a.reshape(steps, B * N).sum(axis=0).reshape(B, N).sum(axis=0)


def _input_gemm_per_gate(x_tm, kernel, bias, masks, out, ws):
    """out[..., gate g] = (x ⊙ mask_g)·kernel_g + bias: Keras's per-gate input dropout."""
    T, B, F = x_tm.shape
    H = kernel.shape[1] // 3
    xg = ws.get("x_gate", (T, B, F), x_tm.dtype)
    flat = out.reshape(T * B, 3 * H)
    if bias is not None:
        out.reshape(T, B * 3 * H)[...] = np.tile(bias, B)  # as _recurrent.input_gemm
    for g in range(3):
        np.multiply(x_tm, masks[g], out=xg)
        cols = slice(g * H, (g + 1) * H)
        R.gemm(xg.reshape(T * B, F), kernel[:, cols], flat[:, cols],
              beta=1.0 if bias is not None else 0.0)
    return out


def _input_grads_per_gate(x_tm, kernel, dz, steps, masks, need_dx, ws):
    """:func:`_recurrent.input_grads` for per-gate input dropout masks."""
    T, B, F = x_tm.shape
    H = kernel.shape[1] // 3
    t0 = T - steps
    dz_win = dz[t0:].reshape(steps * B, 3 * H)
    xg = ws.get("x_gate", (T, B, F), x_tm.dtype)[t0:]
    dW = np.empty_like(kernel)
    dx = np.zeros((T, B, F), dtype=dz.dtype) if need_dx else None
    part = ws.get("dx_gate", (steps, B, F), x_tm.dtype)
    for g in range(3):
        cols = slice(g * H, (g + 1) * H)
        np.multiply(x_tm[t0:], masks[g], out=xg)
        R.gemm(xg.reshape(steps * B, F), dz_win[:, cols], dW[:, cols], trans_a=True)
        if need_dx:
            R.gemm(dz_win[:, cols], kernel[:, cols], part.reshape(steps * B, F), trans_b=True)
            part *= masks[g]
            dx[t0:] += part
    return dW, _colsum(dz[t0:]), dx


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
        :class:`rnncore.ops.Lookup` (the input gradient is then the table's IndexedSlices).
    kernel : (input_dim, 3·units); recurrent_kernel : (units, 3·units)
    bias : (2, 3·units) with reset_after (row 0 input bias, row 1 recurrent bias),
        (3·units,) without; or None.
    initial_state : (batch, units) (or ``[that]``) or None (zeros)
    activation, recurrent_activation : 'tanh', 'relu', 'sigmoid', 'hard_sigmoid', 'linear'.
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
    workspace : a :class:`rnncore.ops._recurrent.Workspace` reused across calls.

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
    dtype, kernel, recurrent_kernel, bias = a.dtype, a.kernel, a.recurrent_kernel, a.bias
    go_backwards, return_sequences = a.go_backwards, a.return_sequences
    B, T, H = a.B, a.T, a.H
    ws = a.workspace if a.workspace is not None else R.Workspace()
    module = R.pick_engine(engine, _kernel, _twin)
    c = GRUCache()
    K.stamp(c, ws)
    c.act = R.activation_code(activation, "activation")
    c.ract = R.activation_code(recurrent_activation, "recurrent_activation")
    c.reset_after = bool(reset_after)
    xbias, rbias = bias, R.empty(dtype, 1)
    if reset_after:
        # the kernel's fused path for the default activations wants b'_h even when it is zero
        rbias = np.zeros(H, dtype)
    if bias is not None and reset_after:
        # the recurrent biases of z and r simply add; b'_h sits inside r ⊙ (…)
        xbias = bias[0].copy()
        xbias[:2 * H] += bias[1, :2 * H]
        rbias = np.ascontiguousarray(bias[1, 2 * H:], dtype=dtype)
    input_masks = a.dropout_mask
    per_gate_input = input_masks is not None and input_masks.shape[0] == 3
    c.x_tm = R.time_major(a.x, dtype, go_backwards,
                          None if input_masks is None or per_gate_input else input_masks[0], ws,
                          keep_lookup=not per_gate_input)
    c.z = ws.get("z", (T, B, 3 * H), dtype)
    if per_gate_input:
        _input_gemm_per_gate(c.x_tm, kernel, xbias, input_masks, c.z, ws)
    else:
        R.input_gemm(c.x_tm, kernel, xbias, c.z)
    c.hs = ws.get("hs", (T + 1, B, H), dtype)
    h0 = None if a.initial_state is None else a.initial_state[0]
    c.hs[0] = 0 if h0 is None else h0
    rec_masks = a.recurrent_dropout_mask
    c.rec_mask = R.empty(dtype, 3) if rec_masks is None else rec_masks
    M = c.rec_mask.shape[0]
    c.hm = ws.get("hm", (M, T, B, H), dtype) if M else R.empty(dtype, 4)
    c.hr = ws.get("hr", (T, B, H), dtype)
    rec = ws.get("rec", (B, 3 * H), dtype) if reset_after else R.empty(dtype, 2)
    c.step_mask = R.step_mask_time_major(a.mask, go_backwards, T, B)
    c.n_threads = R.num_threads(a.n_threads)
    module.forward(c.z, recurrent_kernel, rbias, c.hs, c.hr, rec, c.rec_mask, c.hm, c.step_mask,
                   c.reset_after, c.act, c.ract, c.n_threads)
    c.seen = None
    if a.mask is not None:
        # Keras emits the previous *output* at a masked step, and zeros before the first real
        # step (or zeros at every masked step with zero_output_for_mask).
        c.seen = c.step_mask.astype(bool) if a.zero_output_for_mask else np.logical_or.accumulate(
            c.step_mask.astype(bool), axis=0)
    c.kernel, c.recurrent_kernel = kernel, recurrent_kernel
    c.steps = R.window(truncate_gradient, T)
    c.go_backwards, c.return_sequences = go_backwards, return_sequences
    c.input_mask, c.engine, c.workspace, c.has_bias = input_masks, module, ws, bias is not None
    outs = c.hs[1:]
    if c.seen is not None:
        outs = outs * c.seen[:, :, None]
    output = R.to_batch_major(outs) if return_sequences else outs[-1].copy()
    return output, [c.hs[T].copy()], c


def _recurrent_kernel_grad(c, dz_win, dxh_win, t0, B, H):
    """dU = (what met U)ᵀ · (its gradient) over the window, one gemm per gate block that has
    its own operand or gradient."""
    rows = dz_win.shape[0]
    M = c.rec_mask.shape[0]
    if M == 0:
        operands = [c.hs[t0:-1].reshape(rows, H)] * 3
    else:
        operands = [c.hm[g if M == 3 else 0, t0:].reshape(rows, H) for g in range(3)]
    if c.reset_after:
        grads = [dz_win[:, :H], dz_win[:, H:2 * H], dxh_win]
    else:
        operands[2] = c.hr[t0:].reshape(rows, H)  # the candidate's product took r ⊙ h
        grads = [dz_win[:, :H], dz_win[:, H:2 * H], dz_win[:, 2 * H:]]
    dU = np.empty((H, 3 * H), dtype=dz_win.dtype)
    if M < 3:  # z and r share their operand and their gradients are adjacent
        R.gemm(operands[0], dz_win[:, :2 * H], dU[:, :2 * H], trans_a=True)
    else:
        for g in range(2):
            R.gemm(operands[g], grads[g], dU[:, g * H:(g + 1) * H], trans_a=True)
    R.gemm(operands[2], grads[2], dU[:, 2 * H:], trans_a=True)
    return dU


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
    c = K.check_cache(cache, GRUCache, "gru_forward")
    T, B, G = c.z.shape
    H = G // 3
    dtype = c.z.dtype
    d_output = K.output_grad(d_output, c, H)
    d_states = K.states(d_states, "d_states", 1, B, H, dtype)
    need_dx = K.flag(need_dx, "need_dx")
    ws = c.workspace
    dhs, dh = R.output_grads(d_output, c.seen, T, B, H, dtype, c.return_sequences, ws)
    if d_states is not None and d_states[0] is not None:
        dh += d_states[0]
    dz = ws.get("dz", (T, B, G), dtype)
    dxh = ws.get("dxh", (T, B, H), dtype) if c.reset_after else R.empty(dtype, 3)
    tmp = ws.get("tmp", (B, G), dtype)
    c.engine.backward(dhs, c.z, c.hs, c.hr, c.hm, c.recurrent_kernel, c.rec_mask, c.step_mask,
                      c.steps, dh, dz, dxh, tmp, c.reset_after, c.act, c.ract, c.n_threads)
    t0 = T - c.steps
    dz_win = dz[t0:].reshape(c.steps * B, G)
    dxh_win = dxh[t0:].reshape(c.steps * B, H) if c.reset_after else None
    dU = _recurrent_kernel_grad(c, dz_win, dxh_win, t0, B, H)
    masks = c.input_mask
    if masks is not None and masks.shape[0] == 3:
        dW, db, dx_tm = _input_grads_per_gate(c.x_tm, c.kernel, dz, c.steps, masks, need_dx, ws)
    else:
        dW, db, dx_tm = R.input_grads(c.x_tm, c.kernel, dz, c.steps, need_dx)
        if need_dx and masks is not None:
            dx_tm *= masks[0]
    if c.has_bias and c.reset_after:
        # z and r meet U with the same gradient as x·W; the candidate with r ⊙ dL/dhh
        db = np.stack([db, np.concatenate([db[:2 * H], _colsum(dxh[t0:])])])
    dx = R.batch_major_input_grad(dx_tm, c.go_backwards) if need_dx else None
    return {"kernel": dW, "recurrent_kernel": dU, "bias": db if c.has_bias else None,
            "x": dx, "initial_state": [dh.copy()]}


def gru(x, kernel, recurrent_kernel, bias=None, initial_state=None, **kwargs):
    """Forward only: the output of :func:`gru_forward`."""
    return gru_forward(x, kernel, recurrent_kernel, bias, initial_state, **kwargs)[0]
