"""Eager calls give what Keras's TensorFlow backend gives a program: arrays with ``.numpy()``
(``model(x).numpy()``, the TF tutorials' idiom), in the structure the model returns."""
import numpy as np
import pytest

import rnncore


class Twice(rnncore.layers.Layer):
    def call(self, x):
        return x * 2.0


class TwoHeads(rnncore.Model):
    def __init__(self):
        super().__init__()
        self.a, self.b = rnncore.layers.Dense(1), rnncore.layers.Dense(2)

    def call(self, x):
        return self.a(x), self.b(x)


def _calls():
    x = rnncore.Input((4,))
    functional = rnncore.Model(x, {"a": rnncore.layers.Dense(1)(x),
                                   "b": rnncore.layers.Dense(2)(x)})
    return {
        "built-in layer": rnncore.layers.Dense(3),
        "recurrent layer with states": rnncore.layers.LSTM(3, return_state=True),
        "custom layer": Twice(),
        "sequential": rnncore.Sequential([rnncore.Input((4,)), rnncore.layers.Dense(2)]),
        "functional with a dict": functional,
        "subclassed with a tuple": TwoHeads(),
    }


def _flat(out):
    if isinstance(out, dict):
        return list(out.values())
    return list(out) if isinstance(out, (list, tuple)) else [out]


@pytest.mark.parametrize("name", list(_calls()))
def test_eager_outputs_have_numpy(name):
    layer = _calls()[name]
    x = np.ones((2, 5, 4) if "recurrent" in name else (2, 4), "float32")
    out = layer(x)
    for item in _flat(out):
        plain = item.numpy()
        assert type(plain) is np.ndarray
        np.testing.assert_array_equal(plain, np.asarray(item))
    if name == "subclassed with a tuple":
        assert isinstance(out, tuple) and len(out) == 2


def test_predict_still_returns_plain_arrays():
    model = rnncore.Sequential([rnncore.Input((4,)), rnncore.layers.Dense(2)])
    assert type(model.predict(np.ones((2, 4), "float32"), verbose=0)) is np.ndarray


def test_an_eager_mask_survives_and_numpy_drops_it():
    out = rnncore.layers.Embedding(10, 3, mask_zero=True)(np.array([[1, 0]]))
    np.testing.assert_array_equal(out._keras_mask, [[True, False]])
    assert not hasattr(out.numpy(), "_keras_mask")


@pytest.mark.parametrize("loss", ["MeanSquaredError", "BinaryCrossentropy",
                                  "SparseCategoricalCrossentropy"])
def test_an_eager_loss_call_gives_a_number_with_numpy_as_keras(keras, loss):
    rng = np.random.default_rng(0)
    y_pred = rng.uniform(0.05, 0.95, (6, 3)).astype(np.float32)
    y_pred /= y_pred.sum(axis=1, keepdims=True)
    y_true = rng.integers(0, 3, 6) if loss.startswith("Sparse") else \
        (rng.random((6, 3)) < 0.5).astype(np.float32)
    ours = getattr(rnncore.losses, loss)()(y_true, y_pred)
    theirs = getattr(keras.losses, loss)()(y_true, y_pred)
    assert ours.numpy().dtype == theirs.numpy().dtype == np.float32
    assert ours.numpy() == pytest.approx(theirs.numpy(), rel=1e-6)
    assert f"{ours:.4f}" == f"{float(theirs):.4f}" and ours.shape == () == tuple(theirs.shape)


def test_a_metric_result_has_numpy_as_keras(keras):
    y_true = np.eye(3, dtype=np.float32)[[0, 1, 2, 1]]
    y_pred = np.array([[.8, .1, .1], [.2, .7, .1], [.3, .3, .4], [.6, .3, .1]], np.float32)
    for name in ["Mean", "CategoricalAccuracy", "AUC", "F1Score", "Precision"]:
        ours, theirs = getattr(rnncore.metrics, name)(), getattr(keras.metrics, name)()
        args = (y_true[:, 0],) if name == "Mean" else (y_true, y_pred)
        ours.update_state(*args)
        theirs.update_state(*args)
        mine, keras_value = ours.result().numpy(), theirs.result().numpy()
        assert mine.dtype == keras_value.dtype and np.shape(mine) == np.shape(keras_value)
        np.testing.assert_allclose(mine, keras_value, rtol=1e-6, err_msg=name)
