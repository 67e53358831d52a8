"""StringLookup and IntegerLookup against Keras 3: indices, OOV hashing, masks, output modes,
adapt, invert, vocabulary files, configs, errors, and models that start with them (fit,
save and load both ways)."""
import numpy as np
import pytest

import rnncore
from rnncore import layers

from _parity import rel_err

WORDS = np.array([["a", "b", "zz", "c"], ["c", "", "yy", "b"], ["xx", "a", "qq", "ww"]])
INTS = np.array([[10, 20, 7, 0], [8, 30, 5, -3], [30, 11, 12, 10]])
CORPUS = np.array(["a", "b", "b", "c", "c", "c", "d", "e", "e", "ü", "ü"])


def _plain(y):
    """A Keras output as NumPy: byte strings decoded."""
    y = np.asarray(y)
    if y.dtype.kind in "SO":
        return np.vectorize(lambda v: v.decode() if isinstance(v, bytes) else v,
                            otypes=[object])(y)
    return y


def _vocabulary(layer):
    return [v.decode() if isinstance(v, bytes) else
            (int(v) if isinstance(v, (int, np.integer)) else str(v))
            for v in layer.get_vocabulary()]


def _assert_same(keras, name, kwargs, x, adapt=None):
    k_layer, r_layer = getattr(keras.layers, name)(**kwargs), getattr(layers, name)(**kwargs)
    if adapt is not None:
        k_layer.adapt(adapt)
        r_layer.adapt(adapt)
    assert _vocabulary(r_layer) == _vocabulary(k_layer)
    assert r_layer.vocabulary_size() == k_layer.vocabulary_size()
    ky, ry = _plain(k_layer(x)), r_layer(x)
    assert ry.shape == ky.shape
    if kwargs.get("output_mode", "int") != "int":
        assert ry.dtype == np.float32  # Keras's model spec (its eager bags are int64)
        np.testing.assert_allclose(ry, ky, rtol=1e-6)
    else:
        assert ry.dtype == ky.dtype
        np.testing.assert_array_equal(ry, ky)
    return r_layer


STRING_CASES = [
    {"vocabulary": ["a", "b", "c"]},
    {"vocabulary": ["a", "b", "c"], "mask_token": "", "num_oov_indices": 3},
    {"vocabulary": ["a", "b", "c"], "num_oov_indices": 4, "salt": 7},
    {"vocabulary": ["[UNK]", "a", "b", "c"]},
    {"vocabulary": ["a", "b", "c"], "output_mode": "multi_hot", "mask_token": ""},
    {"vocabulary": ["a", "b", "c"], "output_mode": "count", "pad_to_max_tokens": True,
     "max_tokens": 7},
    {"vocabulary": ["a", "b"], "output_mode": "tf_idf", "idf_weights": [0.5, 2.0]},
    {"vocabulary": ["a", "b", "c"], "num_oov_indices": 0, "mask_token": "q"},
]


@pytest.mark.parametrize("kwargs", STRING_CASES)
def test_string_lookup_matches_keras(keras, kwargs):
    x = WORDS if kwargs.get("num_oov_indices") != 0 else np.array([["a", "q"], ["c", "b"]])
    _assert_same(keras, "StringLookup", kwargs, x)


def test_string_lookup_one_hot_and_lists_match_keras(keras):
    _assert_same(keras, "StringLookup", {"vocabulary": ["a", "b"], "output_mode": "one_hot"},
                 WORDS[:, :1])
    _assert_same(keras, "StringLookup", {"vocabulary": ["a", "b"]}, ["b", "a", "x"])
    _assert_same(keras, "StringLookup", {"vocabulary": ["a", "b"]},
                 np.array([[b"a", b"b"]], dtype=object))


@pytest.mark.parametrize("kwargs", [
    {"max_tokens": 4}, {}, {"mask_token": "", "num_oov_indices": 2},
    {"output_mode": "tf_idf", "num_oov_indices": 2},
    {"output_mode": "count", "max_tokens": 5, "pad_to_max_tokens": True}])
def test_string_lookup_adapt_matches_keras(keras, kwargs):
    data = CORPUS if kwargs.get("output_mode") != "tf_idf" else \
        np.array([["a", "b", "b"], ["c", "c", "e"], ["a", "q", "e"]])
    layer = _assert_same(keras, "StringLookup", kwargs, WORDS, adapt=data)
    if kwargs.get("output_mode") == "tf_idf":
        k_layer = keras.layers.StringLookup(**kwargs)
        k_layer.adapt(data)
        np.testing.assert_allclose(layer.idf_weights, k_layer.idf_weights.numpy(), rtol=1e-6)


def test_adapt_from_batches_and_a_tf_dataset_as_keras(keras, tf):
    batches = [CORPUS[:5], CORPUS[5:]]
    k_layer, r_layer = keras.layers.StringLookup(), layers.StringLookup()
    k_layer.adapt(tf.data.Dataset.from_tensor_slices(CORPUS).batch(5))
    r_layer.adapt(iter(batches))
    assert _vocabulary(r_layer) == _vocabulary(k_layer)
    r_layer.adapt(tf.data.Dataset.from_tensor_slices(CORPUS).batch(5).as_numpy_iterator())
    assert _vocabulary(r_layer) == _vocabulary(k_layer)


INT_CASES = [
    {"vocabulary": [10, 20, 30]},
    {"vocabulary": [10, 20, 30], "num_oov_indices": 3, "mask_token": 0},
    {"vocabulary": [10, 20, 30], "num_oov_indices": 3, "oov_method": "farmhash"},
    {"vocabulary": [10, 20, 30], "num_oov_indices": 3, "oov_method": "farmhash",
     "salt": [3, 4]},
    {"vocabulary": [10, 20, 30], "output_mode": "multi_hot"},
    {"vocabulary": [10, 20, 30], "output_mode": "count", "mask_token": 0},
]


@pytest.mark.parametrize("kwargs", INT_CASES)
def test_integer_lookup_matches_keras(keras, kwargs):
    _assert_same(keras, "IntegerLookup", kwargs, INTS)


def test_integer_lookup_adapt_matches_keras(keras):
    _assert_same(keras, "IntegerLookup", {"max_tokens": 4}, INTS,
                 adapt=np.array([5, 5, 6, 6, 7, 7, 7, 12, 10, 10]))


@pytest.mark.parametrize("name, vocabulary, ids", [
    ("StringLookup", ["a", "b", "c"], np.array([[0, 1, 2, 3, 4, 9]])),
    ("IntegerLookup", [10, 20, 30], np.array([[0, 1, 2, 3, 4, 9]]))])
@pytest.mark.parametrize("mask", [False, True])
def test_invert_matches_keras(keras, name, vocabulary, ids, mask):
    kwargs = {"vocabulary": vocabulary, "invert": True}
    if mask:
        kwargs["mask_token"] = "" if name == "StringLookup" else 0
    k_out = _plain(getattr(keras.layers, name)(**kwargs)(ids))
    r_out = getattr(layers, name)(**kwargs)(ids)
    assert r_out.tolist() == k_out.tolist()


def test_vocabulary_from_a_file_and_set_vocabulary(keras, tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("a\nb\nc\n", encoding="utf-8")
    _assert_same(keras, "StringLookup", {"vocabulary": str(path)}, WORDS)
    layer = layers.StringLookup()
    layer.set_vocabulary(["[UNK]", "x", "y"])
    assert layer.get_vocabulary() == ["[UNK]", "x", "y"]
    assert layer.get_vocabulary(include_special_tokens=False) == ["x", "y"]


def _config_of(lib, name, vocabulary_path, setup):
    layer = getattr(lib.layers, name)(**setup.get("kwargs", {}))
    if "file" in setup:
        layer = getattr(lib.layers, name)(vocabulary=vocabulary_path)
    if "adapt" in setup:
        layer.adapt(setup["adapt"])
    if "set" in setup:
        layer.set_vocabulary(setup["set"])
    return layer.get_config()


@pytest.mark.parametrize("name, setup", [
    ("StringLookup", {"kwargs": {"vocabulary": ["a", "b"]}}),
    ("StringLookup", {"kwargs": {"vocabulary": np.array(["a", "b"])}}),
    ("StringLookup", {"kwargs": {"vocabulary": ["", "[UNK]", "a"], "mask_token": ""}}),
    ("StringLookup", {"kwargs": {"vocabulary": ["a", "b"], "idf_weights": [1.0, 2.0],
                                 "output_mode": "tf_idf"}}),
    ("StringLookup", {"kwargs": {"vocabulary": ["a", "b"]}, "set": ["c"]}),
    ("StringLookup", {"file": True}),
    ("StringLookup", {"adapt": CORPUS}),
    ("StringLookup", {"set": ["x", "y"]}),
    ("IntegerLookup", {"kwargs": {"vocabulary": [3, 4]}}),
    ("IntegerLookup", {"kwargs": {"vocabulary": np.array([3, 4])}}),
    ("IntegerLookup", {"adapt": INTS}),
])
def test_config_vocabulary_is_what_keras_writes(keras, tmp_path, name, setup):
    """Keras's config holds the vocabulary as the constructor was given it (no special tokens
    added) and None for a vocabulary file or an adapted or set one (string_lookup_test's
    test_config and test_vocabulary_file)."""
    path = tmp_path / "vocab.txt"
    path.write_text("a\nb\nc\n", encoding="utf-8")
    r_config = _config_of(rnncore, name, str(path), setup)
    k_config = _config_of(keras, name, str(path), setup)
    for key in ("vocabulary", "idf_weights", "vocabulary_size"):
        assert r_config[key] == k_config[key], key


@pytest.mark.parametrize("writer", ["keras", "rnncore"])
def test_a_vocabulary_file_saves_and_loads_both_ways(keras, tf, tmp_path, writer):
    """A vocabulary read from a file is kept in the .keras file's assets, as Keras does."""
    libs = {"keras": keras, "rnncore": rnncore}
    vocabulary = tmp_path / "vocab.txt"
    vocabulary.write_text("a\nb\nc\n", encoding="utf-8")
    lib = libs[writer]
    inp = lib.Input((4,), dtype="string")
    model = lib.Model(inp, lib.layers.StringLookup(vocabulary=str(vocabulary))(inp))
    path = tmp_path / "m.keras"
    model.save(path)
    vocabulary.unlink()
    loaded = libs["rnncore" if writer == "keras" else "keras"].models.load_model(path)
    assert _vocabulary(loaded.layers[1]) == ["[UNK]", "a", "b", "c"]
    assert loaded.layers[1].get_config()["vocabulary"] is None
    strings = np.array([["a", "c", "", "zz"], ["e", "ü", "b", ""]], dtype=object)
    keras_model, ours = (model, loaded) if writer == "keras" else (loaded, model)
    np.testing.assert_array_equal(ours.predict(strings, verbose=0),
                                  keras_model.predict(tf.constant(strings.astype(str)),
                                                      verbose=0))


def test_adapted_tf_idf_lookup_keeps_its_weights_through_rnncore_files(tmp_path):
    """rnncore writes no idf weights file entry, so an adapted tf_idf layer's config keeps
    its vocabulary and weights (a layer given them keeps Keras's config)."""
    layer = layers.StringLookup(output_mode="tf_idf")
    layer.adapt(CORPUS)
    inp = rnncore.Input((4,), dtype="string")
    model = rnncore.Model(inp, layer(inp))
    model.save(tmp_path / "m.keras")
    loaded = rnncore.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(WORDS, verbose=0), layer(WORDS))


@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count"])
@pytest.mark.parametrize("name", ["StringLookup", "IntegerLookup", "Hashing"])
def test_rank_3_inputs_encode_as_keras(keras, name, mode):
    """Keras's TensorFlow backend takes rank-3 inputs in the non-int modes too (bags over
    axis 1, as for CategoryEncoding) rather than refusing them."""
    x = WORDS.reshape(3, 2, 2) if name == "StringLookup" else INTS.reshape(3, 2, 2) % 5
    kwargs = {"num_bins": 4} if name == "Hashing" else \
        {"vocabulary": ["a", "b", "c"] if name == "StringLookup" else [1, 2, 3]}
    kwargs["output_mode"] = mode
    k_out = _plain(getattr(keras.layers, name)(**kwargs)(x))
    r_out = getattr(layers, name)(**kwargs)(x)
    assert r_out.shape == k_out.shape
    np.testing.assert_array_equal(r_out, k_out)


@pytest.mark.parametrize("kwargs, text", [
    ({"max_tokens": 1}, "max_tokens=1"),
    ({"num_oov_indices": -1}, "num_oov_indices=-1"),
    ({"output_mode": "bad"}, "output_mode='bad'"),
    ({"invert": True, "output_mode": "count"}, "`output_mode` must be `'int'` when `invert`"),
    ({"sparse": True, "output_mode": "count"}, "sparse=True"),
    ({"pad_to_max_tokens": True}, "must set `max_tokens`"),
    ({"idf_weights": [1.0]}, "`idf_weights` should only be set"),
    ({"vocabulary": ["a", "a"]}, "repeated term"),
    ({"vocabulary": ["a", ""], "mask_token": ""}, "Found reserved mask token"),
    ({"vocabulary": ["a", "b"], "max_tokens": 2}, "larger than the maximum vocab size"),
    ({"vocabulary": "/no/such/file.txt"}, "/no/such/file.txt"),
])
def test_bad_arguments_are_value_errors_naming_them(kwargs, text):
    with pytest.raises(ValueError) as info:
        layers.StringLookup(**kwargs)
    assert text in str(info.value)


def test_bad_inputs_and_adapting_a_given_vocabulary_are_clear_errors():
    with pytest.raises(ValueError, match="must be strings, got an array of dtype float"):
        layers.StringLookup(vocabulary=["a"])(np.ones((2, 2)))
    with pytest.raises(ValueError, match="must be integers, got an array of dtype <U1"):
        layers.IntegerLookup(vocabulary=[1])(np.array([["a"]]))
    with pytest.raises(ValueError, match="found OOV values \\['zz'\\]"):
        layers.StringLookup(vocabulary=["a"], num_oov_indices=0)(np.array([["a", "zz"]]))
    with pytest.raises(ValueError, match="Cannot adapt layer"):
        layers.StringLookup(vocabulary=["a"]).adapt(CORPUS)
    with pytest.raises(RuntimeError, match="must set the layer's vocabulary"):
        layers.StringLookup(output_mode="multi_hot")(WORDS)


@pytest.mark.parametrize("name, kwargs", [
    ("StringLookup", {"vocabulary": ["a", "b"], "mask_token": "", "num_oov_indices": 2}),
    ("StringLookup", {"vocabulary": ["a", "b"], "idf_weights": [1.0, 2.0],
                      "output_mode": "tf_idf"}),
    ("IntegerLookup", {"vocabulary": [3, 4], "mask_token": 0, "output_mode": "one_hot"})])
def test_configs_are_keras_and_round_trip_both_ways(keras, name, kwargs):
    r_layer, k_layer = getattr(layers, name)(**kwargs), getattr(keras.layers, name)(**kwargs)
    r_config, k_config = r_layer.get_config(), k_layer.get_config()
    assert set(r_config) - set(k_config) == {"has_input_vocabulary"}
    for key in set(k_config) - {"name", "vocabulary", "idf_weights"}:
        assert r_config[key] == k_config[key], key
    clone = type(r_layer).from_config(r_config)
    assert clone.get_config() == r_config
    x = WORDS if name == "StringLookup" else INTS % 5
    np.testing.assert_array_equal(clone(x), r_layer(x))
    np.testing.assert_allclose(_plain(getattr(keras.layers, name).from_config(r_config)(x)),
                               r_layer(x))


def _string_model(lib, vocabulary=None):
    L = lib.layers
    inp = lib.Input((4,), dtype="string")
    lookup = L.StringLookup(vocabulary=vocabulary, mask_token="")
    x = L.Embedding(8, 3, mask_zero=True)(lookup(inp))
    return lib.Model(inp, L.Dense(1)(L.LSTM(4)(x))), lookup


@pytest.mark.parametrize("writer", ["keras", "rnncore"])
def test_adapted_lookup_models_save_and_load_both_ways(keras, tf, tmp_path, writer):
    """An adapted vocabulary travels in Keras's file (Keras: an asset file; rnncore: the
    config), and the model predicts the same on text after loading in the other library."""
    libs = {"keras": keras, "rnncore": rnncore}
    model, lookup = _string_model(libs[writer])
    lookup.adapt(CORPUS)
    if writer == "rnncore":
        model.set_weights(_string_model(keras, ["a"])[0].get_weights())
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = libs["rnncore" if writer == "keras" else "keras"].models.load_model(path)
    strings = np.array([["a", "c", "", "zz"], ["e", "ü", "b", ""]], dtype=object)
    keras_model, ours = (model, loaded) if writer == "keras" else (loaded, model)
    k_out = keras_model.predict(tf.constant(strings.astype(str)), verbose=0)
    np.testing.assert_allclose(ours.predict(strings, verbose=0), k_out, atol=1e-6)
    assert _vocabulary(loaded.layers[1]) == _vocabulary(model.layers[1])


def _int_program(lib):
    L = lib.layers
    return lib.Sequential([lib.Input((5,), dtype="int64"),
                           L.IntegerLookup(vocabulary=[3, 5, 7, 9, 11], mask_token=0),
                           L.Embedding(7, 4, mask_zero=True), L.LSTM(4), L.Dense(1)])


def test_integer_lookup_first_in_a_model_trains_as_keras(keras, rng):
    x = rng.choice([0, 3, 5, 7, 9, 11, 13], size=(16, 5)).astype(np.int64)
    y = rng.standard_normal((16, 1)).astype(np.float32)
    k_model, r_model = _int_program(keras), _int_program(rnncore)
    r_model.set_weights(k_model.get_weights())
    k_model.compile(keras.optimizers.Adam(0.01), "mse")
    r_model.compile(rnncore.optimizers.Adam(0.01), "mse")
    fit = dict(batch_size=8, epochs=1, shuffle=False, verbose=0)
    k_hist, r_hist = k_model.fit(x, y, **fit).history, r_model.fit(x, y, **fit).history
    assert rel_err(r_hist["loss"], k_hist["loss"]) <= 1e-4
    for r_w, k_w in zip(r_model.get_weights(), k_model.get_weights()):
        assert rel_err(r_w, k_w) <= 1e-4


def test_lookup_in_a_data_pipeline_before_fit(keras, rng):
    """Keras's pattern for text models: the lookup maps the data before fit."""
    lookup = layers.StringLookup(num_oov_indices=1)
    lookup.adapt(CORPUS)
    model = rnncore.Sequential([rnncore.Input((4,), dtype="int64"),
                                layers.Embedding(lookup.vocabulary_size(), 3),
                                layers.GRU(2), layers.Dense(1)])
    model.compile("adam", "mse")
    ids = lookup(WORDS)
    assert ids.dtype == np.int64 and ids.max() < lookup.vocabulary_size()
    history = model.fit(ids, np.ones((3, 1), np.float32), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_string_lookup_first_in_a_model_fits_on_a_tf_dataset(tf):
    inp = rnncore.Input((4,), dtype="string")
    ids = layers.StringLookup(vocabulary=["a", "b", "c"], mask_token="")(inp)
    model = rnncore.Model(inp, layers.Dense(1)(layers.LSTM(3)(
        layers.Embedding(5, 2, mask_zero=True)(ids))))
    model.compile("adam", "mse")
    data = tf.data.Dataset.from_tensor_slices((WORDS, np.ones((3, 1), np.float32))).batch(2)
    assert np.isfinite(model.fit(data, epochs=1, verbose=0).history["loss"][0])
    np.testing.assert_allclose(model.predict(data, verbose=0), model.predict(WORDS, verbose=0),
                               atol=1e-6)


def test_adapted_lookups_pickle_with_their_vocabulary():
    import pickle

    for layer, x in ((layers.StringLookup(num_oov_indices=2), WORDS),
                     (layers.IntegerLookup(output_mode="count"), INTS)):
        layer.adapt(CORPUS if x is WORDS else INTS)
        copy = pickle.loads(pickle.dumps(layer))
        assert copy.get_vocabulary() == layer.get_vocabulary()
        np.testing.assert_array_equal(copy(x), layer(x))
