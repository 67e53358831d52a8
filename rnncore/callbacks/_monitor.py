"""Callbacks that watch a metric: EarlyStopping and ModelCheckpoint."""

import operator
import os
import warnings

import numpy as np

from ..utils._progbar import print_msg
from ._base import Callback, _path


_METRICS_UP = {
    "accuracy", "acc", "binary_accuracy", "categorical_accuracy",
    "sparse_categorical_accuracy", "top_k_categorical_accuracy",
    "sparse_top_k_categorical_accuracy", "auc", "precision", "recall",
    "f1_score", "fbeta_score", "r2_score", "cosine_similarity",
}
_METRICS_DOWN = {
    "mse", "mae", "mape", "msle", "mean_squared_error", "mean_absolute_error",
    "mean_absolute_percentage_error", "mean_squared_logarithmic_error",
    "root_mean_squared_error", "binary_crossentropy", "categorical_crossentropy",
    "sparse_categorical_crossentropy", "hinge", "squared_hinge",
    "categorical_hinge", "kl_divergence", "poisson", "log_cosh_error", "logcosh",
}


def _metric_objects(model):
    """The model's metric objects, containers (``.metrics``) opened up."""
    found, todo = [], list(getattr(model, "metrics", None) or [])
    while todo:
        metric = todo.pop(0)
        found.append(metric)
        todo.extend(getattr(metric, "metrics", None) or [])
    return found


class _MonitorCallback(Callback):
    """Shared by EarlyStopping, ModelCheckpoint and ReduceLROnPlateau: which
    way is better for the monitored quantity, and what counts as improving."""

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            # Keras warns and carries on in 'auto' mode; so do we.
            warnings.warn(f"{type(self).__name__} mode '{mode}' is unknown, "
                          "fallback to auto mode.", stacklevel=3)
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op = None

    def _set_monitor_op(self):
        if self.mode == "min":
            self.monitor_op = operator.lt
        elif self.mode == "max":
            self.monitor_op = operator.gt
        else:
            name = self.monitor[4:] if self.monitor.startswith("val_") else self.monitor
            if name == "loss":
                self.monitor_op = operator.lt
            for metric in _metric_objects(self.model):
                direction = getattr(metric, "_direction", None)
                if getattr(metric, "name", None) == name and direction in ("up", "down"):
                    self.monitor_op = operator.gt if direction == "up" else operator.lt
            if self.monitor_op is None and name in _METRICS_UP | _METRICS_DOWN:
                self.monitor_op = operator.gt if name in _METRICS_UP else operator.lt
            if self.monitor_op is None:
                raise ValueError(
                    f"{type(self).__name__} received monitor={self.monitor!r}, but cannot "
                    "tell whether that metric should be maximized or minimized. Pass "
                    "mode='max' to keep the highest value or mode='min' for the lowest.")
        if self.monitor_op is operator.lt:
            self.min_delta = -self.min_delta

    def _is_improvement(self, current, reference):
        if reference is None:
            return True
        if self.monitor_op is None:
            self._set_monitor_op()
        return bool(self.monitor_op(current - self.min_delta, reference))


class EarlyStopping(_MonitorCallback):
    """Stop training when a monitored quantity has stopped improving.

    At each epoch end the monitored value is compared with the best so far.
    After ``patience`` epochs in a row without an improvement of more than
    ``min_delta``, ``model.stop_training`` is set and ``fit`` ends.

    Parameters
    ----------
    monitor : str, default "val_loss"
        Key of the epoch logs to watch.
    min_delta : float, default 0
        A change smaller than this (in absolute value) is no improvement.
    patience : int, default 0
        Epochs without improvement before stopping.
    verbose : int, default 0
        1 prints a line when stopping and when restoring weights.
    mode : {"auto", "min", "max"}, default "auto"
        Whether lower or higher is better; "auto" infers it from the name
        (losses go down, accuracies up). An unknown mode warns and means "auto".
    baseline : float, optional
        Improvements only reset the patience count once they beat this value.
    restore_best_weights : bool, default False
        At the end of training (stopped early or not) set the weights of the
        best epoch seen, even if it did not beat ``baseline``.
    start_from_epoch : int, default 0
        Epochs to ignore at the start, as a warm-up.

    Attributes
    ----------
    stopped_epoch : int
        The epoch (0-based) at which training was stopped; 0 if it was not.
    best, best_epoch, wait : the best value, its epoch and the count of epochs
        since the last improvement.

    Examples
    --------
    >>> stop = EarlyStopping(patience=3, restore_best_weights=True)
    >>> history = model.fit(x, y, epochs=100, validation_split=0.2,
    ...                     callbacks=[stop])              # doctest: +SKIP
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0,
                 mode="auto", baseline=None, restore_best_weights=False,
                 start_from_epoch=0):
        super().__init__(monitor, mode, min_delta=min_delta)
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.wait = 0
        self.stopped_epoch = 0
        self.restore_best_weights = restore_best_weights
        self.best_weights = None
        self.start_from_epoch = start_from_epoch

    def on_train_begin(self, logs=None):
        # The same instance may serve several fit() calls.
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # Whatever happens next, the first monitored epoch is a candidate.
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch

        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print_msg(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print_msg("Restoring model weights from the end of the best epoch: "
                          f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs):
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(f"Early stopping conditioned on metric `{self.monitor}` which is "
                          f"not available. Available metrics are: {','.join(logs)}",
                          stacklevel=2)
        return value


class ModelCheckpoint(_MonitorCallback):
    """Save the model (or its weights) during training.

    Parameters
    ----------
    filepath : str or os.PathLike
        Where to save. May hold ``str.format`` fields filled from ``epoch``
        (1-based), ``batch`` (1-based, with an integer ``save_freq``) and the
        logs, e.g. ``'ckpt/{epoch:02d}-{val_loss:.2f}.h5'``. The parent
        directory is created. Any extension is accepted (Keras requires
        ``.keras`` / ``.weights.h5``; rnncore does not).
    monitor : str, default "val_loss"
        Quantity compared when ``save_best_only``.
    verbose : int, default 0
        1 prints a line at each decision and save.
    save_best_only : bool, default False
        Save only when the monitored quantity improves on the best so far (if
        it is missing from the logs, warn and save anyway).
    save_weights_only : bool, default False
        ``model.save_weights(path)`` instead of ``model.save(path)``.
    mode : {"auto", "min", "max"}, default "auto"
        As in :class:`EarlyStopping`.
    save_freq : "epoch" or int, default "epoch"
        Save at each epoch end, or every that many training batches.
    initial_value_threshold : float, optional
        Starting "best" value for ``save_best_only``.

    Examples
    --------
    >>> checkpoint = ModelCheckpoint('best-lstm-model.h5', save_best_only=True)
    >>> model.fit(x, y, epochs=10, validation_split=0.2,
    ...           callbacks=[checkpoint])                     # doctest: +SKIP
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__(monitor, mode, initial_value_threshold)
        if save_freq != "epoch" and not isinstance(save_freq, int):
            raise ValueError("Unrecognized save_freq: ModelCheckpoint save_freq must be "
                             "'epoch' or an integer number of batches. Received: "
                             f"save_freq={save_freq!r}")
        self.verbose = verbose
        self.filepath = _path(filepath, "filepath")
        # Keras's file-name rules, checked here rather than after the first epoch's training
        name = str(self.filepath)
        if save_weights_only and not name.endswith(".weights.h5"):
            raise ValueError("When using `save_weights_only=True` in `ModelCheckpoint`, the "
                             "filepath provided must end in `.weights.h5` (Keras weights "
                             f"format). Received: filepath={name}")
        if not save_weights_only and not name.endswith((".keras", ".h5")):
            raise ValueError("The filepath provided must end in `.keras` (Keras model "
                             "format) or `.h5` (legacy HDF5, as the tf.keras tutorials "
                             f"write). Received: filepath={name}")
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = None
        self._current_epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save_model(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        if self.save_freq == "epoch":
            self._save_model(epoch, None, logs)

    def _should_save_on_batch(self, batch):
        if self.save_freq == "epoch":
            return False
        if self._last_batch_seen is None or batch <= self._last_batch_seen:
            new_batches = batch + 1  # a new epoch started
        else:
            new_batches = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += new_batches
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _should_save_model(self, epoch, logs, filepath):
        logs = logs or {}
        if not self.save_best_only:
            if self.verbose > 0:
                print_msg(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.",
                          stacklevel=2)
            return True
        if np.ndim(current) > 0:
            warnings.warn("Can save best model only when `monitor` is a scalar value. "
                          f"Received: {current}. Falling back to `save_best_only=False`.")
            return True
        best_str = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                print_msg(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best_str} "
                          f"to {current:.5f}, saving model to {filepath}")
            self.best = current
            return True
        if self.verbose > 0:
            print_msg(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best_str}")
        return False

    def _save_model(self, epoch, batch, logs):
        logs = logs or {}
        filepath = self._get_file_path(epoch, batch, logs)
        if not self._should_save_model(epoch, logs, filepath):
            return
        if os.path.isdir(filepath):
            raise IOError("Please specify a non-directory filepath for ModelCheckpoint. "
                          f"Filepath used is an existing directory: {filepath}")
        dirname = os.path.dirname(filepath)
        if dirname:
            os.makedirs(dirname, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath, overwrite=True)
        if self.verbose > 0:
            print_msg(f"\nEpoch {epoch + 1}: finished saving model to {filepath}")

    def _get_file_path(self, epoch, batch, logs):
        fields = dict(logs)
        fields["epoch"] = epoch + 1
        if batch is not None and "batch" not in logs:
            fields["batch"] = batch + 1
        try:
            return self.filepath.format(**fields)
        except KeyError as exc:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". '
                           f"Reason: {exc}") from None
