"""The GRU cell step by step in NumPy: the executable spec behind
``rnncore.reference.recurrence`` (the twin of the compiled recurrence driver)."""
import numpy as np

from ._activations import activate, grad_from_output


def _gate_operand(h, hm, M, t, g):
    """What multiplies U's gate block g at step t: h, h ⊙ mask, or h ⊙ mask_g."""
    if M == 0:
        return h
    return hm[g if M == 3 else 0, t]


def forward(z, U, rbias, hs, hr, rec, rec_mask, hm, step_mask, reset_after, activation,
            recurrent_activation):
    """The forward half of :func:`rnncore.reference.recurrence.forward`, in place."""
    T = z.shape[0]
    H = hs.shape[2]
    M = rec_mask.shape[0]
    for t in range(T):
        hp = hs[t]
        if M:
            hm[:, t] = hp * rec_mask
        A = [_gate_operand(hp, hm, M, t, g) for g in range(3)]
        zt = z[t]
        if reset_after:
            rec_t = np.concatenate([A[g] @ U[:, g * H:(g + 1) * H] for g in range(3)], axis=1)
            zt[:, :2 * H] = activate(zt[:, :2 * H] + rec_t[:, :2 * H], recurrent_activation)
            hr[t] = rec_t[:, 2 * H:] + rbias if rbias.shape[0] else rec_t[:, 2 * H:]
            zt[:, 2 * H:] = activate(zt[:, 2 * H:] + zt[:, H:2 * H] * hr[t], activation)
        else:
            pre = zt[:, :2 * H] + np.concatenate(
                [A[g] @ U[:, g * H:(g + 1) * H] for g in range(2)], axis=1)
            zt[:, :2 * H] = activate(pre, recurrent_activation)
            hr[t] = zt[:, H:2 * H] * A[2]
            zt[:, 2 * H:] = activate(zt[:, 2 * H:] + hr[t] @ U[:, 2 * H:], activation)
        gz, gh = zt[:, :H], zt[:, 2 * H:]
        new = gz * hp + (1 - gz) * gh
        if step_mask.shape[0]:
            keep = step_mask[t].astype(bool)[:, None]
            new = np.where(keep, new, hp)
        hs[t + 1] = new


def backward(dhs, gates, hs, hr, hm, U, rec_mask, step_mask, steps, dh, dz, dxh, tmp,
             reset_after, activation, recurrent_activation):
    """The backward half of :func:`rnncore.reference.recurrence.backward`, in place."""
    T = gates.shape[0]
    H = hs.shape[2]
    M = rec_mask.shape[0]
    if steps > T or steps < 0:
        steps = T
    t_stop = T - steps
    ng = 3 if reset_after else 2
    masks = list(rec_mask) if M == 3 else [rec_mask[0]] * 3 if M == 1 else [1, 1, 1]
    for t in range(T - 1, t_stop - 1, -1):
        gz, gr, gh = gates[t, :, :H], gates[t, :, H:2 * H], gates[t, :, 2 * H:]
        hp = hs[t]
        A = [_gate_operand(hp, hm, M, t, g) for g in range(3)]
        g_in = dh + dhs[t]
        keep = (step_mask[t].astype(bool)[:, None] if step_mask.shape[0]
                else np.ones((g_in.shape[0], 1), bool))
        d_z = np.where(keep, g_in * (hp - gh), 0) * grad_from_output(gz, recurrent_activation)
        d_hh = np.where(keep, g_in * (1 - gz), 0) * grad_from_output(gh, activation)
        dh[...] = np.where(keep, g_in * gz, g_in)
        if reset_after:
            d_r = d_hh * hr[t] * grad_from_output(gr, recurrent_activation)
            dxh[t] = d_hh * gr  # what meets U_h
            met_u = [d_z, d_r, dxh[t]]
        else:
            d_rh = d_hh @ U[:, 2 * H:].T
            d_r = d_rh * A[2] * grad_from_output(gr, recurrent_activation)
            dh += d_rh * gr * masks[2]
            met_u = [d_z, d_r]
        dz[t] = np.concatenate([d_z, d_r, d_hh], axis=1)
        if t == t_stop and t_stop > 0:
            break
        for g in range(ng):
            dh += (met_u[g] @ U[:, g * H:(g + 1) * H].T) * masks[g]
    if t_stop > 0:
        dh[...] = 0
