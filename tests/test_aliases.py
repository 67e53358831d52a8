"""Keras's lower-case names: initializer aliases, loss and metric functions, in compile."""
import numpy as np
import pytest

import rnncore
from rnncore import initializers, losses, metrics

_INIT_ALIASES = ["zeros", "ones", "constant", "random_uniform", "random_normal",
                 "truncated_normal", "variance_scaling", "glorot_uniform", "glorot_normal",
                 "he_uniform", "he_normal", "lecun_uniform", "lecun_normal", "orthogonal",
                 "identity", "OrthogonalInitializer", "IdentityInitializer"]


@pytest.mark.parametrize("name", _INIT_ALIASES)
def test_initializer_aliases_are_keras_classes(keras, name):
    ours, theirs = getattr(initializers, name), getattr(keras.initializers, name)
    assert isinstance(ours, type) and ours.__name__ == theirs.__name__
    assert name in initializers.__all__
    layer = rnncore.layers.Dense(3, kernel_initializer=ours())
    layer.build((None, 4))
    assert layer.kernel.shape == (4, 3)


@pytest.mark.parametrize("module, names", [
    (losses, ["binary_crossentropy", "categorical_crossentropy", "huber",
              "sparse_categorical_crossentropy", "mean_squared_error", "mean_absolute_error"]),
    (metrics, ["binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
               "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy",
               "binary_crossentropy", "mean_squared_error", "mean_absolute_error", "huber"]),
])
def test_function_forms_match_keras_values(keras, rng, module, names):
    kmod = keras.losses if module is losses else keras.metrics
    p = rng.uniform(0.05, 0.95, (6, 4)).astype("float32")
    p /= p.sum(-1, keepdims=True)
    labels = rng.integers(0, 4, 6)
    onehot = np.eye(4, dtype="float32")[labels]
    for name in names:
        y = labels if name.startswith("sparse") else onehot
        ours, theirs = getattr(module, name), getattr(kmod, name)
        assert ours.__name__ == theirs.__name__ == name
        np.testing.assert_allclose(ours(y, p), np.asarray(theirs(y, p)), rtol=1e-5,
                                   atol=1e-7, err_msg=name)


def test_short_names_are_the_long_functions():
    assert losses.mse is losses.MSE is losses.mean_squared_error
    assert losses.mae is losses.MAE is losses.mean_absolute_error
    assert metrics.mae is metrics.mean_absolute_error and metrics.MSE is metrics.mse


def test_top_k_counts_ties_at_the_border_as_in_tensorflow(tf):
    y_pred = np.array([[0.3, 0.3, 0.3, 0.1], [0.5, 0.2, 0.2, 0.1]], "float32")
    labels = np.array([2, 1])
    ours = metrics.sparse_top_k_categorical_accuracy(labels, y_pred, k=2)
    np.testing.assert_array_equal(ours, tf.math.in_top_k(labels, y_pred, 2).numpy())
    m = metrics.get("top_k_categorical_accuracy")
    assert isinstance(m, metrics.TopKCategoricalAccuracy) and m.k == 5
    with pytest.raises(ValueError, match="k=0"):
        metrics.TopKCategoricalAccuracy(k=0)


@pytest.mark.parametrize("loss_name, extra, out_units, out_act", [
    ("binary_crossentropy", "mean_absolute_error", 1, "sigmoid"),
    ("categorical_crossentropy", "categorical_accuracy", 3, "softmax"),
    ("mean_squared_error", "mean_absolute_error", 1, None),
])
def test_compile_with_loss_and_metric_functions_trains_as_keras(keras, rng, loss_name, extra,
                                                                 out_units, out_act):
    x = rng.normal(size=(32, 5, 3)).astype("float32")
    if out_units == 1:
        y = (rng.random((32, 1)) > 0.5).astype("float32")
    else:
        y = np.eye(3, dtype="float32")[rng.integers(0, 3, 32)]
    histories = []
    weights = None
    for lib in (keras, rnncore):
        model = lib.Sequential([lib.Input((5, 3)), lib.layers.LSTM(4),
                                lib.layers.Dense(out_units, activation=out_act)])
        if weights is None:
            weights = model.get_weights()
        model.set_weights(weights)
        model.compile(optimizer=lib.optimizers.SGD(0.1),
                      loss=getattr(lib.losses, loss_name),
                      metrics=[getattr(lib.metrics, extra), "accuracy"])
        histories.append(model.fit(x, y, batch_size=8, epochs=2, shuffle=False,
                                   verbose=0).history)
    k_hist, r_hist = histories
    assert sorted(r_hist) == sorted(k_hist)
    for key in k_hist:
        np.testing.assert_allclose(r_hist[key], k_hist[key], rtol=1e-3, err_msg=key)


def test_keras_own_loss_and_metric_functions_are_recognised(keras):
    loss = losses._for_compile(keras.losses.binary_crossentropy)
    assert isinstance(loss, losses.BinaryCrossentropy) and loss.name == "binary_crossentropy"
    metric = metrics.get(keras.metrics.binary_accuracy, loss=None)
    assert metric.name == "binary_accuracy" and metric._fn is metrics.binary_accuracy


def test_user_loss_function_written_with_numpy_trains_as_the_built_in_one(rng):
    # np.mean and ** on the recorded prediction run as rnncore.ops, so the loss is
    # differentiated like any other: it trains exactly as 'mse' does
    def my_loss(y_true, y_pred):
        return np.mean((y_true - y_pred) ** 2, axis=-1)
    x, y = rng.normal(size=(4, 5, 3)).astype("float32"), rng.normal(size=(4, 1)).astype("float32")
    histories = []
    for loss in (my_loss, "mse"):
        rnncore.utils.set_random_seed(3)
        model = rnncore.Sequential([rnncore.Input((5, 3)), rnncore.layers.SimpleRNN(2),
                                    rnncore.layers.Dense(1)])
        model.compile("sgd", loss=loss)
        histories.append(model.fit(x, y, epochs=3, verbose=0).history["loss"])
    np.testing.assert_allclose(histories[0], histories[1], rtol=1e-6)
