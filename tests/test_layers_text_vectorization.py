"""TextVectorization against Keras's: vocabulary, outputs of every mode, arguments, config."""
import json
import pickle

import numpy as np
import pytest

import rnncore

# ties at counts 3, 2 and 1, case, punctuation, non-ASCII letters and non-ASCII spaces
CORPUS = ["The cat sat on the mat.", "the DOG sat, on THE log!", "Cats & dogs?",
          "ÉCOLE b a c", "x\xa0y z\u2003w  a", "a b b", "mat-log; cat: dog"]
CALLS = CORPUS[:3] + ["an unseen word, the cat", "", "b  b b b"]

CASES = {
    "int": {},
    "multi_hot": {"output_mode": "multi_hot"},
    "count": {"output_mode": "count"},
    "tf_idf": {"output_mode": "tf_idf"},
    "ngrams2": {"ngrams": 2},
    "ngrams_tuple_count": {"ngrams": (2, 3), "output_mode": "count"},
    "sequence_length_pad": {"output_sequence_length": 12},
    "sequence_length_cut": {"output_sequence_length": 3},
    "max_tokens": {"max_tokens": 6},
    "max_tokens_multi_hot": {"max_tokens": 5, "output_mode": "multi_hot"},
    "pad_to_max_tokens": {"max_tokens": 40, "pad_to_max_tokens": True, "output_mode": "count"},
    "pad_to_max_tokens_tf_idf": {"max_tokens": 40, "pad_to_max_tokens": True,
                                 "output_mode": "tf_idf"},
    "lower": {"standardize": "lower"},
    "strip_punctuation": {"standardize": "strip_punctuation"},
    "no_standardize": {"standardize": None},
    "character": {"split": "character", "output_mode": "count"},
    "character_int": {"split": "character", "ngrams": 2},
}


def _pair(keras, **kwargs):
    return keras.layers.TextVectorization(**kwargs), rnncore.layers.TextVectorization(**kwargs)


def _assert_same(ours, theirs, keras_in=None, ours_in=None):
    assert ours.get_vocabulary() == [str(t) for t in theirs.get_vocabulary()]
    assert ours.vocabulary_size() == theirs.vocabulary_size()
    k = np.asarray(theirs(np.array(keras_in if keras_in is not None else CALLS)))
    r = ours(np.array(ours_in if ours_in is not None else CALLS))
    # Keras's eager multi_hot/count bags come out int64 though its output spec says floatx;
    # rnncore gives the layer's float dtype, which the layers downstream take
    assert r.dtype == (np.int64 if ours.output_mode == "int" else np.float32)
    assert r.shape == k.shape
    np.testing.assert_allclose(r, k, rtol=1e-6)


@pytest.mark.parametrize("kwargs", CASES.values(), ids=CASES.keys())
def test_adapt_and_call_match_keras(keras, kwargs):
    theirs, ours = _pair(keras, **kwargs)
    theirs.adapt(CORPUS)
    ours.adapt(CORPUS)
    _assert_same(ours, theirs)


def test_ties_broken_by_descending_bytes_as_keras(keras):
    corpus = ["b a c", "c a b", "é z", "Z e"]  # every token twice or once: only ties
    theirs, ours = _pair(keras, standardize=None)
    theirs.adapt(corpus)
    ours.adapt(corpus)
    assert ours.get_vocabulary() == ["", "[UNK]", "c", "b", "a", "é", "z", "e", "Z"]
    _assert_same(ours, theirs, corpus, corpus)


def test_split_none_keeps_each_string_as_one_token(keras):
    data = np.array([["Red"], ["blue"], ["red"], [""]])
    theirs, ours = _pair(keras, split=None)
    theirs.adapt(data)
    ours.adapt(data)
    _assert_same(ours, theirs, data, data)
    # (batch,) strings give (batch, 1) ids, the shape Keras's output spec declares
    np.testing.assert_array_equal(ours(data.ravel()), ours(data))


def test_adapt_from_batches_bytes_and_steps(keras):
    """A generator of byte-string batches (as tf.data's as_numpy_iterator gives), cut by
    steps, learns what Keras learns from the same batches."""
    batches = [np.array([s.encode() for s in CORPUS[i:i + 2]]) for i in range(0, 7, 2)]
    theirs, ours = _pair(keras, output_mode="tf_idf")
    theirs.adapt(iter(batches), steps=3)
    ours.adapt(iter(batches), steps=3)
    assert "matlog" not in ours.get_vocabulary()  # only in the 4th batch
    _assert_same(ours, theirs)


def test_adapt_from_a_py_dataset_of_x_y_batches():
    class Batches(rnncore.utils.PyDataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return np.array(["a b", "b c"][i:i + 1]), np.zeros(1)

    layer = rnncore.layers.TextVectorization()
    layer.adapt(Batches())
    assert layer.get_vocabulary() == ["", "[UNK]", "b", "c", "a"]


def test_adapt_from_tf_dataset_as_numpy_iterator(keras, tf):
    ds = tf.data.Dataset.from_tensor_slices(CORPUS).batch(3)
    theirs, ours = _pair(keras)
    theirs.adapt(ds)
    ours.adapt(ds.as_numpy_iterator())
    _assert_same(ours, theirs)


def test_given_vocabulary_and_idf_weights_match_keras(keras):
    vocab, idf = ["the", "cat", "dog"], [0.5, 1.0, 1.5]
    theirs, ours = _pair(keras, vocabulary=vocab, idf_weights=idf, output_mode="tf_idf")
    _assert_same(ours, theirs)
    theirs, ours = _pair(keras, output_sequence_length=4)
    theirs.set_vocabulary(["", "[UNK]"] + vocab)
    ours.set_vocabulary(["", "[UNK]"] + vocab)
    _assert_same(ours, theirs)


def test_callables_standardize_per_string_split_per_string():
    layer = rnncore.layers.TextVectorization(standardize=lambda s: s.upper(),
                                             split=lambda s: s.split("-"))
    layer.adapt(["a-b-b", "c-b"])
    assert layer.get_vocabulary() == ["", "[UNK]", "B", "C", "A"]
    np.testing.assert_array_equal(layer(["b-a-x"]), [[2, 4, 1]])


@pytest.mark.parametrize("argument", ["standardize", "split"])
def test_callables_cannot_go_into_a_config_but_pickle(argument):
    layer = rnncore.layers.TextVectorization(vocabulary=["a"], **{argument: _first_char})
    with pytest.raises(ValueError, match=argument):
        layer.get_config()
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(layer))(["ab"]), layer(["ab"]))


def _first_char(s):
    return s[:1] if isinstance(s, str) else s


def test_model_save_and_load_keep_the_adapted_vocabulary(tmp_path):
    layer = rnncore.layers.TextVectorization(max_tokens=12, output_mode="tf_idf")
    layer.adapt(CORPUS)
    inputs = rnncore.Input(shape=(1,), dtype="string")
    model = rnncore.Model(inputs, rnncore.layers.Dense(2)(layer(inputs)))
    x = np.array(CALLS)[:, None]
    model.save(tmp_path / "m.keras")
    loaded = rnncore.models.load_model(tmp_path / "m.keras")
    assert loaded.layers[1].get_vocabulary() == layer.get_vocabulary()
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_no_weights_no_gradient_int64_ids():
    layer = rnncore.layers.TextVectorization(vocabulary=["a"])
    out = layer(np.array([["a b"], ["b"]]))
    assert out.dtype == np.int64 and out.tolist() == [[2, 1], [1, 0]]
    assert layer.weights == [] and layer.count_params() == 0
    assert layer.backward(np.ones((2, 2))) is None


@pytest.mark.parametrize("kwargs, argument", [
    ({"standardize": "upper"}, "standardize"),
    ({"split": "comma"}, "split"),
    ({"output_mode": "one_hot"}, "output_mode"),
    ({"ngrams": 0}, "ngrams"),
    ({"ngrams": (1, "2")}, "ngrams"),
    ({"output_sequence_length": 3, "output_mode": "count"}, "output_sequence_length"),
    ({"output_sequence_length": -1}, "output_sequence_length"),
    ({"max_tokens": 1}, "max_tokens"),
    ({"pad_to_max_tokens": True}, "max_tokens"),
    ({"sparse": True}, "sparse"),
    ({"ragged": True}, "ragged"),
    ({"idf_weights": [1.0], "vocabulary": ["a"]}, "idf_weights"),
    ({"output_mode": "tf_idf", "vocabulary": ["a"]}, "idf_weights"),
    ({"vocabulary": ["a", "a"]}, "repeated"),
    ({"vocabulary": ["a", "b", "c"], "max_tokens": 3}, "max_tokens"),
])
def test_bad_arguments_are_value_errors_naming_them(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        rnncore.layers.TextVectorization(**kwargs)


def test_bad_inputs_and_static_vocabulary_adapt_are_value_errors():
    layer = rnncore.layers.TextVectorization(vocabulary=["a"])
    with pytest.raises(ValueError, match="inputs"):
        layer(np.zeros((2, 1)))
    with pytest.raises(ValueError, match="last dimension must be 1"):
        layer(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="static vocabulary"):
        layer.adapt(["a"])
    for kwargs in ({}, {"output_mode": "count", "max_tokens": 4, "pad_to_max_tokens": True}):
        unset = rnncore.layers.TextVectorization(**kwargs)
        unset.adapt(["...", "!"])  # only punctuation: no token to learn
        with pytest.raises(RuntimeError, match="no vocabulary"):
            unset(["a"])


@pytest.mark.parametrize("output_mode", ["int", "tf_idf"])
def test_config_json_and_pickle_keep_the_adapted_vocabulary(output_mode):
    layer = rnncore.layers.TextVectorization(output_mode=output_mode, ngrams=(1, 2),
                                             max_tokens=30, pad_to_max_tokens=True)
    layer.adapt(CORPUS)
    expected = layer(CALLS)
    config = json.loads(json.dumps(rnncore.layers.serialize(layer)))
    for copy in (rnncore.layers.deserialize(config), pickle.loads(pickle.dumps(layer))):
        assert copy.get_vocabulary() == layer.get_vocabulary()
        np.testing.assert_array_equal(copy(CALLS), expected)
        copy.adapt(["new words"])  # an adapted layer rebuilt from its config adapts again
        assert "new words" in copy.get_vocabulary()


def test_config_keys_are_keras_and_keras_rebuilds_from_it(keras):
    ours = rnncore.layers.TextVectorization(max_tokens=8, ngrams=2, output_sequence_length=5)
    ours.adapt(CORPUS)
    theirs = keras.layers.TextVectorization(max_tokens=8, ngrams=2, output_sequence_length=5)
    theirs.adapt(CORPUS)
    config = ours.get_config()
    assert set(theirs.get_config()) - {"dtype"} <= set(config)
    config.pop("dtype")
    rebuilt = keras.layers.TextVectorization.from_config(json.loads(json.dumps(config)))
    np.testing.assert_array_equal(rebuilt(np.array(CALLS)), theirs(np.array(CALLS)))
