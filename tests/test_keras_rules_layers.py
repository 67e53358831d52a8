"""Rules from Keras's own layer test files (layers/pooling, reshaping, core, activations, ...)
that a Keras program notices, checked against Keras with the same inputs."""
import re
import warnings

import numpy as np
import pytest

import rnncore
from test_layers_keras_rules import _both  # Keras and rnncore on the same call


def _same_values(keras, make, atol=1e-6):
    k, r = _both(keras, make)
    assert not isinstance(k, Exception), k
    assert not isinstance(r, Exception), r
    np.testing.assert_allclose(np.asarray(r), np.asarray(k), atol=atol)


def _same_error(keras, make, exc_type, pattern):
    k, r = _both(keras, make)
    assert isinstance(k, exc_type) and re.search(pattern, str(k)), k  # the rule is Keras's
    assert isinstance(r, exc_type), repr(r)
    assert re.search(pattern, str(r)), str(r)


# ---- the second positional argument of call is the mask where Keras's call says so --------
@pytest.mark.parametrize("data_format, keepdims", [("channels_last", False),
                                                   ("channels_last", True),
                                                   ("channels_first", False)])
def test_global_average_pooling1d_takes_the_mask_positionally(keras, data_format, keepdims):
    x = np.arange(24, dtype="float32").reshape(2, 3, 4)
    mask = (np.array([[1, 1, 0], [0, 1, 0]]) if data_format == "channels_last"
            else np.array([[1, 1, 0, 0], [0, 1, 0, 1]]))
    _same_values(keras, lambda m: m.layers.GlobalAveragePooling1D(
        data_format=data_format, keepdims=keepdims)(x, mask))


def test_softmax_takes_the_mask_positionally(keras):
    x = np.array([[1.0, 2.0, 3.0], [0.5, 0.5, 4.0]], "float32")
    mask = np.array([[True, True, False], [True, False, True]])
    _same_values(keras, lambda m: m.layers.Softmax()(x, mask))


# ---- Flatten(data_format="channels_first") moves the channels last first --------------------
@pytest.mark.parametrize("data_format", ["channels_first", "channels_last", None])
@pytest.mark.parametrize("shape", [(2, 3, 2, 2), (2, 3, 4), (2, 5)])
def test_flatten_data_format_orders_features_as_keras(keras, data_format, shape):
    x = np.arange(np.prod(shape), dtype="float32").reshape(shape)
    _same_values(keras, lambda m: m.layers.Flatten(data_format=data_format)(x))


def test_flatten_channels_first_trains_as_keras(keras):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 3, 4)).astype("float32")
    y = rng.normal(size=(8, 2)).astype("float32")

    def train(m):
        model = m.Sequential([m.Input((3, 4)), m.layers.Flatten(data_format="channels_first"),
                              m.layers.Dense(2, kernel_initializer="glorot_uniform")])
        model.layers[-1].set_weights([np.linspace(-1, 1, 24, dtype="float32").reshape(12, 2),
                                      np.zeros(2, "float32")])
        model.compile(m.optimizers.SGD(0.1), "mse")
        model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
        return model.layers[-1].get_weights()[0]

    _same_values(keras, train, atol=1e-5)


def test_flatten_config_holds_data_format(keras):
    k, r = _both(keras, lambda m: m.layers.Flatten(data_format="channels_first").get_config())
    assert r["data_format"] == k["data_format"] == "channels_first"
    assert rnncore.layers.Flatten.from_config(r).data_format == "channels_first"


# ---- Lambda(output_shape=function) ---------------------------------------------------------
def test_lambda_output_shape_function(keras):
    def make(m):
        inp = m.Input((3,))
        out = m.layers.Lambda(lambda t: m.ops.concatenate([t, t], axis=1),
                              output_shape=lambda s: (s[0], s[1] * 2))(inp)
        return out.shape

    k, r = _both(keras, make)
    assert tuple(r) == tuple(k) == (None, 6)
    _same_values(keras, lambda m: m.layers.Lambda(lambda t: t ** 2, output_shape=lambda s: s)(
        2 * np.ones((2, 3), "float32")))


# ---- a merge layer called eagerly on masked outputs uses and ORs their masks ---------------
@pytest.mark.parametrize("name", ["Multiply", "Maximum", "Minimum", "Add", "Subtract",
                                  "Average", "Concatenate"])
@pytest.mark.parametrize("both_masked", [False, True])
def test_merge_uses_the_masks_its_eager_inputs_carry(keras, name, both_masked):
    a = np.array([[[0, 0], [1, 2], [0, 0], [-3, 4]]], "float32")
    b = np.array([[[0, 0], [0, 0], [-1, 2], [3, 4]]], "float32")

    def make(m):
        masking = m.layers.Masking()
        out = getattr(m.layers, name)()([masking(a), masking(b) if both_masked else b])
        mask = getattr(out, "_keras_mask", None)
        return np.asarray(out), None if mask is None else np.asarray(mask)

    k, r = _both(keras, make)
    np.testing.assert_allclose(r[0], k[0])
    assert (r[1] is None) == (k[1] is None)
    if k[1] is not None:
        np.testing.assert_array_equal(r[1], k[1])


# ---- InputLayer: Keras's argument rules and attributes --------------------------------------
@pytest.mark.parametrize("kwargs, pattern", [
    ({"shape": (2, 3), "batch_shape": (2, 3)}, "cannot pass both `shape` and `batch_shape`"),
    ({"batch_size": 4, "batch_shape": (2, 3)}, "cannot pass both `batch_size` and `batch_shape`"),
    ({"shape": None, "batch_shape": None}, "pass a `shape` argument."),
])
def test_input_layer_refuses_argument_combinations_as_keras(keras, kwargs, pattern):
    _same_error(keras, lambda m: m.layers.InputLayer(**kwargs), ValueError, pattern)


def test_input_layer_input_shape_warns_and_is_used(keras):
    for module in (keras, rnncore):
        with pytest.warns(UserWarning, match="Argument `input_shape` is deprecated"):
            layer = module.layers.InputLayer(input_shape=(2, 3), batch_size=4)
        assert tuple(layer.batch_shape) == (4, 2, 3)


def test_keras_tensor_is_what_input_returns(keras):
    x = rnncore.Input((3,))
    assert isinstance(x, rnncore.KerasTensor)
    assert isinstance(keras.Input((3,)), keras.KerasTensor)
    assert (x.sparse, x.ragged) == (False, False)
    layer = rnncore.layers.InputLayer(shape=(2, 3), batch_size=4)
    assert (layer.sparse, layer.ragged) == (False, False)


# ---- bad arguments: Keras's exception type, and a message its own tests' regex matches ------
BAD_ARGUMENTS = [
    (lambda m: m.layers.ReLU(max_value=-10), ValueError,
     "max_value of a ReLU layer cannot be a negative value"),
    (lambda m: m.layers.ReLU(negative_slope=None), ValueError,
     "negative_slope of a ReLU layer cannot be None or a negative value"),
    (lambda m: m.layers.ReLU(threshold=None), ValueError,
     "threshold of a ReLU layer cannot be None or a negative value"),
    (lambda m: m.layers.LeakyReLU(negative_slope=None), ValueError,
     "The negative_slope value of a Leaky ReLU layer cannot be None"),
    (lambda m: m.layers.RepeatVector(n="3"), TypeError, "Expected an integer value for `n`"),
    (lambda m: m.layers.RepeatVector(n=3.5), TypeError, "Expected an integer value for `n`"),
    (lambda m: m.layers.RepeatVector(n=0), ValueError, "should be a positive integer"),
    (lambda m: m.layers.UpSampling1D(size=2.5), TypeError,
     "Expected an integer value for `size`"),
    (lambda m: m.layers.UpSampling1D(size=0), ValueError, "should be a positive integer"),
    (lambda m: m.layers.Permute(dims=(0, 1, 2)), ValueError, r"Invalid permutation .*dims.*"),
    (lambda m: m.layers.Permute(dims=(1, 4, 2)), ValueError, r"Invalid permutation .*dims.*"),
    (lambda m: m.layers.Cropping1D(cropping=(3, 3))(np.zeros((3, 5, 7), "float32")),
     ValueError, "`cropping` parameter of `Cropping1D` layer must be smaller than"),
    (lambda m: m.layers.LayerNormalization(axis={"axis": -1}), TypeError,
     "Expected an int or a list/tuple of ints for the argument 'axis'"),
    (lambda m: m.layers.Wrapper("This is not a valid Keras layer."), ValueError,
     "Layer .* supplied to Wrapper isn't a supported layer type. Please ensure wrapped "
     "layer is a valid Keras layer."),
    (lambda m: m.layers.TimeDistributed("dense"), ValueError,
     "Please initialize `TimeDistributed` layer with a `keras.layers.Layer`"),
    (lambda m: m.layers.Softmax()(np.ones((1, 3), "float32"), mask=np.ones((1, 1, 3), bool)),
     ValueError, "must not have more dimensions"),
    (lambda m: m.layers.MultiHeadAttention(num_heads=0, key_dim=4), ValueError,
     "argument `num_heads`"),
    (lambda m: m.layers.MultiHeadAttention(num_heads=2, key_dim=1.5), ValueError,
     "argument `key_dim`"),
    (lambda m: m.layers.MultiHeadAttention(num_heads=2, key_dim=4, value_dim=-2), ValueError,
     "argument `value_dim`"),
    (lambda m: m.layers.Conv1D(filters=0, kernel_size=2), ValueError,
     "Invalid value for argument `filters`. Expected a strictly positive value. "
     "Received filters=0."),
    (lambda m: m.callbacks.ModelCheckpoint("m.keras", save_freq="invalid_save_freq"),
     ValueError, "Unrecognized save_freq"),
]


@pytest.mark.parametrize("case", range(len(BAD_ARGUMENTS)))
def test_bad_arguments_raise_as_keras(keras, case):
    make, exc_type, pattern = BAD_ARGUMENTS[case]
    _same_error(keras, make, exc_type, pattern)


# ---- MaxPooling1D / AveragePooling1D(data_format="channels_first") -------------------------
@pytest.mark.parametrize("name", ["MaxPooling1D", "AveragePooling1D"])
@pytest.mark.parametrize("pool_size, strides, padding", [(2, 2, "valid"), (2, 2, "same"),
                                                         (3, 1, "valid"), (3, 2, "same")])
def test_pooling1d_channels_first_as_keras(keras, name, pool_size, strides, padding):
    x = np.random.default_rng(0).normal(size=(2, 3, 7)).astype("float32")
    _same_values(keras, lambda m: getattr(m.layers, name)(
        pool_size, strides=strides, padding=padding, data_format="channels_first")(x))


def test_pooling1d_channels_first_trains_as_keras(keras):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 3, 7)).astype("float32")
    y = rng.normal(size=(4, 1)).astype("float32")

    def train(m):
        inp = m.Input((3, 7))
        h = m.layers.MaxPooling1D(2, data_format="channels_first")(inp)
        h = m.layers.AveragePooling1D(2, padding="same", data_format="channels_first")(h)
        model = m.Model(inp, m.layers.Dense(1, kernel_initializer="ones")(
            m.layers.Flatten()(h)))
        assert tuple(h.shape) == (None, 3, 2)
        model.compile(m.optimizers.SGD(0.1), "mse")
        model.fit(x, y, batch_size=2, epochs=2, shuffle=False, verbose=0)
        return model.get_weights()[0]

    _same_values(keras, train, atol=1e-5)


# ---- ActivityRegularization ------------------------------------------------------------------
def test_activity_regularization_adds_keras_penalty_to_the_loss(keras, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 4)).astype("float32")
    y = rng.normal(size=(8, 3)).astype("float32")
    kernel = np.linspace(-1, 1, 12, dtype="float32").reshape(4, 3)

    def train(m):
        model = m.Sequential([m.Input((4,)), m.layers.Dense(3),
                              m.layers.ActivityRegularization(l1=0.01, l2=0.02)])
        model.layers[0].set_weights([kernel, np.zeros(3, "float32")])
        model.compile(m.optimizers.SGD(0.1), "mse")
        history = model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
        return model, history.history["loss"], model.evaluate(x, y, verbose=0)

    (k_model, k_loss, k_eval), (r_model, r_loss, r_eval) = train(keras), train(rnncore)
    np.testing.assert_allclose(r_loss, k_loss, rtol=1e-5)
    np.testing.assert_allclose(r_eval, k_eval, rtol=1e-5)
    np.testing.assert_allclose(r_model.get_weights()[0], k_model.get_weights()[0], atol=1e-6)
    assert r_model.layers[1].get_config()["l2"] == k_model.layers[1].get_config()["l2"]
    path = tmp_path / "m.keras"
    r_model.save(path)
    np.testing.assert_allclose(keras.models.load_model(path).predict(x, verbose=0),
                               r_model.predict(x, verbose=0), atol=1e-6)
    assert rnncore.models.load_model(path).layers[1].l1 == 0.01


def test_global_max_pooling1d_does_not_support_masking_and_pools_masked_steps(keras):
    k, r = _both(keras, lambda m: m.layers.GlobalMaxPooling1D().supports_masking)
    assert r is k is False

    def make(m):
        inp = m.Input((4,), dtype="int32")
        emb = m.layers.Embedding(5, 3, mask_zero=True)
        model = m.Model(inp, m.layers.GlobalMaxPooling1D()(emb(inp)))
        emb.set_weights([np.arange(15, dtype="float32").reshape(5, 3)[::-1].copy()])
        return model.predict(np.array([[1, 2, 0, 0], [3, 0, 0, 0]]), verbose=0)

    _same_values(keras, make)


# ---- return_attention_scores=True gives a tuple (output, scores); the output carries the mask
@pytest.mark.parametrize("name", ["Attention", "AdditiveAttention", "MultiHeadAttention"])
def test_attention_scores_come_as_a_tuple_with_the_query_mask_on_the_output(keras, name):
    q = np.ones((2, 3, 4), "float32")
    q[0, 2] = 0
    v = np.ones((2, 5, 4), "float32")

    def make(m):
        masked = m.layers.Masking()(q)
        if name == "MultiHeadAttention":
            out = m.layers.MultiHeadAttention(2, 2)(masked, v, return_attention_scores=True)
        else:
            out = getattr(m.layers, name)()([masked, v], return_attention_scores=True)
        return type(out), [None if getattr(t, "_keras_mask", None) is None
                           else np.asarray(t._keras_mask).tolist() for t in out]

    k, r = _both(keras, make)
    assert r[0] is k[0] is tuple
    # the output's mask (Keras's MultiHeadAttention also hangs a broadcast one on its scores)
    assert r[1][0] == k[1][0]
    if name != "MultiHeadAttention":
        assert r[1] == k[1]


def test_attention_scores_tuple_in_a_functional_model(keras):
    def make(m):
        q, v = m.Input((3, 4)), m.Input((5, 4))
        out, scores = m.layers.Attention()([q, v], return_attention_scores=True)
        return type(m.layers.Attention()([q, v], return_attention_scores=True)), \
            tuple(out.shape), tuple(scores.shape)

    k, r = _both(keras, make)
    assert r == k


def test_merge_compute_mask_wants_one_mask_per_input(keras):
    inputs = [np.ones((2, 3)), np.ones((2, 3))]
    for m in (keras, rnncore):
        with pytest.raises(ValueError, match="`mask` should be a list. Received: mask="):
            m.layers.Add().compute_mask(inputs, np.ones((2, 3), bool))


def test_masked_input_to_a_layer_without_masking_warns_as_keras(keras):
    def warned(m):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            inp = m.Input((5,))
            m.layers.GlobalMaxPooling1D(name="gmp")(m.layers.Embedding(10, 3, mask_zero=True)(inp))
            m.layers.LSTM(2)(m.layers.Embedding(10, 3, mask_zero=True)(inp))  # supports masks
        return [str(w.message) for w in caught if "mask" in str(w.message)]
    ours = warned(rnncore)
    assert ours == warned(keras)[:1]  # Keras warns again when the model runs
    assert ours[0].startswith("Layer 'gmp' (of type GlobalMaxPooling1D) was passed an input "
                              "with a mask attached to it.")


@pytest.mark.parametrize("name", ["LSTM", "GRU", "SimpleRNN"])
def test_return_state_gives_kerass_tuple_eager_and_symbolic(keras, name):
    x = np.random.default_rng(0).random((2, 3, 4)).astype("float32")

    def kinds(m):
        eager = getattr(m.layers, name)(5, return_state=True)(x)
        inp = m.Input((3, 4))
        symbolic = getattr(m.layers, name)(5, return_state=True)(inp)
        out, *states = symbolic  # unpacking keeps working
        model = m.Model(inp, symbolic)
        predicted = model.predict(x, verbose=0)
        return [type(eager).__name__, len(eager), type(symbolic).__name__, len(states),
                type(predicted).__name__]
    assert kinds(rnncore) == kinds(keras)


@pytest.mark.parametrize("dtype", [None, "float64", "mixed_float16"])
def test_layer_dtype_policy_as_keras(keras, dtype):
    def policy(m):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # rnncore says it runs mixed_float16 in float32
            p = m.layers.Dense(2, dtype=dtype).dtype_policy
        return repr(p), p.name, p.variable_dtype
    assert policy(rnncore) == policy(keras)
