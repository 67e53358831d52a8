"""``losses.get`` and ``metrics.get`` against Keras 3: what comes back for a function's name, a
class name, a config dict, None, a callable, and that it computes Keras's values; while
``compile(loss="mse")`` keeps training and naming its History as Keras."""
import numpy as np
import pytest

import rnncore
from _parity import rel_err

LOSS_IDS = ["mse", "mean_squared_error", "MSE", "mae", "binary_crossentropy", "bce",
            "categorical_crossentropy", "sparse_categorical_crossentropy", "huber", "kld",
            "MeanSquaredError", "BinaryCrossentropy", "Huber",
            {"class_name": "MeanSquaredError", "config": {}},
            {"class_name": "CategoricalCrossentropy", "config": {"from_logits": True}}]
METRIC_IDS = ["mse", "mean_squared_error", "mae", "binary_crossentropy", "accuracy",
              "Accuracy", "binary_accuracy", "MeanSquaredError", "auc",
              {"class_name": "MeanSquaredError", "config": {}},
              {"class_name": "mean_squared_error", "config": None}]


def _data(identifier):
    rng = np.random.default_rng(3)
    name = str(identifier).lower()
    if "sparse" in name:
        return rng.integers(0, 3, 6), rng.dirichlet(np.ones(3), 6).astype("float32")
    if "categorical" in name:
        return (np.eye(3)[rng.integers(0, 3, 6)].astype("float32"),
                rng.dirichlet(np.ones(3), 6).astype("float32"))
    return (rng.integers(0, 2, (6, 1)).astype("float32"),
            rng.uniform(0.05, 0.95, (6, 1)).astype("float32"))


def _kind(obj):
    return "function" if callable(obj) and type(obj).__name__ == "function" else \
        type(obj).__name__


@pytest.mark.parametrize("identifier", LOSS_IDS, ids=str)
def test_losses_get_returns_what_keras_returns(keras, identifier):
    ours, theirs = rnncore.losses.get(identifier), keras.losses.get(identifier)
    assert _kind(ours) == _kind(theirs)
    key = "__name__" if _kind(theirs) == "function" else "name"
    assert getattr(ours, key) == getattr(theirs, key)
    y, p = _data(identifier)
    assert rel_err(np.asarray(ours(y, p)), np.asarray(theirs(y, p))) <= 1e-5


@pytest.mark.parametrize("identifier", METRIC_IDS, ids=str)
def test_metrics_get_returns_what_keras_returns(keras, identifier):
    ours, theirs = rnncore.metrics.get(identifier), keras.metrics.get(identifier)
    assert type(ours).__name__ == type(theirs).__name__
    if identifier != "auc":  # Keras numbers a second AUC's name (auc_1)
        assert ours.name == theirs.name
    y, p = _data(identifier)
    ours.update_state(y, p)
    theirs.update_state(y, p)
    assert rel_err(np.asarray(ours.result()), np.asarray(theirs.result())) <= 1e-5


def test_get_of_none_callables_and_classes_as_keras(keras):
    def my_loss(y_true, y_pred):
        return (y_true - y_pred) ** 2

    for lib in (rnncore, keras):
        assert lib.losses.get(None) is None and lib.metrics.get(None) is None
        assert lib.losses.get(my_loss) is my_loss and lib.metrics.get(my_loss) is my_loss
        assert type(lib.losses.get(lib.losses.MeanSquaredError)).__name__ == "MeanSquaredError"
        assert type(lib.metrics.get(lib.metrics.Recall)).__name__ == "Recall"
    assert rnncore.losses.get("mse") is rnncore.losses.mean_squared_error
    for name in ("accuracy_score", "acc", "crossentropy"):
        for lib in (rnncore, keras):
            with pytest.raises(ValueError, match=name):
                (lib.metrics if name == "acc" else lib.losses).get(name)


def test_compile_with_names_and_with_what_get_returns_trains_as_keras(keras, rng):
    x = rng.normal(size=(16, 3)).astype("float32")
    y = rng.integers(0, 2, (16, 1)).astype("float32")
    histories = []
    for lib in (keras, rnncore):
        for loss, extra in (("binary_crossentropy", "mse"),
                            (lib.losses.get("binary_crossentropy"), lib.metrics.get("mse"))):
            lib.utils.set_random_seed(1)
            model = lib.Sequential([lib.Input((3,)), lib.layers.Dense(1, activation="sigmoid")])
            model.set_weights([np.full((3, 1), 0.1, "float32"), np.zeros(1, "float32")])
            model.compile(lib.optimizers.SGD(0.1), loss, metrics=["accuracy", extra])
            histories.append(model.fit(x, y, epochs=2, batch_size=8, verbose=0,
                                       shuffle=False).history)
    k_names, k_get, r_names, r_get = histories
    for ours, theirs in ((r_names, k_names), (r_get, k_get)):
        assert sorted(ours) == sorted(theirs)
        for key in theirs:
            assert rel_err(ours[key], theirs[key]) <= 1e-5, key
