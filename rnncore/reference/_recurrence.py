"""NumPy twin of ``rnncore._kernels._recurrence``: the same contract, in place, for every cell.

The driver's loop and blocking have no NumPy counterpart worth keeping twice: this module maps
the one contract onto each cell's executable spec (``_simple_rnn``, ``_lstm``, ``_gru``), which
state the cells' maths step by step in array operations.
"""
import numpy as np

from . import _gru, _lstm, _simple_rnn

SIMPLE, LSTM, GRU, GRU_BEFORE = 0, 1, 2, 3


def _simple_masks(rec_mask, hm):
    """SimpleRNN's spec takes its one mask as (B, H) and the operands as (T, B, H)."""
    if rec_mask.shape[0] == 0:
        return np.zeros((0, 0), rec_mask.dtype), np.zeros((0, 0, 0), rec_mask.dtype)
    return rec_mask[0], hm[0]


def forward(cell, z, U, rbias, states, aux, rec_mask, hm, step_mask, scratch, activation,
            recurrent_activation, n_threads=1, unit_blocks=False):
    """See :func:`rnncore._kernels._recurrence.forward`."""
    if cell == SIMPLE:
        rm, ops = _simple_masks(rec_mask, hm)
        _simple_rnn.forward(z, U, states[0], rm, ops, step_mask, activation)
    elif cell == LSTM:
        _lstm.forward(z, U, states[0], states[1], aux, rec_mask, hm, step_mask, activation,
                      recurrent_activation)
    else:
        _gru.forward(z, U, rbias, states[0], aux, scratch, rec_mask, hm, step_mask, cell == GRU,
                     activation, recurrent_activation)


def backward(cell, z, U, rbias, states, aux, rec_mask, hm, step_mask, scratch, activation,
             recurrent_activation, n_threads, unit_blocks, dhs, steps, dstates, dz, daux):
    """See :func:`rnncore._kernels._recurrence.backward`."""
    if cell == SIMPLE:
        rm, _ = _simple_masks(rec_mask, hm)
        _simple_rnn.backward(dhs, z, U, rm, step_mask, steps, dstates[0], dz, scratch,
                             activation)
    elif cell == LSTM:
        _lstm.backward(dhs, z, states[1], aux, U, rec_mask, step_mask, steps, dstates[0],
                       dstates[1], dz, scratch, activation, recurrent_activation)
    else:
        _gru.backward(dhs, z, states[0], aux, hm, U, rec_mask, step_mask, steps, dstates[0], dz,
                      daux, scratch, cell == GRU, activation, recurrent_activation)
