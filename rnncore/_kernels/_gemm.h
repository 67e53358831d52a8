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
/* The weight gradients aᵀ·b of layers of up to 64 units (k = T·B rows, c at most RC_TN_M x
 * RC_TN_N): k is taken in chunks of RC_TN_CHUNK rows, so that a chunk of b (128 rows of up to
 * 64 floats, 32 KB) stays in L1 while every block of rows of c passes over it. Below
 * RC_TN_MIN_K rows BLAS's call overhead is small and it is left to BLAS. One thread, Zen 4,
 * GFLOP/s here (AVX-512 / AVX2 loop) against NumPy's OpenBLAS: 6400x8ᵀ·6400x32 104 / 84 vs 48;
 * 6400x32ᵀ·6400x32 104 / 87 vs 76; 6400x64ᵀ·6400x64 111 / 90 vs 90 (the SimpleRNN(64) and
 * (32) layers' dW and dU: whole models 5-6% faster); wider c is left to OpenBLAS. */
#define RC_TN_CHUNK 128
#define RC_TN_M 64
#define RC_TN_N 64
#define RC_TN_MIN_K 64
/* Packed b (rc_pack_b): columns in panels this wide, each panel's k rows one after another,
 * so that a block of c reads its part of b as one stream (two 8-float vectors a row). */
#define RC_PANEL 16

#if defined(RC_HAVE_V8) && defined(__AVX512F__)
/* ---- AVX-512: 16-float vectors, 32 of them ----
 * The same loops as the AVX2 ones below, on 16-float vectors, with blocks of c that use the
 * 32 registers: MR rows by NV vectors of sums, NV vectors of b and one broadcast of a, at most
 * 31 (RC16_MR below). A block's last vector is loaded and stored under a mask, so n needs not
 * be a multiple of 16 (nor of 8, as on AVX2: those products left to BLAS there come here). */
#define RC_HAVE_V16 1
/* The vectors of a block of c in the packed and mid-size loops, and so the packed panels'
   width (16·RC16_NV floats). Zen 4 runs a 16-float FMA on both of its 8-float FMA pipes, so
   the peak per cycle is AVX2's; what the wider block saves is loads and broadcasts per FMA:
   6x4 needs 10 loads for 24 FMAs, 8x3 11, 12x2 14, AVX2's 6x2 8 for 12. */
#ifndef RC16_NV
#define RC16_NV 4
#endif
/* the most rows a block of nv vectors holds: nv·MR sums + nv + 1 registers of the 32 */
#define RC16_MR(nv) ((nv) >= 4 ? 6 : (nv) == 3 ? 8 : 12)
#define RC16_PW (16 * RC16_NV)

/* c's last vector of a row, loaded and stored under `tail`: a whole 16 or 8 floats without a
   mask. A load of c that a masked store wrote shortly before (c += a·b at every step, beta 1)
   cannot take its data from the store: 64x8 += 64x8·8x8 in 480 ns against 150 with whole
   8-float stores (Zen 4). */
static inline __m512 rc16_load_tail(const float *p, __mmask16 tail) {
    if (tail == 0xFFFF) return _mm512_loadu_ps(p);
    if (tail == 0x00FF) return _mm512_zextps256_ps512(_mm256_loadu_ps(p));
    return _mm512_maskz_loadu_ps(tail, p);
}
static inline void rc16_store_tail(float *p, __mmask16 tail, __m512 v) {
    if (tail == 0xFFFF) _mm512_storeu_ps(p, v);
    else if (tail == 0x00FF) _mm256_storeu_ps(p, _mm512_castps512_ps256(v));
    else _mm512_mask_storeu_ps(p, tail, v);
}
/* c (+)= a·b on MR rows by NV vectors of c, the sums in registers over rows k0:k1 of b (b's
   rows ldb apart). Row r of the block reads a at a + r * a_row + p * a_col, as RC_BLOCK. The
   last vector loads b and c and stores c under `tail` (lanes of columns that exist). bias,
   when not NULL, is added to each sum as it is stored; else add_c adds c (c += a·b, BLAS's
   order); load_c starts the sums from c (k taken in chunks). */
#define RC_BLOCK16(MR, NV)                                                                  \
static inline void rc16_block_##MR##_##NV(long k0, long k1, const float *a, long a_row,    \
                                          long a_col, const float *b, long ldb,            \
                                          __mmask16 tail, int load_c, int add_c,           \
                                          const float *bias, float *c, long ldc) {         \
    __m512 acc[MR][NV];                                                                    \
    _Pragma("GCC unroll 16")                                                               \
    for (int r = 0; r < MR; r++)                                                           \
        _Pragma("GCC unroll 4")                                                            \
        for (int v = 0; v < NV; v++)                                                       \
            acc[r][v] = !load_c ? _mm512_setzero_ps()                                      \
                      : v < NV - 1 ? _mm512_loadu_ps(c + r * ldc + 16 * v)                 \
                      : rc16_load_tail(c + r * ldc + 16 * v, tail);                        \
    const float *bp = b + k0 * ldb, *ap = a + k0 * a_col;                                  \
    for (long p = k0; p < k1; p++, bp += ldb, ap += a_col) {                               \
        __m512 bv[NV];                                                                     \
        _Pragma("GCC unroll 4")                                                            \
        for (int v = 0; v < NV; v++)                                                       \
            bv[v] = v < NV - 1 ? _mm512_loadu_ps(bp + 16 * v)                              \
                               : _mm512_maskz_loadu_ps(tail, bp + 16 * v);                 \
        _Pragma("GCC unroll 16")                                                           \
        for (int r = 0; r < MR; r++) {                                                     \
            __m512 av = _mm512_set1_ps(ap[r * a_row]);                                     \
            _Pragma("GCC unroll 4")                                                        \
            for (int v = 0; v < NV; v++) acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]); \
        }                                                                                  \
    }                                                                                      \
    _Pragma("GCC unroll 16")                                                               \
    for (int r = 0; r < MR; r++)                                                           \
        _Pragma("GCC unroll 4")                                                            \
        for (int v = 0; v < NV; v++) {                                                     \
            float *cr = c + r * ldc + 16 * v;                                              \
            __mmask16 mk = v < NV - 1 ? (__mmask16)0xFFFF : tail;                          \
            __m512 s = acc[r][v];                                                          \
            if (bias) s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(mk, bias + 16 * v));      \
            else if (add_c) s = _mm512_add_ps(s, rc16_load_tail(cr, mk));                  \
            rc16_store_tail(cr, mk, s);                                                    \
        }                                                                                  \
}
#define RC16_ROWS_4(X) X(1, 4) X(2, 4) X(3, 4) X(4, 4) X(5, 4) X(6, 4)
#define RC16_ROWS_3(X) X(1, 3) X(2, 3) X(3, 3) X(4, 3) X(5, 3) X(6, 3) X(7, 3) X(8, 3)
#define RC16_ROWS_2(X) X(1, 2) X(2, 2) X(3, 2) X(4, 2) X(5, 2) X(6, 2) X(7, 2) X(8, 2)     \
                       X(9, 2) X(10, 2) X(11, 2) X(12, 2)
#define RC16_ROWS_1(X) X(1, 1) X(2, 1) X(3, 1) X(4, 1) X(5, 1) X(6, 1) X(7, 1) X(8, 1)     \
                       X(9, 1) X(10, 1) X(11, 1) X(12, 1)
RC16_ROWS_4(RC_BLOCK16)
RC16_ROWS_3(RC_BLOCK16)
RC16_ROWS_2(RC_BLOCK16)
RC16_ROWS_1(RC_BLOCK16)
#define RC16_CASE(MR, NV)                                                                   \
    case MR: rc16_block_##MR##_##NV(k0, k1, a, a_row, a_col, b, ldb, tail, load_c, add_c,  \
                                    bias, c, ldc); return;
/* one block of mr rows (1 to RC16_MR(nv)) by nv vectors (1 to 4), the shapes known to the
   compiler inside each block */
static inline void rc16_block(long nv, long mr, long k0, long k1, const float *a, long a_row,
                              long a_col, const float *b, long ldb, __mmask16 tail,
                              int load_c, int add_c, const float *bias, float *c, long ldc) {
    switch (nv) {
    case 4: switch (mr) { RC16_ROWS_4(RC16_CASE) } return;
    case 3: switch (mr) { RC16_ROWS_3(RC16_CASE) } return;
    case 2: switch (mr) { RC16_ROWS_2(RC16_CASE) } return;
    default: switch (mr) { RC16_ROWS_1(RC16_CASE) } return;
    }
}
/* the lanes of the last of the vectors that cover w columns */
static inline __mmask16 rc16_tail(long w) {
    return (__mmask16)(0xFFFFu >> (16 * ((w + 15) / 16) - w));
}
/* c (+)= a·b over all m rows and the n columns of one panel of b (at most 4 vectors), b's
   rows ldb apart: blocks of as many rows as the panel's width allows, the last block what
   is left (one call, no splitting into smaller ones) */
static inline void rc16_panel(long m, long w, long k, const float *a, long lda,
                              const float *b, long ldb, int add, const float *bias, float *c,
                              long ldc) {
    long nv = (w + 15) / 16, mr_max = RC16_MR(nv);
    __mmask16 tail = rc16_tail(w);
    for (long i = 0; i < m; i += mr_max) {
        long mr = m - i < mr_max ? m - i : mr_max;
        rc16_block(nv, mr, 0, k, a + i * lda, lda, 1, b, ldb, tail, 0, add, bias,
                   c + i * ldc, ldc);
    }
}
/* rc_sgemm_small's loop (see there) on 16-float vectors, any n */
static inline int rc16_sgemm_small(int trans_b, long m, long n, long k, const float *a,
                                   long lda, const float *b, long ldb, float beta,
                                   const float *bias, float *c, long ldc) {
    float bt[RC_SMALL_B];
    if (n * k > RC_SMALL_B || k > RC_SMALL_K || (beta != 0.0f && beta != 1.0f))
        return 0;
    if (trans_b) {
        for (long p = 0; p < k; p++)
            for (long j = 0; j < n; j++) bt[p * n + j] = b[j * ldb + p];
        b = bt;
        ldb = n;
    }
    /* blocks of rows by all of n (panels of up to RC16_NV vectors), so that each line of c
       is written whole; as many rows as the widest panel allows */
    long nv = (n < RC16_PW ? n + 15 : RC16_PW) / 16, mr_max = RC16_MR(nv);
    for (long i = 0; i < m; i += mr_max) {
        long mr = m - i < mr_max ? m - i : mr_max;
        for (long j = 0; j < n; j += RC16_PW) {
            long w = n - j < RC16_PW ? n - j : RC16_PW;
            rc16_block((w + 15) / 16, mr, 0, k, a + i * lda, lda, 1, b + j, ldb, rc16_tail(w),
                       0, beta != 0.0f, bias ? bias + j : NULL, c + i * ldc + j, ldc);
        }
    }
    return 1;
}
#endif  /* RC_HAVE_V16 */

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
#if defined(RC_HAVE_V16)
    /* any n; panels of b outer: a panel's rows (16·RC16_NV floats each) stay in L1 for
       every block of rows */
    if (m > RC_MID_M || n * k > RC_MID_B || (beta != 0.0f && beta != 1.0f))
        return 0;
    for (long j = 0; j < n; j += RC16_PW)
        rc16_panel(m, n - j < RC16_PW ? n - j : RC16_PW, k, a, lda, b + j, ldb, beta != 0.0f,
                   NULL, c + j, ldc);
    return 1;
#elif defined(RC_HAVE_V8)
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

/* whether rc_sgemm_packed takes products with a (k, n) b: AVX2/FMA with n a multiple of 8,
   or AVX-512 and any n; and b too big for rc_sgemm_small's loop (which beats it there) */
static inline int rc_packs(long k, long n) {
#if defined(RC_HAVE_V16)
    return n > 0 && k > 0 && (n * k > RC_SMALL_B || k > RC_SMALL_K);
#elif defined(RC_HAVE_V8)
    return n % 8 == 0 && n > 0 && k > 0 && (n * k > RC_SMALL_B || k > RC_SMALL_K);
#else
    return 0;
#endif
}
/* floats rc_pack_b writes for a (k, n) b: with AVX-512 the last panel's rows are padded
   with zeros to whole vectors, so that the loop reads b without masks */
static inline long rc_packed_size(long k, long n) {
#ifdef RC_HAVE_V16
    return k * ((n + 15) / 16 * 16);
#else
    return k * n;
#endif
}
/* b packed once for many products with it (the recurrent kernel, at every step): its
   columns in panels of RC_PANEL (the last one 8 wide when n is 8 past a multiple of 16),
   each panel's k rows of 16 floats one after another. Read in place, b's rows are a whole
   row of U apart (4 KB for LSTM(256)), so a panel's rows crowd the same few sets of L1;
   packed, they stream. 64x256 by 256x128, the LSTM(256) forward's product per gate and
   thread: 97 GFLOP/s packed, 70 in place. bp holds rc_packed_size(k, n) floats; with trans,
   b is (n, k) and bᵀ is packed. */
static void rc_pack_b(long k, long n, const float *b, long ldb, int trans, float *bp) {
#ifdef RC_HAVE_V16
    /* AVX-512: panels of RC16_PW columns, the last one's rows padded to a multiple of 16 */
    for (long j = 0; j < n; j += RC16_PW) {
        long w = n - j >= RC16_PW ? RC16_PW : n - j, wp = (w + 15) / 16 * 16;
        float *panel = bp + j * k;
        for (long p = 0; p < k; p++)
            for (long v = 0; v < wp; v++)
                panel[p * wp + v] = v >= w ? 0.0f
                                  : trans ? b[(j + v) * ldb + p] : b[p * ldb + j + v];
    }
    return;
#endif
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
#if defined(RC_HAVE_V16)
    if (beta != 0.0f && beta != 1.0f)
        return 0;
    for (long j = 0; j < n; j += RC16_PW) {
        long w = n - j >= RC16_PW ? RC16_PW : n - j;
        rc16_panel(m, w, k, a, lda, bp + j * k, (w + 15) / 16 * 16, beta != 0.0f, NULL,
                   c + j, ldc);
    }
    return 1;
#elif defined(RC_HAVE_V8)
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
     for the seeds' LSTM): a BLAS call cost about 1 us there, most of it before the
     arithmetic, 100 times a sequence each way; this loop about 0.6 us. (SciPy's OpenBLAS
     0.3.30 does 64x8·8x32 += in 0.39 us on Zen 4 against 0.44 here, best of 200 timings;
     at n = 8 and 24, and n off multiples of 8, this loop is well ahead: see
     benchmarks/README.md, "AVX-512 gemm micro-kernels".)
   - The hoisted products of a few inputs and units over all T·B rows (x·W, dz·Wᵀ) on one
     thread: 6400x16·16x32 in 108 us against OpenBLAS's 126, 6400x32·(16x32)ᵀ 93 against
     113.
   bias, when not NULL, is added to each sum as it is stored (and c is not read). */
static inline int rc_sgemm_small_impl(int trans_b, long m, long n, long k, const float *a,
                                      long lda, const float *b, long ldb, float beta,
                                      const float *bias, float *c, long ldc) {
#if defined(RC_HAVE_V16)
    /* n an odd multiple of 8 (SimpleRNN(8)'s U, GRU(8)'s 24 columns) takes the AVX2 loop
       below: Zen 4 runs two 8-float FMAs a cycle but one 16-float one, so a last vector
       half of whose lanes are idle costs as much as two whole 8-float ones (64x8·8x8: 17
       GFLOP/s here against 22 there; 64x8·8x24: 18 against 22) */
    if (n % 16 != 8)
        return rc16_sgemm_small(trans_b, m, n, k, a, lda, b, ldb, beta, bias, c, ldc);
#endif
#if defined(RC_HAVE_V8)
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
   when not taken (rc_tn_small_takes says which shapes). */
static inline int rc_tn_small_takes(long m, long n, long k) {
    /* whether rc_sgemm_tn_small takes an aᵀ·b of this shape: the one statement of its limits,
       which ops' gemm asks too (_blas.tn_small_takes) before choosing NumPy's BLAS */
#if defined(RC_HAVE_V16)
    return n <= RC_TN_N && m <= RC_TN_M && k >= RC_TN_MIN_K;
#elif defined(RC_HAVE_V8)
    return n % 8 == 0 && n <= RC_TN_N && m <= RC_TN_M && k >= RC_TN_MIN_K;
#else
    (void)m; (void)n; (void)k;
    return 0;
#endif
}
static inline int rc_sgemm_tn_small(long m, long n, long k, const float *a, long lda,
                                    const float *b, long ldb, float beta, float *c,
                                    long ldc) {
    if (!rc_tn_small_takes(m, n, k) || (beta != 0.0f && beta != 1.0f))
        return 0;
#if defined(RC_HAVE_V16)
    if (beta == 0.0f)
        for (long i = 0; i < m; i++)
            for (long j = 0; j < n; j++) c[i * ldc + j] = 0.0f;
    /* n <= 32: one or two vectors, over chunks of k, rows of c in blocks of up to 12 */
    long nv = (n + 15) / 16, mr_max = RC16_MR(nv);
    __mmask16 tail = rc16_tail(n);
    for (long k0 = 0; k0 < k; k0 += RC_TN_CHUNK) {
        long k1 = k0 + RC_TN_CHUNK < k ? k0 + RC_TN_CHUNK : k;
        for (long i0 = 0; i0 < m; i0 += mr_max) {
            long mr = m - i0 < mr_max ? m - i0 : mr_max;
            rc16_block(nv, mr, k0, k1, a + i0, 1, lda, b, ldb, tail, 1, 0, NULL,
                       c + i0 * ldc, ldc);
        }
    }
    return 1;
#elif defined(RC_HAVE_V8)
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
