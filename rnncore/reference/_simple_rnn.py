"""The SimpleRNN cell step by step in NumPy: the executable spec behind
``rnncore.reference.recurrence`` (the twin of the compiled recurrence driver)."""
import numpy as np

from ._activations import activate, grad_from_output


def forward(z, U, hs, rec_mask, hm, step_mask, activation):
    """The forward half of :func:`rnncore.reference.recurrence.forward`, in place."""
    T = z.shape[0]
    for t in range(T):
        hin = hs[t]
        if rec_mask.shape[0]:
            hm[t] = hs[t] * rec_mask
            hin = hm[t]
        z[t] = activate(z[t] + hin @ U, activation)
        if step_mask.shape[0]:
            keep = step_mask[t].astype(bool)[:, None]
            hs[t + 1] = np.where(keep, z[t], hs[t])
        else:
            hs[t + 1] = z[t]


def backward(dhs, z, U, rec_mask, step_mask, steps, dh, dz, tmp, activation):
    """The backward half of :func:`rnncore.reference.recurrence.backward`, in place."""
    T = z.shape[0]
    if steps > T or steps < 0:
        steps = T
    t_stop = T - steps
    for t in range(T - 1, t_stop - 1, -1):
        g = dh + dhs[t]
        if step_mask.shape[0]:
            keep = step_mask[t].astype(bool)[:, None]
            dz[t] = np.where(keep, g, 0) * grad_from_output(z[t], activation)
            dh[...] = np.where(keep, 0, g)
        else:
            dz[t] = g * grad_from_output(z[t], activation)
            dh[...] = 0
        if t == t_stop and t_stop > 0:
            break
        back = dz[t] @ U.T
        dh += back * rec_mask if rec_mask.shape[0] else back
    if t_stop > 0:
        dh[...] = 0
