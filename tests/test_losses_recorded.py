"""CategoricalFocalCrossentropy, Dice and Tversky against Keras: values, reductions,
functions, configs, get() names, and training with them in fit."""
import numpy as np
import pytest

import rnncore

CASES = [
    ("CategoricalFocalCrossentropy", {}),
    ("CategoricalFocalCrossentropy", {"from_logits": True, "label_smoothing": 0.1,
                                      "gamma": 1.5, "alpha": 0.5}),
    ("Dice", {}), ("Dice", {"axis": 1}), ("Dice", {"axis": -1, "reduction": "sum"}),
    ("Tversky", {}), ("Tversky", {"alpha": 0.3, "beta": 0.7, "axis": -1}),
]
IDS = [f"{n}-{i}" for i, (n, _) in enumerate(CASES)]


def _data():
    rng = np.random.default_rng(0)
    t = np.eye(4, dtype="float32")[rng.integers(0, 4, 6)]
    p = rng.random((6, 4)).astype("float32") + np.float32(0.05)
    w = rng.random(6).astype("float32")
    return t, p, w


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_values_config_and_function_match_keras(keras, name, kwargs):
    t, p, w = _data()
    ours, theirs = getattr(rnncore.losses, name)(**kwargs), getattr(keras.losses, name)(**kwargs)
    assert ours(t, p) == pytest.approx(float(theirs(t, p)), rel=1e-5)
    if kwargs.get("axis", -1) is not None:  # one value per sample: sample weights apply
        assert ours(t, p, sample_weight=w) == pytest.approx(
            float(theirs(t, p, sample_weight=w)), rel=1e-5)
    assert ours.get_config() == theirs.get_config()
    again = rnncore.losses.deserialize(rnncore.losses.serialize(ours))
    assert type(again) is type(ours) and again.get_config() == theirs.get_config()
    fn_kwargs = {k: v for k, v in kwargs.items() if k != "reduction"}
    np.testing.assert_allclose(getattr(rnncore.losses, ours.name)(t, p, **fn_kwargs),
                               getattr(keras.losses, theirs.name)(t, p, **fn_kwargs),
                               rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", ["CategoricalFocalCrossentropy", "Dice", "Tversky"])
def test_get_by_class_name_gives_keras_class(keras, name):
    ours, theirs = rnncore.losses.get(name), keras.losses.get(name)
    assert type(ours).__name__ == type(theirs).__name__
    assert ours.get_config() == theirs.get_config()


@pytest.mark.parametrize("name", ["categorical_focal_crossentropy", "dice", "tversky"])
def test_get_by_function_name_computes_keras_function(keras, name):
    # get gives the function, as Keras's; compile's loss of that name computes the same
    t, p, _ = _data()
    ours, theirs = rnncore.losses.get(name), keras.losses.get(name)
    assert ours.__name__ == theirs.__name__ == name
    np.testing.assert_allclose(np.asarray(ours(t, p)), theirs(t, p), rtol=1e-5, atol=1e-7)
    compiled = rnncore.losses._for_compile(name)
    assert compiled.name == name
    np.testing.assert_allclose(compiled.call(t, p), theirs(t, p), rtol=1e-5, atol=1e-7)


def _fit(m, loss, activation):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((32, 5)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, 32)]
    model = m.Sequential([m.Input((5,)), m.layers.Dense(3, activation=activation)])
    model.layers[0].set_weights([np.linspace(-0.6, 0.6, 15, dtype="float32").reshape(5, 3),
                                 np.array([0.1, 0.0, -0.1], "float32")])
    model.compile(optimizer=m.optimizers.SGD(0.5), loss=loss)
    history = model.fit(x, y, batch_size=8, epochs=3, verbose=0, shuffle=False)
    return history.history["loss"], model.layers[0].get_weights()


@pytest.mark.parametrize("make,activation", [
    (lambda m: m.losses.CategoricalFocalCrossentropy(), "softmax"),
    (lambda m: m.losses.CategoricalFocalCrossentropy(from_logits=True, gamma=1.0), None),
    (lambda m: "categorical_focal_crossentropy", "softmax"),
    (lambda m: m.losses.Dice(axis=-1), "sigmoid"),
    (lambda m: m.losses.Dice(), "sigmoid"),
    (lambda m: m.losses.Tversky(alpha=0.7, beta=0.3, axis=-1), "sigmoid"),
], ids=["focal", "focal-logits", "focal-by-name", "dice-axis", "dice-batch", "tversky"])
def test_training_matches_keras(keras, make, activation):
    k_loss, k_weights = _fit(keras, make(keras), activation)
    r_loss, r_weights = _fit(rnncore, make(rnncore), activation)
    np.testing.assert_allclose(r_loss, k_loss, rtol=1e-4, atol=1e-6)
    for a, b in zip(r_weights, k_weights):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_bool_axis_is_refused_with_keras_message():
    with pytest.raises(ValueError, match="`axis` must be of type `int`. Received: axis=True"):
        rnncore.losses.CategoricalFocalCrossentropy(axis=True)
