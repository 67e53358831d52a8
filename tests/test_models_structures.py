"""What a model takes and gives, as Keras 3 has it: ``input_shape`` / ``output_shape``,
``compile()`` with no arguments, tuple and dict outputs, dict inputs."""
import pickle

import numpy as np
import pytest

import rnncore

N, T, F = 8, 5, 3


@pytest.fixture
def x(rng):
    return rng.random((N, T, F)).astype("float32")


def _same_weights(k_model, r_model, seed=5):
    weights = [np.random.default_rng(seed).standard_normal(w.shape).astype("float32") * 0.5
               for w in k_model.get_weights()]
    k_model.set_weights(weights)
    r_model.set_weights(weights)


def _sequential(lib):
    return lib.Sequential([lib.Input((T, F)), lib.layers.LSTM(3), lib.layers.Dense(2)])


def _two_in_two_out(lib):
    a, b = lib.Input((T, F)), lib.Input((2,))
    h = lib.layers.Concatenate()([lib.layers.GRU(4)(a), b])
    return lib.Model([a, b], [lib.layers.Dense(1)(h), lib.layers.Dense(2)(h)])


@pytest.mark.parametrize("build", [_sequential, _two_in_two_out])
def test_input_and_output_shape_as_keras(keras, build):
    k_model, r_model = build(keras), build(rnncore)
    assert r_model.input_shape == k_model.input_shape
    assert r_model.output_shape == k_model.output_shape


def test_sequential_without_input_has_no_shape_yet(keras):
    for lib in (keras, rnncore):
        model = lib.Sequential([lib.layers.Dense(2)])
        with pytest.raises(AttributeError, match="no defined input shape"):
            model.input_shape
        model.build((None, 4))
        assert model.input_shape == (None, 4) and model.output_shape == (None, 2)


def _gru_model(lib):
    inp = lib.Input((T, F))
    return lib.Model(inp, lib.layers.Dense(1)(lib.layers.GRU(4)(inp)))


def test_compile_without_arguments(keras, x):
    """Keras allows ``compile()``: predict, get_config and pickling work; fit, evaluate and
    the batch methods say that there is no loss."""
    k_model, r_model = _gru_model(keras), _gru_model(rnncore)
    _same_weights(k_model, r_model)
    y = np.ones((N, 1), "float32")
    for model in (k_model, r_model):
        model.compile()
        for call in (lambda: model.fit(x, y, verbose=0), lambda: model.evaluate(x, y, verbose=0),
                     lambda: model.train_on_batch(x, y)):
            with pytest.raises(ValueError, match="No loss to compute"):
                call()
    np.testing.assert_allclose(r_model.predict(x, verbose=0), k_model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)
    assert r_model.get_config()["name"] == r_model.name
    restored = pickle.loads(pickle.dumps(r_model))
    np.testing.assert_allclose(restored.predict(x, verbose=0), r_model.predict(x, verbose=0))


def _heads(lib, structure):
    inp = lib.Input((T, F))
    h = lib.layers.LSTM(4)(inp)
    a, b = lib.layers.Dense(1, name="da")(h), lib.layers.Dense(2, name="db")(h)
    outputs = (a, b) if structure == "tuple" else {"x": a, "y": b}
    return lib.Model(inp, outputs)


@pytest.mark.parametrize("structure", ["tuple", "dict"])
def test_tuple_and_dict_outputs_as_keras(keras, x, structure):
    k_model, r_model = _heads(keras, structure), _heads(rnncore, structure)
    _same_weights(k_model, r_model)
    k_pred, r_pred = k_model.predict(x, verbose=0), r_model.predict(x, verbose=0)
    assert type(r_pred) is type(k_pred)
    assert type(r_model.output) is type(k_model.output)
    assert r_model.output_shape == k_model.output_shape
    k_items = k_pred.items() if structure == "dict" else enumerate(k_pred)
    for key, value in k_items:
        np.testing.assert_allclose(r_pred[key], value, rtol=1e-5, atol=1e-6)
    ya, yb = np.ones((N, 1), "float32"), np.zeros((N, 2), "float32")
    if structure == "dict":
        y, loss = {"x": ya, "y": yb}, {"x": "mse", "y": "mae"}
    else:
        y, loss = (ya, yb), ["mse", "mae"]
    histories = []
    for model, lib in ((k_model, keras), (r_model, rnncore)):
        model.compile(lib.optimizers.SGD(0.1), loss=loss)
        histories.append(model.fit(x, y, epochs=3, batch_size=4, shuffle=False,
                                   verbose=0).history)
    assert sorted(histories[1]) == sorted(histories[0])  # x_loss / da_loss as Keras logs them
    for key, values in histories[0].items():
        np.testing.assert_allclose(histories[1][key], values, rtol=1e-5, err_msg=key)


def _dict_inputs(lib, reverse=False):
    a, b = lib.Input((T, F), name="a"), lib.Input((2,), name="b")
    out = lib.layers.Dense(1)(lib.layers.Concatenate()([lib.layers.LSTM(3)(a), b]))
    inputs = {"b": b, "a": a} if reverse else {"a": a, "b": b}
    return lib.Model(inputs, out)


@pytest.mark.parametrize("reverse", [False, True], ids=["sorted", "unsorted"])
def test_dict_inputs_as_keras(keras, x, rng, reverse):
    k_model, r_model = _dict_inputs(keras, reverse), _dict_inputs(rnncore, reverse)
    _same_weights(k_model, r_model)
    assert [t.name for t in r_model.inputs] == [t.name for t in k_model.inputs]
    assert r_model.input_shape == k_model.input_shape
    assert sorted(r_model.input) == sorted(k_model.input)
    data = {"b": rng.random((N, 2)).astype("float32"), "a": x}
    y = rng.random((N, 1)).astype("float32")
    np.testing.assert_allclose(r_model.predict(data, verbose=0),
                               k_model.predict(data, verbose=0), rtol=1e-5, atol=1e-6)
    losses = []
    for model, lib in ((k_model, keras), (r_model, rnncore)):
        model.compile(lib.optimizers.Adam(0.01), loss="mse")
        losses.append(model.fit(data, y, epochs=3, batch_size=4, shuffle=False,
                                verbose=0, validation_data=(data, y)).history)
    for key, values in losses[0].items():
        np.testing.assert_allclose(losses[1][key], values, rtol=1e-5, err_msg=key)
    np.testing.assert_allclose(r_model.evaluate(data, y, verbose=0),
                               k_model.evaluate(data, y, verbose=0), rtol=1e-5)


def test_dict_input_missing_a_key_names_it():
    model = _dict_inputs(rnncore)
    with pytest.raises(ValueError, match=r"no \['b'\]"):
        model.predict({"a": np.zeros((2, T, F), "float32")}, verbose=0)


@pytest.mark.parametrize("loss", ["mse", {"out": "mse"}], ids=["plain", "dict"])
def test_one_output_in_a_dict_as_keras(keras, x, loss):
    """``Model(inputs, {"out": y})``: predict gives the dict, and it trains as one output
    (logs without an output prefix), as Keras."""
    models = []
    for lib in (keras, rnncore):
        inp = lib.Input((T, F))
        models.append(lib.Model(inp, {"out": lib.layers.Dense(1)(lib.layers.GRU(3)(inp))}))
    _same_weights(*models)
    preds = [model.predict(x, verbose=0) for model in models]
    assert list(preds[1]) == list(preds[0]) == ["out"]
    np.testing.assert_allclose(preds[1]["out"], preds[0]["out"], rtol=1e-5, atol=1e-6)
    y = np.linspace(0, 1, N, dtype="float32")[:, None]
    histories = []
    for model, lib in zip(models, (keras, rnncore)):
        model.compile(lib.optimizers.SGD(0.1), loss=loss, metrics={"out": ["mae"]})
        histories.append(model.fit(x, y, epochs=2, batch_size=4, shuffle=False,
                                   verbose=0).history)
    assert sorted(histories[1]) == sorted(histories[0])
    for key, values in histories[0].items():
        np.testing.assert_allclose(histories[1][key], values, rtol=1e-5, err_msg=key)


@pytest.mark.parametrize("structure", ["tuple", "dict"])
def test_structure_survives_config_and_symbolic_calls(keras, x, structure):
    """A rebuilt model (from_config) and a model called on new tensors give the outputs in
    the structure the model was built with, as Keras."""
    for lib in (keras, rnncore):
        model = _heads(lib, structure)
        restored = type(model).from_config(model.get_config())
        restored.set_weights(model.get_weights())
        out = restored.predict(x, verbose=0)
        assert isinstance(out, tuple if structure == "tuple" else dict), lib.__name__
        symbolic = model(lib.Input((T, F)))
        assert isinstance(symbolic, tuple if structure == "tuple" else dict), lib.__name__


def test_list_inputs_take_a_dict_by_input_name(keras, x, rng):
    """A model built on a list of named inputs takes a dict of arrays, or of tensors, keyed
    by those names, as Keras."""
    b = rng.random((N, 2)).astype("float32")
    preds = []
    for lib in (keras, rnncore):
        a_in, b_in = lib.Input((T, F), name="seq"), lib.Input((2,), name="extra")
        h = lib.layers.Concatenate()([lib.layers.GRU(2)(a_in), b_in])
        model = lib.Model([a_in, b_in], lib.layers.Dense(1)(h))
        model.set_weights([np.full(w.shape, 0.1, "float32") for w in model.get_weights()])
        preds.append(model.predict({"extra": b, "seq": x}, verbose=0))
        out = model({"seq": lib.Input((T, F)), "extra": lib.Input((2,))})
        assert tuple(out.shape) == (None, 1)
    np.testing.assert_allclose(preds[1], preds[0], rtol=1e-5, atol=1e-6)
