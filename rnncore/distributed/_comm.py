"""The process group: MPI through mpi4py, imported by :func:`init` only, and the collectives
on NumPy arrays with Horovod's names and meanings.

Every collective waits with a deadline when one is set (``init(timeout=...)`` or the
``RNNCORE_DISTRIBUTED_TIMEOUT`` environment variable, in seconds): a rank that stops taking
part, without dying, would otherwise leave the others blocked for ever. On the deadline the
waiting rank prints which collective it was in and aborts the whole job (``MPI_Abort``). A rank
that dies of a Python exception aborts the job too (see :func:`init`), so the others never wait
for it.
"""
import os
import sys
import time

import numpy as np

# Horovod's reduction ops
Average, Sum, Adasum, Min, Max, Product = "average", "sum", "adasum", "min", "max", "product"

_state = {"comm": None, "local": None, "cross": None, "timeout": None, "MPI": None}


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError as err:
        raise ImportError("rnncore.distributed needs mpi4py and an MPI library: "
                          "pip install 'rnncore[distributed]' (mpi4py and mpich)") from err
    return MPI


def init(comm=None, timeout=None, abort_on_exception=True):
    """Join the process group (every process of ``mpirun -n N python train.py``).

    Parameters
    ----------
    comm : mpi4py communicator or list of ranks, optional
        The processes that train together (default: all of ``MPI.COMM_WORLD``), as Horovod's
        ``init(comm)``; a list of world ranks makes a sub-group of those.
    timeout : float, optional (rnncore extension)
        Seconds a collective may wait for the other ranks before this rank aborts the job
        with a message naming the collective. Default: ``RNNCORE_DISTRIBUTED_TIMEOUT`` from
        the environment, else no deadline.
    abort_on_exception : bool, default True (rnncore extension)
        An exception that ends this process (Python's ``sys.excepthook``) prints its
        traceback and then aborts every rank (``MPI_Abort``), instead of leaving the others
        waiting in their next collective.

    Calling it again does nothing (Horovod's ``init`` may be called more than once).
    """
    if _state["comm"] is not None:
        return
    MPI = _mpi()
    world = MPI.COMM_WORLD
    if comm is None:
        comm = world
    elif isinstance(comm, (list, tuple)):
        ranks = [int(r) for r in comm]
        if not ranks or any(not 0 <= r < world.Get_size() for r in ranks):
            raise ValueError(f"init: comm must list world ranks in [0, {world.Get_size()}); "
                             f"received {comm!r}")
        comm = world.Create_group(world.Get_group().Incl(ranks))
        if comm == MPI.COMM_NULL:
            raise ValueError(f"init: this process (world rank {world.Get_rank()}) is not in "
                             f"comm={list(ranks)!r}")
    elif not isinstance(comm, MPI.Comm):
        raise ValueError(f"init: comm must be an mpi4py communicator or a list of ranks; "
                         f"received {type(comm).__name__}")
    argument = "timeout"
    if timeout is None and os.environ.get("RNNCORE_DISTRIBUTED_TIMEOUT"):
        timeout, argument = os.environ["RNNCORE_DISTRIBUTED_TIMEOUT"], \
            "RNNCORE_DISTRIBUTED_TIMEOUT"
    if timeout is not None:
        try:
            seconds = float(timeout)
        except (TypeError, ValueError):
            seconds = float("nan")
        if not seconds > 0:
            raise ValueError(f"init: {argument} must be a positive number of seconds; "
                             f"received {timeout!r}")
        timeout = seconds
    comm = comm.Dup()
    local = comm.Split_type(MPI.COMM_TYPE_SHARED, key=comm.Get_rank())
    cross = comm.Split(local.Get_rank(), key=comm.Get_rank())
    _state.update(comm=comm, local=local, cross=cross, timeout=timeout, MPI=MPI)
    if abort_on_exception and comm.Get_size() > 1:
        _install_abort_hook()


def _install_abort_hook():
    previous = sys.excepthook

    def hook(kind, value, tb):
        previous(kind, value, tb)
        if not issubclass(kind, KeyboardInterrupt):
            _abort(f"rank {rank()} ended with {kind.__name__}: {value}")

    sys.excepthook = hook


def _abort(message):
    sys.stdout.flush()
    print(f"rnncore.distributed: {message}; aborting all {size()} ranks", file=sys.stderr,
          flush=True)
    # the launcher forwards our output through a pipe it stops reading once MPI_Abort
    # tears the job down: without a pause the message was lost in about one run of six
    time.sleep(0.5)
    _state["MPI"].COMM_WORLD.Abort(1)


def shutdown():
    """Leave the process group (MPI itself is finalized when the process exits)."""
    for shared in _state.pop("shared", {}).values():
        if shared is not None:
            shared.free()
    for key in ("cross", "local", "comm"):
        if _state[key] is not None:
            _state[key].Free()
            _state[key] = None


def is_initialized():
    """Whether :func:`init` has run in this process."""
    return _state["comm"] is not None


def _comm(key="comm"):
    comm = _state[key]
    if comm is None:
        raise ValueError("rnncore.distributed has not been initialized; call "
                         "rnncore.distributed.init() first")
    return comm


def rank():
    """This process's rank in the group, ``0 .. size() - 1``."""
    return _comm().Get_rank()


def size():
    """The number of processes in the group."""
    return _comm().Get_size()


def local_rank():
    """This process's rank among the processes on its machine."""
    return _comm("local").Get_rank()


def local_size():
    """The number of processes of the group on this machine."""
    return _comm("local").Get_size()


def cross_rank():
    """The rank of this machine among the machines (with ``local_rank()`` processes each)."""
    return _comm("cross").Get_rank()


def cross_size():
    """The number of machines that have a process with this ``local_rank()``."""
    return _comm("cross").Get_size()


def is_homogeneous():
    """Whether every machine runs the same number of processes."""
    counts = _comm().allgather(local_size())
    return len(set(counts)) == 1


def mpi_enabled():
    return is_initialized()


def mpi_built():
    return True


def mpi_threads_supported():
    return _state["MPI"] is not None and \
        _state["MPI"].Query_thread() == _state["MPI"].THREAD_MULTIPLE


def gloo_enabled():
    return False


def gloo_built():
    return False


def nccl_built():
    return 0


# ------------------------------------------------------------------------- waiting
def _wait(request, what):
    """Complete a non-blocking collective, aborting the job past the deadline."""
    deadline = _state["timeout"]
    if deadline is None:
        request.Wait()
        return
    start = time.monotonic()
    spins, pause = 0, 0.0
    while not request.Test():
        # spin first (a step's allreduce normally completes within microseconds of the last
        # rank arriving), then yield the core: ranks may outnumber the cores
        spins += 1
        if spins > 2000:
            pause = min(0.002, pause + 1e-5)
            time.sleep(pause)
            if time.monotonic() - start > deadline:
                _abort(f"rank {rank()} waited more than {deadline:g} s in {what} for the "
                       "other ranks (one of them stopped taking part: it finished early, is "
                       "blocked elsewhere or took a different number of steps)")


def _reduce_op(op):
    MPI = _state["MPI"]
    ops = {Sum: MPI.SUM, Average: MPI.SUM, Min: MPI.MIN, Max: MPI.MAX, Product: MPI.PROD}
    if op not in ops:
        raise ValueError(f"op must be one of Average, Sum, Min, Max, Product; received {op!r}"
                         + (" (Adasum is not supported)" if op == Adasum else ""))
    return ops[op]


def _allreduce_buffer(buf, op=Sum, what="allreduce", every_step=False):
    """In-place Allreduce of a contiguous array (one message). ``every_step``: the same
    buffer comes back every training step (DistributedOptimizer's fused gradients), so a sum
    of all ranks on one machine goes through shared memory (:class:`_SharedSum`)."""
    comm = _comm()
    if comm.Get_size() > 1:
        shared = _shared_sum(buf, op) if every_step else None
        if shared is not None:
            shared(buf, what)
        else:
            _wait(comm.Iallreduce(_state["MPI"].IN_PLACE, buf, op=_reduce_op(op)), what)
    return buf


# a rank's buffer times the ranks up to which a sum reads every rank's copy (each rank reads
# them all: beyond this MPI's reduce-scatter, which reads each byte once, is kept)
_SHARED_BYTES = 4 << 20


def _shared_sum(buf, op):
    """The :class:`_SharedSum` for ``buf``'s size and dtype, made on first use; None where
    the sum goes through MPI: ranks on several machines, another op, a large buffer,
    ``RNNCORE_DISTRIBUTED_SHARED_MEMORY=0``, or a window MPI could not allocate."""
    local, comm = _state["local"], _state["comm"]
    if op not in (Sum, Average) or buf.dtype not in (np.float32, np.float64) or \
            not buf.flags.c_contiguous or local.Get_size() != comm.Get_size() or \
            local.Get_size() * buf.nbytes > _SHARED_BYTES or \
            os.environ.get("RNNCORE_DISTRIBUTED_SHARED_MEMORY", "1") == "0":
        return None
    key = (buf.size, buf.dtype.str)
    sums = _state.setdefault("shared", {})
    if key not in sums:
        sums[key] = _SharedSum.make(buf.size, buf.dtype)
    return sums[key]


class _SharedSum:
    """The sum of one buffer over the ranks of one machine, through an MPI shared-memory
    window: each rank copies its buffer into its own slot, all meet at a barrier, and each
    adds the slots up in rank order (the same sum, to the bit, on every rank). Two slots per
    rank, used in turn, so a rank that runs ahead writes the next step's slot while the others
    still read this one. For 67 KB on two ranks: 14.5 us where MPI's Allreduce takes 26 us
    (benchmarks/README, data-parallel training)."""

    def __init__(self, window, slots):
        self.window, self.slots, self.turn = window, slots, 0

    @classmethod
    def make(cls, size, dtype):
        """Allocate the window (collective: every rank calls it for the same buffer, in
        the same order); None, on every rank, where the ranks' buffers differ or a rank
        could not allocate it."""
        MPI, local = _state["MPI"], _state["local"]
        agreed = np.array([size, -size], np.int64)
        _wait(local.Iallreduce(MPI.IN_PLACE, agreed, op=MPI.MAX), "shared-memory setup")
        if agreed[0] != -agreed[1]:
            raise ValueError(f"rank {rank()}: the ranks' fused gradient buffers differ in "
                             f"size ({-agreed[1]} to {agreed[0]} numbers): every rank must "
                             "build the same model")
        window, ok = None, np.ones(1, np.int64)
        try:
            info = MPI.Info.Create()
            info.Set("alloc_shared_noncontig", "true")  # each rank's slots on its own pages
            window = MPI.Win.Allocate_shared(2 * size * dtype.itemsize, dtype.itemsize,
                                             info, comm=local)
            info.Free()
            slots = [np.frombuffer(window.Shared_query(r)[0], dtype, 2 * size).reshape(2, size)
                     for r in range(local.Get_size())]
        except (MPI.Exception, OSError, MemoryError, ValueError):
            ok[0] = 0
        _wait(local.Iallreduce(MPI.IN_PLACE, ok, op=MPI.MIN), "shared-memory setup")
        if not ok[0]:
            return None  # (a window some ranks made stays until MPI ends)
        window.Lock_all(MPI.MODE_NOCHECK)  # a passive epoch, for Sync's memory barriers
        return cls(window, slots)

    def __call__(self, buf, what):
        turn, slots = self.turn, self.slots
        self.turn ^= 1
        np.copyto(slots[_state["local"].Get_rank()][turn], buf.reshape(-1))
        self.window.Sync()
        _wait(_state["local"].Ibarrier(), what)
        self.window.Sync()
        out = buf.reshape(-1)
        np.add(slots[0][turn], slots[1][turn], out=out)
        for slot in slots[2:]:
            np.add(out, slot[turn], out=out)

    def free(self):
        self.window.Unlock_all()
        self.window.Free()


def _resolve_op(average, op):
    if average is not None and op is not None:
        raise ValueError("allreduce: give either `average` or `op`, not both")
    if op is None:
        return Sum if average is False else Average
    return op


def allreduce(tensor, average=None, device_dense="", device_sparse="", compression=None,
              op=None, prescale_factor=1.0, postscale_factor=1.0, name=None):
    """``tensor`` reduced over all ranks: the average by default (Horovod's
    ``hvd.allreduce``); ``op=Sum``, ``Min``, ``Max`` or ``Product``, or ``average=False`` for
    the sum. ``prescale_factor`` multiplies each rank's value before the reduction,
    ``postscale_factor`` the result. Returns a new array of ``tensor``'s shape and dtype;
    ``device_*``, ``compression`` and ``name`` are accepted for Horovod's signature."""
    op = _resolve_op(average, op)
    array = np.asarray(tensor)
    buf = np.array(array, copy=True, order="C")
    if prescale_factor != 1.0:
        buf *= buf.dtype.type(prescale_factor)
    _allreduce_buffer(buf, op, f"allreduce({name or 'tensor'})")
    if op == Average:
        buf = _divide(buf, size())
    if postscale_factor != 1.0:
        buf *= buf.dtype.type(postscale_factor)
    return buf


def _divide(buf, n):
    if n == 1:
        return buf
    if np.issubdtype(buf.dtype, np.floating):
        buf /= buf.dtype.type(n)
        return buf
    return buf / n  # Horovod's average of integers is a float


def grouped_allreduce(tensors, average=None, op=None, **kwargs):
    """:func:`allreduce` of each array in ``tensors``, all in one message."""
    op = _resolve_op(average, op)
    arrays = [np.asarray(t) for t in tensors]
    dtype = np.result_type(*arrays) if arrays else np.float32
    flat = np.concatenate([a.astype(dtype).ravel() for a in arrays]) if arrays else \
        np.zeros(0, dtype)
    _allreduce_buffer(flat, op, "grouped_allreduce")
    if op == Average:
        flat = _divide(flat, size())
    out, at = [], 0
    for a in arrays:
        out.append(flat[at:at + a.size].reshape(a.shape).astype(
            a.dtype if op != Average or np.issubdtype(a.dtype, np.floating) else flat.dtype))
        at += a.size
    return out


def allgather(tensor, name=None):
    """The arrays of all ranks concatenated along the first axis, in rank order (Horovod's
    ``hvd.allgather``); their first dimensions may differ, the other dimensions may not."""
    array = np.ascontiguousarray(tensor)
    if array.ndim == 0:
        array = array.reshape(1)
    comm = _comm()
    shapes = comm.allgather(array.shape)
    if any(s[1:] != array.shape[1:] for s in shapes):
        raise ValueError(f"allgather: the arrays of all ranks must agree after the first "
                         f"dimension; received shapes {shapes}")
    return _allgatherv(array, [s[0] for s in shapes], f"allgather({name or 'tensor'})")


def _allgatherv(array, firsts, what):
    """All ranks' `array`s (``firsts[r]`` rows on rank r) concatenated, in rank order."""
    out = np.empty((sum(firsts),) + array.shape[1:], array.dtype)
    _wait_all([_start_allgatherv(array, out, firsts)], what)
    return out


def _start_allgatherv(array, out, firsts):
    """Start gathering all ranks' `array`s into `out` (rows ``firsts[r]`` of rank r, in rank
    order); returns (request, send buffer): the buffer must live until the request is done.
    The request is None in a group of one, where the copy is done already."""
    comm = _comm()
    if comm.Get_size() == 1:
        out[...] = array
        return None, None
    # sent as bytes: any dtype, one message
    row_bytes = int(np.prod(array.shape[1:], dtype=np.int64)) * array.dtype.itemsize
    counts = [f * row_bytes for f in firsts]
    displs = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(int).tolist()
    byte = _state["MPI"].BYTE
    send = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
    return comm.Iallgatherv([send, byte], [out.reshape(-1).view(np.uint8), (counts, displs),
                                           byte]), send


def _wait_all(started, what):
    """Wait for each (request, send buffer) of ``started``."""
    for request, _ in started:
        if request is not None:
            _wait(request, what)


def broadcast(tensor, root_rank, name=None):
    """Rank ``root_rank``'s array, on every rank (Horovod's ``hvd.broadcast``); every rank
    passes an array of the same shape and dtype."""
    buf = np.array(tensor, copy=True, order="C")
    _check_root(root_rank)
    comm = _comm()
    if comm.Get_size() > 1:
        _wait(comm.Ibcast(buf, root=root_rank), f"broadcast({name or 'tensor'})")
    return buf


def _check_root(root_rank):
    if not isinstance(root_rank, (int, np.integer)) or not 0 <= root_rank < size():
        raise ValueError(f"root_rank must be a rank in [0, {size()}); received {root_rank!r}")


def broadcast_object(obj, root_rank=0, name=None):
    """Rank ``root_rank``'s Python object (pickled), on every rank."""
    _check_root(root_rank)
    return _comm().bcast(obj, root=root_rank)


def allgather_object(obj, name=None):
    """The Python objects of all ranks, as a list in rank order."""
    return _comm().allgather(obj)


def barrier():
    """Wait until every rank gets here."""
    comm = _comm()
    if comm.Get_size() > 1:
        _wait(comm.Ibarrier(), "barrier")
