"""Weight constraints against Keras 3: the projections, and training with them."""
import numpy as np
import pytest

import rnncore
from _parity import train_pair_on_batch
from rnncore import constraints

CONSTRAINTS = [("MaxNorm", {"max_value": 0.7}), ("MaxNorm", {"max_value": 1.5, "axis": 1}),
               ("MinMaxNorm", {"min_value": 0.2, "max_value": 0.9, "rate": 0.5}),
               ("MinMaxNorm", {"axis": [0, 1]}), ("NonNeg", {}), ("UnitNorm", {"axis": 1}),
               ("Constraint", {})]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kwargs", CONSTRAINTS,
                         ids=[f"{n}-{'-'.join(k)}" for n, k in CONSTRAINTS])
def test_projection_matches_keras(keras, name, kwargs, dtype, rng):
    w = rng.normal(size=(6, 4)).astype(dtype)
    w[0] = 0.0  # a zero column norm: epsilon keeps it finite
    ours = getattr(constraints, name)(**kwargs)(w)
    theirs = np.asarray(getattr(keras.constraints, name)(**kwargs)(keras.ops.convert_to_tensor(w)))
    assert ours.dtype == dtype and ours.shape == w.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-6 if dtype == np.float32 else 1e-13,
                               atol=0)


def _model(lib, optimizer):
    c = lib.constraints
    model = lib.Sequential([
        lib.Input(shape=(12,), dtype="int32"),
        lib.layers.Embedding(40, 8, embeddings_constraint=c.UnitNorm(axis=1)),
        lib.layers.LSTM(6, kernel_constraint=c.MaxNorm(0.5), recurrent_constraint="non_neg",
                        bias_constraint=c.MinMaxNorm(0.1, 0.3, rate=0.5),
                        return_sequences=True),
        lib.layers.GRU(4, kernel_constraint="max_norm"),
        lib.layers.Dense(1, activation="sigmoid", kernel_constraint="unit_norm",
                         bias_constraint="NonNeg")])
    name, kwargs = optimizer
    model.compile(getattr(lib.optimizers, name)(**kwargs), "binary_crossentropy")
    return model


@pytest.mark.parametrize("optimizer", [("RMSprop", {"learning_rate": 0.01}),
                                       ("SGD", {"learning_rate": 0.5, "momentum": 0.9})],
                         ids=["rmsprop", "sgd"])
def test_training_with_constraints_matches_keras(keras, optimizer, rng):
    # Keras projects each updated weight right after the optimizer's step.
    keras.utils.set_random_seed(7)  # the same starting weights at every run
    k_model, r_model = _model(keras, optimizer), _model(rnncore, optimizer)
    r_model.set_weights(k_model.get_weights())
    x = rng.integers(1, 40, size=(32, 12))
    y = (x[:, :3].mean(axis=1) > 20).astype("float32")
    train_pair_on_batch(k_model, r_model, x, y)
    lstm_recurrent = r_model.layers[1].recurrent_kernel.value
    assert (lstm_recurrent >= 0).all()
    norms = np.linalg.norm(r_model.layers[0].embeddings.value, axis=1)
    np.testing.assert_allclose(norms, 1.0, rtol=1e-5)


def test_constraints_survive_save_and_load(tmp_path, rng):
    model = _model(rnncore, ("RMSprop", {"learning_rate": 0.01}))
    x = rng.integers(1, 40, size=(8, 12))
    model.fit(x, np.ones(8, "float32"), verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = rnncore.models.load_model(tmp_path / "m.keras")
    for ours, theirs in zip(loaded.layers, model.layers):
        assert ours.get_config() == theirs.get_config()
    assert isinstance(loaded.layers[1].bias_constraint, constraints.MinMaxNorm)
    assert loaded.layers[1].bias.constraint.get_config() == {
        "min_value": 0.1, "max_value": 0.3, "rate": 0.5, "axis": 0}


def test_get_resolves_identifiers_as_keras():
    assert constraints.get(None) is None
    assert constraints.get("max_norm").get_config() == {"max_value": 2, "axis": 0}
    assert isinstance(constraints.get("NonNeg"), constraints.NonNeg)
    assert constraints.get(constraints.UnitNorm).axis == 0
    assert constraints.get({"class_name": "MaxNorm", "config": {"max_value": 3}}).max_value == 3
    c = constraints.MinMaxNorm(0.5)
    assert constraints.get(c) is c
    assert constraints.deserialize(constraints.serialize(c)).get_config() == c.get_config()


@pytest.mark.parametrize("call,match", [
    (lambda: constraints.get("maxnorm"), r"could not interpret constraint identifier 'maxnorm'"),
    (lambda: rnncore.layers.GRU(2, recurrent_constraint="unit"),
     r"recurrent_constraint: could not interpret constraint identifier 'unit'"),
    (lambda: rnncore.layers.Embedding(5, 2, embeddings_constraint=3),
     r"embeddings_constraint: expected None, a name, a config dict, a "
     r"rnncore.constraints.Constraint or a function; received 3"),
])
def test_bad_constraints_are_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_a_function_constraint_is_applied_but_not_saved(tmp_path, rng):
    # Keras takes any function of the weight; rnncore applies it after each step, and refuses
    # to save it (its format stores no code).
    model = rnncore.Sequential([rnncore.Input((5,)),
                                rnncore.layers.Dense(3, kernel_constraint=lambda w: w.clip(-0.1,
                                                                                            0.1))])
    model.compile("sgd", "mse")
    model.train_on_batch(rng.normal(size=(4, 5)), rng.normal(size=(4, 3)))
    assert np.abs(model.layers[0].kernel.value).max() <= np.float32(0.1)
    with pytest.raises(ValueError, match="is a plain function: rnncore's file format stores no"):
        model.save(tmp_path / "m.keras")
