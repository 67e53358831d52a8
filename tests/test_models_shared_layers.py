"""One layer called on several tensors of one model (siamese networks): its weights are
shared, each call keeps its own forward data, and the gradients of the calls add up, as in
Keras."""
import numpy as np
import pytest

import rnncore


def _siamese(lib, rnn="LSTM"):
    a = lib.Input((6,), dtype="int32")
    b = lib.Input((6,), dtype="int32")
    embed = lib.layers.Embedding(30, 5)
    encode = getattr(lib.layers, rnn)(4)
    left, right = encode(embed(a)), encode(embed(b))
    merged = lib.layers.concatenate([left, right, lib.layers.subtract([left, right])])
    return lib.Model([a, b], lib.layers.Dense(1, activation="sigmoid")(merged))


def _shared_dense_chain(lib):
    inp = lib.Input((5, 3))
    dense = lib.layers.Dense(3, activation="tanh")
    seq = lib.layers.GRU(3, return_sequences=True)(dense(inp))
    return lib.Model(inp, lib.layers.GlobalAveragePooling1D()(dense(seq)))


@pytest.mark.parametrize("build, sparse", [
    (lambda lib: _siamese(lib, "LSTM"), True), (lambda lib: _siamese(lib, "GRU"), True),
    (_shared_dense_chain, False)])
def test_shared_layers_train_as_keras(keras, rng, build, sparse):
    k_model, r_model = build(keras), build(rnncore)
    assert [type(layer).__name__ for layer in r_model.layers] == \
        [type(layer).__name__ for layer in k_model.layers]
    assert [w.shape for w in r_model.get_weights()] == [w.shape for w in k_model.get_weights()]
    r_model.set_weights(k_model.get_weights())
    if sparse:
        x = [rng.integers(0, 30, (12, 6)), rng.integers(0, 30, (12, 6))]
        y = rng.integers(0, 2, 12).astype("float32")
        loss = "binary_crossentropy"
    else:
        x = rng.standard_normal((12, 5, 3)).astype("float32")
        y = rng.standard_normal((12, 3)).astype("float32")
        loss = "mse"
    histories = []
    for model, lib in ((k_model, keras), (r_model, rnncore)):
        model.compile(lib.optimizers.RMSprop(0.01), loss)  # RMSprop: sparse steps differ
        histories.append(model.fit(x, y, epochs=3, batch_size=4, shuffle=False,
                                   verbose=0).history)
    np.testing.assert_allclose(histories[1]["loss"], histories[0]["loss"], rtol=1e-4)
    for r, k in zip(r_model.get_weights(), k_model.get_weights()):
        np.testing.assert_allclose(r, k, atol=2e-5)


def test_shared_layer_model_saves_and_loads(rng, tmp_path):
    model = _siamese(rnncore)
    x = [rng.integers(0, 30, (4, 6)), rng.integers(0, 30, (4, 6))]
    model.save(tmp_path / "siamese.keras")
    loaded = rnncore.models.load_model(tmp_path / "siamese.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert len(loaded.get_weights()) == len(model.get_weights())


def test_shared_layer_model_pickles(rng):
    import pickle

    model = _siamese(rnncore, "GRU")
    model.compile("adam", "binary_crossentropy")
    x = [rng.integers(0, 30, (8, 6)), rng.integers(0, 30, (8, 6))]
    y = rng.integers(0, 2, 8).astype("float32")
    model.fit(x, y, verbose=0)
    copy = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(copy.predict(x, verbose=0), model.predict(x, verbose=0))
    copy.fit(x, y, verbose=0, shuffle=False)
    model.fit(x, y, verbose=0, shuffle=False)
    for a, b in zip(copy.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
