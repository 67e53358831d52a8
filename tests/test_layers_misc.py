"""Activation layers (ReLU, LeakyReLU, ELU, Softmax, PReLU), noise layers (SpatialDropout1D,
GaussianNoise, GaussianDropout) and Masking against Keras (issue 12)."""
import warnings

import numpy as np
import pytest

import rnncore
from _layer_parity import (assert_bad_argument, assert_config_round_trip,
                           assert_gradients_finite_difference, assert_matches_keras,
                           assert_pickles, save_load_predict)
from _parity import build_pair, train_pair_on_batch

B, T, F = 4, 5, 6

# name: (class name, kwargs, input shape)
ACTIVATIONS = {
    "relu": ("ReLU", {}, (B, T, F)),
    "relu_max_value": ("ReLU", {"max_value": 0.8}, (B, T, F)),
    "relu6": ("ReLU", {"max_value": 6.0}, (B, T, F)),
    "relu_all": ("ReLU", {"max_value": 1.2, "negative_slope": 0.1, "threshold": 0.3},
                 (B, T, F)),
    "relu_leaky": ("ReLU", {"negative_slope": 0.2}, (B, T, F)),
    "relu_threshold": ("ReLU", {"threshold": 0.5}, (B, F)),
    "leaky_relu": ("LeakyReLU", {}, (B, T, F)),
    "leaky_relu_slope": ("LeakyReLU", {"negative_slope": 0.05}, (B, F)),
    "elu": ("ELU", {}, (B, T, F)),
    "elu_alpha": ("ELU", {"alpha": 0.4}, (B, T, F)),
    "softmax": ("Softmax", {}, (B, T, F)),
    "softmax_axis1": ("Softmax", {"axis": 1}, (B, T, F)),
    "softmax_axes": ("Softmax", {"axis": [1, 2]}, (B, T, F)),
    "prelu": ("PReLU", {"alpha_initializer": "glorot_uniform"}, (B, T, F)),
    "prelu_shared": ("PReLU", {"alpha_initializer": "glorot_uniform", "shared_axes": [1]},
                     (B, T, F)),
    "masking": ("Masking", {}, (B, T, F)),
    "masking_value": ("Masking", {"mask_value": 0.5}, (B, T, F)),
}
NOISE = {
    "spatial_dropout": ("SpatialDropout1D", {"rate": 0.4}, (B, T, F)),
    "gaussian_noise": ("GaussianNoise", {"stddev": 0.3}, (B, T, F)),
    "gaussian_dropout": ("GaussianDropout", {"rate": 0.3}, (B, T, F)),
}
ALL = {**ACTIVATIONS, **NOISE}


def make(lib, name, **extra):
    cls, kwargs, _ = ALL[name]
    return getattr(lib.layers, cls)(**kwargs, **extra)


def data(name, rng, dtype="float32"):
    x = rng.normal(size=ALL[name][2])
    if name.startswith("relu6"):
        x *= 5
    if name.startswith("masking"):
        value = ALL[name][1].get("mask_value", 0.0)
        x[rng.random(x.shape[:-1]) < 0.4] = value  # whole steps to mask
    return x.astype(dtype)


@pytest.mark.parametrize("name", sorted(ALL))
def test_forward_and_backward_match_keras(keras, tf, rng, name):
    # the noise layers are the identity at inference: compared there, and in training below
    assert_matches_keras(tf, make(keras, name), make(rnncore, name), data(name, rng))


@pytest.mark.parametrize("name", sorted(ALL))
def test_gradients_match_finite_differences(rng, name):
    x = data(name, rng, "float64")
    if name.startswith("masking"):
        # a masked step's output jumps when one of its entries moves off mask_value: the
        # gradient there is Keras's zero (compared above), not a derivative
        x = rng.normal(size=x.shape)
    assert_gradients_finite_difference(make(rnncore, name, dtype="float64"), x)


@pytest.mark.parametrize("name", sorted(ALL))
def test_output_shape_weights_config_and_pickling(keras, rng, name):
    shape = (None,) + ALL[name][2][1:]
    k_layer, r_layer = make(keras, name), make(rnncore, name)
    k_layer.build(shape)
    r_layer._maybe_build(shape)
    assert r_layer.compute_output_shape(shape) == tuple(k_layer.compute_output_shape(shape))
    assert [(w.name, tuple(w.shape)) for w in r_layer.weights] == \
        [(w.name, tuple(w.shape)) for w in k_layer.weights]
    assert r_layer.count_params() == k_layer.count_params()
    assert r_layer.supports_masking == k_layer.supports_masking
    assert set(k_layer.get_config()) - {"dtype"} <= set(r_layer.get_config())
    assert_config_round_trip(r_layer)
    assert_pickles(make(rnncore, name), data(name, rng))


def test_softmax_applies_a_mask_as_keras(keras, tf, rng):
    x = rng.normal(size=(B, T, F)).astype("float32")
    mask = rng.random((B, T, F)) < 0.7
    assert_matches_keras(tf, keras.layers.Softmax(), rnncore.layers.Softmax(), x, mask)
    row_mask = rng.random((T, F)) < 0.7  # broadcast from the right
    assert_matches_keras(tf, keras.layers.Softmax(axis=1), rnncore.layers.Softmax(axis=1), x,
                         row_mask)
    with pytest.raises(ValueError, match=r"mask.shape=\(3, 6\)"):
        rnncore.layers.Softmax()(x, mask=np.ones((3, F), bool))


def test_softmax_output_layer_gives_its_logits_to_the_loss_as_keras(keras, rng):
    # Keras's TF backend folds a softmax over the last axis into the crossentropy; logits
    # large enough to saturate float32 probabilities show whether it did
    spec = [("Dense", (4,), {"kernel_initializer": "ones"}), ("Softmax", (), {})]
    k_model, r_model = build_pair(keras, spec, (3,))
    for model, lib in ((k_model, keras), (r_model, rnncore)):
        model.compile(lib.optimizers.SGD(0.01), "sparse_categorical_crossentropy")
    x = np.array([[30.0, 0, 0], [0, 1, 0]], "float32")
    r_model.layers[0].kernel.value[:, 0] = 3
    k_model.layers[0].kernel.assign(r_model.layers[0].kernel.value)
    y = np.array([1, 2])
    train_pair_on_batch(k_model, r_model, x, y, steps=2, tol=1e-4)


@pytest.mark.parametrize("name", sorted(NOISE))
def test_noise_layers_in_training(rng, name):
    x = rng.normal(size=(200, 3, 8)).astype("float32") + 3
    layer = make(rnncore, name)
    y = layer(x, training=True)
    d = layer.backward(np.ones_like(y))
    if name == "spatial_dropout":
        kept = y != 0
        # one draw per (sample, channel), shared by every step
        assert (kept == kept[:, :1]).all()
        assert 0.5 < kept.mean() < 0.7
        np.testing.assert_allclose(y[kept], x[kept] / 0.6, rtol=1e-6)
        np.testing.assert_allclose(d, kept / 0.6, rtol=1e-6)
    elif name == "gaussian_noise":
        noise = y - x
        assert abs(noise.std() - 0.3) < 0.02 and abs(noise.mean()) < 0.02
        np.testing.assert_array_equal(d, np.ones_like(x))
    else:
        factor = y / x
        assert abs(factor.mean() - 1) < 0.03
        assert abs(factor.std() - np.sqrt(0.3 / 0.7)) < 0.03
        np.testing.assert_allclose(d, factor, rtol=1e-5)
    assert y.dtype == np.float32


def test_noise_draws_come_from_rnncore_generator(rng):
    x = np.ones((4, 3, 8), "float32")
    outs = []
    for _ in range(2):
        rnncore.utils.set_random_seed(7)
        outs.append([make(rnncore, name)(x, training=True) for name in sorted(NOISE)])
    for a, b in zip(*outs):
        np.testing.assert_array_equal(a, b)
    seeded = [rnncore.layers.GaussianNoise(0.5, seed=3)(x, training=True) for _ in range(2)]
    np.testing.assert_array_equal(*seeded)


def test_leaky_relu_accepts_keras_2_alpha(keras):
    with pytest.warns(UserWarning, match="alpha"):
        layer = rnncore.layers.LeakyReLU(alpha=0.1)
    assert layer.negative_slope == 0.1 and layer.get_config()["negative_slope"] == 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert keras.layers.LeakyReLU(alpha=0.1).get_config()["negative_slope"] == 0.1


@pytest.mark.parametrize("rnn,functional,train", [("LSTM", False, True), ("GRU", True, False),
                                                  ("SimpleRNN", False, False)])
def test_masking_makes_recurrent_layers_skip_steps_as_keras(keras, rng, rnn, functional, train):
    # (training compared for one model: Keras's first train step costs seconds of tracing)
    spec = [("Masking", (), {}), (rnn, (4,), {"return_sequences": True}), (rnn, (3,), {}),
            ("Dense", (1,), {"activation": "sigmoid"})]
    k_model, r_model = build_pair(keras, spec, (T, F), functional=functional)
    x = rng.normal(size=(6, T, F)).astype("float32")
    x[:, 3:] = 0  # padding at the end
    x[0, 1] = 0  # and a hole
    np.testing.assert_allclose(r_model.predict(x, verbose=0), k_model.predict(x, verbose=0),
                               atol=1e-5)
    masking = r_model.layers[0] if not functional else r_model.layers[1]
    np.testing.assert_array_equal(masking.compute_mask(x), np.any(x != 0, axis=-1))
    if not train:
        return
    for model, lib in ((k_model, keras), (r_model, rnncore)):
        model.compile(lib.optimizers.Adam(0.01), "binary_crossentropy", metrics=["accuracy"])
    y = (x[:, 0, 0] > 0).astype("float32")
    train_pair_on_batch(k_model, r_model, x, y, steps=3, tol=1e-4)


def test_masking_before_bidirectional_and_pooling_as_keras(keras, rng):
    spec = [("Masking", (), {}),
            ("Bidirectional", (("LSTM", (3,), {"return_sequences": True}),), {}),
            ("GlobalAveragePooling1D", (), {}), ("Dense", (1,), {})]
    k_model, r_model = build_pair(keras, spec, (T, F))
    x = rng.normal(size=(6, T, F)).astype("float32")
    x[:, 3:] = 0
    x[1, :2] = 0  # padding at the start too
    np.testing.assert_allclose(r_model.predict(x, verbose=0), k_model.predict(x, verbose=0),
                               atol=1e-5)


def test_masking_mask_reaches_the_loss_of_a_sequence_output(keras, rng):
    spec = [("Masking", (), {"mask_value": -1.0}), ("GRU", (4,), {"return_sequences": True}),
            ("ReLU", (), {}), ("Dense", (1,), {})]
    k_model, r_model = build_pair(keras, spec, (T, F))
    for model, lib in ((k_model, keras), (r_model, rnncore)):
        model.compile(lib.optimizers.RMSprop(0.01), "mse")
    x = rng.normal(size=(6, T, F)).astype("float32")
    x[:, 4:] = -1.0
    y = rng.normal(size=(6, T, 1)).astype("float32")
    train_pair_on_batch(k_model, r_model, x, y, steps=3, tol=1e-4)


def test_summary_save_load_and_training(keras, rng, tmp_path, capsys):
    lines = {}
    for lib in (keras, rnncore):
        L = lib.layers
        model = lib.Sequential([lib.Input(shape=(T, F)), L.Masking(name="mask"),
                                L.SpatialDropout1D(0.2, name="sdrop"),
                                L.GaussianNoise(0.1, name="noise"),
                                L.LSTM(4, return_sequences=True, name="lstm"),
                                L.PReLU(shared_axes=[1], name="prelu"),
                                L.GaussianDropout(0.1, name="gdrop"), L.ELU(name="elu"),
                                L.LeakyReLU(name="leaky"), L.ReLU(6.0, name="relu"),
                                L.GlobalAveragePooling1D(name="gap"),
                                L.Dense(3, name="dense"), L.Softmax(name="softmax")],
                               name="misc")
        model.summary()
        lines[lib.__name__] = capsys.readouterr().out.splitlines()
    assert lines["rnncore"] == lines["keras"]
    model.compile("adam", "sparse_categorical_crossentropy")
    x = rng.normal(size=(16, T, F)).astype("float32")
    x[:, 3:] = 0
    model.fit(x, rng.integers(0, 3, 16), epochs=1, verbose=0)
    save_load_predict(model, x, tmp_path)


BAD = [
    (lambda L: L.ReLU(max_value=-1), ValueError, "max_value=-1"),
    (lambda L: L.ReLU(negative_slope=None), ValueError, "negative_slope=None"),  # as Keras
    (lambda L: L.ReLU(negative_slope=-0.5), ValueError, "negative_slope=-0.5"),
    (lambda L: L.ReLU(threshold=-1.0), ValueError, "threshold=-1.0"),
    (lambda L: L.ReLU(threshold="0"), TypeError, "threshold must be a float, got '0'"),
    (lambda L: L.LeakyReLU(negative_slope=-0.1), ValueError, "negative_slope=-0.1"),
    (lambda L: L.ELU(alpha="big"), TypeError, "alpha must be a float, got 'big'"),
    (lambda L: L.Softmax(axis=1.5), TypeError, "axis=1.5"),
    (lambda L: L.Softmax(axis=[]), TypeError, "axis=[]"),
    (lambda L: L.PReLU(shared_axes=[0]), ValueError, "shared_axes=[0]"),
    (lambda L: L.PReLU(alpha_initializer="nope"), ValueError, "alpha_initializer"),
    (lambda L: L.SpatialDropout1D(1.5), ValueError, "rate=1.5"),
    (lambda L: L.SpatialDropout1D("x"), TypeError, "rate must be a float, got 'x'"),
    (lambda L: L.GaussianNoise(-0.1), ValueError, "stddev=-0.1"),
    (lambda L: L.GaussianNoise(None), TypeError, "stddev must be a float, got None"),
    (lambda L: L.GaussianDropout(2), ValueError, "rate=2"),
    (lambda L: L.Masking(mask_value="pad"), TypeError, "mask_value='pad'"),
    (lambda L: L.Masking(0.0, units=3), TypeError, "units"),
]


@pytest.mark.parametrize("case", range(len(BAD)))
def test_bad_arguments_name_the_argument_and_value(case):
    assert_bad_argument(*BAD[case])


def test_bad_inputs_are_clear_errors():
    L = rnncore.layers
    with pytest.raises(ValueError, match="must be 3D"):
        L.SpatialDropout1D(0.5)(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="out of range"):
        L.Softmax(axis=3)(np.zeros((2, 3)))
    prelu = L.PReLU()
    prelu(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="do not match the alpha weight"):
        prelu(np.zeros((2, 3, 5)))
    with pytest.raises(ValueError, match="shared_axes"):
        L.PReLU(shared_axes=[3])(np.zeros((2, 3, 4)))
