"""Rules from Keras's saving/saving_api_test.py and optimizers/schedules tests: the functions of
``keras.saving`` and the (de)serialization of learning-rate schedules, checked against Keras."""
import numpy as np
import pytest

import rnncore


def _model(m):
    return m.Sequential([m.Input((3,)), m.layers.Dense(5), m.layers.Softmax()])


def test_saving_save_model_and_load_model_round_trip_and_keras_reads_it(keras, tmp_path):
    model = _model(rnncore)
    path = tmp_path / "model.keras"
    rnncore.saving.save_model(model, path)
    x = np.random.default_rng(0).uniform(size=(10, 3)).astype("float32")
    expected = model.predict(x, verbose=0)
    np.testing.assert_allclose(rnncore.saving.load_model(path).predict(x, verbose=0), expected,
                               atol=1e-6)
    np.testing.assert_allclose(keras.saving.load_model(path).predict(x, verbose=0), expected,
                               atol=1e-6)


@pytest.mark.parametrize("kwargs, pattern", [
    ({"filepath": "model.txt", "save_format": True}, "The `save_format` argument is deprecated"),
    ({"filepath": "model.png"}, "Invalid filepath extension for saving"),
    ({"filepath": "model.keras", "random_arg": True},
     r"The following argument\(s\) are not supported"),
])
def test_saving_save_model_refuses_as_keras(keras, tmp_path, monkeypatch, kwargs, pattern):
    monkeypatch.chdir(tmp_path)
    for module in (keras, rnncore):
        with pytest.raises(ValueError, match=pattern):
            module.saving.save_model(_model(module), **kwargs)


def test_saving_save_weights_and_load_weights(keras, tmp_path):
    model = _model(rnncore)
    path = tmp_path / "model.weights.h5"
    rnncore.saving.save_weights(model, path)
    for module in (rnncore, keras):
        other = _model(module)
        module.saving.load_weights(other, path)
        for a, b in zip(other.get_weights(), model.get_weights()):
            np.testing.assert_array_equal(np.asarray(a), b)


SCHEDULES = [
    ("ExponentialDecay", dict(initial_learning_rate=0.05, decay_steps=10, decay_rate=0.96,
                              staircase=True, name="my_ed")),
    ("PiecewiseConstantDecay", dict(boundaries=[10, 20], values=[1.0, 2.0, 3.0], name="pcd")),
    ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=100, end_learning_rate=0.01,
                             power=2.0, cycle=True, name="pd")),
    ("InverseTimeDecay", dict(initial_learning_rate=0.05, decay_steps=10, decay_rate=0.96)),
    ("CosineDecay", dict(initial_learning_rate=0.05, decay_steps=10, alpha=0.1)),
    ("CosineDecayRestarts", dict(initial_learning_rate=0.05, first_decay_steps=10)),
]


@pytest.mark.parametrize("name, kwargs", SCHEDULES)
def test_schedules_round_trip_through_serialize_keras_object(keras, name, kwargs):
    ours = getattr(rnncore.optimizers.schedules, name)(**kwargs)
    theirs = getattr(keras.optimizers.schedules, name)(**kwargs)
    config = rnncore.saving.serialize_keras_object(ours)
    assert config["module"] == keras.saving.serialize_keras_object(theirs)["module"]
    back = rnncore.saving.deserialize_keras_object(config)
    assert type(back) is type(ours) and back.get_config() == ours.get_config()
    # a config Keras wrote, read by rnncore, and the other way round
    from_keras = rnncore.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(theirs))
    assert type(from_keras) is type(ours)
    assert type(keras.saving.deserialize_keras_object(config)) is type(theirs)
    for step in (0, 5, 15, 25):
        np.testing.assert_allclose(float(back(step)), float(theirs(step)), rtol=1e-6)

