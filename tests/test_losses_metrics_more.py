"""Keras's less common losses and metrics (rnncore._losses_more, rnncore._metrics_more)
against Keras 3 on the same data: values, gradients, reductions, names, configs, get()."""
import re

import numpy as np
import pytest

import rnncore
from rnncore import losses

N = 6


def _data(kind, shape, rng, dtype):
    if kind == "onehot":
        return np.eye(shape[-1], dtype=dtype)[rng.integers(0, shape[-1], shape[:-1])]
    if kind == "binary":
        return (rng.random(shape) > 0.5).astype(dtype)
    if kind == "signs":
        return np.where(rng.random(shape) > 0.5, 1.0, -1.0).astype(dtype)
    if kind == "prob":
        p = rng.random(shape).astype(dtype) + dtype(0.05)
        return p / p.sum(axis=-1, keepdims=True)
    if kind == "positive":
        return (rng.random(shape) * 3 + 0.1).astype(dtype)
    return rng.normal(size=shape).astype(dtype)


# (class, kwargs, target kind, prediction kind, shape)
LOSS_CASES = [
    ("KLDivergence", {}, "prob", "prob", (N, 4)),
    ("LogCosh", {}, "real", "real", (N, 3)),
    ("Hinge", {}, "binary", "real", (N, 3)),
    ("Hinge", {}, "signs", "real", (N, 2, 3)),
    ("SquaredHinge", {}, "binary", "real", (N, 3)),
    ("CategoricalHinge", {}, "onehot", "real", (N, 4)),
    ("MeanAbsolutePercentageError", {}, "real", "real", (N, 3)),
    ("MeanSquaredLogarithmicError", {}, "positive", "real", (N, 3)),
    ("Poisson", {}, "positive", "positive", (N, 3)),
    ("CosineSimilarity", {}, "real", "real", (N, 4)),
    ("CosineSimilarity", {"axis": 1}, "real", "real", (N, 3, 2)),
    ("BinaryFocalCrossentropy", {}, "binary", "prob", (N, 3)),
    ("BinaryFocalCrossentropy", {"apply_class_balancing": True, "alpha": 0.4, "gamma": 1.5,
                                 "label_smoothing": 0.1}, "binary", "prob", (N, 2, 3)),
    ("BinaryFocalCrossentropy", {"from_logits": True, "gamma": 3.0}, "binary", "real", (N, 3)),
]


def _keras_loss(keras, tf, kloss, y, x, sample_weight=None):
    v = tf.Variable(x)
    with tf.GradientTape() as tape:
        out = kloss(y, v, sample_weight=sample_weight)
    return np.asarray(out), np.asarray(tape.gradient(out, v))


@pytest.mark.parametrize("cls,kwargs,tkind,pkind,shape", LOSS_CASES,
                         ids=[f"{c[0]}{c[1] or ''}-{c[2]}" for c in LOSS_CASES])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_loss_value_and_gradient_match_keras(keras, tf, rng, cls, kwargs, tkind, pkind, shape,
                                             dtype):
    y, x = _data(tkind, shape, rng, dtype), _data(pkind, shape, rng, dtype)
    sw = rng.random((shape[0],) + (1,) * (len(shape) - 2)).astype(dtype)
    kl = getattr(keras.losses, cls)(dtype=np.dtype(dtype).name, **kwargs)
    ml = getattr(losses, cls)(**kwargs)
    tol = 1e-6 if dtype == np.float32 else 1e-12
    for weights in (None, sw):
        want, want_grad = _keras_loss(keras, tf, kl, y, x, weights)
        got, got_grad = ml.value_and_grad(y, x, sample_weight=weights)
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
        np.testing.assert_allclose(got_grad, want_grad, rtol=10 * tol, atol=10 * tol)
    # per-sample values: the function of the same name
    fn = getattr(losses, ml.name)
    np.testing.assert_allclose(fn(y, x), getattr(keras.losses, ml.name)(y, x),
                               rtol=tol, atol=tol)


@pytest.mark.parametrize("cls", sorted({c[0] for c in LOSS_CASES}))
def test_loss_name_config_round_trip(keras, cls):
    mine, theirs = getattr(losses, cls)(), getattr(keras.losses, cls)()
    assert mine.name == theirs.name
    config, keras_config = mine.get_config(), theirs.get_config()
    # Keras's CosineSimilarity leaves `axis` out of its config; rnncore keeps it
    assert {k: config[k] for k in keras_config if k != "dtype"} == \
        {k: v for k, v in keras_config.items() if k != "dtype"}
    again = losses.deserialize(losses.serialize(mine))
    assert type(again) is type(mine) and again.get_config() == config


@pytest.mark.parametrize("alias,cls", [("kld", "KLDivergence"), ("KLD", "KLDivergence"),
                                       ("mape", "MeanAbsolutePercentageError"),
                                       ("msle", "MeanSquaredLogarithmicError"),
                                       ("log_cosh", "LogCosh"), ("poisson", "Poisson"),
                                       ("categorical_hinge", "CategoricalHinge"),
                                       ("CosineSimilarity", "CosineSimilarity"),
                                       ("binary_focal_crossentropy",
                                        "BinaryFocalCrossentropy")])
def test_loss_get_by_string(alias, cls):
    assert type(losses._for_compile(alias)) is getattr(losses, cls)


def test_fit_with_new_loss_matches_finite_difference(rng):
    # the gradient the trainer uses: the analytic one against central differences in float64
    for cls in ("LogCosh", "Poisson", "CosineSimilarity", "MeanSquaredLogarithmicError"):
        loss = getattr(losses, cls)()
        y, x = _data("positive", (4, 3), rng, np.float64), _data("positive", (4, 3), rng,
                                                                np.float64)
        _, grad = loss.value_and_grad(y, x)
        num = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            e = np.zeros_like(x)
            e[i] = 1e-6
            num[i] = (loss(y, x + e) - loss(y, x - e)) / 2e-6
        np.testing.assert_allclose(grad, num, rtol=1e-5, atol=1e-8)


# ---------------------------------------------------------------------------------- metrics
# (class, kwargs, target kind, prediction kind, shape); batches fed one after another
METRIC_CASES = [
    ("RootMeanSquaredError", {}, "real", "real", (N, 3)),
    ("MeanAbsolutePercentageError", {}, "real", "real", (N, 3)),
    ("MeanSquaredLogarithmicError", {}, "positive", "real", (N, 2)),
    ("LogCoshError", {}, "real", "real", (N, 3)),
    ("CosineSimilarity", {}, "real", "real", (N, 4)),
    ("KLDivergence", {}, "prob", "prob", (N, 4)),
    ("Poisson", {}, "positive", "positive", (N, 3)),
    ("Hinge", {}, "binary", "real", (N, 3)),
    ("SquaredHinge", {}, "signs", "real", (N, 3)),
    ("CategoricalHinge", {}, "onehot", "real", (N, 4)),
    ("R2Score", {}, "real", "real", (N, 3)),
    ("R2Score", {"class_aggregation": "variance_weighted_average"}, "real", "real", (N, 3)),
    ("R2Score", {"class_aggregation": None}, "real", "real", (N, 2)),
    ("R2Score", {"num_regressors": 2}, "real", "real", (N, 3)),
    ("F1Score", {}, "onehot", "prob", (N, 4)),
    ("F1Score", {"average": "macro", "threshold": 0.3}, "binary", "prob", (N, 3)),
    ("F1Score", {"average": "micro"}, "onehot", "prob", (N, 4)),
    ("F1Score", {"average": "weighted"}, "onehot", "prob", (N, 4)),
    ("FBetaScore", {"beta": 2.0, "average": "macro", "threshold": 0.4}, "binary", "prob",
     (N, 3)),
]


@pytest.mark.parametrize("cls,kwargs,tkind,pkind,shape", METRIC_CASES,
                         ids=[f"{c[0]}-{'-'.join(map(str, c[1].values()))}"
                              for c in METRIC_CASES])
@pytest.mark.parametrize("weighted", [False, True])
def test_metric_matches_keras(keras, rng, cls, kwargs, tkind, pkind, shape, weighted):
    mine = getattr(rnncore.metrics, cls)(**kwargs)
    theirs = getattr(keras.metrics, cls)(**kwargs)
    for batch in range(3):
        y = _data(tkind, shape, rng, np.float32)
        x = _data(pkind, shape, rng, np.float32)
        sw = rng.random(shape[0]).astype(np.float32) if weighted else None
        mine.update_state(y, x, sample_weight=sw)
        theirs.update_state(y, x, sample_weight=sw)
        np.testing.assert_allclose(np.asarray(mine.result(), np.float64),
                                   np.asarray(theirs.result(), np.float64),
                                   rtol=2e-6, atol=1e-6, err_msg=f"batch {batch}")
    mine.reset_state()
    theirs.reset_state()
    assert mine.name == theirs.name
    config = mine.get_config()
    keras_config = theirs.get_config()
    assert {k: config[k] for k in keras_config} == keras_config
    again = rnncore.metrics.deserialize(rnncore.metrics.serialize(mine))
    assert type(again) is type(mine) and again.get_config() == config


def test_sum_matches_keras(keras, rng):
    mine, theirs = rnncore.metrics.Sum(), keras.metrics.Sum()
    for shape in ((5,), (4, 3)):
        values = rng.normal(size=shape).astype(np.float32)
        sw = rng.random(shape[0]).astype(np.float32)
        mine.update_state(values, sample_weight=sw)
        theirs.update_state(values, sample_weight=sw)
        mine.update_state(values)
        theirs.update_state(values)
    assert mine.result() == pytest.approx(float(theirs.result()), rel=1e-6)
    assert mine.get_config() == theirs.get_config()


@pytest.mark.parametrize("alias,cls", [("mape", "MeanAbsolutePercentageError"),
                                       ("msle", "MeanSquaredLogarithmicError"),
                                       ("root_mean_squared_error", "RootMeanSquaredError"),
                                       ("r2_score", "R2Score"), ("F1Score", "F1Score"),
                                       ("logcosh", "LogCoshError"), ("kld", "KLDivergence")])
def test_metric_get_by_string(alias, cls):
    metric = rnncore.metrics.get(alias, loss=None)  # as compile resolves it
    assert type(metric) is getattr(rnncore.metrics, cls) and metric.name == alias


def test_new_metrics_in_fit_logs(keras, rng):
    x, y = rng.normal(size=(16, 3)).astype("float32"), rng.normal(size=(16, 2)).astype("float32")
    logs, weights = {}, None
    for lib in (keras, rnncore):  # Keras's initial weights, then the same for rnncore
        model = lib.Sequential([lib.Input((3,)), lib.layers.Dense(2)])
        if weights is None:
            weights = model.get_weights()
        model.set_weights(weights)
        model.compile(lib.optimizers.SGD(0.01), "mse",
                      metrics=[lib.metrics.RootMeanSquaredError(), lib.metrics.R2Score(),
                               "mape"])
        logs[lib] = model.fit(x, y, epochs=2, batch_size=8, verbose=0, shuffle=False).history
    assert sorted(logs[rnncore]) == sorted(logs[keras])
    for key, values in logs[keras].items():
        np.testing.assert_allclose(logs[rnncore][key], values, rtol=1e-5, err_msg=key)


AUC_CASES = [
    {},
    {"curve": "PR"},
    {"num_thresholds": 7, "summation_method": "minoring"},
    {"curve": "PR", "summation_method": "majoring", "num_thresholds": 11},
    {"curve": "PRGAIN"},
    {"thresholds": [0.1, 0.35, 0.6, 0.8]},
    {"curve": "PR", "thresholds": [0.2, 0.5, 0.7]},
    {"multi_label": True},
    {"multi_label": True, "curve": "PR", "label_weights": [0.2, 0.5, 0.3]},
    {"label_weights": [1.0, 0.5, 2.0]},
    {"from_logits": True},
]


@pytest.mark.parametrize("kwargs", AUC_CASES, ids=[str(k) for k in AUC_CASES])
@pytest.mark.parametrize("weighted", [False, True])
def test_auc_matches_keras(keras, rng, kwargs, weighted):
    mine, theirs = rnncore.metrics.AUC(**kwargs), keras.metrics.AUC(**kwargs)
    for batch in range(3):
        y = (rng.random((N * 3, 3)) > 0.6).astype(np.float32)
        x = (y * 0.3 + rng.random((N * 3, 3)) * 0.7).astype(np.float32)
        if kwargs.get("from_logits"):
            x = (x - 0.5) * 6
        sw = rng.random(N * 3).astype(np.float32) if weighted else None
        mine.update_state(y, x, sample_weight=sw)
        theirs.update_state(y, x, sample_weight=sw)
        assert mine.result() == pytest.approx(float(theirs.result()), rel=1e-5, abs=1e-6), batch
    for count in ("true_positives", "false_positives", "true_negatives", "false_negatives"):
        np.testing.assert_allclose(getattr(mine, count), getattr(theirs, count), rtol=1e-5,
                                   atol=1e-4, err_msg=count)
    # both number repeated default names: auc, auc_1, ...
    assert re.fullmatch(r"auc(_\d+)?", mine.name) and re.fullmatch(r"auc(_\d+)?", theirs.name)
    config, keras_config = mine.get_config(), theirs.get_config()
    for key in keras_config:
        if key not in ("label_weights", "name"):
            assert config[key] == keras_config[key], key
    again = rnncore.metrics.deserialize(rnncore.metrics.serialize(mine))
    assert again.get_config() == config


def test_auc_in_fit_logs_as_keras(keras, rng):
    x = rng.normal(size=(32, 4)).astype("float32")
    y = (x[:, :1] + 0.3 * rng.normal(size=(32, 1)) > 0).astype("float32")
    logs, weights = {}, None
    for lib in (keras, rnncore):  # Keras's initial weights, then the same for rnncore
        model = lib.Sequential([lib.Input((4,)), lib.layers.Dense(1, activation="sigmoid")])
        if weights is None:
            weights = model.get_weights()
        model.set_weights(weights)
        model.compile(lib.optimizers.Adam(0.01), "binary_crossentropy",
                      metrics=[lib.metrics.AUC(name="auc"),
                               lib.metrics.AUC(curve="PR", name="pr")])
        logs[lib] = model.fit(x, y, epochs=2, batch_size=8, verbose=0, shuffle=False).history
    assert sorted(logs[rnncore]) == sorted(logs[keras])
    for key, values in logs[keras].items():
        np.testing.assert_allclose(logs[rnncore][key], values, rtol=1e-5, err_msg=key)


def test_metrics_get_accuracy_alone_is_keras_accuracy(keras):
    mine, theirs = rnncore.metrics.get("accuracy"), keras.metrics.get("accuracy")
    assert type(mine).__name__ == type(theirs).__name__ == "Accuracy"
    assert mine.name == theirs.name
    # compile's resolution (with the loss or the shapes) still picks the variant
    assert type(rnncore.metrics.get("accuracy", output_shape=(None, 1),
                                    target_shape=(None, 1))).__name__ == "BinaryAccuracy"


@pytest.mark.parametrize("kwargs,activation", [({}, "sigmoid"), ({"from_logits": True}, None)])
def test_binary_focal_crossentropy_trains_like_keras(keras, rng, kwargs, activation):
    # behind a sigmoid Keras's trainer takes the crossentropy part from the logits, rnncore
    # from the clipped probabilities: equal away from saturation
    x = rng.normal(size=(16, 4)).astype("float32")
    y = (rng.random((16, 1)) > 0.5).astype("float32")
    losses_seen, weights = {}, None
    for lib in (keras, rnncore):
        model = lib.Sequential([lib.Input((4,)), lib.layers.Dense(1, activation=activation)])
        if weights is None:
            weights = model.get_weights()
        model.set_weights(weights)
        model.compile(lib.optimizers.SGD(0.5), lib.losses.BinaryFocalCrossentropy(**kwargs))
        losses_seen[lib] = [model.train_on_batch(x, y) for _ in range(3)]
    np.testing.assert_allclose(losses_seen[rnncore], losses_seen[keras], rtol=1e-5)
