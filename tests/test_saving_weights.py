"""``save_weights``/``load_weights`` in Keras 3's ``.weights.h5`` (issue 14): Keras's file-name
rules, both directions against Keras, and the other files load_weights reads."""
import numpy as np
import pytest

import rnncore


def _model(lib):
    L = lib.layers
    return lib.Sequential([L.Input((6,), dtype="int32"), L.Embedding(20, 4),
                           L.Bidirectional(L.LSTM(3, return_sequences=True)), L.GRU(2),
                           L.Dense(1, activation="sigmoid")])


@pytest.fixture
def x(rng):
    return rng.integers(0, 20, (8, 6))


def test_keras_weights_load_into_rnncore(keras, tmp_path, x):
    k_model = _model(keras)
    k_model.save_weights(tmp_path / "k.weights.h5")
    r_model = _model(rnncore)
    r_model.load_weights(tmp_path / "k.weights.h5")
    np.testing.assert_allclose(r_model.predict(x, verbose=0),
                               np.asarray(k_model.predict(x, verbose=0)), atol=1e-5)


def test_rnncore_weights_load_into_keras(keras, tmp_path, x):
    r_model = _model(rnncore)
    r_model.save_weights(tmp_path / "r.weights.h5")
    k_model = _model(keras)
    k_model.load_weights(tmp_path / "r.weights.h5")
    np.testing.assert_allclose(np.asarray(k_model.predict(x, verbose=0)),
                               r_model.predict(x, verbose=0), atol=1e-5)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_load_weights_reads_a_whole_model_file(tmp_path, x, suffix):
    # as Keras's load_weights: a .keras archive or a legacy .h5 gives its weights
    model = _model(rnncore)
    model.save(tmp_path / f"m{suffix}")
    other = _model(rnncore)
    other.load_weights(tmp_path / f"m{suffix}")
    np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("name", ["w.h5", "w.keras", "w.weights", "w.npz"])
def test_save_weights_wants_the_weights_h5_suffix(tmp_path, name):
    with pytest.raises(ValueError, match=r"must end in `\.weights\.h5`.*Received: filepath="):
        _model(rnncore).save_weights(tmp_path / name)
    assert not (tmp_path / name).exists()


def test_save_weights_names_model_save_for_a_model_file_name(tmp_path):
    with pytest.raises(ValueError, match=r"use model\.save"):
        _model(rnncore).save_weights(tmp_path / "best-lstm-model.h5")


def test_load_weights_into_another_architecture_names_the_layer(tmp_path):
    _model(rnncore).save_weights(tmp_path / "w.weights.h5")
    L = rnncore.layers
    other = rnncore.Sequential([L.Input((6,), dtype="int32"), L.Embedding(20, 4),
                                L.Bidirectional(L.LSTM(5, return_sequences=True)), L.GRU(2),
                                L.Dense(1, activation="sigmoid")])
    with pytest.raises(ValueError, match=r"w\.weights\.h5.*layer 'lstm_cell'.*layers/"
                                         r"bidirectional/backward_layer/cell/vars/0.* has "
                                         r"shape \(4, 12\), the model expects \(4, 20\)"):
        other.load_weights(tmp_path / "w.weights.h5")


def test_load_weights_skip_mismatch_keeps_the_mismatched_layer(tmp_path, x):
    model = _model(rnncore)
    model.save_weights(tmp_path / "w.weights.h5")
    L = rnncore.layers
    other = rnncore.Sequential([L.Input((6,), dtype="int32"), L.Embedding(20, 4),
                                L.Bidirectional(L.LSTM(3, return_sequences=True)), L.GRU(2),
                                L.Dense(2, activation="sigmoid")])
    dense_before = [w.copy() for w in other.layers[-1].get_weights()]
    with pytest.warns(UserWarning, match="dense"):
        other.load_weights(tmp_path / "w.weights.h5", skip_mismatch=True)
    np.testing.assert_array_equal(other.layers[1].get_weights()[0],
                                  model.layers[1].get_weights()[0])
    for a, b in zip(other.layers[-1].get_weights(), dense_before):
        np.testing.assert_array_equal(a, b)


def test_load_weights_of_an_unknown_file_says_what_it_reads(tmp_path):
    path = tmp_path / "w.weights.h5"
    path.write_text("not weights")
    with pytest.raises(ValueError, match=r"File format not supported.*\.weights\.h5"):
        _model(rnncore).load_weights(path)


@pytest.mark.parametrize("name, kwargs, match", [
    ("ckpt", {}, r"must end in `\.keras` .* or `\.h5`.*Received: filepath=ckpt"),
    ("w.h5", {"save_weights_only": True}, r"must end in `\.weights\.h5`.*filepath=w\.h5"),
])
def test_model_checkpoint_checks_keras_file_names_when_made(keras, name, kwargs, match):
    # as Keras's: at construction, not after the first epoch has trained
    with pytest.raises(ValueError, match=match):
        rnncore.callbacks.ModelCheckpoint(name, **kwargs)
    with pytest.raises(ValueError, match=r"must end in"):
        keras.callbacks.ModelCheckpoint(name, **kwargs)


def test_keras_2_save_arguments_get_keras_3_answers(tmp_path):
    model = _model(rnncore)
    model.save(tmp_path / "m.h5", save_format="h5")  # the name chooses: accepted, as Keras
    assert rnncore.models.load_model(tmp_path / "m.h5")
    with pytest.raises(ValueError, match=r"`save_format` argument is deprecated.*save_format=tf"):
        model.save(tmp_path / "saved_model", save_format="tf")
    with pytest.raises(ValueError, match=r"not supported: \['signatures'\]"):
        model.save(tmp_path / "m.keras", signatures=None)
    with pytest.raises(ValueError, match="sharded weights"):
        model.save_weights(tmp_path / "m.weights.json", max_shard_size=1)
    (tmp_path / "s.weights.json").write_text("{}")
    with pytest.raises(ValueError, match="sharded Keras weights"):
        model.load_weights(tmp_path / "s.weights.json")


def test_load_model_of_a_weights_file_says_to_use_load_weights(tmp_path):
    _model(rnncore).save_weights(tmp_path / "m.weights.h5")
    with pytest.raises(ValueError, match=r"m\.weights\.h5.*holds only weights; build the "
                                         r"model and call model\.load_weights"):
        rnncore.models.load_model(tmp_path / "m.weights.h5")


def _custom(lib):
    """A custom layer holding a layer and a list of layers, and a subclassed model (issue 15),
    written alike for both engines."""
    L = lib.layers

    class Block(L.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.inner = L.Dense(units)
            self.parts = [L.Dense(units), L.Dense(units)]

        def build(self, input_shape):
            self.scale = self.add_weight(shape=(self.units,), name="scale",
                                         initializer="random_normal")

        def call(self, x):
            return self.parts[1](self.parts[0](self.inner(x))) * self.scale

    class Tower(lib.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.embed = L.Embedding(20, 4)
            self.lstm = L.LSTM(5)
            self.block = Block(3)
            self.out = L.Dense(1)

        def call(self, x):
            return self.out(self.block(self.lstm(self.embed(x))))

    return Block, Tower


@pytest.mark.parametrize("kind", ["subclassed-model", "custom-layer"])
@pytest.mark.parametrize("direction", ["rnncore-to-keras", "keras-to-rnncore"])
def test_custom_layers_and_subclassed_models_share_keras_weight_paths(keras, rng, tmp_path,
                                                                      kind, direction):
    # Keras names a user class's children by attribute (sorted, private last), a subclassed
    # model's other layers under layers/; rnncore writes and reads the same paths
    source, target = (rnncore, keras) if direction == "rnncore-to-keras" else (keras, rnncore)
    models = []
    for lib in (source, target):
        block, tower = _custom(lib)
        models.append(tower() if kind == "subclassed-model" else lib.Sequential(
            [lib.layers.Input((4,)), block(3), lib.layers.Dense(1)]))
    x = rng.integers(0, 20, (8, 6)) if kind == "subclassed-model" else \
        rng.standard_normal((8, 4)).astype("float32")
    src, dst = models
    src(x[:1])
    dst(x[:1])
    assert not np.allclose(np.asarray(dst.predict(x, verbose=0)), src.predict(x, verbose=0))
    src.save_weights(tmp_path / "c.weights.h5")
    dst.load_weights(tmp_path / "c.weights.h5")
    np.testing.assert_allclose(np.asarray(dst.predict(x, verbose=0)),
                               np.asarray(src.predict(x, verbose=0)), atol=1e-5)
