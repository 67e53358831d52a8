"""OrthogonalRegularizer against Keras 3: penalty and gradient, config, and training with it
on a Dense and an LSTM kernel (Keras's float32; Keras cannot apply it to float64 weights, so
there the gradient is checked by finite differences)."""
import re

import numpy as np
import pytest

import rnncore
from _parity import build_pair, train_pair_on_batch
from rnncore import regularizers


@pytest.mark.parametrize("mode", ["rows", "columns"])
def test_penalty_and_gradient_match_keras(keras, tf, mode, rng):
    x = rng.normal(size=(6, 4)).astype(np.float32)
    x[2] = 0.0  # a zero row: Keras's normalize caps 1 / ||row|| at 1e7
    ours = regularizers.OrthogonalRegularizer(0.05, mode=mode)
    theirs = keras.regularizers.OrthogonalRegularizer(0.05, mode=mode)
    var = tf.Variable(x)
    with tf.GradientTape() as tape:
        value = theirs(var)
    expected = tape.gradient(value, var).numpy()
    assert np.asarray(ours(x)).dtype == np.float32
    np.testing.assert_allclose(ours(x), value.numpy(), rtol=1e-6)
    np.testing.assert_allclose(ours.gradient(x), expected, rtol=1e-5,
                               atol=1e-6 * np.abs(expected).max())


@pytest.mark.parametrize("mode", ["rows", "columns"])
def test_float64_gradient_matches_finite_differences(mode, rng):
    x = rng.normal(size=(5, 3))
    reg = regularizers.orthogonal_regularizer(factor=0.3, mode=mode)
    eps, numeric = 1e-6, np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[idx] += eps
        down[idx] -= eps
        numeric[idx] = (reg(up) - reg(down)) / (2 * eps)
    assert np.asarray(reg(x)).dtype == np.float64
    np.testing.assert_allclose(reg.gradient(x), numeric, rtol=1e-6, atol=1e-10)


def test_config_get_and_errors_match_keras(keras):
    ours = regularizers.OrthogonalRegularizer(factor=0.02, mode="columns")
    assert ours.get_config() == keras.regularizers.OrthogonalRegularizer(
        factor=0.02, mode="columns").get_config()
    again = regularizers.deserialize(regularizers.serialize(ours))
    assert type(again) is type(ours) and again.get_config() == ours.get_config()
    for name in ("OrthogonalRegularizer", "orthogonal_regularizer"):
        assert type(regularizers.get(name)).__name__ == type(keras.regularizers.get(name)).__name__
    assert regularizers.orthogonal_regularizer is regularizers.OrthogonalRegularizer
    with pytest.raises(ValueError, match=re.escape("Received: mode=diagonal")):
        regularizers.OrthogonalRegularizer(mode="diagonal")
    with pytest.raises(ValueError, match="factor=-1"):
        regularizers.OrthogonalRegularizer(factor=-1)
    with pytest.raises(ValueError, match=re.escape("must have rank 2. Received: "
                                                   "inputs.shape=(3,)")):
        ours(np.ones(3, np.float32))


@pytest.mark.parametrize("spec,input_shape", [
    ([("Dense", (6,), {"activation": "tanh", "kernel_regularizer": "orthogonal_regularizer"}),
      ("Dense", (2,), {"kernel_regularizer": {"class_name": "OrthogonalRegularizer",
                                              "config": {"factor": 0.5, "mode": "columns"}}})],
     (4,)),
    ([("LSTM", (5,), {"kernel_regularizer": "OrthogonalRegularizer",
                      "recurrent_regularizer": "orthogonal_regularizer"}),
      ("Dense", (2,), {})], (3, 4)),
], ids=["dense", "lstm"])
def test_training_with_the_penalty_matches_keras(keras, spec, input_shape, rng):
    keras.utils.set_random_seed(3)  # the same starting weights at every run
    k_model, r_model = build_pair(keras, spec, input_shape)
    for model in (k_model, r_model):
        model.compile(optimizer="sgd", loss="mse")
    x = rng.normal(size=(16,) + input_shape).astype(np.float32)
    y = rng.normal(size=(16, 2)).astype(np.float32)
    train_pair_on_batch(k_model, r_model, x, y, steps=3)
