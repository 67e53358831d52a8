# The one place rnncore touches BLAS: a row-major gemm over scipy's cython_blas.
from cython cimport floating

cdef void gemm(bint trans_a, bint trans_b, int m, int n, int k,
               floating alpha, const floating* a, int lda,
               const floating* b, int ldb,
               floating beta, floating* c, int ldc) noexcept nogil

cdef floating* pack(int k, int n, const floating* b, int ldb, bint trans) noexcept nogil

cdef void gemm_packed(bint trans_b, int m, int n, int k, const floating* a, int lda,
                      const floating* bp, const floating* b, int ldb,
                      floating beta, floating* c, int ldc) noexcept nogil
