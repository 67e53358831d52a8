"""Confusion-count metrics (TruePositives ... RecallAtPrecision, Precision/Recall with top_k
and class_id) and metric variables, against Keras on the same data."""
import re

import numpy as np
import pytest

import rnncore


def _batches():
    rng = np.random.default_rng(1)
    for _ in range(3):
        # predictions on and between the evenly spaced thresholds, some exactly 0 and 1
        p = np.round(rng.random((6, 4)), 2).astype("float32")
        p[0, 0], p[1, 1] = 0.0, 1.0
        t = (rng.random((6, 4)) > 0.5).astype("float32")
        w = rng.random(6).astype("float32")
        yield t, p, w


CASES = [
    ("TruePositives", (), {}), ("FalsePositives", (), {"thresholds": [0.1, 0.5, 0.9]}),
    ("TrueNegatives", (), {"thresholds": 0.3}), ("FalseNegatives", (), {}),
    ("Precision", (), {}), ("Recall", (), {"thresholds": [0.2, 0.7]}),
    ("Precision", (), {"top_k": 2}), ("Recall", (), {"top_k": 1, "class_id": 2}),
    ("Precision", (), {"class_id": 1, "thresholds": [0.3, 0.6]}),
    ("SensitivityAtSpecificity", (0.6,), {}), ("SpecificityAtSensitivity", (0.4,), {}),
    ("PrecisionAtRecall", (0.5,), {"num_thresholds": 11}),
    ("RecallAtPrecision", (0.6,), {"class_id": 0}),
    ("SensitivityAtSpecificity", (0.5,), {"num_thresholds": 1}),
    ("AUC", (), {}), ("AUC", (), {"curve": "PR", "num_thresholds": 7}),
    ("AUC", (), {"thresholds": [0.25, 0.3, 0.8]}),
]


@pytest.mark.parametrize("weighted", [False, True], ids=["plain", "weighted"])
@pytest.mark.parametrize("name,args,kwargs", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_results_and_state_match_keras_over_several_batches(keras, name, args, kwargs,
                                                             weighted):
    k_metric = getattr(keras.metrics, name)(*args, **kwargs)
    r_metric = getattr(rnncore.metrics, name)(*args, **kwargs)
    for t, p, w in _batches():
        k_metric.update_state(t, p, sample_weight=w if weighted else None)
        r_metric.update_state(t, p, sample_weight=w if weighted else None)
        np.testing.assert_allclose(r_metric.result(), np.asarray(k_metric.result()),
                                   atol=1e-6)
    assert len(r_metric.variables) == len(k_metric.variables)
    for r_var, k_var in zip(r_metric.variables, k_metric.variables):
        assert (r_var.name, tuple(r_var.shape)) == (k_var.name, tuple(k_var.shape))
        np.testing.assert_allclose(r_var.numpy(), k_var.numpy(), atol=1e-5)
    r_metric.reset_state()
    k_metric.reset_state()
    assert float(np.max(r_metric.result())) == float(np.max(np.asarray(k_metric.result())))


@pytest.mark.parametrize("name,args,kwargs", CASES[:14],
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES[:14])])
def test_config_round_trip_matches_keras(keras, name, args, kwargs):
    k_config = getattr(keras.metrics, name)(*args, name="m", **kwargs).get_config()
    r_metric = getattr(rnncore.metrics, name)(*args, name="m", **kwargs)
    assert r_metric.get_config() == k_config
    again = type(r_metric).from_config(r_metric.get_config())
    assert again.get_config() == k_config
    assert rnncore.metrics.deserialize(rnncore.metrics.serialize(r_metric)).get_config() \
        == k_config


def _tutorial_fit(m):
    # TensorFlow's "Classification on imbalanced data" tutorial's metrics
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 5)).astype("float32")
    y = (x[:, :1] + 0.5 * rng.standard_normal((64, 1)) > 0.8).astype("float32")
    model = m.Sequential([m.Input((5,)), m.layers.Dense(1, activation="sigmoid")])
    model.layers[-1].set_weights([np.linspace(-0.5, 0.5, 5, dtype="float32")[:, None],
                                  np.zeros(1, "float32")])
    metrics = [m.metrics.BinaryCrossentropy(name="cross entropy"),
               m.metrics.MeanSquaredError(name="Brier score"),
               m.metrics.TruePositives(name="tp"), m.metrics.FalsePositives(name="fp"),
               m.metrics.TrueNegatives(name="tn"), m.metrics.FalseNegatives(name="fn"),
               m.metrics.BinaryAccuracy(name="accuracy"), m.metrics.Precision(name="precision"),
               m.metrics.Recall(name="recall"), m.metrics.AUC(name="auc"),
               m.metrics.AUC(name="prc", curve="PR")]
    model.compile(optimizer=m.optimizers.Adam(0.05), loss="binary_crossentropy",
                  metrics=metrics)
    history = model.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False,
                        validation_data=(x[:32], y[:32]))
    return history.history, model.evaluate(x, y, verbose=0, return_dict=True)


def test_imbalanced_data_tutorial_metrics_in_fit_and_evaluate_match_keras(keras):
    k_hist, k_eval = _tutorial_fit(keras)
    r_hist, r_eval = _tutorial_fit(rnncore)
    assert list(r_hist) == list(k_hist)
    for key in k_hist:
        np.testing.assert_allclose(r_hist[key], k_hist[key], rtol=1e-4, atol=1e-4, err_msg=key)
    assert list(r_eval) == list(k_eval)
    for key in k_eval:
        np.testing.assert_allclose(r_eval[key], k_eval[key], rtol=1e-4, atol=1e-4, err_msg=key)


@pytest.mark.parametrize("name", ["TruePositives", "FalseNegatives", "Precision", "AUC"])
def test_unnamed_metrics_are_named_as_keras_names_them(keras, name):
    # Keras's auto_name: snake case of the class, then _1, _2, ... for later unnamed ones
    def names(m):
        cls = getattr(m.metrics, name)
        first, second = cls().name, cls().name
        base = re.sub(r"_\d+$", "", first)
        suffix = int(first[len(base) + 1:] or 0)
        return base, second == f"{base}_{suffix + 1}"
    assert names(rnncore) == names(keras)


@pytest.mark.parametrize("name", ["Mean", "Sum", "BinaryAccuracy", "MeanSquaredError",
                                  "RootMeanSquaredError", "Precision", "Recall", "AUC",
                                  "R2Score", "SparseCategoricalAccuracy"])
def test_variables_have_keras_count_names_and_shapes(keras, name):
    k = [(v.name, tuple(v.shape)) for v in getattr(keras.metrics, name)().variables]
    r = [(v.name, tuple(v.shape)) for v in getattr(rnncore.metrics, name)().variables]
    assert r == k
    ours, theirs = getattr(rnncore.metrics, name)(), getattr(keras.metrics, name)()
    assert (type(ours.dtype), ours.dtype) == (type(theirs.dtype), theirs.dtype)
    with pytest.raises(AttributeError):
        ours.dtype = "float64"  # fixed once made, as in Keras


def test_assigning_a_variable_changes_the_result():
    metric = rnncore.metrics.Mean()
    metric.update_state([1.0, 3.0])
    total, count = metric.variables
    total.assign(12.0)
    count.assign(3.0)
    assert metric.result() == 4.0
    metric.reset_state()
    assert total.numpy() == 0 and metric.result() == 0.0


@pytest.mark.parametrize("make,message", [
    (lambda m: m.TruePositives(thresholds=[0.5, 1.5]), r"Threshold values must be in \[0, 1\]"),
    (lambda m: m.SensitivityAtSpecificity(1.5), r"`specificity` must be in the range"),
    (lambda m: m.PrecisionAtRecall(0.5, num_thresholds=0), "`num_thresholds` must be"),
    (lambda m: m.Precision(top_k=0), "top_k=0"),
])
def test_bad_arguments_raise_errors_naming_them(make, message):
    with pytest.raises(ValueError, match=message):
        make(rnncore.metrics)


def test_class_id_needs_two_dimensional_predictions(keras):
    with pytest.raises(ValueError, match="When class_id is provided, y_pred must be a 2D"):
        keras.metrics.Precision(class_id=1).update_state([1, 0], [0.6, 0.2])
    with pytest.raises(ValueError, match="When class_id is provided, y_pred must be a 2D"):
        rnncore.metrics.Precision(class_id=1).update_state([1, 0], [0.6, 0.2])
    with pytest.raises(ValueError, match="class_id=3 is out of range"):
        rnncore.metrics.Recall(class_id=3).update_state([[1, 0]], [[0.6, 0.2]])


def test_clear_session_restarts_default_names_as_keras(keras):
    def names(m):
        m.metrics.Precision(), m.layers.Dense(1)
        m.backend.clear_session()
        return m.metrics.Precision().name, m.layers.Dense(1).name, m.metrics.AUC().name
    assert names(rnncore) == names(keras) == ("precision", "dense", "auc")


def test_metric_classes_and_unnamed_instances_in_compile_are_named_as_keras(keras):
    def keys(m):
        m.backend.clear_session()
        model = m.Sequential([m.Input((2,)), m.layers.Dense(1, activation="sigmoid")])
        model.compile(loss="binary_crossentropy",
                      metrics=[m.metrics.AUC, m.metrics.Precision(), m.metrics.AUC()])
        history = model.fit(np.ones((4, 2)), np.array([[0.0], [1.0], [0.0], [1.0]]), verbose=0)
        return list(history.history)
    assert keys(rnncore) == keys(keras)


@pytest.mark.parametrize("name,args", [("Mean", ([3.0, 6.0],)),
                                       ("Precision", ([1, 0, 1], [0.7, 0.8, 0.2])),
                                       ("AUC", ([1, 0, 1, 0], [0.7, 0.8, 0.2, 0.1]))])
def test_stateless_api_matches_keras_and_keeps_the_state(keras, name, args):
    def run(m):
        metric = getattr(m.metrics, name)()
        metric.update_state(*args)
        before = float(metric.result())
        new = metric.stateless_update_state(metric.variables, *args)
        zeros = metric.stateless_reset_state()
        return ([np.asarray(v).tolist() for v in new], float(metric.stateless_result(new)),
                [float(np.sum(z)) for z in zeros], before == float(metric.result()))
    ours, theirs = run(rnncore), run(keras)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-6)
    assert ours[0] == theirs[0] and ours[2:] == theirs[2:]
