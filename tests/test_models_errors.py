"""Bad input to the trainer: a ValueError that names the argument and the value."""
import re

import numpy as np
import pytest

import rnncore


def _model(compile=True):
    model = rnncore.Sequential([rnncore.layers.Embedding(20, 4), rnncore.layers.LSTM(3),
                                rnncore.layers.Dense(1, activation="sigmoid")])
    if compile:
        model.compile("rmsprop", "binary_crossentropy", metrics=["accuracy"])
    return model


X = np.ones((8, 5), dtype="int64")
Y = np.zeros(8, dtype="float32")


@pytest.mark.parametrize("kwargs, match", [
    ({"x": np.full((8, 5), 20)}, r"token id 20 is outside \[0, input_dim=20\)"),
    ({"x": np.full((8, 5), -1)}, r"token id -1"),
    ({"y": np.zeros(7)}, r"x has 8, y has 7"),
    ({"x": np.ones((0, 5), "int64"), "y": np.zeros(0)}, r"x is empty"),
    ({"x": np.array([["a"] * 5] * 8)}, r"x must be a numeric array"),
    ({"y": np.array(["a"] * 8)}, r"y"),
    ({"validation_split": 1.0}, r"validation_split must be a float in \[0, 1\), got 1.0"),
    ({"validation_split": -0.1}, r"validation_split"),
    ({"batch_size": 0}, r"batch_size must be a positive integer, got 0"),
    ({"epochs": -1}, r"epochs must be a non-negative integer, got -1"),
    ({"validation_data": (X,)}, r"validation_data must be a tuple or list"),
    ({"sample_weight": np.ones(7)}, r"sample_weight must have one weight per sample \(8\)"),
    ({"sample_weight": np.ones(8), "class_weight": {0: 1.0}}, r"cannot both be given"),
    ({"y": np.zeros((8, 2))}, r"`y` has shape \(8, 2\) but the model's output has shape \(8, 1\)"),
])
def test_fit_rejects_bad_arguments(kwargs, match):
    args = {"x": X, "y": Y, "verbose": 0}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        _model().fit(**args)


def test_fit_before_compile_says_to_compile():
    with pytest.raises(RuntimeError, match=r"compile\(\) before fit\(\)"):
        _model(compile=False).fit(X, Y, verbose=0)


@pytest.mark.parametrize("kwargs, match", [
    ({"optimizer": "adamax_nope"}, r"adamax_nope"),
    ({"loss": "cross_entropy_nope"}, r"cross_entropy_nope"),
    ({"metrics": ["accuracy_nope"]}, r"accuracy_nope"),
])
def test_compile_rejects_unknown_names(kwargs, match):
    args = {"optimizer": "rmsprop", "loss": "binary_crossentropy"}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        _model(compile=False).compile(**args)


@pytest.mark.parametrize("make, match", [
    (lambda: rnncore.layers.Dense(3, activation="swishy"), r"activation.*swishy"),
    (lambda: rnncore.layers.SimpleRNN(3, activation="softmaxx"), r"activation.*softmaxx"),
    (lambda: rnncore.layers.Dense(0), r"units must be a positive integer, got 0"),
    (lambda: rnncore.layers.Embedding(0, 3),
     r"`input_dim` must be a positive integer. Received: input_dim=0"),
    (lambda: rnncore.layers.Dropout(1.5),
     r"Expected a float value between 0 and 1. Received: rate=1.5"),
    (lambda: rnncore.layers.Bidirectional(rnncore.layers.Dense(2)), r"layer must be"),
    (lambda: rnncore.layers.Bidirectional(rnncore.layers.GRU(2), merge_mode="max"),
     r"merge_mode.*'max'"),
])
def test_layer_constructors_reject_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_sparse_labels_outside_the_classes_are_rejected():
    model = rnncore.Sequential([rnncore.layers.Embedding(20, 4), rnncore.layers.GRU(3),
                                rnncore.layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"y"):
        model.fit(X, np.full(8, 3), verbose=0)


def test_wrong_input_shape_for_a_built_model():
    model = rnncore.Sequential([rnncore.Input(shape=(5, 2)), rnncore.layers.SimpleRNN(3)])
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match=r"expected \(None, 5, 2\)"):
        model.predict(np.zeros((4, 5, 3)), verbose=0)


def test_set_weights_with_the_wrong_count_or_shape():
    model = _model()
    model.build((None, 5))
    weights = model.get_weights()
    with pytest.raises(ValueError, match=r"has 6 weights, but the weights list has 5"):
        model.set_weights(weights[:-1])
    weights[0] = np.zeros((3, 3))
    with pytest.raises(ValueError, match=r"expected shape \(20, 4\), got \(3, 3\)"):
        model.set_weights(weights)


@pytest.mark.parametrize("call", [
    lambda m: m.fit(X, verbose=0),
    lambda m: m.fit(X, None, epochs=2, verbose=0),
    lambda m: m.train_on_batch(X),
    lambda m: m.test_on_batch(X),
    lambda m: m.evaluate(X, verbose=0),
])
def test_training_without_targets_says_y_is_missing(call):
    with pytest.raises(ValueError, match=r"y \(the targets\) must be given; received y=None"):
        call(_model())


@pytest.mark.parametrize("freq", [0, -1, 1.5, "2", [0, 2], [1, "a"], True])
def test_fit_rejects_bad_validation_freq(freq):
    with pytest.raises(ValueError, match=rf"validation_freq must be a positive integer .*"
                                         rf"received {re.escape(repr(freq))}"):
        _model().fit(X, Y, validation_split=0.25, validation_freq=freq, verbose=0)


@pytest.mark.parametrize("freq, validated", [(2, [2, 4]), (np.int64(3), [3]), ([1, 4], [1, 4]),
                                             (range(2, 5), [2, 3, 4])])
def test_validation_freq_picks_the_epochs(freq, validated):
    history = _model().fit(X, Y, epochs=4, validation_split=0.25, validation_freq=freq,
                           verbose=0)
    assert len(history.history["val_loss"]) == len(validated)


@pytest.mark.parametrize("make_weights, match", [
    (lambda ws: None, r"set_weights expects a list of arrays .*got NoneType"),
    (lambda ws: ws[0], r"set_weights expects a list of arrays .*got ndarray"),
    (lambda ws: ws[:-1] + [np.full(ws[-1].shape, "a")], r"cannot assign a value of dtype <U1"),
    (lambda ws: ws[:-1] + [ws[-1] + 0j], r"cannot assign a value of dtype complex"),
])
def test_set_weights_refuses_bad_values_and_changes_nothing(make_weights, match):
    model = _model()
    model.build((None, 5))
    before = model.get_weights()
    with pytest.raises(ValueError, match=match):
        model.set_weights(make_weights([w + 1 for w in before]))
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    layer = model.layers[1]
    with pytest.raises(ValueError, match=r"set_weights expects a list of arrays"):
        layer.set_weights(None)


@pytest.mark.parametrize("index", [1.5, True, "0"])
def test_get_layer_index_must_be_an_integer(index):
    with pytest.raises(ValueError, match=r"get_layer: index must be an integer"):
        _model().get_layer(index=index)


@pytest.mark.parametrize("kwargs, match", [
    ({"class_weight": {"a": 1.0}}, r"class_weight must map class ids .*'a': 1.0"),
    ({"class_weight": {-1: 2.0}}, r"class_weight must map class ids .*-1: 2.0"),
    ({"class_weight": {0: "x"}}, r"class_weight must map class ids .*0: 'x'"),
    ({"class_weight": {0.5: 1.0}}, r"class_weight must map class ids .*0.5: 1.0"),
    ({"sample_weight": np.array(["a"] * 8)}, r"sample_weight must be an array of numbers"),
    ({"y": [[0], [1, 1]] * 4}, r"y must be a rectangular numeric array"),
    ({"x": [[1, 2, 3, 4, 5], [1, 2]] * 4}, r"x must be a rectangular numeric array"),
    ({"validation_data": (X, [[0], [1, 1]] * 4)}, r"validation_data\[1\] must be a rectangular"),
])
def test_fit_names_bad_weights_and_ragged_data(kwargs, match):
    args = {"x": X, "y": Y, "verbose": 0}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        _model().fit(**args)


def test_one_callback_without_a_list_works_as_in_keras():
    seen = []
    cb = rnncore.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(epoch))
    _model().fit(X, Y, epochs=2, verbose=0, callbacks=cb)
    assert seen == [0, 1]
    with pytest.raises(ValueError, match=r"Each entry of `callbacks` must be a callback"):
        _model().predict(X, verbose=0, callbacks=5)


def test_steps_limits_predict_and_evaluate_as_keras(keras, rng):
    x = rng.random((100, 4, 3)).astype("float32")
    y = rng.random((100, 4, 1)).astype("float32")
    models = []
    for lib in (keras, rnncore):
        model = lib.Sequential([lib.Input((4, 3)), lib.layers.Dense(1)])
        model.compile("adam", "mse")
        models.append(model)
    models[1].set_weights(models[0].get_weights())
    for model in models:
        assert model.predict(x, steps=2, batch_size=32, verbose=0).shape == (64, 4, 1)
    np.testing.assert_allclose(models[1].evaluate(x, y, steps=2, batch_size=32, verbose=0),
                               models[0].evaluate(x, y, steps=2, batch_size=32, verbose=0),
                               rtol=1e-6)
    with pytest.warns(UserWarning, match="ran out of data"):
        assert models[1].predict(x, steps=10, batch_size=32, verbose=0).shape == (100, 4, 1)
    with pytest.raises(ValueError, match=r"steps must be None or a positive integer, got 0"):
        models[1].predict(x, steps=0, verbose=0)
