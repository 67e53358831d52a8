"""Metrics against Keras 3: running results over uneven batches, 'accuracy' resolution."""
import re

import numpy as np
import pytest

from rnncore import metrics

BATCHES = (5, 3, 8)


def _stem(name):
    # Keras numbers repeated default names (precision, precision_1, ...).
    return re.sub(r"_\d+$", "", name)


def _data(kind, n, rng):
    """(y_true, y_pred) for one batch of ``kind``."""
    if kind == "binary":  # labels (n,), probabilities (n, 1) with ties at 0.5
        p = rng.random((n, 1)).astype(np.float32)
        p[::3] = 0.5
        return rng.integers(0, 2, n), p
    if kind == "binary2d":
        return (rng.random((n, 2)) > 0.5).astype(np.float32), rng.random((n, 2)).astype(np.float32)
    if kind in ("onehot", "sparse", "sparse_col"):
        p = rng.random((n, 4)).astype(np.float32)
        labels = rng.integers(0, 4, n)
        y = {"onehot": np.eye(4, dtype=np.float32)[labels], "sparse": labels,
             "sparse_col": labels[:, None]}[kind]
        return y, p
    if kind in ("seq_onehot", "seq_sparse"):
        p = rng.random((n, 3, 4)).astype(np.float32)
        labels = rng.integers(0, 4, (n, 3))
        return (np.eye(4, dtype=np.float32)[labels] if kind == "seq_onehot" else labels), p
    if kind == "exact":
        return rng.integers(0, 3, (n, 1)), rng.integers(0, 3, (n, 1))
    if kind == "multiclass":  # multi-hot labels and probabilities over 3 columns
        return (rng.random((n, 3)) > 0.5).astype(np.float32), rng.random((n, 3)).astype(np.float32)
    return rng.normal(size=(n, 3)).astype(np.float32), rng.normal(size=(n, 3)).astype(np.float32)


CASES = [
    ("BinaryAccuracy", {}, "binary"),
    ("BinaryAccuracy", {"threshold": 0.7}, "binary2d"),
    ("CategoricalAccuracy", {}, "onehot"),
    ("CategoricalAccuracy", {}, "seq_onehot"),
    ("SparseCategoricalAccuracy", {}, "sparse"),
    ("SparseCategoricalAccuracy", {}, "sparse_col"),
    ("SparseCategoricalAccuracy", {}, "seq_sparse"),
    ("Accuracy", {}, "exact"),
    ("MeanSquaredError", {}, "real"),
    ("MeanAbsoluteError", {}, "real"),
    ("BinaryCrossentropy", {}, "binary2d"),
    ("SparseCategoricalCrossentropy", {}, "sparse"),
    ("Precision", {}, "binary"),
    ("Recall", {}, "binary"),
    ("Precision", {"thresholds": [0.3, 0.5, 0.8]}, "binary2d"),
    ("Recall", {"class_id": 1}, "multiclass"),
]


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("name,kwargs,kind", CASES,
                         ids=[f"{n}-{k}-{'-'.join(kw)}" for n, kw, k in CASES])
def test_running_result_matches_keras(keras, name, kwargs, kind, weighted, rng):
    ours, theirs = getattr(metrics, name)(**kwargs), getattr(keras.metrics, name)(**kwargs)
    assert _stem(ours.name) == _stem(theirs.name)
    for n in BATCHES:
        y, p = _data(kind, n, rng)
        sw = rng.random(n).astype(np.float32) if weighted else None
        ours.update_state(y, p, sample_weight=sw)
        theirs.update_state(y, p, sample_weight=sw)
        np.testing.assert_allclose(ours.result(), np.asarray(theirs.result()), rtol=1e-6,
                                   atol=1e-7)
    ours.reset_state()
    assert np.all(np.asarray(ours.result()) == 0)


def test_mean_weights_batches_by_size_like_the_keras_loss_tracker(keras, rng):
    ours, theirs = metrics.Mean(name="loss"), keras.metrics.Mean(name="loss")
    for n in BATCHES:
        value = np.float32(rng.random())
        ours.update_state(value, sample_weight=n)
        theirs.update_state(value, sample_weight=n)
    assert ours.result() == pytest.approx(float(theirs.result()), rel=1e-6)
    assert isinstance(ours.result(), float)


def test_crossentropy_metric_uses_logits_like_keras(keras, rng):
    logits = (rng.normal(size=(6, 1)) * 30).astype(np.float32)
    y = rng.integers(0, 2, (6, 1))
    probs = keras.activations.sigmoid(logits)
    theirs = keras.metrics.BinaryCrossentropy()
    theirs.update_state(y, probs)
    ours = metrics.BinaryCrossentropy()
    ours.update_state(y, probs.numpy(), logits=logits)
    assert ours.result() == pytest.approx(float(theirs.result()), rel=1e-6)


@pytest.mark.parametrize("identifier", ["accuracy", "acc", "ACC", "Accuracy"])
@pytest.mark.parametrize("y_shape,out_shape", [
    ((8,), (8, 1)), ((8, 1), (8, 1)), ((8,), (8, 5)), ((8, 1), (8, 5)), ((8, 5), (8, 5)),
    ((8, 3), (8, 3, 5)), ((8, 3, 5), (8, 3, 5)), ((8, 3, 1), (8, 3, 1)),
])
def test_accuracy_resolution_matches_keras_compile(keras, identifier, y_shape, out_shape):
    from keras.src.trainers.compile_utils import get_metric
    theirs = get_metric(identifier, np.zeros(y_shape), np.zeros(out_shape))
    ours = metrics.get(identifier, output_shape=out_shape, target_shape=y_shape)
    assert type(ours).__name__ == type(theirs).__name__
    assert ours.name == theirs.name == identifier


@pytest.mark.parametrize("loss,out_shape,expected", [
    ("binary_crossentropy", (None, 1), "BinaryAccuracy"),
    ("binary_crossentropy", None, "BinaryAccuracy"),
    ("sparse_categorical_crossentropy", (None, 5), "SparseCategoricalAccuracy"),
    ("categorical_crossentropy", (None, 5), "CategoricalAccuracy"),
    ("mse", (None, 1), "BinaryAccuracy"),
])
def test_accuracy_falls_back_to_the_loss_without_target_shape(loss, out_shape, expected):
    assert type(metrics.get("acc", loss=loss, output_shape=out_shape)).__name__ == expected


def test_get_names_metrics_as_compile_does():
    # given the loss (as compile does), get resolves as compile: named after the string
    assert type(metrics.get("mse", loss=None)).__name__ == "MeanSquaredError"
    assert metrics.get("mse", loss=None).name == "mse"
    assert metrics.get("binary_accuracy", loss=None).name == "binary_accuracy"
    precision = metrics.Precision(name="p")
    assert metrics.get(precision, loss=None) is precision
    assert _stem(metrics.get(metrics.Recall, loss=None).name) == "recall"

    def hits(y_true, y_pred):
        return (np.asarray(y_true) == np.asarray(y_pred)).astype(np.float32)
    wrapped = metrics.get(hits, loss=None)
    assert wrapped.name == "hits"
    wrapped.update_state(np.array([1, 2, 3]), np.array([1, 0, 3]))
    assert wrapped.result() == pytest.approx(2 / 3)


@pytest.mark.parametrize("name", ["BinaryAccuracy", "CategoricalAccuracy", "Precision", "Mean"])
def test_config_matches_keras(keras, name):
    ours, theirs = getattr(metrics, name)(), getattr(keras.metrics, name)()
    kconfig = theirs.get_config()
    kconfig["name"] = ours.name  # both number repeated default names (precision_1, ...)
    assert _stem(ours.name) == _stem(theirs.name)
    assert ours.get_config() == kconfig
    clone = metrics.deserialize(metrics.serialize(ours))
    assert type(clone) is type(ours) and clone.get_config() == ours.get_config()


@pytest.mark.parametrize("call,match", [
    (lambda: metrics.get("accurcy"), r"metric='accurcy'.*'binary_accuracy'"),
    (lambda: metrics.get("acc", loss=None), r"output_shape"),
    (lambda: metrics.Precision(thresholds=1.5),
     r"Threshold values must be in \[0, 1\]. Received: \[1\.5\]"),  # Keras's words
    (lambda: metrics.Recall(top_k=0), r"top_k=0"),
])
def test_bad_arguments_raise(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("labels", ["float", "column", "int", "bool", "soft"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_accuracy_compiled_count_matches_the_numpy_path(dtype, labels, rng):
    # One sigmoid output per sample, unweighted, is counted in one compiled call.
    y_pred = rng.random((64, 1)).astype(dtype)
    y_pred[:4, 0] = [0.5, np.nextafter(dtype(0.5), dtype(1)), np.nan, 0.7]
    y = rng.random(64) > 0.5
    y = {"float": y.astype(dtype), "column": y.astype(dtype)[:, None], "int": y.astype(np.int32),
         "bool": y, "soft": rng.choice([0.0, 1.0, 0.7], size=64)}[labels]
    for threshold in (0.5, 0.7):
        fast = metrics.BinaryAccuracy(threshold=threshold)
        general = metrics.BinaryAccuracy(threshold=threshold)
        for _ in range(2):
            fast.update_state(y, y_pred)
            metrics.MeanMetricWrapper.update_state(general, y, y_pred)
        assert fast.total == general.total and fast.count == general.count
        assert fast.result() == general.result()
        assert 0 < fast.count


def test_mean_metric_wrapper_names_and_config_as_keras(keras):
    ours = metrics.MeanMetricWrapper(fn=metrics.mean_squared_error, name="mse")
    theirs = keras.metrics.MeanMetricWrapper(fn=keras.metrics.mean_squared_error, name="mse")
    assert ours.get_config() == theirs.get_config()
    again = metrics.MeanMetricWrapper.from_config(ours.get_config())
    again.update_state([[0.0, 1.0]], [[1.0, 1.0]])
    assert again.name == "mse" and again.result() == pytest.approx(0.5)
    # unnamed, it is numbered as Keras numbers it; compile names it after the function
    assert _stem(metrics.MeanMetricWrapper(np.abs).name) == _stem(
        keras.metrics.MeanMetricWrapper(np.abs).name) == "mean_metric_wrapper"
    assert metrics.get(np.abs) is np.abs  # get hands a function back, as Keras's
    assert metrics.get(np.abs, loss=None).name == "absolute"
    assert "fn" not in metrics.MeanSquaredError().get_config()


@pytest.mark.parametrize("weighted", [False, True])
def test_sparse_top_k_from_sorted_ids_matches_keras(keras, weighted):
    ids = np.array([[3, 1, 2, 0], [0, 2, 1, 3], [1, 0, 3, 2]], "float32")
    labels = np.array([1, 3, 2])
    sw = np.array([0.5, 1.0, 2.0]) if weighted else None
    ours = metrics.SparseTopKCategoricalAccuracy(k=2, from_sorted_ids=True)
    theirs = keras.metrics.SparseTopKCategoricalAccuracy(k=2, from_sorted_ids=True)
    for _ in range(2):
        ours.update_state(labels, ids, sample_weight=sw)
        theirs.update_state(labels, ids, sample_weight=sw)
    assert ours.result() == pytest.approx(float(theirs.result()))
    assert ours.get_config() == {**theirs.get_config(), "name": ours.name}


def test_get_none_is_none_as_keras(keras):
    assert metrics.get(None) is None and keras.metrics.get(None) is None
