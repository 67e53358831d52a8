"""Row-major gemm for float and double over ``scipy.linalg.cython_blas``.

BLAS is column-major. A row-major matrix is the transpose of the same memory read
column-major, so ``C = op(A)·op(B)`` in row-major is ``Cᵀ = op(B)ᵀ·op(A)ᵀ`` in column-major:
call the Fortran gemm with the operands swapped and m and n exchanged.
"""
from cython cimport floating
from cython.parallel cimport prange
from libc.stdlib cimport free, malloc
from scipy.linalg.cython_blas cimport sgemm, dgemm


cdef extern from *:
    """
    #include "_fastmath.h"
    #define RC_SMALL_B 1024
    /* The micro-kernel of the loops below: c (+)= a·b on a block of MR rows by NV vectors of
       c, the sums in registers over rows k0:k1 of b. Row r of the block reads a at
       a + r * a_row + p * a_col: a_row = lda, a_col = 1 for a·b, and a_row = 1, a_col = lda for
       aᵀ·b. load_c starts the sums from c (a product taken in chunks of k); add_c adds c to
       them at the end (c += a·b, BLAS's order); neither: c = a·b. */
    #define RC_BLOCK(MR, NV)                                                                 \
    static inline void rc_block_##MR##_##NV(long k0, long k1, const float *a, long a_row,   \
                                            long a_col, const float *b, long ldb,           \
                                            int load_c, int add_c, float *c, long ldc) {    \
        __m256 acc[MR][NV];                                                                 \
        _Pragma("GCC unroll 16")                                                            \
        for (int r = 0; r < MR; r++)                                                        \
            _Pragma("GCC unroll 4")                                                         \
            for (int v = 0; v < NV; v++)                                                    \
                acc[r][v] = load_c ? _mm256_loadu_ps(c + r * ldc + 8 * v) : _mm256_setzero_ps(); \
        for (long p = k0; p < k1; p++) {                                                    \
            __m256 bv[NV];                                                                  \
            _Pragma("GCC unroll 4")                                                         \
            for (int v = 0; v < NV; v++) bv[v] = _mm256_loadu_ps(b + p * ldb + 8 * v);     \
            _Pragma("GCC unroll 16")                                                        \
            for (int r = 0; r < MR; r++) {                                                  \
                __m256 av = _mm256_broadcast_ss(a + r * a_row + p * a_col);                 \
                _Pragma("GCC unroll 4")                                                     \
                for (int v = 0; v < NV; v++) acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]); \
            }                                                                               \
        }                                                                                   \
        _Pragma("GCC unroll 16")                                                            \
        for (int r = 0; r < MR; r++)                                                        \
            _Pragma("GCC unroll 4")                                                         \
            for (int v = 0; v < NV; v++) {                                                  \
                float *cr = c + r * ldc + 8 * v;                                            \
                _mm256_storeu_ps(cr, add_c ? _mm256_add_ps(acc[r][v], _mm256_loadu_ps(cr))  \
                                           : acc[r][v]);                                    \
            }                                                                               \
    }
    #ifdef RC_HAVE_V8
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
    #endif
    /* The per-step products of mid-size layers (h_{t-1}·U is 32x64 by 64x256 per thread for
       LSTM(64)): OpenBLAS packs b at every call, a quarter of its time at these sizes. Here
       blocks of 6 rows by 16 columns of c, b read in place (it stays in L2 between steps).
       float with AVX2/FMA, no transposes, n a multiple of 8, m at most 512, b at most 64K
       floats; 1 when done, 0 when not taken. */
    static inline int rc_sgemm_mid(long m, long n, long k, const float *a, long lda,
                                   const float *b, long ldb, float beta, float *c, long ldc) {
    #ifdef RC_HAVE_V8
        if (m > 512 || n % 8 != 0 || n * k > 65536 || (beta != 0.0f && beta != 1.0f))
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
    /* b packed once for many products with it (the recurrent kernel, at every step): its
       columns in panels of 16 (the last one 8 wide when n is 8 past a multiple of 16), each
       panel's k rows of 16 floats one after another. Read in place, b's rows are a whole row
       of U apart (4 KB for LSTM(256)), so a panel's rows crowd the same few sets of L1; packed,
       they stream. 64x256 by 256x128, the LSTM(256) forward's product per gate and thread: 97
       GFLOP/s packed, 70 in place. bp holds k·n floats; with trans, b is (n, k) and bᵀ is
       packed. */
    static void rc_pack_b(long k, long n, const float *b, long ldb, int trans, float *bp) {
        for (long j = 0; j < n; j += 16) {
            long w = n - j >= 16 ? 16 : n - j;
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
        for (long j = 0; j < n; j += 16) {
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
    /* whether rc_sgemm_packed takes products with a (k, n) b: AVX2/FMA, n a multiple of 8,
       and b too big for rc_sgemm_small's loop (which beats it there) */
    static inline int rc_packs(long k, long n) {
    #ifdef RC_HAVE_V8
        return n % 8 == 0 && n > 0 && k > 0 && (n * k > RC_SMALL_B || k > 32);
    #else
        return 0;
    #endif
    }
    /* Products with a small b, c (+)= a·b for float with AVX2/FMA, b at most RC_SMALL_B
       floats, k at most 32 and n a multiple of 8 (1 when done, 0 when not taken). With
       trans_b, b (n, k) is first copied transposed onto the stack. Sums run over k in order
       with fused multiply-adds, as OpenBLAS's kernels do.
       - The recurrent kernels' per-step products for a few units (h_{t-1}·U is 64x8 by 8x32
         for the seeds' LSTM): a BLAS call costs about 1 us there, most of it before the
         arithmetic, 100 times a sequence each way; this loop about 0.6 us.
       - The hoisted products of a few inputs and units over all T·B rows (x·W, dz·Wᵀ) on one
         thread: 6400x16·16x32 in 108 us against OpenBLAS's 126, 6400x32·(16x32)ᵀ 93 against
         113. */
    static inline int rc_sgemm_small_impl(int trans_b, long m, long n, long k, const float *a,
                                          long lda, const float *b, long ldb, float beta,
                                          const float *bias, float *c, long ldc) {
    #ifdef RC_HAVE_V8
        float bt[RC_SMALL_B];
        if (n % 8 != 0 || n * k > RC_SMALL_B || k > 32 || (beta != 0.0f && beta != 1.0f))
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
       against NumPy's OpenBLAS 66 us (6400x16ᵀ·6400x32: the same; wider c: OpenBLAS is
       faster, so it is left to it). float with AVX2/FMA, n a multiple of 8 up to 32, m up to
       16, k at least 64; 1 when done, 0 when not taken. ops._recurrent.gemm sends these
       shapes here (_tn_small). */
    #define RC_TN_CHUNK 128
    static inline int rc_sgemm_tn_small(long m, long n, long k, const float *a, long lda,
                                        const float *b, long ldb, float beta, float *c,
                                        long ldc) {
    #ifdef RC_HAVE_V8
        if (n % 8 != 0 || n > 32 || m > 16 || k < 64 || (beta != 0.0f && beta != 1.0f))
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
    """
    void rc_pack_b(long k, long n, const float* b, long ldb, int trans, float* bp) nogil
    bint rc_sgemm_packed(long m, long n, long k, const float* a, long lda, const float* bp,
                         float beta, float* c, long ldc) nogil
    bint rc_packs(long k, long n) nogil
    bint rc_sgemm_mid(long m, long n, long k, const float* a, long lda, const float* b,
                      long ldb, float beta, float* c, long ldc) nogil
    bint rc_sgemm_tn_small(long m, long n, long k, const float* a, long lda, const float* b,
                           long ldb, float beta, float* c, long ldc) nogil
    bint rc_sgemm_small(bint trans_b, long m, long n, long k, const float* a, long lda,
                        const float* b, long ldb, float beta, float* c, long ldc) nogil
    bint rc_sgemm_small_bias(long m, long n, long k, const float* a, long lda, const float* b,
                             long ldb, const float* bias, float* c, long ldc) nogil


cdef void gemm(bint trans_a, bint trans_b, int m, int n, int k,
               floating alpha, const floating* a, int lda,
               const floating* b, int ldb,
               floating beta, floating* c, int ldc) noexcept nogil:
    """C[m, n] = alpha · op(A)[m, k] · op(B)[k, n] + beta · C, all row-major.

    lda, ldb, ldc are row strides in elements (the number of columns of the stored matrix).
    """
    cdef char ta = b'T' if trans_a else b'N'
    cdef char tb = b'T' if trans_b else b'N'
    if m == 0 or n == 0:
        return
    if floating is float:
        if alpha == 1 and k > 0 and (
                (not trans_b and rc_sgemm_tn_small(m, n, k, a, lda, b, ldb, beta, c, ldc))
                if trans_a else rc_sgemm_small(trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc)
                or (not trans_b and rc_sgemm_mid(m, n, k, a, lda, b, ldb, beta, c, ldc))):
            return
        sgemm(&tb, &ta, &n, &m, &k, &alpha, <float*> b, &ldb, <float*> a, &lda,
              &beta, c, &ldc)
    else:
        dgemm(&tb, &ta, &n, &m, &k, &alpha, <double*> b, &ldb, <double*> a, &lda,
              &beta, c, &ldc)


cdef floating* pack(int k, int n, const floating* b, int ldb, bint trans) noexcept nogil:
    """B (k, n) = b, or bᵀ with `trans` (b then (n, k)), packed for :func:`gemm_packed`, in
    memory of the caller's to free(); NULL when the shim has no packed loop for it (double,
    no AVX2/FMA, n not a multiple of 8, a b small enough for the small-product loop) or no
    memory: the caller then passes b itself."""
    cdef float* bp = NULL
    if floating is float:
        if rc_packs(k, n):
            bp = <float*> malloc(<size_t> k * n * sizeof(float))
            if bp != NULL:
                rc_pack_b(k, n, b, ldb, trans, bp)
    return <floating*> bp


cdef void gemm_packed(bint trans_b, int m, int n, int k, const floating* a, int lda,
                      const floating* bp, const floating* b, int ldb,
                      floating beta, floating* c, int ldc) noexcept nogil:
    """c = a·op(b) + beta·c (beta 0 or 1), from bp = pack(k, n, b, ldb, trans_b) when that is
    not NULL, else through :func:`gemm`."""
    if m == 0 or n == 0:
        return
    if floating is float:
        if bp != NULL and rc_sgemm_packed(m, n, k, a, lda, bp, beta, c, ldc):
            return
    gemm(False, trans_b, m, n, k, <floating> 1, a, lda, b, ldb, beta, c, ldc)


def gemm_packed_into(const float[:, ::1] a, const float[:, ::1] b, float[:, ::1] c,
                     bint trans_b=False, float beta=0):
    """``c = a·op(b) + beta·c`` through :func:`pack` and :func:`gemm_packed`, for tests;
    returns whether the packed loop ran (else BLAS did). The caller checks the shapes."""
    cdef int m = a.shape[0], k = a.shape[1], n = b.shape[0] if trans_b else b.shape[1]
    cdef float* bp
    with nogil:
        bp = pack(k, n, &b[0, 0], b.shape[1], trans_b)
        gemm_packed(trans_b, m, n, k, &a[0, 0], k, bp, &b[0, 0], b.shape[1], beta, &c[0, 0], n)
    free(bp)
    return bp != NULL


def gemm_into(floating[:, ::1] a, floating[:, ::1] b, floating[:, ::1] c,
              bint trans_a=False, bint trans_b=False, floating alpha=1, floating beta=0):
    """``c = alpha · op(a) · op(b) + beta · c`` in place (for tests and the ops floor).

    Shapes are the caller's to get right, except that they are checked here because this is
    reachable from Python.
    """
    cdef int m = a.shape[1] if trans_a else a.shape[0]
    cdef int k = a.shape[0] if trans_a else a.shape[1]
    cdef int kb = b.shape[1] if trans_b else b.shape[0]
    cdef int n = b.shape[0] if trans_b else b.shape[1]
    if k != kb or c.shape[0] != m or c.shape[1] != n:
        raise ValueError(
            f"gemm_into: op(a) is ({m}, {k}), op(b) is ({kb}, {n}) and c is "
            f"({c.shape[0]}, {c.shape[1]}); expected op(a) (m, k), op(b) (k, n), c (m, n)")
    with nogil:
        gemm(trans_a, trans_b, m, n, k, alpha, &a[0, 0] if a.shape[0] * a.shape[1] else NULL,
             a.shape[1] if a.shape[1] else 1,
             &b[0, 0] if b.shape[0] * b.shape[1] else NULL, b.shape[1] if b.shape[1] else 1,
             beta, &c[0, 0] if c.shape[0] * c.shape[1] else NULL, c.shape[1] if c.shape[1] else 1)


def gemm_bias_into(const float[:, ::1] a, const float[:, ::1] b, const float[::1] bias,
                   float[:, ::1] c):
    """``c = a·b + bias`` for float32 when the shim's own loop takes the shapes (AVX2/FMA,
    n a multiple of 8, b at most 1024 floats, k at most 32); returns False, c untouched,
    otherwise. The caller checks the shapes."""
    cdef long m = a.shape[0], k = a.shape[1], n = b.shape[1]
    cdef bint done
    if m == 0 or n == 0 or k == 0:
        return False
    with nogil:
        done = rc_sgemm_small_bias(m, n, k, &a[0, 0], k, &b[0, 0], n, &bias[0], &c[0, 0], n)
    return done


def pgemm(const floating[:, :] a, const floating[:, :] b, floating[:, :] c,
          bint trans_a=False, bint trans_b=False, floating alpha=1, floating beta=0,
          int n_threads=1):
    """``c = alpha · op(a) · op(b) + beta · c`` split over ``n_threads`` OpenMP threads.

    Each array needs contiguous rows but may be a column block of a wider array (rows further
    apart than their width), so one gate's columns of a (…, G·H) array are read and written in
    place. The larger of c's two dimensions is cut into near-equal blocks, each a gemm of its
    own (a block of rows of op(a) and c, or of columns of op(b) and c), so the threads never
    share output. The BLAS library itself should be single-threaded while this runs (see
    ``rnncore.ops._blas_threads``), otherwise its own threads oversubscribe the cores.
    """
    cdef Py_ssize_t it = sizeof(floating)
    cdef int m = a.shape[1] if trans_a else a.shape[0]
    cdef int k = a.shape[0] if trans_a else a.shape[1]
    cdef int kb = b.shape[1] if trans_b else b.shape[0]
    cdef int n = b.shape[0] if trans_b else b.shape[1]
    if k != kb or c.shape[0] != m or c.shape[1] != n:
        raise ValueError(
            f"pgemm: op(a) is ({m}, {k}), op(b) is ({kb}, {n}) and c is "
            f"({c.shape[0]}, {c.shape[1]}); expected op(a) (m, k), op(b) (k, n), c (m, n)")
    for name, rows, cols, s0, s1 in (("a", a.shape[0], a.shape[1], a.strides[0], a.strides[1]),
                                     ("b", b.shape[0], b.shape[1], b.strides[0], b.strides[1]),
                                     ("c", c.shape[0], c.shape[1], c.strides[0], c.strides[1])):
        if (cols > 1 and s1 != it) or (rows > 1 and s0 < cols * it):
            raise ValueError(f"pgemm: {name} must have contiguous rows, got strides "
                             f"({s0}, {s1}) for shape ({rows}, {cols})")
    if m == 0 or n == 0:
        return
    cdef int lda = a.strides[0] // it if a.shape[0] > 1 else max(a.shape[1], 1)
    cdef int ldb = b.strides[0] // it if b.shape[0] > 1 else max(b.shape[1], 1)
    cdef int ldc = c.strides[0] // it if c.shape[0] > 1 else max(c.shape[1], 1)
    cdef const floating* ap = &a[0, 0] if a.shape[0] * a.shape[1] else NULL
    cdef const floating* bp = &b[0, 0] if b.shape[0] * b.shape[1] else NULL
    cdef floating* cp = &c[0, 0]
    cdef bint by_rows = m >= n
    cdef int extent = m if by_rows else n
    cdef int nblk = n_threads if 1 < n_threads < extent else 1
    cdef int blk, lo, hi
    if nblk == 1:
        with nogil:
            gemm(trans_a, trans_b, m, n, k, alpha, ap, lda, bp, ldb, beta, cp, ldc)
        return
    for blk in prange(nblk, nogil=True, num_threads=nblk, schedule="static"):
        lo = <int> ((<long> blk * extent) // nblk)
        hi = <int> ((<long> (blk + 1) * extent) // nblk)
        if by_rows:
            # rows lo:hi of op(a): row offset of a, or column offset of a stored transposed
            gemm(trans_a, trans_b, hi - lo, n, k, alpha,
                 ap + (lo if trans_a else <long> lo * lda), lda, bp, ldb,
                 beta, cp + <long> lo * ldc, ldc)
        else:
            gemm(trans_a, trans_b, m, hi - lo, k, alpha, ap, lda,
                 bp + (<long> lo * ldb if trans_b else lo), ldb,
                 beta, cp + lo, ldc)
