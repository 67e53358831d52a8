"""``rnncore.saving``'s object (de)serialization as ``keras.saving``: round trips of layers,
losses, optimizers, metrics, functions and registered user classes; ``custom_objects=`` and
``custom_object_scope``; the dict format against Keras's, both ways."""
import json

import numpy as np
import pytest

import rnncore
from rnncore import layers, saving


@saving.register_keras_serializable(package="TestSavingApi")
class Scale(layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class Shift(layers.Layer):  # not registered: needs custom_objects
    def __init__(self, offset=1.0, **kwargs):
        super().__init__(**kwargs)
        self.offset = offset

    def call(self, x):
        return x + self.offset

    def get_config(self):
        return {**super().get_config(), "offset": self.offset}


class HalfError(rnncore.losses.Loss):
    def call(self, y_true, y_pred):
        return 0.5 * rnncore.ops.mean(rnncore.ops.square(y_true - y_pred), axis=-1)


OBJECTS = [
    lambda: layers.Dense(3, activation="tanh", name="d"),
    lambda: layers.LSTM(4, return_sequences=True, dropout=0.1, name="l"),
    lambda: layers.Bidirectional(layers.GRU(2), name="b"),
    lambda: rnncore.optimizers.Adam(learning_rate=0.01, beta_1=0.8),
    lambda: rnncore.optimizers.SGD(learning_rate=0.1, momentum=0.9),
    lambda: rnncore.losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
    lambda: rnncore.losses.MeanSquaredError(reduction="sum"),
    lambda: rnncore.metrics.Mean(name="m"),
    lambda: rnncore.initializers.Orthogonal(gain=2.0),
    lambda: Scale(3.0, name="scale"),
]


@pytest.mark.parametrize("make", OBJECTS, ids=lambda f: type(f()).__name__)
def test_round_trip_keeps_class_and_config(make):
    obj = make()
    config = saving.serialize_keras_object(obj)
    json.dumps(config)  # a serialized object is plain JSON
    again = saving.deserialize_keras_object(config)
    assert type(again) is type(obj)
    assert again.get_config() == obj.get_config()


@pytest.mark.parametrize("fn", [rnncore.losses.mean_squared_error, rnncore.activations.relu,
                                rnncore.metrics.binary_accuracy])
def test_functions_round_trip_by_name(fn):
    config = saving.serialize_keras_object(fn)
    assert config["class_name"] == "function" and config["config"] == fn.__name__
    assert saving.deserialize_keras_object(config) is fn


def test_plain_values_lists_dicts_and_arrays():
    value = {"a": [1, 2.5, "x", None], "b": np.arange(3, dtype=np.float32)}
    config = saving.serialize_keras_object(value)
    assert config["b"] == {"class_name": "__numpy__",
                           "config": {"value": [0.0, 1.0, 2.0], "dtype": "float32"}}
    again = saving.deserialize_keras_object(config)
    assert again["a"] == [1, 2.5, "x", None]
    np.testing.assert_array_equal(again["b"], value["b"])
    assert again["b"].dtype == np.float32


def test_registered_class_needs_no_custom_objects():
    config = saving.serialize_keras_object(Scale(4.0))
    assert config["registered_name"] == "TestSavingApi>Scale"
    assert saving.get_custom_objects()["TestSavingApi>Scale"] is Scale
    assert saving.deserialize_keras_object(config).factor == 4.0


def test_unknown_class_names_itself_and_the_fix():
    config = saving.serialize_keras_object(Shift(2.0))
    with pytest.raises(TypeError, match="Shift.*register_keras_serializable"):
        saving.deserialize_keras_object(config)
    assert saving.deserialize_keras_object(config, custom_objects={"Shift": Shift}).offset == 2.0


def test_custom_object_scope_nests_and_ends():
    config = saving.serialize_keras_object(Shift(2.0))
    assert saving.custom_object_scope is saving.CustomObjectScope
    with saving.custom_object_scope({"Shift": Shift}):
        with saving.CustomObjectScope({"HalfError": HalfError}):
            assert type(saving.deserialize_keras_object(config)) is Shift
            assert type(layers.deserialize(layers.serialize(Shift()))) is Shift
        assert type(saving.deserialize_keras_object(config)) is Shift
    with pytest.raises(TypeError):
        saving.deserialize_keras_object(config)
    with pytest.raises(ValueError):
        layers.deserialize(layers.serialize(Shift()))


def test_custom_objects_argument_of_layers_deserialize():
    config = layers.serialize(Shift(5.0))
    assert layers.deserialize(config, custom_objects={"Shift": Shift}).offset == 5.0


def _models_with(layer_cls):
    seq = rnncore.Sequential([rnncore.Input((2, 3)), layers.LSTM(4), layer_cls(name="custom")])
    inputs = rnncore.Input((2, 3))
    func = rnncore.Model(inputs, layer_cls(name="custom")(layers.LSTM(4)(inputs)))
    return seq, func


@pytest.mark.parametrize("kind", ["sequential", "functional"])
def test_custom_objects_argument_of_model_builders(kind):
    seq, func = _models_with(Shift)
    model = seq if kind == "sequential" else func
    config = model.get_config()
    cls = rnncore.Sequential if kind == "sequential" else rnncore.Model
    rebuilt = cls.from_config(config, custom_objects={"Shift": Shift})
    assert type(rebuilt.get_layer("custom")) is Shift
    rebuilt = rnncore.models.model_from_json(model.to_json(), custom_objects={"Shift": Shift})
    assert type(rebuilt.get_layer("custom")) is Shift
    with saving.custom_object_scope({"Shift": Shift}):
        assert type(cls.from_config(config).get_layer("custom")) is Shift


def test_model_from_config_rebuilds_a_functional_model_with_a_registered_layer(rng):
    _, func = _models_with(Scale)
    rebuilt = rnncore.Model.from_config(func.get_config())
    assert type(rebuilt).__name__ == "Functional"
    rebuilt.set_weights(func.get_weights())
    x = rng.normal(size=(2, 2, 3)).astype("float32")
    np.testing.assert_allclose(rebuilt.predict(x, verbose=0), func.predict(x, verbose=0))


def test_custom_objects_argument_of_losses_metrics_optimizers():
    loss = rnncore.losses.deserialize(saving.serialize_keras_object(HalfError(name="half")),
                                      custom_objects={"HalfError": HalfError})
    assert type(loss) is HalfError and loss.name == "half"

    class Peak(rnncore.metrics.Max if hasattr(rnncore.metrics, "Max") else rnncore.metrics.Mean):
        pass

    metric = rnncore.metrics.deserialize(saving.serialize_keras_object(Peak(name="p")),
                                         custom_objects={"Peak": Peak})
    assert type(metric) is Peak and metric.name == "p"

    class Slow(rnncore.optimizers.SGD):
        pass

    opt = rnncore.optimizers.deserialize(saving.serialize_keras_object(Slow(0.5)),
                                         custom_objects={"Slow": Slow})
    assert type(opt) is Slow and opt.get_config()["learning_rate"] == pytest.approx(0.5)


# ---- the format, against Keras --------------------------------------------------------------
PAIRS = [
    ("Dense", lambda lib: lib.layers.Dense(3, activation="tanh", name="d")),
    ("LSTM", lambda lib: lib.layers.LSTM(4, return_sequences=True, name="l")),
    ("Adam", lambda lib: lib.optimizers.Adam(learning_rate=0.01)),
    ("MeanSquaredError", lambda lib: lib.losses.MeanSquaredError()),
    ("BinaryCrossentropy", lambda lib: lib.losses.BinaryCrossentropy(from_logits=True)),
    ("Mean", lambda lib: lib.metrics.Mean(name="m")),
    ("mean_squared_error", lambda lib: lib.losses.mean_squared_error),
]


@pytest.mark.parametrize("name, make", PAIRS, ids=[p[0] for p in PAIRS])
def test_serialized_dict_has_keras_form(keras, name, make):
    ours = saving.serialize_keras_object(make(rnncore))
    theirs = keras.saving.serialize_keras_object(make(keras))
    assert sorted(ours) == sorted(theirs)
    for key in ("module", "class_name", "registered_name"):
        assert ours[key] == theirs[key], key
    if isinstance(theirs["config"], dict):
        shared = set(ours["config"]) & set(theirs["config"])
        assert "name" in shared
        # optimizer names are numbered per session in both libraries (adam, adam_1, ...)
        skip = {"dtype", "kernel_initializer", "recurrent_initializer", "bias_initializer"} | (
            {"name"} if name == "Adam" else set())
        for key in shared - skip:
            assert ours["config"][key] == pytest.approx(theirs["config"][key]), key
    else:
        assert ours["config"] == theirs["config"]


@pytest.mark.parametrize("name, make", PAIRS, ids=[p[0] for p in PAIRS])
def test_dicts_written_by_keras_read_back(keras, name, make):
    theirs = json.loads(json.dumps(keras.saving.serialize_keras_object(make(keras))))
    ours = saving.deserialize_keras_object(theirs)
    expected = make(rnncore)
    if callable(expected) and not hasattr(expected, "get_config"):
        assert ours is expected
    else:
        assert type(ours) is type(expected)
        unnamed = {k: v for k, v in expected.get_config().items() if k != "name"}
        assert {k: v for k, v in ours.get_config().items() if k != "name"} == unnamed
        assert ours.name == theirs["config"]["name"]


def test_dicts_written_by_rnncore_read_back_in_keras(keras):
    for name, make in PAIRS[2:]:  # optimizers, losses, metrics, functions: the same configs
        theirs = keras.saving.deserialize_keras_object(
            json.loads(json.dumps(saving.serialize_keras_object(make(rnncore)))))
        assert type(theirs).__name__ == type(make(keras)).__name__, name


@pytest.mark.parametrize("module", ["saving", "utils"])
def test_keras_names_are_where_keras_has_them(keras, module):
    names = ["CustomObjectScope", "custom_object_scope", "serialize_keras_object",
             "deserialize_keras_object", "get_custom_objects", "get_registered_name",
             "get_registered_object", "register_keras_serializable"]
    for name in names:
        assert hasattr(getattr(keras, module), name), name
        assert getattr(getattr(rnncore, module), name) is getattr(saving, name), name
