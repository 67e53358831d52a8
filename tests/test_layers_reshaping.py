"""RepeatVector, Reshape, Permute and TimeDistributed against Keras (issue 12)."""
import re

import numpy as np
import pytest

import rnncore
from _layer_parity import (assert_bad_argument, assert_config_round_trip,
                           assert_gradients_finite_difference, assert_matches_keras,
                           assert_pickles, save_load_predict)
from _parity import build_pair, train_pair_on_batch

B, T, F = 4, 5, 6

# name: (class name, args, kwargs, input shape)
CASES = {
    "repeat_vector": ("RepeatVector", (3,), {}, (B, F)),
    "reshape": ("Reshape", ((3, 10),), {}, (B, T, F)),
    "reshape_minus_one": ("Reshape", ((-1, 3),), {}, (B, T, F)),
    "permute": ("Permute", ((2, 1),), {}, (B, T, F)),
    "permute_3d": ("Permute", ((3, 1, 2),), {}, (B, T, 2, 3)),
    "td_dense": ("TimeDistributed", ("Dense", (3,), {"activation": "tanh"}), {}, (B, T, F)),
    "td_dense_4d": ("TimeDistributed", ("Dense", (2,), {}), {}, (B, T, 2, F)),
    "td_activation": ("TimeDistributed", ("Activation", ("sigmoid",), {}), {}, (B, T, F)),
    "td_softmax_dense": ("TimeDistributed", ("Dense", (4,), {"activation": "softmax"}), {},
                         (B, T, F)),
    "td_repeat_vector": ("TimeDistributed", ("RepeatVector", (2,), {}), {}, (B, T, F)),
    "td_lstm": ("TimeDistributed", ("LSTM", (3,), {}), {}, (B, T, 4, F)),
}


def make(lib, name, **extra):
    cls, args, kwargs, _ = CASES[name]
    if cls == "TimeDistributed":
        inner_cls, inner_args, inner_kwargs = args
        inner = getattr(lib.layers, inner_cls)(*inner_args, **inner_kwargs, **extra)
        return lib.layers.TimeDistributed(inner, **extra)
    return getattr(lib.layers, cls)(*args, **kwargs, **extra)


def data(name, rng, dtype="float32"):
    return rng.normal(size=CASES[name][3]).astype(dtype)


@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_and_backward_match_keras(keras, tf, rng, name):
    x = data(name, rng)
    assert_matches_keras(tf, make(keras, name), make(rnncore, name), x)


# td_lstm's gradient is the LSTM's, checked by finite differences in test_recurrent
@pytest.mark.parametrize("name", sorted(set(CASES) - {"td_lstm"}))
def test_gradients_match_finite_differences(rng, name):
    x = data(name, rng, "float64")
    assert_gradients_finite_difference(make(rnncore, name, dtype="float64"), x)


def _path(layer, weight):
    """A weight's path with the layer names (numbered by each library's own counter) as
    placeholders: Keras's "time_distributed/dense/kernel" is "<layer>/<inner>/kernel". (A
    recurrent layer's cell level, "lstm/lstm_cell/kernel" in Keras, is not in rnncore's paths
    of its own weights either: left out.)"""
    path = re.sub(r"/[a-z_]+_cell/", "/", weight.path)
    inner = getattr(layer, "layer", None)
    if inner is not None:
        path = path.replace(f"{inner.name}/", "<inner>/")
    return path.replace(f"{layer.name}/", "<layer>/")


@pytest.mark.parametrize("name", sorted(CASES))
def test_output_shape_weights_and_config_as_keras(keras, rng, name):
    shape = (None,) + CASES[name][3][1:]
    k_layer, r_layer = make(keras, name), make(rnncore, name)
    k_layer.build(shape)
    r_layer._maybe_build(shape)
    assert r_layer.compute_output_shape(shape) == tuple(k_layer.compute_output_shape(shape))
    assert [(_path(r_layer, w), tuple(w.shape)) for w in r_layer.weights] == \
        [(_path(k_layer, w), tuple(w.shape)) for w in k_layer.weights]
    assert r_layer.count_params() == k_layer.count_params()
    assert set(k_layer.get_config()) - {"dtype"} <= set(r_layer.get_config())
    clone = assert_config_round_trip(r_layer)
    assert type(clone) is type(r_layer)


def test_time_distributed_weights_are_the_wrapped_layers(keras):
    k_td = keras.layers.TimeDistributed(keras.layers.Dense(4))
    r_td = rnncore.layers.TimeDistributed(rnncore.layers.Dense(4))
    for layer in (k_td, r_td):
        layer.build((None, T, F))
    assert [w.name for w in r_td.weights] == ["kernel", "bias"]
    assert r_td.layer.kernel is r_td.weights[0]
    r_td.trainable = False
    assert r_td.trainable_weights == [] and len(r_td.non_trainable_weights) == 2
    assert isinstance(r_td, rnncore.layers.Wrapper)


def test_time_distributed_dropout_is_identity_at_inference_and_drops_per_step(rng):
    x = np.ones((64, T, F), "float32")
    td = rnncore.layers.TimeDistributed(rnncore.layers.Dropout(0.5))
    np.testing.assert_array_equal(td(x), x)
    y = td(x, training=True)
    assert set(np.unique(y)) <= {0.0, 2.0}
    # independent draws for every step, as Keras's loop over steps
    assert not np.array_equal(y[:, 0], y[:, 1])
    d = td.backward(np.ones_like(y))
    np.testing.assert_array_equal(d, y)


@pytest.mark.parametrize("functional", [False, True], ids=["sequential", "functional"])
def test_embedding_mask_passes_through_time_distributed_to_lstm(keras, rng, functional):
    models = []
    for lib in (keras, rnncore):
        layers = [lib.layers.Embedding(20, 4, mask_zero=True),
                  lib.layers.TimeDistributed(lib.layers.Dense(5, activation="tanh")),
                  lib.layers.LSTM(3), lib.layers.Dense(1, activation="sigmoid")]
        inp = lib.Input(shape=(None,), dtype="int32")
        if functional:
            x = inp
            for layer in layers:
                x = layer(x)
            models.append(lib.Model(inp, x))
        else:
            models.append(lib.Sequential([inp] + layers))
    k_model, r_model = models
    r_model.set_weights(k_model.get_weights())
    x = rng.integers(1, 20, size=(6, 8))
    x[:, 5:] = 0  # padding at the end
    x[0, 2:] = 0
    np.testing.assert_allclose(r_model.predict(x, verbose=0), k_model.predict(x, verbose=0),
                               atol=1e-5)
    # the masked steps change nothing: the same as the unpadded prefix
    short = r_model.predict(x[1:, :5], verbose=0)
    np.testing.assert_allclose(r_model.predict(x[1:], verbose=0), short, atol=1e-6)
    if functional:
        return  # training compared once: Keras's first train step costs seconds of tracing
    k_model.compile(keras.optimizers.Adam(0.01), "binary_crossentropy")
    r_model.compile(rnncore.optimizers.Adam(0.01), "binary_crossentropy")
    y = (x[:, 0] > 10).astype("float32")
    train_pair_on_batch(k_model, r_model, x, y, steps=3, tol=1e-4)


def test_masked_seq2seq_loss_through_time_distributed_matches_keras(keras, rng):
    # Embedding(mask_zero) → LSTM(return_sequences) → TimeDistributed(Dense(softmax)): the
    # mask reaches the loss, which leaves the padded steps out, as in Keras
    spec = [("Embedding", (15, 4), {"mask_zero": True}),
            ("LSTM", (6,), {"return_sequences": True})]
    k_model, r_model = build_pair(keras, spec, (7,), "int32")
    k_model.add(keras.layers.TimeDistributed(keras.layers.Dense(5, activation="softmax")))
    r_model.add(rnncore.layers.TimeDistributed(rnncore.layers.Dense(5, activation="softmax")))
    r_model.set_weights(k_model.get_weights())
    k_model.compile(keras.optimizers.RMSprop(0.01), "sparse_categorical_crossentropy")
    r_model.compile(rnncore.optimizers.RMSprop(0.01), "sparse_categorical_crossentropy")
    x = rng.integers(1, 15, size=(8, 7))
    x[:, 4:] = 0
    y = rng.integers(0, 5, size=(8, 7))
    train_pair_on_batch(k_model, r_model, x, y, steps=3, tol=1e-4)


def test_summary_and_count_params_equal_keras(keras, capsys):
    lines = {}
    for lib in (keras, rnncore):
        model = lib.Sequential([lib.Input(shape=(7, 12)), lib.layers.LSTM(16, name="enc"),
                                lib.layers.RepeatVector(4, name="rep"),
                                lib.layers.LSTM(16, return_sequences=True, name="dec"),
                                lib.layers.TimeDistributed(lib.layers.Dense(12), name="td"),
                                lib.layers.Reshape((-1, 6), name="rsh"),
                                lib.layers.Permute((2, 1), name="perm")], name="s2s")
        model.summary()
        lines[lib.__name__] = capsys.readouterr().out.splitlines()
        lines[lib.__name__ + ".count"] = model.count_params()
    assert lines["rnncore"] == lines["keras"]
    assert lines["rnncore.count"] == lines["keras.count"]


def test_save_load_and_pickle(tmp_path, rng):
    L = rnncore.layers
    model = rnncore.Sequential([rnncore.Input(shape=(T, F)), L.TimeDistributed(L.Dense(4)),
                                L.Reshape((-1,)), L.RepeatVector(3), L.Permute((2, 1)),
                                L.TimeDistributed(L.Dense(2, activation="tanh"))])
    x = rng.normal(size=(B, T, F)).astype("float32")
    loaded = save_load_predict(model, x, tmp_path)
    assert [type(layer).__name__ for layer in loaded.layers] == \
        ["TimeDistributed", "Reshape", "RepeatVector", "Permute", "TimeDistributed"]
    # as Keras: time_distributed/dense/kernel, within the model's name scope when built there
    assert model.layers[0].weights[0].path == f"{model.name}/{loaded.layers[0].weights[0].path}"
    assert loaded.layers[0].weights[0].path.split("/")[0].startswith("time_distributed")
    for name in sorted(CASES):
        if name != "td_lstm":
            assert_pickles(make(rnncore, name), data(name, rng))


def test_reshape_of_an_empty_batch(rng):
    layer = rnncore.layers.Reshape((-1, 2))
    y = layer(np.zeros((0, 4, 3), "float32"))
    assert y.shape == (0, 6, 2)
    assert layer.backward(y).shape == (0, 4, 3)


def test_masks_are_dropped_by_reshaping_layers_as_in_keras():
    mask = np.ones((B, T), bool)
    x = np.zeros((B, T, F), "float32")
    for layer in (rnncore.layers.Reshape((-1,)), rnncore.layers.Permute((2, 1))):
        assert not layer.supports_masking and layer.compute_mask(x, mask) is None
    td = rnncore.layers.TimeDistributed(rnncore.layers.Dense(2))
    assert td.compute_mask(x, mask) is mask


BAD = [
    (lambda L: L.RepeatVector(0), ValueError, "n=0"),
    (lambda L: L.RepeatVector(2.5), TypeError, "n must be a positive integer, got 2.5"),
    (lambda L: L.RepeatVector(True), TypeError, "n must be"),
    (lambda L: L.Reshape((-1, -1)), ValueError, "target_shape=(-1, -1)"),
    (lambda L: L.Reshape((2, -3)), ValueError, "target_shape=(2, -3)"),
    (lambda L: L.Reshape(5), TypeError, "target_shape must be a tuple"),
    (lambda L: L.Reshape((2, "a")), TypeError, "target_shape=(2, 'a')"),
    (lambda L: L.Permute((1, 3)), ValueError, "dims=(1, 3)"),
    (lambda L: L.Permute((0, 1)), ValueError, "dims=(0, 1)"),
    (lambda L: L.Permute(2), TypeError, "dims must be a tuple"),
    (lambda L: L.TimeDistributed("dense"), ValueError, "layer='dense'"),
    (lambda L: L.TimeDistributed(L.Dense(2), units=3), TypeError, "units"),
]


@pytest.mark.parametrize("case", range(len(BAD)))
def test_bad_arguments_name_the_argument_and_value(case):
    assert_bad_argument(*BAD[case])


def test_bad_inputs_are_clear_errors():
    L = rnncore.layers
    with pytest.raises(ValueError, match="cannot be reshaped to target_shape"):
        L.Reshape((4, 4))(np.zeros((2, 3, 5)))
    with pytest.raises(ValueError, match="must be 2D"):
        L.RepeatVector(2)(np.zeros((2, 3, 5)))
    with pytest.raises(ValueError, match="expects 3D inputs"):
        L.Permute((2, 1))(np.zeros((2, 3, 5, 1)))
    with pytest.raises(ValueError, match="at least 3D"):
        L.TimeDistributed(L.Dense(2))(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="expected min_ndim=3"):
        L.TimeDistributed(L.Dense(2))(rnncore.Input(shape=(4,)))


# ---- a whole Keras program: the "addition" sequence-to-sequence example -------------------
CHARS = "0123456789+ "
DIGITS = 3
MAXLEN = DIGITS + 1 + DIGITS


def addition_data(rng, n):
    """Keras's addition_rnn example: "12+345 " → "357 ", one-hot, questions reversed."""
    def encode(text, length):
        out = np.zeros((length, len(CHARS)), bool)
        for i, c in enumerate(text.ljust(length)):
            out[i, CHARS.index(c)] = True
        return out

    a = rng.integers(0, 10 ** DIGITS, n)
    b = rng.integers(0, 10 ** DIGITS, n)
    x = np.stack([encode(f"{i}+{j}", MAXLEN)[::-1] for i, j in zip(a, b)])
    y = np.stack([encode(str(i + j), DIGITS + 1) for i, j in zip(a, b)])
    return x, y


def addition_model(lib, units=16):
    L = lib.layers
    return lib.Sequential([lib.Input(shape=(MAXLEN, len(CHARS))), L.LSTM(units),
                           L.RepeatVector(DIGITS + 1), L.LSTM(units, return_sequences=True),
                           L.TimeDistributed(L.Dense(len(CHARS), activation="softmax"))])


def test_addition_seq2seq_program_trains_as_keras(keras, rng):
    k_model, r_model = addition_model(keras), addition_model(rnncore)
    r_model.set_weights(k_model.get_weights())
    x, y = addition_data(rng, 160)
    histories = []
    for model, lib in ((k_model, keras), (r_model, rnncore)):
        model.compile(lib.optimizers.Adam(0.01), "categorical_crossentropy",
                      metrics=["accuracy"])
        histories.append(model.fit(x, y, batch_size=32, epochs=3, shuffle=False, verbose=0,
                                   validation_split=0.2).history)
    k_hist, r_hist = histories
    assert sorted(r_hist) == sorted(k_hist) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    for key in k_hist:
        tol = 1e-3 if "loss" in key else 0.01  # an accuracy may flip on one borderline digit
        for r, k in zip(r_hist[key], k_hist[key]):
            assert abs(r - k) <= tol * max(1.0, abs(k)), (key, r_hist[key], k_hist[key])
    assert r_hist["loss"][-1] < r_hist["loss"][0]
    np.testing.assert_allclose(r_model.predict(x[:20], verbose=0),
                               k_model.predict(x[:20], verbose=0), atol=1e-4)
