"""Weight regularizers against Keras 3: penalties, their gradients, and training with them."""
import warnings

import numpy as np
import pytest

import rnncore
from _parity import rel_err, train_pair_on_batch
from rnncore import regularizers

REGULARIZERS = [("L1", {"l1": 0.02}), ("L2", {"l2": 0.03}), ("L1L2", {"l1": 0.01, "l2": 0.02}),
                ("L1L2", {}), ("L2", {})]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kwargs", REGULARIZERS,
                         ids=[f"{n}-{'-'.join(k)}" for n, k in REGULARIZERS])
def test_penalty_and_gradient_match_keras(keras, tf, name, kwargs, dtype, rng):
    x = rng.normal(size=(7, 5)).astype(dtype)
    x[0, :2] = 0.0  # |x| at 0: TensorFlow's gradient is sign(0) = 0
    ours = getattr(regularizers, name)(**kwargs)
    theirs = getattr(keras.regularizers, name)(**kwargs)
    var = tf.Variable(x)
    with tf.GradientTape() as tape:
        value = theirs(var)
    grad = tape.gradient(value, var)
    tol = 1e-6 if dtype == np.float32 else 1e-13
    assert np.asarray(ours(x)).dtype == dtype
    assert rel_err(ours(x), value.numpy()) <= tol
    expected = np.zeros_like(x) if grad is None else grad.numpy()
    np.testing.assert_allclose(ours.gradient(x), expected, rtol=tol, atol=0)


def _model(lib, optimizer):
    r = lib.regularizers
    model = lib.Sequential([
        lib.Input(shape=(12,), dtype="int32"),
        lib.layers.Embedding(40, 8, embeddings_regularizer=r.L2(0.01)),
        lib.layers.LSTM(6, kernel_regularizer=r.L1L2(l1=0.001, l2=0.01),
                        recurrent_regularizer="l2", bias_regularizer=r.L1(0.01),
                        return_sequences=True),
        lib.layers.Bidirectional(lib.layers.GRU(5, kernel_regularizer="l1")),
        lib.layers.Dense(1, activation="sigmoid", kernel_regularizer=r.L2(0.05),
                         bias_regularizer="l2")])
    name, kwargs = optimizer
    model.compile(getattr(lib.optimizers, name)(**kwargs), "binary_crossentropy",
                  metrics=["accuracy"])
    return model


@pytest.mark.parametrize("optimizer", [("RMSprop", {"learning_rate": 0.01}),
                                       ("Adam", {"learning_rate": 0.01}),
                                       ("SGD", {"learning_rate": 0.1, "momentum": 0.9})],
                         ids=["rmsprop", "adam", "sgd"])
def test_training_with_penalties_matches_keras(keras, optimizer, rng):
    # The loss Keras reports and minimises is the compiled loss plus model.losses; each
    # penalized weight's gradient gains the penalty's (the embedding's turns dense).
    keras.utils.set_random_seed(7)  # the same starting weights at every run
    k_model, r_model = _model(keras, optimizer), _model(rnncore, optimizer)
    r_model.set_weights(k_model.get_weights())
    x = rng.integers(1, 40, size=(32, 12))
    y = (x[:, :3].mean(axis=1) > 20).astype("float32")
    k_losses = [float(v) for v in k_model.losses]
    assert len(r_model.losses) == len(k_losses) == 8  # the Bidirectional GRU has two kernels
    np.testing.assert_allclose(r_model.losses, k_losses, rtol=1e-5)
    for r_layer, k_layer in zip(r_model.layers, k_model.layers):
        np.testing.assert_allclose(r_layer.losses, [float(v) for v in k_layer.losses],
                                   rtol=1e-5)
    train_pair_on_batch(k_model, r_model, x, y)
    k_eval = k_model.evaluate(x, y, verbose=0)
    r_eval = r_model.evaluate(x, y, verbose=0)
    assert rel_err(r_eval[0], k_eval[0]) <= 1e-4 and r_eval[1] == k_eval[1]


def test_fit_history_with_penalties_matches_keras(keras, rng):
    keras.utils.set_random_seed(7)
    k_model = _model(keras, ("RMSprop", {"learning_rate": 0.01}))
    r_model = _model(rnncore, ("RMSprop", {"learning_rate": 0.01}))
    r_model.set_weights(k_model.get_weights())
    x = rng.integers(1, 40, size=(48, 12))
    y = (x[:, :3].mean(axis=1) > 20).astype("float32")
    kwargs = dict(batch_size=16, epochs=2, validation_split=0.25, shuffle=False, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        k_hist = k_model.fit(x, y, **kwargs).history
    r_hist = r_model.fit(x, y, **kwargs).history
    assert sorted(r_hist) == sorted(k_hist)
    for key in k_hist:
        assert rel_err(r_hist[key], k_hist[key]) <= 2e-3, key


def test_regularizers_survive_save_and_load(tmp_path, rng):
    model = _model(rnncore, ("RMSprop", {"learning_rate": 0.01}))
    x = rng.integers(1, 40, size=(8, 12))
    model.fit(x, np.ones(8, "float32"), verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = rnncore.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(loaded.losses, model.losses)
    lstm = loaded.layers[1]
    assert isinstance(lstm.kernel_regularizer, regularizers.L1L2)
    assert lstm.kernel_regularizer.get_config() == {"l1": 0.001, "l2": 0.01}
    assert loaded.evaluate(x, np.ones(8), verbose=0) == model.evaluate(x, np.ones(8), verbose=0)


def test_get_resolves_identifiers_as_keras():
    assert regularizers.get(None) is None
    assert regularizers.get("l2").get_config() == {"l2": 0.01}
    assert regularizers.get("L1").get_config() == {"l1": 0.01}
    assert regularizers.get("l1l2").get_config() == {"l1": 0.0, "l2": 0.0}
    assert regularizers.get(regularizers.L2).l2 == 0.01
    assert regularizers.get({"class_name": "L2", "config": {"l2": 0.5}}).l2 == 0.5
    reg = regularizers.L1(0.3)
    assert regularizers.get(reg) is reg
    assert regularizers.deserialize(regularizers.serialize(reg)).get_config() == {"l1": 0.3}


@pytest.mark.parametrize("call,match", [
    (lambda: regularizers.get("l1_l2"), r"could not interpret regularizer identifier 'l1_l2'"),
    (lambda: regularizers.L2(-0.1), r"l2: expected a non-negative float; received l2=-0.1"),
    (lambda: regularizers.L1(float("nan")), r"l1: expected a non-negative float"),
    (lambda: rnncore.layers.Dense(2, kernel_regularizer=lambda w: 0.0),
     r"kernel_regularizer: expected None, a name, a config dict or a "
     r"rnncore.regularizers.Regularizer"),
    (lambda: rnncore.layers.LSTM(2, recurrent_regularizer="l3"),
     r"recurrent_regularizer: could not interpret regularizer identifier 'l3'"),
    (lambda: rnncore.layers.Dense(2, activity_regularizer="l4"),
     r"activity_regularizer: could not interpret regularizer identifier 'l4'"),
])
def test_bad_regularizers_are_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def _activity_model(lib, functional=False):
    """Activity penalties on a recurrent layer's sequences, inside a Bidirectional wrapper,
    and on the sigmoid head (whose loss the trainer takes from the logits)."""
    r = lib.regularizers
    layers = [lib.layers.Embedding(40, 8),
              lib.layers.LSTM(6, activity_regularizer=r.L2(0.02), return_sequences=True),
              lib.layers.Bidirectional(lib.layers.GRU(5, activity_regularizer="l1")),
              lib.layers.Dense(1, activation="sigmoid", activity_regularizer=r.L1L2(0.01, 0.1))]
    inp = lib.Input(shape=(12,), dtype="int32")
    if functional:
        x = inp
        for layer in layers:
            x = layer(x)
        model = lib.Model(inp, x)
    else:
        model = lib.Sequential([inp] + layers)
    model.compile(lib.optimizers.RMSprop(0.01), "binary_crossentropy", metrics=["accuracy"])
    return model


@pytest.mark.parametrize("functional", [False, True], ids=["sequential", "functional"])
def test_activity_regularizers_train_as_keras(keras, rng, functional):
    # Keras adds each output's penalty divided by the batch size to model.losses at every
    # call; the loss it reports and minimises includes them
    k_model, r_model = _activity_model(keras, functional), _activity_model(rnncore, functional)
    r_model.set_weights(k_model.get_weights())
    x = rng.integers(1, 40, size=(32, 12))
    y = (x[:, :3].mean(axis=1) > 20).astype("float32")
    k_model(x)  # an eager call: model.losses then holds values
    r_model(x)
    # the LSTM's, the two GRU directions', the head's, from the last forward
    assert len(r_model.losses) == 4
    np.testing.assert_allclose(r_model.losses, [float(v) for v in k_model.losses], rtol=1e-5)
    train_pair_on_batch(k_model, r_model, x, y)
    k_eval = k_model.evaluate(x, y, verbose=0)
    r_eval = r_model.evaluate(x, y, verbose=0)
    assert rel_err(r_eval[0], k_eval[0]) <= 1e-4 and r_eval[1] == k_eval[1]
    assert r_model.layers[-1].get_config()["activity_regularizer"]["config"] == {"l1": 0.01,
                                                                                 "l2": 0.1}


def test_activity_regularizers_survive_save_and_load(tmp_path, rng):
    model = _activity_model(rnncore)
    x = rng.integers(1, 40, size=(8, 12))
    model.fit(x, np.ones(8, "float32"), verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = rnncore.models.load_model(tmp_path / "m.keras")
    assert isinstance(loaded.layers[1].activity_regularizer, regularizers.L2)
    assert loaded.evaluate(x, np.ones(8), verbose=0) == model.evaluate(x, np.ones(8), verbose=0)


def _any_layer_activity_model(lib):
    """Keras takes activity_regularizer on every layer: an Embedding (whose rows the recurrent
    layer then gets gathered), a Bidirectional wrapper's merged output, a Dropout."""
    r = lib.regularizers
    model = lib.Sequential([
        lib.Input(shape=(12,), dtype="int32"),
        lib.layers.Embedding(40, 8, activity_regularizer=r.L2(0.05)),
        lib.layers.Bidirectional(lib.layers.GRU(4, return_sequences=True),
                                 activity_regularizer="l1"),
        lib.layers.Dropout(0.0, activity_regularizer=r.L1L2(0.01, 0.01)),
        lib.layers.LSTM(3),
        lib.layers.Dense(1, activation="sigmoid")])
    model.compile(lib.optimizers.RMSprop(0.01), "binary_crossentropy")
    return model


def test_activity_regularizers_on_any_layer_train_as_keras(keras, rng):
    k_model, r_model = _any_layer_activity_model(keras), _any_layer_activity_model(rnncore)
    r_model.set_weights(k_model.get_weights())
    x = rng.integers(1, 40, size=(32, 12))
    y = (x[:, :3].mean(axis=1) > 20).astype("float32")
    k_model(x)
    r_model(x)
    assert len(r_model.losses) == 3
    np.testing.assert_allclose(r_model.losses, [float(v) for v in k_model.losses], rtol=1e-5)
    train_pair_on_batch(k_model, r_model, x, y)
    config = r_model.layers[0].get_config()
    assert config["activity_regularizer"]["config"] == {"l2": 0.05}
    assert type(r_model.layers[0]).from_config(config).activity_regularizer.l2 == 0.05
