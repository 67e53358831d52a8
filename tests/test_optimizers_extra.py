"""Lamb, Adafactor and LossScaleOptimizer against Keras 3 beyond the step-by-step checks of
test_optimizers.py and test_optimizers_sparse.py: configs, training in fit, the state a
``.keras`` file carries (each library loading the other's file and resuming), and the loss
scale's schedule with non-finite gradients."""
import re
import warnings

import numpy as np
import pytest

import rnncore
from _parity import rel_err
from rnncore import optimizers
from rnncore._variable import Variable


def _strip_number(config):
    # Keras numbers repeated default names (lamb, lamb_1, ...)
    return {**config, "name": re.sub(r"_\d+$", "", config["name"])}


@pytest.mark.parametrize("name,kwargs", [
    ("Lamb", {}), ("Lamb", {"beta_1": 0.8, "epsilon": 1e-6, "weight_decay": 0.01}),
    ("Adafactor", {}), ("Adafactor", {"clip_threshold": 0.5, "relative_step": False,
                                      "epsilon_2": 0.01, "clipnorm": 1.0})])
def test_config_round_trip_and_get_match_keras(keras, name, kwargs):
    opt, kopt = getattr(optimizers, name)(**kwargs), getattr(keras.optimizers, name)(**kwargs)
    assert opt.get_config() == _strip_number(kopt.get_config())
    assert optimizers.deserialize(optimizers.serialize(opt)).get_config() == opt.get_config()
    from_keras = optimizers.deserialize(keras.optimizers.serialize(kopt))
    assert type(from_keras) is type(opt)
    assert type(optimizers.get(name.lower())) is type(opt)


def _loss_scale(lib, inner="Adam", **kwargs):
    return lib.optimizers.LossScaleOptimizer(getattr(lib.optimizers, inner)(0.01), **kwargs)


def test_loss_scale_optimizer_config_and_names_match_keras(keras):
    opt, kopt = _loss_scale(rnncore, initial_scale=64.0), _loss_scale(keras, initial_scale=64.0)
    config, kconfig = opt.get_config(), kopt.get_config()
    kconfig["inner_optimizer"]["config"] = _strip_number(kconfig["inner_optimizer"]["config"])
    assert config == _strip_number(kconfig)
    again = optimizers.LossScaleOptimizer.from_config(config)
    assert again.get_config() == config and type(again.inner_optimizer) is optimizers.Adam
    from_keras = optimizers.deserialize(keras.optimizers.serialize(kopt))
    assert from_keras.get_config()["inner_optimizer"]["config"]["learning_rate"] == \
        config["inner_optimizer"]["config"]["learning_rate"]
    assert from_keras.initial_scale == 64.0
    assert rnncore.mixed_precision.LossScaleOptimizer is optimizers.LossScaleOptimizer
    assert opt.learning_rate == pytest.approx(0.01) and opt.iterations == 0
    opt.learning_rate = 0.5
    assert float(opt.inner_optimizer.learning_rate) == 0.5


@pytest.mark.parametrize("kwargs,message", [
    ({"dynamic": False}, "no longer supports `dynamic=False`"),
    ({"clipnorm": 1.0}, "does not support `clipnorm`. Instead, set `clipnorm` on the"),
    ({"color": 1}, "does not support arguments: `color`"),
    ({"initial_scale": 0.0}, "initial_scale=0.0"),
    ({"dynamic_growth_steps": 0}, "dynamic_growth_steps=0")])
def test_loss_scale_optimizer_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        _loss_scale(rnncore, **kwargs)
    with pytest.raises(ValueError, match="inner_optimizer="):
        optimizers.LossScaleOptimizer("adam")
    # Keras's defaults for the refused arguments pass (old configs wrote them)
    _loss_scale(rnncore, clipnorm=None, use_ema=False)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_loss_scale_schedule_and_skipped_steps_match_keras(keras, dtype, rng):
    # finite steps grow the scale every 2 of them; an inf or a NaN skips the step (the inner
    # optimizer's iterations and slots stay) and halves the scale
    init = {"kernel": rng.normal(size=(4, 3)), "bias": rng.normal(size=3)}
    ours = [Variable(v.astype(dtype), name=k, path=f"dense/{k}") for k, v in init.items()]
    theirs = [keras.Variable(v.astype(dtype), name=k) for k, v in init.items()]
    opt = _loss_scale(rnncore, "Lamb", initial_scale=8.0, dynamic_growth_steps=2)
    kopt = _loss_scale(keras, "Lamb", initial_scale=8.0, dynamic_growth_steps=2)
    for step in range(7):
        grads = [rng.normal(size=np.shape(v)).astype(dtype) * 100 for v in init.values()]
        if step in (2, 5):
            grads[step % 2][0] = np.inf if step == 2 else np.nan
        opt.apply_gradients(zip(grads, ours))
        kopt.apply_gradients(zip(grads, theirs))
        for o, k in zip(ours, theirs):
            assert rel_err(o.value, k.numpy()) <= (1e-6 if dtype == np.float32 else 1e-12)
        assert opt.dynamic_scale == kopt.dynamic_scale.numpy()
        assert opt.step_counter == int(kopt.step_counter.numpy())
    assert opt.iterations == int(kopt.iterations.numpy()) == 5
    kvars = [np.asarray(v) for v in kopt.variables]
    assert len(opt.variables) == len(kvars)
    for o, k in zip(opt.variables, kvars):
        assert o.dtype == k.dtype and rel_err(o, k) <= 1e-6


def _regression_model(lib, dtype="float32"):
    model = lib.Sequential([lib.Input((5,), dtype=dtype),
                            lib.layers.Dense(4, activation="tanh", dtype=dtype),
                            lib.layers.Dense(2, dtype=dtype)])
    model.set_weights([np.linspace(-1, 1, w.size).reshape(w.shape).astype(dtype)
                       for w in model.get_weights()])
    return model


def _compile(model, optimizer):
    # Keras eagerly: its traced step costs seconds to build for these few batches
    loss = "mse" if model.output_shape[-1] > 1 else "binary_crossentropy"
    model.compile(optimizer, loss=loss, run_eagerly=model.__module__.startswith("keras"))


_FIT_CASES = {
    "lamb-weight-decay": lambda lib: lib.optimizers.Lamb(0.05, weight_decay=0.01),
    "adafactor-clipnorm": lambda lib: lib.optimizers.Adafactor(0.1, clipnorm=0.5),
    "loss-scale": lambda lib: _loss_scale(lib, "Adam", initial_scale=3.0,
                                          dynamic_growth_steps=3),
    "factor": lambda lib: lib.optimizers.Adam(0.01, loss_scale_factor=3.0),
}


@pytest.mark.parametrize("case,dtype", [(c, "float32") for c in _FIT_CASES] + [
    ("lamb-weight-decay", "float64"), ("adafactor-clipnorm", "float64")])
def test_fit_matches_keras(keras, case, dtype, rng):
    # the trainer differentiates optimizer.scale_loss(loss) as Keras's does: a loss scale
    # (3.0: not a power of two) changes the result only by rounding
    x = rng.normal(size=(32, 5)).astype(dtype)
    y = rng.normal(size=(32, 2)).astype(dtype)
    histories, weights = [], []
    for lib in (keras, rnncore):
        model = _regression_model(lib, dtype)
        _compile(model, _FIT_CASES[case](lib))
        histories.append(model.fit(x, y, batch_size=8, epochs=2, shuffle=False,
                                   verbose=0).history["loss"])
        weights.append(model.get_weights())
    tol = 1e-5 if dtype == "float32" else 1e-6  # Keras computes the loss in float32
    assert rel_err(np.array(histories[1]), np.array(histories[0])) <= tol
    for r_w, k_w in zip(weights[1], weights[0]):
        assert rel_err(r_w, k_w) <= tol * 10


@pytest.mark.parametrize("make", [
    lambda lib: lib.optimizers.Lamb(0.01),
    # Adafactor's own state (placeholders included) is checked step by step in
    # test_optimizers.py; wrapped, Keras leaves the placeholders out
    lambda lib: _loss_scale(lib, "Adafactor", initial_scale=4.0, dynamic_growth_steps=3),
], ids=["lamb", "loss-scale-adafactor"])
def test_saved_state_loads_in_the_other_library_and_training_resumes_alike(keras, make, rng,
                                                                           tmp_path):
    x = rng.normal(size=(16, 5)).astype("float32")
    y = rng.normal(size=(16, 2)).astype("float32")
    models = {}
    for lib in (keras, rnncore):
        model = _regression_model(lib)
        _compile(model, make(lib))
        model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
        model.save(str(tmp_path / f"{lib.__name__}.keras"))
        models[lib.__name__] = model
    # each loads the other's file: the same optimizer, the same state
    k_loaded = keras.models.load_model(str(tmp_path / "rnncore.keras"))
    r_loaded = rnncore.models.load_model(str(tmp_path / "keras.keras"))
    r_again = rnncore.models.load_model(str(tmp_path / "rnncore.keras"))
    for loaded in (k_loaded, r_loaded, r_again):
        assert type(loaded.optimizer).__name__ == type(models["keras"].optimizer).__name__
        state = [np.asarray(v) for v in loaded.optimizer.variables]
        saved = [np.asarray(v) for v in models["keras"].optimizer.variables]
        assert len(state) == len(saved)
        for a, b in zip(state, saved):
            assert rel_err(a, b) <= 1e-5
    losses = [m.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0).history["loss"][0]
              for m in (models["keras"], k_loaded, r_loaded, r_again)]
    for value in losses[1:]:
        assert rel_err(value, losses[0]) <= 1e-5


def test_mixed_float16_models_compile_with_a_loss_scale_optimizer_as_keras(keras):
    kinds = []
    for lib in (keras, rnncore):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # rnncore: mixed policies compute in float32
            lib.mixed_precision.set_global_policy("mixed_float16")
            try:
                model = lib.Sequential([lib.Input((3,)), lib.layers.Dense(2)])
            finally:
                lib.mixed_precision.set_global_policy("float32")
        model.compile("adam", loss="mse")
        wrapped = model.optimizer
        model.compile("adam", loss="mse", auto_scale_loss=False)
        kinds.append((type(wrapped).__name__, wrapped.name,
                      type(wrapped.inner_optimizer).__name__, type(model.optimizer).__name__))
    assert kinds[0] == kinds[1] == ("LossScaleOptimizer", "loss_scale_optimizer", "Adam", "Adam")


def test_loss_scale_optimizer_trains_an_embedding_as_keras(keras, rng):
    # the Embedding's gradient is an IndexedSlices: scaled, unscaled and stepped sparse
    def make(lib):
        model = lib.Sequential([lib.Input((6,), dtype="int32"), lib.layers.Embedding(20, 4),
                                lib.layers.Flatten(), lib.layers.Dense(1, activation="sigmoid")])
        _compile(model, _loss_scale(lib, "RMSprop"))
        return model
    k_model, r_model = make(keras), make(rnncore)
    r_model.set_weights(k_model.get_weights())
    x = rng.integers(1, 6, size=(16, 6)).astype("int32")  # repeated ids
    y = (x[:, 0] > 3).astype("float32")
    for step in range(3):
        k_loss, r_loss = k_model.train_on_batch(x, y), r_model.train_on_batch(x, y)
        assert rel_err(r_loss, k_loss) <= 1e-5, step
    for r_w, k_w in zip(r_model.get_weights(), k_model.get_weights()):
        assert rel_err(r_w, k_w) <= 1e-5
