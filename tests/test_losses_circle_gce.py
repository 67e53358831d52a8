"""Circle and CategoricalGeneralizedCrossEntropy (and their functions) against Keras 3:
values and gradients in float32 and float64, with sample weights and reductions, configs,
names, and training with them."""
import re

import numpy as np
import pytest

import rnncore
from _parity import rel_err
from rnncore import losses


def _embeddings(rng, dtype, n=8, dim=5):
    x = rng.normal(size=(n, dim)).astype(dtype)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _keras_value_and_grad(tf, loss, y, x, sample_weight=None):
    v = tf.Variable(x)
    with tf.GradientTape() as tape:
        out = loss(y, v, sample_weight=sample_weight)
    return np.asarray(out), np.asarray(tape.gradient(out, v))


CIRCLE_CASES = [({}, "sum_over_batch_size"), ({"gamma": 4.0, "margin": 0.25}, "sum"),
                ({"remove_diagonal": False, "gamma": 10.0}, "none")]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kwargs,reduction", CIRCLE_CASES)
def test_circle_value_and_gradient_match_keras(keras, tf, rng, kwargs, reduction, dtype):
    x = _embeddings(rng, dtype)
    # label 3 appears once: no positive pair, loss 0, left out of the mean (Keras's mask)
    y = np.array([0, 1, 0, 2, 1, 3, 2, 2])
    sw = rng.random(8).astype(dtype)
    theirs = keras.losses.Circle(reduction=reduction, dtype=np.dtype(dtype).name, **kwargs)
    ours = losses.Circle(reduction=reduction, **kwargs)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for weights in (None, sw):
        want, want_grad = _keras_value_and_grad(tf, theirs, y, x, weights)
        if reduction == "none":
            got, got_grad = ours(y, x, sample_weight=weights), None
        else:
            got, got_grad = ours.value_and_grad(y, x, sample_weight=weights)
            assert rel_err(got_grad, want_grad) <= tol
        np.testing.assert_allclose(got, want, rtol=tol)
    out = ours(y, x)
    assert (out.numpy() if hasattr(out, "numpy") else out).dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_circle_function_with_reference_embeddings_matches_keras(keras, rng, dtype):
    x, ref = _embeddings(rng, dtype, n=6), _embeddings(rng, dtype, n=4)
    y, ref_y = np.array([0, 1, 2, 0, 1, 2]), np.array([0, 1, 1, 2])
    for kwargs in ({}, {"ref_labels": ref_y, "ref_embeddings": ref, "remove_diagonal": False,
                        "gamma": 8, "margin": 0.3}):
        ours = losses.circle(y, x, **kwargs)
        theirs = keras.losses.circle(y, x, **kwargs).numpy()
        assert ours.dtype == theirs.dtype
        np.testing.assert_allclose(ours, theirs, rtol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("q,label_shape", [(0.5, (6,)), (0.2, (6,)), (0.7, (6, 1))])
def test_generalized_cross_entropy_value_and_gradient_match_keras(keras, tf, rng, q,
                                                                   label_shape, dtype):
    # labels shaped (batch, 1) broadcast against the probabilities, in Keras too
    p = rng.random((6, 4)).astype(dtype) + dtype(0.05)
    p /= p.sum(axis=1, keepdims=True)
    y = rng.integers(0, 4, size=label_shape)
    sw = rng.random(6).astype(dtype)
    theirs = keras.losses.CategoricalGeneralizedCrossEntropy(q=q, dtype=np.dtype(dtype).name)
    ours = losses.CategoricalGeneralizedCrossEntropy(q=q)
    tol = 1e-6 if dtype == np.float32 else 1e-12
    for weights in (None, sw):
        want, want_grad = _keras_value_and_grad(tf, theirs, y, p, weights)
        got, got_grad = ours.value_and_grad(y, p, sample_weight=weights)
        np.testing.assert_allclose(got, want, rtol=tol)
        np.testing.assert_allclose(got_grad, want_grad, rtol=10 * tol, atol=10 * tol)
    np.testing.assert_allclose(
        losses.categorical_generalized_cross_entropy(y, p, q=q),
        keras.losses.categorical_generalized_cross_entropy(y, p, q=q).numpy(), rtol=tol)


@pytest.mark.parametrize("cls,kwargs", [
    ("Circle", {}), ("Circle", {"gamma": 2.0, "margin": 0.1, "remove_diagonal": False}),
    ("CategoricalGeneralizedCrossEntropy", {}),
    ("CategoricalGeneralizedCrossEntropy", {"q": 0.3, "reduction": "sum"})])
def test_names_configs_and_get_match_keras(keras, cls, kwargs):
    ours, theirs = getattr(losses, cls)(**kwargs), getattr(keras.losses, cls)(**kwargs)
    assert ours.get_config() == theirs.get_config()
    again = losses.deserialize(losses.serialize(ours))
    assert type(again) is type(ours) and again.get_config() == ours.get_config()
    assert type(losses._for_compile(getattr(keras.losses, ours.name))) is type(ours)
    if cls == "Circle":  # Keras 3 knows no name for the other one
        assert losses.get("circle") is losses.circle
        assert type(losses.get("Circle")) is losses.Circle
        compiled = losses._for_compile("circle")
        assert type(compiled) is losses.Circle and compiled.name == "circle"


def test_bad_q_raises_keras_error():
    with pytest.raises(ValueError, match=re.escape("q must be in the interval (0, 1)")):
        losses.CategoricalGeneralizedCrossEntropy(q=1.0)


def _train(lib, model_loss, y, x, output):
    model = lib.Sequential([lib.Input((4,)), lib.layers.Dense(3, activation=output)])
    model.layers[0].set_weights([np.linspace(-1, 1, 12, dtype="float32").reshape(4, 3),
                                 np.full(3, 0.1, "float32")])
    model.compile(lib.optimizers.SGD(0.02), loss=model_loss(lib))
    history = model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    return history.history["loss"], model.get_weights()


@pytest.mark.parametrize("model_loss,output", [
    # tanh keeps the embeddings' norms near 1, as the cosine distances assume
    (lambda lib: lib.losses.Circle(gamma=2.0), "tanh"),
    (lambda lib: lib.losses.CategoricalGeneralizedCrossEntropy(q=0.4), "softmax"),
], ids=["circle", "generalized-cross-entropy"])
def test_training_matches_keras(keras, rng, model_loss, output):
    x = rng.normal(size=(16, 4)).astype("float32")
    y = rng.integers(0, 3, size=16)
    (k_hist, k_weights), (r_hist, r_weights) = (_train(lib, model_loss, y, x, output)
                                                for lib in (keras, rnncore))
    assert np.all(np.isfinite(k_hist))
    np.testing.assert_allclose(r_hist, k_hist, rtol=1e-5)
    for r_w, k_w in zip(r_weights, k_weights):
        assert rel_err(r_w, k_w) <= 1e-5
