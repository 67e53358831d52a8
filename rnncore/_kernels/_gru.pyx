"""GRU kernel: forward and (truncated) backpropagation through time, one direction.

Cell (Keras's ``GRUCell``), gate blocks z, r, h in that order along the 3·H columns::

    z_t  = rec_act(x_t·W_z + b_z + h_{t-1}·U_z)
    r_t  = rec_act(x_t·W_r + b_r + h_{t-1}·U_r)
    reset_after=True:   hh_t = act(x_t·W_h + b_h + r_t ⊙ (h_{t-1}·U_h + b'_h))
    reset_after=False:  hh_t = act(x_t·W_h + b_h + (r_t ⊙ h_{t-1})·U_h)
    h_t  = z_t ⊙ h_{t-1} + (1 - z_t) ⊙ hh_t

``x_t·W + b`` arrives precomputed in ``z`` (with reset_after, the caller also adds the recurrent
biases of z and r there; b'_h comes separately because r multiplies it).

Why the variants cost differently: with reset_after the reset gate acts after the product, so a
step makes ONE gemm ``h_{t-1}·U`` over all 3·H columns. Without it, the candidate's product takes
``r_t ⊙ h_{t-1}``, which exists only once the first product has been activated: two dependent
gemms per step, forward and backward, each too small on its own to use the machine well.

Recurrent dropout (Keras): the mask multiplies h_{t-1} where it enters a product with U, never
in ``z ⊙ h_{t-1}``. ``rec_mask`` is (M, B, H): M = 1 for one mask shared by the gates, M = 3 for
one mask per gate (what Keras draws with ``implementation=1``, which recurrent_dropout forces).

The elementwise work of a step runs per batch row; with Keras's default activations (sigmoid,
tanh) each row is ONE vectorised loop (the C in the block below), other activations take the
generic path of separate passes (``_activations``).

Arrays are C-contiguous and time-major; ``floating`` is float32 or float64, one per call.
The batch rows of a step are independent, so the whole time loop runs in ``n_threads`` batch
blocks that never synchronise (OpenMP when the build has it), each making its own gemm calls
(SciPy's OpenBLAS held at one thread by the caller, ``rnncore.ops._blas_threads``).
"""
from cython cimport floating
from cython.parallel cimport prange
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset

from ._blas cimport gemm, gemm_packed, pack
from ._activations cimport activate, grad_from_output, RC_TANH, RC_SIGMOID
from ._rnn_common cimport n_blocks, block_start, transpose_into


cdef inline void _gates_gemm(int nb, int H, int g0, int g1, const floating* A, long aoff,
                             const floating* U, const floating* Upk, floating beta,
                             floating* C, int ldc) noexcept nogil:
    """C[:, (g-g0)·H : (g-g0+1)·H] = A_g · U[:, g·H : (g+1)·H] + beta·C for g in [g0, g1).

    A_g = A + g·aoff, rows H apart; aoff = 0 means all gates share one operand: one gemm,
    from Upk (those columns of U packed) unless NULL.
    """
    cdef int g
    if aoff == 0:
        gemm_packed(False, nb, (g1 - g0) * H, H, A, H, Upk, U + g0 * H, 3 * H, beta, C, ldc)
    else:
        for g in range(g0, g1):
            gemm(False, False, nb, H, H, <floating> 1, A + g * aoff, H, U + g * H, 3 * H,
                 beta, C + (g - g0) * H, ldc)


cdef inline void _operands(const floating* hprev, const floating* rmask, int M, floating* hmt,
                           long gstride, int B, int H, int b0, int nb) noexcept nogil:
    """hm[g, t, b] = h_{t-1}[b] ⊙ mask_g[b] for the M masks, rows b0 … b0+nb of step t
    (hmt points at hm[0, t, b0]; gates lie gstride apart)."""
    cdef long j, g
    for g in range(M):
        for j in range(nb * H):
            hmt[g * gstride + j] = hprev[j] * rmask[(g * B + b0) * H + j]


cdef extern from *:
    """
    #include "_fastmath.h"
    /* Rows of a GRU step with Keras's default activations (sigmoid gates, tanh candidate),
       each in ONE loop over the units. For small layers a row is a vector or two, and the
       generic path's separate passes per gate cost more in loop overhead than in arithmetic.
       restrict tells the compiler that gate blocks, products and states do not overlap, so
       it vectorises; without it the many pointers defeat its alias checks. */
    #define RC_GRU_ROWS(T, SFX, SIGMOID, TANH)                                               \
    /* reset_after forward: z, r, hh in place, hr = h·U_h + b'_h, hn = h_t */                \
    static inline void rc_gru_fwd_after_##SFX(                                              \
            T *restrict gz, T *restrict gr, T *restrict gh, const T *restrict rz,          \
            const T *restrict rr, const T *restrict rh, const T *restrict rbias,           \
            T *restrict hr, const T *restrict hp, T *restrict hn, int H) {                 \
        for (int j = 0; j < H; j++) {                                                       \
            T z = SIGMOID(gz[j] + rz[j]);                                                   \
            T r = SIGMOID(gr[j] + rr[j]);                                                   \
            T b = rh[j] + rbias[j];                                                         \
            T h = TANH(gh[j] + r * b);                                                      \
            gz[j] = z; gr[j] = r; gh[j] = h; hr[j] = b;                                     \
            hn[j] = z * hp[j] + ((T)1 - z) * h;                                             \
        }                                                                                   \
    }                                                                                       \
    /* reset_before forward, before the candidate's product: z, r in place, hr = r ⊙ h */   \
    static inline void rc_gru_fwd_before_zr_##SFX(                                          \
            T *restrict gz, T *restrict gr, const T *restrict ah, T *restrict hr, int H) {  \
        for (int j = 0; j < H; j++) {                                                       \
            T r = SIGMOID(gr[j]);                                                           \
            gz[j] = SIGMOID(gz[j]); gr[j] = r; hr[j] = r * ah[j];                           \
        }                                                                                   \
    }                                                                                       \
    /* reset_before forward, after it: hh in place, hn = h_t */                             \
    static inline void rc_gru_fwd_before_h_##SFX(                                           \
            const T *restrict gz, T *restrict gh, const T *restrict hp, T *restrict hn,    \
            int H) {                                                                        \
        for (int j = 0; j < H; j++) {                                                       \
            T h = TANH(gh[j]);                                                              \
            gh[j] = h;                                                                      \
            hn[j] = gz[j] * hp[j] + ((T)1 - gz[j]) * h;                                     \
        }                                                                                   \
    }                                                                                       \
    /* backward, one unmasked row: g = dh + dhs; dz, dhh (pre-activation), dh = g ⊙ z;      \
       with reset_after also dr and the gradient of h·U_h + b'_h (into dzh; dhh -> dxh) */  \
    static inline void rc_gru_bwd_##SFX(                                                    \
            const T *restrict gz, const T *restrict gr, const T *restrict gh,              \
            const T *restrict hp, const T *restrict hr, const T *restrict dhs,             \
            T *restrict dh, T *restrict dzz, T *restrict dzr, T *restrict dzh,             \
            T *restrict dxh, int H) {                                                       \
        for (int j = 0; j < H; j++) {                                                       \
            T g = dh[j] + dhs[j], z = gz[j], h = gh[j];                                     \
            T dhh = g * ((T)1 - z) * ((T)1 - h * h);                                        \
            dzz[j] = g * (hp[j] - h) * (z * ((T)1 - z));                                    \
            dh[j] = g * z;                                                                  \
            if (dxh) {                                                                      \
                T r = gr[j];                                                                \
                dxh[j] = dhh;                                                               \
                dzr[j] = dhh * hr[j] * (r * ((T)1 - r));                                    \
                dzh[j] = dhh * r;                                                           \
            } else {                                                                        \
                dzh[j] = dhh;                                                               \
            }                                                                               \
        }                                                                                   \
    }                                                                                       \
    /* reset_before backward, given d(r ⊙ h) = dhh·U_hᵀ: dr, and dh += d(r ⊙ h) ⊙ r ⊙ m */  \
    static inline void rc_gru_bwd_before_r_##SFX(                                           \
            const T *restrict gr, const T *restrict ah, const T *restrict drh,             \
            const T *restrict mask, T *restrict dzr, T *restrict dh, int H) {              \
        for (int j = 0; j < H; j++) {                                                       \
            T r = gr[j], d = drh[j];                                                        \
            dzr[j] = d * ah[j] * (r * ((T)1 - r));                                          \
            dh[j] += mask ? d * r * mask[j] : d * r;                                        \
        }                                                                                   \
    }
    RC_GRU_ROWS(float, f, rc_sigmoidf, rc_tanhf)
    RC_GRU_ROWS(double, d, rc_sigmoid, tanh)
    """
    void rc_gru_fwd_after_f(float* gz, float* gr, float* gh, const float* rz, const float* rr,
                            const float* rh, const float* rbias, float* hr, const float* hp,
                            float* hn, int H) noexcept nogil
    void rc_gru_fwd_after_d(double* gz, double* gr, double* gh, const double* rz,
                            const double* rr, const double* rh, const double* rbias,
                            double* hr, const double* hp, double* hn, int H) noexcept nogil
    void rc_gru_fwd_before_zr_f(float* gz, float* gr, const float* ah, float* hr,
                                int H) noexcept nogil
    void rc_gru_fwd_before_zr_d(double* gz, double* gr, const double* ah, double* hr,
                                int H) noexcept nogil
    void rc_gru_fwd_before_h_f(const float* gz, float* gh, const float* hp, float* hn,
                               int H) noexcept nogil
    void rc_gru_fwd_before_h_d(const double* gz, double* gh, const double* hp, double* hn,
                               int H) noexcept nogil
    void rc_gru_bwd_f(const float* gz, const float* gr, const float* gh, const float* hp,
                      const float* hr, const float* dhs, float* dh, float* dzz, float* dzr,
                      float* dzh, float* dxh, int H) noexcept nogil
    void rc_gru_bwd_d(const double* gz, const double* gr, const double* gh, const double* hp,
                      const double* hr, const double* dhs, double* dh, double* dzz,
                      double* dzr, double* dzh, double* dxh, int H) noexcept nogil
    void rc_gru_bwd_before_r_f(const float* gr, const float* ah, const float* drh,
                               const float* mask, float* dzr, float* dh, int H) noexcept nogil
    void rc_gru_bwd_before_r_d(const double* gr, const double* ah, const double* drh,
                               const double* mask, double* dzr, double* dh,
                               int H) noexcept nogil


cdef inline void _fwd_after_row(floating* row, const floating* rec, const floating* rbias,
                                floating* hr, const floating* hp, floating* hn,
                                int H) noexcept nogil:
    if floating is float:
        rc_gru_fwd_after_f(row, row + H, row + 2 * H, rec, rec + H, rec + 2 * H, rbias, hr, hp,
                           hn, H)
    else:
        rc_gru_fwd_after_d(row, row + H, row + 2 * H, rec, rec + H, rec + 2 * H, rbias, hr, hp,
                           hn, H)


cdef inline void _fwd_before_zr_row(floating* row, const floating* ah, floating* hr,
                                    int H) noexcept nogil:
    if floating is float:
        rc_gru_fwd_before_zr_f(row, row + H, ah, hr, H)
    else:
        rc_gru_fwd_before_zr_d(row, row + H, ah, hr, H)


cdef inline void _fwd_before_h_row(floating* row, const floating* hp, floating* hn,
                                   int H) noexcept nogil:
    if floating is float:
        rc_gru_fwd_before_h_f(row, row + 2 * H, hp, hn, H)
    else:
        rc_gru_fwd_before_h_d(row, row + 2 * H, hp, hn, H)


cdef inline void _bwd_row(const floating* grow, const floating* hp, const floating* hr,
                          const floating* dhs, floating* dh, floating* drow, floating* dxh,
                          int H) noexcept nogil:
    if floating is float:
        rc_gru_bwd_f(grow, grow + H, grow + 2 * H, hp, hr, dhs, dh, drow, drow + H,
                     drow + 2 * H, dxh, H)
    else:
        rc_gru_bwd_d(grow, grow + H, grow + 2 * H, hp, hr, dhs, dh, drow, drow + H,
                     drow + 2 * H, dxh, H)


cdef inline void _bwd_before_r_row(const floating* grow, const floating* ah,
                                   const floating* drh, const floating* mask, floating* drow,
                                   floating* dh, int H) noexcept nogil:
    if floating is float:
        rc_gru_bwd_before_r_f(grow + H, ah, drh, mask, drow + H, dh, H)
    else:
        rc_gru_bwd_before_r_d(grow + H, ah, drh, mask, drow + H, dh, H)


cdef inline void _fwd_after_row_any(floating* row, const floating* rec, const floating* rbias,
                                    floating* hr, const floating* hp, floating* hn, int H,
                                    int act, int ract) noexcept nogil:
    """:func:`_fwd_after_row` for any activations (``rbias`` may be NULL)."""
    cdef int j
    cdef floating rb
    cdef floating one = 1   # a bare 1 would make Cython compute the line in double
    for j in range(2 * H):
        row[j] += rec[j]
    activate(row, 2 * H, ract)
    for j in range(H):
        rb = rec[2 * H + j]
        if rbias != NULL:
            rb = rb + rbias[j]
        hr[j] = rb
        row[2 * H + j] += row[H + j] * rb
    activate(row + 2 * H, H, act)
    for j in range(H):
        hn[j] = row[j] * hp[j] + (one - row[j]) * row[2 * H + j]


cdef void _forward_block(floating* z, const floating* U, const floating* Upk,
                         const floating* Uhpk, const floating* rbias,
                         floating* hs, floating* hr, floating* rec,
                         const floating* rmask, int M, floating* hm,
                         const unsigned char* smask, int T, int B, int H, int b0, int b1,
                         bint reset_after, int act, int ract) noexcept nogil:
    """The whole forward loop for batch rows b0:b1. Upk: the columns of U of the first
    product packed (all of them with reset_after, those of z and r without), Uhpk: those of
    the candidate without reset_after; either may be NULL (read in place)."""
    cdef int nb = b1 - b0
    cdef int G = 3 * H
    cdef long t, b, j
    cdef long aoff = <long> T * B * H if M == 3 else 0   # gate stride in hm
    cdef floating* zt
    cdef floating* row
    cdef floating* hprev
    cdef floating* hnext
    cdef floating* hrt
    cdef floating* A
    cdef floating* recb = rec + b0 * G if rec != NULL else NULL
    cdef floating one = 1
    cdef bint fast = act == RC_TANH and ract == RC_SIGMOID   # Keras's defaults
    for t in range(T):
        zt = z + (t * B + b0) * G
        hprev = hs + (t * B + b0) * H
        hnext = hs + ((t + 1) * B + b0) * H
        hrt = hr + (t * B + b0) * H
        A = hprev
        if M > 0:
            A = hm + (t * B + b0) * H
            _operands(hprev, rmask, M, A, <long> T * B * H, B, H, b0, nb)
        if reset_after:
            # rec = h[t-1] @ U            (the whole (H, 3H) kernel; per gate with 3 masks)
            _gates_gemm(nb, H, 0, 3, A, aoff, U, Upk, <floating> 0, recb, G)
            if fast and rbias != NULL:
                for b in range(nb):
                    _fwd_after_row(zt + b * G, recb + b * G, rbias, hrt + b * H,
                                   hprev + b * H, hnext + b * H, H)
            else:
                for b in range(nb):
                    _fwd_after_row_any(zt + b * G, recb + b * G, rbias, hrt + b * H,
                                       hprev + b * H, hnext + b * H, H, act, ract)
        else:
            # z[t][:, :2H] += h[t-1] @ U[:, :2H]
            _gates_gemm(nb, H, 0, 2, A, aoff, U, Upk, <floating> 1, zt, G)
            if fast:
                for b in range(nb):
                    _fwd_before_zr_row(zt + b * G, A + 2 * aoff + b * H, hrt + b * H, H)
            else:
                for b in range(nb):
                    row = zt + b * G
                    activate(row, 2 * H, ract)
                    for j in range(H):
                        hrt[b * H + j] = row[H + j] * A[2 * aoff + b * H + j]
            # z[t][:, 2H:] += (r * h[t-1]) @ U[:, 2H:]   (waits for the first product)
            gemm_packed(False, nb, H, H, hrt, H, Uhpk, U + 2 * H, G, <floating> 1, zt + 2 * H,
                        G)
            if fast:
                for b in range(nb):
                    _fwd_before_h_row(zt + b * G, hprev + b * H, hnext + b * H, H)
            else:
                for b in range(nb):
                    row = zt + b * G
                    activate(row + 2 * H, H, act)
                    for j in range(H):
                        hnext[b * H + j] = (row[j] * hprev[b * H + j]
                                            + (one - row[j]) * row[2 * H + j])
        if smask != NULL:
            for b in range(nb):
                if not smask[t * B + b0 + b]:
                    # masked rows carry the previous state over
                    memcpy(hnext + b * H, hprev + b * H, H * sizeof(floating))


cdef void _backward_block(const floating* dhs, const floating* gates, const floating* hs,
                          const floating* hr, const floating* hm, const floating* UT,
                          const floating* UTpk, const floating* UThpk,
                          const floating* rmask, int M, const unsigned char* smask,
                          int T, int B, int H, int steps,
                          floating* dh, floating* dz, floating* dxh, floating* tmp,
                          int b0, int b1, bint reset_after, int act, int ract) noexcept nogil:
    """The whole backward loop for batch rows b0:b1. UT = Uᵀ; UTpk: its first ng·H rows
    packed, UThpk: its candidate rows without reset_after; either may be NULL."""
    cdef int nb = b1 - b0
    cdef int G = 3 * H
    cdef int ng = 3 if reset_after else 2
    cdef long t, b, j, g
    cdef long t_stop = T - steps
    cdef long aoff = <long> T * B * H if M == 3 else 0   # gate stride in hm
    cdef floating* dhb = dh + b0 * H
    cdef floating* tmpb = tmp + b0 * G
    cdef const floating* gt
    cdef const floating* grow
    cdef const floating* hprev
    cdef const floating* hrt
    cdef const floating* dhsr
    cdef const floating* A
    cdef const floating* Ah
    cdef floating* dzt
    cdef floating* drow
    cdef floating* dhr
    cdef floating* xr
    cdef floating gj, d, s
    cdef floating one = 1
    cdef bint fast = act == RC_TANH and ract == RC_SIGMOID   # Keras's defaults
    for t in range(T - 1, t_stop - 1, -1):
        gt = gates + (t * B + b0) * G
        dzt = dz + (t * B + b0) * G
        hprev = hs + (t * B + b0) * H
        hrt = hr + (t * B + b0) * H
        A = hprev if M == 0 else hm + (t * B + b0) * H
        for b in range(nb):
            grow = gt + b * G
            drow = dzt + b * G
            dhr = dhb + b * H
            dhsr = dhs + (t * B + b0 + b) * H
            xr = dxh + (t * B + b0 + b) * H if reset_after else NULL
            if smask != NULL and not smask[t * B + b0 + b]:
                # a masked step passes dh straight to the previous step
                for j in range(H):
                    dhr[j] += dhsr[j]
                memset(drow, 0, G * sizeof(floating))
                if reset_after:
                    memset(xr, 0, H * sizeof(floating))
                continue
            if fast:
                _bwd_row(grow, hprev + b * H, hrt + b * H, dhsr, dhr, drow, xr, H)
                continue
            for j in range(H):
                gj = dhr[j] + dhsr[j]
                drow[j] = gj * (hprev[b * H + j] - grow[2 * H + j])    # dL/dz_t
                drow[2 * H + j] = gj * (one - grow[j])                 # dL/dhh_t
                dhr[j] = gj * grow[j]                                  # through z ⊙ h_{t-1}
            grad_from_output(grow, drow, H, ract)
            grad_from_output(grow + 2 * H, drow + 2 * H, H, act)
            if reset_after:
                for j in range(H):
                    d = drow[2 * H + j]
                    xr[j] = d                                          # dL/d(x·W_h + b_h)
                    drow[H + j] = d * hrt[b * H + j]                   # dL/dr_t
                    drow[2 * H + j] = d * grow[H + j]                  # dL/d(h·U_h + b'_h)
                    # (the last two trade places after the step's gemm, below)
                grad_from_output(grow + H, drow + H, H, ract)
        if not reset_after:
            # d(r*h) = dhh @ U[:, 2H:].T  into tmp[:, :H]
            gemm_packed(False, nb, H, H, dzt + 2 * H, G, UThpk, UT + 2 * H * H, H,
                        <floating> 0, tmpb, G)
            for b in range(nb):
                if smask != NULL and not smask[t * B + b0 + b]:
                    continue
                grow = gt + b * G
                drow = dzt + b * G
                Ah = A + 2 * aoff + b * H
                if fast:
                    _bwd_before_r_row(grow, Ah, tmpb + b * G,
                                      NULL if M == 0 else rmask + ((2 * B if M == 3 else 0)
                                                                   + b0 + b) * H,
                                      drow, dhb + b * H, H)
                    continue
                for j in range(H):
                    d = tmpb[b * G + j]
                    drow[H + j] = d * Ah[j]                            # dL/dr_t (pre-act.)
                    d = d * grow[H + j]                                # through r ⊙ h_{t-1}
                    if M == 1:
                        d = d * rmask[(b0 + b) * H + j]
                    elif M == 3:
                        d = d * rmask[(2 * B + b0 + b) * H + j]
                    dhb[b * H + j] += d
                grad_from_output(grow + H, drow + H, H, ract)
        if t > t_stop or t_stop == 0:   # nothing flows back from the window's first step
            if M == 0:
                # dh[t-1] += dz[t][:, :ng·H] @ U[:, :ng·H].T
                gemm_packed(False, nb, H, ng * H, dzt, G, UTpk, UT, H, <floating> 1, dhb, H)
            elif M == 1:
                gemm_packed(False, nb, H, ng * H, dzt, G, UTpk, UT, H, <floating> 0, tmpb, G)
                for b in range(nb):
                    for j in range(H):
                        dhb[b * H + j] += tmpb[b * G + j] * rmask[(b0 + b) * H + j]
            else:
                for g in range(ng):
                    gemm(False, False, nb, H, H, <floating> 1, dzt + g * H, G, UT + g * H * H,
                         H, <floating> 0, tmpb + g * H, G)
                for b in range(nb):
                    for j in range(H):
                        s = 0
                        for g in range(ng):
                            s = s + tmpb[b * G + g * H + j] * rmask[(g * B + b0 + b) * H + j]
                        dhb[b * H + j] += s
        if reset_after:
            # dz[t] leaves as the gradient of x·W + b (as without reset_after); the gradient
            # of h·U_h + b'_h goes to dxh[t]: swapped here, while both rows are in cache
            for b in range(nb):
                drow = dzt + b * G + 2 * H
                xr = dxh + (t * B + b0 + b) * H
                for j in range(H):
                    d = drow[j]
                    drow[j] = xr[j]
                    xr[j] = d
    if t_stop > 0:
        for j in range(nb * H):
            dhb[j] = 0


def forward(floating[:, :, ::1] z,                  # IN-OUT (T, B, 3H): x·W + b in; z, r, hh out
            const floating[:, ::1] U,               # IN (H, 3H) recurrent kernel
            const floating[::1] rbias,              # IN (H,) b'_h (reset_after), or (0,)
            floating[:, :, ::1] hs,                 # IN-OUT (T+1, B, H): hs[0] = h0 in, hs[1:] out
            floating[:, :, ::1] hr,                 # OUT (T, B, H): h·U_h + b'_h, or r ⊙ h
            floating[:, ::1] rec,                   # scratch (B, 3H) with reset_after, else (0, 0)
            const floating[:, :, ::1] rec_mask,     # IN (M, B, H), M = 1 or 3; or (0, 0, 0)
            floating[:, :, :, ::1] hm,              # OUT (M, T, B, H) h_{t-1} ⊙ mask_g, or empty
            const unsigned char[:, ::1] step_mask,  # IN (T, B), 1 = step is used; or (0, 0)
            bint reset_after,
            int activation,                         # IN RC_* code of the candidate (_fastmath.h)
            int recurrent_activation,               # IN RC_* code of z and r
            int n_threads=1):
    """Run the GRU recurrence over a whole sequence in place. See the module docstring."""
    cdef int T = z.shape[0], B = z.shape[1], H = hs.shape[2]
    if T == 0 or B == 0 or H == 0:
        return
    cdef floating* zp = &z[0, 0, 0]
    cdef const floating* Up = &U[0, 0]
    cdef const floating* rbp = &rbias[0] if rbias.shape[0] > 0 else NULL
    cdef floating* hsp = &hs[0, 0, 0]
    cdef floating* hrp = &hr[0, 0, 0]
    cdef floating* recp = &rec[0, 0] if rec.shape[0] > 0 else NULL
    cdef int M = rec_mask.shape[0]
    cdef const floating* rmp = &rec_mask[0, 0, 0] if M > 0 else NULL
    cdef floating* hmp = &hm[0, 0, 0, 0] if M > 0 else NULL
    cdef const unsigned char* smp = &step_mask[0, 0] if step_mask.shape[0] > 0 else NULL
    cdef int nblk = n_blocks(B, n_threads), blk
    cdef floating* Upk = NULL
    cdef floating* Uhpk = NULL
    with nogil:
        if M <= 1:
            Upk = pack(H, (3 if reset_after else 2) * H, Up, 3 * H, False)
        if not reset_after:
            Uhpk = pack(H, H, Up + 2 * H, 3 * H, False)
    try:
        if nblk == 1:
            with nogil:
                _forward_block(zp, Up, Upk, Uhpk, rbp, hsp, hrp, recp, rmp, M, hmp, smp, T, B,
                               H, 0, B, reset_after, activation, recurrent_activation)
        else:
            for blk in prange(nblk, nogil=True, num_threads=nblk, schedule="static"):
                _forward_block(zp, Up, Upk, Uhpk, rbp, hsp, hrp, recp, rmp, M, hmp, smp, T, B,
                               H, block_start(blk, nblk, B), block_start(blk + 1, nblk, B),
                               reset_after, activation, recurrent_activation)
    finally:
        free(Upk)
        free(Uhpk)


def backward(const floating[:, :, ::1] dhs,         # IN (T, B, H): dL/d(output at step t)
             const floating[:, :, ::1] gates,       # IN (T, B, 3H): forward's z, r, hh
             const floating[:, :, ::1] hs,          # IN (T+1, B, H)
             const floating[:, :, ::1] hr,          # IN (T, B, H): forward's hr
             const floating[:, :, :, ::1] hm,       # IN (M, T, B, H) or (0, 0, 0, 0)
             const floating[:, ::1] U,              # IN (H, 3H)
             const floating[:, :, ::1] rec_mask,    # IN (M, B, H) or (0, 0, 0)
             const unsigned char[:, ::1] step_mask, # IN (T, B) or (0, 0)
             int steps,                             # IN BPTT window: the last `steps` steps
             floating[:, ::1] dh,                   # IN-OUT (B, H): dL/dh_T in, dL/dh0 out
             floating[:, :, ::1] dz,                # OUT (T, B, 3H) dL/d(x·W + b), window rows only
             floating[:, :, ::1] dxh,               # OUT (T, B, H) dL/d(h·U_h + b'_h); reset_after
             floating[:, ::1] tmp,                  # scratch (B, 3H)
             bint reset_after,
             int activation,
             int recurrent_activation,
             int n_threads=1):
    """Backpropagate through the last `steps` steps. With steps < T, dh0 comes out zero.

    ``dz[t] = [dL/dz, dL/dr, dL/dhh]`` (pre-activation), the gradient of ``x·W + b``. With
    reset_after, ``dxh[t] = dL/d(h·U_h + b'_h) = r ⊙ dL/dhh`` (what meets U_h; z and r meet U
    with the same gradient as x·W); ``dxh`` is (0, 0, 0) without reset_after.
    """
    cdef int T = gates.shape[0], B = gates.shape[1], H = hs.shape[2]
    if T == 0 or B == 0 or H == 0:
        return
    if steps > T or steps < 0:
        steps = T
    cdef int M = rec_mask.shape[0]
    cdef const floating* rmp = &rec_mask[0, 0, 0] if M > 0 else NULL
    cdef const floating* hmp = &hm[0, 0, 0, 0] if M > 0 else NULL
    cdef const unsigned char* smp = &step_mask[0, 0] if step_mask.shape[0] > 0 else NULL
    cdef const floating* dhsp = &dhs[0, 0, 0]
    cdef const floating* gp = &gates[0, 0, 0]
    cdef const floating* hsp = &hs[0, 0, 0]
    cdef const floating* hrp = &hr[0, 0, 0]
    cdef const floating* Up = &U[0, 0]
    cdef floating* dhp = &dh[0, 0]
    cdef floating* dzp = &dz[0, 0, 0]
    cdef floating* dxhp = &dxh[0, 0, 0] if dxh.shape[0] > 0 else NULL
    cdef floating* tmpp = &tmp[0, 0]
    cdef int nblk = n_blocks(B, n_threads), blk
    cdef floating* UTp = <floating*> malloc(3 * H * H * sizeof(floating) if H else 1)
    if UTp == NULL:
        raise MemoryError(f"gru backward: no room for the ({3 * H}, {H}) transposed kernel")
    cdef floating* UTpk = NULL
    cdef floating* UThpk = NULL
    try:
        with nogil:
            transpose_into(Up, H, 3 * H, UTp)
            if M <= 1:
                UTpk = pack((3 if reset_after else 2) * H, H, UTp, H, False)
            if not reset_after:
                UThpk = pack(H, H, UTp + 2 * H * H, H, False)
        if nblk == 1:
            with nogil:
                _backward_block(dhsp, gp, hsp, hrp, hmp, UTp, UTpk, UThpk, rmp, M, smp, T, B,
                                H, steps, dhp, dzp, dxhp, tmpp, 0, B, reset_after, activation,
                                recurrent_activation)
        else:
            for blk in prange(nblk, nogil=True, num_threads=nblk, schedule="static"):
                _backward_block(dhsp, gp, hsp, hrp, hmp, UTp, UTpk, UThpk, rmp, M, smp, T, B,
                                H, steps, dhp, dzp, dxhp, tmpp,
                                block_start(blk, nblk, B), block_start(blk + 1, nblk, B),
                                reset_after, activation, recurrent_activation)
    finally:
        free(UTp)
        free(UTpk)
        free(UThpk)
