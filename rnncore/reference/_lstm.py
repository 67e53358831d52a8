"""The LSTM cell step by step in NumPy: the executable spec behind
``rnncore.reference.recurrence`` (the twin of the compiled recurrence driver)."""
import numpy as np

from ._activations import activate, grad_from_output


def forward(z, U, hs, cs, tc, rec_mask, hm, step_mask, activation, recurrent_activation,
            n_threads=1, unit_blocks=False):
    """The forward half of :func:`rnncore.reference.recurrence.forward`, in place."""
    T = z.shape[0]
    H = U.shape[0]
    n_rmask = rec_mask.shape[0]
    for t in range(T):
        if n_rmask == 0:
            z[t] += hs[t] @ U
        else:
            hm[:, t] = hs[t] * rec_mask
            if n_rmask == 1:
                z[t] += hm[0, t] @ U
            else:
                for g in range(n_rmask):
                    z[t][:, g * H:(g + 1) * H] += hm[g, t] @ U[:, g * H:(g + 1) * H]
        z[t][:, :2 * H] = activate(z[t][:, :2 * H], recurrent_activation)
        z[t][:, 2 * H:3 * H] = activate(z[t][:, 2 * H:3 * H], activation)
        z[t][:, 3 * H:] = activate(z[t][:, 3 * H:], recurrent_activation)
        i, f, g, o = (z[t][:, k * H:(k + 1) * H] for k in range(4))
        c = f * cs[t] + i * g
        tc[t] = activate(c, activation)
        h = o * tc[t]
        if step_mask.shape[0]:
            keep = step_mask[t].astype(bool)[:, None]
            cs[t + 1] = np.where(keep, c, cs[t])
            hs[t + 1] = np.where(keep, h, hs[t])
        else:
            cs[t + 1] = c
            hs[t + 1] = h


def backward(dhs, z, cs, tc, U, rec_mask, step_mask, steps, dh, dc, dz, tmp, activation,
             recurrent_activation):
    """The backward half of :func:`rnncore.reference.recurrence.backward`, in place."""
    T = z.shape[0]
    H = U.shape[0]
    n_rmask = rec_mask.shape[0]
    if steps > T or steps < 0:
        steps = T
    t_stop = T - steps
    for t in range(T - 1, t_stop - 1, -1):
        i, f, g, o = (z[t][:, k * H:(k + 1) * H] for k in range(4))
        gh = dh + dhs[t]
        dct = dc + gh * o * grad_from_output(tc[t], activation)
        d = np.concatenate([dct * g, dct * cs[t], dct * i, gh * tc[t]], axis=1)
        d[:, :2 * H] *= grad_from_output(z[t][:, :2 * H], recurrent_activation)
        d[:, 2 * H:3 * H] *= grad_from_output(g, activation)
        d[:, 3 * H:] *= grad_from_output(o, recurrent_activation)
        if step_mask.shape[0]:
            keep = step_mask[t].astype(bool)[:, None]
            dz[t] = np.where(keep, d, 0)
            dh[...] = np.where(keep, 0, gh)
            dc[...] = np.where(keep, dct * f, dc)
        else:
            dz[t] = d
            dh[...] = 0
            dc[...] = dct * f
        if t == t_stop and t_stop > 0:
            break
        if n_rmask == 0:
            dh += dz[t] @ U.T
        elif n_rmask == 1:
            dh += (dz[t] @ U.T) * rec_mask[0]
        else:
            for k in range(n_rmask):
                dh += (dz[t][:, k * H:(k + 1) * H] @ U[:, k * H:(k + 1) * H].T) * rec_mask[k]
    if t_stop > 0:
        dh[...] = 0
        dc[...] = 0
