"""Row-major gemm for float and double over ``scipy.linalg.cython_blas``.

BLAS is column-major. A row-major matrix is the transpose of the same memory read
column-major, so ``C = op(A)·op(B)`` in row-major is ``Cᵀ = op(B)ᵀ·op(A)ᵀ`` in column-major:
call the Fortran gemm with the operands swapped and m and n exchanged.

Single-precision products of the shapes where BLAS does poorly (the recurrent kernels'
per-step products, a few units' hoisted products) run in rnncore's own loops first: C in
``_gemm.h``, compiled per ISA variant (see setup.py), each returning 0 when it does not take
the shapes, and BLAS does them then.
"""
from cython cimport floating
from cython.parallel cimport prange
from libc.stdlib cimport free, malloc
from time import perf_counter
from scipy.linalg.cython_blas cimport sgemm, dgemm


cdef extern from "_gemm.h":
    long rc_packed_size(long k, long n) nogil
    void rc_pack_b(long k, long n, const float* b, long ldb, int trans, float* bp) nogil
    bint rc_sgemm_packed(long m, long n, long k, const float* a, long lda, const float* bp,
                         float beta, float* c, long ldc) nogil
    bint rc_packs(long k, long n) nogil
    bint rc_sgemm_mid(long m, long n, long k, const float* a, long lda, const float* b,
                      long ldb, float beta, float* c, long ldc) nogil
    bint rc_tn_small_takes(long m, long n, long k) nogil
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
            bp = <float*> malloc(<size_t> rc_packed_size(k, n) * sizeof(float))
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


def time_products(const float[:, ::1] a, const float[:, ::1] b, float[:, ::1] c,
                  bint trans_a=False, bint trans_b=False, float beta=0, str path="gemm",
                  long repeat=1):
    """For benchmarks: ``c = op(a)·op(b) + beta·c`` made `repeat` times in one call, returning
    the seconds per product. path: "gemm" (:func:`gemm`: this shim's own loops where they take
    the shapes, else BLAS), "packed" (b packed once, untimed, then :func:`gemm_packed`, as the
    recurrent kernels do at every step; not with trans_a) or "blas" (sgemm itself). The caller
    checks the shapes."""
    cdef int m = a.shape[1] if trans_a else a.shape[0]
    cdef int k = a.shape[0] if trans_a else a.shape[1]
    cdef int n = b.shape[0] if trans_b else b.shape[1]
    cdef int lda = a.shape[1], ldb = b.shape[1], ldc = c.shape[1]
    cdef char ta = b'T' if trans_a else b'N'
    cdef char tb = b'T' if trans_b else b'N'
    cdef float one = 1
    cdef long r
    cdef float* bp = NULL
    if path not in ("gemm", "packed", "blas") or (path == "packed" and trans_a):
        raise ValueError(f"time_products: path={path!r} with trans_a={trans_a}; expected "
                         f"'gemm', 'blas', or 'packed' without trans_a")
    cdef int way = ("gemm", "packed", "blas").index(path)
    if way == 1:
        with nogil:
            bp = pack(k, n, &b[0, 0], ldb, trans_b)
    try:
        start = perf_counter()
        with nogil:
            for r in range(repeat):
                if way == 1:
                    gemm_packed(trans_b, m, n, k, &a[0, 0], lda, bp, &b[0, 0], ldb, beta,
                                &c[0, 0], ldc)
                elif way == 0:
                    gemm(trans_a, trans_b, m, n, k, one, &a[0, 0], lda, &b[0, 0], ldb, beta,
                         &c[0, 0], ldc)
                else:
                    sgemm(&tb, &ta, &n, &m, &k, &one, <float*> &b[0, 0], &ldb,
                          <float*> &a[0, 0], &lda, &beta, &c[0, 0], &ldc)
        return (perf_counter() - start) / max(repeat, 1)
    finally:
        free(bp)


def tn_small_takes(long m, long n, long k):
    """Whether this build's own loop takes a float32 aᵀ·b with a (k, m), b (k, n): ops' gemm
    asks before it chooses between the shim and NumPy's BLAS (the limits live in _gemm.h)."""
    return bool(rc_tn_small_takes(m, n, k))


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
    ``rnncore.recurrent._blas_threads``), otherwise its own threads oversubscribe the cores.
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
