"""Callbacks with Keras 3's names, arguments and behaviour (``keras.callbacks``).

The trainer drives them through a :class:`CallbackList`::

    callbacks = CallbackList(user_callbacks, add_history=True,
                             add_progbar=verbose != 0, model=model,
                             verbose=verbose, epochs=epochs, steps=steps_per_epoch)
    callbacks.on_train_begin()
    for epoch in range(initial_epoch, epochs):
        callbacks.on_epoch_begin(epoch)
        for step in range(steps_per_epoch):
            callbacks.on_train_batch_begin(step)
            logs = ...                       # running averages: {'loss': .., 'accuracy': ..}
            callbacks.on_train_batch_end(step, logs)
            if model.stop_training:
                break
        epoch_logs = ...                     # + {'val_loss': .., 'val_accuracy': ..}
        callbacks.on_epoch_end(epoch, epoch_logs)
        if model.stop_training:
            break
    callbacks.on_train_end(epoch_logs)

Differences from Keras 3, all deliberate: ``ModelCheckpoint`` takes any file
name (Keras insists on ``.keras`` / ``.weights.h5``; the tutorials we serve use
``'best-lstm-model.h5'``); callbacks run synchronously (Keras may run batch
hooks on a thread pool; the order of events is the same).
"""
import collections
import csv
import operator
import os
import warnings

import numpy as np

from .utils._progbar import Progbar, print_msg

__all__ = [
    "Callback", "CallbackList", "History", "ProgbarLogger", "EarlyStopping",
    "ModelCheckpoint", "TerminateOnNaN", "CSVLogger", "LambdaCallback",
    "LearningRateScheduler", "ReduceLROnPlateau",
]


class Callback:
    """Base class of all callbacks: every hook exists and does nothing.

    Subclass it and override the hooks you need. ``self.model`` is the model
    being trained, ``self.params`` a dict such as
    ``{'verbose': 1, 'epochs': 10, 'steps': 313}``.

    Hooks and their ``logs``: ``on_train_batch_end`` / ``on_test_batch_end``
    get the running averages of the loss and metrics over the epoch so far;
    ``on_epoch_end`` gets the epoch's results, validation ones prefixed with
    ``val_``; ``on_test_end`` the evaluation results; ``on_train_end`` the last
    epoch's logs. Every other hook gets an empty dict.
    ``on_batch_begin`` / ``on_batch_end`` are old aliases that the default
    ``on_train_batch_begin`` / ``on_train_batch_end`` call.
    """

    def __init__(self):
        self.params = None
        self._model = None

    def set_params(self, params):
        self.params = params

    def set_model(self, model):
        self._model = model

    @property
    def model(self):
        return self._model

    def on_batch_begin(self, batch, logs=None):
        """Alias of ``on_train_batch_begin``, kept for old callbacks."""

    def on_batch_end(self, batch, logs=None):
        """Alias of ``on_train_batch_end``, kept for old callbacks."""

    def on_epoch_begin(self, epoch, logs=None):
        """Start of training epoch ``epoch`` (0-based)."""

    def on_epoch_end(self, epoch, logs=None):
        """End of epoch ``epoch``; ``logs`` holds its loss and metrics."""

    def on_train_batch_begin(self, batch, logs=None):
        """Start of training batch ``batch`` (0-based within the epoch)."""
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        """End of a training batch; ``logs`` holds the epoch's running averages."""
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        """Start of a batch in ``evaluate`` or in ``fit``'s validation."""

    def on_test_batch_end(self, batch, logs=None):
        """End of a batch in ``evaluate`` or in ``fit``'s validation."""

    def on_predict_batch_begin(self, batch, logs=None):
        """Start of a batch in ``predict``."""

    def on_predict_batch_end(self, batch, logs=None):
        """End of a batch in ``predict``."""

    def on_train_begin(self, logs=None):
        """Start of ``fit``."""

    def on_train_end(self, logs=None):
        """End of ``fit``; ``logs`` are the last epoch's."""

    def on_test_begin(self, logs=None):
        """Start of ``evaluate`` or of ``fit``'s validation."""

    def on_test_end(self, logs=None):
        """End of ``evaluate`` or of ``fit``'s validation; ``logs`` its results."""

    def on_predict_begin(self, logs=None):
        """Start of ``predict``."""

    def on_predict_end(self, logs=None):
        """End of ``predict``."""


def _plain_logs(logs):
    """A fresh dict of ``logs`` as Keras hands it to callbacks: keys sorted,
    nested dicts flattened, scalars (NumPy ones, 0-d arrays) turned into Python
    floats. Arrays stay arrays (Keras would also squash a one-element array,
    which NumPy deprecates; only predict's ``outputs`` can be one)."""
    result = {}
    for key, value in sorted((logs or {}).items()):
        if isinstance(value, dict):
            result.update(_plain_logs(value))
            continue
        try:
            if np.ndim(value) == 0:
                value = float(value)
        except (TypeError, ValueError):
            pass
        result[key] = value
    return result


def _flatten(callbacks):
    for item in callbacks:
        if isinstance(item, (list, tuple)):
            yield from _flatten(item)
        else:
            yield item


class CallbackList(Callback):
    """Calls every hook of a list of callbacks in order; what ``fit`` uses.

    Parameters
    ----------
    callbacks : list of Callback, optional
        The user's callbacks (nested lists are flattened).
    add_history : bool, default False
        Append a :class:`History` unless the list already has one; it becomes
        ``model.history``.
    add_progbar : bool, default False
        Append a :class:`ProgbarLogger` unless the list already has one.
    model : model, optional
        Given to every callback with ``set_model``.
    **params
        Given to every callback with ``set_params``; ``fit`` passes
        ``verbose``, ``epochs`` and ``steps`` (steps per epoch, or None).

    Each hook converts its ``logs`` once (see ``Callback``) and passes the same
    dict to every callback in turn, so a key one callback adds (such as
    ``learning_rate`` from :class:`LearningRateScheduler`) reaches the ones
    after it, History included.
    """

    def __init__(self, callbacks=None, add_history=False, add_progbar=False,
                 model=None, **params):
        super().__init__()
        self.callbacks = list(_flatten(callbacks)) if callbacks else []
        for cb in self.callbacks:
            if isinstance(cb, type) or not callable(getattr(cb, "set_model", None)):
                raise ValueError(
                    "Each entry of `callbacks` must be a callback instance, such as "
                    f"EarlyStopping(patience=3). Received: callbacks entry {cb!r}")
        self._history = next((cb for cb in self.callbacks if isinstance(cb, History)), None)
        self._progbar = next((cb for cb in self.callbacks if isinstance(cb, ProgbarLogger)), None)
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if self._progbar is None and add_progbar:
            self._progbar = ProgbarLogger()
            self.callbacks.append(self._progbar)
        self.set_model(model)
        self.set_params(params)

    def set_params(self, params):
        self.params = params
        if params:
            for cb in self.callbacks:
                cb.set_params(params)

    def set_model(self, model):
        if model is None:
            return
        super().set_model(model)
        if self._history is not None:
            model.history = self._history
        for cb in self.callbacks:
            cb.set_model(model)

    def _call(self, hook, *args):
        logs = _plain_logs(args[-1])
        for cb in self.callbacks:
            getattr(cb, hook)(*args[:-1], logs)

    def on_batch_begin(self, batch, logs=None):
        self._call("on_batch_begin", batch, logs)

    def on_batch_end(self, batch, logs=None):
        self._call("on_batch_end", batch, logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._call("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._call("on_epoch_end", epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._call("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._call("on_train_batch_end", batch, logs)

    def on_test_batch_begin(self, batch, logs=None):
        self._call("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        self._call("on_test_batch_end", batch, logs)

    def on_predict_batch_begin(self, batch, logs=None):
        self._call("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._call("on_predict_batch_end", batch, logs)

    def on_train_begin(self, logs=None):
        self._call("on_train_begin", logs)

    def on_train_end(self, logs=None):
        self._call("on_train_end", logs)

    def on_test_begin(self, logs=None):
        self._call("on_test_begin", logs)

    def on_test_end(self, logs=None):
        self._call("on_test_end", logs)

    def on_predict_begin(self, logs=None):
        self._call("on_predict_begin", logs)

    def on_predict_end(self, logs=None):
        self._call("on_predict_end", logs)


class History(Callback):
    """Records each epoch's logs; ``fit`` returns it and sets ``model.history``.

    Attributes
    ----------
    history : dict of str to list
        One list per log key, one entry per epoch:
        ``{'loss': [0.69, 0.52], 'val_loss': [0.61, 0.55]}``.
    epoch : list of int
        The epochs recorded in the latest ``fit`` (0-based).
    params : dict
        ``{'verbose': .., 'epochs': .., 'steps': ..}``.
    """

    def __init__(self):
        super().__init__()
        self.history = {}

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        self.model.history = self


class ProgbarLogger(Callback):
    """Prints ``Epoch 1/10`` and a :class:`~rnncore.utils.Progbar` per epoch.

    Reads ``verbose`` (``'auto'`` means 1), ``epochs`` and ``steps`` from the
    params. Inside ``fit`` the validation pass prints nothing; ``evaluate`` and
    ``predict`` get a bar of their own.
    """

    def __init__(self):
        super().__init__()
        self.seen = 0
        self.progbar = None
        self.target = None
        self.verbose = 1
        self.epochs = 1
        self._called_in_fit = False

    def set_params(self, params):
        verbose = params["verbose"]
        self.verbose = 1 if verbose == "auto" else verbose
        self.epochs = params["epochs"]
        self.target = params["steps"]

    def on_train_begin(self, logs=None):
        self._called_in_fit = True

    def on_test_begin(self, logs=None):
        if not self._called_in_fit:
            self._new_progbar()

    def on_predict_begin(self, logs=None):
        self._new_progbar()

    def on_epoch_begin(self, epoch, logs=None):
        self._new_progbar()
        if self.verbose and self.epochs > 1:
            print_msg(f"Epoch {epoch + 1}/{self.epochs}")

    def on_train_batch_end(self, batch, logs=None):
        self._update(batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        if not self._called_in_fit:
            self._update(batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._update(batch, None)  # predictions are not shown

    def on_epoch_end(self, epoch, logs=None):
        self._finalize(logs)

    def on_test_end(self, logs=None):
        if not self._called_in_fit:
            self._finalize(logs)

    def on_predict_end(self, logs=None):
        self._finalize(logs)

    def _new_progbar(self):
        self.seen = 0
        self.progbar = None
        self._ensure_progbar()

    def _ensure_progbar(self):
        if self.progbar is None:
            # The trainer's logs are already running averages: show them as given.
            self.progbar = Progbar(target=self.target, verbose=self.verbose,
                                   unit_name="step", stateless_metrics=set())

    def _update(self, batch, logs):
        self._ensure_progbar()
        self.seen = batch + 1
        if self.verbose == 1:
            self.progbar.update(self.seen, list((logs or {}).items()), finalize=False)

    def _finalize(self, logs):
        if self.target is None:
            # Steps unknown up front: the first epoch's count becomes the target.
            self.target = self.seen
            self.progbar.target = self.target
        self.progbar.update(self.target, list((logs or {}).items()), finalize=True)


# -- monitoring a quantity ---------------------------------------------------

# Direction of well-known metrics, for mode='auto' when the model's metric
# objects do not say (Keras reads `_direction` from its metric objects).
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
            raise ValueError("ModelCheckpoint save_freq must be 'epoch' or an integer "
                             f"number of batches. Received: save_freq={save_freq!r}")
        self.verbose = verbose
        self.filepath = os.fspath(filepath)
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


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch's loss is NaN or infinite.

    Parameters
    ----------
    raise_error : bool, default False
        Raise ``RuntimeError`` at once (skipping the other callbacks'
        ``on_train_end``) instead of setting ``model.stop_training``.
    """

    def __init__(self, raise_error=False):
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or np.isfinite(loss):
            return
        if self.raise_error:
            raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}. "
                               f"Loss value: {loss}. Terminating training immediately.")
        print_msg(f"Batch {batch}: Invalid loss, terminating training")
        self.model.stop_training = True


class CSVLogger(Callback):
    """Write each epoch's logs as a row of a CSV file.

    Columns: ``epoch`` (0-based), then the log keys sorted; when the first
    epoch has no ``val_`` keys, ``val_`` twins of every key are added and filled
    with ``NA``, as Keras does.

    Parameters
    ----------
    filename : str or os.PathLike
        The CSV file, e.g. ``'run/log.csv'``.
    separator : str, default ","
        Field separator.
    append : bool, default False
        Append to an existing file (no second header) instead of overwriting.
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.writer = None
        self.keys = None
        self.append_header = True
        self.csv_file = None

    def on_train_begin(self, logs=None):
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename) as f:
                    self.append_header = not f.readline()
            mode = "a"
        else:
            mode = "w"
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        # Opened without newline="" as Keras does, so rows end the same way.
        self.csv_file = open(self.filename, mode)
        self.writer = None
        self.keys = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys += [f"val_{k}" for k in self.keys]
        if self.writer is None:
            dialect = type("_Dialect", (csv.excel,), {"delimiter": self.sep})
            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys,
                                         dialect=dialect)
            if self.append_header:
                self.writer.writeheader()
        row = collections.OrderedDict(epoch=epoch)
        row.update((k, _csv_value(logs.get(k, "NA"))) for k in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None


def _csv_value(value):
    if isinstance(value, str):
        return value
    if isinstance(value, collections.abc.Iterable) and not (
            isinstance(value, np.ndarray) and value.ndim == 0):
        return f'"[{", ".join(map(str, value))}]"'
    return value


class LambdaCallback(Callback):
    """A callback made of plain functions.

    ``on_epoch_begin(epoch, logs)``, ``on_epoch_end(epoch, logs)``,
    ``on_train_begin(logs)``, ``on_train_end(logs)``,
    ``on_train_batch_begin(batch, logs)``, ``on_train_batch_end(batch, logs)``;
    any other hook of :class:`Callback` may be given by keyword.

    Examples
    --------
    >>> losses = []
    >>> cb = LambdaCallback(on_epoch_end=lambda epoch, logs: losses.append(logs["loss"]))
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None,
                 **kwargs):
        super().__init__()
        self.__dict__.update(kwargs)
        named = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end,
                     on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end)
        for hook, function in named.items():
            if function is not None:
                setattr(self, hook, function)


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch from ``schedule``.

    Parameters
    ----------
    schedule : callable
        ``schedule(epoch, lr) -> float`` (epoch 0-based, lr the current rate);
        a one-argument ``schedule(epoch)`` is accepted too. It must return a
        float (Python or NumPy), else ``ValueError``.
    verbose : int, default 0
        1 prints the new rate at each epoch.

    The rate in force is added to the epoch logs as ``learning_rate``, so it
    shows up in ``history.history``.
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        if not hasattr(optimizer, "learning_rate"):
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        try:
            lr = self.schedule(epoch, float(optimizer.learning_rate))
        except TypeError:  # the one-argument form
            lr = self.schedule(epoch)
        if not isinstance(lr, (float, np.float32, np.float64)):
            raise ValueError("The output of the `schedule` function should be a float. "
                             f"Got: {lr!r}")
        optimizer.learning_rate = lr
        if self.verbose > 0:
            print_msg(f"\nEpoch {epoch + 1}: LearningRateScheduler setting "
                      f"learning rate to {lr}.")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        logs["learning_rate"] = float(self.model.optimizer.learning_rate)


class ReduceLROnPlateau(_MonitorCallback):
    """Multiply the learning rate by ``factor`` when a quantity stops improving.

    Parameters
    ----------
    monitor : str, default "val_loss"
    factor : float, default 0.1
        ``new_lr = lr * factor``; must be below 1.
    patience : int, default 10
        Epochs without improvement before reducing.
    verbose : int, default 0
    mode : {"auto", "min", "max"}, default "auto"
    min_delta : float, default 1e-4
        Smallest change that counts as an improvement.
    cooldown : int, default 0
        Epochs to wait after a reduction before counting again.
    min_lr : float, default 0
        The rate is never reduced below this.

    The rate in force is added to the epoch logs as ``learning_rate``.
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0,
                 mode="auto", min_delta=1e-4, cooldown=0, min_lr=0.0, **kwargs):
        super().__init__(monitor, mode, min_delta=min_delta)
        if factor >= 1.0:
            raise ValueError("ReduceLROnPlateau does not support a factor >= 1.0. "
                             f"Received factor={factor}")
        self.factor = factor
        self.min_lr = min_lr
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def in_cooldown(self):
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        logs = logs or {}
        optimizer = self.model.optimizer
        logs["learning_rate"] = float(optimizer.learning_rate)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn("Learning rate reduction is conditioned on metric "
                          f"`{self.monitor}` which is not available. Available metrics "
                          f"are: {','.join(logs)}.", stacklevel=2)
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = float(optimizer.learning_rate)
                # Compared in float32, as Keras stores the rate.
                if old_lr > np.float32(self.min_lr):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    optimizer.learning_rate = new_lr
                    if self.verbose > 0:
                        print_msg(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing "
                                  f"learning rate to {new_lr}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0
