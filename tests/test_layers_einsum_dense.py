"""EinsumDense against Keras 3: weight shapes, outputs, gradients, configs, saving both ways,
training inside a model with an LSTM; finite differences in float64."""
import numpy as np
import pytest

import rnncore
from rnncore import layers

from _layer_grads import assert_close_to_keras, finite_difference_check
from _layer_parity import assert_config_round_trip, assert_loads_across, save_load_predict
from _parity import rel_err

# (equation, output_shape, bias_axes, activation, input shape)
CASES = [("ab,bc->ac", 4, None, None, (3, 5)),
         ("abc,cd->abd", (None, 6), "d", "tanh", (3, 4, 5)),
         ("abc,cde->abde", (4, 2, 3), "be", None, (3, 4, 5)),
         ("abc,cd->ad", 6, "d", "relu", (3, 4, 5)),  # b summed in the inputs alone
         ("...b,bc->...c", 4, "c", None, (2, 3, 5)),
         ("abc...,cd->abd...", (4, 6), "bd", "sigmoid", (2, 4, 5, 3))]


def _pair(keras, case):
    equation, output_shape, bias_axes, activation, _ = case
    kwargs = dict(equation=equation, output_shape=output_shape, bias_axes=bias_axes,
                  activation=activation)
    return keras.layers.EinsumDense(**kwargs), layers.EinsumDense(**kwargs)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_matches_keras(keras, tf, rng, case):
    x = rng.standard_normal(case[-1]).astype(np.float32)
    k_layer, r_layer = _pair(keras, case)
    k_layer.build(x.shape)
    weights = [rng.standard_normal(w.shape).astype(np.float32) for w in k_layer.weights]
    y = assert_close_to_keras(tf, k_layer, r_layer, x, weights=weights)
    assert [w.shape for w in r_layer.weights] == [tuple(w.shape) for w in k_layer.weights]
    assert y.dtype == np.float32
    assert r_layer.compute_output_shape(x.shape) == k_layer.compute_output_shape(x.shape)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_gradients_match_finite_differences(rng, case):
    equation, output_shape, bias_axes, activation, shape = case
    layer = layers.EinsumDense(equation, output_shape, activation, bias_axes, dtype="float64",
                               bias_initializer="random_normal")
    finite_difference_check(layer, rng.standard_normal((2,) + shape[1:]))


def test_config_is_keras_and_round_trips(keras):
    k_layer, r_layer = _pair(keras, CASES[2])
    r_config, k_config = r_layer.get_config(), k_layer.get_config()
    assert set(r_config) == set(k_config)
    assert r_config["output_shape"] == list(k_config["output_shape"])
    for key in ("equation", "bias_axes", "activation", "quantization_config"):
        assert r_config[key] == k_config[key]
    assert_config_round_trip(r_layer)
    keras.layers.EinsumDense.from_config(r_config)


@pytest.mark.parametrize("kwargs, error, text", [
    ({"equation": "ab->b", "output_shape": 3}, ValueError, "Invalid einsum equation 'ab->b'"),
    ({"equation": "ab,bc->ac", "output_shape": "x"}, ValueError, "output_shape='x'"),
    ({"equation": "ab,bc->ac", "output_shape": 3, "bias_axes": "z"}, ValueError,
     "Bias dimension 'z' was requested"),
    ({"equation": "ab,bc->ad", "output_shape": 3}, ValueError, "Dimension 'd' was specified"),
    ({"equation": "ab,bc->ac", "output_shape": 3, "lora_rank": 2}, NotImplementedError,
     "lora_rank=2"),
])
def test_bad_arguments_name_themselves(kwargs, error, text):
    with pytest.raises(error) as info:
        layers.EinsumDense(**kwargs)(np.ones((2, 4), "float32"))
    assert text in str(info.value)


def test_wrong_input_rank_after_build_is_keras_error():
    layer = layers.EinsumDense("abc,cd->abd", (None, 4))
    layer(np.ones((2, 3, 5), "float32"))
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=2"):
        layer(np.ones((2, 5), "float32"))


def _program(lib):
    L = lib.layers
    return lib.Sequential([lib.Input((6, 8)), L.EinsumDense("abc,cd->abd", (None, 16),
                                                            bias_axes="d"),
                           L.GroupNormalization(groups=4), L.LSTM(4), L.Dense(1)])


def test_trains_before_an_lstm_as_keras_and_saves_both_ways(keras, rng, tmp_path):
    x = rng.standard_normal((8, 6, 8)).astype(np.float32)
    y = rng.standard_normal((8, 1)).astype(np.float32)
    k_model, r_model = _program(keras), _program(rnncore)
    r_model.set_weights(k_model.get_weights())
    assert [w.name for w in r_model.weights] == [w.name for w in k_model.weights]
    k_model.compile(keras.optimizers.Adam(0.01), "mse")
    r_model.compile(rnncore.optimizers.Adam(0.01), "mse")
    k_hist = k_model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0).history
    r_hist = r_model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0).history
    np.testing.assert_allclose(r_hist["loss"], k_hist["loss"], rtol=1e-4)
    for r_w, k_w in zip(r_model.get_weights(), k_model.get_weights()):
        assert rel_err(r_w, k_w) <= 1e-4
    save_load_predict(r_model, x, tmp_path)
    assert_loads_across(keras, r_model, k_model, x, tmp_path, atol=1e-5)


def test_kernel_initializer_takes_fans_from_the_equation_as_keras(keras):
    """A (4, 2, 3) kernel of "abc,cde->abde": fan-in 4 (c), fan-out 6 (d, e), not the
    convolution rule's 8 and 12."""
    k_layer, r_layer = _pair(keras, CASES[2])
    big = (256, 2, 3)
    for layer in (k_layer, r_layer):
        layer.build((3, 4, big[0]))
    limit = np.sqrt(6.0 / (big[0] + 6))
    for kernel in (np.asarray(k_layer.kernel), r_layer.kernel.value):
        assert kernel.shape == big
        assert 0.9 * limit < np.abs(kernel).max() <= limit
