"""Horovod's Keras callbacks (``hvd.callbacks``), for rnncore models."""
import numpy as np

from ..callbacks import Callback
from . import _comm


def _broadcast_arrays(arrays, root_rank):
    """Rank ``root_rank``'s values of ``arrays`` on every rank, one message per dtype."""
    arrays = [np.asarray(a) for a in arrays]
    out = list(arrays)
    for dt in sorted({a.dtype.str for a in arrays}):
        members = [i for i, a in enumerate(arrays) if a.dtype.str == dt]
        flat = np.concatenate([arrays[i].ravel() for i in members])
        flat = _comm.broadcast(flat, root_rank, name="variables")
        at = 0
        for i in members:
            out[i] = flat[at:at + arrays[i].size].reshape(arrays[i].shape)
            at += arrays[i].size
    return out


def broadcast_variables(variables, root_rank=0):
    """Set each of ``variables`` (rnncore Variables, e.g. ``model.weights``) to its value on
    rank ``root_rank``."""
    variables = list(variables)
    for var, value in zip(variables, _broadcast_arrays([v.value for v in variables],
                                                       root_rank)):
        var.value[...] = value


class BroadcastGlobalVariablesCallback(Callback):
    """Start every rank from rank ``root_rank``'s weights and optimizer state.

    The model's weights are broadcast when training begins (so the first step already starts
    from the same weights everywhere; Horovod broadcasts after the first batch, when its
    optimizer's variables exist); the optimizer's state (step count, learning rate, slots)
    after the first batch, once every rank has built it, so that a run resumed from a
    checkpoint loaded on ``root_rank`` only continues with that checkpoint's state.
    ``device`` is accepted for Horovod's signature.
    """

    def __init__(self, root_rank=0, device=""):
        super().__init__()
        self.root_rank = root_rank
        self.broadcast_done = False
        self._weights_done = False

    def on_train_begin(self, logs=None):
        if self.broadcast_done:
            return
        if self.model.built and self.model.weights:
            broadcast_variables(self.model.weights, self.root_rank)
            self._weights_done = True

    def on_train_batch_end(self, batch, logs=None):
        if self.broadcast_done:
            return
        if not self._weights_done:
            broadcast_variables(self.model.weights, self.root_rank)
        optimizer = self.model.optimizer
        if optimizer is not None and getattr(optimizer, "built", False):
            values = _broadcast_arrays(optimizer.variables, self.root_rank)
            optimizer.load_own_variables({str(i): v for i, v in enumerate(values)})
        self.broadcast_done = True


class MetricAverageCallback(Callback):
    """Replace each number in the epoch's logs by its average over the ranks (Horovod's
    ``MetricAverageCallback``), all in one message. Put it before the callbacks that read the
    logs (EarlyStopping, ReduceLROnPlateau, ModelCheckpoint).

    With a DistributedOptimizer, rnncore's fit already sums the metrics' states over the ranks
    before ``on_epoch_end``, so the logs arrive equal on every rank and stay so here.
    ``device`` is accepted for Horovod's signature."""

    def __init__(self, device=""):
        super().__init__()

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        keys = sorted(k for k, v in logs.items()
                      if isinstance(v, (int, float, np.number)) and not isinstance(v, bool))
        if not keys:
            return
        averaged = _comm.allreduce(np.array([logs[k] for k in keys], np.float64),
                                   name="metrics")
        for k, v in zip(keys, averaged):
            logs[k] = float(v)


class LearningRateScheduleCallback(Callback):
    """Set the learning rate to ``initial_lr * multiplier(epoch)`` from ``start_epoch`` up to
    ``end_epoch`` (Horovod's callback of that name).

    Parameters
    ----------
    initial_lr : float. The rate the multiplier scales (usually the single-process rate
        times ``size()``).
    multiplier : float or callable(epoch) -> float. A float is a constant factor.
    start_epoch, end_epoch : int. The epochs it acts on: ``[start_epoch, end_epoch)``.
    staircase : bool, default True. Change the rate once per epoch; False changes it at
        every batch, with a fractional epoch ``epoch + batch / steps_per_epoch``.
    momentum_correction : bool, default True. When the rate changes, scale the optimizer's
        ``momentum`` by new/old rate for that batch (Goyal et al., 2017).
    steps_per_epoch : int, optional. Default: fit's steps per epoch.
    """

    def __init__(self, initial_lr, multiplier, start_epoch=0, end_epoch=None, staircase=True,
                 momentum_correction=True, steps_per_epoch=None):
        super().__init__()
        self.initial_lr = initial_lr
        self.start_epoch, self.end_epoch = start_epoch, end_epoch
        self.staircase, self.momentum_correction = staircase, momentum_correction
        self.steps_per_epoch = steps_per_epoch
        self.current_epoch = None
        self.restore_momentum = None
        self.multiplier = multiplier if callable(multiplier) else (lambda epoch: multiplier)

    def _autodetect_steps_per_epoch(self):
        steps = self.params.get("steps") if self.params else None
        if not steps:
            raise ValueError(f"{type(self).__name__}: pass steps_per_epoch; fit's number of "
                             "steps per epoch is not known")
        return steps

    def _adjust_learning_rate(self, epoch):
        optimizer = self.model.optimizer
        old_lr = optimizer.learning_rate
        new_lr = self.initial_lr * self.multiplier(epoch)
        optimizer.learning_rate = new_lr
        if self.momentum_correction and getattr(optimizer, "momentum", None) and old_lr:
            self.restore_momentum = optimizer.momentum
            optimizer.momentum = self.restore_momentum * new_lr / old_lr

    def _restore_momentum_if_needed(self):
        if self.restore_momentum is not None:
            self.model.optimizer.momentum = self.restore_momentum
            self.restore_momentum = None

    def on_train_begin(self, logs=None):
        if self.initial_lr is None:
            self.initial_lr = self.model.optimizer.learning_rate
        if not self.staircase and not self.steps_per_epoch:
            self.steps_per_epoch = self._autodetect_steps_per_epoch()

    def on_epoch_begin(self, epoch, logs=None):
        self.current_epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if self.current_epoch < self.start_epoch or (
                self.end_epoch is not None and self.current_epoch >= self.end_epoch):
            return
        if self.staircase and batch == 0:
            self._adjust_learning_rate(self.current_epoch)
        elif not self.staircase:
            self._adjust_learning_rate(self.current_epoch + batch / self.steps_per_epoch)

    def on_train_batch_end(self, batch, logs=None):
        self._restore_momentum_if_needed()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["lr"] = float(self.model.optimizer.learning_rate)


class LearningRateWarmupCallback(LearningRateScheduleCallback):
    """Raise the learning rate gradually, batch by batch, from ``initial_lr / size()`` to
    ``initial_lr`` over the first ``warmup_epochs`` epochs (Horovod's callback; Goyal et al.,
    2017): a large rate scaled by the number of ranks is unstable in the first steps.

    Parameters
    ----------
    initial_lr : float. The rate after warm-up (usually the single-process rate times
        ``size()``).
    warmup_epochs : int, default 5.
    momentum_correction, steps_per_epoch : as :class:`LearningRateScheduleCallback`.
    verbose : int, default 0. 1 prints a line when the warm-up ends (rank 0 only).
    """

    def __init__(self, initial_lr, warmup_epochs=5, momentum_correction=True,
                 steps_per_epoch=None, verbose=0):
        def multiplier(epoch):
            # the rate of the step after this batch, so the last warm-up step reaches 1
            epoch += 1.0 / self.steps_per_epoch
            n = _comm.size()
            return 1.0 / n * (epoch * (n - 1) / warmup_epochs + 1)

        super().__init__(initial_lr, multiplier, start_epoch=0, end_epoch=warmup_epochs,
                         staircase=False, momentum_correction=momentum_correction,
                         steps_per_epoch=steps_per_epoch)
        self.warmup_epochs = warmup_epochs
        self.verbose = verbose

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if epoch == self.end_epoch - 1 and self.verbose > 0 and _comm.rank() == 0:
            print(f"\nEpoch {epoch + 1}: finished gradual learning rate warmup to "
                  f"{self.model.optimizer.learning_rate:g}.")
