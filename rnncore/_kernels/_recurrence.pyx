"""The recurrence driver: forward and (truncated) backpropagation through time of every cell.

One loop for all cells, on oneDNN's model: the driver owns the time loop, the batch or unit
blocking of the threads, the preparation of U (packed, transposed), the recurrent-dropout
operands, the step mask's carry and the truncation window; each cell contributes only its
elementwise rows (``_cells.h``, and the generic passes below for other activations) and, for
GRU without reset_after, a second product. Cells (``CELL_*``, Keras's cells)::

    SIMPLE       h_t = act(z_t),  z_t = x_t·W + b + h_{t-1}·U                   (1 gate block)
    LSTM         gates i, f, c, o; c_t = f⊙c_{t-1} + i⊙act(z_c); h_t = o⊙act(c_t) (4 blocks)
    GRU          reset_after: hh = act(x·W_h + b_h + r⊙(h_{t-1}·U_h + b'_h))      (3 blocks)
    GRU_BEFORE   reset_before: hh = act(x·W_h + b_h + (r⊙h_{t-1})·U_h): two dependent products

``x_t·W + b`` arrives precomputed in ``z`` (GRU reset_after: with the recurrent biases of z
and r added; b'_h comes as ``rbias`` because r multiplies it).

The contract, the same for every cell, and forward and backward in the same argument order::

    forward(cell, z, U, rbias, states, aux, rec_mask, hm, step_mask, scratch,
            activation, recurrent_activation, n_threads, unit_blocks)
    backward(cell, z, U, rbias, states, aux, rec_mask, hm, step_mask, scratch,
             activation, recurrent_activation, n_threads, unit_blocks,
             dhs, steps, dstates, dz, daux)

- z (T, B, G·H): forward: x·W + b in, the post-activation gates out (GRU: z, r, hh).
- U (H, G·H); rbias (H,) GRU reset_after's b'_h, or (0,) for none (ignored by backward).
- states (S, T+1, B, H): states[s, 0] in, states[s, 1:] out; S = 2 for LSTM (h, c), else 1.
- aux (T, B, H): what backward needs besides the gates: LSTM act(c_t), GRU
  h_{t-1}·U_h + b'_h (reset_after) or r ⊙ h_{t-1} (reset_before); (0, 0, 0) for SimpleRNN.
- rec_mask (M, B, H): recurrent dropout, M = 1 (one mask for all gates) or G (one per gate,
  as Keras's ``implementation=1`` draws them), or (0, 0, 0); Keras applies it to h_{t-1}
  where it enters a product with U, never in GRU's z ⊙ h_{t-1}.
- hm (M, T, B, H): forward writes the masked operands h_{t-1} ⊙ mask_g (the weight
  gradient needs them); (0, 0, 0, 0) without rec_mask.
- step_mask (T, B) uint8, 1 = the step is used, or (0, 0): a masked step carries the states
  over, and in backward passes dh (and dc) straight through.
- scratch (B, G·H): the driver's working rows.
- backward: dhs (T, B, H) the gradient reaching each step's output; steps, the BPTT window
  (the last ``steps`` steps; out of range = all); dstates (S, B, H): dL/d final states in,
  dL/d initial states out (zero when the window is shorter than T); dz (T, B, G·H) out:
  dL/d(x·W + b) on the window's rows (others untouched); daux (T, B, H) out, GRU
  reset_after only: dL/d(h·U_h + b'_h), else (0, 0, 0).

Threads (OpenMP when the build has it; SciPy's OpenBLAS is held at one thread by the caller):

- batch blocks (default): the batch rows of a step are independent, so the whole time loop
  runs in blocks of rows that never synchronise, each making its own products. Best for small
  layers, where a step is a few microseconds and any meeting would cost more.
- unit blocks (``unit_blocks=True``): each thread owns a block of the hidden units for every
  row: its columns of each gate in the products (it reads and packs only its share of U) and
  its units' elementwise rows; the threads meet once per step (twice with recurrent dropout's
  operands, and in GRU reset_after's backward). Best for large layers, where batch blocks would each stream all of U at every
  step for a share of the rows. GRU reset_before, whose step has two dependent products,
  runs in batch blocks.

Arrays are C-contiguous and time-major; ``floating`` is float32 or float64, one per call.
The kernels trust their arguments: :mod:`rnncore.recurrent` checks them.
"""
from cython cimport floating
from cython.parallel cimport parallel, prange
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset

from ._blas cimport gemm, gemm_packed, pack
from ._activations cimport activate, grad_from_output, RC_TANH, RC_SIGMOID

CELLS = {"simple": 0, "lstm": 1, "gru": 2, "gru_before": 3}
GATES = (1, 4, 3, 3)      # gate blocks of each cell, in CELLS order
STATES = (1, 2, 1, 1)     # states carried from step to step (LSTM: h and c)


cdef enum:
    CELL_SIMPLE = 0
    CELL_LSTM = 1
    CELL_GRU = 2          # reset_after=True, Keras's default
    CELL_GRU_BEFORE = 3   # reset_after=False


cdef extern from "_cells.h" nogil:
    void rc_barrier()
    int rc_team_size()
    int rc_thread_num()
    void rc_lstm_fwd_rows_f(float* z, const float* cp, float* cn, float* tc, float* hn, long n,
                            long nrows)
    void rc_lstm_fwd_rows_d(double* z, const double* cp, double* cn, double* tc, double* hn,
                            long n, long nrows)
    void rc_lstm_fwd_f(float* gi, float* gf, float* gg, float* go, const float* cp, float* cn,
                       float* tc, float* hn, long n)
    void rc_lstm_fwd_d(double* gi, double* gf, double* gg, double* go, const double* cp,
                       double* cn, double* tc, double* hn, long n)
    void rc_lstm_bwd_f(const float* gi, const float* gf, const float* gg, const float* go,
                       const float* cp, const float* tc, const float* dhs, float* dh,
                       float* dc, float* di, float* df, float* dg, float* dout, long n)
    void rc_lstm_bwd_d(const double* gi, const double* gf, const double* gg,
                       const double* go, const double* cp, const double* tc,
                       const double* dhs, double* dh, double* dc, double* di, double* df,
                       double* dg, double* dout, long n)
    void rc_gru_fwd_after_f(float* gz, float* gr, float* gh, const float* rz, const float* rr,
                            const float* rh, const float* rbias, float* hr, const float* hp,
                            float* hn, int n)
    void rc_gru_fwd_after_d(double* gz, double* gr, double* gh, const double* rz,
                            const double* rr, const double* rh, const double* rbias,
                            double* hr, const double* hp, double* hn, int n)
    void rc_gru_fwd_before_zr_f(float* gz, float* gr, const float* ah, float* hr, int n)
    void rc_gru_fwd_before_zr_d(double* gz, double* gr, const double* ah, double* hr, int n)
    void rc_gru_fwd_before_h_f(const float* gz, float* gh, const float* hp, float* hn, int n)
    void rc_gru_fwd_before_h_d(const double* gz, double* gh, const double* hp, double* hn,
                               int n)
    void rc_gru_bwd_f(const float* gz, const float* gr, const float* gh, const float* hp,
                      const float* hr, const float* dhs, float* dh, float* dzz, float* dzr,
                      float* dzh, float* dxh, int n)
    void rc_gru_bwd_d(const double* gz, const double* gr, const double* gh, const double* hp,
                      const double* hr, const double* dhs, double* dh, double* dzz,
                      double* dzr, double* dzh, double* dxh, int n)
    void rc_gru_bwd_before_r_f(const float* gr, const float* ah, const float* drh,
                               const float* mask, float* dzr, float* dh, int n)
    void rc_gru_bwd_before_r_d(const double* gr, const double* ah, const double* drh,
                               const double* mask, double* dzr, double* dh, int n)


cdef struct Rec:
    # One call's problem. Pointers are void* because a struct cannot hold the fused type; the
    # functions below take a typed pointer (z or dz) that fixes `floating` and cast the rest.
    int cell, T, B, H, GH, M, act, ract, steps
    bint fast          # Keras's default activations: the one-loop rows of _cells.h
    int n_fwd          # gate blocks of the step's first product (GRU reset_before: 2)
    int n_bwd          # gate blocks whose dz meets U in the backward product (idem)
    long hm_gate       # distance between two gates' operands in hm (0: one shared operand)
    void* z
    const void* U
    const void* rbias
    void* h
    void* c
    void* aux
    void* scratch
    const void* rmask
    void* hm
    const unsigned char* smask
    const void* Upk    # U's first-product columns packed (batch blocks), or NULL
    const void* Uhpk   # GRU reset_before: U_h packed
    const void* UT     # backward: Uᵀ (G·H, H)
    const void* UTpk   # its first n_bwd·H rows packed, or NULL
    const void* UThpk  # GRU reset_before: U_hᵀ packed
    const void* dhs
    void* dh
    void* dc
    void* daux


# ---------------------------------------------------------------- threads and shapes

cdef inline int _n_blocks(int n, int n_threads) noexcept nogil:
    """How many blocks of n rows (or units) to run: one per thread, never more than n."""
    if n_threads < 1:
        n_threads = 1
    return n_threads if n_threads < n else (n if n > 0 else 1)


cdef inline int _block_start(int blk, int nblk, int n) noexcept nogil:
    """First row of block `blk` when n rows are split into `nblk` near-equal blocks."""
    return <int> ((<long> blk * n) // nblk)


cdef inline bint _used(const Rec* p, long t, long b) noexcept nogil:
    """Whether batch row b takes step t (no step mask: all do)."""
    return p.smask == NULL or p.smask[t * p.B + b] != 0


cdef void _transpose(const floating* a, long rows, long cols, floating* out) noexcept nogil:
    """out (cols, rows) = aᵀ for C-contiguous a (rows, cols): backward takes dz·Uᵀ as a plain
    product with Uᵀ, which rnncore's own loop takes without repacking U at every step."""
    cdef long i, j
    for i in range(rows):
        for j in range(cols):
            out[j * rows + i] = a[i * cols + j]


# ---------------------------------------------------------------- the products

cdef inline void _product(int m, int k, int ngates, const floating* A, long aoff,
                          const floating* U, int ldu, const floating* Upk, floating beta,
                          floating* C, int ldc) noexcept nogil:
    """C[:, g·k:(g+1)·k] = A_g · U[:, g·k:(g+1)·k] + beta·C for the first `ngates` gate blocks
    of k columns, A_g = A + g·aoff (rows k apart). aoff = 0: all gates share the operand, one
    product over ngates·k columns, from Upk (those columns packed) unless NULL."""
    cdef int g
    if aoff == 0:
        gemm_packed(False, m, ngates * k, k, A, k, Upk, U, ldu, beta, C, ldc)
        return
    for g in range(ngates):
        gemm(False, False, m, k, k, <floating> 1, A + g * aoff, k, U + g * k, ldu, beta,
             C + g * k, ldc)


cdef inline void _operands(const Rec* p, const floating* hprev, floating* hmt, long b0, long nb,
                           long u0, long nu) noexcept nogil:
    """hm[g, t, b, units] = h_{t-1}[b, units] ⊙ mask_g[b, units] for the M masks, rows b0 …
    b0+nb (hprev and hmt point at row b0 of step t)."""
    cdef const floating* rmask = <const floating*> p.rmask
    cdef long H = p.H, B = p.B, g, b, j, r
    cdef long gstride = <long> p.T * B * H
    for g in range(p.M):
        for b in range(nb):
            r = b * H + u0
            for j in range(nu):
                hmt[g * gstride + r + j] = hprev[r + j] * rmask[(g * B + b0) * H + r + j]


cdef void _back_product(const Rec* p, const floating* dzt, floating* dhb, floating* s, long b0,
                        long nb, long u0, long nu, const floating* UTpk) noexcept nogil:
    """dh[t-1] += (dz[t]·Uᵀ) ⊙ mask over the first n_bwd gate blocks, rows b0 … b0+nb (dzt,
    dhb and s, the scratch, point at row b0), units u0 … u0+nu: all of them with batch
    blocks (from Uᵀ), a thread's with unit blocks (from U's rows, read transposed)."""
    cdef long H = p.H, GH = p.GH, B = p.B, b, j, g
    cdef long K = p.n_bwd * H
    cdef const floating* U = <const floating*> p.U
    cdef const floating* UT = <const floating*> p.UT
    cdef const floating* rmask = <const floating*> p.rmask
    cdef floating acc
    cdef bint by_units = nu < H
    if p.M == 0:
        if by_units:
            gemm_packed(True, nb, nu, K, dzt, GH, UTpk, U + u0 * GH, GH, <floating> 1,
                        dhb + u0, H)
        else:
            gemm_packed(False, nb, H, K, dzt, GH, UTpk, UT, H, <floating> 1, dhb, H)
        return
    if p.M == 1:
        if by_units:
            gemm_packed(True, nb, nu, K, dzt, GH, UTpk, U + u0 * GH, GH, <floating> 0, s + u0,
                        GH)
        else:
            gemm_packed(False, nb, H, K, dzt, GH, UTpk, UT, H, <floating> 0, s, GH)
    else:
        # each gate saw h_{t-1} through its own mask: one product per gate
        for g in range(p.n_bwd):
            if by_units:
                gemm(False, True, nb, nu, H, <floating> 1, dzt + g * H, GH,
                     U + u0 * GH + g * H, GH, <floating> 0, s + g * H + u0, GH)
            else:
                gemm(False, False, nb, H, H, <floating> 1, dzt + g * H, GH, UT + g * H * H, H,
                     <floating> 0, s + g * H, GH)
    for b in range(nb):
        for j in range(u0, u0 + nu):
            acc = 0
            for g in range(p.n_bwd if p.M > 1 else 1):
                acc = acc + s[b * GH + g * H + j] * rmask[(g * B + b0 + b) * H + j]
            dhb[b * H + j] += acc


# ---------------------------------------------------------------- the cells' rows, forward

cdef inline void _mul(floating* out, const floating* a, const floating* b, long n) noexcept nogil:
    """out[:n] = a[:n] * b[:n]: one store stream per loop, which the compiler vectorises."""
    cdef long j
    for j in range(n):
        out[j] = a[j] * b[j]


cdef void _lstm_rows_any(floating* zr, const floating* cp, floating* cn, floating* tc,
                         floating* hn, long gs, long n, int act, int ract) noexcept nogil:
    """One LSTM row for any activations, n units, gate blocks gs apart."""
    cdef long j
    activate(zr, n, ract)
    activate(zr + gs, n, ract)
    activate(zr + 2 * gs, n, act)
    activate(zr + 3 * gs, n, ract)
    for j in range(n):
        cn[j] = zr[gs + j] * cp[j] + zr[j] * zr[2 * gs + j]
    memcpy(tc, cn, n * sizeof(floating))
    activate(tc, n, act)
    _mul(hn, zr + 3 * gs, tc, n)


cdef void _gru_after_row_any(floating* zr, const floating* rec, const floating* rbias,
                             floating* hr, const floating* hp, floating* hn, long gs, long n,
                             int act, int ract) noexcept nogil:
    """One GRU reset_after row for any activations (rbias may be NULL)."""
    cdef long j
    cdef floating rb
    cdef floating one = 1   # a bare 1 would make Cython compute the line in double
    for j in range(n):
        zr[j] += rec[j]
        zr[gs + j] += rec[gs + j]
    activate(zr, n, ract)
    activate(zr + gs, n, ract)
    for j in range(n):
        rb = rec[2 * gs + j]
        if rbias != NULL:
            rb = rb + rbias[j]
        hr[j] = rb
        zr[2 * gs + j] += zr[gs + j] * rb
    activate(zr + 2 * gs, n, act)
    for j in range(n):
        hn[j] = zr[j] * hp[j] + (one - zr[j]) * zr[2 * gs + j]


cdef void _post_forward(floating* z, const Rec* p, long t, long b0, long nb, long u0, long nu,
                        bint second) noexcept nogil:
    """The cell's rows of step t after its product (`second`: after GRU reset_before's
    candidate product), rows b0 … b0+nb, units u0 … u0+nu."""
    cdef long B = p.B, H = p.H, GH = p.GH, b, r, j
    cdef floating* zt = z + (t * B + b0) * GH
    cdef floating* hp = <floating*> p.h + (t * B + b0) * H
    cdef floating* hn = <floating*> p.h + ((t + 1) * B + b0) * H
    cdef floating* cp = <floating*> p.c + (t * B + b0) * H if p.c != NULL else NULL
    cdef floating* cn = <floating*> p.c + ((t + 1) * B + b0) * H if p.c != NULL else NULL
    cdef floating* ax = <floating*> p.aux + (t * B + b0) * H if p.aux != NULL else NULL
    cdef const floating* rec = <const floating*> p.scratch + b0 * GH
    cdef const floating* rbias = <const floating*> p.rbias
    cdef const floating* ah
    cdef floating* zr
    cdef floating one = 1
    if p.cell == CELL_SIMPLE:
        if nu == H:   # the block's rows are one contiguous run
            activate(zt, nb * H, p.act)
            memcpy(hn, zt, nb * H * sizeof(floating))
        else:
            for b in range(nb):
                activate(zt + b * H + u0, nu, p.act)
                memcpy(hn + b * H + u0, zt + b * H + u0, nu * sizeof(floating))
        return
    if p.cell == CELL_LSTM:
        if p.fast and nu == H:
            if floating is float:
                rc_lstm_fwd_rows_f(zt, cp, cn, ax, hn, H, nb)
            else:
                rc_lstm_fwd_rows_d(zt, cp, cn, ax, hn, H, nb)
            return
        for b in range(nb):
            zr = zt + b * GH + u0
            r = b * H + u0
            if not p.fast:
                _lstm_rows_any(zr, cp + r, cn + r, ax + r, hn + r, H, nu, p.act, p.ract)
            elif floating is float:
                rc_lstm_fwd_f(zr, zr + H, zr + 2 * H, zr + 3 * H, cp + r, cn + r, ax + r, hn + r,
                              nu)
            else:
                rc_lstm_fwd_d(zr, zr + H, zr + 2 * H, zr + 3 * H, cp + r, cn + r, ax + r, hn + r,
                              nu)
        return
    if p.cell == CELL_GRU and p.fast and rbias != NULL:
        # the hot loop of the seeds' GRUs: nothing to decide per row
        for b in range(nb):
            zr = zt + b * GH + u0
            r = b * H + u0
            if floating is float:
                rc_gru_fwd_after_f(zr, zr + H, zr + 2 * H, rec + b * GH + u0,
                                   rec + b * GH + H + u0, rec + b * GH + 2 * H + u0, rbias + u0,
                                   ax + r, hp + r, hn + r, nu)
            else:
                rc_gru_fwd_after_d(zr, zr + H, zr + 2 * H, rec + b * GH + u0,
                                   rec + b * GH + H + u0, rec + b * GH + 2 * H + u0, rbias + u0,
                                   ax + r, hp + r, hn + r, nu)
        return
    if p.cell == CELL_GRU:   # other activations, or no b'_h
        for b in range(nb):
            r = b * H + u0
            _gru_after_row_any(zt + b * GH + u0, rec + b * GH + u0,
                               rbias + u0 if rbias != NULL else NULL, ax + r, hp + r, hn + r, H,
                               nu, p.act, p.ract)
        return
    # GRU reset_before: z and r, and r ⊙ h_{t-1} (the candidate's operand) in aux; then, after
    # the candidate's product, hh and h_t
    for b in range(nb):
        zr = zt + b * GH + u0
        r = b * H + u0
        if not second:
            ah = hp + r   # what U_h multiplies: h_{t-1}, or its masked operand
            if p.M > 0:
                ah = <const floating*> p.hm + (2 * p.hm_gate + t * B * H) + (b0 * H + r)
            if p.fast:
                if floating is float:
                    rc_gru_fwd_before_zr_f(zr, zr + H, ah, ax + r, nu)
                else:
                    rc_gru_fwd_before_zr_d(zr, zr + H, ah, ax + r, nu)
            else:
                activate(zr, nu, p.ract)
                activate(zr + H, nu, p.ract)
                _mul(ax + r, zr + H, ah, nu)
        elif p.fast:
            if floating is float:
                rc_gru_fwd_before_h_f(zr, zr + 2 * H, hp + r, hn + r, nu)
            else:
                rc_gru_fwd_before_h_d(zr, zr + 2 * H, hp + r, hn + r, nu)
        else:
            activate(zr + 2 * H, nu, p.act)
            for j in range(nu):
                hn[r + j] = zr[j] * hp[r + j] + (one - zr[j]) * zr[2 * H + j]


cdef inline void _carry_states(floating* z, const Rec* p, long t, long b0, long nb, long u0,
                               long nu) noexcept nogil:
    """Rows masked at step t keep their states (h, and c for LSTM)."""
    cdef long B = p.B, H = p.H, b, r
    cdef floating* h = <floating*> p.h
    cdef floating* c = <floating*> p.c
    for b in range(nb):
        if _used(p, t, b0 + b):
            continue
        r = (b0 + b) * H + u0
        memcpy(h + (t + 1) * B * H + r, h + t * B * H + r, nu * sizeof(floating))
        if c != NULL:
            memcpy(c + (t + 1) * B * H + r, c + t * B * H + r, nu * sizeof(floating))


# ---------------------------------------------------------------- the cells' rows, backward

cdef void _lstm_back_any(const floating* zr, floating* dzr, const floating* tc,
                         const floating* cp, floating* dh, floating* dc, floating* s, long gs,
                         long n, int act, int ract) noexcept nogil:
    """One unmasked LSTM row of the backward pass for any activations (dh holds gh, the whole
    gradient reaching h_t; s: n scratch values)."""
    cdef long j
    _mul(dzr + 3 * gs, dh, tc, n)             # dL/do
    _mul(s, dh, zr + 3 * gs, n)               # dL/d act(c_t)
    grad_from_output(tc, s, n, act)
    for j in range(n):
        s[j] += dc[j]                         # dL/dc_t
    _mul(dzr, s, zr + 2 * gs, n)              # dL/di
    _mul(dzr + gs, s, cp, n)                  # dL/df
    _mul(dzr + 2 * gs, s, zr, n)              # dL/dg
    _mul(dc, s, zr + gs, n)                   # dL/dc_{t-1}
    memset(dh, 0, n * sizeof(floating))
    grad_from_output(zr, dzr, n, ract)
    grad_from_output(zr + gs, dzr + gs, n, ract)
    grad_from_output(zr + 2 * gs, dzr + 2 * gs, n, act)
    grad_from_output(zr + 3 * gs, dzr + 3 * gs, n, ract)


cdef void _gru_back_any(const floating* zr, floating* dzr, const floating* hp,
                        const floating* hr, const floating* dhs, floating* dh, floating* dxh,
                        long gs, long n, int act, int ract) noexcept nogil:
    """One unmasked GRU row of the backward pass for any activations: dz, dhh (pre-act.),
    dh = g ⊙ z; with reset_after (dxh not NULL) also dr and dL/d(h·U_h + b'_h) in dzr's
    candidate block (the driver swaps it with dxh after the step's product)."""
    cdef long j
    cdef floating gj, d
    cdef floating one = 1
    for j in range(n):
        gj = dh[j] + dhs[j]
        dzr[j] = gj * (hp[j] - zr[2 * gs + j])           # dL/dz_t
        dzr[2 * gs + j] = gj * (one - zr[j])             # dL/dhh_t
        dh[j] = gj * zr[j]                               # through z ⊙ h_{t-1}
    grad_from_output(zr, dzr, n, ract)
    grad_from_output(zr + 2 * gs, dzr + 2 * gs, n, act)
    if dxh != NULL:
        for j in range(n):
            d = dzr[2 * gs + j]
            dxh[j] = d                                   # dL/d(x·W_h + b_h)
            dzr[gs + j] = d * hr[j]                      # dL/dr_t
            dzr[2 * gs + j] = d * zr[gs + j]             # dL/d(h·U_h + b'_h)
        grad_from_output(zr + gs, dzr + gs, n, ract)


cdef void _post_backward(floating* dz, const Rec* p, long t, long b0, long nb, long u0, long nu,
                         floating* s) noexcept nogil:
    """The cell's backward rows of step t, before its product with Uᵀ: dz[t] (rows b0 …
    b0+nb, units u0 … u0+nu) from the gradient reaching h_t (dh + dhs), and dh (dc) left as
    what flows to step t-1 other than through U. s: the scratch at row b0."""
    cdef long B = p.B, H = p.H, GH = p.GH, b, r, j, g
    cdef const floating* zt = <const floating*> p.z + (t * B + b0) * GH
    cdef floating* dzt = dz + (t * B + b0) * GH
    cdef const floating* dhs = <const floating*> p.dhs + (t * B + b0) * H
    cdef floating* dh = <floating*> p.dh + b0 * H
    cdef floating* dc = <floating*> p.dc + b0 * H if p.dc != NULL else NULL
    cdef const floating* hp = <const floating*> p.h + (t * B + b0) * H
    cdef const floating* cp = <const floating*> p.c + (t * B + b0) * H if p.c != NULL else NULL
    cdef const floating* ax = <const floating*> p.aux + (t * B + b0) * H if p.aux != NULL else NULL
    cdef floating* dx = <floating*> p.daux + (t * B + b0) * H if p.daux != NULL else NULL
    cdef const floating* zr
    cdef floating* dzr
    cdef int cell = p.cell, act = p.act, ract = p.ract
    cdef bint fast = p.fast, masked = p.smask != NULL
    if cell == CELL_SIMPLE and nu == H and not masked:
        # the block's rows as one contiguous run
        for j in range(nb * H):
            dzt[j] = dh[j] + dhs[j]
            dh[j] = 0
        grad_from_output(zt, dzt, nb * H, act)
        return
    if cell == CELL_LSTM and fast and not masked:
        # the hot loop of the seeds' LSTMs: nothing to decide per row
        for b in range(nb):
            r = b * H + u0
            zr = zt + b * GH + u0
            dzr = dzt + b * GH + u0
            if floating is float:
                rc_lstm_bwd_f(zr, zr + H, zr + 2 * H, zr + 3 * H, cp + r, ax + r, dhs + r, dh + r,
                              dc + r, dzr, dzr + H, dzr + 2 * H, dzr + 3 * H, nu)
            else:
                rc_lstm_bwd_d(zr, zr + H, zr + 2 * H, zr + 3 * H, cp + r, ax + r, dhs + r, dh + r,
                              dc + r, dzr, dzr + H, dzr + 2 * H, dzr + 3 * H, nu)
        return
    if (cell == CELL_GRU or cell == CELL_GRU_BEFORE) and fast and not masked:
        for b in range(nb):
            r = b * H + u0
            zr = zt + b * GH + u0
            dzr = dzt + b * GH + u0
            if floating is float:
                rc_gru_bwd_f(zr, zr + H, zr + 2 * H, hp + r, ax + r, dhs + r, dh + r, dzr,
                             dzr + H, dzr + 2 * H, dx + r if dx != NULL else NULL, nu)
            else:
                rc_gru_bwd_d(zr, zr + H, zr + 2 * H, hp + r, ax + r, dhs + r, dh + r, dzr,
                             dzr + H, dzr + 2 * H, dx + r if dx != NULL else NULL, nu)
        return
    for b in range(nb):
        r = b * H + u0
        zr = zt + b * GH + u0
        dzr = dzt + b * GH + u0
        if masked and not _used(p, t, b0 + b):
            # a masked step passes dh (and dc) straight to the previous step
            for j in range(nu):
                dh[r + j] += dhs[r + j]
            for g in range(GH // H):
                memset(dzr + g * H, 0, nu * sizeof(floating))
            if dx != NULL:
                memset(dx + r, 0, nu * sizeof(floating))
            continue
        if cell == CELL_SIMPLE:
            for j in range(nu):
                dzr[j] = dh[r + j] + dhs[r + j]
                dh[r + j] = 0
            grad_from_output(zr, dzr, nu, act)
        elif cell == CELL_LSTM:
            if not fast:
                for j in range(nu):
                    dh[r + j] += dhs[r + j]
                _lstm_back_any(zr, dzr, ax + r, cp + r, dh + r, dc + r, s + b * GH + u0, H, nu,
                               act, ract)
            elif floating is float:
                rc_lstm_bwd_f(zr, zr + H, zr + 2 * H, zr + 3 * H, cp + r, ax + r, dhs + r, dh + r,
                              dc + r, dzr, dzr + H, dzr + 2 * H, dzr + 3 * H, nu)
            else:
                rc_lstm_bwd_d(zr, zr + H, zr + 2 * H, zr + 3 * H, cp + r, ax + r, dhs + r, dh + r,
                              dc + r, dzr, dzr + H, dzr + 2 * H, dzr + 3 * H, nu)
        elif not fast:
            _gru_back_any(zr, dzr, hp + r, ax + r, dhs + r, dh + r,
                          dx + r if dx != NULL else NULL, H, nu, act, ract)
        elif floating is float:
            rc_gru_bwd_f(zr, zr + H, zr + 2 * H, hp + r, ax + r, dhs + r, dh + r, dzr, dzr + H,
                         dzr + 2 * H, dx + r if dx != NULL else NULL, nu)
        else:
            rc_gru_bwd_d(zr, zr + H, zr + 2 * H, hp + r, ax + r, dhs + r, dh + r, dzr, dzr + H,
                         dzr + 2 * H, dx + r if dx != NULL else NULL, nu)


cdef void _gru_before_back_r(floating* dz, const Rec* p, long t, long b0, long nb,
                             const floating* s) noexcept nogil:
    """GRU reset_before, given d(r ⊙ h_{t-1}) = dhh·U_hᵀ in the scratch's first block: dL/dr
    (pre-activation), and dh += d(r ⊙ h) ⊙ r ⊙ mask_h."""
    cdef long B = p.B, H = p.H, GH = p.GH, b, j
    cdef const floating* zr
    cdef floating* dzr
    cdef const floating* ah
    cdef const floating* mask
    cdef floating* dh = <floating*> p.dh + b0 * H
    cdef floating d
    for b in range(nb):
        if not _used(p, t, b0 + b):
            continue
        zr = <const floating*> p.z + ((t * B + b0 + b) * GH)
        dzr = dz + (t * B + b0 + b) * GH
        ah = <const floating*> p.h + (t * B + b0 + b) * H
        mask = NULL
        if p.M > 0:
            ah = <const floating*> p.hm + (2 * p.hm_gate + (t * B + b0 + b) * H)
            mask = <const floating*> p.rmask + ((2 * B if p.M > 1 else 0) + b0 + b) * H
        if p.fast:
            if floating is float:
                rc_gru_bwd_before_r_f(zr + H, ah, s + b * GH, mask, dzr + H, dh + b * H, H)
            else:
                rc_gru_bwd_before_r_d(zr + H, ah, s + b * GH, mask, dzr + H, dh + b * H, H)
            continue
        for j in range(H):
            d = s[b * GH + j]
            dzr[H + j] = d * ah[j]                     # dL/dr_t (pre-activation)
            d = d * zr[H + j]                          # through r ⊙ h_{t-1}
            if mask != NULL:
                d = d * mask[j]
            dh[b * H + j] += d
        grad_from_output(zr + H, dzr + H, H, p.ract)


cdef inline void _swap_candidate(floating* dz, const Rec* p, long t, long b0, long nb, long u0,
                                 long nu) noexcept nogil:
    """GRU reset_after: dz[t] leaves as the gradient of x·W + b and daux[t] as that of
    h·U_h + b'_h; the step's product needed the latter in dz's candidate block."""
    cdef long B = p.B, H = p.H, GH = p.GH, b, j
    cdef floating* drow
    cdef floating* xr
    cdef floating d
    for b in range(nb):
        drow = dz + (t * B + b0 + b) * GH + 2 * H + u0
        xr = <floating*> p.daux + (t * B + b0 + b) * H + u0
        for j in range(nu):
            d = drow[j]
            drow[j] = xr[j]
            xr[j] = d


# ---------------------------------------------------------------- the loops

cdef void _forward_block(floating* z, const Rec* p, int b0, int b1) noexcept nogil:
    """The whole forward loop for batch rows b0:b1."""
    cdef long T = p.T, B = p.B, H = p.H, GH = p.GH, nb = b1 - b0, t
    cdef const floating* U = <const floating*> p.U
    cdef floating* hprev
    cdef floating* A
    for t in range(T):
        hprev = <floating*> p.h + (t * B + b0) * H
        A = hprev
        if p.M > 0:
            A = <floating*> p.hm + (t * B + b0) * H
            _operands(p, hprev, A, b0, nb, 0, H)
        if p.cell == CELL_GRU:
            # rec = A·U (the scratch), which r multiplies in part
            _product(nb, H, p.n_fwd, A, p.hm_gate, U, GH, <const floating*> p.Upk,
                     <floating> 0, <floating*> p.scratch + b0 * GH, GH)
        else:
            # z[t] += A·U   (GRU reset_before: z and r's columns only)
            _product(nb, H, p.n_fwd, A, p.hm_gate, U, GH, <const floating*> p.Upk,
                     <floating> 1, z + (t * B + b0) * GH, GH)
        _post_forward(z, p, t, b0, nb, 0, H, False)
        if p.cell == CELL_GRU_BEFORE:
            # z[t][:, 2H:] += (r ⊙ h[t-1])·U_h   (waits for the first product)
            gemm_packed(False, nb, H, H, <floating*> p.aux + (t * B + b0) * H, H,
                        <const floating*> p.Uhpk, U + 2 * H, GH, <floating> 1,
                        z + (t * B + b0) * GH + 2 * H, GH)
            _post_forward(z, p, t, b0, nb, 0, H, True)
        if p.smask != NULL:
            _carry_states(z, p, t, b0, nb, 0, H)


cdef void _forward_units(floating* z, const Rec* p) noexcept nogil:
    """The whole forward loop for this thread's block of hidden units, inside a parallel
    region: rows are whole, columns are the block's slice of each gate."""
    cdef int nth = rc_team_size(), tid = rc_thread_num()
    cdef long H = p.H, B = p.B, GH = p.GH, T = p.T, t, g
    cdef long u0 = _block_start(tid, nth, H), nu = _block_start(tid + 1, nth, H) - u0
    cdef const floating* U = <const floating*> p.U
    cdef floating* C
    cdef floating* A
    cdef floating beta = 0 if p.cell == CELL_GRU else 1
    # this thread's columns of each gate of U, packed (NULL: read in place)
    cdef floating* Upk[4]
    for g in range(4):
        Upk[g] = pack(H, nu, U + g * H + u0, GH, False) if nu > 0 and g < p.n_fwd else NULL
    for t in range(T):
        A = <floating*> p.h + t * B * H
        if p.M > 0:
            _operands(p, A, <floating*> p.hm + t * B * H, 0, B, u0, nu)
            rc_barrier()
            A = <floating*> p.hm + t * B * H
        C = <floating*> p.scratch if p.cell == CELL_GRU else z + t * B * GH
        for g in range(p.n_fwd if nu > 0 else 0):
            # C[:, gate g, units] (+)= A_g · U[:, gate g, units]
            gemm_packed(False, B, nu, H, A + g * p.hm_gate, H, Upk[g], U + g * H + u0, GH, beta,
                        C + g * H + u0, GH)
        if nu > 0:
            _post_forward(z, p, t, 0, B, u0, nu, False)
            if p.smask != NULL:
                _carry_states(z, p, t, 0, B, u0, nu)
        rc_barrier()  # h_t complete before any thread's next product
    for g in range(4):
        free(Upk[g])


cdef void _backward_block(floating* dz, const Rec* p, int b0, int b1) noexcept nogil:
    """The whole backward loop for batch rows b0:b1."""
    cdef long T = p.T, B = p.B, H = p.H, GH = p.GH, nb = b1 - b0, t
    cdef long t_stop = T - p.steps
    cdef floating* s = <floating*> p.scratch + b0 * GH
    cdef const floating* UT = <const floating*> p.UT
    for t in range(T - 1, t_stop - 1, -1):
        _post_backward(dz, p, t, b0, nb, 0, H, s)
        if p.cell == CELL_GRU_BEFORE:
            # d(r ⊙ h_{t-1}) = dhh·U_hᵀ into the scratch's first block
            gemm_packed(False, nb, H, H, dz + (t * B + b0) * GH + 2 * H, GH,
                        <const floating*> p.UThpk, UT + 2 * H * H, H, <floating> 0, s, GH)
            _gru_before_back_r(dz, p, t, b0, nb, s)
        if t > t_stop or t_stop == 0:   # nothing flows back from the window's first step
            _back_product(p, dz + (t * B + b0) * GH, <floating*> p.dh + b0 * H, s, b0, nb, 0, H,
                          <const floating*> p.UTpk)
        if p.cell == CELL_GRU:
            _swap_candidate(dz, p, t, b0, nb, 0, H)
    if t_stop > 0:
        memset(<floating*> p.dh + b0 * H, 0, nb * H * sizeof(floating))
        if p.dc != NULL:
            memset(<floating*> p.dc + b0 * H, 0, nb * H * sizeof(floating))


cdef void _backward_units(floating* dz, const Rec* p) noexcept nogil:
    """The whole backward loop for this thread's block of hidden units: its units' rows, a
    barrier (dz_t complete), then its units' columns of dh_{t-1} += dz_t·Uᵀ."""
    cdef int nth = rc_team_size(), tid = rc_thread_num()
    cdef long H = p.H, B = p.B, GH = p.GH, T = p.T, t, b
    cdef long u0 = _block_start(tid, nth, H), nu = _block_start(tid + 1, nth, H) - u0
    cdef long t_stop = T - p.steps
    cdef const floating* U = <const floating*> p.U
    # this thread's units' rows of U, transposed and packed (NULL: read in place)
    cdef floating* UTpk = pack(p.n_bwd * H, nu, U + u0 * GH, GH, True) if nu > 0 else NULL
    for t in range(T - 1, t_stop - 1, -1):
        if nu > 0:
            _post_backward(dz, p, t, 0, B, u0, nu, <floating*> p.scratch)
        rc_barrier()  # dz_t complete before any thread's product with it
        if (t > t_stop or t_stop == 0) and nu > 0:
            _back_product(p, dz + t * B * GH, <floating*> p.dh, <floating*> p.scratch, 0, B, u0,
                          nu, UTpk)
        if p.cell == CELL_GRU:
            rc_barrier()  # every thread's product has read dz_t's candidate block
            if nu > 0:
                _swap_candidate(dz, p, t, 0, B, u0, nu)
    free(UTpk)
    if t_stop > 0 and nu > 0:
        for b in range(B):
            memset(<floating*> p.dh + b * H + u0, 0, nu * sizeof(floating))
            if p.dc != NULL:
                memset(<floating*> p.dc + b * H + u0, 0, nu * sizeof(floating))


# ---------------------------------------------------------------- entry points

cdef inline int _gates(int cell) noexcept nogil:
    return 1 if cell == CELL_SIMPLE else (4 if cell == CELL_LSTM else 3)


cdef int _setup(Rec* p, int cell, int T, int B, int H, int M, int act, int ract) noexcept:
    cdef int G = _gates(cell)
    p.cell, p.T, p.B, p.H, p.GH, p.M = cell, T, B, H, G * H, M
    p.act, p.ract = act, ract
    p.fast = act == RC_TANH and ract == RC_SIGMOID   # Keras's defaults
    p.n_fwd = p.n_bwd = 2 if cell == CELL_GRU_BEFORE else G
    p.hm_gate = <long> T * B * H if M > 1 else 0
    p.Upk = p.Uhpk = p.UT = p.UTpk = p.UThpk = NULL
    p.dhs = p.dh = p.dc = p.daux = NULL
    return G


cdef bint _by_units(int cell, int H, int n_threads, bint unit_blocks) noexcept:
    return unit_blocks and cell != CELL_GRU_BEFORE and _n_blocks(H, n_threads) > 1


def forward(int cell,
            floating[:, :, ::1] z,                  # IN-OUT (T, B, G·H): x·W + b in, gates out
            const floating[:, ::1] U,               # IN (H, G·H)
            const floating[::1] rbias,              # IN (H,) GRU reset_after's b'_h, or (0,)
            floating[:, :, :, ::1] states,          # IN-OUT (S, T+1, B, H)
            floating[:, :, ::1] aux,                # OUT (T, B, H), or (0, 0, 0) for SimpleRNN
            const floating[:, :, ::1] rec_mask,     # IN (M, B, H), or (0, 0, 0)
            floating[:, :, :, ::1] hm,              # OUT (M, T, B, H), or (0, 0, 0, 0)
            const unsigned char[:, ::1] step_mask,  # IN (T, B), or (0, 0)
            floating[:, ::1] scratch,               # scratch (B, G·H)
            int activation, int recurrent_activation, int n_threads, bint unit_blocks):
    """Run the recurrence over a whole sequence in place. See the module docstring."""
    cdef int T = z.shape[0], B = z.shape[1], H = U.shape[0]
    if T == 0 or B == 0 or H == 0:
        return
    cdef Rec p
    cdef int M = rec_mask.shape[0], nblk, blk
    _setup(&p, cell, T, B, H, M, activation, recurrent_activation)
    p.z, p.U = &z[0, 0, 0], &U[0, 0]
    p.rbias = &rbias[0] if rbias.shape[0] > 0 else NULL
    p.h = &states[0, 0, 0, 0]
    p.c = &states[1, 0, 0, 0] if cell == CELL_LSTM else NULL
    p.aux = &aux[0, 0, 0] if aux.shape[0] > 0 else NULL
    p.scratch = &scratch[0, 0]
    p.rmask = &rec_mask[0, 0, 0] if M > 0 else NULL
    p.hm = &hm[0, 0, 0, 0] if M > 0 else NULL
    p.smask = &step_mask[0, 0] if step_mask.shape[0] > 0 else NULL
    cdef floating* zp = &z[0, 0, 0]
    cdef floating* Upk = NULL
    cdef floating* Uhpk = NULL
    if _by_units(cell, H, n_threads, unit_blocks):
        with nogil, parallel(num_threads=_n_blocks(H, n_threads)):
            _forward_units(zp, &p)
        return
    with nogil:
        if M <= 1:   # one operand for all gates: one product from U packed once
            Upk = pack(H, p.n_fwd * H, &U[0, 0], p.GH, False)
        if cell == CELL_GRU_BEFORE:
            Uhpk = pack(H, H, &U[0, 0] + 2 * H, p.GH, False)
    p.Upk, p.Uhpk = Upk, Uhpk
    nblk = _n_blocks(B, n_threads)
    try:
        if nblk == 1:
            with nogil:
                _forward_block(zp, &p, 0, B)
        else:
            for blk in prange(nblk, nogil=True, num_threads=nblk, schedule="static"):
                _forward_block(zp, &p, _block_start(blk, nblk, B), _block_start(blk + 1, nblk, B))
    finally:
        free(Upk)
        free(Uhpk)


def backward(int cell,
             const floating[:, :, ::1] z,           # IN (T, B, G·H): forward's gates
             const floating[:, ::1] U,              # IN (H, G·H)
             const floating[::1] rbias,             # (ignored: forward's aux holds what it did)
             const floating[:, :, :, ::1] states,   # IN (S, T+1, B, H): forward's states
             const floating[:, :, ::1] aux,         # IN (T, B, H): forward's aux
             const floating[:, :, ::1] rec_mask,    # IN (M, B, H), or (0, 0, 0)
             const floating[:, :, :, ::1] hm,       # IN (M, T, B, H): forward's operands
             const unsigned char[:, ::1] step_mask, # IN (T, B), or (0, 0)
             floating[:, ::1] scratch,              # scratch (B, G·H)
             int activation, int recurrent_activation, int n_threads, bint unit_blocks,
             const floating[:, :, ::1] dhs,         # IN (T, B, H): dL/d(output at step t)
             int steps,                             # IN BPTT window: the last `steps` steps
             floating[:, :, ::1] dstates,           # IN-OUT (S, B, H): dL/d final -> initial
             floating[:, :, ::1] dz,                # OUT (T, B, G·H): window rows only
             floating[:, :, ::1] daux):             # OUT (T, B, H) GRU reset_after, or empty
    """Backpropagate through the last `steps` steps. See the module docstring."""
    cdef int T = z.shape[0], B = z.shape[1], H = U.shape[0]
    if T == 0 or B == 0 or H == 0:
        return
    if steps > T or steps < 0:
        steps = T
    cdef Rec p
    cdef int M = rec_mask.shape[0], nblk, blk, G
    G = _setup(&p, cell, T, B, H, M, activation, recurrent_activation)
    p.steps = steps
    p.z, p.U = <void*> &z[0, 0, 0], &U[0, 0]
    p.rbias = NULL
    p.h = <void*> &states[0, 0, 0, 0]
    p.c = <void*> &states[1, 0, 0, 0] if cell == CELL_LSTM else NULL
    p.aux = <void*> &aux[0, 0, 0] if aux.shape[0] > 0 else NULL
    p.scratch = &scratch[0, 0]
    p.rmask = &rec_mask[0, 0, 0] if M > 0 else NULL
    p.hm = <void*> &hm[0, 0, 0, 0] if M > 0 else NULL
    p.smask = &step_mask[0, 0] if step_mask.shape[0] > 0 else NULL
    p.dhs = &dhs[0, 0, 0]
    p.dh = &dstates[0, 0, 0]
    p.dc = &dstates[1, 0, 0] if cell == CELL_LSTM else NULL
    p.daux = &daux[0, 0, 0] if daux.shape[0] > 0 else NULL
    cdef floating* dzp = &dz[0, 0, 0]
    if _by_units(cell, H, n_threads, unit_blocks):
        with nogil, parallel(num_threads=_n_blocks(H, n_threads)):
            _backward_units(dzp, &p)
        return
    cdef floating* UT = <floating*> malloc(<size_t> G * H * H * sizeof(floating))
    if UT == NULL:
        raise MemoryError(f"recurrence backward: no room for the ({G * H}, {H}) transposed "
                          "recurrent kernel")
    cdef floating* UTpk = NULL
    cdef floating* UThpk = NULL
    try:
        with nogil:
            _transpose(&U[0, 0], H, G * H, UT)
            if M <= 1:
                UTpk = pack(p.n_bwd * H, H, UT, H, False)
            if cell == CELL_GRU_BEFORE:
                UThpk = pack(H, H, UT + 2 * H * H, H, False)
        p.UT, p.UTpk, p.UThpk = UT, UTpk, UThpk
        nblk = _n_blocks(B, n_threads)
        if nblk == 1:
            with nogil:
                _backward_block(dzp, &p, 0, B)
        else:
            for blk in prange(nblk, nogil=True, num_threads=nblk, schedule="static"):
                _backward_block(dzp, &p, _block_start(blk, nblk, B),
                                _block_start(blk + 1, nblk, B))
    finally:
        free(UT)
        free(UTpk)
        free(UThpk)
