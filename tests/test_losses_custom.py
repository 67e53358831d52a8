"""User subclasses of ``Loss`` and ``Metric`` (Keras's documented way to write them, and the
``Loss.__call__`` override of Keras's test harness) in compile / fit / evaluate, against Keras 3
from equal weights: losses, History keys and values, evaluate, reductions, sample weights,
configs."""
import numpy as np
import pytest

import rnncore

STEPS = 5
REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight"]


def _classes(lib):
    """The same user classes, written once against Keras and once against rnncore."""
    ops = lib.ops

    class ScaledSquaredError(lib.losses.Loss):
        def __init__(self, scale=2.0, **kwargs):
            super().__init__(**kwargs)
            self.scale = scale

        def call(self, y_true, y_pred):
            return self.scale * ops.mean(ops.square(y_pred - y_true), axis=-1)

        def get_config(self):
            return {**super().get_config(), "scale": self.scale}

    class LogSquareSum(lib.losses.Loss):  # Keras's harness overrides __call__ itself
        def __call__(self, y_true, y_pred, sample_weight=None):
            return ops.sum(ops.log1p(ops.square(y_pred - y_true)))

    class SumOutputs(lib.losses.Loss):
        def __call__(self, y_true, y_pred, sample_weight=None):
            return ops.sum(y_pred)

    class TruePositives(lib.metrics.Metric):
        def __init__(self, name="true_positives", **kwargs):
            super().__init__(name=name, **kwargs)
            self.hits = self.add_variable(shape=(), initializer="zeros", name="hits")
            self.seen = self.add_weight(name="seen", initializer="zeros")

        def update_state(self, y_true, y_pred, sample_weight=None):
            hit = ops.cast(ops.logical_and(ops.greater(y_pred, 0.0),
                                           ops.greater(y_true, 0.0)), self.dtype)
            self.hits.assign_add(ops.sum(hit))
            self.seen.assign_add(ops.sum(ops.ones_like(hit)))

        def result(self):
            return self.hits / self.seen

    class MeanAbsoluteGap(lib.metrics.Mean):
        def update_state(self, y_true, y_pred, sample_weight=None):
            super().update_state(ops.mean(ops.abs(y_true - y_pred), axis=-1), sample_weight)

    def squared_gap(y_true, y_pred):
        return ops.mean(ops.square(y_true - y_pred), axis=-1)

    class SquaredGap(lib.metrics.MeanMetricWrapper):
        def __init__(self, name="squared_gap", dtype=None):
            super().__init__(squared_gap, name=name, dtype=dtype)

    return {"ScaledSquaredError": ScaledSquaredError, "LogSquareSum": LogSquareSum,
            "SumOutputs": SumOutputs, "TruePositives": TruePositives,
            "MeanAbsoluteGap": MeanAbsoluteGap, "SquaredGap": SquaredGap}


def _data(rng, dtype="float32"):
    x = rng.normal(size=(8, 3, 4)).astype(dtype)
    y = rng.normal(size=(8, 2)).astype(dtype)
    sw = rng.random(8).astype(dtype)
    return x, y, sw


def _models(keras, lib_loss, keras_loss, metrics=None, dtype="float32"):
    """The same LSTM model in both libraries, rnncore's with Keras's initial weights."""
    kmodel = keras.Sequential([keras.Input((3, 4), dtype=dtype),
                               keras.layers.LSTM(2, dtype=dtype)])
    rmodel = rnncore.Sequential([rnncore.Input((3, 4), dtype=dtype),
                                 rnncore.layers.LSTM(2, dtype=dtype)])
    rmodel.set_weights(kmodel.get_weights())
    kmodel.compile(optimizer=keras.optimizers.SGD(0.1), loss=keras_loss,
                   metrics=(metrics or {}).get("keras"))
    rmodel.compile(optimizer=rnncore.optimizers.SGD(0.1), loss=lib_loss,
                   metrics=(metrics or {}).get("rnncore"))
    return kmodel, rmodel


def _train_both(kmodel, rmodel, x, y, sw=None):
    kl, rl = [], []
    for _ in range(STEPS):
        kl.append(float(kmodel.train_on_batch(x, y, sample_weight=sw)))
        rl.append(float(rmodel.train_on_batch(x, y, sample_weight=sw)))
    return np.array(kl), np.array(rl)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample_weight"])
def test_call_override_trains_as_in_keras(keras, rng, reduction, weighted):
    K, R = _classes(keras), _classes(rnncore)
    x, y, sw = _data(rng)
    kmodel, rmodel = _models(keras, R["ScaledSquaredError"](reduction=reduction),
                             K["ScaledSquaredError"](reduction=reduction))
    kl, rl = _train_both(kmodel, rmodel, x, y, sw if weighted else None)
    np.testing.assert_allclose(rl, kl, rtol=1e-5)
    assert rl[-1] < rl[0]  # it trained: the gradient reached the weights


def test_call_override_float64_is_tighter(keras, rng):
    K, R = _classes(keras), _classes(rnncore)
    x, y, _ = _data(rng, "float64")
    kmodel, rmodel = _models(keras, R["ScaledSquaredError"](dtype="float64"),
                             K["ScaledSquaredError"](dtype="float64"), dtype="float64")
    kl, rl = _train_both(kmodel, rmodel, x, y)
    np.testing.assert_allclose(rl, kl, rtol=1e-10)


@pytest.mark.parametrize("name", ["LogSquareSum", "SumOutputs"])
def test_dunder_call_override_trains_as_in_keras(keras, rng, name):
    K, R = _classes(keras), _classes(rnncore)
    x, y, sw = _data(rng)
    kmodel, rmodel = _models(keras, R[name](), K[name]())
    kl, rl = _train_both(kmodel, rmodel, x, y, sw)
    np.testing.assert_allclose(rl, kl, rtol=1e-5)
    np.testing.assert_allclose(rmodel.evaluate(x, y, verbose=0),
                               kmodel.evaluate(x, y, verbose=0), rtol=1e-5)


def test_fit_history_and_evaluate_match_keras_with_custom_metrics(keras, rng):
    K, R = _classes(keras), _classes(rnncore)
    x, y, _ = _data(rng)
    names = ["TruePositives", "MeanAbsoluteGap", "SquaredGap"]
    kmodel, rmodel = _models(
        keras, R["ScaledSquaredError"](), K["ScaledSquaredError"](),
        metrics={"keras": [K[n]() for n in names], "rnncore": [R[n]() for n in names]})
    kh = kmodel.fit(x, y, epochs=3, batch_size=4, shuffle=False, verbose=0).history
    rh = rmodel.fit(x, y, epochs=3, batch_size=4, shuffle=False, verbose=0).history
    assert sorted(rh) == sorted(kh)
    for key in kh:
        np.testing.assert_allclose(rh[key], kh[key], rtol=1e-5, err_msg=key)
    ke = kmodel.evaluate(x, y, verbose=0, return_dict=True)
    re_ = rmodel.evaluate(x, y, verbose=0, return_dict=True)
    assert sorted(re_) == sorted(ke)
    for key in ke:
        np.testing.assert_allclose(re_[key], ke[key], rtol=1e-5, err_msg=key)


@pytest.mark.parametrize("reduction", REDUCTIONS + ["none", None])
def test_direct_call_reductions_and_weights_match_keras(keras, rng, reduction):
    K, R = _classes(keras), _classes(rnncore)
    y = rng.normal(size=(6, 3)).astype("float32")
    p = rng.normal(size=(6, 3)).astype("float32")
    sw = rng.random(6).astype("float32")
    for weight in (None, sw):
        expected = np.asarray(K["ScaledSquaredError"](reduction=reduction)(y, p, weight))
        got = R["ScaledSquaredError"](reduction=reduction)(y, p, sample_weight=weight)
        np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_direct_call_keeps_shapes_as_given(keras, rng):
    # Keras's base Loss passes y_true and y_pred to `call` unchanged (no rank matching)
    seen = {}

    class Shapes(rnncore.losses.Loss):
        def call(self, y_true, y_pred):
            seen["shapes"] = (np.shape(y_true), np.shape(y_pred))
            return rnncore.ops.sum(y_pred, axis=-1)

    Shapes()(np.zeros((4,)), np.ones((4, 1)))
    assert seen["shapes"] == ((4,), (4, 1))


def test_loss_config_round_trip_and_name(keras):
    R = _classes(rnncore)
    loss = R["ScaledSquaredError"](scale=3.0, reduction="sum", name="scaled")
    config = loss.get_config()
    K = _classes(keras)
    assert config == K["ScaledSquaredError"](scale=3.0, reduction="sum",
                                              name="scaled").get_config()
    again = type(loss).from_config(config)
    assert (again.scale, again.reduction, again.name) == (3.0, "sum", "scaled")
    assert R["ScaledSquaredError"]().name == "scaled_squared_error"


def test_loss_without_call_says_what_to_implement():
    class Empty(rnncore.losses.Loss):
        pass

    with pytest.raises(NotImplementedError, match="call"):
        Empty()(np.zeros((2, 1)), np.zeros((2, 1)))


def test_dunder_call_must_return_a_scalar(rng):
    class PerSample(rnncore.losses.Loss):
        def __call__(self, y_true, y_pred, sample_weight=None):
            return rnncore.ops.sum(y_pred, axis=-1)

    model = rnncore.Sequential([rnncore.Input((3,)), rnncore.layers.Dense(2)])
    model.compile(optimizer="sgd", loss=PerSample())
    with pytest.raises(ValueError, match="scalar"):
        model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0)


def test_metric_variables_reset_and_call(keras, rng):
    K, R = _classes(keras), _classes(rnncore)
    y = rng.normal(size=(6, 2)).astype("float32")
    p = rng.normal(size=(6, 2)).astype("float32")
    km, rm = K["TruePositives"](), R["TruePositives"]()
    assert [v.name for v in rm.variables] == [v.name for v in km.variables] == ["hits", "seen"]
    np.testing.assert_allclose(float(rm(y, p)), float(km(y, p)), rtol=1e-6)
    rm.reset_state()
    assert [float(v.numpy()) for v in rm.variables] == [0.0, 0.0]
    assert not any(v.trainable for v in rm.variables)


@pytest.mark.parametrize("base", ["MeanSquaredError", "BinaryCrossentropy"])
def test_call_override_of_a_builtin_loss_is_what_trains(keras, rng, base):
    def make(lib):
        class Doubled(getattr(lib.losses, base)):
            def call(self, y_true, y_pred):
                return 2.0 * lib.ops.mean(lib.ops.square(y_pred - y_true), axis=-1)
        return Doubled()

    x, y, _ = _data(rng)
    kmodel, rmodel = _models(keras, make(rnncore), make(keras))
    kl, rl = _train_both(kmodel, rmodel, x, (y > 0).astype("float32"))
    np.testing.assert_allclose(rl, kl, rtol=1e-5)
