"""Callback, CallbackList, History and ProgbarLogger: what every fit runs."""

import os

import numpy as np

from ..utils._progbar import Progbar, print_msg


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


def _path(value, argument):
    """A callback's file argument as a str path, or a ValueError naming it."""
    try:
        return os.fspath(value)
    except TypeError:
        raise ValueError(f"`{argument}` must be a file path (str or os.PathLike). Received: "
                         f"{argument}={value!r}") from None


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
    if not isinstance(callbacks, (list, tuple)):
        # Keras flattens whatever it gets: one callback alone is a list of one
        yield callbacks
        return
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

    def run_user_code(self, *hooks):
        """Whether any of these hooks runs code that is not rnncore's own (a subclass's
        override, or a function given to LambdaCallback), which might change the weights:
        predict and evaluate keep products of the weights from batch to batch only when
        their batch hooks do not."""
        for cb in self.callbacks:
            for hook in hooks:
                if hook in vars(cb):
                    return True
                owner = next((k for k in type(cb).__mro__ if hook in vars(k)), None)
                if owner is None or not owner.__module__.startswith(__name__.rpartition(".")[0]):
                    return True
        return False

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
