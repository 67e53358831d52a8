"""The recurrence for activations the compiled kernels do not run, step by step in NumPy.

The kernels run tanh, relu, sigmoid, hard_sigmoid and linear. Any other activation of a
SimpleRNN, LSTM or GRU (a Keras built-in such as 'gelu' or 'softplus', or a user's function
written with :mod:`rnncore.ops`) runs here, behind the same contract as
``rnncore._kernels._recurrence`` (and its twin ``rnncore.reference.recurrence``): the caller's
hoisted input gemm, states, dropout operands, masks, truncation and weight gradients are
shared with the kernels' path, and only the steps' element-wise parts differ.

The kernels derive each activation's derivative from its output (``1 - y²`` for tanh); an
arbitrary function has no such form, so the forward keeps the pre-activations and the backward
asks :func:`rnncore.activations.backward` for the vector-Jacobian product at each step (a
user's function is re-run on the record and replayed). Each activation is applied to one gate
block of ``units`` columns at a time, as Keras's cells do, so that a function over the last
axis (``softmax``) sees what it sees in Keras.
"""
import numpy as np

from .. import activations as _activations

SIMPLE, LSTM, GRU, GRU_BEFORE = 0, 1, 2, 3


def _keep(step_mask, t):
    """Step t's row mask (B, 1) as booleans, or None without a mask."""
    return step_mask[t].astype(bool)[:, None] if step_mask.shape[0] else None


def _where(keep, new, old):
    return new if keep is None else np.where(keep, new, old)


class AnyActivationRecurrence:
    """One forward and its backward for a cell whose ``activation`` or ``recurrent_activation``
    the kernels lack (either as :func:`rnncore.activations._resolve` gives it: a built-in's
    name or a callable). An instance holds the pre-activations of its forward call, so each
    forward call gets its own (the call's cache keeps it for the backward)."""

    def __init__(self):
        self.pre = None      # (T, B, G·H) every gate's pre-activation
        self.cell_pre = None  # LSTM: (T, B, H) the cell state c_t that activation(c_t) took

    # ---- helpers -------------------------------------------------------------------------
    @staticmethod
    def _act(fn, x):
        return _activations.forward(fn, np.ascontiguousarray(x))

    @staticmethod
    def _grad(fn, x, y, dy):
        return _activations.backward(fn, np.ascontiguousarray(x), y, np.ascontiguousarray(dy))

    @staticmethod
    def _operands(h, hm, M, t, G):
        """What meets each gate block of U at step t: h, or h ⊙ its recurrent dropout mask."""
        if M == 0:
            return [h] * G
        return [hm[g if M == G else 0, t] for g in range(G)]

    # ---- forward -------------------------------------------------------------------------
    def forward(self, cell, z, U, rbias, states, aux, rec_mask, hm, step_mask, scratch,
                activation, recurrent_activation, n_threads=1, unit_blocks=False):
        """``rnncore._kernels._recurrence.forward``'s contract: ``z`` holds x·W + b in, the
        gates (post-activation) out; ``states[s, t + 1]`` the states; ``aux`` LSTM's
        activation(c_t), GRU's recurrent candidate term (reset_after: h·U_h + b'_h; before:
        r ⊙ h, what met U_h); ``hm`` the recurrent dropout operands."""
        T, B, GH = z.shape
        H = U.shape[0]
        G = GH // H
        M = rec_mask.shape[0]
        self.pre = np.empty_like(z)
        if cell == LSTM:
            self.cell_pre = np.empty((T, B, H), z.dtype)
        act, ract = activation, recurrent_activation
        hs = states[0]
        for t in range(T):
            hp = hs[t]
            if M:
                hm[:, t] = hp * rec_mask
            A = self._operands(hp, hm, M, t, G)
            pre, zt = self.pre[t], z[t]
            keep = _keep(step_mask, t)
            if cell == SIMPLE:
                pre[...] = zt + A[0] @ U
                zt[...] = self._act(act, pre)
                hs[t + 1] = _where(keep, zt, hp)
            elif cell == LSTM:
                for g in range(4):
                    cols = slice(g * H, (g + 1) * H)
                    pre[:, cols] = zt[:, cols] + A[g] @ U[:, cols]
                    zt[:, cols] = self._act(act if g == 2 else ract, pre[:, cols])
                i, f, gg, o = (zt[:, k * H:(k + 1) * H] for k in range(4))
                cs = states[1]
                c = f * cs[t] + i * gg
                self.cell_pre[t] = c
                aux[t] = self._act(act, c)
                cs[t + 1] = _where(keep, c, cs[t])
                hs[t + 1] = _where(keep, o * aux[t], hp)
            else:
                for g in range(2):
                    cols = slice(g * H, (g + 1) * H)
                    pre[:, cols] = zt[:, cols] + A[g] @ U[:, cols]
                    zt[:, cols] = self._act(ract, pre[:, cols])
                gz, gr = zt[:, :H], zt[:, H:2 * H]
                if cell == GRU:
                    aux[t] = A[2] @ U[:, 2 * H:]
                    if rbias.shape[0]:
                        aux[t] += rbias
                    pre[:, 2 * H:] = zt[:, 2 * H:] + gr * aux[t]
                else:
                    aux[t] = gr * A[2]
                    pre[:, 2 * H:] = zt[:, 2 * H:] + aux[t] @ U[:, 2 * H:]
                zt[:, 2 * H:] = self._act(act, pre[:, 2 * H:])
                hs[t + 1] = _where(keep, gz * hp + (1 - gz) * zt[:, 2 * H:], hp)

    # ---- backward ------------------------------------------------------------------------
    def backward(self, cell, z, U, rbias, states, aux, rec_mask, hm, step_mask, scratch,
                 activation, recurrent_activation, n_threads, unit_blocks, dhs, steps, dstates,
                 dz, daux):
        """``rnncore._kernels._recurrence.backward``'s contract: ``dstates`` holds the final
        states' gradients in and the initial states' out; ``dz`` the gate pre-activations'
        gradients over the last ``steps`` steps; ``daux`` (GRU reset_after) what met U_h."""
        T, B, GH = z.shape
        H = U.shape[0]
        G = GH // H
        M = rec_mask.shape[0]
        act, ract = activation, recurrent_activation
        masks = ([rec_mask[g if M == G else 0] for g in range(G)] if M else [None] * G)
        hs = states[0]
        dh = dstates[0]
        dc = dstates[1] if cell == LSTM else None
        steps = T if steps > T or steps < 0 else steps
        t_stop = T - steps
        for t in range(T - 1, t_stop - 1, -1):
            pre, zt = self.pre[t], z[t]
            keep = _keep(step_mask, t)
            g_in = dh + dhs[t]
            if cell == SIMPLE:
                dz[t] = self._grad(act, pre, zt, _where(keep, g_in, 0))
                dh[...] = _where(keep, 0, g_in)
                met_u = [dz[t]]
            elif cell == LSTM:
                i, f, gg, o = (zt[:, k * H:(k + 1) * H] for k in range(4))
                dct = dc + self._grad(act, self.cell_pre[t], aux[t], g_in * o)
                outer = [dct * gg, dct * states[1][t], dct * i, g_in * aux[t]]
                for g in range(4):
                    cols = slice(g * H, (g + 1) * H)
                    dz[t][:, cols] = self._grad(act if g == 2 else ract, pre[:, cols],
                                                zt[:, cols], _where(keep, outer[g], 0))
                dh[...] = _where(keep, 0, g_in)
                dc[...] = _where(keep, dct * f, dc)
                met_u = [dz[t][:, k * H:(k + 1) * H] for k in range(4)]
            else:
                gz, gr, gh = zt[:, :H], zt[:, H:2 * H], zt[:, 2 * H:]
                hp = hs[t]
                d_z = self._grad(ract, pre[:, :H], gz, _where(keep, g_in * (hp - gh), 0))
                d_hh = self._grad(act, pre[:, 2 * H:], gh, _where(keep, g_in * (1 - gz), 0))
                dh[...] = _where(keep, g_in * gz, g_in)
                if cell == GRU:
                    d_r = self._grad(ract, pre[:, H:2 * H], gr, d_hh * aux[t])
                    daux[t] = d_hh * gr
                    met_u = [d_z, d_r, daux[t]]
                else:
                    A = self._operands(hp, hm, M, t, G)
                    d_rh = d_hh @ U[:, 2 * H:].T
                    d_r = self._grad(ract, pre[:, H:2 * H], gr, d_rh * A[2])
                    back = d_rh * gr
                    dh += back if masks[2] is None else back * masks[2]
                    met_u = [d_z, d_r]
                dz[t][:, :H], dz[t][:, H:2 * H], dz[t][:, 2 * H:] = d_z, d_r, d_hh
            if t == t_stop and t_stop > 0:
                break
            if cell == SIMPLE:
                back = met_u[0] @ U.T
                dh += back if masks[0] is None else back * masks[0]
            else:
                for g, d in enumerate(met_u):
                    back = d @ U[:, g * H:(g + 1) * H].T
                    dh += back if masks[g] is None else back * masks[g]
        if t_stop > 0:
            dstates[...] = 0
