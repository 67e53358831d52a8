"""rnncore.callbacks against keras.callbacks, both driven with the same logs.

Each callback gets a small fake model (the interface the trainer gives them:
stop_training, get/set_weights, save, save_weights, optimizer.learning_rate);
the weights of epoch e are all e, so the restored weights name their epoch.
"""
import math
import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from rnncore import callbacks as rc

kc = keras.callbacks


class FakeOptimizer:
    def __init__(self, learning_rate=0.01):
        self.learning_rate = learning_rate


class FakeModel:
    def __init__(self):
        self.stop_training = False
        self.optimizer = FakeOptimizer()
        self.saves = []
        self.set_epoch_weights(-1)

    def set_epoch_weights(self, epoch):
        self._weights = [np.full((2, 3), float(epoch)), np.full(3, float(epoch))]

    @property
    def weights_epoch(self):
        return self._weights[0][0, 0]

    def get_weights(self):
        return [w.copy() for w in self._weights]

    def set_weights(self, weights):
        self._weights = [np.array(w) for w in weights]

    def save(self, filepath, overwrite=True):
        self._write("model", filepath)

    def save_weights(self, filepath, overwrite=True):
        self._write("weights", filepath)

    def _write(self, kind, filepath):
        with open(filepath, "w") as f:
            f.write(f"{kind} {self.weights_epoch}")
        self.saves.append((kind, filepath))


def _caught(fn):
    """Run fn; return (its result, the warning messages it raised)."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        result = fn()
    return result, [str(w.message) for w in record]


# -- EarlyStopping -------------------------------------------------------------

def _drive_early_stopping(callback, values, monitor="val_loss", model=None):
    """fit's loop: epochs end with logs {monitor: value} (None: key missing)."""
    model = model or FakeModel()
    callback.set_model(model)
    callback.on_train_begin()
    stop_seen_at = None
    logs = {}
    for epoch, value in enumerate(values):
        model.set_epoch_weights(epoch)
        logs = {"loss": 0.5} if value is None else {"loss": 0.5, monitor: value}
        callback.on_epoch_end(epoch, logs)
        if model.stop_training:
            stop_seen_at = epoch
            break
    callback.on_train_end(logs)
    return dict(stop_seen_at=stop_seen_at, stopped_epoch=callback.stopped_epoch,
                best=None if callback.best is None else float(callback.best),
                best_epoch=callback.best_epoch, wait=callback.wait,
                final_weights_epoch=model.weights_epoch)


SEED_CURVE = [0.69, 0.60, 0.52, 0.50, 0.51, 0.505, 0.52, 0.53, 0.49, 0.48]
EARLY_STOPPING_CASES = [
    ("seed_patience3_restore", SEED_CURVE, dict(patience=3, restore_best_weights=True)),
    ("patience0", SEED_CURVE, dict(patience=0)),
    ("patience0_restore", SEED_CURVE, dict(patience=0, restore_best_weights=True)),
    ("never_stops_restores_at_end", SEED_CURVE[:8], dict(patience=20, restore_best_weights=True)),
    ("never_stops_keeps_last", SEED_CURVE[:8], dict(patience=20)),
    ("min_delta", [1.0, 0.98, 0.97, 0.90, 0.89, 0.885, 0.88], dict(min_delta=0.05, patience=2,
                                                                    restore_best_weights=True)),
    ("negative_min_delta_is_abs", [1.0, 0.98, 0.97, 0.9, 0.89, 0.885], dict(min_delta=-0.05,
                                                                           patience=1)),
    ("mode_max", [0.5, 0.6, 0.7, 0.65, 0.66, 0.64, 0.8], dict(monitor="val_accuracy", mode="max",
                                                             patience=2, restore_best_weights=True)),
    ("mode_min_on_accuracy", [0.5, 0.6, 0.7, 0.65], dict(monitor="val_accuracy", mode="min",
                                                         patience=1, restore_best_weights=True)),
    ("baseline_never_beaten", [0.9, 0.85, 0.8, 0.79, 0.78, 0.77], dict(baseline=0.5, patience=3,
                                                                      restore_best_weights=True)),
    ("baseline_beaten_late", [0.9, 0.6, 0.45, 0.46, 0.47, 0.44, 0.45, 0.46, 0.47],
     dict(baseline=0.5, patience=2, restore_best_weights=True)),
    ("start_from_epoch", [0.3, 0.9, 0.8, 0.85, 0.86, 0.87, 0.7], dict(start_from_epoch=2, patience=2,
                                                                     restore_best_weights=True)),
    ("start_from_epoch_beyond_run", [0.3, 0.9, 0.8], dict(start_from_epoch=5, patience=0,
                                                          restore_best_weights=True)),
    ("monitor_missing_some_epochs", [None, 0.5, None, 0.6, 0.7, 0.8], dict(patience=1,
                                                                          restore_best_weights=True)),
    ("monitor_never_present", [None, None, None], dict(patience=0, restore_best_weights=True)),
    ("nan_is_no_improvement", [0.5, float("nan"), float("nan"), 0.4], dict(patience=2)),
    ("monitor_loss", [0.5, 0.5, 0.5], dict(monitor="loss", patience=1)),
    ("numpy_values", list(np.float32(SEED_CURVE)), dict(patience=2, restore_best_weights=True)),
]


@pytest.mark.parametrize("values, kwargs", [c[1:] for c in EARLY_STOPPING_CASES],
                         ids=[c[0] for c in EARLY_STOPPING_CASES])
def test_early_stopping_matches_keras(values, kwargs):
    monitor = kwargs.get("monitor", "val_loss")
    ours, our_warnings = _caught(
        lambda: _drive_early_stopping(rc.EarlyStopping(**kwargs), values, monitor))
    theirs, their_warnings = _caught(
        lambda: _drive_early_stopping(kc.EarlyStopping(**kwargs), values, monitor))
    for result in (ours, theirs):
        if math.isnan(result["best"] or 0):
            result["best"] = "nan"
    assert ours == theirs
    assert our_warnings == their_warnings


def test_early_stopping_seed_usage_stops_and_restores_best():
    result = _drive_early_stopping(rc.EarlyStopping(patience=3, restore_best_weights=True),
                                   SEED_CURVE)
    assert result["stop_seen_at"] == 6          # 3 epochs after the best (epoch 3)
    assert result["final_weights_epoch"] == 3


@pytest.mark.parametrize("verbose", [0, 1])
def test_early_stopping_messages_match_keras(verbose, capsys):
    kwargs = dict(patience=1, restore_best_weights=True, verbose=verbose)
    _drive_early_stopping(rc.EarlyStopping(**kwargs), SEED_CURVE)
    ours = capsys.readouterr().out
    _drive_early_stopping(kc.EarlyStopping(**kwargs), SEED_CURVE)
    assert ours == capsys.readouterr().out
    assert ("early stopping" in ours) == bool(verbose)


def test_early_stopping_instance_can_be_reused_across_fits():
    callback = rc.EarlyStopping(patience=1, restore_best_weights=True)
    first = _drive_early_stopping(callback, [0.5, 0.6, 0.7])
    second = _drive_early_stopping(callback, [0.9, 0.8, 0.7, 0.8, 0.9])
    assert (first["stop_seen_at"], second["stop_seen_at"]) == (1, 3)
    assert second["final_weights_epoch"] == 2


def test_unknown_mode_warns_and_falls_back_to_auto_as_keras():
    ours, our_warnings = _caught(
        lambda: _drive_early_stopping(rc.EarlyStopping(mode="minimum", patience=1), SEED_CURVE))
    theirs, their_warnings = _caught(
        lambda: _drive_early_stopping(kc.EarlyStopping(mode="minimum", patience=1), SEED_CURVE))
    assert ours == theirs
    assert our_warnings == their_warnings == ["EarlyStopping mode 'minimum' is unknown, "
                                              "fallback to auto mode."]


class _Metric:
    def __init__(self, name, direction=None):
        self.name = name
        if direction:
            self._direction = direction


@pytest.mark.parametrize("metrics", [
    [],                                               # known name, no metric objects
    [_Metric("accuracy")],                            # metric without a direction
    [_Metric("compile_metrics")],                     # container below, opened up
], ids=["by_name", "object_without_direction", "nested"])
def test_auto_mode_treats_accuracy_as_higher_is_better(metrics):
    if metrics and metrics[0].name == "compile_metrics":
        metrics[0].metrics = [_Metric("accuracy", "up")]
    values = [0.5, 0.6, 0.7, 0.65, 0.66]
    expected = _drive_early_stopping(rc.EarlyStopping(monitor="val_accuracy", mode="max",
                                                      patience=1), values, "val_accuracy")
    model = FakeModel()
    model.metrics = metrics
    callback = rc.EarlyStopping(monitor="val_accuracy", patience=1)
    assert _drive_early_stopping(callback, values, "val_accuracy", model) == expected
    assert expected["stop_seen_at"] == 3


@pytest.mark.parametrize("make", [rc.EarlyStopping, kc.EarlyStopping], ids=["rnncore", "keras"])
def test_auto_mode_on_an_unknown_metric_is_a_value_error(make):
    with pytest.raises(ValueError, match="mode='max'|mode='min'|`mode='max'`"):
        _drive_early_stopping(make(monitor="val_f00", patience=1), [0.1, 0.2], "val_f00")


# -- ModelCheckpoint ---------------------------------------------------------

def _drive_checkpoint(make, directory, filepath, kwargs, epochs, steps=3):
    """epochs: list of epoch logs; batch logs are {'loss': ...} per step."""
    model = FakeModel()
    callback = make(os.path.join(directory, filepath), **kwargs)
    callback.set_model(model)
    callback.on_train_begin()
    for epoch, logs in enumerate(epochs):
        model.set_epoch_weights(epoch)
        callback.on_epoch_begin(epoch)
        for step in range(steps):
            callback.on_train_batch_end(step, {"loss": 0.1 * step})
        callback.on_epoch_end(epoch, dict(logs))
    callback.on_train_end()
    saves = [(kind, os.path.relpath(path, directory)) for kind, path in model.saves]
    files = sorted(os.path.relpath(os.path.join(root, f), directory)
                   for root, _, names in os.walk(directory) for f in names)
    contents = {}
    for name in files:
        with open(os.path.join(directory, name)) as f:
            contents[name] = f.read()
    return saves, contents


CURVE_LOGS = [dict(loss=1.0 - 0.1 * e, val_loss=v, val_accuracy=a)
              for e, (v, a) in enumerate([(0.70, 0.50), (0.60, 0.62), (0.65, 0.61), (0.55, 0.60),
                                          (0.56, 0.70)])]
CHECKPOINT_CASES = [
    ("seed_every_epoch", "best-lstm-model.h5", {}),
    ("best_only", "best-lstm-model.h5", dict(save_best_only=True)),
    ("best_only_named", "ckpt/sub/{epoch:02d}-{val_loss:.2f}.h5", dict(save_best_only=True)),
    ("every_epoch_named", "ckpt/model-{epoch}-{loss:.3f}.h5", {}),
    ("best_max", "m-{epoch:03d}-{val_accuracy:.4f}.h5", dict(save_best_only=True,
                                                             monitor="val_accuracy", mode="max")),
    ("threshold", "w.weights.h5", dict(save_best_only=True, initial_value_threshold=0.58,
                                       save_weights_only=True)),
    ("min_mode_explicit", "m.h5", dict(save_best_only=True, mode="min")),
    ("monitor_missing_saves_anyway", "m{epoch}.h5", dict(save_best_only=True,
                                                         monitor="val_auc", mode="max")),
    ("save_freq_batches", "b-{epoch}-{batch}.weights.h5", dict(save_freq=2,
                                                               save_weights_only=True)),
    ("save_freq_batches_best", "b-{epoch}-{batch}.h5", dict(save_freq=4, save_best_only=True,
                                                            monitor="loss")),
]


@pytest.mark.parametrize("verbose", [0, 1])
@pytest.mark.parametrize("filepath, kwargs", [c[1:] for c in CHECKPOINT_CASES],
                         ids=[c[0] for c in CHECKPOINT_CASES])
def test_model_checkpoint_saves_what_keras_saves(filepath, kwargs, verbose, tmp_path, capsys):
    results = []
    for name, make in (("ours", rc.ModelCheckpoint), ("keras", kc.ModelCheckpoint)):
        directory = tmp_path / name
        directory.mkdir()
        capsys.readouterr()
        (saves, files), caught = _caught(lambda: _drive_checkpoint(
            make, str(directory), filepath, dict(kwargs, verbose=verbose), CURVE_LOGS))
        out = capsys.readouterr().out.replace(str(directory), "<dir>")
        results.append((saves, files, caught, out))
    assert results[0] == results[1]
    assert results[0][0], "every case saves at least once"


@pytest.mark.parametrize("filepath", ["best-lstm-model.h5", "sub/model.h5", "m.keras"])
def test_model_checkpoint_accepts_keras_file_names(filepath, tmp_path):
    saves, files = _drive_checkpoint(rc.ModelCheckpoint, str(tmp_path), filepath,
                                     dict(save_best_only=True), CURVE_LOGS)
    assert [path for _, path in saves] == [filepath] * 3
    assert files == {filepath: "model 3.0"}   # the best epoch (val_loss 0.55) is on disk


def test_model_checkpoint_unknown_format_key_is_a_key_error_naming_the_path(tmp_path):
    with pytest.raises(KeyError, match="val_acc"):
        _drive_checkpoint(rc.ModelCheckpoint, str(tmp_path), "m-{val_acc:.2f}.h5", {}, CURVE_LOGS)


def test_model_checkpoint_on_an_existing_directory_is_an_error(tmp_path):
    (tmp_path / "ckpt.h5").mkdir()
    with pytest.raises(OSError, match="non-directory filepath"):
        _drive_checkpoint(rc.ModelCheckpoint, str(tmp_path), "ckpt.h5", {}, CURVE_LOGS)


@pytest.mark.parametrize("save_freq", ["batch", 2.5, None])
def test_model_checkpoint_bad_save_freq_names_it(save_freq):
    with pytest.raises(ValueError, match=f"save_freq={save_freq!r}"):
        rc.ModelCheckpoint("m.h5", save_freq=save_freq)


def test_model_checkpoint_accepts_pathlike(tmp_path):
    callback = rc.ModelCheckpoint(tmp_path / "m.h5")
    assert callback.filepath == str(tmp_path / "m.h5")


# -- the trainer's side: CallbackList and History ----------------------------

def _epochs(callbacks, model, val_losses):
    """fit's calls, logs as a trainer gives them (NumPy values, unsorted)."""
    callbacks.on_train_begin()
    logs = {}
    for epoch, val_loss in enumerate(val_losses):
        model.set_epoch_weights(epoch)
        callbacks.on_epoch_begin(epoch)
        for step in range(2):
            callbacks.on_train_batch_begin(step)
            callbacks.on_train_batch_end(step, {"loss": np.float32(0.5), "accuracy": 0.5})
            if model.stop_training:
                break
        logs = {"val_loss": np.float32(val_loss), "loss": np.float64(0.6),
                "accuracy": np.array(0.5), "val_accuracy": 0.4 + 0.1 * epoch}
        callbacks.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    callbacks.on_train_end(logs)


def _make_list(module, callbacks, model, verbose=0, epochs=3):
    return module.CallbackList(callbacks, add_history=True, add_progbar=verbose != 0,
                               model=model, verbose=verbose, epochs=epochs, steps=2)


@pytest.mark.parametrize("with_scheduler", [False, True])
def test_history_matches_keras(with_scheduler):
    results = []
    for module in (rc, kc):
        model = FakeModel()
        user = [module.LearningRateScheduler(lambda e, lr: lr / 2)] if with_scheduler else []
        callbacks = _make_list(module, user, model)
        _epochs(callbacks, model, [0.7, 0.6, 0.5])
        history = model.history
        assert isinstance(history, module.History)
        results.append((history.history, list(history.history), history.epoch, history.params,
                        [type(v) for v in history.history["loss"]]))
    assert results[0] == results[1]
    assert results[0][3] == {"verbose": 0, "epochs": 3, "steps": 2}
    assert ("learning_rate" in results[0][0]) == with_scheduler


@pytest.mark.parametrize("verbose, user, expect", [
    (1, lambda m: [m.TerminateOnNaN(), [m.CSVLogger(os.devnull)]],
     ["TerminateOnNaN", "CSVLogger", "History", "ProgbarLogger"]),
    (0, lambda m: [m.TerminateOnNaN()], ["TerminateOnNaN", "History"]),
    ("auto", lambda m: [m.History()], ["History", "ProgbarLogger"]),
    (2, lambda m: [m.ProgbarLogger(), m.History()], ["ProgbarLogger", "History"]),
], ids=["verbose1", "silent", "user_history", "user_progbar"])
def test_callback_list_order_and_defaults_match_keras(verbose, user, expect):
    results = []
    for module in (rc, kc):
        model = FakeModel()
        user_callbacks = user(module)
        callbacks = _make_list(module, user_callbacks, model, verbose)
        assert all(cb.model is model for cb in callbacks.callbacks)
        histories = [cb for cb in callbacks.callbacks if isinstance(cb, module.History)]
        assert model.history is histories[0]
        assert len(histories) == 1
        mine = [cb for cb in user_callbacks if isinstance(cb, module.History)]
        assert mine in ([], histories)   # the user's own History is the one used
        results.append([(type(cb).__name__, cb.params) for cb in callbacks.callbacks])
    assert results[0] == results[1]
    assert [name for name, _ in results[0]] == expect
    assert dict(results[0])["History"] == {"verbose": verbose, "epochs": 3, "steps": 2}


@pytest.mark.parametrize("module", [rc, kc], ids=["rnncore", "keras"])
def test_fit_like_the_seeds(module, tmp_path, monkeypatch):
    # ModelCheckpoint('best-lstm-model.h5') + EarlyStopping(patience=3,
    # restore_best_weights=True), validation loss bottoming out at epoch 3.
    monkeypatch.chdir(tmp_path)
    model = FakeModel()
    user = [module.ModelCheckpoint("best-lstm-model.h5"),
            module.EarlyStopping(patience=3, restore_best_weights=True)]
    _epochs(_make_list(module, user, model, epochs=100), model, SEED_CURVE)
    assert model.history.epoch == [0, 1, 2, 3, 4, 5, 6]
    assert model.history.history["val_loss"] == [float(np.float32(v)) for v in SEED_CURVE[:7]]
    assert model.weights_epoch == 3                                  # best epoch restored
    assert (tmp_path / "best-lstm-model.h5").read_text() == "model 6.0"  # saved every epoch


@pytest.mark.parametrize("bad", [rc.EarlyStopping, "EarlyStopping", 3])
def test_callback_list_rejects_what_is_not_a_callback(bad):
    with pytest.raises(ValueError, match="callbacks"):
        rc.CallbackList([bad], model=FakeModel())


def test_old_style_on_batch_end_still_called():
    seen = []

    class OldStyle(rc.Callback):
        def on_batch_end(self, batch, logs=None):
            seen.append((batch, logs["loss"]))

    model = FakeModel()
    _epochs(_make_list(rc, [OldStyle()], model), model, [0.7])
    assert seen == [(0, 0.5), (1, 0.5)]


def test_every_hook_exists_and_callbacks_see_python_floats():
    calls = []

    class Recorder(rc.Callback):
        pass

    hooks = [name for name in dir(kc.Callback) if name.startswith("on_")]
    recorder = Recorder()
    for name in hooks:
        setattr(recorder, name, lambda *a, _n=name: calls.append((_n, a)))
    callbacks = rc.CallbackList([recorder], model=FakeModel(), verbose=0, epochs=1, steps=1)
    for name in hooks:
        args = (0, {"b": np.float32(1.5), "a": {"c": np.int64(2)}}) if "batch" in name or \
            "epoch" in name else ({"b": np.float32(1.5)},)
        getattr(callbacks, name)(*args)
    assert [c[0] for c in calls] == hooks
    batch_logs = calls[hooks.index("on_train_batch_end")][1][1]
    assert batch_logs == {"c": 2.0, "b": 1.5} and list(batch_logs) == ["c", "b"]
    assert all(type(v) is float for v in batch_logs.values())


def test_lambda_callback_hooks():
    events = []
    cb = rc.LambdaCallback(
        on_epoch_end=lambda epoch, logs: events.append(("epoch", epoch, logs["loss"])),
        on_train_end=lambda logs: events.append(("end",)),
        on_train_batch_end=lambda batch, logs: events.append(("batch", batch)),
        on_test_end=lambda logs: events.append(("test_end",)))
    model = FakeModel()
    callbacks = _make_list(rc, [cb], model, epochs=1)
    _epochs(callbacks, model, [0.7])
    callbacks.on_test_begin()
    callbacks.on_test_end()
    assert events == [("batch", 0), ("batch", 1), ("epoch", 0, 0.6), ("end",), ("test_end",)]


# -- TerminateOnNaN, learning-rate callbacks, CSVLogger -----------------------

@pytest.mark.parametrize("losses", [[0.5, float("nan"), 0.4], [0.5, float("inf")],
                                    [0.5, -np.inf], [0.5, 0.4, np.float32(0.3)]],
                         ids=["nan", "inf", "-inf", "finite"])
def test_terminate_on_nan_matches_keras(losses, capsys):
    results = []
    for module in (rc, kc):
        model = FakeModel()
        callback = module.TerminateOnNaN()
        callback.set_model(model)
        stopped_at = None
        for batch, loss in enumerate(losses):
            callback.on_train_batch_end(batch, {"loss": loss})
            if model.stop_training:
                stopped_at = batch
                break
        results.append((stopped_at, capsys.readouterr().out))
    assert results[0] == results[1]
    assert (results[0][0] is None) == all(np.isfinite(losses))


def test_terminate_on_nan_raise_error():
    callback = rc.TerminateOnNaN(raise_error=True)
    callback.set_model(FakeModel())
    with pytest.raises(RuntimeError, match="batch 3"):
        callback.on_train_batch_end(3, {"loss": float("nan")})


def _drive_lr(callback, values, model=None):
    model = model or FakeModel()
    callback.set_model(model)
    callback.on_train_begin()
    trace = []
    for epoch, value in enumerate(values):
        callback.on_epoch_begin(epoch, {})
        logs = {"val_loss": value}
        callback.on_epoch_end(epoch, logs)
        trace.append((model.optimizer.learning_rate, logs.get("learning_rate")))
    return trace


@pytest.mark.parametrize("verbose", [0, 1])
@pytest.mark.parametrize("schedule", [
    lambda epoch, lr: lr if epoch < 2 else lr * 0.5,
    lambda epoch: 0.1 / (epoch + 1),
    lambda epoch, lr: np.float32(lr * 0.9),
], ids=["two_args", "one_arg", "numpy_float"])
def test_learning_rate_scheduler_matches_keras(schedule, verbose, capsys):
    ours = _drive_lr(rc.LearningRateScheduler(schedule, verbose), [1.0] * 5)
    our_out = capsys.readouterr().out
    theirs = _drive_lr(kc.LearningRateScheduler(schedule, verbose), [1.0] * 5)
    assert ours == theirs
    assert our_out == capsys.readouterr().out


@pytest.mark.parametrize("make", [rc.LearningRateScheduler, kc.LearningRateScheduler],
                         ids=["rnncore", "keras"])
def test_learning_rate_scheduler_must_return_a_float(make):
    with pytest.raises(ValueError, match="should be a float"):
        _drive_lr(make(lambda epoch, lr: 1), [1.0])


PLATEAU = [1.0, 0.9, 0.9, 0.9, 0.9, 0.85, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]


@pytest.mark.parametrize("kwargs", [
    dict(patience=2),
    dict(patience=1, cooldown=2, factor=0.5),
    dict(patience=1, min_lr=0.004, factor=0.5),
    dict(patience=0, min_delta=0.2),
    dict(patience=2, mode="max"),
], ids=["patience", "cooldown", "min_lr", "min_delta", "max"])
@pytest.mark.parametrize("verbose", [0, 1])
def test_reduce_lr_on_plateau_matches_keras(kwargs, verbose, capsys):
    ours = _drive_lr(rc.ReduceLROnPlateau(verbose=verbose, **kwargs), PLATEAU)
    our_out = capsys.readouterr().out
    theirs = _drive_lr(kc.ReduceLROnPlateau(verbose=verbose, **kwargs), PLATEAU)
    assert ours == theirs
    assert our_out == capsys.readouterr().out
    assert ours[-1][0] < 0.01


def test_reduce_lr_on_plateau_rejects_factor_of_one_or_more():
    with pytest.raises(ValueError, match="factor=1.5"):
        rc.ReduceLROnPlateau(factor=1.5)


CSV_CASES = {
    "with_val": [dict(loss=0.5, val_loss=0.6, accuracy=np.float32(0.7), val_accuracy=0.65)] * 3,
    "no_val_adds_NA_columns": [dict(loss=0.5, accuracy=0.7), dict(loss=0.4, accuracy=0.75)],
    "array_and_text_values": [dict(loss=0.5, val_loss=0.6, note="ok, fine",
                                   per_class=np.array([0.1, 0.2]))],
    "key_missing_later": [dict(loss=0.5, val_loss=0.6), dict(loss=0.4)],
    "empty_logs": [{}, {}],
}


@pytest.mark.parametrize("separator", [",", ";"])
@pytest.mark.parametrize("case", sorted(CSV_CASES))
def test_csv_logger_writes_what_keras_writes(case, separator, tmp_path):
    outputs = []
    for module in (rc, kc):
        path = tmp_path / f"{module.__name__}.csv"
        for run in range(2):   # second run appends without a second header
            callback = module.CSVLogger(str(path), separator=separator, append=run == 1)
            callback.set_model(FakeModel())
            callback.on_train_begin()
            for epoch, logs in enumerate(CSV_CASES[case]):
                callback.on_epoch_end(epoch, dict(logs))
            callback.on_train_end()
        outputs.append(path.read_bytes())
    assert outputs[0] == outputs[1]
    assert outputs[0].count(b"epoch") == 1


def test_csv_logger_overwrites_without_append(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("old\n")
    callback = rc.CSVLogger(path)
    callback.set_model(FakeModel())
    callback.on_train_begin()
    callback.on_epoch_end(0, {"loss": 0.5, "val_loss": 0.25})
    callback.on_train_end()
    assert path.read_text().splitlines() == ["epoch,loss,val_loss", "0,0.5,0.25"]
