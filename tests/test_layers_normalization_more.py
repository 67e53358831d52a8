"""UnitNormalization, RMSNormalization, GroupNormalization and AlphaDropout against Keras 3:
outputs, gradients, configs, saving both ways, a few training steps; finite differences in
float64."""
import numpy as np
import pytest

import rnncore
from rnncore import layers

from _layer_grads import assert_close_to_keras, finite_difference_check
from _layer_parity import assert_config_round_trip, assert_loads_across, save_load_predict
from _parity import train_pair_on_batch


def _x(rng, shape=(3, 5, 8)):
    return (rng.standard_normal(shape) * 2 + 1).astype(np.float32)


CASES = [("UnitNormalization", {}), ("UnitNormalization", {"axis": [1, 2]}),
         ("UnitNormalization", {"axis": 1}),
         ("RMSNormalization", {}), ("RMSNormalization", {"axis": [-2, -1], "epsilon": 0.1}),
         ("GroupNormalization", {"groups": 4}), ("GroupNormalization", {"groups": -1}),
         ("GroupNormalization", {"groups": 1, "center": False, "epsilon": 0.1}),
         ("GroupNormalization", {"groups": 5, "axis": 1, "scale": False})]


@pytest.mark.parametrize("name, kwargs", CASES)
def test_outputs_and_gradients_match_keras(keras, tf, rng, name, kwargs):
    x = _x(rng)
    k_layer = getattr(keras.layers, name)(**kwargs)
    k_layer.build(x.shape)
    weights = [rng.random(w.shape).astype(np.float32) + 0.5 for w in k_layer.weights]
    assert_close_to_keras(tf, k_layer, getattr(layers, name)(**kwargs), x,
                          weights=weights or None)


def test_unit_normalization_keeps_a_zero_sample_zero(keras):
    x = np.array([[0.0, 0.0], [3.0, 4.0]], np.float32)
    np.testing.assert_allclose(layers.UnitNormalization()(x),
                               keras.layers.UnitNormalization()(x).numpy(), atol=1e-7)


@pytest.mark.parametrize("name, kwargs", [c for c in CASES if c[0] != "UnitNormalization"])
def test_gradients_match_finite_differences(rng, name, kwargs):
    layer = getattr(layers, name)(dtype="float64", **kwargs)
    x = rng.standard_normal((2, 5, 2) if kwargs.get("axis") == 1 else (2, 3, 8))
    layer.build(x.shape)
    for w in layer.weights:
        w.assign(rng.random(w.shape) + 0.5)
    finite_difference_check(layer, x)


def test_unit_normalization_gradients_match_finite_differences(rng):
    finite_difference_check(layers.UnitNormalization(axis=[1, 2], dtype="float64"),
                            rng.standard_normal((2, 3, 4)))


def _plain(value):
    """A config value without the keys rnncore's serialized objects leave out (module,
    registered_name), tuples as lists (as JSON gives them)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k not in ("module", "registered_name")}
    return [_plain(v) for v in value] if isinstance(value, (list, tuple)) else value


@pytest.mark.parametrize("name, kwargs", CASES + [("AlphaDropout", {"rate": 0.3,
                                                                    "noise_shape": [None, 1, 8]})])
def test_configs_are_keras_and_round_trip(keras, name, kwargs):
    r_layer, k_layer = getattr(layers, name)(**kwargs), getattr(keras.layers, name)(**kwargs)
    for layer in (r_layer, k_layer):
        layer.build((3, 5, 8))
    r_config, k_config = r_layer.get_config(), k_layer.get_config()
    assert set(r_config) == set(k_config)
    for key in r_config:
        if key not in ("name", "dtype"):
            assert _plain(r_config[key]) == _plain(k_config[key]), key
    assert_config_round_trip(r_layer)
    getattr(keras.layers, name).from_config(r_config)


@pytest.mark.parametrize("make, error, text", [
    (lambda L: L.GroupNormalization(groups=0), ValueError, "groups=0"),
    (lambda L: L.GroupNormalization(groups=3)(np.ones((2, 4), "float32")), ValueError,
     "Number of groups (3) must be a multiple of the number of channels (4)"),
    (lambda L: L.GroupNormalization(groups=8)(np.ones((2, 4), "float32")), ValueError,
     "cannot be more than the number of channels"),
    (lambda L: L.UnitNormalization(axis="x"), TypeError, "axis=x"),
    (lambda L: L.RMSNormalization(axis=3)(np.ones((2, 4), "float32")), ValueError,
     "axis=3"),
    (lambda L: L.RMSNormalization(epsilon="a"), TypeError, "epsilon='a'"),
    (lambda L: L.AlphaDropout(1.5), ValueError, "rate=1.5"),
])
def test_bad_arguments_name_themselves(make, error, text):
    with pytest.raises(error) as info:
        make(layers)
    assert text in str(info.value)


def test_alpha_dropout_keeps_selu_statistics_and_is_identity_at_inference(rng):
    x = rng.standard_normal((200, 500)).astype(np.float32)
    layer = layers.AlphaDropout(0.2, seed=3)
    np.testing.assert_array_equal(layer(x), x)
    y = layer(x, training=True)
    assert abs(float(y.mean())) < 0.02 and abs(float(y.std()) - 1) < 0.02
    alpha_p = -1.6732632423543772 * 1.0507009873554805
    a = (0.8 * (1 + 0.2 * alpha_p ** 2)) ** -0.5
    dropped = np.asarray(layer._keep) == 0
    assert 0.18 < dropped.mean() < 0.22
    np.testing.assert_allclose(y, np.where(dropped, a * alpha_p, a * x) - a * alpha_p * 0.2,
                               atol=1e-6)
    # the gradient reaches the kept inputs only, scaled by a
    d = layer.backward(np.ones_like(y))
    np.testing.assert_allclose(d, layer._keep)
    assert set(np.unique(d)) == {0, np.float32(layer._keep.max())}


def _program(lib):
    L = lib.layers
    return lib.Sequential([lib.Input((6, 8)), L.UnitNormalization(),
                           L.RMSNormalization(), L.GroupNormalization(groups=4),
                           L.AlphaDropout(0.0), L.LSTM(4), L.Dense(1)])


def test_trains_in_a_model_with_an_lstm_and_saves_both_ways(keras, rng, tmp_path):
    x = _x(rng, (8, 6, 8))
    y = rng.standard_normal((8, 1)).astype(np.float32)
    k_model, r_model = _program(keras), _program(rnncore)
    r_model.set_weights([w + 0.1 * i for i, w in enumerate(k_model.get_weights())])
    k_model.set_weights(r_model.get_weights())
    assert [w.name for w in r_model.weights] == [w.name for w in k_model.weights]
    k_model.compile(keras.optimizers.Adam(0.01), "mse")
    r_model.compile(rnncore.optimizers.Adam(0.01), "mse")
    train_pair_on_batch(k_model, r_model, x, y, steps=3, tol=1e-4)
    save_load_predict(r_model, x, tmp_path)
    assert_loads_across(keras, r_model, k_model, x, tmp_path, atol=1e-5)
