"""Subclassed models and custom layers in ``.keras`` files (issue 15): ``model.save`` writes
the class by its registered name, its config (the class's ``get_config`` or Keras's automatic
one), its build and compile settings and its weights under Keras's paths; ``load_model``
rebuilds it from the class the program registers or passes as ``custom_objects``. Files go
rnncore -> rnncore, rnncore -> Keras and Keras -> rnncore, for the same class source written
once for both engines."""
import json
import zipfile

import numpy as np
import pytest

import rnncore


def _classes(lib, register=False, own_config=True):
    """A custom layer holding a layer, a list of layers and a weight of its own, and a
    subclassed model holding it with built-in Embedding, LSTM and Dense layers."""
    L = lib.layers

    class Block(L.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.inner = L.Dense(units, activation="tanh")
            self.parts = [L.Dense(units), L.Dense(units)]

        def build(self, input_shape):
            self.scale = self.add_weight(shape=(self.units,), name="scale",
                                         initializer="random_normal")

        def call(self, x):
            return self.parts[1](self.parts[0](self.inner(x))) * self.scale

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    class Tower(lib.Model):
        def __init__(self, vocab=20, units=5, **kwargs):
            super().__init__(**kwargs)
            self.vocab, self.units = vocab, units
            self.embed = L.Embedding(vocab, 4)
            self.lstm = L.LSTM(units)
            self.block = Block(3)
            self.out = L.Dense(1)

        def call(self, x):
            return self.out(self.block(self.lstm(self.embed(x))))

        if own_config:
            def get_config(self):
                return {**super().get_config(), "vocab": self.vocab, "units": self.units}

    if register:
        Block = lib.saving.register_keras_serializable(package="tests")(Block)
        Tower = lib.saving.register_keras_serializable(package="tests")(Tower)
    return Block, Tower


def _data(rng, n=16):
    return rng.integers(0, 20, (n, 6)), rng.standard_normal((n, 1)).astype("float32")


def _trained(lib, tower, rng, **kwargs):
    model = tower(**kwargs)
    x, y = _data(rng)
    model.compile(lib.optimizers.Adam(1e-2), "mse", metrics=["mae"])
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    return model, x, y


def _config(path):
    with zipfile.ZipFile(path) as zf:
        return json.loads(zf.read("config.json"))


def _load(lib, path, tower, how):
    if how == "registered":
        return lib.models.load_model(path)
    return lib.models.load_model(path, custom_objects={"Tower": tower})


DIRECTIONS = ["rnncore-to-rnncore", "rnncore-to-keras", "keras-to-rnncore"]


@pytest.mark.parametrize("own_config", [True, False], ids=["get_config", "auto-config"])
@pytest.mark.parametrize("how", ["registered", "custom_objects"])
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_a_subclassed_model_round_trips_and_trains_on(request, rng, tmp_path, direction, how,
                                                      own_config):
    source, target = [rnncore if name == "rnncore" else request.getfixturevalue("keras")
                      for name in direction.split("-to-")]
    register = how == "registered"
    _, src_tower = _classes(source, register, own_config)
    _, dst_tower = _classes(target, register, own_config)
    model, x, y = _trained(source, src_tower, rng)
    path = tmp_path / "tower.keras"
    model.save(path)

    config = _config(path)
    assert config["class_name"] == "Tower"
    assert config["registered_name"] == ("tests>Tower" if register else "Tower")
    assert {"vocab": 20, "units": 5}.items() <= config["config"].items()

    loaded = _load(target, path, dst_tower, how)
    assert type(loaded) is dst_tower
    np.testing.assert_allclose(np.asarray(loaded.predict(x, verbose=0)),
                               np.asarray(model.predict(x, verbose=0)), atol=1e-5)
    # compiled as saved, the optimizer's state restored: training goes on as in the source
    assert int(np.asarray(loaded.optimizer.iterations)) == 2
    saved = [float(np.asarray(model.train_on_batch(x, y))[0]) for _ in range(3)]
    reloaded = [float(np.asarray(loaded.train_on_batch(x, y))[0]) for _ in range(3)]
    np.testing.assert_allclose(reloaded, saved, rtol=1e-4)


@pytest.mark.parametrize("target", ["rnncore", "keras"])
def test_the_automatic_config_keeps_the_arguments_given(request, rng, tmp_path, target):
    # Keras 3.15 writes a Model subclass's __init__ defaults here; rnncore writes the
    # arguments it was made with, so the file rebuilds the model that was saved
    target = rnncore if target == "rnncore" else request.getfixturevalue("keras")
    _, tower = _classes(rnncore, own_config=False)
    model = tower(vocab=30, units=7, name="big_tower")
    x = rng.integers(0, 30, (8, 6))
    model(x[:1])
    model.save(tmp_path / "t.keras")
    assert _config(tmp_path / "t.keras")["config"] == {
        "name": "big_tower", "vocab": 30, "units": 7, "trainable": True,
        "dtype": {"module": "keras", "class_name": "DTypePolicy",
                  "config": {"name": "float32"}, "registered_name": None}}
    _, their_tower = _classes(target, own_config=False)
    loaded = target.models.load_model(tmp_path / "t.keras",
                                      custom_objects={"Tower": their_tower})
    assert loaded.name == "big_tower"
    np.testing.assert_allclose(np.asarray(loaded.predict(x, verbose=0)),
                               model.predict(x, verbose=0), atol=1e-5)


def test_a_model_built_with_build_saves_its_input_shape(rng, tmp_path):
    _, tower = _classes(rnncore)
    model = tower()
    model.build((None, 6))
    model.save(tmp_path / "t.keras")
    assert _config(tmp_path / "t.keras")["build_config"] == {"input_shape": [None, 6]}
    loaded = rnncore.models.load_model(tmp_path / "t.keras", custom_objects={"Tower": tower})
    x, _ = _data(rng)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-6)


# ---- custom layers in Sequential and functional models ---------------------------------------
def _scaled(lib, own_config):
    class Scaled(lib.layers.Layer):
        """A custom layer with a weight of its own; without get_config it relies on Keras's
        automatic config."""

        def __init__(self, units, init="ones", **kwargs):
            super().__init__(**kwargs)
            self.units, self.init = units, init

        def build(self, input_shape):
            self.scale = self.add_weight(shape=(self.units,), name="scale",
                                         initializer=self.init)

        def call(self, x):
            return x * self.scale

        if own_config:
            def get_config(self):
                return {**super().get_config(), "units": self.units, "init": self.init}

    return lib.saving.register_keras_serializable(package="tests")(Scaled)


def _with_custom_layers(lib, kind, own_config):
    L = lib.layers
    block, _ = _classes(lib, register=True)
    scaled = _scaled(lib, own_config)
    if kind == "sequential":
        return lib.Sequential([L.Input((6,), dtype="int32"), L.Embedding(20, 4), L.LSTM(3),
                               block(3), scaled(3, init="random_normal"), L.Dense(1)])
    i = L.Input((6,), dtype="int32")
    h = L.LSTM(3)(L.Embedding(20, 4)(i))
    return lib.Model(i, L.Dense(1)(L.Concatenate()([block(3)(h), scaled(3, "random_normal")(h)])))


@pytest.mark.parametrize("own_config", [True, False], ids=["get_config", "auto-config"])
@pytest.mark.parametrize("kind", ["sequential", "functional"])
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_registered_custom_layers_round_trip(request, rng, tmp_path, direction, kind,
                                             own_config):
    source, target = [rnncore if name == "rnncore" else request.getfixturevalue("keras")
                      for name in direction.split("-to-")]
    model = _with_custom_layers(source, kind, own_config)
    _with_custom_layers(target, kind, own_config)  # the target program registers its classes
    x, y = _data(rng)
    model.compile(source.optimizers.Adam(1e-2), "mse")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    entries = _config(tmp_path / "m.keras")["config"]["layers"]
    assert {e["registered_name"] for e in entries if e["class_name"] in ("Block", "Scaled")} \
        == {"tests>Block", "tests>Scaled"}
    loaded = target.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(np.asarray(loaded.predict(x, verbose=0)),
                               np.asarray(model.predict(x, verbose=0)), atol=1e-5)
    saved = [float(np.asarray(model.train_on_batch(x, y))) for _ in range(2)]
    reloaded = [float(np.asarray(loaded.train_on_batch(x, y))) for _ in range(2)]
    np.testing.assert_allclose(reloaded, saved, rtol=1e-4)


# ---- errors -----------------------------------------------------------------------------------
def test_saving_a_model_whose_config_cannot_be_made_says_to_write_get_config(tmp_path):
    class Wrapper(rnncore.Model):
        def __init__(self, inner, **kwargs):  # a layer is not a plain value
            super().__init__(**kwargs)
            self.inner = inner

        def call(self, x):
            return self.inner(x)

    model = Wrapper(rnncore.layers.Dense(2))
    model(np.zeros((1, 3), "float32"))
    with pytest.raises(NotImplementedError, match=r"Object Wrapper was created by passing "
                                                  r"non-serializable argument values .*"
                                                  r"Please implement `get_config\(\)`"):
        model.save(tmp_path / "w.keras")
    assert not (tmp_path / "w.keras").exists()
    model.save_weights(tmp_path / "w.weights.h5")  # the weights alone need no config


def test_variadic_arguments_are_refused_by_the_automatic_config():
    class Stack(rnncore.Model):
        def __init__(self, *units):
            super().__init__()
            self.layers_ = [rnncore.layers.Dense(u) for u in units]

        def call(self, x):
            for layer in self.layers_:
                x = layer(x)
            return x

    with pytest.raises(NotImplementedError, match=r"Object Stack was created by passing "
                                                  r"positional only or variadic"):
        Stack(3, 2).get_config()


def test_a_subclassed_model_goes_to_keras_format_not_legacy_h5(tmp_path):
    _, tower = _classes(rnncore)
    model = tower()
    model.build((None, 6))
    with pytest.raises(ValueError, match=r"subclassed Tower: rnncore writes subclassed models "
                                         r"to the \.keras format"):
        model.save(tmp_path / "t.h5")


@pytest.mark.parametrize("registered", [False, True])
def test_loading_an_unknown_class_names_it_and_says_how_to_give_it(rng, tmp_path, registered):
    _, tower = _classes(rnncore, register=registered)
    model = tower()
    model.build((None, 6))
    model.save(tmp_path / "t.keras")
    rnncore.saving.get_custom_objects().pop("tests>Tower", None)  # another program's class
    shown = "tests>Tower" if registered else "Tower"
    with pytest.raises(ValueError, match=rf"t\.keras.*class '{shown}'.*custom_objects="
                                         r"\{'Tower': Tower\}.*register_keras_serializable"):
        rnncore.models.load_model(tmp_path / "t.keras")


def test_a_custom_layer_of_an_unknown_class_names_it(tmp_path):
    model = _with_custom_layers(rnncore, "sequential", True)
    model.save(tmp_path / "m.keras")
    rnncore.saving.get_custom_objects().pop("tests>Scaled")
    with pytest.raises(ValueError, match=r"class 'tests>Scaled' registered by user code.*"
                                         r"custom_objects=\{'Scaled': Scaled\}"):
        rnncore.models.load_model(tmp_path / "m.keras")


def test_a_class_whose_structure_differs_from_the_file_is_refused(rng, tmp_path):
    _, tower = _classes(rnncore)
    model = tower()
    model.build((None, 6))
    model.save(tmp_path / "t.keras")

    class Tower(rnncore.Model):  # the same name, other layers
        def __init__(self, vocab=20, units=5, **kwargs):
            super().__init__(**kwargs)
            self.embed = rnncore.layers.Embedding(vocab, 4)
            self.gru = rnncore.layers.GRU(units)
            self.out = rnncore.layers.Dense(1)

        def call(self, x):
            return self.out(self.gru(self.embed(x)))

    with pytest.raises(ValueError, match=r"t\.keras.*no weights for layer 'gru_cell' \(group "
                                         r"'gru/cell/vars'\).*another architecture"):
        rnncore.models.load_model(tmp_path / "t.keras", custom_objects={"Tower": Tower})


def test_a_config_missing_an_argument_is_a_clear_error(tmp_path):
    class Head(rnncore.Model):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.dense = rnncore.layers.Dense(units)

        def call(self, x):
            return self.dense(x)

        def get_config(self):  # forgets units
            return super().get_config()

    model = Head(2)
    model(np.zeros((1, 3), "float32"))
    model.save(tmp_path / "h.keras")
    with pytest.raises(ValueError, match=r"h\.keras.*Head'> could not be rebuilt from its "
                                         r"config.*must return every argument __init__ takes"):
        rnncore.models.load_model(tmp_path / "h.keras", custom_objects={"Head": Head})


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_rnn_over_a_custom_cell_round_trips(request, tmp_path, direction):
    # RNN(cell) over a user's cell is written as Keras's RNN, its weights under rnn/cell
    from _custom_programs import PROGRAMS, _minimal_gru_cell

    source, target = [rnncore if name == "rnncore" else request.getfixturevalue("keras")
                      for name in direction.split("-to-")]
    model, x, y, loss = PROGRAMS["minimal_gru_cell"](source, source.ops)
    model.compile(source.optimizers.Adam(1e-2), loss)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    model.save(tmp_path / "c.keras")
    assert [e["class_name"] for e in _config(tmp_path / "c.keras")["config"]["layers"]] == \
        ["InputLayer", "RNN", "Dense"]
    loaded = target.models.load_model(tmp_path / "c.keras", custom_objects={
        "MinimalGRUCell": _minimal_gru_cell(target, target.ops)})
    np.testing.assert_allclose(np.asarray(loaded.predict(x, verbose=0)),
                               np.asarray(model.predict(x, verbose=0)), atol=1e-5)


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_rnn_over_a_list_with_a_custom_cell_round_trips(request, tmp_path, direction):
    # a list of cells, a user's among built-in ones, is written as Keras's StackedRNNCells
    from _custom_programs import PROGRAMS, _minimal_gru_cell

    source, target = [rnncore if name == "rnncore" else request.getfixturevalue("keras")
                      for name in direction.split("-to-")]
    model, x, _, _ = PROGRAMS["stacked_cells"](source, source.ops)
    model.save(tmp_path / "s.keras")
    rnn = _config(tmp_path / "s.keras")["config"]["layers"][1]
    assert (rnn["class_name"], rnn["config"]["cell"]["class_name"]) == ("RNN", "StackedRNNCells")
    loaded = target.models.load_model(tmp_path / "s.keras", custom_objects={
        "MinimalGRUCell": _minimal_gru_cell(target, target.ops)})
    np.testing.assert_allclose(np.asarray(loaded.predict(x, verbose=0)),
                               np.asarray(model.predict(x, verbose=0)), atol=1e-5)
