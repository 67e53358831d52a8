"""Data-parallel training over MPI with Horovod's Keras API (``import horovod.keras as hvd``
becomes ``import rnncore.distributed as hvd``).

Each process (``mpirun -n N python train.py``) trains the same model on its own share of the
data; :func:`DistributedOptimizer` averages the gradients of all processes before every
update, so all keep the same weights. MPI comes from mpi4py (``pip install
'rnncore[distributed]'``), imported by :func:`init`, never by ``import rnncore``.

Example
-------
>>> import rnncore as keras                                            # doctest: +SKIP
>>> import rnncore.distributed as hvd
>>> hvd.init()
>>> x, y = hvd.shard((x, y))
>>> opt = hvd.DistributedOptimizer(keras.optimizers.RMSprop(0.001 * hvd.size()))
>>> model.compile(optimizer=opt, loss="binary_crossentropy", metrics=["acc"])
>>> model.fit(x, y, batch_size=64, epochs=10,
...           callbacks=[hvd.callbacks.BroadcastGlobalVariablesCallback(0),
...                      hvd.callbacks.MetricAverageCallback()],
...           verbose=1 if hvd.rank() == 0 else 0)
"""
from . import callbacks
from ._comm import (Adasum, Average, Max, Min, Product, Sum, allgather, allgather_object,
                    allreduce, barrier, broadcast, broadcast_object, cross_rank, cross_size,
                    gloo_built, gloo_enabled, grouped_allreduce, init, is_homogeneous,
                    is_initialized, local_rank, local_size, mpi_built, mpi_enabled,
                    mpi_threads_supported, nccl_built, rank, shutdown, size)
from ._optimizer import Compression, DistributedOptimizer
from ._shard import shard
from .callbacks import broadcast_variables


def load_model(filepath, custom_optimizers=None, custom_objects=None, compression=None):
    """``rnncore.models.load_model(filepath)`` with its optimizer wrapped in
    :func:`DistributedOptimizer` (Horovod's ``hvd.load_model``)."""
    from ..models import load_model as _load

    model = _load(filepath, custom_objects=custom_objects)
    if getattr(model, "optimizer", None) is not None:
        model.optimizer = DistributedOptimizer(model.optimizer)
    return model


__all__ = [
    "init", "shutdown", "is_initialized", "rank", "size", "local_rank", "local_size",
    "cross_rank", "cross_size", "is_homogeneous", "mpi_enabled", "mpi_built",
    "mpi_threads_supported", "gloo_enabled", "gloo_built", "nccl_built",
    "allreduce", "grouped_allreduce", "allgather", "broadcast", "broadcast_object",
    "allgather_object", "barrier", "broadcast_variables", "Average", "Sum", "Adasum", "Min",
    "Max", "Product", "Compression", "DistributedOptimizer", "callbacks", "shard",
    "load_model",
]
