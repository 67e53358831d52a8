"""LayerNormalization and BatchNormalization against Keras 3: outputs, gradients, moving
statistics during fit, masks, configs, saving; finite differences in float64."""
import pickle

import numpy as np
import pytest

import rnncore
from rnncore import layers

from _layer_grads import assert_close_to_keras, finite_difference_check
from _parity import rel_err


def _x(rng, shape=(4, 6, 5)):
    return (rng.standard_normal(shape) * 2 + 1).astype(np.float32)


@pytest.mark.parametrize("kwargs", [{}, {"axis": [1, 2]}, {"axis": 1},
                                    {"center": False}, {"scale": False, "epsilon": 0.1}])
def test_layer_normalization_matches_keras(keras, tf, rng, kwargs):
    assert_close_to_keras(tf, keras.layers.LayerNormalization(**kwargs),
                          layers.LayerNormalization(**kwargs), _x(rng),
                          weights=None)


@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("kwargs", [{}, {"axis": 1}, {"center": False, "momentum": 0.5}])
def test_batch_normalization_matches_keras(keras, tf, rng, training, kwargs):
    x = _x(rng)
    k_layer = keras.layers.BatchNormalization(**kwargs)
    r_layer = layers.BatchNormalization(**kwargs)
    k_layer.build(x.shape)
    weights = [rng.random(w.shape).astype(np.float32) + 0.5 for w in k_layer.weights]
    assert_close_to_keras(tf, k_layer, r_layer, x, training=training, weights=weights)
    # the training call moved both layers' statistics the same way
    for r_w, k_w in zip(r_layer.non_trainable_weights, k_layer.non_trainable_weights):
        np.testing.assert_allclose(r_w.numpy(), k_w.numpy(), rtol=1e-6, atol=1e-7)
    if training:
        assert not np.allclose(r_layer.moving_mean.value, weights[-2])


def _step_mask():
    m = np.ones((4, 6), bool)
    m[0, 2:] = False
    m[2, 4:] = False
    return m


def test_batch_normalization_takes_masked_moments_as_keras(keras, tf, rng):
    x = _x(rng)
    k_layer, r_layer = keras.layers.BatchNormalization(), layers.BatchNormalization()
    assert_close_to_keras(tf, k_layer, r_layer, x, training=True, mask=_step_mask())
    np.testing.assert_allclose(r_layer.moving_mean.value, k_layer.moving_mean.numpy(),
                               rtol=1e-6)
    np.testing.assert_allclose(r_layer.moving_variance.value,
                               k_layer.moving_variance.numpy(), rtol=1e-6)
    # masked steps left out of the statistics: changing them changes nothing kept
    x2 = x.copy()
    x2[~_step_mask()] = 100.0
    mm = r_layer.moving_mean.numpy()
    r_layer(x, training=True, mask=_step_mask())
    first = r_layer.moving_mean.numpy()
    r_layer.moving_mean.assign(mm)
    r_layer(x2, training=True, mask=_step_mask())
    np.testing.assert_allclose(r_layer.moving_mean.value, first, rtol=1e-6)


def test_batch_normalization_refuses_a_mask_of_the_wrong_rank(rng):
    with pytest.raises(ValueError, match="one dimension less"):
        layers.BatchNormalization()(_x(rng), training=True, mask=np.ones((4, 6, 5), bool))


@pytest.mark.parametrize("make,training,mask", [
    (lambda: layers.LayerNormalization(dtype="float64"), False, None),
    (lambda: layers.LayerNormalization(axis=[1, 2], dtype="float64"), False, None),
    (lambda: layers.BatchNormalization(dtype="float64"), True, None),
    (lambda: layers.BatchNormalization(dtype="float64"), True, _step_mask()[:3, :4]),
    (lambda: layers.BatchNormalization(axis=1, dtype="float64"), True, None),
    (lambda: layers.BatchNormalization(dtype="float64"), False, None),
])
def test_normalization_gradients_match_finite_differences(rng, make, training, mask):
    layer = make()
    x = rng.standard_normal((3, 4, 3)) * 2 + 1
    layer(x)
    layer.set_weights([rng.random(w.shape) + 0.5 for w in layer.weights])
    finite_difference_check(layer, x, training=training, mask=mask)


def _bn_lstm_program(lib, input_shape):
    model = lib.Sequential([lib.Input(shape=input_shape),
                            lib.layers.LSTM(6, return_sequences=True),
                            lib.layers.BatchNormalization(momentum=0.9),
                            lib.layers.LSTM(5),
                            lib.layers.LayerNormalization(),
                            lib.layers.Dense(1, activation="sigmoid")])
    model.compile(lib.optimizers.Adam(0.01), "binary_crossentropy", metrics=["accuracy"])
    return model


def test_lstm_with_normalization_trains_as_keras(keras, rng):
    """A whole program: LSTM → BatchNormalization → LSTM → LayerNormalization → Dense,
    fit from equal weights; history, weights and moving statistics as Keras's."""
    x = rng.standard_normal((64, 8, 3)).astype(np.float32)
    y = (x[:, :, 0].mean(axis=1) > 0).astype(np.float32)
    k_model, r_model = _bn_lstm_program(keras, x.shape[1:]), _bn_lstm_program(rnncore, x.shape[1:])
    r_model.set_weights(k_model.get_weights())
    assert [w.name for w in r_model.weights] == [w.name for w in k_model.weights]
    fit = dict(batch_size=16, epochs=3, shuffle=False, verbose=0)
    k_hist, r_hist = k_model.fit(x, y, **fit).history, r_model.fit(x, y, **fit).history
    for key in ("loss", "accuracy"):
        assert rel_err(r_hist[key], k_hist[key]) <= 1e-3, key
    for r_w, k_w in zip(r_model.get_weights(), k_model.get_weights()):
        assert rel_err(r_w, k_w) <= 1e-3
    bn_r, bn_k = r_model.layers[1], k_model.layers[1]
    assert [w.name for w in bn_r.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert rel_err(bn_r.moving_mean.value, bn_k.moving_mean.numpy()) <= 1e-4
    assert rel_err(bn_r.moving_variance.value, bn_k.moving_variance.numpy()) <= 1e-4
    assert not np.allclose(bn_k.moving_variance.numpy(), 1.0)  # they did move
    np.testing.assert_allclose(r_model.predict(x, verbose=0), k_model.predict(x, verbose=0),
                               atol=1e-4)


def test_summary_counts_non_trainable_statistics_as_keras(keras, capsys):
    tables, counts = [], []
    for lib in (keras, rnncore):
        model = lib.Sequential([lib.Input(shape=(10, 3)),
                                lib.layers.BatchNormalization(name="bn"),
                                lib.layers.LayerNormalization(name="ln"),
                                lib.layers.Dense(2, name="out")], name="norms")
        model.summary()
        tables.append(capsys.readouterr().out.splitlines())
        counts.append((model.count_params(), len(model.trainable_weights),
                       len(model.non_trainable_weights)))
    assert tables[0] == tables[1]
    assert counts[0] == counts[1] == (3 * 4 + 3 * 2 + 8, 6, 2)


def _masked_program(lib):
    model = lib.Sequential([lib.Input(shape=(7,), dtype="int32"),
                            lib.layers.Embedding(20, 4, mask_zero=True),
                            lib.layers.LSTM(5, return_sequences=True),
                            lib.layers.LayerNormalization(),
                            lib.layers.BatchNormalization(momentum=0.8),
                            lib.layers.LSTM(3),
                            lib.layers.Dense(1, activation="sigmoid")])
    model.compile(lib.optimizers.RMSprop(0.01), "binary_crossentropy")
    return model


def test_padding_mask_reaches_batch_normalization_in_fit_as_keras(keras, rng):
    """Embedding(mask_zero=True) → LSTM → LayerNormalization → BatchNormalization → LSTM:
    the padding mask passes LayerNormalization and keeps padded steps out of the batch
    statistics, in fit as in Keras."""
    ids = rng.integers(1, 20, (48, 7))
    for i, n in enumerate(rng.integers(2, 8, 48)):
        ids[i, n:] = 0
    y = (ids[:, 0] > 10).astype(np.float32)
    k_model, r_model = _masked_program(keras), _masked_program(rnncore)
    r_model.set_weights(k_model.get_weights())
    fit = dict(batch_size=16, epochs=2, shuffle=False, verbose=0)
    k_hist, r_hist = k_model.fit(ids, y, **fit).history, r_model.fit(ids, y, **fit).history
    assert rel_err(r_hist["loss"], k_hist["loss"]) <= 1e-3
    bn_r, bn_k = r_model.layers[3], k_model.layers[3]
    assert rel_err(bn_r.moving_mean.value, bn_k.moving_mean.numpy()) <= 1e-4
    assert rel_err(bn_r.moving_variance.value, bn_k.moving_variance.numpy()) <= 1e-4
