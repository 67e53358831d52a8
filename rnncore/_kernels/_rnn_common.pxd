# Helpers shared by the cell kernels: batch blocking and the optional-array convention.
from cython cimport floating


cdef inline int n_blocks(int batch, int n_threads) noexcept nogil:
    """How many batch blocks to run: one per thread, never more than there are rows."""
    if n_threads < 1:
        n_threads = 1
    return n_threads if n_threads < batch else (batch if batch > 0 else 1)


cdef inline int block_start(int blk, int nblk, int batch) noexcept nogil:
    """First batch row of block `blk` when `batch` rows are split into `nblk` near-equal blocks."""
    return <int> ((<long> blk * batch) // nblk)


cdef inline void transpose_into(const floating* a, long rows, long cols,
                                floating* out) noexcept nogil:
    """out (cols, rows) = aᵀ for a (rows, cols), both C-contiguous. The backward kernels take
    dz_t·Uᵀ as dz_t·(Uᵀ) with Uᵀ made once per call: a plain product, which rnncore's own
    loop for small and mid-size products takes without repacking U at every step."""
    cdef long i, j
    for i in range(rows):
        for j in range(cols):
            out[j * rows + i] = a[i * cols + j]
