"""clone_model and model_from_json, as keras.models."""
import json

import numpy as np
import pytest

import rnncore
from rnncore.models import clone_model, model_from_json


def _sequential():
    return rnncore.Sequential([rnncore.Input((6, 3)), rnncore.layers.LSTM(5, name="lstm"),
                               rnncore.layers.Dense(2, activation="softmax", name="out")],
                              name="seq")


def _functional():
    a = rnncore.Input((6, 3), name="a")
    b = rnncore.Input((4,), name="b")
    h = rnncore.layers.GRU(5, name="gru")(a)
    h = rnncore.layers.Concatenate(name="cat")([h, rnncore.layers.Dense(3, name="side")(b)])
    return rnncore.Model([a, b], rnncore.layers.Dense(1, name="out")(h), name="fn")


_SHAPES = {"seq": [(6, 3)], "fn": [(6, 3), (4,)]}
_OUT = {"seq": 2, "fn": 1}


def _inputs(model, rng):
    xs = [rng.normal(size=(4,) + s).astype("float32") for s in _SHAPES[model.name]]
    return xs if len(xs) > 1 else xs[0]


@pytest.mark.parametrize("make", [_sequential, _functional])
def test_clone_has_new_weights_and_reproduces_with_set_weights(rng, make):
    model = make()
    clone = clone_model(model)
    assert type(clone) is type(model) and clone is not model
    assert [layer.name for layer in clone.layers] == [layer.name for layer in model.layers]
    assert not any(a is b for a, b in zip(clone.layers, model.layers))
    assert [w.shape for w in clone.get_weights()] == [w.shape for w in model.get_weights()]
    # fresh draws from the initializers (kernels differ; zero biases may not)
    assert any(not np.array_equal(a, b) for a, b in zip(clone.get_weights(), model.get_weights()))
    clone.set_weights(model.get_weights())
    x = _inputs(model, rng)
    np.testing.assert_array_equal(clone.predict(x, verbose=0), model.predict(x, verbose=0))
    # the clone trains apart from the original
    before = [w.copy() for w in model.get_weights()]
    clone.compile("sgd", "mse")
    clone.fit(x, np.zeros((4, _OUT[model.name]), "float32"), verbose=0)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_clone_function_for_sequential():
    model = _sequential()
    seen = []

    def fn(layer):
        seen.append(layer.name)
        return layer.__class__.from_config(layer.get_config())
    clone = clone_model(model, clone_function=fn)
    assert seen == ["lstm", "out"] and clone.count_params() == model.count_params()


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(input_tensors=[1]), NotImplementedError, "input_tensors"),
    (dict(call_function=print), NotImplementedError, "call_function"),
    (dict(clone_function=3), ValueError, "clone_function=3"),
])
def test_clone_model_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        clone_model(_sequential(), **kwargs)
    with pytest.raises(ValueError, match="model="):
        clone_model("not a model")


@pytest.mark.parametrize("make", [_sequential, _functional])
def test_model_from_json_inverts_to_json(rng, make):
    model = make()
    again = model_from_json(model.to_json())
    assert type(again) is type(model) and again.to_json() == model.to_json()
    again.set_weights(model.get_weights())
    x = _inputs(model, rng)
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))


def test_model_from_json_reads_keras_json(keras, rng):
    k_model = keras.Sequential([keras.Input((6, 3)), keras.layers.LSTM(5),
                                keras.layers.Dense(1)])
    model = model_from_json(k_model.to_json())
    model.set_weights(k_model.get_weights())
    x = rng.normal(size=(4, 6, 3)).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), k_model.predict(x, verbose=0),
                               atol=1e-5)


@pytest.mark.parametrize("text, match", [
    ("{not json", "not valid JSON"),
    ('{"class_name": "Dense", "config": {}}', "'Dense'"),
])
def test_model_from_json_bad_input(text, match):
    with pytest.raises(ValueError, match=match):
        model_from_json(text)


def test_model_from_json_reads_keras_2_recurrent_options(rng):
    model = rnncore.Sequential([rnncore.Input((6, 3)), rnncore.layers.GRU(4, name="gru"),
                                rnncore.layers.Dense(1, name="out")])
    config = json.loads(model.to_json())
    gru = next(entry for entry in config["config"]["layers"] if entry["class_name"] == "GRU")
    gru["config"].update(implementation=0, time_major=False)
    again = model_from_json(json.dumps(config))
    again.set_weights(model.get_weights())
    x = rng.normal(size=(2, 6, 3)).astype("float32")
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
    gru["config"]["time_major"] = True
    with pytest.raises(ValueError, match="time_major=True"):
        model_from_json(json.dumps(config))


def _keras_functional_models(keras):
    L = keras.layers
    i = keras.Input((5, 3))
    yield keras.Model(i, L.Dense(2)(L.LSTM(4)(i)))
    a, b = keras.Input((5, 3)), keras.Input((4,))
    yield keras.Model([a, b], L.Dense(1)(L.concatenate([L.GRU(4)(a), b])))
    enc, dec = keras.Input((None, 6)), keras.Input((None, 5))
    _, h, c = L.LSTM(4, return_state=True)(enc)
    yield keras.Model([enc, dec], L.Dense(5, activation="softmax")(
        L.LSTM(4, return_sequences=True)(dec, initial_state=[h, c])))
    x, y = keras.Input((6,), dtype="int32"), keras.Input((6,), dtype="int32")
    embed, encode = L.Embedding(20, 3), L.LSTM(2)  # shared by both inputs
    yield keras.Model([x, y], L.subtract([encode(embed(x)), encode(embed(y))]))


def test_model_from_json_reads_keras_functional_models(keras, rng):
    for k_model in _keras_functional_models(keras):
        r_model = rnncore.models.model_from_json(k_model.to_json())
        assert [layer.name for layer in r_model.layers] == [layer.name for layer in k_model.layers]
        r_model.set_weights(k_model.get_weights())
        xs = [rng.integers(0, 20, (2, *t.shape[1:])) if "int" in str(t.dtype) else
              rng.standard_normal((2, *(d or 3 for d in t.shape[1:]))).astype("float32")
              for t in k_model.inputs]
        xs = xs if len(xs) > 1 else xs[0]
        np.testing.assert_allclose(r_model.predict(xs, verbose=0),
                                   np.asarray(k_model.predict(xs, verbose=0)), atol=1e-6)
