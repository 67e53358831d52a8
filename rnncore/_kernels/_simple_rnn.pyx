"""SimpleRNN kernel: forward and (truncated) backpropagation through time, one direction.

Cell (Keras's ``SimpleRNNCell``)::

    z_t = x_t·W + b + h_{t-1}·U          (x_t·W + b arrives precomputed as ``z``)
    h_t = act(z_t)                       act = tanh or relu

Arrays are C-contiguous and time-major; ``floating`` is float32 or float64, one per call.
The batch rows of a step are independent, so the whole time loop runs in ``n_threads`` batch
blocks that never synchronise (OpenMP when the build has it), each making its own gemm calls.
"""
from cython cimport floating
from cython.parallel cimport prange
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

from ._blas cimport gemm_packed, pack
from ._activations cimport activate, grad_from_output
from ._rnn_common cimport n_blocks, block_start, transpose_into


cdef void _forward_block(floating* z, const floating* U, const floating* Upk, floating* hs,
                         const floating* rmask, floating* hm, const unsigned char* smask,
                         int T, int B, int H, int b0, int b1, int act) noexcept nogil:
    """The whole forward loop for batch rows b0:b1. Upk: U packed (see _blas.pack), or NULL."""
    cdef int nb = b1 - b0
    cdef long t, b, j
    cdef floating* zt
    cdef floating* hprev
    cdef floating* hnext
    cdef floating* hin
    for t in range(T):
        zt = z + (t * B + b0) * H
        hprev = hs + (t * B + b0) * H
        hnext = hs + ((t + 1) * B + b0) * H
        hin = hprev
        if rmask != NULL:
            # hm[t] = hs[t] * rec_mask   (recurrent dropout, one mask for all steps)
            hin = hm + (t * B + b0) * H
            for j in range(nb * H):
                hin[j] = hprev[j] * rmask[b0 * H + j]
        # z[t] += h[t-1] @ U
        gemm_packed(False, nb, H, H, hin, H, Upk, U, H, <floating> 1, zt, H)
        activate(zt, nb * H, act)
        if smask == NULL:
            memcpy(hnext, zt, nb * H * sizeof(floating))
        else:
            # masked rows carry the previous state over
            for b in range(nb):
                if smask[t * B + b0 + b]:
                    memcpy(hnext + b * H, zt + b * H, H * sizeof(floating))
                else:
                    memcpy(hnext + b * H, hprev + b * H, H * sizeof(floating))


cdef void _backward_block(const floating* dhs, const floating* z, const floating* UT,
                          const floating* UTpk, const floating* rmask, const unsigned char* smask,
                          int T, int B, int H, int steps,
                          floating* dh, floating* dz, floating* tmp,
                          int b0, int b1, int act) noexcept nogil:
    cdef int nb = b1 - b0
    cdef long t, b, j, row
    cdef long t_stop = T - steps
    cdef floating* dhb = dh + b0 * H
    cdef floating* dzt
    for t in range(T - 1, t_stop - 1, -1):
        dzt = dz + (t * B + b0) * H
        for b in range(nb):
            row = (t * B + b0 + b) * H
            if smask != NULL and not smask[t * B + b0 + b]:
                # a masked step passes dh straight to the previous step
                for j in range(H):
                    dhb[b * H + j] += dhs[row + j]
                    dzt[b * H + j] = 0
            else:
                for j in range(H):
                    dzt[b * H + j] = dhb[b * H + j] + dhs[row + j]
                    dhb[b * H + j] = 0
        grad_from_output(z + (t * B + b0) * H, dzt, nb * H, act)
        if t == t_stop and t_stop > 0:
            break  # the window's first step: nothing flows further back
        if rmask == NULL:
            # dh[t-1] += dz[t] @ U.T
            gemm_packed(False, nb, H, H, dzt, H, UTpk, UT, H, <floating> 1, dhb, H)
        else:
            # dh[t-1] += (dz[t] @ U.T) * rec_mask
            gemm_packed(False, nb, H, H, dzt, H, UTpk, UT, H, <floating> 0, tmp + b0 * H, H)
            for j in range(nb * H):
                dhb[j] += tmp[b0 * H + j] * rmask[b0 * H + j]
    if t_stop > 0:
        for j in range(nb * H):
            dhb[j] = 0


def forward(floating[:, :, ::1] z,                  # IN-OUT (T, B, H): x·W + b in, h_t (pre-mask) out
            const floating[:, ::1] U,               # IN (H, H) recurrent kernel
            floating[:, :, ::1] hs,                 # IN-OUT (T+1, B, H): hs[0] = h0 in, hs[1:] out
            const floating[:, ::1] rec_mask,        # IN (B, H), or (0, 0) for none
            floating[:, :, ::1] hm,                 # OUT (T, B, H) masked h_{t-1}; (0,0,0) if no rec_mask
            const unsigned char[:, ::1] step_mask,  # IN (T, B), 1 = step is used; or (0, 0)
            int activation,                         # IN RC_TANH or RC_RELU (see _fastmath.h)
            int n_threads=1):
    """Run the SimpleRNN recurrence over a whole sequence in place. See the module docstring."""
    cdef int T = z.shape[0], B = z.shape[1], H = z.shape[2]
    if T == 0 or B == 0:
        return
    cdef floating* zp = &z[0, 0, 0]
    cdef floating* hsp = &hs[0, 0, 0]
    cdef const floating* Up = &U[0, 0]
    cdef const floating* rmp = &rec_mask[0, 0] if rec_mask.shape[0] > 0 else NULL
    cdef floating* hmp = &hm[0, 0, 0] if rmp != NULL else NULL
    cdef const unsigned char* smp = &step_mask[0, 0] if step_mask.shape[0] > 0 else NULL
    cdef int nblk = n_blocks(B, n_threads), blk
    cdef floating* Upk
    with nogil:
        Upk = pack(H, H, Up, H, False)
    try:
        if nblk == 1:
            with nogil:
                _forward_block(zp, Up, Upk, hsp, rmp, hmp, smp, T, B, H, 0, B, activation)
        else:
            for blk in prange(nblk, nogil=True, num_threads=nblk, schedule="static"):
                _forward_block(zp, Up, Upk, hsp, rmp, hmp, smp, T, B, H,
                               block_start(blk, nblk, B), block_start(blk + 1, nblk, B),
                               activation)
    finally:
        free(Upk)


def backward(const floating[:, :, ::1] dhs,         # IN (T, B, H): dL/d(output at step t)
             const floating[:, :, ::1] z,           # IN (T, B, H): forward's activations
             const floating[:, ::1] U,              # IN (H, H)
             const floating[:, ::1] rec_mask,       # IN (B, H) or (0, 0)
             const unsigned char[:, ::1] step_mask, # IN (T, B) or (0, 0)
             int steps,                             # IN BPTT window: the last `steps` steps
             floating[:, ::1] dh,                   # IN-OUT (B, H): dL/dh_T in, dL/dh0 out
             floating[:, :, ::1] dz,                # OUT (T, B, H) dL/dz_t; rows before T-steps untouched
             floating[:, ::1] tmp,                  # scratch (B, H), used with rec_mask
             int activation,
             int n_threads=1):
    """Backpropagate through the last `steps` steps. With steps < T, dh0 comes out zero."""
    cdef int T = z.shape[0], B = z.shape[1], H = z.shape[2]
    if T == 0 or B == 0:
        return
    if steps > T or steps < 0:
        steps = T
    cdef const floating* rmp = &rec_mask[0, 0] if rec_mask.shape[0] > 0 else NULL
    cdef const unsigned char* smp = &step_mask[0, 0] if step_mask.shape[0] > 0 else NULL
    cdef const floating* dhsp = &dhs[0, 0, 0]
    cdef const floating* zp = &z[0, 0, 0]
    cdef const floating* Up = &U[0, 0]
    cdef floating* dhp = &dh[0, 0]
    cdef floating* dzp = &dz[0, 0, 0]
    cdef floating* tmpp = &tmp[0, 0] if tmp.shape[0] > 0 else NULL
    cdef int nblk = n_blocks(B, n_threads), blk
    cdef floating* UTp = <floating*> malloc(H * H * sizeof(floating) if H else 1)
    if UTp == NULL:
        raise MemoryError(f"simple_rnn backward: no room for the ({H}, {H}) transposed kernel")
    cdef floating* UTpk = NULL
    try:
        with nogil:
            transpose_into(Up, H, H, UTp)
            UTpk = pack(H, H, UTp, H, False)
        if nblk == 1:
            with nogil:
                _backward_block(dhsp, zp, UTp, UTpk, rmp, smp, T, B, H, steps, dhp, dzp, tmpp,
                                0, B, activation)
        else:
            for blk in prange(nblk, nogil=True, num_threads=nblk, schedule="static"):
                _backward_block(dhsp, zp, UTp, UTpk, rmp, smp, T, B, H, steps, dhp, dzp, tmpp,
                                block_start(blk, nblk, B), block_start(blk + 1, nblk, B),
                                activation)
    finally:
        free(UTp)
        free(UTpk)
