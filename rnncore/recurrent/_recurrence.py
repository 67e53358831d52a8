"""One forward and one backward for every recurrent op, driven by the cell's :class:`Cell`.

The public functions (``simple_rnn_forward``, ``lstm_forward``, ``gru_forward`` and their
backwards) check their arguments (``_checks.forward_arguments``), then call :func:`forward`
with their cell; everything else is here once: the time-major input, the hoisted input gemm
(with per-gate input dropout), the states, the recurrent-dropout operands, the step mask,
the thread choice, the kernel call, Keras's outputs at masked steps, and in backward the
output gradients, the kernel call, and the weight and input gradients.
"""
import numpy as np

from .._kernels import _recurrence as _kernel
from ..reference import recurrence as _twin
from . import _checks as K
from . import _recurrent as R
from ._any_activation import AnyActivationRecurrence


class Cell:
    """What distinguishes a cell on the ops floor.

    name : the forward function's name, for messages.
    code : the kernel's cell (``_recurrence.CELLS``); gates G and states S follow from it.
    split_bias(bias, H, dtype) -> (x-side bias or None, rbias for the kernel).
    join_bias_grad(db, daux_sum) -> the bias gradient in the layer's layout.
    """

    def __init__(self, name, kernel_cell, split_bias=None, join_bias_grad=None):
        self.name = name
        self.code = _kernel.CELLS[kernel_cell]
        self.gates = _kernel.GATES[self.code]
        self.n_states = _kernel.STATES[self.code]
        self.split_bias = split_bias or (lambda bias, H, dtype: (bias, R.empty(dtype, 1)))
        self.join_bias_grad = join_bias_grad or (lambda db, daux_sum: db)

    @property
    def reset_after(self):
        """GRU's reset_after: its candidate's recurrent gradient is the kernel's daux."""
        return self.code == _kernel.CELLS["gru"]

    @property
    def reset_before(self):
        """GRU's reset_before: its candidate's recurrent product took r ⊙ h (the aux)."""
        return self.code == _kernel.CELLS["gru_before"]


class RecurrentCache:
    """What backward needs from forward (time-major arrays owned by the workspace)."""

    __slots__ = ("cell", "x_tm", "z", "states", "aux", "hm", "rec_mask", "step_mask", "seen",
                 "kernel", "recurrent_kernel", "act", "ract", "steps", "go_backwards",
                 "return_sequences", "input_mask", "gate_input_mask", "engine", "n_threads",
                 "unit_blocks", "workspace", "has_bias", "forward_number")


def kernel_threads(n_threads, T, B, H, G):
    """(threads, unit_blocks) for the kernel.

    `n_threads` when given; else rnncore's thread count, or one thread for a recurrence too
    small to pay for a parallel region (fewer multiply-adds over the whole sequence than the
    size at which ``R.gemm`` splits a product). Waking the pool and splitting the rows cost
    more than they save there: on the 2-vCPU development machine (Zen 4, quiet) two threads
    took the backward of LSTM(8) from 90 to 151 us, GRU(8)'s from 99 to 194 us and
    SimpleRNN(8)'s forward from 71 to 131 us (T=100, B=64), and whole training batches of the
    seeds' LSTM(8) and GRU(8) ran 18% and 30% slower than on one thread; from SimpleRNN(32)
    (6.5M multiply-adds) on, two threads pay (LSTM(32) forward 1247 -> 938 us).

    Threads split the batch rows, each running its rows through every step with no meeting
    between steps, unless one step's product is big (that same size): then they split the
    hidden units, so that each packs only its share of U at every step, and meet once per step.
    """
    step = B * H * G * H  # multiply-adds of one step's recurrent product
    if n_threads is None:
        n_threads = R.num_threads(None) if T * step >= R._PARALLEL_GEMM_MIN else 1
    return n_threads, n_threads > 1 and step >= R._PARALLEL_GEMM_MIN


def colsum(a):
    """Σ over the first two axes of a (steps, B, N) array: rows of B·N first, which vectorises
    (``.sum(axis=0)`` on (steps·B, N) is 10x slower for small N: 0.3 ms of a 1.7 ms GRU step
    for the seeds' N = 3·8)."""
    steps, B, N = a.shape
    return a.reshape(steps, B * N).sum(axis=0).reshape(B, N).sum(axis=0)


def _input_gemm_per_gate(x_tm, kernel, bias, masks, out, ws):
    """out[..., gate g] = (x ⊙ mask_g)·kernel_g + bias_g: Keras's per-gate input dropout
    (``implementation=1``, which recurrent dropout forces)."""
    T, B, F = x_tm.shape
    G = masks.shape[0]
    H = kernel.shape[1] // G
    xg = ws.get("x_gate", (T, B, F), x_tm.dtype)
    flat = out.reshape(T * B, G * H)
    if bias is not None:
        out.reshape(T, B * G * H)[...] = np.tile(bias, B)  # as R.input_gemm
    for g in range(G):
        np.multiply(x_tm, masks[g], out=xg)
        cols = slice(g * H, (g + 1) * H)
        R.gemm(xg.reshape(T * B, F), kernel[:, cols], flat[:, cols],
               beta=1.0 if bias is not None else 0.0)
    return out


def _input_grads_per_gate(x_tm, kernel, dz, steps, masks, need_dx, ws):
    """:func:`_recurrent.input_grads` for per-gate input dropout masks."""
    T, B, F = x_tm.shape
    G = masks.shape[0]
    H = kernel.shape[1] // G
    t0 = T - steps
    dz_win = dz[t0:].reshape(steps * B, G * H)
    xg = ws.get("x_gate", (T, B, F), x_tm.dtype)[t0:]
    dW = np.empty_like(kernel)
    dx = np.zeros((T, B, F), dtype=dz.dtype) if need_dx else None
    part = ws.get("dx_gate", (steps, B, F), x_tm.dtype)
    for g in range(G):
        cols = slice(g * H, (g + 1) * H)
        np.multiply(x_tm[t0:], masks[g], out=xg)
        R.gemm(xg.reshape(steps * B, F), dz_win[:, cols], dW[:, cols], trans_a=True)
        if need_dx:
            R.gemm(dz_win[:, cols], kernel[:, cols], part.reshape(steps * B, F), trans_b=True)
            part *= masks[g]
            dx[t0:] += part
    return dW, colsum(dz[t0:]), dx


def _activation_name(activation):
    """A kernel's activation code as its name (what ``rnncore.activations`` takes); anything
    else as it is."""
    if isinstance(activation, int):
        return next(name for name, code in R.ACTIVATIONS.items() if code == activation)
    return activation


def forward(cell, a, engine, activation, recurrent_activation, truncate_gradient):
    """The forward of every op, from its checked arguments `a`; returns (output, [final
    states], cache). `activation` and `recurrent_activation` as ``R.activation_code`` gives
    them: the kernels' codes, or another activation, which runs the steps in NumPy
    (``_any_activation``) whatever `engine` says."""
    dtype, kernel, recurrent_kernel = a.dtype, a.kernel, a.recurrent_kernel
    B, T, H, G = a.B, a.T, a.H, cell.gates
    ws = a.workspace if a.workspace is not None else R.Workspace()
    c = RecurrentCache()
    K.stamp(c, ws)
    c.cell = cell
    c.engine = R.pick_engine(engine, _kernel, _twin)
    c.act, c.ract = activation, recurrent_activation
    if not R.runs_on_kernels(activation, recurrent_activation):
        # an activation the kernels lack: every step's element-wise part in NumPy
        c.engine = AnyActivationRecurrence()
        c.act, c.ract = (_activation_name(a) for a in (activation, recurrent_activation))
    c.steps = R.window(truncate_gradient, T)
    xbias, rbias = cell.split_bias(a.bias, H, dtype)
    c.n_threads, c.unit_blocks = kernel_threads(a.n_threads, T, B, H, G)
    dp = a.dropout_mask
    c.gate_input_mask = dp if dp is not None and dp.shape[0] == G > 1 else None
    c.input_mask = dp[0] if dp is not None and c.gate_input_mask is None else None
    c.x_tm = R.time_major(a.x, dtype, a.go_backwards, c.input_mask, ws,
                          keep_lookup=c.gate_input_mask is None)
    c.z = ws.get("z", (T, B, G * H), dtype)
    if c.gate_input_mask is None:
        R.input_gemm(c.x_tm, kernel, xbias, c.z, awake=c.n_threads > 1)
    else:
        _input_gemm_per_gate(c.x_tm, kernel, xbias, c.gate_input_mask, c.z, ws)
    c.states = ws.get("states", (cell.n_states, T + 1, B, H), dtype)
    for s in range(cell.n_states):
        s0 = None if a.initial_state is None else a.initial_state[s]
        c.states[s, 0] = 0 if s0 is None else s0
    c.aux = ws.get("aux", (T, B, H), dtype) if G > 1 else R.empty(dtype, 3)
    rdp = a.recurrent_dropout_mask
    c.rec_mask = R.empty(dtype, 3) if rdp is None else rdp
    M = c.rec_mask.shape[0]
    c.hm = ws.get("hm", (M, T, B, H), dtype) if M else R.empty(dtype, 4)
    c.step_mask = R.step_mask_time_major(a.mask, a.go_backwards, T, B)
    c.engine.forward(cell.code, c.z, recurrent_kernel, rbias, c.states, c.aux, c.rec_mask, c.hm,
                     c.step_mask, ws.get("scratch", (B, G * H), dtype), c.act, c.ract,
                     c.n_threads, c.unit_blocks)
    c.seen = None
    if a.mask is not None:
        # Keras emits the previous *output* at a masked step, and zeros before the first real
        # step (or zeros at every masked step with zero_output_for_mask).
        used = c.step_mask.astype(bool)
        c.seen = used if a.zero_output_for_mask else np.logical_or.accumulate(used, axis=0)
    c.kernel, c.recurrent_kernel = kernel, recurrent_kernel
    c.go_backwards, c.return_sequences = a.go_backwards, a.return_sequences
    c.has_bias = a.bias is not None
    outs = c.states[0, 1:]
    if c.seen is not None:
        outs = outs * c.seen[:, :, None]
    output = R.to_batch_major(outs) if c.return_sequences else outs[-1].copy()
    return output, [c.states[s, T].copy() for s in range(cell.n_states)], c


def _recurrent_kernel_grad(c, dz_win, daux_win, t0, B, H):
    """dU = (what met U)ᵀ · (its gradient) over the window: one gemm per run of adjacent gate
    blocks that share their operand and whose gradients are adjacent columns of dz."""
    cell, G = c.cell, c.cell.gates
    rows = dz_win.shape[0]
    M = c.rec_mask.shape[0]
    # per gate: (operand key, operand, gradient or None for dz's own columns)
    gates = []
    for g in range(G):
        if M == 0:
            key, operand = "h", c.states[0, t0:-1].reshape(rows, H)
        else:
            m = g if M > 1 else 0
            key, operand = f"hm{m}", c.hm[m, t0:].reshape(rows, H)
        grad = None
        if g == 2 and cell.reset_after:
            grad = daux_win                    # what met U_h: r ⊙ dL/dhh
        if g == 2 and cell.reset_before:
            key, operand = "aux", c.aux[t0:].reshape(rows, H)   # the product took r ⊙ h
        gates.append((key, operand, grad))
    dU = np.empty((H, G * H), dtype=dz_win.dtype)
    g = 0
    while g < G:
        key, operand, grad = gates[g]
        end = g + 1
        while grad is None and end < G and gates[end][0] == key and gates[end][2] is None:
            end += 1
        cols = slice(g * H, end * H)
        R.gemm(operand, dz_win[:, cols] if grad is None else grad, dU[:, cols], trans_a=True)
        g = end
    return dU


def backward(cell, cache, forward_name, d_output, d_states, d_states_name, need_dx):
    """The backward of every op: the gradients dict of the public backward functions, with
    ``initial_state`` as the list of the S states' gradients."""
    c = K.check_cache(cache, RecurrentCache, forward_name)
    if c.cell.name != cell.name:
        raise ValueError(f"cache must be the third value returned by {forward_name}, got the "
                         f"cache of {c.cell.name}")
    T, B, GH = c.z.shape
    G = cell.gates
    H = GH // G
    dtype = c.z.dtype
    d_output = K.output_grad(d_output, c, H)
    d_states = K.states(d_states, d_states_name, cell.n_states, B, H, dtype)
    need_dx = K.flag(need_dx, "need_dx")
    ws = c.workspace
    dhs, dh = R.output_grads(d_output, c.seen, T, B, H, dtype, c.return_sequences, ws)
    dstates = ws.get("dstates", (cell.n_states, B, H), dtype)
    dstates[0] = dh
    dstates[1:] = 0
    if d_states is not None:
        for s, d in enumerate(d_states):
            if d is not None:
                dstates[s] += d
    dz = ws.get("dz", (T, B, GH), dtype)
    daux = ws.get("daux", (T, B, H), dtype) if cell.reset_after else R.empty(dtype, 3)
    c.engine.backward(cell.code, c.z, c.recurrent_kernel, R.empty(dtype, 1), c.states, c.aux,
                      c.rec_mask, c.hm, c.step_mask, ws.get("scratch", (B, GH), dtype), c.act,
                      c.ract, c.n_threads, c.unit_blocks, dhs, c.steps, dstates, dz, daux)
    t0 = T - c.steps
    dz_win = dz[t0:].reshape(c.steps * B, GH)
    daux_win = daux[t0:].reshape(c.steps * B, H) if cell.reset_after else None
    dU = _recurrent_kernel_grad(c, dz_win, daux_win, t0, B, H)
    if c.gate_input_mask is None:
        dW, db, dx_tm = R.input_grads(c.x_tm, c.kernel, dz, c.steps, need_dx,
                                      awake=c.n_threads > 1)
        if need_dx and c.input_mask is not None:
            dx_tm *= c.input_mask
    else:
        dW, db, dx_tm = _input_grads_per_gate(c.x_tm, c.kernel, dz, c.steps, c.gate_input_mask,
                                              need_dx, ws)
    if c.has_bias:
        db = cell.join_bias_grad(db, colsum(daux[t0:]) if cell.reset_after else None)
    dx = R.batch_major_input_grad(dx_tm, c.go_backwards) if need_dx else None
    return {"kernel": dW, "recurrent_kernel": dU, "bias": db if c.has_bias else None,
            "x": dx, "initial_state": [d.copy() for d in dstates]}
