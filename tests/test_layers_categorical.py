"""CategoryEncoding, Discretization, Hashing and HashedCrossing against Keras 3 (outputs,
dtypes, adapt, configs, errors, a model holding all four saved and loaded both ways), and the
string hashes against TensorFlow's."""
import numpy as np
import pytest

import rnncore
from rnncore import layers
from rnncore.layers._string_hash import cross_fingerprint, fingerprint64, siphash

IDS = np.array([[0, 1, 1, 3], [2, 2, 5, 0]])
WORDS = np.array([["a", "b", "zz", ""], ["c", "", "yy", "ü"]])


def _assert_same(keras, name, kwargs, x, adapt=None, **call):
    k_layer, r_layer = getattr(keras.layers, name)(**kwargs), getattr(layers, name)(**kwargs)
    if adapt is not None:
        k_layer.adapt(adapt)
        r_layer.adapt(adapt)
    ky, ry = np.asarray(k_layer(x, **call)), r_layer(x, **call)
    assert ry.shape == ky.shape and ry.dtype == ky.dtype
    np.testing.assert_array_equal(ry, ky)
    return k_layer, r_layer


@pytest.mark.parametrize("kwargs, x", [
    ({"num_tokens": 4, "output_mode": "one_hot"}, IDS[:, :1]),
    ({"num_tokens": 4, "output_mode": "one_hot"}, IDS),
    ({"num_tokens": 4}, IDS),
    ({"num_tokens": 4}, IDS[0]),
    ({"num_tokens": 6, "output_mode": "count"}, IDS),
    ({"num_tokens": 6, "output_mode": "count"}, IDS.astype(np.float32)),
])
def test_category_encoding_matches_keras(keras, kwargs, x):
    _assert_same(keras, "CategoryEncoding", kwargs, x)


def test_category_encoding_count_weights_match_keras(keras):
    w = np.arange(8.0, dtype=np.float32).reshape(2, 4)
    _assert_same(keras, "CategoryEncoding", {"num_tokens": 6, "output_mode": "count"}, IDS,
                 count_weights=w)
    with pytest.raises(ValueError, match="`count_weights` is not used"):
        layers.CategoryEncoding(6)(IDS, count_weights=w)


@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count"])
def test_rank_3_inputs_encode_as_keras(keras, rng, mode):
    """Keras bags a rank-3+ batch over its axis 1 ((2, 3, 4) gives (2, 4, depth)) rather than
    refusing it; one_hot adds an axis."""
    _assert_same(keras, "CategoryEncoding", {"num_tokens": 4, "output_mode": mode},
                 rng.integers(0, 4, (2, 3, 4)))
    _assert_same(keras, "CategoryEncoding", {"num_tokens": 4, "output_mode": mode},
                 rng.integers(0, 4, (1, 2, 1)))
    _assert_same(keras, "Discretization", {"bin_boundaries": [0.3, 0.6], "output_mode": mode},
                 rng.random((2, 3, 4)).astype(np.float32))


def test_rank_3_count_weights_match_keras(keras):
    _assert_same(keras, "CategoryEncoding", {"num_tokens": 4, "output_mode": "count"},
                 np.array([[[1, 2], [1, 3]]]),
                 count_weights=np.array([[[0.5, 1.0], [2.0, 3.0]]], dtype=np.float32))


@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count"])
@pytest.mark.parametrize("x", [np.array(3), np.array([3, 1]), np.array([[3, 1]])])
def test_scalar_and_1d_inputs_encode_as_keras(keras, mode, x):
    """Keras's test_encode_one_hot_single_sample: a scalar is one sample."""
    _assert_same(keras, "CategoryEncoding", {"num_tokens": 4, "output_mode": mode}, x)
    _assert_same(keras, "Discretization", {"bin_boundaries": [1.5, 2.5], "output_mode": mode},
                 x.astype(np.float32))


def test_scalar_discretization_int_matches_keras(keras):
    _assert_same(keras, "Discretization", {"bin_boundaries": [0.3, 0.6]},
                 np.array(0.5, dtype=np.float32))


def test_num_tokens_error_is_keras_wording(keras):
    for lib in (keras.layers, layers):
        with pytest.raises(ValueError, match="`num_tokens` must be >= 1") as info:
            lib.CategoryEncoding(num_tokens=0)
        assert str(info.value) == "`num_tokens` must be >= 1. Received: num_tokens=0."


@pytest.mark.parametrize("dtype", ["int32", "int64"])
@pytest.mark.parametrize("name, kwargs, x", [
    ("Hashing", {"num_bins": 3}, WORDS),
    ("Hashing", {"num_bins": 3, "output_mode": "multi_hot"}, WORDS),
    ("Discretization", {"bin_boundaries": [0.5]}, np.array([[0.1, 0.9]], np.float32)),
    ("Discretization", {"bin_boundaries": [0.5], "output_mode": "count"},
     np.array([[0.1, 0.9, 0.7]], np.float32)),
    ("CategoryEncoding", {"num_tokens": 6}, IDS),
    ("CategoryEncoding", {"num_tokens": 6, "output_mode": "one_hot"}, IDS),
])
def test_integer_dtypes_are_taken_as_keras(keras, dtype, name, kwargs, x):
    """Keras's preprocessing layers with integer outputs take an integer dtype (the outputs'
    dtype; Discretization's "int" ids stay int32) and write it back in their config."""
    kwargs = dict(kwargs, dtype=dtype)
    k_layer, r_layer = _assert_same(keras, name, kwargs, x)
    r_config, k_config = r_layer.get_config(), k_layer.get_config()
    assert r_config["dtype"] == k_config["dtype"]
    assert r_layer.dtype == k_layer.dtype == dtype
    assert getattr(layers, name).from_config(k_config).dtype == dtype
    symbolic = getattr(layers, name).from_config(r_config)(rnncore.Input(x.shape[1:]))
    assert symbolic.dtype == k_layer(keras.Input(x.shape[1:])).dtype


def test_integer_dtypes_stay_refused_elsewhere():
    with pytest.raises(ValueError, match="dtype must be 'float32' or 'float64'"):
        layers.Dense(2, dtype="int32")


@pytest.mark.parametrize("mode", ["int", "one_hot", "multi_hot", "count"])
def test_discretization_with_boundaries_matches_keras(keras, rng, mode):
    x = rng.standard_normal((5, 3)).astype(np.float32)
    x[0, :2] = [0.0, 0.5]  # on the boundaries
    _assert_same(keras, "Discretization", {"bin_boundaries": [-0.5, 0.0, 0.5],
                                           "output_mode": mode},
                 x if mode != "one_hot" else x[:, :1])


@pytest.mark.parametrize("num_bins, epsilon, batches", [(5, 0.01, 1), (4, 0.1, 1), (3, 0.05, 4)])
def test_discretization_adapt_matches_keras(keras, rng, num_bins, epsilon, batches):
    data = rng.standard_normal((200, 2)).astype(np.float32)
    kwargs = {"num_bins": num_bins, "epsilon": epsilon}
    given = data if batches == 1 else np.split(data, batches)
    k_layer, r_layer = _assert_same(keras, "Discretization", kwargs, data[:7], adapt=given)
    assert r_layer.bin_boundaries == k_layer.bin_boundaries
    assert r_layer.get_config() == k_layer.get_config() | {"name": r_layer.name}
    clone = layers.Discretization.from_config(r_layer.get_config())
    assert clone.bin_boundaries == r_layer.bin_boundaries


@pytest.mark.parametrize("kwargs, x", [
    ({"num_bins": 7}, WORDS),
    ({"num_bins": 7, "salt": [3, 9]}, WORDS),
    ({"num_bins": 7, "salt": 133}, WORDS),
    ({"num_bins": 7, "mask_value": ""}, WORDS),
    ({"num_bins": 9}, np.array([[1, -5, 123456789012], [0, 7, 8]])),
    ({"num_bins": 9, "mask_value": 0, "dtype": "int32"}, np.array([[1, -5, 0], [0, 7, 8]])),
    ({"num_bins": 9}, np.array([[1.7, -5.2]], dtype=np.float32)),
    ({"num_bins": 5, "output_mode": "multi_hot"}, WORDS),
    ({"num_bins": 5, "output_mode": "one_hot"}, WORDS[:, :1]),
    ({"num_bins": 5, "output_mode": "count"}, WORDS),
])
def test_hashing_bins_match_keras(keras, kwargs, x):
    _assert_same(keras, "Hashing", kwargs, x)


def test_string_hashes_match_tensorflow(tf, rng):
    strings = [bytes(rng.integers(0, 256, size=n, dtype=np.uint8))
               for n in [0, 1, 3, 4, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129,
                         200, 1000]]
    theirs = tf.fingerprint(tf.constant(strings), method="farmhash64").numpy()
    assert [fingerprint64(s) for s in strings] == [int.from_bytes(bytes(r), "little")
                                                   for r in theirs]
    for key in ([1, 2], [-5, 12345678901234]):
        theirs = tf.strings.to_hash_bucket_strong(strings, 2 ** 31 - 1, key=key).numpy()
        assert [siphash(key, s) % (2 ** 31 - 1) for s in strings] == theirs.tolist()


COLORS, SIZES = np.array(["red", "blue", "", "ü"]), np.array([1, 22, -3, 123456789012])


@pytest.mark.parametrize("kwargs, xs", [
    ({"num_bins": 7}, [COLORS, SIZES]),
    ({"num_bins": 7}, [COLORS[:, None], SIZES[:, None]]),
    ({"num_bins": 5, "output_mode": "one_hot"}, [SIZES, COLORS, COLORS]),
    ({"num_bins": 5, "output_mode": "one_hot"}, [SIZES[:, None], COLORS[:, None]])])
def test_hashed_crossing_matches_keras(keras, kwargs, xs):
    _assert_same(keras, "HashedCrossing", kwargs, xs)


def test_crossed_hash_matches_tensorflow(tf):
    theirs = tf.sparse.cross_hashed([tf.constant(SIZES[:, None]), tf.constant(COLORS[:, None])],
                                    num_buckets=2 ** 31 - 1)
    mine = [cross_fingerprint([int(n), c.encode()]) % (2 ** 31 - 1)
            for n, c in zip(SIZES, COLORS)]
    assert mine == tf.sparse.to_dense(theirs).numpy().ravel().tolist()


def test_hashed_crossing_bad_inputs_are_keras_errors():
    layer = layers.HashedCrossing(3)
    with pytest.raises(ValueError, match="at least two inputs"):
        layer([SIZES])
    with pytest.raises(ValueError, match="should have equal shape"):
        layer([SIZES, COLORS[:, None]])
    with pytest.raises(ValueError, match="integer or string dtype"):
        layer([SIZES, SIZES.astype(np.float32)])
    with pytest.raises(ValueError, match="num_bins=0"):
        layers.HashedCrossing(0)


@pytest.mark.parametrize("name, kwargs", [
    ("CategoryEncoding", {"num_tokens": 5, "output_mode": "count"}),
    ("Discretization", {"bin_boundaries": [0.0, 1.0], "output_mode": "one_hot"}),
    ("Hashing", {"num_bins": 4, "salt": [1, 2], "mask_value": "x"}),
    ("Hashing", {"num_bins": 4, "output_mode": "multi_hot"}),
    ("HashedCrossing", {"num_bins": 4}),
    ("HashedCrossing", {"num_bins": 4, "output_mode": "one_hot"})])
def test_configs_are_keras(keras, name, kwargs):
    r_config = getattr(layers, name)(**kwargs).get_config()
    k_config = getattr(keras.layers, name)(**kwargs).get_config()
    assert set(r_config) == set(k_config)
    for key in set(k_config) - {"name"}:
        assert r_config[key] == k_config[key], key
    clone = getattr(layers, name).from_config(r_config)
    assert clone.get_config() == r_config
    getattr(keras.layers, name).from_config(r_config)


@pytest.mark.parametrize("name, kwargs, error, text", [
    ("CategoryEncoding", {}, ValueError, "num_tokens must be set"),
    ("CategoryEncoding", {"num_tokens": 0}, ValueError, "num_tokens=0"),
    ("CategoryEncoding", {"num_tokens": 3, "output_mode": "int"}, ValueError, "output_mode"),
    ("Discretization", {}, ValueError, "either `num_bins` or `bin_boundaries`"),
    ("Discretization", {"num_bins": 2, "bin_boundaries": [0.0]}, ValueError, "Both"),
    ("Discretization", {"bin_boundaries": [1.0, 0.0]}, ValueError, "sorted"),
    ("Hashing", {"num_bins": 0}, ValueError, "num_bins=0"),
    ("Hashing", {"num_bins": 2, "salt": "x"}, ValueError, "salt='x'"),
    ("Hashing", {"num_bins": 2, "dtype": "float32"}, ValueError, "dtype=float32"),
])
def test_bad_arguments_name_themselves(name, kwargs, error, text):
    with pytest.raises(error) as info:
        getattr(layers, name)(**kwargs)
    assert text in str(info.value)


def test_bad_inputs_are_clear_errors():
    with pytest.raises(ValueError, match="non-negative ids"):
        layers.CategoryEncoding(3)(np.array([[0, -1]]))
    with pytest.raises(ValueError, match="must be integer ids, got an array of dtype <U1"):
        layers.CategoryEncoding(3)(np.array([["a"]]))
    with pytest.raises(ValueError, match="call `adapt"):
        layers.Discretization(num_bins=3)(np.ones((2, 2)))
    with pytest.raises(ValueError, match="initialized with `bin_boundaries`"):
        layers.Discretization(bin_boundaries=[0.0]).adapt(np.ones((2, 2)))


def _mixed_model(lib):
    L = lib.layers
    values = lib.Input((3,), name="values")
    words = lib.Input((4,), dtype="string", name="words")
    ids = lib.Input((3,), dtype="int64", name="ids")
    binned = L.LSTM(2)(L.Discretization(bin_boundaries=[-0.5, 0.0, 0.5],
                                        output_mode="one_hot")(values))
    hashed = L.GRU(2)(L.Embedding(8, 3)(L.Hashing(num_bins=8, salt=5)(words)))
    bags = L.CategoryEncoding(5, output_mode="count")(ids)
    color = lib.Input((1,), dtype="string", name="color")
    size = lib.Input((1,), dtype="int64", name="size")
    crossed = L.HashedCrossing(6, output_mode="one_hot")([color, size])
    return lib.Model([values, words, ids, color, size],
                     L.Dense(1)(L.Concatenate()([binned, hashed, bags, crossed])))


@pytest.mark.parametrize("writer", ["keras", "rnncore"])
def test_a_model_holding_all_four_saves_and_loads_both_ways(keras, tf, rng, tmp_path, writer):
    libs = {"keras": keras, "rnncore": rnncore}
    model = _mixed_model(libs[writer])
    if writer == "rnncore":
        model.set_weights(_mixed_model(keras).get_weights())
    model.save(tmp_path / "m.keras")
    loaded = libs["rnncore" if writer == "keras" else "keras"].models.load_model(
        tmp_path / "m.keras")
    keras_model, ours = (model, loaded) if writer == "keras" else (loaded, model)
    values = rng.standard_normal((2, 3)).astype(np.float32)
    ids = np.array([[0, 4, 4], [1, 2, 3]])
    color, size = COLORS[:2, None], SIZES[:2, None]
    k_out = keras_model.predict([values, tf.constant(WORDS), ids, tf.constant(color), size],
                                verbose=0)
    np.testing.assert_allclose(ours.predict([values, WORDS, ids, color, size], verbose=0),
                               k_out, atol=1e-6)
