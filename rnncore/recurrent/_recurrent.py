"""What every recurrent op shares: layouts, the hoisted gemms, truncation, engine choice.

Batch-major user arrays ``(batch, timesteps, features)`` become time-major C-contiguous blocks
for the kernels; ``x·W + b`` is ONE gemm over all T·B rows before the loop, and the weight
gradients are ONE gemm each over the rows of the BPTT window after it.
"""
import numpy as np

from .. import _config
from .._indexed_slices import IndexedSlices
from .._kernels._blas import gemm_bias_into, pgemm, tn_small_takes
from .._kernels._rows import gather_rows, scatter_add_rows, swap_rows
from ._blas_threads import single_threaded_blas  # noqa: F401  (re-exported for the ops)
from ._checks import as_numeric

ACTIVATIONS = {"tanh": 0, "relu": 1, "sigmoid": 2, "linear": 3, "hard_sigmoid": 4}
ENGINES = ("auto", "kernel", "numpy")

_EMPTY = {}
_PARALLEL_GEMM_MIN = 1 << 22  # multiply-adds
# Plain products (x·W, dz·Wᵀ) split over the threads from a quarter of that while the pool is
# awake (its threads run the layer's recurrence): 6400x16·16x32 then gains a third (LSTM(8)
# forward+backward 3% on a machine where LSTM(8) ran threaded). A layer whose recurrence runs on
# one thread (too small, ops._recurrence.kernel_threads) splits them from the full size only:
# on the 2-vCPU development machine a 6400x32·32x16 split cost more in the pool's wake-up than
# it saved (the seeds' LSTM(8) trained 13% faster without it), while 3xSimpleRNN(50), threaded,
# trained 10% slower without the split of its first layer's 6400x10·10x50.
_NN_PARALLEL_MIN = _PARALLEL_GEMM_MIN // 4
_SKINNY_MAX = 128 * 128  # output size up to which Aᵀ·B goes to NumPy's BLAS


def empty(dtype, ndim):
    """The kernels' "no array" value: shape (0, …) of the right dtype and rank."""
    key = (np.dtype(dtype), ndim)
    if key not in _EMPTY:
        _EMPTY[key] = np.zeros((0,) * ndim, dtype=dtype)
    return _EMPTY[key]


def activation_code(value, argument="activation"):
    """The kernels' code (``ACTIVATIONS``) of a built-in activation they run; any other
    activation (another Keras built-in such as 'gelu', or a user's function) as
    :func:`rnncore.activations._resolve` keeps it, for the step-by-step recurrence of
    ``_any_activation``. Only rnncore's and Keras's own functions count as built-ins: a
    user's function named ``tanh`` stays the user's. An unknown name is a ValueError naming
    `argument`."""
    if type(value) is str and value in ACTIVATIONS:  # the layers' every step: no lookup
        return ACTIVATIONS[value]
    from ..activations import _resolve

    act = _resolve(value, argument)
    return ACTIVATIONS.get(act, act) if isinstance(act, str) else act


def runs_on_kernels(*activations):
    """Whether every one of `activations` (as :func:`activation_code` gives them) is a
    kernel's code."""
    return all(isinstance(a, int) for a in activations)


def pick_engine(engine, kernel_module, reference_module):
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    return reference_module if engine == "numpy" else kernel_module


def window(truncate_gradient, T):
    """Number of steps BPTT runs over: all of them for -1, else min(k, T)."""
    # ops is public: 0 would silently zero every gradient and k < -1 broke the window slicing
    if (isinstance(truncate_gradient, bool) or not isinstance(truncate_gradient, (int, np.integer))
            or (truncate_gradient < 1 and truncate_gradient != -1)):
        raise ValueError("truncate_gradient must be -1 (full BPTT) or a positive number of "
                         f"steps, got {truncate_gradient!r}")
    return T if truncate_gradient == -1 or truncate_gradient >= T else int(truncate_gradient)


class Workspace:
    """Arrays reused across calls of the same shape: no allocation per batch in steady state."""

    def __init__(self):
        self._arrays = {}
        # forward calls made with this workspace: a cache is valid only until the next one,
        # which overwrites the arrays its backward reads
        self.forwards = 0

    def get(self, name, shape, dtype, zero=False):
        key = (name, np.dtype(dtype))
        a = self._arrays.get(key)
        if a is None or a.shape != tuple(shape):
            a = np.empty(shape, dtype=dtype)
            self._arrays[key] = a
        if zero:
            a.fill(0)
        return a


class Projections:
    """``table·W + b`` for each (table, W, b) seen, kept for a whole pass over many batches in
    which no weight changes (predict, evaluate): what makes a :class:`Lookup` pay when the
    table has more rows than one batch has ids but fewer than the pass has (Embedding(10000,
    64) -> LSTM(32) predicting 512 samples of 100 ids: one product over 10,000 rows instead of
    eight over 6,400).

    The model makes one per pass and drops it after; it is valid only while the weights it saw
    stay as they were. ``samples`` is the number of samples in the pass, for the choice in
    :meth:`rnncore.layers.Embedding.forward`.
    """

    __slots__ = ("samples", "_entries")

    def __init__(self, samples):
        if isinstance(samples, (bool, np.bool_)) or not isinstance(samples, (int, np.integer)) \
                or samples < 0:
            raise ValueError(f"samples must be a non-negative integer, got {samples!r}")
        self.samples = int(samples)
        self._entries = []

    def get(self, table, kernel, bias):
        """The cached product for these weights, or None. The table is the Embedding's own
        array (compared by identity); W and b may be copies a layer makes at each call
        (GRU's summed biases), so they are compared by value."""
        for t, k, b, projected in self._entries:
            if t is table and (k is kernel or np.array_equal(k, kernel)) and (
                    b is bias or (b is not None and bias is not None and np.array_equal(b, bias))):
                return projected
        return None

    def put(self, table, kernel, bias, projected):
        self._entries.append((table, kernel, bias, projected))


class Lookup:
    """The rows ``table[ids]`` of an Embedding's output, not gathered: what a model hands a
    recurrent op that the Embedding feeds when the table has fewer rows than the batch has ids
    (or than the pass has, with ``projections``).

    The op then gathers ``x·W + b`` from ``table·W + b`` (one product over the table's rows
    instead of the batch's T·B rows, and no (B, T, F) array or transpose), and takes W's
    gradient as ``tableᵀ·S`` with S the dz rows summed per id. Its input gradient is an
    :class:`~rnncore._indexed_slices.IndexedSlices` for the table (ids in time-major order).
    ``np.asarray`` gives the gathered array; the ops fall back to it when a dropout mask or a
    dtype change needs the rows themselves. ``projections``, a :class:`Projections` of the
    pass, keeps ``table·W + b`` from one batch to the next.
    """

    __slots__ = ("_table", "_ids", "_projections")
    ndim = 3

    def __init__(self, table, ids, projections=None):
        # The compiled gathers trust the ids: one out of range reads outside the table. So
        # they are range-checked here, once (one min/max pass, see the tests for its cost),
        # and the attributes are read-only.
        table = as_numeric(table, "table")
        if table.ndim != 2 or table.dtype not in (np.float32, np.float64):
            raise ValueError("table must be a 2D float32 or float64 array (rows, features), "
                             f"got shape {table.shape} and dtype {table.dtype}")
        ids = as_numeric(ids, "ids")
        if ids.dtype.kind not in "iu" or ids.ndim != 2:
            raise ValueError("ids must be a 2D integer array (batch, timesteps), got shape "
                             f"{ids.shape} and dtype {ids.dtype}")
        if ids.size:
            rows = table.shape[0]
            lo, hi = ids.min(), ids.max()
            if lo < 0 or hi >= rows:
                bad = lo if lo < 0 else hi
                where = tuple(int(i) for i in np.argwhere(ids == bad)[0])
                raise ValueError(f"ids must lie in [0, {rows}) (the rows of table), got "
                                 f"ids[{where[0]}, {where[1]}] = {bad}")
        if projections is not None and not isinstance(projections, Projections):
            raise ValueError("projections must be an rnncore.recurrent.Projections or None, got "
                             f"{type(projections).__name__}")
        # the kernels read the table's rows in place (no copy when C-contiguous already, which
        # keeps its identity for Projections)
        self._table = np.ascontiguousarray(table)
        self._ids, self._projections = ids, projections

    table = property(lambda self: self._table, doc="The Embedding's table (rows, features).")
    ids = property(lambda self: self._ids, doc="The ids (batch, timesteps), each a table row.")
    projections = property(lambda self: self._projections,
                           doc="The pass's Projections, or None.")

    @property
    def shape(self):
        return self.ids.shape + self.table.shape[1:]

    @property
    def dtype(self):
        return self.table.dtype

    def __array__(self, dtype=None, copy=None):
        rows = np.take(self.table, self.ids, axis=0)
        return rows if dtype is None else rows.astype(dtype, copy=False)


class _TimeMajorLookup:
    """A :class:`Lookup` in processing order: ids (T, B) C-contiguous, for the cache."""

    __slots__ = ("table", "ids", "projections")

    def __init__(self, table, ids, projections):
        self.table, self.ids, self.projections = table, ids, projections


def time_major(x, dtype, go_backwards, input_mask=None, workspace=None, keep_lookup=True):
    """(B, T, F) → C-contiguous (T, B, F) of `dtype`, reversed in time for go_backwards, with an
    input dropout mask (B, F) applied.

    A :class:`Lookup` of `dtype` with no mask stays a lookup (time-major ids) when
    `keep_lookup` and its table has at most as many rows as the batch has ids (or the pass
    keeps its products), for :func:`input_gemm` and :func:`input_grads`; otherwise its rows
    are gathered, straight into time-major order when the table is of `dtype` (one copy
    instead of a gather and a transpose: 6,400 rows of 64 floats in 67 us, not 103 + 51)."""
    if isinstance(x, Lookup):
        ids = x.ids.T[::-1] if go_backwards else x.ids.T
        ids = np.ascontiguousarray(
            ids, dtype=ids.dtype if ids.dtype in (np.int32, np.int64) else np.int64)
        if x.table.dtype == dtype:
            if keep_lookup and input_mask is None and (
                    x.projections is not None or x.table.shape[0] <= ids.size):
                return _TimeMajorLookup(x.table, ids, x.projections)
            T, B = ids.shape
            F = x.table.shape[1]
            out = workspace.get("x_tm", (T, B, F), dtype) if workspace is not None else None
            if out is None:
                out = np.empty((T, B, F), dtype=dtype)
            gather_rows(x.table, ids.reshape(-1), out.reshape(T * B, F), num_threads(None))
            if input_mask is not None:
                out *= input_mask
            return out
        x = np.asarray(x)
    xt = x.transpose(1, 0, 2)
    if go_backwards:
        xt = xt[::-1]
    B, T, F = x.shape
    out = workspace.get("x_tm", (T, B, F), dtype) if workspace is not None else None
    if out is None:
        out = np.empty((T, B, F), dtype=dtype)
    if not _swap_rows(x, out, reverse_src_cols=go_backwards):
        np.copyto(out, xt, casting="unsafe")
    if input_mask is not None:
        out *= input_mask
    return out


def step_mask_time_major(mask, go_backwards, T, B):
    """Keras's (B, T) boolean mask → the kernels' (T, B) uint8, or the empty marker."""
    if mask is None:
        return empty(np.uint8, 2)
    m = np.asarray(mask).astype(bool).T
    if go_backwards:
        m = m[::-1]
    return np.ascontiguousarray(m, dtype=np.uint8)


def gemm(a, b, out=None, trans_a=False, trans_b=False, beta=0.0, n_threads=None, awake=True):
    """``out = op(a)·op(b) + beta·out`` on C-contiguous 2-D arrays, through rnncore's BLAS shim,
    split over the kernels' threads (``awake``: their pool runs the layer's recurrence too, so a
    plain product splits from a smaller size)."""
    m = a.shape[1] if trans_a else a.shape[0]
    n = b.shape[0] if trans_b else b.shape[1]
    if out is None:
        out = np.empty((m, n), dtype=a.dtype)
    k = a.shape[0] if trans_a else a.shape[1]
    if n_threads is None:
        # A parallel region costs a wake-up and a barrier: worth it for big products only.
        big = _PARALLEL_GEMM_MIN if trans_a or not awake else _NN_PARALLEL_MIN
        n_threads = num_threads(None) if m * n * k >= big else 1
    if (trans_a and not trans_b and beta == 0 and n_threads == 1 and m * n <= _SKINNY_MAX
            and not _tn_small(a.dtype, m, n, k)):
        # The weight gradients Xᵀ·dz of small layers: a long sum of small outer products.
        # NumPy's bundled OpenBLAS (0.3.31) runs these 2-2.5x faster than SciPy's (0.3.30):
        # 6400x16ᵀ·6400x32 109 vs 221 us, 6400x8ᵀ·6400x32 69 vs 172 us on one core. It is
        # held at one thread by single_threaded_blas like SciPy's.
        np.matmul(a.T, b, out=out)
        return out
    pgemm(a, b, out, trans_a, trans_b, 1.0, beta, n_threads)
    return out


def _gemm_bias(a, kernel, bias, out):
    """out = a·kernel + bias in one pass where the BLAS shim's own loop takes it (float32, a
    few inputs and units: 6400x16·16x32 + b in 75 us, where filling out with the bias and a
    BLAS product onto it take 145 us); False, nothing done, otherwise."""
    if not (a.dtype == kernel.dtype == bias.dtype == out.dtype == np.float32
            and a.flags.c_contiguous and kernel.flags.c_contiguous and bias.flags.c_contiguous
            and out.flags.c_contiguous and bias.ndim == 1):
        return False
    return gemm_bias_into(a, kernel, bias, out)


def _tn_small(dtype, m, n, k):
    """True for the Aᵀ·B shapes the BLAS shim does in its own loop (rc_sgemm_tn_small in
    _kernels/_gemm.h, which says its limits), where it beats NumPy's OpenBLAS (6400x8ᵀ·6400x32:
    47 against 66 us)."""
    return dtype == np.float32 and tn_small_takes(m, n, k)


def input_gemm(x_tm, kernel, bias, out, awake=True):
    """out (T, B, N) = x_tm (T, B, F) · kernel (F, N) + bias — one gemm over all T·B rows, or over
    the table's rows for a lookup, whose rows out then gathers."""
    if isinstance(x_tm, _TimeMajorLookup):
        cache = x_tm.projections
        projected = None if cache is None else cache.get(x_tm.table, kernel, bias)
        if projected is None:
            projected = np.empty((x_tm.table.shape[0], kernel.shape[1]), kernel.dtype)
            if bias is None or not _gemm_bias(x_tm.table, kernel, bias, projected):
                gemm(x_tm.table, kernel, projected, awake=awake)
                if bias is not None:
                    projected += bias
            if cache is not None:
                cache.put(x_tm.table, kernel, bias, projected)
        gather_rows(projected, x_tm.ids.reshape(-1), out.reshape(out.shape[0] * out.shape[1],
                                                                 out.shape[2]),
                    num_threads(None))
        return out
    T, B, F = x_tm.shape
    N = out.shape[2]
    out2 = out.reshape(T * B, N)  # explicit sizes: -1 cannot be inferred for an empty batch
    if bias is not None and _gemm_bias(x_tm.reshape(T * B, F), kernel, bias, out2):
        return out
    if bias is not None:
        # rows of B·N: broadcasting the (N,) bias row by row is 2.5x slower for small N
        out.reshape(T, B * N)[...] = np.tile(bias, B)
    gemm(x_tm.reshape(T * B, F), kernel, out2, beta=1.0 if bias is not None else 0.0,
         awake=awake)
    return out


def input_grads(x_tm, kernel, dz, steps, need_dx=True, awake=True):
    """Gradients of the hoisted gemm over the last `steps` steps of the window.

    Returns dW = X_winᵀ·dz_win, db = Σ dz_win, and dX (T, B, F) time-major, zero before the
    window (or None when not needed); for a lookup, dX is the table's IndexedSlices (the
    window's ids only).
    """
    if isinstance(x_tm, _TimeMajorLookup):
        return _lookup_input_grads(x_tm, kernel, dz, steps, need_dx, awake)
    T, B, F = x_tm.shape
    N = dz.shape[2]
    t0 = T - steps
    dz_win = dz[t0:].reshape(steps * B, N)
    dW = gemm(x_tm[t0:].reshape(steps * B, F), dz_win, trans_a=True)
    # summing (steps, B·N) rows first: .sum(axis=0) on (steps·B, N) runs a short inner loop per
    # row, 10x slower for the seeds' N = 3·8 (0.3 ms of a 1.7 ms GRU step)
    db = dz[t0:].reshape(steps, B * N).sum(axis=0).reshape(B, N).sum(axis=0)
    dx = None
    if need_dx:
        dx = np.zeros((T, B, F), dtype=dz.dtype) if t0 else np.empty((T, B, F), dtype=dz.dtype)
        gemm(dz_win, kernel, dx[t0:].reshape(steps * B, F), trans_b=True, awake=awake)
    return dW, db, dx


def _lookup_input_grads(x_tm, kernel, dz, steps, need_dx, awake=True):
    """:func:`input_grads` for a lookup: each id's dz rows summed into S (table rows x N), then
    dW = tableᵀ·S and db = Σ S; the input gradient keeps one slice per id occurrence, which
    Keras's optimizers need (an Embedding's gradient is a tf.IndexedSlices)."""
    T, B, N = dz.shape
    table = x_tm.table
    t0 = T - steps
    ids = x_tm.ids[t0:].reshape(-1)
    dz_win = dz[t0:].reshape(steps * B, N)
    summed = np.zeros((table.shape[0], N), dz.dtype)
    scatter_add_rows(ids, dz_win, summed)
    dW = gemm(table, summed, trans_a=True)
    db = summed.sum(axis=0)
    dx = None
    if need_dx:
        dx = IndexedSlices(ids, gemm(dz_win, kernel, trans_b=True, awake=awake), table.shape)
    return dW, db, dx


def batch_major_input_grad(dx_tm, go_backwards):
    """The op's input gradient in the caller's layout: (B, T, F) from time-major dX, unchanged
    for a lookup's IndexedSlices (or None)."""
    if dx_tm is None or isinstance(dx_tm, IndexedSlices):
        return dx_tm
    return to_batch_major(dx_tm, go_backwards_flip=go_backwards)


def _swap_rows(src, out, reverse_src_rows=False, reverse_src_cols=False):
    """out[j, i] = src[i, j] (src (A, C, F) C-contiguous, out (C, A, F)), with src's first
    or second axis read backwards if asked, one F-element row copy each (compiled: a (64, 100,
    16) float32 block in 21 us, where NumPy's copy of (F,)-sized void rows takes 30 us).
    Returns False (nothing done) when the arrays do not allow it."""
    if (src.dtype != out.dtype or src.dtype not in (np.float32, np.float64)
            or not src.flags.c_contiguous or not out.flags.c_contiguous or src.ndim != 3
            or out.shape != (src.shape[1], src.shape[0], src.shape[2])):
        return False
    swap_rows(src, out, reverse_src_rows, reverse_src_cols)
    return True


def to_batch_major(y_tm, go_backwards_flip=False):
    """(T, B, X) → fresh C-contiguous (B, T, X), reversed in time for go_backwards_flip."""
    T, B, X = y_tm.shape
    out = np.empty((B, T, X), dtype=y_tm.dtype)
    if go_backwards_flip:
        # out[b, t] = y_tm[T-1-t, b]
        if not _swap_rows(y_tm, out, reverse_src_rows=True):
            np.copyto(out, y_tm.transpose(1, 0, 2)[:, ::-1])
    elif not _swap_rows(y_tm, out):
        np.copyto(out, y_tm.transpose(1, 0, 2))
    return out


def output_grads(d_output, seen, T, B, H, dtype, return_sequences, workspace):
    """Gradient arriving at the layer's output → the kernels' ``dhs`` (T, B, H) and the
    ``dh`` (B, H) they start from (dL/dh_T).

    With return_sequences the output at step t is hs[t+1] (in processing order, as Keras returns
    for go_backwards too); without, only the last state gets a gradient, which goes to dh.
    ``seen`` (T, B) marks the outputs that are states rather than Keras's zeros for masked
    steps; those zeros get no gradient.
    """
    dhs = workspace.get("dhs", (T, B, H), dtype,
                        zero=not return_sequences or d_output is None)
    dh = workspace.get("dh", (B, H), dtype, zero=True)
    if d_output is None:
        return dhs, dh
    if return_sequences:
        np.copyto(dhs, d_output.transpose(1, 0, 2), casting="unsafe")
        if seen is not None:
            dhs *= seen[:, :, None]
    elif seen is not None:
        dh += d_output * seen[-1][:, None]
    else:
        dh += d_output
    return dhs, dh


def num_threads(n_threads):
    return _config.get_num_threads() if n_threads is None else n_threads
