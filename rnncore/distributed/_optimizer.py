"""DistributedOptimizer: the wrapped optimizer's update, on gradients averaged over all ranks.

What travels per step (``size()`` ranks, each with its own batch):

- every dense gradient, flattened into ONE buffer per dtype (normally one, float32) and reduced
  with ONE ``Allreduce``: the seeds' models have ten to twenty small tensors, and one message
  each would cost ten to twenty network latencies a step;
- other ``IndexedSlices`` gradients (an Embedding's) as their ``(ids, rows)``, the slices of all
  ranks gathered in rank order, never densified: a batch touches a few hundred rows of a
  table that may hold millions. Ids and rows go in two ``Allgatherv`` started together,
  straight into the arrays the optimizer receives (packing them into one message cost two
  copies of the gathered rows, which grow with the number of ranks, to save one latency).
  The number of slices each rank sends rides in the dense buffer, so the gathers need no
  message of their own to learn it;
- the ``IndexedSlices`` of RMSprop, Adam, Adagrad or SGD when its table is small (two tables
  no bigger than the slices of all ranks) as each row's sum of slices and sum of squared
  slices, two dense tables in the same Allreduce: all their sparse steps read of the slices
  (``RowSums``), a fixed size however many ranks.
Averaging divides the summed dense buffer, and the gathered rows, by ``size()``. The gathered
slices hold every rank's occurrences, so their dense sum is the average of the ranks' dense
sums, and an optimizer that squares occurrences (RMSprop, Adam, Adagrad follow Keras's sparse
ops) squares exactly the occurrences one process with the whole batch would square.
"""
import warnings

import numpy as np

from .._indexed_slices import IndexedSlices, RowSums
from . import _comm


class Compression:
    """Horovod's gradient compression choices. rnncore sends gradients as they are: MPI has no
    float16 sum, and for these models the message is latency-bound, not bandwidth-bound."""

    none = "none"
    fp16 = "fp16"


_COUNT_BASE = 2 ** 20  # a slice count travels as two float32-exact parts (hi, lo)


class _DistributedMixin:
    """Averages the gradients over the ranks, then runs the wrapped optimizer's ``apply``."""

    @property
    def _data_parallel(self):
        """What fit asks about the ranks (``rnncore.distributed._fit``): the trainer finds it
        here, on the optimizer it was compiled with, and imports nothing from this package."""
        from . import _fit

        return _fit

    def apply(self, grads, trainable_variables=None):
        grads = list(grads)
        if grads and _comm.size() > 1:
            grads = self._exchange(grads)
        return super().apply(grads, trainable_variables)

    def __reduce_ex__(self, protocol):
        # the class is made at run time: pickle (and deepcopy) rebuild it from the base
        state = {k: v for k, v in self.__dict__.items() if k != "_dp_layouts"}
        return _restore, (type(self).__mro__[2], state)

    def _exchange(self, grads):
        n = _comm.size()
        if self._dp_sparse_as_dense:
            grads = [g.to_dense() if isinstance(g, IndexedSlices) else g for g in grads]
        pre, divisor = self._scales(n)
        layout = self._layout(grads, n)
        summed, sparse = layout["summed"], layout["sparse"]
        first, _, at = layout["buffers"][0]
        # the fused buffers are kept between steps (the layout repeats every batch): each
        # dense gradient is copied into its place, the two tables of a summed IndexedSlices
        # are scattered straight into theirs (squares of the pre-scaled slices: the buffer's
        # own pre-scaling makes the sums pre-scaled), the count slots and stop flag cleared
        for i, view in layout["dense"]:
            view[...] = grads[i]  # (the view has the gradient's shape: the layout's key)
        for buf, _, end in layout["buffers"]:
            buf[end:] = 0
        for i, sums, squares in summed:
            sums.fill(0)
            squares.fill(0)
            grads[i].sums_and_squares_into(
                sums, squares, None if pre == 1 else grads[i].values.dtype.type(pre))
        # each rank's slice count per gathered IndexedSlices, as two exact parts in this
        # rank's own slots (zeros elsewhere, so the sum is the list of all ranks' counts)
        for j, i in enumerate(sparse):
            slot = at + 2 * (j * n + _comm.rank())
            first[slot], first[slot + 1] = divmod(grads[i].indices.size, _COUNT_BASE)
        self._dp_first_buffer = (first.size, first.dtype)
        counts = None
        for k, (buf, _, end) in enumerate(layout["buffers"]):
            if pre != 1:
                buf[:end] *= buf.dtype.type(pre)
            _comm._allreduce_buffer(buf, self._dp_op, "DistributedOptimizer's allreduce",
                                    every_step=True)
            if k == 0 and buf[-1] > 0:
                from ._fit import StopTraining

                raise StopTraining("another rank stopped training")
            if divisor != 1:
                buf[:end] /= buf.dtype.type(divisor)
            if k == 0 and sparse:
                parts = buf[at:-1].reshape(len(sparse), n, 2).astype(np.int64)
                counts = parts[..., 0] * _COUNT_BASE + parts[..., 1]
        out = list(grads)
        for i, view in layout["dense"]:
            out[i] = view
        for i, sums, squares in summed:
            # the average's slices are the slices / divisor: their squares / divisor²
            if divisor != 1:
                squares /= squares.dtype.type(divisor)
            out[i] = RowSums(sums, squares)
        if sparse:
            for i, gathered in zip(sparse, self._gather_slices([grads[i] for i in sparse],
                                                              counts, pre, divisor)):
                out[i] = gathered
        return out

    def _layout(self, grads, n):
        """Where each gradient of a step goes in the fused buffers (one per dtype, the first
        also holding the slice counts and the stop flag), made once per layout and kept:
        ``{"buffers": [(buffer, [(member, view)], end of the members)], "dense": [(i,
        view)], "summed": [(i, sums view, squares view)], "sparse": [i]}``. A member is a
        dense gradient's index, or ``("sums", i)`` / ``("squares", i)`` of a summed
        IndexedSlices. The key holds what decides the layout (shapes, dtypes, slice counts,
        the options that keep slices whole), so that a step that finds its layout does no
        more than build the key."""
        key = [n, self.loss_scale_factor, self.clipnorm, self.clipvalue, self.global_clipnorm]
        for g in grads:  # (as plain as it can be: this runs every step)
            if isinstance(g, np.ndarray):
                key.append((g.shape, g.dtype))
            elif isinstance(g, IndexedSlices):
                key.append((g.dense_shape, g.values.shape, g.values.dtype))
            else:
                key.append(None if g is None else (np.shape(g), np.result_type(g)))
        key = tuple(key)
        layouts = self.__dict__.setdefault("_dp_layouts", {})
        layout = layouts.get(key)
        if layout is not None:
            return layout
        sparse = [i for i, g in enumerate(grads) if isinstance(g, IndexedSlices)]
        summed = [i for i in sparse if self._row_sums_pay(grads[i], n)]
        gathered = [i for i in sparse if i not in summed]
        members = [(i, tuple(np.shape(g)), np.asarray(g).dtype) for i, g in enumerate(grads)
                   if g is not None and not isinstance(g, IndexedSlices)]
        for i in summed:
            members += [(("sums", i), grads[i].shape, grads[i].dtype),
                        (("squares", i), grads[i].shape, grads[i].dtype)]
        dtypes = sorted({np.dtype(dt).str for _, _, dt in members}) or ["<f4"]
        buffers, views = [], {}
        for k, dt in enumerate(dtypes):
            mine = [m for m in members if np.dtype(m[2]).str == dt]
            at = sum(int(np.prod(shape, dtype=np.int64)) for _, shape, _ in mine)
            # + the slice counts and the stop flag, last (see _announce_stop)
            extra = 2 * n * len(gathered) + 1 if k == 0 else 0
            buf = np.zeros(at + extra, np.dtype(dt))
            places, offset = [], 0
            for member, shape, _ in mine:
                size = int(np.prod(shape, dtype=np.int64))
                view = buf[offset:offset + size].reshape(shape)
                places.append((member, view))
                views[member] = view
                offset += size
            buffers.append((buf, places, at))
        if len(layouts) > 8:  # a layout per distinct last batch, say; never unbounded
            layouts.clear()
        layouts[key] = layout = {
            "buffers": buffers, "sparse": gathered,
            "summed": [(i, views[("sums", i)], views[("squares", i)]) for i in summed],
            "dense": [(m, views[m]) for m, _, _ in members if not isinstance(m, tuple)]}
        return layout

    def _row_sums_pay(self, g, n):
        """Whether an IndexedSlices gradient goes as per-row sums: its optimizer takes them
        (not Nadam), nothing between the exchange and the step needs the slices themselves
        (clipping, loss scaling), and its two tables are no bigger than the slices of all
        ranks (seed 001's 500x16 table: 16,000 numbers against 2 x 6,400 x 16 gathered)."""
        if not getattr(self, "takes_row_sums", False) or self.loss_scale_factor is not None \
                or any(c and c > 0 for c in (self.clipnorm, self.clipvalue,
                                             self.global_clipnorm)):
            return False
        return g.values.dtype in (np.float32, np.float64) and \
            2 * int(np.prod(g.dense_shape)) <= n * g.values.size

    def _announce_stop(self):
        """Take part in the other ranks' next exchange with the stop flag set, and no
        gradient: they raise StopTraining before updating (``_fit.announce_stop``)."""
        length, dtype = self._dp_first_buffer
        buf = np.zeros(length, dtype)
        buf[-1] = 1
        _comm._allreduce_buffer(buf, self._dp_op, "DistributedOptimizer's allreduce",
                                every_step=True)

    def _scales(self, n):
        """(factor before the sum, divisor after it): an average divides the sum by ``n``;
        ``gradient_predivide_factor`` f multiplies by ``1/f`` before and divides by
        ``n/f`` after, as Horovod."""
        if self._dp_op != _comm.Average:
            return 1.0, 1.0
        f = self._dp_predivide
        return 1.0 / f, n / f

    def _gather_slices(self, slices, counts, pre, divisor):
        """All ranks' slices of each IndexedSlices gradient, in rank order: the ids and the
        rows gathered straight into the arrays of the result (two Allgatherv per gradient,
        all started before any is waited for, so they cost one latency and no copy)."""
        requests, out = [], []
        for j, g in enumerate(slices):
            firsts = [int(c) for c in counts[j]]
            values = g.values if pre == 1 else g.values * g.values.dtype.type(pre)
            ids = np.empty(sum(firsts), np.int64)
            rows = np.empty((sum(firsts),) + tuple(g.dense_shape[1:]), g.values.dtype)
            requests += [
                _comm._start_allgatherv(np.asarray(g.indices, dtype=np.int64), ids, firsts),
                _comm._start_allgatherv(values, rows, firsts)]
            out.append((ids, rows, g.dense_shape))
        _comm._wait_all(requests, "DistributedOptimizer's allgather")
        result = []
        for ids, rows, dense_shape in out:
            if divisor != 1:
                rows /= rows.dtype.type(divisor)
            result.append(IndexedSlices(ids, rows, dense_shape))
        return result


_classes = {}


def DistributedOptimizer(optimizer, name=None, device_dense="", device_sparse="",
                         compression=Compression.none, sparse_as_dense=False,
                         gradient_predivide_factor=1.0, op=_comm.Average,
                         backward_passes_per_step=1, average_aggregated_gradients=False,
                         num_groups=0, groups=None, process_set=None,
                         scale_local_gradients=True):
    """``optimizer``, updating from the gradients averaged over all ranks (Horovod's
    ``hvd.DistributedOptimizer``).

    Returns an optimizer of a subclass of ``optimizer``'s class, with the same name,
    configuration and state; use it in ``compile`` in place of ``optimizer``. Dense gradients
    go in one Allreduce per step, Embedding gradients as gathered slices (module notes).

    Parameters
    ----------
    optimizer : rnncore optimizer (an instance, as Horovod takes).
    sparse_as_dense : bool, default False
        Densify IndexedSlices gradients and reduce them with the dense ones (what Horovod
        offers for large batches of a small table). The wrapped optimizer then sees a dense
        gradient, as in Horovod, and RMSprop/Adam/Adagrad square row sums rather than
        occurrences: no longer the same update as one process with the whole batch.
    gradient_predivide_factor : float, default 1.0
        With the average, divide by this factor before the sum and by ``size() / factor``
        after it.
    op : ``Average`` (default) or ``Sum``.
    name, device_dense, device_sparse, compression, num_groups, groups,
    average_aggregated_gradients, scale_local_gradients : accepted for Horovod's signature;
        gradients always travel uncompressed in one fused buffer (``Compression.fp16``
        warns and sends float32).
    backward_passes_per_step, process_set : only the defaults (1, all ranks) are supported.

    Example
    -------
    >>> import rnncore.distributed as hvd                                # doctest: +SKIP
    >>> hvd.init()
    >>> opt = hvd.DistributedOptimizer(rnncore.optimizers.RMSprop(0.001 * hvd.size()))
    >>> model.compile(optimizer=opt, loss="binary_crossentropy")
    """
    from ..optimizers._base import Optimizer

    if not isinstance(optimizer, Optimizer):
        raise ValueError("DistributedOptimizer: optimizer must be an rnncore optimizer "
                         f"instance, such as rnncore.optimizers.Adam(); received {optimizer!r}")
    if isinstance(optimizer, _DistributedMixin):
        raise ValueError("DistributedOptimizer: this optimizer is already distributed")
    if backward_passes_per_step != 1:
        raise ValueError("DistributedOptimizer: rnncore supports backward_passes_per_step=1 "
                         f"only; received {backward_passes_per_step!r}")
    if process_set is not None:
        raise ValueError("DistributedOptimizer: process sets are not supported; pass "
                         "init(comm=[...]) to train on a subset of the ranks")
    if op not in (_comm.Average, _comm.Sum):
        raise ValueError(f"DistributedOptimizer: op must be Average or Sum; received {op!r}")
    if not (isinstance(gradient_predivide_factor, (int, float))
            and gradient_predivide_factor > 0):
        raise ValueError("DistributedOptimizer: gradient_predivide_factor must be a positive "
                         f"number; received {gradient_predivide_factor!r}")
    if gradient_predivide_factor != 1.0 and op != _comm.Average:
        raise ValueError("DistributedOptimizer: gradient_predivide_factor needs op=Average")
    if compression not in (Compression.none, Compression.fp16, None):
        raise ValueError("DistributedOptimizer: compression must be Compression.none or "
                         f"Compression.fp16; received {compression!r}")
    if compression == Compression.fp16:
        warnings.warn("DistributedOptimizer: rnncore sends gradients in their own dtype "
                      "(Compression.fp16 is accepted and ignored)", stacklevel=2)
    _comm._comm()  # init() must have run
    state = dict(optimizer.__dict__, _dp_sparse_as_dense=bool(sparse_as_dense),
                 _dp_predivide=float(gradient_predivide_factor), _dp_op=op)
    return _restore(type(optimizer), state)


def _restore(base, state):
    """An instance of the distributed subclass of ``base`` (named as ``base``, so that
    saved models and ``get_config`` name the wrapped optimizer) holding ``state``."""
    cls = _classes.get(base)
    if cls is None:
        cls = _classes[base] = type(base.__name__, (_DistributedMixin, base),
                                    {"__module__": __name__})
    wrapped = object.__new__(cls)
    wrapped.__dict__.update(state)
    return wrapped
