"""IoU, MeanIoU, BinaryIoU, OneHotIoU, OneHotMeanIoU, PearsonCorrelation and
ConcordanceCorrelation against Keras 3 (standalone over several weighted batches, in compile
and fit, in a saved model), and Keras's loss functions exposed as metric functions."""
import re
import warnings

import numpy as np
import pytest

import rnncore

NUM_CLASSES = 4


def _segmentation_batches():
    # (batch, h, w) label maps and (batch, h, w, classes) scores; some labels out of range
    # and some of the ignored class; integer weights (the confusion matrix is int64)
    rng = np.random.default_rng(5)
    for _ in range(3):
        labels = rng.integers(0, NUM_CLASSES, size=(2, 5, 5))
        labels[0, 0, :2] = [NUM_CLASSES, -1]
        scores = rng.random((2, 5, 5, NUM_CLASSES)).astype("float32")
        weights = rng.integers(0, 3, size=(2, 5, 5))
        yield labels, scores, weights


IOU_CASES = [
    ("IoU", (NUM_CLASSES, [0, 2]), {"sparse_y_pred": False}),
    ("IoU", (NUM_CLASSES, [1]), {"sparse_y_pred": False, "ignore_class": 3}),
    ("MeanIoU", (NUM_CLASSES,), {"sparse_y_pred": False}),
    ("MeanIoU", (NUM_CLASSES,), {"dtype": "float32"}),  # float predictions truncated to ids
    ("OneHotIoU", (NUM_CLASSES, [0, 3]), {}),
    ("OneHotMeanIoU", (NUM_CLASSES,), {"ignore_class": 0}),
    ("BinaryIoU", (), {"threshold": 0.3}),
    ("BinaryIoU", ([1],), {}),
]


def _inputs(name, kwargs, labels, scores):
    if name.startswith("OneHot"):
        return np.eye(NUM_CLASSES)[np.clip(labels, 0, NUM_CLASSES - 1)], scores
    if name == "BinaryIoU":
        return (labels > 1).astype("int32"), scores[..., 0]
    if kwargs.get("sparse_y_pred", True):  # class ids as floats, truncated as in Keras
        return labels, scores[..., 0] * NUM_CLASSES
    return labels, scores


@pytest.mark.parametrize("weighted", [False, True], ids=["plain", "weighted"])
@pytest.mark.parametrize("name,args,kwargs", IOU_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(IOU_CASES)])
def test_iou_results_and_state_match_keras(keras, name, args, kwargs, weighted):
    ours = getattr(rnncore.metrics, name)(*args, **kwargs)
    theirs = getattr(keras.metrics, name)(*args, **kwargs)
    for labels, scores, weights in _segmentation_batches():
        t, p = _inputs(name, kwargs, labels, scores)
        w = weights if weighted else None
        ours.update_state(t, p, sample_weight=w)
        theirs.update_state(t, p, sample_weight=w)
        result = ours.result()
        assert result.numpy().dtype == np.float32
        np.testing.assert_allclose(result, theirs.result().numpy(), rtol=1e-6)
    assert [(v.name, v.numpy().dtype) for v in ours.variables] == \
        [(v.name, np.dtype(v.dtype)) for v in theirs.variables]
    np.testing.assert_array_equal(ours.variables[0].numpy(), theirs.variables[0].numpy())
    assert re.sub(r"_\d+$", "", ours.name) == re.sub(r"_\d+$", "", theirs.name)
    ours.reset_state()
    theirs.reset_state()
    assert float(ours.result()) == float(theirs.result()) == 0.0


@pytest.mark.parametrize("name,args,kwargs", IOU_CASES + [
    ("PearsonCorrelation", (), {"axis": 0}), ("ConcordanceCorrelation", (), {})])
def test_config_round_trip_matches_keras(keras, name, args, kwargs):
    ours = getattr(rnncore.metrics, name)(*args, name="m", **kwargs)
    config = getattr(keras.metrics, name)(*args, name="m", **kwargs).get_config()
    assert ours.get_config() == config
    assert type(ours).from_config(config).get_config() == config
    assert rnncore.metrics.deserialize(rnncore.metrics.serialize(ours)).get_config() == config


def test_iou_float_weights_warn_as_keras_and_bad_arguments_raise():
    metric = rnncore.metrics.MeanIoU(2)
    with pytest.warns(UserWarning, match="passing weight as `float`, but dtype is `int`"):
        metric.update_state([0, 1], [0, 1], sample_weight=np.array([1.5, 1.0]))
    with pytest.raises(ValueError, match=re.escape("Target class id 3 is out of range")):
        rnncore.metrics.IoU(3, [0, 3])
    with pytest.raises(ValueError, match="num_classes=0"):
        rnncore.metrics.MeanIoU(0)
    with pytest.raises(ValueError, match="must hold as many labels"):
        rnncore.metrics.MeanIoU(2).update_state([0, 1, 1], [0, 1])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ["pearson_correlation", "concordance_correlation"])
def test_correlation_functions_match_keras(keras, name, dtype, rng):
    t = rng.normal(size=(6, 5)).astype(dtype)
    p = (t + rng.normal(size=(6, 5))).astype(dtype)
    for axis in (-1, 0):
        ours = getattr(rnncore.metrics, name)(t, p, axis=axis)
        theirs = getattr(keras.metrics, name)(t, p, axis=axis).numpy()
        assert ours.dtype == theirs.dtype
        np.testing.assert_allclose(ours, theirs, rtol=1e-5 if dtype == "float32" else 1e-12)


@pytest.mark.parametrize("name", ["PearsonCorrelation", "ConcordanceCorrelation"])
def test_correlation_metrics_over_weighted_batches_match_keras(keras, name, rng):
    ours, theirs = getattr(rnncore.metrics, name)(), getattr(keras.metrics, name)()
    for _ in range(3):
        t = rng.normal(size=(4, 3)).astype("float32")
        p, w = (t + rng.normal(size=(4, 3))).astype("float32"), rng.random(4)
        ours.update_state(t, p, sample_weight=w)
        theirs.update_state(t, p, sample_weight=w)
        np.testing.assert_allclose(ours.result(), theirs.result().numpy(), rtol=1e-6)


LOSS_FUNCTIONS = ["hinge", "squared_hinge", "categorical_hinge", "kl_divergence", "log_cosh",
                  "mean_absolute_percentage_error", "mean_squared_logarithmic_error", "poisson",
                  "binary_focal_crossentropy", "categorical_focal_crossentropy"]


@pytest.mark.parametrize("name", LOSS_FUNCTIONS)
def test_loss_functions_are_metric_functions_as_in_keras(keras, name, rng):
    assert getattr(rnncore.metrics, name) is getattr(rnncore.losses, name)
    assert (getattr(keras.metrics, name) is getattr(keras.losses, name))
    t = rng.integers(0, 2, size=(5, 3)).astype("float32")
    p = rng.uniform(0.05, 0.95, size=(5, 3)).astype("float32")
    np.testing.assert_allclose(getattr(rnncore.metrics, name)(t, p),
                               getattr(keras.metrics, name)(t, p).numpy(), rtol=1e-5)


def _segmentation_fit(lib, path):
    # a per-pixel classifier over (4, 4) maps with 3 features: Dense on the last axis
    lib.backend.clear_session()  # unnamed metrics numbered from scratch in both libraries
    rng = np.random.default_rng(2)
    x = rng.normal(size=(16, 4, 4, 3)).astype("float32")
    y = np.argmax(x, axis=-1) % 3
    model = lib.Sequential([lib.Input((4, 4, 3)), lib.layers.Dense(3, activation="softmax")])
    model.layers[-1].set_weights([np.linspace(-1, 1, 9, dtype="float32").reshape(3, 3),
                                  np.zeros(3, "float32")])
    model.compile(lib.optimizers.Adam(0.05), "sparse_categorical_crossentropy",
                  metrics=[lib.metrics.MeanIoU(3, sparse_y_pred=False),
                           lib.metrics.IoU(3, [1, 2], sparse_y_pred=False, name="iou_12")])
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False,
                        validation_data=(x[:8], y[:8]))
    model.save(path)
    return history.history, model.evaluate(x, y, verbose=0, return_dict=True)


def test_metrics_in_fit_evaluate_and_a_saved_model_match_keras(keras, tmp_path):
    k_hist, k_eval = _segmentation_fit(keras, str(tmp_path / "k.keras"))
    r_hist, r_eval = _segmentation_fit(rnncore, str(tmp_path / "r.keras"))
    assert list(r_hist) == list(k_hist)
    for key in k_hist:
        np.testing.assert_allclose(r_hist[key], k_hist[key], rtol=1e-5, err_msg=key)
    assert list(r_eval) == list(k_eval)
    for key in k_eval:
        np.testing.assert_allclose(r_eval[key], k_eval[key], rtol=1e-5, err_msg=key)
    # each library's file loads in the other, compiled with the same metrics
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = keras.models.load_model(str(tmp_path / "r.keras"))
        ours = rnncore.models.load_model(str(tmp_path / "k.keras"))
    x = np.random.default_rng(3).normal(size=(8, 4, 4, 3)).astype("float32")
    y = np.argmax(x, axis=-1) % 3
    expected = theirs.evaluate(x, y, verbose=0, return_dict=True)
    got = ours.evaluate(x, y, verbose=0, return_dict=True)
    assert list(got) == list(expected)
    for key in expected:
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-5, err_msg=key)


def test_correlation_metrics_in_fit_match_keras(keras):
    def run(lib):
        rng = np.random.default_rng(4)
        x = rng.normal(size=(24, 5)).astype("float32")
        y = x[:, :3] + 0.3 * rng.normal(size=(24, 3)).astype("float32")
        model = lib.Sequential([lib.Input((5,)), lib.layers.Dense(3)])
        model.layers[-1].set_weights([np.linspace(-1, 1, 15, dtype="float32").reshape(5, 3),
                                      np.zeros(3, "float32")])
        model.compile(lib.optimizers.SGD(0.1), "mse",
                      metrics=[lib.metrics.PearsonCorrelation(), "concordance_correlation",
                               lib.metrics.pearson_correlation])
        return model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False).history
    theirs, ours = run(keras), run(rnncore)
    assert list(ours) == list(theirs)
    for key in theirs:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-5, err_msg=key)


def test_add_variable_takes_a_starting_value_as_keras(keras):
    """Keras's own MeanIoU test starts the confusion matrix from an array given as the
    variable's initializer."""
    start = np.arange(9, dtype="int64").reshape(3, 3)
    results = []
    for lib in (keras, rnncore):
        m = lib.metrics.MeanIoU(num_classes=3)
        m.total_cm = m.add_variable(name="total_confusion_matrix", shape=(3, 3),
                                    initializer=start, dtype="int")
        m.update_state([0, 1, 2, 2], [0, 1, 1, 2])
        results.append((np.asarray(m.total_cm), float(m.result())))
    np.testing.assert_array_equal(results[1][0], results[0][0])
    assert results[1][1] == pytest.approx(results[0][1], rel=1e-6)
