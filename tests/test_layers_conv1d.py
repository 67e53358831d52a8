"""Conv1D, MaxPooling1D and AveragePooling1D against Keras 3 (outputs and gradients for every
padding, stride and dilation), finite differences in float64, and a CNN-LSTM program
trained with fit in both libraries."""
import numpy as np
import pytest

import rnncore
from rnncore import layers

from _layer_grads import assert_close_to_keras, finite_difference_check
from _parity import rel_err

CONV_CASES = [dict(padding=p, strides=s, dilation_rate=d)
              for p in ("valid", "same", "causal") for s, d in ((1, 1), (2, 1), (3, 1), (1, 2))]


@pytest.mark.parametrize("kwargs", CONV_CASES, ids=lambda k: "-".join(map(str, k.values())))
def test_conv1d_matches_keras(keras, tf, rng, kwargs):
    x = rng.standard_normal((3, 9, 4)).astype(np.float32)
    out = assert_close_to_keras(tf, keras.layers.Conv1D(5, 3, activation="relu", **kwargs),
                                layers.Conv1D(5, 3, activation="relu", **kwargs), x)
    assert out.shape == layers.Conv1D(5, 3, **kwargs).compute_output_shape((3, 9, 4))


def test_conv1d_without_bias_and_with_kernel_one(keras, tf, rng):
    x = rng.standard_normal((2, 5, 3)).astype(np.float32)
    assert_close_to_keras(tf, keras.layers.Conv1D(4, 1, use_bias=False),
                          layers.Conv1D(4, 1, use_bias=False), x)


def test_causal_conv1d_does_not_look_ahead(rng):
    layer = layers.Conv1D(2, 3, padding="causal", dilation_rate=2)
    x = rng.standard_normal((1, 10, 2)).astype(np.float32)
    y = layer(x)
    x[:, 6:] += 1.0
    np.testing.assert_array_equal(layer(x)[:, :6], y[:, :6])


POOL_CASES = [(cls, p, s, pad) for cls in ("MaxPooling1D", "AveragePooling1D")
              for p, s in ((2, None), (3, 2), (3, 1), (2, 3)) for pad in ("valid", "same")]


@pytest.mark.parametrize("cls,pool,strides,padding", POOL_CASES)
def test_pooling1d_matches_keras(keras, tf, rng, cls, pool, strides, padding):
    x = rng.standard_normal((3, 9, 4)).astype(np.float32)
    out = assert_close_to_keras(tf, getattr(keras.layers, cls)(pool, strides, padding),
                                getattr(layers, cls)(pool, strides, padding), x)
    k_shape = getattr(keras.layers, cls)(pool, strides, padding).compute_output_shape((3, 9, 4))
    assert out.shape == tuple(k_shape)


@pytest.mark.parametrize("make", [
    lambda: layers.Conv1D(3, 3, padding="same", activation="tanh", dtype="float64"),
    lambda: layers.Conv1D(2, 2, padding="causal", dilation_rate=2, dtype="float64"),
    lambda: layers.Conv1D(2, 3, strides=2, dtype="float64"),
    lambda: layers.AveragePooling1D(3, 2, "same", dtype="float64"),
    lambda: layers.MaxPooling1D(2, 1, "same", dtype="float64"),
], ids=["same-tanh", "causal-dilated", "strided", "avg-same", "max-same"])
def test_conv_and_pooling_gradients_match_finite_differences(rng, make):
    finite_difference_check(make(), rng.standard_normal((2, 7, 3)))


def test_inputs_shorter_than_the_kernel_are_a_clear_error(rng):
    with pytest.raises(ValueError, match="Computed output size would be zero or negative"):
        layers.Conv1D(2, 5)(np.ones((1, 3, 2), np.float32))
    with pytest.raises(ValueError, match="Computed output size would be zero or negative"):
        layers.MaxPooling1D(4)(np.ones((1, 3, 2), np.float32))


def _cnn_lstm(lib, steps, features):
    model = lib.Sequential([lib.Input(shape=(steps, features)),
                            lib.layers.Conv1D(8, 3, padding="same", activation="relu",
                                              name="conv"),
                            lib.layers.MaxPooling1D(2, name="pool"),
                            lib.layers.LSTM(6, name="lstm"),
                            lib.layers.Dense(1, activation="sigmoid", name="out")],
                           name="cnn_lstm")
    model.compile(lib.optimizers.RMSprop(0.01), "binary_crossentropy", metrics=["accuracy"])
    return model


def _bump_task(rng, n=96, steps=16):
    """Does the sequence hold a bump (three high steps in a row)?"""
    x = rng.standard_normal((n, steps, 2)).astype(np.float32) * 0.5
    y = (rng.random(n) < 0.5).astype(np.float32)
    where = rng.integers(0, steps - 3, n)
    for i in np.flatnonzero(y):
        x[i, where[i]:where[i] + 3, 0] += 2.0
    return x, y


def test_cnn_lstm_trains_as_keras(keras, rng, capsys):
    """Conv1D → MaxPooling1D → LSTM → Dense: summary, count_params, and a fit history from
    equal weights, as Keras's."""
    x, y = _bump_task(rng)
    k_model, r_model = _cnn_lstm(keras, 16, 2), _cnn_lstm(rnncore, 16, 2)
    r_model.set_weights(k_model.get_weights())
    assert r_model.count_params() == k_model.count_params()
    tables = []
    for model in (k_model, r_model):
        model.summary()
        tables.append(capsys.readouterr().out.splitlines())
    assert tables[0] == tables[1]
    fit = dict(batch_size=16, epochs=3, shuffle=False, verbose=0, validation_split=0.25)
    k_hist, r_hist = k_model.fit(x, y, **fit).history, r_model.fit(x, y, **fit).history
    assert sorted(r_hist) == sorted(k_hist)
    for key in k_hist:
        assert rel_err(r_hist[key], k_hist[key]) <= 1e-3, key
    for r_w, k_w in zip(r_model.get_weights(), k_model.get_weights()):
        assert rel_err(r_w, k_w) <= 1e-3
    assert r_hist["loss"][-1] < r_hist["loss"][0]


@pytest.mark.parametrize("kwargs", [dict(groups=2, padding="causal"),
                                    dict(groups=4, strides=2, activation="relu"),
                                    dict(data_format="channels_first", padding="same")],
                         ids=["groups2-causal", "groups4-strided", "channels-first"])
def test_conv1d_groups_and_channels_first_match_keras(keras, tf, rng, kwargs):
    shape = (3, 4, 9) if "data_format" in kwargs else (3, 9, 4)
    x = rng.standard_normal(shape).astype(np.float32)
    out = assert_close_to_keras(tf, keras.layers.Conv1D(8, 3, **kwargs),
                                layers.Conv1D(8, 3, **kwargs), x)
    assert out.shape == tuple(keras.layers.Conv1D(8, 3, **kwargs).compute_output_shape(shape))
