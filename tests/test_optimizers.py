"""Optimizers against Keras 3: same weights, same gradients, same steps -> same weights."""
import re
import warnings

import numpy as np
import pytest

from rnncore import optimizers
from rnncore._variable import Variable
from rnncore.optimizers import schedules

STEPS = 6

CASES = [
    ("SGD", {}),
    ("SGD", {"momentum": 0.9}),
    ("SGD", {"momentum": 0.9, "nesterov": True}),
    ("SGD", {"learning_rate": 0.1, "clipnorm": 0.5}),
    ("SGD", {"momentum": 0.5, "clipvalue": 0.3}),
    ("RMSprop", {}),
    ("RMSprop", {"momentum": 0.9}),
    ("RMSprop", {"centered": True}),
    ("RMSprop", {"centered": True, "momentum": 0.5, "rho": 0.8}),
    ("RMSprop", {"global_clipnorm": 0.7}),
    ("Adam", {}),
    ("Adam", {"amsgrad": True}),
    ("Adam", {"learning_rate": 0.01, "weight_decay": 0.05}),
    ("Adam", {"global_clipnorm": 1.0, "beta_1": 0.8}),
    ("Adam", {"loss_scale_factor": 128.0}),
    ("AdamW", {}),
    ("AdamW", {"weight_decay": 0.1, "amsgrad": True, "clipnorm": 1.0}),
    ("Adagrad", {}),
    ("Adagrad", {"learning_rate": 0.05, "initial_accumulator_value": 0.3, "clipvalue": 0.5}),
    ("Nadam", {}),
    ("Nadam", {"learning_rate": 0.01, "weight_decay": 0.01}),
    ("Adam", {"schedule": ("ExponentialDecay", (0.01, 2, 0.5), {"staircase": False})}),
    ("SGD", {"schedule": ("InverseTimeDecay", (0.1, 2, 0.5), {"staircase": True})}),
    ("RMSprop", {"schedule": ("PiecewiseConstantDecay", ([1, 3], [0.1, 0.01, 0.001]), {})}),
    ("Lamb", {}),
    ("Lamb", {"learning_rate": 0.01, "weight_decay": 0.05, "clipnorm": 1.0}),
    ("Lamb", {"schedule": ("ExponentialDecay", (0.01, 2, 0.5), {}), "beta_1": 0.8}),
    ("Adafactor", {}),
    ("Adafactor", {"learning_rate": 0.5, "clip_threshold": 0.5, "beta_2_decay": -0.5}),
    ("Adafactor", {"learning_rate": 0.1, "weight_decay": 0.05, "global_clipnorm": 1.0}),
    ("Adafactor", {"schedule": ("InverseTimeDecay", (0.1, 2, 0.5), {}), "epsilon_2": 0.5,
                   "relative_step": False}),
]


def _make(module, name, kwargs):
    kwargs = dict(kwargs)
    if "schedule" in kwargs:
        sched, args, kw = kwargs.pop("schedule")
        kwargs["learning_rate"] = getattr(module.schedules, sched)(*args, **kw)
    return getattr(module, name)(**kwargs)


def _tol(dtype):
    return {"rtol": 1e-6, "atol": 1e-7} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-14}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{'-'.join(k)}" for n, k in CASES])
def test_steps_match_keras(keras, name, kwargs, dtype, rng):
    shapes = {"kernel": (4, 3), "bias": (3,)}
    init = {k: rng.normal(size=s).astype(dtype) for k, s in shapes.items()}
    ours = [Variable(init[k].copy(), name=k, path=f"dense/{k}") for k in shapes]
    theirs = [keras.Variable(init[k].copy(), name=k, dtype=np.dtype(dtype).name) for k in shapes]
    opt, kopt = _make(optimizers, name, kwargs), _make(keras.optimizers, name, kwargs)
    for step in range(STEPS):
        grads = [rng.normal(size=shapes[k]).astype(dtype) * 2.0 for k in shapes]
        if step == 2:
            grads[1] = None  # skipped variable: no update, no slot change
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            opt.apply_gradients(zip(grads, ours))
            kopt.apply_gradients(zip(grads, theirs))
        for ov, kv in zip(ours, theirs):
            np.testing.assert_allclose(ov.value, kv.numpy(), **_tol(dtype),
                                       err_msg=f"{ov.name} after step {step}")
            assert ov.value.dtype == dtype
    assert opt.iterations == int(kopt.iterations.numpy()) == STEPS
    assert opt.learning_rate == pytest.approx(float(np.asarray(kopt.learning_rate)), rel=1e-7)
    # The whole state, in Keras's order: iteration, learning rate, slots.
    kvars = [np.asarray(v) for v in kopt.variables]
    assert len(opt.variables) == len(kvars)
    for o, k in zip(opt.variables, kvars):
        np.testing.assert_allclose(o, k, **_tol(dtype))


@pytest.mark.parametrize("name", ["SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "Nadam"])
def test_defaults_and_config_match_keras(keras, name):
    ours, theirs = optimizers.get(name.lower()), keras.optimizers.get(name.lower())
    assert type(ours).__name__ == name
    config, kconfig = ours.get_config(), theirs.get_config()
    # Keras numbers repeated default names (adam, adam_1, ...); the stem is the default.
    assert config.pop("name") == re.sub(r"_\d+$", "", kconfig.pop("name"))
    assert config == kconfig
    clone = optimizers.deserialize(optimizers.serialize(ours))
    assert type(clone) is type(ours) and clone.get_config() == ours.get_config()
    # Keras's own serialized form loads too.
    from_keras = optimizers.deserialize(keras.optimizers.serialize(theirs))
    assert from_keras.get_config()["learning_rate"] == kconfig["learning_rate"]


def test_get_is_case_insensitive_and_passes_instances():
    opt = optimizers.SGD(momentum=0.5)
    assert optimizers.get(opt) is opt
    assert isinstance(optimizers.get("RMSProp"), optimizers.RMSprop)
    assert optimizers.get({"class_name": "adam", "config": {"learning_rate": 0.5}}).learning_rate \
        == 0.5


@pytest.mark.parametrize("sched,args,kwargs", [
    ("ExponentialDecay", (0.1, 3, 0.7), {}),
    ("ExponentialDecay", (0.1, 3, 0.7), {"staircase": True}),
    ("InverseTimeDecay", (0.05, 4, 0.3), {}),
    ("PiecewiseConstantDecay", ([2, 5], [1.0, 0.5, 0.1]), {}),
])
def test_schedules_match_keras(keras, sched, args, kwargs):
    ours = getattr(schedules, sched)(*args, **kwargs)
    theirs = getattr(keras.optimizers.schedules, sched)(*args, **kwargs)
    for step in range(12):
        assert float(ours(step)) == pytest.approx(float(theirs(step)), rel=1e-7), step
    clone = schedules.deserialize(schedules.serialize(ours))
    assert [float(clone(s)) for s in range(6)] == [float(ours(s)) for s in range(6)]


def test_schedule_learning_rate_round_trips_through_config():
    opt = optimizers.Adam(learning_rate=schedules.ExponentialDecay(0.1, 10, 0.5))
    clone = optimizers.Adam.from_config(opt.get_config())
    assert isinstance(clone._learning_rate, schedules.ExponentialDecay)
    assert clone.learning_rate == opt.learning_rate == pytest.approx(0.1)
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.5


def test_learning_rate_is_settable_and_reads_back_as_float32():
    opt = optimizers.RMSprop()
    assert opt.learning_rate == float(np.float32(0.001))
    opt.learning_rate = 0.5
    assert opt.learning_rate == 0.5 and opt.get_config()["learning_rate"] == 0.5


def test_state_save_load_round_trip(rng):
    var = Variable(rng.normal(size=(3,)).astype(np.float32), name="w")
    opt = optimizers.Adam()
    for _ in range(3):
        opt.apply_gradients([(rng.normal(size=3).astype(np.float32), var)])
    store = {}
    opt.save_own_variables(store)
    fresh = optimizers.Adam()
    fresh.build([var])
    fresh.load_own_variables(store)
    assert fresh.iterations == 3
    for a, b in zip(fresh.variables, opt.variables):
        np.testing.assert_array_equal(a, b)


def test_exclude_from_weight_decay_by_name():
    kernel = Variable(np.ones(2, np.float32), name="kernel")
    bias = Variable(np.ones(2, np.float32), name="bias")
    opt = optimizers.SGD(learning_rate=0.1, weight_decay=0.5)
    opt.exclude_from_weight_decay(var_names=["bias"])
    opt.apply_gradients([(np.zeros(2, np.float32), kernel), (np.zeros(2, np.float32), bias)])
    np.testing.assert_allclose(kernel.value, 0.95, rtol=1e-6)
    np.testing.assert_array_equal(bias.value, 1.0)


@pytest.mark.parametrize("factory,match", [
    (lambda: optimizers.SGD(momentum=1.5), r"momentum.*1\.5"),
    (lambda: optimizers.SGD(learning_rate=-0.1), r"learning_rate=-0\.1"),
    (lambda: optimizers.RMSprop(rho=-0.2), r"rho=-0\.2"),
    (lambda: optimizers.Adam(beta_2=2.0), r"beta_2=2\.0"),
    (lambda: optimizers.Adam(epsilon=-1e-7), r"epsilon"),
    (lambda: optimizers.Adam(clipnorm=1.0, global_clipnorm=1.0), r"clipnorm=1\.0"),
    (lambda: optimizers.SGD(clipvalue=-1.0), r"clipvalue=-1\.0"),
    (lambda: optimizers.AdamW(weight_decay=None), r"weight_decay=None"),
    (lambda: optimizers.Adam(use_ema=True), r"use_ema"),
    (lambda: optimizers.Adam(gradient_accumulation_steps=4), r"gradient_accumulation_steps=4"),
    (lambda: optimizers.Adam(foo=1), r"not recognized.*foo"),
    (lambda: optimizers.get("adamx"), r"optimizer='adamx'.*'rmsprop'"),
    (lambda: optimizers.get(3), r"optimizer=3"),
])
def test_bad_hyperparameters_raise(factory, match):
    with pytest.raises(ValueError, match=match):
        factory()


def test_bad_gradients_raise():
    a = Variable(np.zeros((2, 2), np.float32), name="a", path="dense/a")
    opt = optimizers.Adam()
    with pytest.raises(ValueError, match=r"dense/a.*\(3,\)"):
        opt.apply_gradients([(np.zeros(3, np.float32), a)])
    with pytest.raises(ValueError, match="No gradients provided"):
        opt.apply_gradients([(None, a)])
    with pytest.raises(ValueError, match="Unknown variable"):
        opt.apply_gradients([(np.zeros(2, np.float32), Variable(np.zeros(2, np.float32)))])
    assert opt.iterations == 0
