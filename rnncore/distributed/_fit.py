"""What ``fit`` does differently when its model's optimizer is a DistributedOptimizer.

The trainer reaches these through ``optimizer._data_parallel`` (it imports nothing from
``rnncore.distributed``), and only when that attribute exists, so a model trained in one
process runs exactly the code it ran before. Every function here that communicates is called
by every rank at the same point of ``fit``.
"""
import numpy as np

from . import _comm
from ._shard import shard

# callbacks that write files or print for the whole job: rank 0 runs them, the others not
_ROOT_ONLY = ("ModelCheckpoint", "CSVLogger", "ProgbarLogger", "BackupAndRestore",
              "TensorBoard")


def fit_settings(verbose, callbacks):
    """(verbose, callbacks) for this rank: rank 0 keeps both; another rank prints no
    progress bar and drops the callbacks that write checkpoints, CSV logs or progress."""
    if _comm.rank() == 0 or _comm.size() == 1:
        return verbose, callbacks
    kept = [cb for cb in _flat(callbacks)
            if not any(k.__name__ in _ROOT_ONLY for k in type(cb).__mro__)]
    return 0, kept


def _flat(callbacks):
    for cb in callbacks or ():
        if isinstance(cb, (list, tuple)):
            yield from _flat(cb)
        else:
            yield cb


def shard_validation(validation_data, is_pipeline):
    """Validation arrays, or a PyDataset's batches, cut into one share per rank (all kept:
    evaluation takes no step together, so shares may differ by one sample or batch); other
    pipelines (generators, tf.data) are evaluated whole by every rank. With fewer samples
    (batches) than ranks every rank evaluates them all. Either way the summed metric states
    give the results of the whole validation set: those of identical evaluations have the
    same ratios."""
    from ..models._adapters import is_py_dataset

    if is_py_dataset(validation_data):
        count = getattr(validation_data, "num_batches", 0) if hasattr(
            validation_data, "num_batches") else len(validation_data)
        if count is not None and count >= _comm.size():
            return shard(validation_data, drop_remainder=False)
        return validation_data
    if validation_data is None or is_pipeline(validation_data):
        return validation_data
    if not isinstance(validation_data, (tuple, list)) or is_pipeline(validation_data[0]):
        return validation_data
    n = _comm.size()
    try:
        samples = len(np.asarray(validation_data[1])) if validation_data[1] is not None \
            else None
    except (TypeError, ValueError):
        return validation_data
    if samples is None or samples < n:
        return validation_data
    return tuple(shard(tuple(validation_data), drop_remainder=False))


def check_batches(num_batches):
    """Every rank must take as many steps per epoch: a rank with fewer would leave the others
    waiting in the gradient exchange. Raises on every rank when they differ."""
    if _comm.size() == 1:
        return
    counts = _comm.allgather_object(num_batches)
    if len(set(counts)) > 1:
        raise ValueError(
            "fit with DistributedOptimizer: the ranks would take different numbers of steps "
            f"per epoch ({', '.join(f'rank {r}: {c}' for r, c in enumerate(counts))}). Give "
            "every rank as many samples (rnncore.distributed.shard(data) does), or the same "
            "steps_per_epoch")


class StopTraining(Exception):
    """Raised on every rank by the gradient exchange that another rank joined only to say
    that it stopped training (``model.stop_training`` set during an epoch, e.g. by
    TerminateOnNaN): fit ends the epoch there, without that step's update."""


def announce_stop(optimizer, step, num_batches):
    """This rank stops training after batch `step`: the others, whose next step would wait
    for it, learn it in that step's exchange. After an epoch's last batch there is no next
    exchange, and the epoch's end (:func:`agree_stop`) tells them."""
    if _comm.size() == 1 or num_batches is None or step + 1 >= num_batches:
        return
    optimizer._announce_stop()


def agree_stop(stop_training):
    """Whether any rank stops after this epoch (its callbacks set ``stop_training``): then
    all do, instead of the others waiting for it in the next epoch."""
    if _comm.size() == 1:
        return stop_training
    flag = np.array([1.0 if stop_training else 0.0])
    _comm._allreduce_buffer(flag, _comm.Max, "fit's end of epoch")
    return bool(flag[0])


def reduce_metrics(metrics):
    """Sum the metrics' states (totals, counts, confusion counts) over the ranks, in one
    message: each result is then that of the samples of all ranks together, the same on
    every rank, so EarlyStopping and ReduceLROnPlateau decide alike everywhere."""
    if _comm.size() == 1:
        return
    states = [(m, k) for m in metrics for k, v in sorted(vars(m).items())
              if isinstance(v, np.ndarray) and v.dtype.kind in "fiu"]
    if not states:
        return
    flat = np.concatenate([np.asarray(getattr(m, k), np.float64).ravel() for m, k in states])
    _comm._allreduce_buffer(flat, _comm.Sum, "fit's metric reduction")
    at = 0
    for m, k in states:
        old = getattr(m, k)
        setattr(m, k, flat[at:at + old.size].reshape(old.shape).astype(old.dtype))
        at += old.size
