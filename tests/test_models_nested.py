"""A model used as a layer of another (Keras's nested models), trained as Keras trains it."""
import numpy as np
import pytest

import rnncore


def _encoder(lib, name="encoder"):
    inp = lib.Input((6, 3))
    return lib.Model(inp, lib.layers.LSTM(4)(inp), name=name)


def _in_functional(lib):
    encoder = _encoder(lib)
    inp = lib.Input((6, 3))
    return lib.Model(inp, lib.layers.Dense(2, activation="softmax")(encoder(inp))), encoder


def _in_sequential(lib):
    encoder = _encoder(lib)
    return lib.Sequential([lib.Input((6, 3)), encoder, lib.layers.Dense(2, activation="softmax")]), \
        encoder


def _after_embedding(lib):
    # the nested model must hand its input gradient back to the outer Embedding
    inner = lib.Sequential([lib.Input((5, 4)), lib.layers.GRU(3, return_sequences=True),
                            lib.layers.SimpleRNN(3)], name="inner")
    inp = lib.Input((5,), dtype="int32")
    out = lib.layers.Dense(2, activation="softmax")(inner(lib.layers.Embedding(20, 4)(inp)))
    return lib.Model(inp, out), inner


@pytest.mark.parametrize("build", [_in_functional, _in_sequential, _after_embedding])
def test_nested_model_trains_as_keras(keras, rng, build):
    (k_model, k_inner), (r_model, r_inner) = build(keras), build(rnncore)
    assert [type(layer).__name__ for layer in r_model.layers] == \
        [type(layer).__name__ for layer in k_model.layers]
    assert r_model.count_params() == k_model.count_params()
    weights = [rng.standard_normal(w.shape).astype("float32") * 0.5
               for w in k_model.get_weights()]
    k_model.set_weights(weights)
    r_model.set_weights(weights)
    shape = k_model.inputs[0].shape[1:]
    x = (rng.integers(0, 20, (8, *shape)) if build is _after_embedding
         else rng.standard_normal((8, *shape)).astype("float32"))
    y = rng.integers(0, 2, 8)
    histories = []
    for model, lib in ((k_model, keras), (r_model, rnncore)):
        model.compile(lib.optimizers.SGD(0.5), "sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        histories.append(model.fit(x, y, epochs=3, batch_size=4, shuffle=False,
                                   verbose=0).history)
    for key in histories[0]:
        np.testing.assert_allclose(histories[1][key], histories[0][key], rtol=1e-5)
    # the inner model is the same object, trained in place: it predicts as Keras's does
    probe = x[:3] if build is not _after_embedding else \
        rng.standard_normal((3, 5, 4)).astype("float32")
    np.testing.assert_allclose(r_inner.predict(probe, verbose=0),
                               k_inner.predict(probe, verbose=0), atol=1e-5)


def test_nested_model_saves_and_loads(rng, tmp_path):
    model, _ = _in_functional(rnncore)
    x = rng.standard_normal((4, 6, 3)).astype("float32")
    model.save(tmp_path / "nested.keras")
    loaded = rnncore.models.load_model(tmp_path / "nested.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert [type(layer).__name__ for layer in loaded.layers] == \
        ["InputLayer", "Functional", "Dense"]


def test_one_encoder_in_two_models_shares_its_weights(rng):
    encoder = _encoder(rnncore)
    heads = []
    for units in (1, 2):
        inp = rnncore.Input((6, 3))
        heads.append(rnncore.Model(inp, rnncore.layers.Dense(units)(encoder(inp))))
    x = rng.standard_normal((8, 6, 3)).astype("float32")
    before = encoder.predict(x, verbose=0)
    heads[0].compile("sgd", "mse")
    heads[0].fit(x, np.ones((8, 1)), verbose=0)
    after = encoder.predict(x, verbose=0)
    assert np.abs(after - before).max() > 0
    np.testing.assert_array_equal(heads[1].layers[1].predict(x, verbose=0), after)
