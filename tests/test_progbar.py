"""Progress output: rnncore's Progbar and ProgbarLogger print what Keras 3 prints.

Both are driven with the same updates under the same fake clock, so the captured
text must be identical byte for byte (escape codes, "\\b" redraws, padding).
"""
import io
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from rnncore.callbacks import ProgbarLogger
from rnncore.utils import Progbar


class Clock:
    """Stands in for time.time() in both libraries; tests move it by hand."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(time, "time", c)
    return c


def _run(make_bar, script, clock, capsys, static=False):
    """Play `script` on a bar: ("update", current, values, finalize, dt) or
    ("add", n, values, dt); dt is how far the clock moves first."""
    bar = make_bar()
    if static:
        bar._dynamic_display = False
    capsys.readouterr()
    for op, *args in script:
        clock.now += args[-1]
        if op == "update":
            current, values, finalize = args[:3]
            bar.update(current, values, finalize=finalize)
        else:
            bar.add(args[0], args[1])
    return capsys.readouterr().out


def _steps(n, dt, values=lambda i: [("loss", 1.0 / i), ("accuracy", 0.5 + i / 100)], finalize=None):
    return [("update", i, values(i), finalize, dt) for i in range(1, n + 1)]


SCRIPTS = {
    "every_step_ms": _steps(20, 0.1),
    "fast_steps_throttled": _steps(20, 0.004),
    "microseconds_per_step": _steps(30, 0.0004),
    "seconds_per_step": _steps(5, 2.5),
    "eta_minutes": _steps(3, 45.0),
    "eta_hours": _steps(3, 3000.0),
    "tiny_and_negative_values": _steps(
        6, 0.2, values=lambda i: [("loss", 1e-5 * i), ("delta", -0.5 / i), ("neg_tiny", -1e-4)]),
    "shrinking_line_is_padded": _steps(
        5, 0.2, values=lambda i: [("name_that_goes_away" if i < 3 else "x", 123456.0 / i)]),
    "metric_appears_later": _steps(
        4, 0.2, values=lambda i: [("loss", 0.5)] + ([("acc", 0.25 * i)] if i > 2 else [])),
    "jumps_weighted_average": [
        ("update", 3, [("loss", 0.9)], None, 0.3),
        ("update", 10, [("loss", 0.1)], None, 0.3),
        ("update", 11, [("loss", 0.4)], None, 0.3),
        ("update", 12, [("loss", 0.2)], None, 0.3),
    ],
    "explicit_finalize_replaces_average": [
        ("update", 1, [("loss", 0.9)], False, 0.2),
        ("update", 2, [("loss", 0.7)], False, 0.2),
        ("update", 4, [("loss", 0.3)], True, 0.2),
    ],
    "add": [("add", 2, [("loss", 0.9)], 0.2), ("add", 3, [("loss", 0.3)], 0.2),
            ("add", 5, None, 0.2)],
    "array_values": _steps(3, 0.2, values=lambda i: [("loss", np.array([0.1 * i, 0.3]))]),
}


@pytest.mark.parametrize("verbose", [1, 2, 0])
@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_progbar_prints_what_keras_prints(name, verbose, clock, capsys):
    script = SCRIPTS[name]
    target = max(a[0] for op, *a in script if op == "update") if name != "add" else 10
    kwargs = dict(target=target, verbose=verbose)
    ours = _run(lambda: Progbar(**kwargs), script, clock, capsys)
    theirs = _run(lambda: keras.utils.Progbar(**kwargs), script, clock, capsys)
    assert ours == theirs
    assert (ours == "") == (verbose == 0)


@pytest.mark.parametrize("kwargs", [
    dict(target=None),
    dict(target=20, stateful_metrics=["accuracy"]),
    dict(target=20, stateless_metrics=["loss"]),
    dict(target=20, width=7, unit_name="sample"),
    dict(target=20, interval=0.0),
    dict(target=0),
], ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()))
@pytest.mark.parametrize("static", [False, True], ids=["redraw", "newline"])
def test_progbar_options_match_keras(kwargs, static, clock, capsys):
    script = _steps(20, 0.03)
    if kwargs["target"] is None:
        script = script + [("update", 20, [("loss", 0.25)], True, 0.1)]
    ours = _run(lambda: Progbar(**kwargs), script, clock, capsys, static)
    theirs = _run(lambda: keras.utils.Progbar(**kwargs), script, clock, capsys, static)
    assert ours == theirs
    assert ("\r" in ours) != static or kwargs["target"] == 0 and not ours


def test_progbar_line_looks_like_keras(clock, capsys):
    out = _run(lambda: Progbar(20), _steps(20, 0.003), clock, capsys)
    final = out.split("\r")[-1]
    plain = final.replace("\x1b[1m", "").replace("\x1b[32m", "").replace("\x1b[37m", "")
    plain = plain.replace("\x1b[0m", "")
    assert plain == "20/20 ━━━━━━━━━━━━━━━━━━━━ 0s 3ms/step - loss: 0.0500 - accuracy: 0.7000\n"


def test_progbar_falls_back_to_ascii_on_a_narrow_console(clock, monkeypatch, capsys):
    outputs = []
    for make in (Progbar, keras.utils.Progbar):
        raw = io.BytesIO()
        console = io.TextIOWrapper(raw, encoding="cp1252", write_through=True)
        monkeypatch.setattr(sys, "stdout", console)
        bar = make(5)
        for i in range(1, 6):
            clock.now += 0.1
            bar.update(i, [("loss", 0.5)])
        outputs.append(raw.getvalue())
    monkeypatch.undo()
    assert outputs[0] == outputs[1]
    assert b"=====" in outputs[0]


def test_progbar_rejects_both_metric_lists():
    with pytest.raises(ValueError, match="stateful_metrics"):
        Progbar(10, stateful_metrics=["a"], stateless_metrics=["b"])


# -- ProgbarLogger: what fit / evaluate / predict print ------------------------

def _fit(logger, clock, params, epochs_run, steps_run, validation=True):
    logger.set_params(params)
    logger.on_train_begin()
    for epoch in range(epochs_run):
        logger.on_epoch_begin(epoch, {})
        for step in range(steps_run):
            clock.now += 0.013
            logger.on_train_batch_end(step, {"accuracy": 0.5 + step / 100, "loss": 0.7 - step / 50})
        logs = {"accuracy": 0.6, "loss": 0.5}
        if validation:
            logger.on_test_begin({})
            for step in range(2):
                logger.on_test_batch_end(step, {"accuracy": 0.1, "loss": 9.0})
            logger.on_test_end({"accuracy": 0.55, "loss": 0.52})
            logs.update(val_accuracy=0.55, val_loss=0.52)
        logger.on_epoch_end(epoch, logs)
    logger.on_train_end(logs)


def _evaluate(logger, clock, params):
    logger.set_params(params)
    logger.on_test_begin({})
    for step in range(4):
        clock.now += 0.02
        logger.on_test_batch_end(step, {"loss": 0.3 + step})
    logger.on_test_end({"loss": 1.8})


def _predict(logger, clock, params):
    logger.set_params(params)
    logger.on_predict_begin({})
    for step in range(4):
        clock.now += 0.02
        logger.on_predict_batch_end(step, {"outputs": np.zeros(3)})
    logger.on_predict_end({})


@pytest.mark.parametrize("verbose", [1, 2, "auto"])
@pytest.mark.parametrize("scenario", [
    ("fit", dict(epochs=3, steps=5), dict(epochs_run=3, steps_run=5)),
    ("fit", dict(epochs=1, steps=5), dict(epochs_run=1, steps_run=5)),
    ("fit", dict(epochs=10, steps=5), dict(epochs_run=2, steps_run=5)),  # early stop
    ("fit", dict(epochs=2, steps=None), dict(epochs_run=2, steps_run=4)),
    ("fit", dict(epochs=2, steps=4), dict(epochs_run=2, steps_run=4, validation=False)),
    ("evaluate", dict(epochs=1, steps=4), {}),
    ("predict", dict(epochs=1, steps=4), {}),
], ids=["fit3", "fit1_no_header", "stopped_early", "unknown_steps", "no_validation",
        "evaluate", "predict"])
def test_progbar_logger_prints_what_keras_prints(scenario, verbose, clock, capsys):
    kind, params, run = scenario
    drive = {"fit": _fit, "evaluate": _evaluate, "predict": _predict}[kind]
    outputs = []
    for make in (ProgbarLogger, keras.callbacks.ProgbarLogger):
        capsys.readouterr()
        start = clock.now
        drive(make(), clock, dict(params, verbose=verbose), **run)
        clock.now = start
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]
    if kind == "fit":
        assert ("Epoch 1/" in outputs[0]) == (params["epochs"] > 1)
        assert "loss: 9.0" not in outputs[0]   # validation batches stay silent in fit
