"""Identity, ZeroPadding1D, Cropping1D, UpSampling1D, Normalization and MultiHeadAttention
against Keras: outputs and gradients with equal weights, training inside a model, configs,
masks."""
import numpy as np
import pytest

import rnncore
from _layer_parity import (assert_bad_argument, assert_config_round_trip,
                           assert_gradients_finite_difference, assert_matches_keras,
                           assert_pickles, save_load_predict)
from _parity import train_pair_on_batch

B, T, F = 3, 5, 4

# name: (class name, args, kwargs, input shape)
CASES = {
    "identity": ("Identity", (), {}, (B, T, F)),
    "zero_padding": ("ZeroPadding1D", (), {}, (B, T, F)),
    "zero_padding_pair": ("ZeroPadding1D", ((2, 0),), {}, (B, T, F)),
    "zero_padding_channels_first": ("ZeroPadding1D", ((1, 3),),
                                    {"data_format": "channels_first"}, (B, T, F)),
    "cropping": ("Cropping1D", (), {}, (B, T, F)),
    "cropping_end_only": ("Cropping1D", ((0, 2),), {}, (B, T, F)),
    "cropping_int": ("Cropping1D", (2,), {}, (B, T, F)),
    "up_sampling": ("UpSampling1D", (), {}, (B, T, F)),
    "up_sampling_3": ("UpSampling1D", (3,), {}, (B, T, F)),
}


def make(lib, name, **extra):
    cls, args, kwargs, _ = CASES[name]
    return getattr(lib.layers, cls)(*args, **kwargs, **extra)


def data(name, rng, dtype="float32"):
    return rng.normal(size=CASES[name][3]).astype(dtype)


@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_and_backward_match_keras(keras, tf, rng, name):
    assert_matches_keras(tf, make(keras, name), make(rnncore, name), data(name, rng))


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_match_finite_differences(rng, name):
    assert_gradients_finite_difference(make(rnncore, name, dtype="float64"),
                                       data(name, rng, "float64"))


@pytest.mark.parametrize("name", sorted(CASES))
def test_output_shape_and_config_as_keras(keras, name):
    for shape in ((None,) + CASES[name][3][1:], (None, None, F)):
        if CASES[name][2].get("data_format") == "channels_first" and shape[1] is None:
            continue
        k_layer, r_layer = make(keras, name), make(rnncore, name)
        assert r_layer.compute_output_shape(shape) == tuple(k_layer.compute_output_shape(shape))
    k_config = make(keras, name).get_config()
    r_config = make(rnncore, name).get_config()
    for key in set(k_config) - {"dtype", "name"}:
        theirs = k_config[key]
        assert r_config[key] == (tuple(theirs) if isinstance(theirs, list) else theirs), key
    assert type(assert_config_round_trip(make(rnncore, name))) is type(make(rnncore, name))


@pytest.mark.parametrize("name", ["zero_padding", "cropping", "up_sampling", "identity"])
def test_masks_as_keras(keras, tf, rng, name):
    # Identity carries the mask on; the padding, cropping and up-sampling layers drop it
    mask = np.ones((B, T), bool)
    mask[0, 3:] = False
    assert_matches_keras(tf, make(keras, name), make(rnncore, name), data(name, rng), mask,
                         mask_kwarg=False)


def test_trained_between_conv_and_lstm_as_keras(keras, rng):
    models = []
    for lib in (keras, rnncore):
        L = lib.layers
        models.append(lib.Sequential([
            lib.Input((T, F)), L.ZeroPadding1D((1, 2)), L.Conv1D(3, 3, activation="tanh"),
            L.UpSampling1D(2), L.Cropping1D((1, 2)), L.Identity(), L.LSTM(4), L.Dense(1)]))
    k_model, r_model = models
    r_model.set_weights(k_model.get_weights())
    k_model.compile(keras.optimizers.Adam(0.01), "mse")
    r_model.compile(rnncore.optimizers.Adam(0.01), "mse")
    x = rng.normal(size=(6, T, F)).astype("float32")
    y = rng.normal(size=(6, 1)).astype("float32")
    train_pair_on_batch(k_model, r_model, x, y, steps=3, tol=1e-5)


def test_save_load_and_pickle(tmp_path, rng):
    L = rnncore.layers
    model = rnncore.Sequential([rnncore.Input((T, F)), L.ZeroPadding1D(2), L.UpSampling1D(3),
                                L.Cropping1D((1, 4)), L.Identity(), L.Dense(2)])
    x = rng.normal(size=(B, T, F)).astype("float32")
    loaded = save_load_predict(model, x, tmp_path)
    assert [type(layer).__name__ for layer in loaded.layers] == \
        ["ZeroPadding1D", "UpSampling1D", "Cropping1D", "Identity", "Dense"]
    for name in sorted(CASES):
        assert_pickles(make(rnncore, name), data(name, rng))


BAD = [
    (lambda L: L.ZeroPadding1D((1, 2, 3)), ValueError, "padding=(1, 2, 3)"),
    (lambda L: L.ZeroPadding1D(-1), ValueError, "padding=-1"),
    (lambda L: L.ZeroPadding1D(data_format="nhwc"), ValueError, "data_format='nhwc'"),
    (lambda L: L.Cropping1D("a"), ValueError, "cropping='a'"),
    (lambda L: L.UpSampling1D(0), ValueError, "size=0"),
    (lambda L: L.UpSampling1D(1.5), TypeError, "1.5"),
    (lambda L: L.Cropping1D((3, 2))(np.ones((1, 5, 2), "float32")), ValueError,
     "cropping=(3, 2)"),
]


@pytest.mark.parametrize("make_layer,error,text", BAD, ids=[b[2] for b in BAD])
def test_bad_arguments_are_named(make_layer, error, text):
    assert_bad_argument(make_layer, error, text)
