"""Programs from Keras's guide "Training & evaluation with the built-in methods", run with
rnncore as with Keras: a custom metric whose result() is its variable, and the endpoint
layer pattern (a layer that calls a loss object on its inputs and adds it with add_loss, in
a model compiled without a loss and fit without targets)."""
import numpy as np
import pytest

import rnncore


def _true_positives_metric(lib):
    ops = lib.ops

    class CategoricalTruePositives(lib.metrics.Metric):
        def __init__(self, name="categorical_true_positives", **kwargs):
            super().__init__(name=name, **kwargs)
            self.true_positives = self.add_variable(shape=(), name="ctp",
                                                    initializer="zeros")

        def update_state(self, y_true, y_pred, sample_weight=None):
            y_pred = ops.reshape(ops.argmax(y_pred, axis=1), (-1, 1))
            values = ops.cast(ops.cast(y_true, "int32") == ops.cast(y_pred, "int32"),
                              "float32")
            self.true_positives.assign_add(ops.sum(values))

        def result(self):
            return self.true_positives  # the variable itself, as the guide writes it

        def reset_state(self):
            self.true_positives.assign(0.0)

    return CategoricalTruePositives()


def test_metric_whose_result_is_its_variable(keras, rng):
    x = rng.random((64, 8)).astype("float32")
    y = rng.integers(0, 4, (64, 1))
    histories = []
    for lib in (keras, rnncore):
        model = lib.Sequential([lib.Input((8,)), lib.layers.Dense(4, activation="softmax")])
        if lib is rnncore:
            model.set_weights(weights)
        weights = model.get_weights()
        model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                      metrics=[_true_positives_metric(lib)])
        histories.append(model.fit(x, y, batch_size=16, epochs=2, shuffle=False,
                                   verbose=0).history)
    assert list(histories[1]) == list(histories[0])
    for key in histories[0]:
        np.testing.assert_allclose(histories[1][key], histories[0][key], rtol=1e-5)


def _endpoint_model(lib):
    class LogisticEndpoint(lib.layers.Layer):
        def __init__(self, name=None):
            super().__init__(name=name)
            self.loss_fn = lib.losses.BinaryCrossentropy(from_logits=True)

        def call(self, targets, logits, sample_weights=None):
            self.add_loss(self.loss_fn(targets, logits, sample_weights))
            return lib.ops.softmax(logits)

    inputs = lib.Input(shape=(3,), name="inputs")
    targets = lib.Input(shape=(10,), name="targets")
    logits = lib.layers.Dense(10)(inputs)
    predictions = LogisticEndpoint(name="predictions")(targets, logits)
    return lib.Model(inputs=[inputs, targets], outputs=predictions)


def test_endpoint_layer_trains_a_model_compiled_without_loss(keras, rng):
    data = {"inputs": rng.random((30, 3)).astype("float32"),
            "targets": rng.random((30, 10)).astype("float32")}
    results = []
    for lib in (keras, rnncore):
        model = _endpoint_model(lib)
        if lib is rnncore:
            model.set_weights(weights)
        weights = model.get_weights()
        model.compile(optimizer="adam")
        history = model.fit(data, epochs=2, batch_size=10, shuffle=False, verbose=0)
        results.append((history.history, model.evaluate(data, verbose=0),
                        model.get_weights()))
    (k_hist, k_eval, k_w), (r_hist, r_eval, r_w) = results
    assert list(r_hist) == list(k_hist) == ["loss"]
    np.testing.assert_allclose(r_hist["loss"], k_hist["loss"], rtol=1e-5)
    np.testing.assert_allclose(r_eval, k_eval, rtol=1e-5)
    for r, k in zip(r_w, k_w):
        np.testing.assert_allclose(r, k, atol=1e-5)


def test_model_compiled_without_loss_and_without_own_losses_refuses_fit(rng):
    model = rnncore.Sequential([rnncore.Input((3,)), rnncore.layers.Dense(2)])
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match="No loss to compute"):
        model.fit(rng.random((8, 3)), rng.random((8, 2)), verbose=0)


def test_metrics_names_as_keras_3(keras, rng):
    """Keras 3 lists its compiled metrics as one 'compile_metrics' entry: a TensorFlow
    tutorial's ``zip(model.metrics_names, results)`` prints what Keras prints."""
    x, y = rng.random((8, 3)).astype("float32"), rng.random((8, 1)).astype("float32")
    for compiled in ({"loss": "mse", "metrics": ["mae"]}, {"loss": "mse"},
                     {"loss": "mse", "metrics": []}):
        names = []
        for lib in (keras, rnncore):
            model = lib.Sequential([lib.Input((3,)), lib.layers.Dense(1)])
            before = model.metrics_names
            model.compile(optimizer="sgd", **compiled)
            model.fit(x, y, verbose=0)
            results = model.evaluate(x, y, verbose=0)
            names.append((before, model.metrics_names,
                          list(zip(model.metrics_names, np.atleast_1d(results)))))
        (k_before, k_names, k_zip), (r_before, r_names, r_zip) = names
        assert (r_before, r_names) == (k_before, k_names)
        assert [n for n, _ in r_zip] == [n for n, _ in k_zip]
