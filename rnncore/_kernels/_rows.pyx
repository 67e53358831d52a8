"""Row gather and row scatter-add, for embedding lookups and their sparse gradients.

The caller checks that every index lies in ``[0, rows)`` and that the shapes agree.
"""
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport sqrt, sqrtf

ctypedef fused index_t:
    int
    long long


cdef extern from "_rows.h":
    void rc_copy_f(float* dst, const float* src, long n) nogil
    void rc_copy_d(double* dst, const double* src, long n) nogil
    void rc_add_scaled_squares_f(float* s, const float* g, float scale, long n) nogil
    void rc_add_scaled_squares_d(double* s, const double* g, double scale, long n) nogil
    void rc_add_scaled_f(float* s, const float* g, float scale, long n) nogil
    void rc_add_scaled_d(double* s, const double* g, double scale, long n) nogil
    void rc_sub_quotients_f(float* w, const float* g, float lr, const float* d, long n) nogil
    void rc_sub_quotients_d(double* w, const double* g, double lr, const double* d,
                            long n) nogil
    void rc_add_quotients_f(float* s, const float* g, float lr, const float* d, long n) nogil
    void rc_add_quotients_d(double* s, const double* g, double lr, const double* d,
                            long n) nogil
    void rc_add_row_and_square_f(float* s, float* q, const float* g, long n) nogil
    void rc_add_row_and_square_d(double* s, double* q, const double* g, long n) nogil
    void rc_add_row_and_scaled_square_f(float* s, float* q, const float* g, float scale,
                                        long n) nogil
    void rc_add_row_and_scaled_square_d(double* s, double* q, const double* g, double scale,
                                        long n) nogil


def gather_rows(const floating[:, ::1] table,         # IN (rows, C)
                const index_t[::1] indices,             # IN (n,) rows of table
                floating[:, ::1] out,                   # OUT (n, C)
                int n_threads=1):                       # IN threads for a big gather
    """out[k] = table[indices[k]], one row copy each: 6,400 rows of 32 floats in 26 us, where
    np.take(..., out=out) takes 70 us. From 256K floats on, split over `n_threads`
    (6,400 rows of 256 floats, predict's x·W + b of LSTM(64): 290 -> 155 us on two)."""
    cdef Py_ssize_t n = indices.shape[0], C = table.shape[1], k
    if n == 0 or C == 0:
        return
    if n_threads > 1 and n * C >= (1 << 18):
        for k in prange(n, nogil=True, num_threads=n_threads, schedule="static"):
            _copy(&out[k, 0], &table[indices[k], 0], C)
        return
    with nogil:
        for k in range(n):
            _copy(&out[k, 0], &table[indices[k], 0], C)


def swap_rows(const floating[:, :, ::1] src,   # IN (A, C, F)
              floating[:, :, ::1] out,         # OUT (C, A, F)
              bint reverse_a,                  # IN read src's first axis backwards
              bint reverse_c):                 # IN read src's second axis backwards
    """``out[j, i] = src[i', j']`` (i' = A-1-i when reverse_a, else i; j' likewise): the
    batch-major/time-major transposes of the recurrent ops, one row copy each. (100, 64, 16)
    float32: 21 us, where NumPy's copy of (F,)-sized void rows takes 30 us."""
    cdef Py_ssize_t A = src.shape[0], C = src.shape[1], F = src.shape[2], i, j, si, sj
    if A == 0 or C == 0 or F == 0:
        return
    with nogil:
        for j in range(C):
            sj = C - 1 - j if reverse_c else j
            for i in range(A):
                si = A - 1 - i if reverse_a else i
                _copy(&out[j, i, 0], &src[si, sj, 0], F)


def scatter_add_rows(const index_t[::1] indices,      # IN (n,) rows of out
                     const floating[:, ::1] values,    # IN (n, C)
                     floating[:, ::1] out):            # IN-OUT (rows, C)
    """``out[indices[k]] += values[k]`` for k = 0, 1, ... in order, so repeated rows are summed
    in the order TensorFlow's ``unsorted_segment_sum`` sums them on the CPU, to the bit."""
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


def scatter_add_squares(const index_t[::1] indices,   # IN (n,) rows of out
                        const floating[:, ::1] values, # IN (n, C)
                        floating scale,                # IN
                        bint scaled,                   # IN multiply by scale (else not)
                        floating[:, ::1] out):         # IN-OUT (rows, C)
    """``out[indices[k]] += scale * values[k]**2`` (or ``values[k]**2``), k in order: the
    dense sum of TensorFlow's square (and multiply) of IndexedSlices, each op rounded on its own
    as there, in one pass and no (n, C) temporaries."""
    cdef Py_ssize_t n = indices.shape[0], C = values.shape[1], k, j
    cdef const floating* src
    cdef floating* dst
    cdef floating sq
    if n == 0 or C == 0:
        return
    with nogil:
        for k in range(n):
            src = &values[k, 0]
            dst = &out[indices[k], 0]
            if scaled:
                for j in range(C):
                    sq = src[j] * src[j]
                    dst[j] += scale * sq
            else:
                for j in range(C):
                    dst[j] += src[j] * src[j]


def scatter_add_rows_and_squares(const index_t[::1] indices,   # IN (n,) rows of the outputs
                                 const floating[:, ::1] values, # IN (n, C)
                                 floating scale,                # IN
                                 bint scaled,                   # IN multiply the squares by scale
                                 floating[:, ::1] sums,         # IN-OUT (rows, C)
                                 floating[:, ::1] squares):     # IN-OUT (rows, C)
    """:func:`scatter_add_rows` into ``sums`` and :func:`scatter_add_squares` into ``squares``
    in one pass over the slices (each row's two sums rounded as those two give them): what
    ``rnncore.distributed`` sends of an Embedding gradient."""
    cdef Py_ssize_t n = indices.shape[0], C = values.shape[1], k
    if n == 0 or C == 0:
        return
    with nogil:
        for k in range(n):
            if floating is float:
                if scaled:
                    rc_add_row_and_scaled_square_f(&sums[indices[k], 0],
                                                   &squares[indices[k], 0], &values[k, 0],
                                                   scale, C)
                else:
                    rc_add_row_and_square_f(&sums[indices[k], 0], &squares[indices[k], 0],
                                            &values[k, 0], C)
            else:
                if scaled:
                    rc_add_row_and_scaled_square_d(&sums[indices[k], 0],
                                                   &squares[indices[k], 0], &values[k, 0],
                                                   scale, C)
                else:
                    rc_add_row_and_square_d(&sums[indices[k], 0], &squares[indices[k], 0],
                                            &values[k, 0], C)


def rmsprop_rows(const index_t[::1] indices,    # IN (n,) rows of w
                 const floating[:, ::1] values,  # IN (n, C) one gradient slice per index
                 floating lr,                    # IN learning rate
                 floating rho,                   # IN
                 floating one_minus_rho,         # IN 1 - rho, rounded as the caller rounds it
                 floating epsilon,               # IN
                 floating momentum,              # IN used when m has rows
                 floating[:, ::1] v,             # IN-OUT (rows, C) velocity
                 floating[:, ::1] a,             # IN-OUT (rows, C) average gradient, or (0, C)
                 floating[:, ::1] m,             # IN-OUT (rows, C) momentum, or (0, C)
                 floating[:, ::1] w,             # IN-OUT (rows, C) the variable
                 int[::1] slot,                  # SCRATCH (rows,) all -1 on entry and on exit
                 int[::1] occurrence_slot,       # SCRATCH (n,)
                 index_t[::1] touched,           # SCRATCH (min(n, rows),)
                 floating[:, :, ::1] sums,       # SCRATCH (3, min(n, rows), C)
                 int n_threads):                 # IN threads, each taking a block of columns
    """Keras's RMSprop step for an IndexedSlices gradient ``g`` (one slice ``g_k`` per index),
    in two passes over the slices and one over the table, where Keras's ops make about ten
    passes over the table:

        v = rho * v + dense((1 - rho) * g_k**2)         every row decays, touched rows gain
        centered: a = rho * a + dense((1 - rho) * g_k)
        d = sqrt(v + epsilon)  (centered: sqrt(v - a**2 + epsilon))
        no momentum:   w[i_k] -= lr * g_k / d[i_k], one slice at a time (a scatter-subtract)
        with momentum: m = momentum * m + dense(lr * g_k / d[i_k]); w -= m, every row

    ``dense`` sums the slices of each row in index order from zero, as TensorFlow's
    unsorted_segment_sum does, and each operation is rounded on its own (the module is built
    without fused multiply-adds), so the result is TensorFlow's to the bit. Columns are
    independent: with ``n_threads`` > 1, threads take blocks of at least 16 columns."""
    cdef Py_ssize_t n = indices.shape[0], rows = w.shape[0], C = w.shape[1]
    cdef Py_ssize_t k, u, r, n_touched = 0, stride = sums.shape[1] * C
    cdef int nblk = 1, blk, width
    cdef floating* ap = &a[0, 0] if a.shape[0] else NULL
    cdef floating* mp = &m[0, 0] if m.shape[0] else NULL
    if C == 0:
        return
    with nogil:
        # The touched rows, numbered in order of first appearance.
        for k in range(n):
            r = indices[k]
            if slot[r] < 0:
                slot[r] = <int>n_touched
                touched[n_touched] = <index_t>r
                n_touched += 1
            occurrence_slot[k] = slot[r]
        for u in range(n_touched):
            slot[touched[u]] = -1
    if n_threads > 1 and C >= 32 and n * C >= 65536:
        nblk = <int>min(n_threads, C // 16)
    width = <int>((C + nblk - 1) // nblk + 15) // 16 * 16
    nblk = <int>((C + width - 1) // width)
    if nblk == 1:
        with nogil:
            _rmsprop_columns(0, C, C, rows, n, n_touched, &occurrence_slot[0] if n else NULL,
                             &touched[0] if n else NULL, &values[0, 0] if n else NULL, lr, rho,
                             one_minus_rho, epsilon, momentum, &v[0, 0], ap, mp, &w[0, 0],
                             &sums[0, 0, 0], stride)
    else:
        for blk in prange(nblk, nogil=True, num_threads=nblk, schedule="static"):
            _rmsprop_columns(blk * width, min(C, (blk + 1) * width), C, rows, n, n_touched,
                             &occurrence_slot[0], &touched[0], &values[0, 0], lr, rho,
                             one_minus_rho, epsilon, momentum, &v[0, 0], ap, mp, &w[0, 0],
                             &sums[0, 0, 0], stride)


cdef void _rmsprop_columns(Py_ssize_t c0, Py_ssize_t c1, Py_ssize_t C, Py_ssize_t rows,
                           Py_ssize_t n, Py_ssize_t n_touched, const int* occurrence_slot,
                           const index_t* touched, const floating* values, floating lr,
                           floating rho, floating one_minus_rho, floating epsilon,
                           floating momentum, floating* v, floating* a, floating* m,
                           floating* w, floating* sums, Py_ssize_t stride) noexcept nogil:
    """rmsprop_rows on columns c0:c1 (rows C apart; sums[q] at sums + q * stride)."""
    cdef Py_ssize_t width = c1 - c0, k, j, u, r
    cdef floating* sq_sums = sums
    cdef floating* g_sums = sums + stride
    cdef floating* inc_sums = sums + 2 * stride
    cdef floating* row
    cdef floating* d
    cdef const floating* g
    cdef floating x
    for r in range(rows):
        _scale(v + r * C + c0, width, rho)
        if a != NULL:
            _scale(a + r * C + c0, width, rho)
        if m != NULL:
            _scale(m + r * C + c0, width, momentum)
    for u in range(n_touched):
        _zero(sq_sums + u * C + c0, width)
        if a != NULL:
            _zero(g_sums + u * C + c0, width)
        if m != NULL:
            _zero(inc_sums + u * C + c0, width)
    # Pass 1: per touched row, the sums of (1 - rho) * g**2 (and of (1 - rho) * g).
    for k in range(n):
        u = occurrence_slot[k]
        g = values + k * C + c0
        if floating is float:
            rc_add_scaled_squares_f(sq_sums + u * C + c0, g, one_minus_rho, width)
            if a != NULL:
                rc_add_scaled_f(g_sums + u * C + c0, g, one_minus_rho, width)
        else:
            rc_add_scaled_squares_d(sq_sums + u * C + c0, g, one_minus_rho, width)
            if a != NULL:
                rc_add_scaled_d(g_sums + u * C + c0, g, one_minus_rho, width)
    # The touched rows' new v (and a), and their divisors d, kept in sq_sums.
    for u in range(n_touched):
        r = touched[u]
        row = v + r * C + c0
        d = sq_sums + u * C + c0
        for j in range(width):
            row[j] = row[j] + d[j]
        if a != NULL:
            for j in range(width):
                a[r * C + c0 + j] = a[r * C + c0 + j] + g_sums[u * C + c0 + j]
                x = a[r * C + c0 + j]
                x = row[j] - x * x
                d[j] = _sqrt(x + epsilon)
        else:
            for j in range(width):
                d[j] = _sqrt(row[j] + epsilon)
    # Pass 2: each slice's increment, subtracted (or summed into the momentum's).
    for k in range(n):
        u = occurrence_slot[k]
        g = values + k * C + c0
        d = sq_sums + u * C + c0
        if floating is float:
            if m != NULL:
                rc_add_quotients_f(inc_sums + u * C + c0, g, lr, d, width)
            else:
                rc_sub_quotients_f(w + touched[u] * C + c0, g, lr, d, width)
        else:
            if m != NULL:
                rc_add_quotients_d(inc_sums + u * C + c0, g, lr, d, width)
            else:
                rc_sub_quotients_d(w + touched[u] * C + c0, g, lr, d, width)
    if m != NULL:
        for u in range(n_touched):
            row = m + touched[u] * C + c0
            d = inc_sums + u * C + c0
            for j in range(width):
                row[j] = row[j] + d[j]
        for r in range(rows):
            row = w + r * C + c0
            d = m + r * C + c0
            for j in range(width):
                row[j] = row[j] - d[j]


cdef inline void _scale(floating* x, Py_ssize_t size, floating factor) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(size):
        x[i] = x[i] * factor


cdef inline void _zero(floating* x, Py_ssize_t size) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(size):
        x[i] = 0


cdef inline void _copy(floating* dst, const floating* src, Py_ssize_t n) noexcept nogil:
    if floating is float:
        rc_copy_f(dst, src, n)
    else:
        rc_copy_d(dst, src, n)


cdef inline floating _sqrt(floating x) noexcept nogil:
    if floating is float:
        return sqrtf(x)
    else:
        return sqrt(x)
