"""LSTM kernel: forward and (truncated) backpropagation through time, one direction.

Cell (Keras's ``LSTMCell``; gate blocks i, f, c, o along the last axis, each ``units`` wide)::

    z_t = x_t·W + b + h_{t-1}·U          (x_t·W + b arrives precomputed as ``z``)
    i = ract(z_i)   f = ract(z_f)   g = act(z_c)   o = ract(z_o)
    c_t = f ⊙ c_{t-1} + i ⊙ g
    h_t = o ⊙ act(c_t)

ract is the recurrent activation (sigmoid by default), act the activation (tanh by default).
Forward overwrites ``z`` with the post-activation gates (i, f, g, o) and stores c_t and act(c_t),
which is all backward needs. Arrays are C-contiguous and time-major; ``floating`` is float32 or
float64, one per call.

Two ways to use ``n_threads`` threads:

- batch blocks (the default): the batch rows of a step are independent, so the whole time loop
  runs in blocks of rows that never synchronise, each making its own gemm calls. Best for small
  layers, where a step is a few microseconds and any synchronisation would cost more.
- unit blocks (``unit_blocks=True``): each thread owns a block of the hidden units, for every
  row: its columns of the four gates in the product (so it reads and packs only its share of U)
  and its units' elementwise pass. Every step needs all of h_{t-1}, so the threads meet at one
  barrier per step. Best for large layers: with batch blocks each thread would stream and pack
  the whole of U at every step for half the rows, and two threads ran slower than one.

The elementwise work of a step runs per batch row (or per row of a thread's unit block); with
Keras's default activations (sigmoid gates, tanh) each row is ONE vectorised loop over its
units (the C block below), other activations take the generic path of separate passes.

Recurrent dropout (Keras applies it to h_{t-1} before the recurrent product only) comes as
``rec_mask`` of shape (1, B, H), one mask for all gates and one gemm per step, or (4, B, H),
one mask per gate as Keras's ``implementation=1`` draws them, and then one gemm per gate.
"""
from cython cimport floating
from cython.parallel cimport prange
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset

from ._blas cimport gemm, gemm_packed, pack
from ._activations cimport activate, grad_from_output, RC_TANH, RC_SIGMOID
from ._rnn_common cimport n_blocks, block_start, transpose_into
from cython.parallel cimport parallel


cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    #define rc_barrier() _Pragma("omp barrier")
    static int rc_team_size(void) { return omp_get_num_threads(); }
    static int rc_thread_num(void) { return omp_get_thread_num(); }
    #else
    #define rc_barrier()
    static int rc_team_size(void) { return 1; }
    static int rc_thread_num(void) { return 0; }
    #endif
    """
    void rc_barrier() nogil      # every thread of the team waits here for the others
    int rc_team_size() nogil
    int rc_thread_num() nogil


cdef extern from *:
    """
    #include "_fastmath.h"
    /* One row of an LSTM step with Keras's default activations, in ONE loop over n units:
       the separate passes of the generic path (one per gate, the cell, act(c), the output)
       cost more in loop overhead than in arithmetic when a row is a vector or two (units 8).
       gi, gf, gg, go are the row's gate blocks (pre-activations in, gates out). restrict:
       gates, states and gradients never overlap, which lets the compiler vectorise. */
    #define RC_LSTM_ROWS(T, SFX, SIGMOID, TANH)                                              \
    static inline void rc_lstm_fwd_##SFX(                                                   \
            T *restrict gi, T *restrict gf, T *restrict gg, T *restrict go,                \
            const T *restrict cp, T *restrict cn, T *restrict tc, T *restrict hn, long n) { \
        for (long j = 0; j < n; j++) {                                                      \
            T i = SIGMOID(gi[j]), f = SIGMOID(gf[j]), g = TANH(gg[j]), o = SIGMOID(go[j]);  \
            T c = f * cp[j] + i * g;                                                        \
            T a = TANH(c);                                                                  \
            gi[j] = i; gf[j] = f; gg[j] = g; go[j] = o;                                     \
            cn[j] = c; tc[j] = a; hn[j] = o * a;                                            \
        }                                                                                   \
    }                                                                                       \
    /* backward, one unmasked row: gh = dh + dhs reaches h_t, dct = dL/dc_t;                \
       out: the four pre-activation gradients, dc = dL/dc_{t-1}, dh = 0 (the caller's       \
       product adds dz·Uᵀ to it) */                                                         \
    static inline void rc_lstm_bwd_##SFX(                                                   \
            const T *restrict gi, const T *restrict gf, const T *restrict gg,              \
            const T *restrict go, const T *restrict cp, const T *restrict tc,              \
            const T *restrict dhs, T *restrict dh, T *restrict dc, T *restrict di,         \
            T *restrict df, T *restrict dg, T *restrict dout, long n) {                     \
        for (long j = 0; j < n; j++) {                                                      \
            T gh = dh[j] + dhs[j];                                                          \
            T i = gi[j], f = gf[j], g = gg[j], o = go[j], a = tc[j];                        \
            T dct = gh * o * ((T)1 - a * a) + dc[j];                                        \
            dout[j] = gh * a * (o * ((T)1 - o));                                            \
            di[j] = dct * g * (i * ((T)1 - i));                                             \
            df[j] = dct * cp[j] * (f * ((T)1 - f));                                         \
            dg[j] = dct * i * ((T)1 - g * g);                                               \
            dc[j] = dct * f;                                                                \
            dh[j] = 0;                                                                      \
        }                                                                                   \
    }
    RC_LSTM_ROWS(float, f_any, rc_sigmoidf, rc_tanhf)
    RC_LSTM_ROWS(double, d, rc_sigmoid, tanh)
    #define rc_lstm_bwd_f rc_lstm_bwd_f_any
    /* the float forward row eight units at a time where the machine has AVX2 and FMA */
    static inline void rc_lstm_fwd_f(
            float *restrict gi, float *restrict gf, float *restrict gg, float *restrict go,
            const float *restrict cp, float *restrict cn, float *restrict tc,
            float *restrict hn, long n) {
        long j = 0;
    #ifdef RC_HAVE_V8
        for (; j + 8 <= n; j += 8) {
            __m256 i = rc_sigmoid8(_mm256_loadu_ps(gi + j));
            __m256 f = rc_sigmoid8(_mm256_loadu_ps(gf + j));
            __m256 g = rc_tanh8(_mm256_loadu_ps(gg + j));
            __m256 o = rc_sigmoid8(_mm256_loadu_ps(go + j));
            __m256 c = _mm256_fmadd_ps(f, _mm256_loadu_ps(cp + j), _mm256_mul_ps(i, g));
            __m256 a = rc_tanh8(c);
            _mm256_storeu_ps(gi + j, i); _mm256_storeu_ps(gf + j, f);
            _mm256_storeu_ps(gg + j, g); _mm256_storeu_ps(go + j, o);
            _mm256_storeu_ps(cn + j, c); _mm256_storeu_ps(tc + j, a);
            _mm256_storeu_ps(hn + j, _mm256_mul_ps(o, a));
        }
    #endif
        rc_lstm_fwd_f_any(gi + j, gf + j, gg + j, go + j, cp + j, cn + j, tc + j, hn + j, n - j);
    }
    /* nrows consecutive rows of one step (z rows 4n apart, state rows n apart), two rows at a
       time where n is a multiple of 8: the two rows' chains exp -> c -> tanh(c) -> h are
       independent, and side by side the processor overlaps them (four at a time measured the
       same). */
    #define RC_ROWS 2
    static inline void rc_lstm_fwd_rows_f(float *restrict z, const float *restrict cp,
                                          float *restrict cn, float *restrict tc,
                                          float *restrict hn, long n, long nrows) {
        long b = 0;
    #ifdef RC_HAVE_V8
        if (n % 8 == 0) {
            for (; b + RC_ROWS <= nrows; b += RC_ROWS) {
                for (long j = 0; j < n; j += 8) {
                    __m256 i[RC_ROWS], f[RC_ROWS], g[RC_ROWS], o[RC_ROWS], c[RC_ROWS], a[RC_ROWS];
                    #pragma GCC unroll 8
                    for (int r = 0; r < RC_ROWS; r++) {
                        float *zr = z + (b + r) * 4 * n + j;
                        i[r] = rc_sigmoid8(_mm256_loadu_ps(zr));
                        f[r] = rc_sigmoid8(_mm256_loadu_ps(zr + n));
                        g[r] = rc_tanh8(_mm256_loadu_ps(zr + 2 * n));
                        o[r] = rc_sigmoid8(_mm256_loadu_ps(zr + 3 * n));
                    }
                    #pragma GCC unroll 8
                    for (int r = 0; r < RC_ROWS; r++)
                        c[r] = _mm256_fmadd_ps(f[r], _mm256_loadu_ps(cp + (b + r) * n + j),
                                               _mm256_mul_ps(i[r], g[r]));
                    #pragma GCC unroll 8
                    for (int r = 0; r < RC_ROWS; r++) a[r] = rc_tanh8(c[r]);
                    #pragma GCC unroll 8
                    for (int r = 0; r < RC_ROWS; r++) {
                        float *zr = z + (b + r) * 4 * n + j;
                        long sr = (b + r) * n + j;
                        _mm256_storeu_ps(zr, i[r]); _mm256_storeu_ps(zr + n, f[r]);
                        _mm256_storeu_ps(zr + 2 * n, g[r]); _mm256_storeu_ps(zr + 3 * n, o[r]);
                        _mm256_storeu_ps(cn + sr, c[r]); _mm256_storeu_ps(tc + sr, a[r]);
                        _mm256_storeu_ps(hn + sr, _mm256_mul_ps(o[r], a[r]));
                    }
                }
            }
        }
    #endif
        for (; b < nrows; b++) {
            float *zr = z + b * 4 * n;
            rc_lstm_fwd_f(zr, zr + n, zr + 2 * n, zr + 3 * n, cp + b * n, cn + b * n,
                          tc + b * n, hn + b * n, n);
        }
    }
    static inline void rc_lstm_fwd_rows_d(double *restrict z, const double *restrict cp,
                                          double *restrict cn, double *restrict tc,
                                          double *restrict hn, long n, long nrows) {
        for (long b = 0; b < nrows; b++) {
            double *zr = z + b * 4 * n;
            rc_lstm_fwd_d(zr, zr + n, zr + 2 * n, zr + 3 * n, cp + b * n, cn + b * n,
                          tc + b * n, hn + b * n, n);
        }
    }
    """
    void rc_lstm_fwd_rows_f(float* z, const float* cp, float* cn, float* tc, float* hn, long n,
                            long nrows) noexcept nogil
    void rc_lstm_fwd_rows_d(double* z, const double* cp, double* cn, double* tc, double* hn,
                            long n, long nrows) noexcept nogil
    void rc_lstm_fwd_f(float* gi, float* gf, float* gg, float* go, const float* cp, float* cn,
                       float* tc, float* hn, long n) noexcept nogil
    void rc_lstm_fwd_d(double* gi, double* gf, double* gg, double* go, const double* cp,
                       double* cn, double* tc, double* hn, long n) noexcept nogil
    void rc_lstm_bwd_f(const float* gi, const float* gf, const float* gg, const float* go,
                       const float* cp, const float* tc, const float* dhs, float* dh,
                       float* dc, float* di, float* df, float* dg, float* dout,
                       long n) noexcept nogil
    void rc_lstm_bwd_d(const double* gi, const double* gf, const double* gg,
                       const double* go, const double* cp, const double* tc,
                       const double* dhs, double* dh, double* dc, double* di, double* df,
                       double* dg, double* dout, long n) noexcept nogil


cdef inline void _fwd_row(floating* zr, long gs, const floating* cp, floating* cn,
                          floating* tc, floating* hn, long n) noexcept nogil:
    """Default activations: gates of the row at zr (gate blocks gs apart) in place, c_t, act(c_t)
    and h_t, for n units."""
    if floating is float:
        rc_lstm_fwd_f(zr, zr + gs, zr + 2 * gs, zr + 3 * gs, cp, cn, tc, hn, n)
    else:
        rc_lstm_fwd_d(zr, zr + gs, zr + 2 * gs, zr + 3 * gs, cp, cn, tc, hn, n)


cdef inline void _bwd_row(const floating* zr, long gs, const floating* cp, const floating* tc,
                          const floating* dhs, floating* dh, floating* dc, floating* dzr,
                          long n) noexcept nogil:
    """Default activations: one unmasked row of the backward pass (dzr laid out like zr)."""
    if floating is float:
        rc_lstm_bwd_f(zr, zr + gs, zr + 2 * gs, zr + 3 * gs, cp, tc, dhs, dh, dc, dzr,
                      dzr + gs, dzr + 2 * gs, dzr + 3 * gs, n)
    else:
        rc_lstm_bwd_d(zr, zr + gs, zr + 2 * gs, zr + 3 * gs, cp, tc, dhs, dh, dc, dzr,
                      dzr + gs, dzr + 2 * gs, dzr + 3 * gs, n)


cdef inline void _mul(floating* out, const floating* a, const floating* b,
                      long n) noexcept nogil:
    """out[:n] = a[:n] * b[:n]. One store stream per loop, so the compiler vectorises it (with a
    run-time overlap check) even for the short runs of a row."""
    cdef long j
    for j in range(n):
        out[j] = a[j] * b[j]


cdef inline void _cell(floating* c, const floating* i, const floating* f, const floating* g,
                       const floating* c_prev, long n) noexcept nogil:
    """c = f * c_prev + i * g"""
    cdef long j
    for j in range(n):
        c[j] = f[j] * c_prev[j] + i[j] * g[j]


cdef void _forward_block(floating* z, const floating* U, const floating* Upk, floating* hs,
                         floating* cs, floating* tc, const floating* rmask, int n_rmask,
                         floating* hm, const unsigned char* smask, int T, int B, int H, int b0,
                         int b1, int act, int ract) noexcept nogil:
    """The whole forward loop for batch rows b0:b1. Upk: U packed (see _blas.pack), or NULL."""
    cdef long nb = b1 - b0
    cdef long G4 = 4 * H
    cdef long t, b, j, g
    cdef floating* zt
    cdef floating* zr
    cdef floating* hprev
    cdef floating* hnext
    cdef floating* cprev
    cdef floating* cnext
    cdef floating* tct
    cdef floating* hin
    cdef const floating* mg
    cdef bint fast = act == RC_TANH and ract == RC_SIGMOID   # Keras's defaults
    for t in range(T):
        zt = z + (t * B + b0) * G4
        hprev = hs + (t * B + b0) * H
        hnext = hs + ((t + 1) * B + b0) * H
        cprev = cs + (t * B + b0) * H
        cnext = cs + ((t + 1) * B + b0) * H
        tct = tc + (t * B + b0) * H
        if rmask == NULL:
            # z[t] += h[t-1] @ U
            gemm_packed(False, nb, G4, H, hprev, H, Upk, U, G4, <floating> 1, zt, G4)
        else:
            for g in range(n_rmask):
                # hm[g, t] = h[t-1] * rec_mask[g]
                hin = hm + ((g * T + t) * B + b0) * H
                mg = rmask + (g * B + b0) * H
                for j in range(nb * H):
                    hin[j] = hprev[j] * mg[j]
                if n_rmask == 1:
                    # z[t] += hm[0, t] @ U
                    gemm_packed(False, nb, G4, H, hin, H, Upk, U, G4, <floating> 1, zt, G4)
                else:
                    # z[t][:, gate g] += hm[g, t] @ U[:, gate g]
                    gemm(False, False, nb, H, H, <floating> 1, hin, H, U + g * H, G4,
                         <floating> 1, zt + g * H, G4)
        if fast:
            if floating is float:
                rc_lstm_fwd_rows_f(zt, cprev, cnext, tct, hnext, H, nb)
            else:
                rc_lstm_fwd_rows_d(zt, cprev, cnext, tct, hnext, H, nb)
        else:
            for b in range(nb):
                zr = zt + b * G4
                activate(zr, 2 * H, ract)          # i and f are adjacent
                activate(zr + 2 * H, H, act)
                activate(zr + 3 * H, H, ract)
                _cell(cnext + b * H, zr, zr + H, zr + 2 * H, cprev + b * H, H)
            # act(c_t) over the block's rows as one contiguous run
            memcpy(tct, cnext, nb * H * sizeof(floating))
            activate(tct, nb * H, act)
            for b in range(nb):
                # h_t = o * act(c_t)
                _mul(hnext + b * H, zt + b * G4 + 3 * H, tct + b * H, H)
        if smask != NULL:
            # masked rows carry both states over
            for b in range(nb):
                if not smask[t * B + b0 + b]:
                    memcpy(hnext + b * H, hprev + b * H, H * sizeof(floating))
                    memcpy(cnext + b * H, cprev + b * H, H * sizeof(floating))


cdef void _backward_rows(const floating* zt, floating* dzt, const floating* tct,
                         const floating* cprev, const floating* dhst, floating* dhb,
                         floating* dcb, floating* s0, const unsigned char* smask, long srow,
                         long nb, long H, int act, int ract) noexcept nogil:
    """The elementwise backward pass of one step for any activations, nb rows, in separate
    passes (s0: scratch of nb·H). smask, when not NULL, is read at srow + b."""
    cdef long G4 = 4 * H
    cdef long b, j
    cdef const floating* zr
    cdef const floating* dcr
    cdef floating* dzr
    # dh becomes gh, the whole gradient reaching h_t
    for j in range(nb * H):
        dhb[j] += dhst[j]
    for b in range(nb):
        zr = zt + b * G4
        dzr = dzt + b * G4
        _mul(dzr + 3 * H, dhb + b * H, tct + b * H, H)      # dL/do
        _mul(s0 + b * H, dhb + b * H, zr + 3 * H, H)        # dL/d act(c_t)
    grad_from_output(tct, s0, nb * H, act)
    for j in range(nb * H):
        s0[j] += dcb[j]                                     # dL/dc_t
    for b in range(nb):
        dzr = dzt + b * G4
        if smask != NULL and not smask[srow + b]:
            # a masked step passes dh and dc straight to the previous step
            memset(dzr, 0, G4 * sizeof(floating))
            continue
        zr = zt + b * G4
        dcr = s0 + b * H
        _mul(dzr, dcr, zr + 2 * H, H)                       # dL/di
        _mul(dzr + H, dcr, cprev + b * H, H)                # dL/df
        _mul(dzr + 2 * H, dcr, zr, H)                       # dL/dg
        _mul(dcb + b * H, dcr, zr + H, H)                   # dL/dc_{t-1}
        memset(dhb + b * H, 0, H * sizeof(floating))
        grad_from_output(zr, dzr, 2 * H, ract)
        grad_from_output(zr + 2 * H, dzr + 2 * H, H, act)
        grad_from_output(zr + 3 * H, dzr + 3 * H, H, ract)


cdef void _backward_block(const floating* dhs, const floating* z, const floating* cs,
                          const floating* tc, const floating* UT, const floating* UTpk,
                          const floating* rmask, int n_rmask, const unsigned char* smask, int T,
                          int B, int H, int steps, floating* dh, floating* dc, floating* dz,
                          floating* tmp, int b0, int b1, int act, int ract) noexcept nogil:
    """The whole backward loop for batch rows b0:b1. UT = Uᵀ; UTpk: UT packed, or NULL."""
    cdef long nb = b1 - b0
    cdef long G4 = 4 * H
    cdef long t, b, j, g
    cdef long t_stop = T - steps
    cdef floating* dhb = dh + b0 * H
    cdef floating* dcb = dc + b0 * H
    cdef floating* s0 = tmp + b0 * H          # gh ⊙ o ⊙ act'(c_t), then dL/dc_t
    cdef floating* s1 = tmp + (B + b0) * H    # one gate's dz·Uᵀ before the dropout mask
    cdef const floating* zt
    cdef const floating* tct
    cdef const floating* cprev
    cdef const floating* dhst
    cdef const floating* mg
    cdef floating* dzt
    cdef bint fast = act == RC_TANH and ract == RC_SIGMOID
    for t in range(T - 1, t_stop - 1, -1):
        zt = z + (t * B + b0) * G4
        dzt = dz + (t * B + b0) * G4
        tct = tc + (t * B + b0) * H
        cprev = cs + (t * B + b0) * H
        dhst = dhs + (t * B + b0) * H
        if fast:
            for b in range(nb):
                if smask != NULL and not smask[t * B + b0 + b]:
                    # a masked step passes dh (now gh) and dc straight to the previous step
                    for j in range(H):
                        dhb[b * H + j] += dhst[b * H + j]
                    memset(dzt + b * G4, 0, G4 * sizeof(floating))
                else:
                    _bwd_row(zt + b * G4, H, cprev + b * H, tct + b * H, dhst + b * H,
                             dhb + b * H, dcb + b * H, dzt + b * G4, H)
        else:
            _backward_rows(zt, dzt, tct, cprev, dhst, dhb, dcb, s0, smask, t * B + b0, nb, H,
                           act, ract)
        if t == t_stop and t_stop > 0:
            break  # the window's first step: nothing flows further back
        if rmask == NULL:
            # dh[t-1] += dz[t] @ U.T
            gemm_packed(False, nb, H, G4, dzt, G4, UTpk, UT, H, <floating> 1, dhb, H)
        elif n_rmask == 1:
            # dh[t-1] += (dz[t] @ U.T) * rec_mask[0]
            gemm_packed(False, nb, H, G4, dzt, G4, UTpk, UT, H, <floating> 0, s1, H)
            for j in range(nb * H):
                dhb[j] += s1[j] * rmask[b0 * H + j]
        else:
            for g in range(n_rmask):
                # dh[t-1] += (dz[t][:, gate g] @ U[:, gate g].T) * rec_mask[g]
                gemm(False, False, nb, H, H, <floating> 1, dzt + g * H, G4, UT + g * H * H, H,
                     <floating> 0, s1, H)
                mg = rmask + (g * B + b0) * H
                for j in range(nb * H):
                    dhb[j] += s1[j] * mg[j]
    if t_stop > 0:
        memset(dhb, 0, nb * H * sizeof(floating))
        memset(dcb, 0, nb * H * sizeof(floating))


cdef void _forward_units(floating* z, const floating* U, floating* hs, floating* cs,
                         floating* tc, const floating* rmask, int n_rmask, floating* hm,
                         const unsigned char* smask, int T, int B, int H,
                         int act, int ract) noexcept nogil:
    """The whole forward loop for this thread's block of hidden units, inside a parallel
    region: rows are whole, columns are the block's slice of each gate."""
    cdef int nth = rc_team_size(), p = rc_thread_num()
    cdef long u0 = block_start(p, nth, H), nu = block_start(p + 1, nth, H) - u0
    cdef long G4 = 4 * H
    cdef long t, b, g, r
    cdef floating* zt
    cdef floating* zr
    cdef floating* tcr
    cdef const floating* hin
    cdef bint fast = act == RC_TANH and ract == RC_SIGMOID
    # this thread's columns of each gate of U, packed (NULL: read in place)
    cdef floating* Upk[4]
    for g in range(4):
        Upk[g] = pack(H, nu, U + g * H + u0, G4, False) if nu > 0 else NULL
    for t in range(T):
        zt = z + t * B * G4
        if rmask != NULL:
            for g in range(n_rmask):
                for b in range(B):
                    # hm[g, t] = h[t-1] * rec_mask[g], this block's units
                    r = b * H + u0
                    _mul(hm + (g * T + t) * B * H + r, hs + t * B * H + r,
                         rmask + g * B * H + r, nu)
            rc_barrier()
        for g in range(4 if nu > 0 else 0):
            hin = hs + t * B * H
            if rmask != NULL:
                hin = hm + ((g if n_rmask > 1 else 0) * T + t) * B * H
            # z[t][:, gate g, units] += hin @ U[:, gate g, units]
            gemm_packed(False, B, nu, H, hin, H, Upk[g], U + g * H + u0, G4, <floating> 1,
                        zt + g * H + u0, G4)
        for b in range(B if nu > 0 else 0):
            zr = zt + b * G4 + u0
            r = b * H + u0
            tcr = tc + t * B * H + r
            if fast:
                _fwd_row(zr, H, cs + t * B * H + r, cs + (t + 1) * B * H + r, tcr,
                         hs + (t + 1) * B * H + r, nu)
            else:
                activate(zr, nu, ract)
                activate(zr + H, nu, ract)
                activate(zr + 2 * H, nu, act)
                activate(zr + 3 * H, nu, ract)
                _cell(cs + (t + 1) * B * H + r, zr, zr + H, zr + 2 * H, cs + t * B * H + r, nu)
                memcpy(tcr, cs + (t + 1) * B * H + r, nu * sizeof(floating))
                activate(tcr, nu, act)
                _mul(hs + (t + 1) * B * H + r, zr + 3 * H, tcr, nu)
            if smask != NULL and not smask[t * B + b]:
                memcpy(hs + (t + 1) * B * H + r, hs + t * B * H + r, nu * sizeof(floating))
                memcpy(cs + (t + 1) * B * H + r, cs + t * B * H + r, nu * sizeof(floating))
        rc_barrier()  # h_t complete before any thread's next product
    for g in range(4):
        free(Upk[g])


cdef void _backward_units(const floating* dhs, const floating* z, const floating* cs,
                          const floating* tc, const floating* U, const floating* rmask,
                          int n_rmask, const unsigned char* smask, int T, int B, int H,
                          int steps, floating* dh, floating* dc, floating* dz, floating* tmp,
                          int act, int ract) noexcept nogil:
    """The whole backward loop for this thread's block of hidden units: the elementwise pass of
    its units, a barrier (dz_t complete), then its units' columns of dh_{t-1} = dz_t·Uᵀ."""
    cdef int nth = rc_team_size(), p = rc_thread_num()
    cdef long u0 = block_start(p, nth, H), nu = block_start(p + 1, nth, H) - u0
    cdef long G4 = 4 * H
    cdef long t, b, g, r, j
    cdef long t_stop = T - steps
    cdef floating* s0 = tmp                   # as in _backward_block
    cdef floating* s1 = tmp + B * H
    cdef const floating* zr
    cdef const floating* mg
    cdef floating* dzt
    cdef floating* dzr
    cdef bint fast = act == RC_TANH and ract == RC_SIGMOID
    # this thread's units' rows of U, transposed and packed (NULL: read in place)
    cdef floating* UTpk = pack(G4, nu, U + u0 * G4, G4, True) if nu > 0 else NULL
    for t in range(T - 1, t_stop - 1, -1):
        dzt = dz + t * B * G4
        for b in range(B if nu > 0 else 0):
            r = b * H + u0
            zr = z + t * B * G4 + b * G4 + u0
            dzr = dzt + b * G4 + u0
            if fast and (smask == NULL or smask[t * B + b]):
                _bwd_row(zr, H, cs + t * B * H + r, tc + t * B * H + r, dhs + t * B * H + r,
                         dh + r, dc + r, dzr, nu)
                continue
            for j in range(nu):
                dh[r + j] += dhs[t * B * H + r + j]
            _mul(dzr + 3 * H, dh + r, tc + t * B * H + r, nu)      # dL/do
            _mul(s0 + r, dh + r, zr + 3 * H, nu)                   # dL/d act(c_t)
            grad_from_output(tc + t * B * H + r, s0 + r, nu, act)
            if smask != NULL and not smask[t * B + b]:
                for g in range(4):
                    memset(dzr + g * H, 0, nu * sizeof(floating))
                continue
            for j in range(nu):
                s0[r + j] += dc[r + j]                             # dL/dc_t
            _mul(dzr, s0 + r, zr + 2 * H, nu)                      # dL/di
            _mul(dzr + H, s0 + r, cs + t * B * H + r, nu)          # dL/df
            _mul(dzr + 2 * H, s0 + r, zr, nu)                      # dL/dg
            _mul(dc + r, s0 + r, zr + H, nu)                       # dL/dc_{t-1}
            memset(dh + r, 0, nu * sizeof(floating))
            grad_from_output(zr, dzr, nu, ract)
            grad_from_output(zr + H, dzr + H, nu, ract)
            grad_from_output(zr + 2 * H, dzr + 2 * H, nu, act)
            grad_from_output(zr + 3 * H, dzr + 3 * H, nu, ract)
        rc_barrier()  # dz_t complete before any thread's product with it
        if t == t_stop and t_stop > 0:
            break
        if nu == 0:
            continue
        if rmask == NULL:
            # dh[t-1][:, units] += dz[t] @ U[units, :].T
            gemm_packed(True, B, nu, G4, dzt, G4, UTpk, U + u0 * G4, G4, <floating> 1,
                        dh + u0, H)
        else:
            for g in range(n_rmask):
                if n_rmask == 1:
                    gemm_packed(True, B, nu, G4, dzt, G4, UTpk, U + u0 * G4, G4, <floating> 0,
                                s1 + u0, H)
                else:
                    gemm(False, True, B, nu, H, <floating> 1, dzt + g * H, G4,
                         U + u0 * G4 + g * H, G4, <floating> 0, s1 + u0, H)
                # dh[t-1][:, units] += (that product) * rec_mask[g]
                mg = rmask + g * B * H
                for b in range(B):
                    r = b * H + u0
                    for j in range(nu):
                        dh[r + j] += s1[r + j] * mg[r + j]
    free(UTpk)
    if t_stop > 0:
        for b in range(B):
            memset(dh + b * H + u0, 0, nu * sizeof(floating))
            memset(dc + b * H + u0, 0, nu * sizeof(floating))


def forward(floating[:, :, ::1] z,                  # IN-OUT (T, B, 4H): x·W + b in, gates out
            const floating[:, ::1] U,               # IN (H, 4H) recurrent kernel
            floating[:, :, ::1] hs,                 # IN-OUT (T+1, B, H): hs[0] = h0 in, hs[1:] out
            floating[:, :, ::1] cs,                 # IN-OUT (T+1, B, H): cs[0] = c0 in, cs[1:] out
            floating[:, :, ::1] tc,                 # OUT (T, B, H): act(c_t) before the step mask
            const floating[:, :, ::1] rec_mask,     # IN (1 or 4, B, H), or (0, 0, 0) for none
            floating[:, :, :, ::1] hm,              # OUT (1|4, T, B, H): masked h_{t-1}, or 0-size
            const unsigned char[:, ::1] step_mask,  # IN (T, B), 1 = step is used; or (0, 0)
            int activation,                         # IN act code (see _fastmath.h)
            int recurrent_activation,               # IN ract code
            int n_threads=1,
            bint unit_blocks=False):                # IN split the threads by hidden units
    """Run the LSTM recurrence over a whole sequence in place. See the module docstring."""
    cdef int T = z.shape[0], B = z.shape[1], H = U.shape[0]
    if T == 0 or B == 0:
        return
    cdef floating* zp = &z[0, 0, 0]
    cdef floating* hsp = &hs[0, 0, 0]
    cdef floating* csp = &cs[0, 0, 0]
    cdef floating* tcp = &tc[0, 0, 0]
    cdef const floating* Up = &U[0, 0]
    cdef int n_rmask = rec_mask.shape[0]
    cdef const floating* rmp = &rec_mask[0, 0, 0] if n_rmask > 0 else NULL
    cdef floating* hmp = &hm[0, 0, 0, 0] if n_rmask > 0 else NULL
    cdef const unsigned char* smp = &step_mask[0, 0] if step_mask.shape[0] > 0 else NULL
    cdef int nblk = n_blocks(B, n_threads), blk
    cdef int nunits = n_blocks(H, n_threads)
    cdef floating* Upk = NULL
    if unit_blocks and nunits > 1:
        with nogil, parallel(num_threads=nunits):
            _forward_units(zp, Up, hsp, csp, tcp, rmp, n_rmask, hmp, smp, T, B, H,
                           activation, recurrent_activation)
        return
    if n_rmask <= 1:
        with nogil:
            Upk = pack(H, 4 * H, Up, 4 * H, False)
    try:
        if nblk == 1:
            with nogil:
                _forward_block(zp, Up, Upk, hsp, csp, tcp, rmp, n_rmask, hmp, smp, T, B, H,
                               0, B, activation, recurrent_activation)
        else:
            for blk in prange(nblk, nogil=True, num_threads=nblk, schedule="static"):
                _forward_block(zp, Up, Upk, hsp, csp, tcp, rmp, n_rmask, hmp, smp, T, B, H,
                               block_start(blk, nblk, B), block_start(blk + 1, nblk, B),
                               activation, recurrent_activation)
    finally:
        free(Upk)


def backward(const floating[:, :, ::1] dhs,         # IN (T, B, H): dL/d(output at step t)
             const floating[:, :, ::1] z,           # IN (T, B, 4H): forward's gates i, f, g, o
             const floating[:, :, ::1] cs,          # IN (T+1, B, H): forward's cell states
             const floating[:, :, ::1] tc,          # IN (T, B, H): forward's act(c_t)
             const floating[:, ::1] U,              # IN (H, 4H)
             const floating[:, :, ::1] rec_mask,    # IN (1 or 4, B, H) or (0, 0, 0)
             const unsigned char[:, ::1] step_mask, # IN (T, B) or (0, 0)
             int steps,                             # IN BPTT window: the last `steps` steps
             floating[:, ::1] dh,                   # IN-OUT (B, H): dL/dh_T in, dL/dh0 out
             floating[:, ::1] dc,                   # IN-OUT (B, H): dL/dc_T in, dL/dc0 out
             floating[:, :, ::1] dz,                # OUT (T, B, 4H) dL/dz_t; before T-steps: kept
             floating[:, :, ::1] tmp,               # scratch (2, B, H)
             int activation,
             int recurrent_activation,
             int n_threads=1,
             bint unit_blocks=False):
    """Backpropagate through the last `steps` steps. With steps < T, dh0 and dc0 come out zero."""
    cdef int T = z.shape[0], B = z.shape[1], H = U.shape[0]
    if T == 0 or B == 0:
        return
    if steps > T or steps < 0:
        steps = T
    cdef int n_rmask = rec_mask.shape[0]
    cdef const floating* rmp = &rec_mask[0, 0, 0] if n_rmask > 0 else NULL
    cdef const unsigned char* smp = &step_mask[0, 0] if step_mask.shape[0] > 0 else NULL
    cdef const floating* dhsp = &dhs[0, 0, 0]
    cdef const floating* zp = &z[0, 0, 0]
    cdef const floating* csp = &cs[0, 0, 0]
    cdef const floating* tcp = &tc[0, 0, 0]
    cdef const floating* Up = &U[0, 0]
    cdef floating* dhp = &dh[0, 0]
    cdef floating* dcp = &dc[0, 0]
    cdef floating* dzp = &dz[0, 0, 0]
    cdef floating* tmpp = &tmp[0, 0, 0]
    cdef int nblk = n_blocks(B, n_threads), blk
    cdef int nunits = n_blocks(H, n_threads)
    cdef floating* UTp
    if unit_blocks and nunits > 1:
        with nogil, parallel(num_threads=nunits):
            _backward_units(dhsp, zp, csp, tcp, Up, rmp, n_rmask, smp, T, B, H, steps,
                            dhp, dcp, dzp, tmpp, activation, recurrent_activation)
        return
    UTp = <floating*> malloc(4 * H * H * sizeof(floating) if H else 1)
    if UTp == NULL:
        raise MemoryError(f"lstm backward: no room for the ({4 * H}, {H}) transposed kernel")
    cdef floating* UTpk = NULL
    try:
        with nogil:
            transpose_into(Up, H, 4 * H, UTp)
            if n_rmask <= 1:
                UTpk = pack(4 * H, H, UTp, H, False)
        if nblk == 1:
            with nogil:
                _backward_block(dhsp, zp, csp, tcp, UTp, UTpk, rmp, n_rmask, smp, T, B, H,
                                steps, dhp, dcp, dzp, tmpp, 0, B, activation,
                                recurrent_activation)
        else:
            for blk in prange(nblk, nogil=True, num_threads=nblk, schedule="static"):
                _backward_block(dhsp, zp, csp, tcp, UTp, UTpk, rmp, n_rmask, smp, T, B, H,
                                steps, dhp, dcp, dzp, tmpp, block_start(blk, nblk, B),
                                block_start(blk + 1, nblk, B), activation,
                                recurrent_activation)
    finally:
        free(UTp)
        free(UTpk)
