"""rnncore's preprocessing layers inside a tf.data pipeline (``Dataset.map``), as Keras programs
use them: the same values, dtypes and element_spec as Keras's layers, a tf.Tensor back from an
eager tf.Tensor, and keras-io's "Text classification from scratch" trained on the mapped
dataset with Keras's History."""
import numpy as np
import pytest

import rnncore

TEXTS = np.array(["The cat sat.", "a dog ran far", "the dog", "A cat, a dog!", "far far away"])
WORDS = np.array([["a", "b"], ["c", "z"], ["b", "b"], ["", "a"]])
INTS = np.array([[10, 20], [30, 7], [20, 20], [0, 10]])
IDS = np.array([[1, 2], [3, 0], [2, 2], [0, 1]])
REALS = np.array([[-1.0, 0.5], [2.0, 0.0], [1.0, 1.0], [0.2, 3.0]], "float32")
FEATURES = np.array([[1.0, 10.0], [3.0, 30.0], [2.0, 25.0], [0.0, 5.0]], "float32")
PIXELS = np.arange(4 * 3 * 3 * 2).reshape(4, 3, 3, 2).astype("uint8")


def _text_vectorization(L, **kwargs):
    layer = L.TextVectorization(max_tokens=12, **kwargs)
    layer.adapt(TEXTS)
    return layer


def _normalization(L):
    layer = L.Normalization()
    layer.adapt(FEATURES)
    return layer


def _discretization_adapted(L):
    layer = L.Discretization(num_bins=3)
    layer.adapt(REALS)
    return layer


# (layer from a library's `layers`, the data, how the map calls the layer)
CASES = {
    "text_int": (lambda L: _text_vectorization(L, output_sequence_length=4), TEXTS, None),
    # keras-io's vectorize_text: a (batch, 1) string tensor
    "text_int_expand_dims": (lambda L: _text_vectorization(L, output_sequence_length=4),
                             TEXTS, "expand_dims"),
    "text_int_ragged_length": (_text_vectorization, TEXTS, None),
    "text_multi_hot": (lambda L: _text_vectorization(L, output_mode="multi_hot"), TEXTS, None),
    "text_count": (lambda L: _text_vectorization(L, output_mode="count"), TEXTS, None),
    "text_tf_idf": (lambda L: _text_vectorization(L, output_mode="tf_idf"), TEXTS, None),
    "string_int": (lambda L: L.StringLookup(vocabulary=["a", "b", "c"]), WORDS, None),
    "string_mask": (lambda L: L.StringLookup(vocabulary=["a", "b", "c"], mask_token=""),
                    WORDS, None),
    "string_one_hot": (lambda L: L.StringLookup(vocabulary=["a", "b", "c"],
                                                output_mode="one_hot"), WORDS[:, :1], None),
    "string_multi_hot": (lambda L: L.StringLookup(vocabulary=["a", "b", "c"],
                                                  output_mode="multi_hot"), WORDS, None),
    "string_tf_idf": (lambda L: L.StringLookup(vocabulary=["a", "b", "c"], output_mode="tf_idf",
                                               idf_weights=[1.0, 2.0, 3.0]), WORDS, None),
    "string_invert": (lambda L: L.StringLookup(vocabulary=["a", "b", "c"], invert=True),
                      IDS, None),
    "integer_int": (lambda L: L.IntegerLookup(vocabulary=[10, 20, 30]), INTS, None),
    "integer_count": (lambda L: L.IntegerLookup(vocabulary=[10, 20, 30], output_mode="count"),
                      INTS, None),
    "integer_invert": (lambda L: L.IntegerLookup(vocabulary=[10, 20, 30], invert=True),
                       IDS, None),
    "hashing_strings": (lambda L: L.Hashing(num_bins=5), WORDS, None),
    "hashing_ints_salted": (lambda L: L.Hashing(num_bins=5, salt=7), INTS, None),
    "hashing_multi_hot": (lambda L: L.Hashing(num_bins=5, output_mode="multi_hot"), WORDS, None),
    "crossing_int": (lambda L: L.HashedCrossing(num_bins=7), (INTS[:, 0], WORDS[:, 0]),
                     "pair"),
    "crossing_one_hot": (lambda L: L.HashedCrossing(num_bins=7, output_mode="one_hot"),
                         (INTS[:, 0], WORDS[:, 0]), "pair"),
    "category_one_hot": (lambda L: L.CategoryEncoding(num_tokens=4, output_mode="one_hot"),
                         IDS[:, 0], None),
    "category_multi_hot": (lambda L: L.CategoryEncoding(num_tokens=4), IDS, None),
    "category_count_weights": (lambda L: L.CategoryEncoding(num_tokens=4, output_mode="count"),
                               IDS, "count_weights"),
    "discretization_int": (lambda L: L.Discretization(bin_boundaries=[0.0, 1.0]), REALS, None),
    "discretization_one_hot": (lambda L: L.Discretization(bin_boundaries=[0.0, 1.0],
                                                          output_mode="one_hot"), REALS, None),
    "discretization_adapted": (_discretization_adapted, REALS, None),
    "normalization": (_normalization, FEATURES, None),
    "normalization_float64_in": (_normalization, FEATURES.astype("float64"), None),
    "rescaling_pixels": (lambda L: L.Rescaling(1 / 255), PIXELS, None),
    "rescaling_offset": (lambda L: L.Rescaling(1 / 127.5, offset=-1), PIXELS, None),
}


def _mapped(tf, layer, data, how):
    """The dataset of `data` in batches of 3 (a short last one) mapped through `layer`."""
    ds = tf.data.Dataset.from_tensor_slices(data).batch(3)
    if how == "expand_dims":
        return ds.map(lambda x: layer(tf.expand_dims(x, -1)))
    if how == "pair":
        return ds.map(lambda a, b: layer((a, b)))
    if how == "count_weights":
        return ds.map(lambda x: layer(x, count_weights=tf.cast(x, "float32") * 0.5 + 1))
    return ds.map(layer)


def _eager(tf, layer, data, how):
    if how == "pair":
        return layer(tuple(tf.constant(d) for d in data))
    x = tf.constant(data)
    if how == "expand_dims":
        return layer(tf.expand_dims(x, -1))
    if how == "count_weights":
        return layer(x, count_weights=tf.cast(x, "float32") * 0.5 + 1)
    return layer(x)


def _assert_same(r, k):
    assert r.dtype == k.dtype
    assert r.shape == k.shape
    r, k = r.numpy(), k.numpy()
    if k.dtype.kind in "iuSO":
        assert r.tolist() == k.tolist()
    else:
        np.testing.assert_allclose(r, k, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("case", list(CASES))
def test_layer_in_dataset_map_as_keras(keras, tf, case):
    make, data, how = CASES[case]
    k_layer, r_layer = make(keras.layers), make(rnncore.layers)
    k_ds, r_ds = _mapped(tf, k_layer, data, how), _mapped(tf, r_layer, data, how)
    assert r_ds.element_spec == k_ds.element_spec
    k_batches, r_batches = list(k_ds), list(r_ds)
    assert len(r_batches) == len(k_batches) == 2
    for r, k in zip(r_batches, k_batches):
        _assert_same(r, k)
    # called eagerly on a tf.Tensor: a tf.Tensor back, as Keras's
    r_eager = _eager(tf, r_layer, data, how)
    assert isinstance(r_eager, tf.Tensor)
    _assert_same(r_eager, _eager(tf, k_layer, data, how))
    # the map left no symbolic call on the layer: it has no functional-graph output
    with pytest.raises(AttributeError, match="never been called"):
        r_layer.output


def test_arrays_still_give_arrays(tf):
    # a NumPy caller is not handed TensorFlow tensors because TensorFlow is imported
    layer = rnncore.layers.StringLookup(vocabulary=["a", "b", "c"])
    out = layer(WORDS)
    assert isinstance(out, np.ndarray) and out.tolist() == [[1, 2], [3, 0], [2, 2], [0, 1]]


def test_errors_in_the_pipeline_name_the_layer_problem(tf):
    layer = _text_vectorization(rnncore.layers, output_sequence_length=4)
    ds = tf.data.Dataset.from_tensor_slices(REALS).batch(2).map(layer)
    with pytest.raises(tf.errors.InvalidArgumentError, match="inputs must be strings"):
        list(ds)
    with pytest.raises(ValueError, match="inputs must be strings"):
        layer(tf.constant(REALS))


@pytest.mark.parametrize("rnn", ["LSTM", "GRU"])
def test_text_classification_from_scratch_as_keras(keras, tf, rnn):
    # keras-io's "Text classification from scratch": adapt on the dataset's texts, vectorize
    # in Dataset.map, train an Embedding -> RNN -> Dense model on the mapped dataset
    rng = np.random.default_rng(7)
    vocab = "good bad great awful fine poor nice dull movie film plot actor".split()
    texts = np.array([" ".join(rng.choice(vocab, rng.integers(3, 10))) for _ in range(40)])
    labels = np.array([float(sum(w in ("good", "great", "fine", "nice") for w in t.split())
                             > 1) for t in texts], "float32")
    histories, weights = [], None
    for lib in (keras, rnncore):
        raw_train_ds = tf.data.Dataset.from_tensor_slices((texts[:32], labels[:32])).batch(8)
        raw_val_ds = tf.data.Dataset.from_tensor_slices((texts[32:], labels[32:])).batch(8)
        vectorize_layer = lib.layers.TextVectorization(max_tokens=16, output_mode="int",
                                                       output_sequence_length=7)
        vectorize_layer.adapt(raw_train_ds.map(lambda x, y: x))

        def vectorize_text(text, label):
            text = tf.expand_dims(text, -1)
            return vectorize_layer(text), label

        train_ds = raw_train_ds.map(vectorize_text).cache().prefetch(2)
        val_ds = raw_val_ds.map(vectorize_text)
        inputs = lib.Input(shape=(None,), dtype="int64")
        x = lib.layers.Embedding(16, 8)(inputs)
        x = getattr(lib.layers, rnn)(6)(x)
        outputs = lib.layers.Dense(1, activation="sigmoid")(x)
        model = lib.Model(inputs, outputs)
        model.compile(lib.optimizers.Adam(0.01), "binary_crossentropy", metrics=["accuracy"])
        if weights is None:
            weights = model.get_weights()
        else:
            model.set_weights(weights)
        history = model.fit(train_ds, validation_data=val_ds, epochs=3, verbose=0)
        histories.append((train_ds.element_spec, history.history))
    (k_spec, k_hist), (r_spec, r_hist) = histories
    assert r_spec == k_spec
    assert sorted(r_hist) == sorted(k_hist)
    for key in k_hist:
        np.testing.assert_allclose(r_hist[key], k_hist[key], rtol=2e-5, err_msg=key)
