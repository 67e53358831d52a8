/* rnncore's own single-precision products, for the shapes where a BLAS call costs more than
 * the arithmetic or reads b badly: the recurrent kernels' per-step products h_{t-1}·U and
 * dz·Uᵀ, and the hoisted products of layers with a few inputs and units. _blas.pyx calls these
 * first and falls back to BLAS when one returns 0 ("not taken").
 *
 * Every sum runs over k in order, one fused multiply-add per term, as OpenBLAS's kernels do:
 * each element of c gets the same bits from every loop here (packed or not, any block shape,
 * k in one pass or in chunks), so the kernels' paths agree with one another exactly.
 *
 * Compiled once per ISA variant (setup.py): with AVX2/FMA (RC_HAVE_V8, from _fastmath.h) the
 * loops work on 8-float vectors; without it every function returns 0 and BLAS does the work.
 */
#ifndef RNNCORE_GEMM_H
#define RNNCORE_GEMM_H

#include "_fastmath.h"

/* ---- tuning constants: each named once, with the reason for its value ---- */

/* The small-product loop copies a transposed b onto the stack and keeps b in L1: at most this
 * many floats (4 KB). The seeds' per-step U (8x32 for LSTM(8)) and the hoisted W of a few
 * inputs (16x32) fit with room to spare. */
#define RC_SMALL_B 1024
/* ... and k at most this: longer sums go to the packed loop or BLAS, whose blocking of k
 * keeps a in L1 where this loop's rows of a (k floats each, 8 rows per block) would not. */
#define RC_SMALL_K 32
/* The mid-size loop reads b in place, at most RC_MID_B floats (256 KB, half of L2: b stays
 * there between the steps of a sequence), for at most RC_MID_M rows of c (a whole batch of
 * 512 rows per call; larger m is a hoisted product, where BLAS's packing pays for itself). */
#define RC_MID_B 65536
#define RC_MID_M 512
/* The weight gradients aᵀ·b of a few units (k = T·B rows, c at most RC_TN_M x RC_TN_N):
 * k is taken in chunks of RC_TN_CHUNK rows, so that a chunk of b (128 rows of 32 floats,
 * 16 KB) stays in L1 while every block of rows of c passes over it. Below RC_TN_MIN_K rows
 * BLAS's call overhead is small and it is left to BLAS; wider c: OpenBLAS is faster
 * (6400x8ᵀ·6400x32: 47 us here against 66 us in OpenBLAS; 6400x64ᵀ·6400x64: OpenBLAS). */
#define RC_TN_CHUNK 128
#define RC_TN_M 16
#define RC_TN_N 32
#define RC_TN_MIN_K 64
/* Packed b (rc_pack_b): columns in panels this wide, each panel's k rows one after another,
 * so that a block of c reads its part of b as one stream (two 8-float vectors a row). */
#define RC_PANEL 16

#ifdef RC_HAVE_V8
/* The micro-kernel of the loops below: c (+)= a·b on a block of MR rows by NV vectors of
   c, the sums in registers over rows k0:k1 of b. Row r of the block reads a at
   a + r * a_row + p * a_col: a_row = lda, a_col = 1 for a·b, and a_row = 1, a_col = lda for
   aᵀ·b. load_c starts the sums from c (a product taken in chunks of k); add_c adds c to
   them at the end (c += a·b, BLAS's order); neither: c = a·b. */
#define RC_BLOCK(MR, NV)                                                                    \
static inline void rc_block_##MR##_##NV(long k0, long k1, const float *a, long a_row,      \
                                        long a_col, const float *b, long ldb,              \
                                        int load_c, int add_c, float *c, long ldc) {       \
    __m256 acc[MR][NV];                                                                    \
    _Pragma("GCC unroll 16")                                                               \
    for (int r = 0; r < MR; r++)                                                           \
        _Pragma("GCC unroll 4")                                                            \
        for (int v = 0; v < NV; v++)                                                       \
            acc[r][v] = load_c ? _mm256_loadu_ps(c + r * ldc + 8 * v) : _mm256_setzero_ps(); \
    for (long p = k0; p < k1; p++) {                                                       \
        __m256 bv[NV];                                                                     \
        _Pragma("GCC unroll 4")                                                            \
        for (int v = 0; v < NV; v++) bv[v] = _mm256_loadu_ps(b + p * ldb + 8 * v);        \
        _Pragma("GCC unroll 16")                                                           \
        for (int r = 0; r < MR; r++) {                                                     \
            __m256 av = _mm256_broadcast_ss(a + r * a_row + p * a_col);                    \
            _Pragma("GCC unroll 4")                                                        \
            for (int v = 0; v < NV; v++) acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]); \
        }                                                                                  \
    }                                                                                      \
    _Pragma("GCC unroll 16")                                                               \
    for (int r = 0; r < MR; r++)                                                           \
        _Pragma("GCC unroll 4")                                                            \
        for (int v = 0; v < NV; v++) {                                                     \
            float *cr = c + r * ldc + 8 * v;                                               \
            _mm256_storeu_ps(cr, add_c ? _mm256_add_ps(acc[r][v], _mm256_loadu_ps(cr))     \
                                       : acc[r][v]);                                       \
        }                                                                                  \
}
/* at most 15 of the 16 vector registers: MR·NV sums, NV vectors of b, one of a */
RC_BLOCK(6, 2)
RC_BLOCK(4, 2)
RC_BLOCK(2, 2)
RC_BLOCK(1, 2)
RC_BLOCK(12, 1)
RC_BLOCK(8, 1)
RC_BLOCK(6, 1)
RC_BLOCK(4, 1)
RC_BLOCK(2, 1)
RC_BLOCK(1, 1)
/* The plain products' blocks: 6, 4, 2 or 1 rows (the most that `rest` rows allow) by
   two vectors of c (wide) or one, c (+)= a·b over k, b's rows ldb apart. */
static inline long rc_rows_of(long rest) {
    return rest >= 6 ? 6 : rest >= 4 ? 4 : rest >= 2 ? 2 : 1;
}
static inline void rc_block_rows(long mr, int wide, long k, const float *a, long lda,
                                 const float *b, long ldb, int add, float *c, long ldc) {
    if (wide) {
        if (mr == 6) rc_block_6_2(0, k, a, lda, 1, b, ldb, 0, add, c, ldc);
        else if (mr == 4) rc_block_4_2(0, k, a, lda, 1, b, ldb, 0, add, c, ldc);
        else if (mr == 2) rc_block_2_2(0, k, a, lda, 1, b, ldb, 0, add, c, ldc);
        else rc_block_1_2(0, k, a, lda, 1, b, ldb, 0, add, c, ldc);
    } else {
        if (mr == 6) rc_block_6_1(0, k, a, lda, 1, b, ldb, 0, add, c, ldc);
        else if (mr == 4) rc_block_4_1(0, k, a, lda, 1, b, ldb, 0, add, c, ldc);
        else if (mr == 2) rc_block_2_1(0, k, a, lda, 1, b, ldb, 0, add, c, ldc);
        else rc_block_1_1(0, k, a, lda, 1, b, ldb, 0, add, c, ldc);
    }
}
#endif  /* RC_HAVE_V8 */

/* The per-step products of mid-size layers (h_{t-1}·U is 32x64 by 64x256 per thread for
   LSTM(64)): OpenBLAS packs b at every call, a quarter of its time at these sizes. Here
   blocks of 6 rows by 16 columns of c, b read in place (it stays in L2 between steps).
   float with AVX2/FMA, no transposes, n a multiple of 8, m at most RC_MID_M, b at most
   RC_MID_B floats; 1 when done, 0 when not taken. */
static inline int rc_sgemm_mid(long m, long n, long k, const float *a, long lda,
                               const float *b, long ldb, float beta, float *c, long ldc) {
#ifdef RC_HAVE_V8
    if (m > RC_MID_M || n % 8 != 0 || n * k > RC_MID_B || (beta != 0.0f && beta != 1.0f))
        return 0;
    int add = beta != 0.0f;
    for (long i = 0; i < m;) {
        long mr = rc_rows_of(m - i);
        for (long j = 0; j < n; j += 16)
            rc_block_rows(mr, n - j >= 16, k, a + i * lda, lda, b + j, ldb, add,
                          c + i * ldc + j, ldc);
        i += mr;
    }
    return 1;
#else
    return 0;
#endif
}

/* whether rc_sgemm_packed takes products with a (k, n) b: AVX2/FMA, n a multiple of 8,
   and b too big for rc_sgemm_small's loop (which beats it there) */
static inline int rc_packs(long k, long n) {
#ifdef RC_HAVE_V8
    return n % 8 == 0 && n > 0 && k > 0 && (n * k > RC_SMALL_B || k > RC_SMALL_K);
#else
    return 0;
#endif
}
/* floats rc_pack_b writes for a (k, n) b */
static inline long rc_packed_size(long k, long n) { return k * n; }
/* b packed once for many products with it (the recurrent kernel, at every step): its
   columns in panels of RC_PANEL (the last one 8 wide when n is 8 past a multiple of 16),
   each panel's k rows of 16 floats one after another. Read in place, b's rows are a whole
   row of U apart (4 KB for LSTM(256)), so a panel's rows crowd the same few sets of L1;
   packed, they stream. 64x256 by 256x128, the LSTM(256) forward's product per gate and
   thread: 97 GFLOP/s packed, 70 in place. bp holds rc_packed_size(k, n) floats; with trans,
   b is (n, k) and bᵀ is packed. */
static void rc_pack_b(long k, long n, const float *b, long ldb, int trans, float *bp) {
    for (long j = 0; j < n; j += RC_PANEL) {
        long w = n - j >= RC_PANEL ? RC_PANEL : n - j;
        float *panel = bp + j * k;
        for (long p = 0; p < k; p++)
            for (long v = 0; v < w; v++)
                panel[p * w + v] = trans ? b[(j + v) * ldb + p] : b[p * ldb + j + v];
    }
}
/* c (+)= a·b with b packed by rc_pack_b (n a multiple of 8), panel by panel, each over
   every block of rows while it sits in L1; float with AVX2/FMA (1 when done, 0 when not
   taken: then b must be used unpacked). */
static inline int rc_sgemm_packed(long m, long n, long k, const float *a, long lda,
                                  const float *bp, float beta, float *c, long ldc) {
#ifdef RC_HAVE_V8
    if (n % 8 != 0 || (beta != 0.0f && beta != 1.0f))
        return 0;
    int add = beta != 0.0f;
    for (long j = 0; j < n; j += RC_PANEL) {
        const float *panel = bp + j * k;
        int wide = n - j >= 16;
        for (long i = 0; i < m;) {
            long mr = rc_rows_of(m - i);
            /* the panel's width as a constant in each call: a run-time ldb cost 2-4% */
            if (wide)
                rc_block_rows(mr, 1, k, a + i * lda, lda, panel, 16, add, c + i * ldc + j,
                              ldc);
            else
                rc_block_rows(mr, 0, k, a + i * lda, lda, panel, 8, add, c + i * ldc + j,
                              ldc);
            i += mr;
        }
    }
    return 1;
#else
    return 0;
#endif
}

/* Products with a small b, c (+)= a·b for float with AVX2/FMA, b at most RC_SMALL_B
   floats, k at most RC_SMALL_K and n a multiple of 8 (1 when done, 0 when not taken). With
   trans_b, b (n, k) is first copied transposed onto the stack.
   - The recurrent kernels' per-step products for a few units (h_{t-1}·U is 64x8 by 8x32
     for the seeds' LSTM): a BLAS call costs about 1 us there, most of it before the
     arithmetic, 100 times a sequence each way; this loop about 0.6 us.
   - The hoisted products of a few inputs and units over all T·B rows (x·W, dz·Wᵀ) on one
     thread: 6400x16·16x32 in 108 us against OpenBLAS's 126, 6400x32·(16x32)ᵀ 93 against
     113.
   bias, when not NULL, is added to each sum as it is stored (and c is not read). */
static inline int rc_sgemm_small_impl(int trans_b, long m, long n, long k, const float *a,
                                      long lda, const float *b, long ldb, float beta,
                                      const float *bias, float *c, long ldc) {
#ifdef RC_HAVE_V8
    float bt[RC_SMALL_B];
    if (n % 8 != 0 || n * k > RC_SMALL_B || k > RC_SMALL_K || (beta != 0.0f && beta != 1.0f))
        return 0;
    if (trans_b) {
        for (long p = 0; p < k; p++)
            for (long j = 0; j < n; j++) bt[p * n + j] = b[j * ldb + p];
        b = bt;
        ldb = n;
    }
    /* blocks of 8 rows by 8 columns: eight independent sums, enough to cover the
       fused multiply-add's latency, one load of b for eight of them; all the columns of
       a block of rows before the next, so that each line of c is written whole */
    long i = 0;
    for (; i + 8 <= m; i += 8) {
        for (long j = 0; j < n; j += 8) {
            __m256 acc[8];
            #pragma GCC unroll 8
            for (int r = 0; r < 8; r++) acc[r] = _mm256_setzero_ps();
            for (long p = 0; p < k; p++) {
                __m256 bv = _mm256_loadu_ps(b + p * ldb + j);
                #pragma GCC unroll 8
                for (int r = 0; r < 8; r++)
                    acc[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(a + (i + r) * lda + p), bv,
                                             acc[r]);
            }
            #pragma GCC unroll 8
            for (int r = 0; r < 8; r++) {
                float *cr = c + (i + r) * ldc + j;
                _mm256_storeu_ps(cr, bias ? _mm256_add_ps(acc[r], _mm256_loadu_ps(bias + j))
                                 : beta != 0.0f ? _mm256_add_ps(acc[r], _mm256_loadu_ps(cr))
                                 : acc[r]);
            }
        }
    }
    for (; i < m; i++) {
        for (long j = 0; j < n; j += 8) {
            __m256 acc = _mm256_setzero_ps();
            for (long p = 0; p < k; p++)
                acc = _mm256_fmadd_ps(_mm256_broadcast_ss(a + i * lda + p),
                                      _mm256_loadu_ps(b + p * ldb + j), acc);
            float *cr = c + i * ldc + j;
            _mm256_storeu_ps(cr, bias ? _mm256_add_ps(acc, _mm256_loadu_ps(bias + j))
                             : beta != 0.0f ? _mm256_add_ps(acc, _mm256_loadu_ps(cr)) : acc);
        }
    }
    return 1;
#else
    return 0;
#endif
}
static inline int rc_sgemm_small(int trans_b, long m, long n, long k, const float *a,
                                 long lda, const float *b, long ldb, float beta, float *c,
                                 long ldc) {
    return rc_sgemm_small_impl(trans_b, m, n, k, a, lda, b, ldb, beta, NULL, c, ldc);
}
/* the hoisted x·W + b of a few inputs and units, any number of rows: the bias added to
   each sum as it is stored, where BLAS needs c filled with it first (one more pass over
   T·B rows) */
static inline int rc_sgemm_small_bias(long m, long n, long k, const float *a, long lda,
                                      const float *b, long ldb, const float *bias,
                                      float *c, long ldc) {
    return rc_sgemm_small_impl(0, m, n, k, a, lda, b, ldb, 0.0f, bias, c, ldc);
}

/* The weight gradients of a few units, c (+)= aᵀ·b with a (k, m), b (k, n) and k the
   T·B rows of a sequence (H_prevᵀ·dz is 6400x8ᵀ by 6400x32 for the seeds' LSTM): a long
   sum into a small c. Blocks of MB rows of c by NV vectors sit in registers for a pass over
   a chunk of k rows (the chunk stays in L1 for the other blocks). 6400x8ᵀ·6400x32: 47 us
   against NumPy's OpenBLAS 66 us (6400x16ᵀ·6400x32: the same). float with AVX2/FMA, n a
   multiple of 8 up to RC_TN_N, m up to RC_TN_M, k at least RC_TN_MIN_K; 1 when done, 0
   when not taken. ops._recurrent.gemm sends these shapes here (_tn_small). */
static inline int rc_sgemm_tn_small(long m, long n, long k, const float *a, long lda,
                                    const float *b, long ldb, float beta, float *c,
                                    long ldc) {
#ifdef RC_HAVE_V8
    if (n % 8 != 0 || n > RC_TN_N || m > RC_TN_M || k < RC_TN_MIN_K
            || (beta != 0.0f && beta != 1.0f))
        return 0;
    if (beta == 0.0f)
        for (long i = 0; i < m; i++)
            for (long j = 0; j < n; j++) c[i * ldc + j] = 0.0f;
    /* column pairs of vectors (a last single one), each over chunks of k, rows of c in
       blocks of 6, 4, 2, 1 (12, 8, 4, 1 for a single vector) */
    for (long j0 = 0; j0 < n;) {
        long nv = n - j0 >= 16 ? 2 : 1;
        const float *bj = b + j0;
        for (long k0 = 0; k0 < k; k0 += RC_TN_CHUNK) {
            long k1 = k0 + RC_TN_CHUNK < k ? k0 + RC_TN_CHUNK : k;
            long i0 = 0;
            while (i0 < m) {
                long rest = m - i0, mb;
                const float *ai = a + i0;
                float *cij = c + i0 * ldc + j0;
                if (nv == 2) {
                    mb = rest >= 6 ? 6 : rest >= 4 ? 4 : rest >= 2 ? 2 : 1;
                    if (mb == 6) rc_block_6_2(k0, k1, ai, 1, lda, bj, ldb, 1, 0, cij, ldc);
                    else if (mb == 4) rc_block_4_2(k0, k1, ai, 1, lda, bj, ldb, 1, 0, cij, ldc);
                    else if (mb == 2) rc_block_2_2(k0, k1, ai, 1, lda, bj, ldb, 1, 0, cij, ldc);
                    else rc_block_1_2(k0, k1, ai, 1, lda, bj, ldb, 1, 0, cij, ldc);
                } else {
                    mb = rest >= 12 ? 12 : rest >= 8 ? 8 : rest >= 4 ? 4 : 1;
                    if (mb == 12) rc_block_12_1(k0, k1, ai, 1, lda, bj, ldb, 1, 0, cij, ldc);
                    else if (mb == 8) rc_block_8_1(k0, k1, ai, 1, lda, bj, ldb, 1, 0, cij, ldc);
                    else if (mb == 4) rc_block_4_1(k0, k1, ai, 1, lda, bj, ldb, 1, 0, cij, ldc);
                    else rc_block_1_1(k0, k1, ai, 1, lda, bj, ldb, 1, 0, cij, ldc);
                }
                i0 += mb;
            }
        }
        j0 += 8 * nv;
    }
    return 1;
#else
    return 0;
#endif
}

#endif  /* RNNCORE_GEMM_H */
