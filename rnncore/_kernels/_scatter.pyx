"""Row scatter-add: the dense sum of a sparse (IndexedSlices) gradient.

``out[indices[k]] += values[k]`` for k = 0, 1, ... in order, so repeated rows are summed in the
order TensorFlow's ``unsorted_segment_sum`` sums them on the CPU, to the bit. The caller checks
that every index lies in ``[0, out.shape[0])`` and that the shapes agree.
"""
from cython cimport floating

ctypedef fused index_t:
    int
    long long


def scatter_add_rows(const index_t[::1] indices,      # IN (n,) rows of out
                     const floating[:, ::1] values,    # IN (n, C)
                     floating[:, ::1] out):            # IN-OUT (rows, C)
    cdef Py_ssize_t n = indices.shape[0], C = values.shape[1], k, j
    cdef const floating* src
    cdef floating* dst
    if n == 0 or C == 0:
        return
    with nogil:
        for k in range(n):
            src = &values[k, 0]
            dst = &out[indices[k], 0]
            for j in range(C):
                dst[j] += src[j]
