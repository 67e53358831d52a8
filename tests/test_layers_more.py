"""Identity, ZeroPadding1D, Cropping1D, UpSampling1D, Normalization and MultiHeadAttention
against Keras: outputs and gradients with equal weights, training inside a model, configs,
masks."""
import numpy as np
import pytest

import rnncore
from _layer_parity import (assert_bad_argument, assert_config_round_trip,
                           assert_gradients_finite_difference, assert_matches_keras,
                           assert_pickles, save_load_predict)
from _parity import train_pair_on_batch

B, T, F = 3, 5, 4

# name: (class name, args, kwargs, input shape)
CASES = {
    "identity": ("Identity", (), {}, (B, T, F)),
    "zero_padding": ("ZeroPadding1D", (), {}, (B, T, F)),
    "zero_padding_pair": ("ZeroPadding1D", ((2, 0),), {}, (B, T, F)),
    "zero_padding_channels_first": ("ZeroPadding1D", ((1, 3),),
                                    {"data_format": "channels_first"}, (B, T, F)),
    "cropping": ("Cropping1D", (), {}, (B, T, F)),
    "cropping_end_only": ("Cropping1D", ((0, 2),), {}, (B, T, F)),
    "cropping_int": ("Cropping1D", (2,), {}, (B, T, F)),
    "up_sampling": ("UpSampling1D", (), {}, (B, T, F)),
    "up_sampling_3": ("UpSampling1D", (3,), {}, (B, T, F)),
}


def make(lib, name, **extra):
    cls, args, kwargs, _ = CASES[name]
    return getattr(lib.layers, cls)(*args, **kwargs, **extra)


def data(name, rng, dtype="float32"):
    return rng.normal(size=CASES[name][3]).astype(dtype)


@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_and_backward_match_keras(keras, tf, rng, name):
    assert_matches_keras(tf, make(keras, name), make(rnncore, name), data(name, rng))


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_match_finite_differences(rng, name):
    assert_gradients_finite_difference(make(rnncore, name, dtype="float64"),
                                       data(name, rng, "float64"))


@pytest.mark.parametrize("name", sorted(CASES))
def test_output_shape_and_config_as_keras(keras, name):
    for shape in ((None,) + CASES[name][3][1:], (None, None, F)):
        if CASES[name][2].get("data_format") == "channels_first" and shape[1] is None:
            continue
        k_layer, r_layer = make(keras, name), make(rnncore, name)
        assert r_layer.compute_output_shape(shape) == tuple(k_layer.compute_output_shape(shape))
    k_config = make(keras, name).get_config()
    r_config = make(rnncore, name).get_config()
    for key in set(k_config) - {"dtype", "name"}:
        theirs = k_config[key]
        assert r_config[key] == (tuple(theirs) if isinstance(theirs, list) else theirs), key
    assert type(assert_config_round_trip(make(rnncore, name))) is type(make(rnncore, name))


@pytest.mark.parametrize("name", ["zero_padding", "cropping", "up_sampling", "identity"])
def test_masks_as_keras(keras, tf, rng, name):
    # Identity carries the mask on; the padding, cropping and up-sampling layers drop it
    mask = np.ones((B, T), bool)
    mask[0, 3:] = False
    assert_matches_keras(tf, make(keras, name), make(rnncore, name), data(name, rng), mask,
                         mask_kwarg=False)


def test_trained_between_conv_and_lstm_as_keras(keras, rng):
    models = []
    for lib in (keras, rnncore):
        L = lib.layers
        models.append(lib.Sequential([
            lib.Input((T, F)), L.ZeroPadding1D((1, 2)), L.Conv1D(3, 3, activation="tanh"),
            L.UpSampling1D(2), L.Cropping1D((1, 2)), L.Identity(), L.LSTM(4), L.Dense(1)]))
    k_model, r_model = models
    r_model.set_weights(k_model.get_weights())
    k_model.compile(keras.optimizers.Adam(0.01), "mse")
    r_model.compile(rnncore.optimizers.Adam(0.01), "mse")
    x = rng.normal(size=(6, T, F)).astype("float32")
    y = rng.normal(size=(6, 1)).astype("float32")
    train_pair_on_batch(k_model, r_model, x, y, steps=3, tol=1e-5)


def test_save_load_and_pickle(tmp_path, rng):
    L = rnncore.layers
    model = rnncore.Sequential([rnncore.Input((T, F)), L.ZeroPadding1D(2), L.UpSampling1D(3),
                                L.Cropping1D((1, 4)), L.Identity(), L.Dense(2)])
    x = rng.normal(size=(B, T, F)).astype("float32")
    loaded = save_load_predict(model, x, tmp_path)
    assert [type(layer).__name__ for layer in loaded.layers] == \
        ["ZeroPadding1D", "UpSampling1D", "Cropping1D", "Identity", "Dense"]
    for name in sorted(CASES):
        assert_pickles(make(rnncore, name), data(name, rng))


BAD = [
    (lambda L: L.ZeroPadding1D((1, 2, 3)), ValueError, "padding=(1, 2, 3)"),
    (lambda L: L.ZeroPadding1D(-1), ValueError, "padding=-1"),
    (lambda L: L.ZeroPadding1D(data_format="nhwc"), ValueError, "data_format='nhwc'"),
    (lambda L: L.Cropping1D("a"), ValueError, "cropping='a'"),
    (lambda L: L.UpSampling1D(0), ValueError, "size=0"),
    (lambda L: L.UpSampling1D(1.5), TypeError, "1.5"),
    (lambda L: L.Cropping1D((3, 2))(np.ones((1, 5, 2), "float32")), ValueError,
     "cropping=(3, 2)"),
]


@pytest.mark.parametrize("make_layer,error,text", BAD, ids=[b[2] for b in BAD])
def test_bad_arguments_are_named(make_layer, error, text):
    assert_bad_argument(make_layer, error, text)


# ---- Normalization ---------------------------------------------------------------------------
NORM_CASES = {
    "last_axis": ({}, (6, T, F)),
    "all_axes": ({"axis": None}, (6, T, F)),
    "two_kept_axes": ({"axis": (1, 2)}, (6, T, F)),
    "middle_axis_inverted": ({"axis": 1, "invert": True}, (6, T, F)),
    "given_stats": ({"mean": [1.0, -1.0, 0.5, 2.0], "variance": [4.0, 0.25, 1.0, 0.0]},
                    (6, T, F)),
    "given_scalar_stats_inverted": ({"axis": None, "mean": 3.0, "variance": 2.0,
                                     "invert": True}, (6, F)),
}


@pytest.mark.parametrize("name", sorted(NORM_CASES))
@pytest.mark.parametrize("batched", [False, True], ids=["array", "batches"])
def test_normalization_adapts_and_normalises_as_keras(keras, tf, rng, name, batched):
    from _layer_parity import keras_pass, rnncore_pass

    kwargs, shape = NORM_CASES[name]
    data = (rng.normal(size=(40,) + shape[1:]) * 3.0 + 1.5).astype("float32")
    k_layer, r_layer = keras.layers.Normalization(**kwargs), rnncore.layers.Normalization(**kwargs)
    if "mean" not in kwargs:
        # batches of unequal sizes exercise the running combination of the statistics
        source = [data[:7], data[7:25], data[25:]] if batched else data
        k_layer.adapt(source)
        r_layer.adapt(source)
        for ours, theirs in zip(r_layer.get_weights(), k_layer.get_weights()):
            np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)
    x = rng.normal(size=shape).astype("float32")
    ky, kdx, _, _ = keras_pass(tf, k_layer, x)
    r_layer._maybe_build(x.shape)
    ry, rdx, _, _ = rnncore_pass(r_layer, x)
    np.testing.assert_allclose(ry, ky, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(rdx[0], kdx[0], rtol=1e-5, atol=1e-6)
    assert [(w.name, w.dtype.name if hasattr(w.dtype, "name") else w.dtype, tuple(w.shape))
            for w in r_layer.weights] == [(w.name, w.dtype, tuple(w.shape))
                                          for w in k_layer.weights]
    k_config, r_config = k_layer.get_config(), r_layer.get_config()
    for key in ("axis", "invert", "mean", "variance"):
        assert r_config[key] == k_config[key], key
    assert_config_round_trip(r_layer)


def test_normalization_gradient_matches_finite_differences(rng):
    layer = rnncore.layers.Normalization(axis=(1, 2), dtype="float64")
    layer.adapt(rng.normal(size=(10, T, F)))
    assert_gradients_finite_difference(layer, rng.normal(size=(B, T, F)))


def test_normalization_in_a_trained_model_saves_its_statistics(keras, rng, tmp_path):
    data = (rng.normal(size=(32, T, F)) * 2.0 + 1.0).astype("float32")
    models = []
    for lib in (keras, rnncore):
        norm = lib.layers.Normalization()
        norm.adapt(data)
        models.append(lib.Sequential([lib.Input((T, F)), norm, lib.layers.LSTM(3),
                                      lib.layers.Dense(1)]))
    k_model, r_model = models
    r_model.set_weights(k_model.get_weights())
    k_model.compile(keras.optimizers.RMSprop(0.01), "mse")
    r_model.compile(rnncore.optimizers.RMSprop(0.01), "mse")
    y = rng.normal(size=(32, 1)).astype("float32")
    train_pair_on_batch(k_model, r_model, data, y, steps=3, tol=1e-5)
    loaded = save_load_predict(r_model, data[:4], tmp_path)
    np.testing.assert_array_equal(loaded.layers[0].get_weights()[0],
                                  r_model.layers[0].get_weights()[0])


def test_normalization_passes_the_mask_on(keras, tf, rng):
    from _layer_parity import keras_pass, rnncore_pass

    mask = np.ones((B, T), bool)
    mask[1, 2:] = False
    x = rng.normal(size=(B, T, F)).astype("float32")
    layers = [lib.layers.Normalization(mean=0.5, variance=2.0) for lib in (keras, rnncore)]
    kmask = keras_pass(tf, layers[0], x, mask, mask_kwarg=False)[3]
    layers[1]._maybe_build(x.shape)
    np.testing.assert_array_equal(rnncore_pass(layers[1], x, mask)[3], kmask)


NORM_BAD = [
    (lambda L: L.Normalization(mean=1.0), ValueError, "variance=None"),
    (lambda L: L.Normalization(mean=[1.0, 2.0], variance=[1.0]), ValueError, "(2,)"),
    (lambda L: L.Normalization(axis=5)(np.ones((2, 3), "float32")), ValueError, "axis=(5,)"),
    (lambda L: L.Normalization(axis="x"), TypeError, "axis='x'"),
]


@pytest.mark.parametrize("make_layer,error,text", NORM_BAD, ids=[b[2] for b in NORM_BAD])
def test_normalization_bad_arguments_are_named(make_layer, error, text):
    assert_bad_argument(make_layer, error, text)


# ---- MultiHeadAttention ----------------------------------------------------------------------
TQ, TV, DQ, DV = 4, 6, 8, 5

# name: (constructor kwargs, call kwargs, has its own key)
MHA_CASES = {
    "self": ({"num_heads": 2, "key_dim": 3}, {}, False),
    "cross_key_value_dim": ({"num_heads": 3, "key_dim": 2, "value_dim": 4}, {}, True),
    "output_shape_no_bias": ({"num_heads": 2, "key_dim": 4, "output_shape": 7,
                              "use_bias": False}, {}, False),
    "causal": ({"num_heads": 2, "key_dim": 3}, {"use_causal_mask": True}, False),
    "attention_mask_scores": ({"num_heads": 2, "key_dim": 3},
                              {"attention_mask": "given", "return_attention_scores": True}, True),
    "scores_and_causal": ({"num_heads": 1, "key_dim": 5},
                          {"use_causal_mask": True, "return_attention_scores": True}, False),
}


def _mha_inputs(rng, name):
    q = rng.normal(size=(B, TQ, DQ)).astype("float32")
    v = rng.normal(size=(B, TV, DV)).astype("float32")
    k = rng.normal(size=(B, TV, 3)).astype("float32") if MHA_CASES[name][2] else None
    call = dict(MHA_CASES[name][1])
    if call.get("attention_mask") == "given":
        allowed = rng.random((B, TQ, TV)) > 0.3
        allowed[0, 1] = False  # a query step that attends to nothing (uniform, as in Keras)
        call["attention_mask"] = allowed
    return q, v, k, call


def _mha_keras(tf, layer, q, v, k, call, dy, masks=None):
    from keras.src import backend

    ts = [tf.constant(a) for a in (q, v, k) if a is not None]
    for t, m in zip(ts, masks or []):
        if m is not None:
            backend.set_keras_mask(t, tf.constant(m))
    with tf.GradientTape(persistent=True) as tape:
        for t in ts:
            tape.watch(t)
        out = layer(ts[0], ts[1], ts[2] if k is not None else None, **call)
        y = out[0] if isinstance(out, tuple) else out
        loss = tf.reduce_sum(y * dy[0])
        if isinstance(out, tuple):
            loss += tf.reduce_sum(out[1] * dy[1])
    grads = tape.gradient(loss, ts + [w.value for w in layer.trainable_weights])
    outs = [o.numpy() for o in (out if isinstance(out, tuple) else [out])]
    return outs, [g.numpy() for g in grads[:len(ts)]], [g.numpy() for g in grads[len(ts):]], \
        backend.get_keras_mask(y)


@pytest.mark.parametrize("name", sorted(MHA_CASES))
def test_mha_forward_and_backward_match_keras(keras, tf, rng, name):
    from _layer_parity import upstream

    q, v, k, call = _mha_inputs(rng, name)
    kw = MHA_CASES[name][0]
    k_layer, r_layer = keras.layers.MultiHeadAttention(**kw), \
        rnncore.layers.MultiHeadAttention(**kw)
    k_layer(q, v, k)
    r_layer(q, v, k)
    assert [(w.path, tuple(w.shape)) for w in r_layer.weights] == \
        [(w.path.replace(k_layer.name, r_layer.name), tuple(w.shape)) for w in k_layer.weights]
    r_layer.set_weights(k_layer.get_weights())
    out = r_layer(q, v, k, **call)
    outs = list(out) if isinstance(out, (list, tuple)) else [out]  # Keras: a tuple
    dy = [upstream(o.shape) for o in outs]
    k_outs, k_dx, k_dw, _ = _mha_keras(tf, k_layer, q, v, k, call, dy)
    for ours, theirs in zip(outs, k_outs):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=2e-6)
    d_in = r_layer.backward(dy if len(dy) > 1 else dy[0])
    ours_dx = [d_in[0], d_in[1] + (0 if k is not None else d_in[2])] + \
        ([d_in[2]] if k is not None else [])
    for ours, theirs in zip(ours_dx + [w.grad for w in r_layer.trainable_weights],
                            k_dx + k_dw):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=2e-6)


def test_mha_keras_masks_of_query_and_value_as_keras(keras, tf, rng):
    from _layer_parity import upstream

    q, v, _, _ = _mha_inputs(rng, "self")
    q_mask = np.ones((B, TQ), bool)
    q_mask[1, 2:] = False
    v_mask = np.ones((B, TV), bool)
    v_mask[0, 3:] = False
    k_layer = keras.layers.MultiHeadAttention(2, 3)
    r_layer = rnncore.layers.MultiHeadAttention(2, 3)
    k_layer(q, v)
    r_layer(q, v)
    r_layer.set_weights(k_layer.get_weights())
    out = r_layer(q, v, query_mask=q_mask, value_mask=v_mask)
    dy = [upstream(out.shape)]
    k_outs, k_dx, k_dw, k_mask = _mha_keras(tf, k_layer, q, v, None, {}, dy, [q_mask, v_mask])
    np.testing.assert_allclose(out, k_outs[0], rtol=1e-5, atol=2e-6)
    np.testing.assert_array_equal(out._keras_mask, k_mask.numpy())
    d_in = r_layer.backward(dy[0])
    for ours, theirs in zip([d_in[0], d_in[1] + d_in[2]], k_dx):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=2e-6)


def test_mha_gradients_match_finite_differences(rng):
    layer = rnncore.layers.MultiHeadAttention(2, 3, value_dim=2, dtype="float64")
    q = rng.normal(size=(2, 3, 4))
    v = rng.normal(size=(2, 4, 5))
    k = rng.normal(size=(2, 4, 3))
    q_mask = np.array([[True, True, False], [True, True, True]])
    v_mask = np.array([[True, False, True, True], [True, True, True, False]])
    layer(q, v, k)
    assert_gradients_finite_difference(layer, [q, v, k], mask=[q_mask, v_mask, None])


def _transformer(lib, vocab, steps, causal):
    L = lib.layers
    inp = lib.Input((steps,), dtype="int32")
    x = L.Embedding(vocab, 8, mask_zero=True)(inp)
    att = L.MultiHeadAttention(num_heads=2, key_dim=4)(x, x, use_causal_mask=causal)
    x = L.LayerNormalization()(L.Add()([x, att]))
    x = L.GlobalAveragePooling1D()(x)
    return lib.Model(inp, L.Dense(3, activation="softmax")(x))


@pytest.mark.parametrize("causal", [False, True], ids=["padding_mask", "causal"])
def test_mha_trains_in_a_functional_model_as_keras(keras, rng, causal):
    k_model, r_model = _transformer(keras, 20, 6, causal), _transformer(rnncore, 20, 6, causal)
    r_model.set_weights(k_model.get_weights())
    x = rng.integers(1, 20, size=(8, 6))
    x[:3, 4:] = 0  # padding, masked in the attention and the pooling
    y = rng.integers(0, 3, size=(8,))
    # SGD: the key bias's gradient is zero up to rounding (softmax ignores a shift shared by a
    # query's scores), and Adam would blow that rounding noise up to full-size steps; under SGD
    # query and the key bias stays at zero up to rounding, so weights are compared with atol
    k_model.compile(keras.optimizers.SGD(0.1, momentum=0.9), "sparse_categorical_crossentropy")
    r_model.compile(rnncore.optimizers.SGD(0.1, momentum=0.9), "sparse_categorical_crossentropy")
    for _ in range(3):
        np.testing.assert_allclose(r_model.train_on_batch(x, y), k_model.train_on_batch(x, y),
                                   rtol=1e-5)
    for ours, theirs in zip(r_model.get_weights(), k_model.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_mha_config_round_trip_and_bad_arguments(keras):
    layer = rnncore.layers.MultiHeadAttention(3, 4, value_dim=2, dropout=0.1, output_shape=6)
    config = assert_config_round_trip(layer).get_config()
    theirs = keras.layers.MultiHeadAttention(3, 4, value_dim=2, dropout=0.1,
                                             output_shape=6).get_config()
    for key in set(theirs) - {"name", "dtype", "kernel_initializer", "bias_initializer"}:
        assert config[key] == theirs[key], key
    for key in ("kernel_initializer", "bias_initializer"):  # serialised as rnncore's Dense does
        assert config[key]["class_name"] == theirs[key]["class_name"]
    assert_bad_argument(lambda L: L.MultiHeadAttention(0, 4), ValueError, "num_heads=0")
    assert_bad_argument(lambda L: L.MultiHeadAttention(2, 4, attention_axes=(1, 2)),
                        NotImplementedError, "attention_axes=(1, 2)")
    assert_bad_argument(lambda L: L.MultiHeadAttention(2, 4, dropout=1.5), ValueError,
                        "dropout=1.5")


def _block_model(lib):
    class TransformerBlock(lib.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.att = lib.layers.MultiHeadAttention(num_heads=2, key_dim=4)
            self.norm = lib.layers.LayerNormalization()

        def call(self, x):
            return self.norm(x + self.att(x, x))
    inp = lib.Input((T, 8))
    x = lib.layers.GlobalAveragePooling1D()(TransformerBlock()(inp))
    return lib.Model(inp, lib.layers.Dense(1)(x))


def test_mha_inside_a_custom_layer_trains_as_keras(keras, rng):
    k_model, r_model = _block_model(keras), _block_model(rnncore)
    r_model.set_weights(k_model.get_weights())
    for lib, model in ((keras, k_model), (rnncore, r_model)):
        model.compile(lib.optimizers.SGD(0.1), "mse")
    x = rng.normal(size=(4, T, 8)).astype("float32")
    y = rng.normal(size=(4, 1)).astype("float32")
    for _ in range(3):
        np.testing.assert_allclose(r_model.train_on_batch(x, y), k_model.train_on_batch(x, y),
                                   rtol=1e-5)
    for ours, theirs in zip(r_model.get_weights(), k_model.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_mha_model_saves_loads_and_pickles(tmp_path, rng):
    L = rnncore.layers
    inp = rnncore.Input((T, F))
    mask = rnncore.Input((T, T), dtype="bool")
    x = L.MultiHeadAttention(2, 3, name="self_att")(inp, inp, use_causal_mask=True)
    x = L.MultiHeadAttention(2, 3, value_dim=2)(x, inp, attention_mask=mask)
    model = rnncore.Model([inp, mask], x)
    data = [rng.normal(size=(B, T, F)).astype("float32"), rng.random((B, T, T)) > 0.2]
    save_load_predict(model, data, tmp_path)
    layer = rnncore.layers.MultiHeadAttention(2, 3)
    q = rng.normal(size=(B, T, F)).astype("float32")
    layer(q, q)
    clone = __import__("pickle").loads(__import__("pickle").dumps(layer))
    np.testing.assert_array_equal(clone(q, q), layer(q, q))


def _mha_graph(lib):
    inp = lib.Input((T, F))
    other = lib.Input((T + 1, 3))
    keys = lib.Input((T + 1, 2))
    allowed = lib.Input((T, T + 1), dtype="bool")
    x = lib.layers.MultiHeadAttention(2, 3, name="self_att")(inp, inp, use_causal_mask=True)
    x = lib.layers.MultiHeadAttention(2, 3, value_dim=2, name="cross")(
        x, other, key=keys, attention_mask=allowed)
    return lib.Model([inp, other, keys, allowed], x)


@pytest.mark.parametrize("writer", ["keras", "rnncore"])
def test_mha_keras_files_load_in_both_directions(keras, rng, tmp_path, writer):
    libs = {"keras": keras, "rnncore": rnncore}
    reader = libs["rnncore" if writer == "keras" else "keras"]
    model = _mha_graph(libs[writer])
    if writer == "rnncore":
        model.set_weights(_mha_graph(keras).get_weights())
    data = [rng.normal(size=(B, T, F)).astype("float32"),
            rng.normal(size=(B, T + 1, 3)).astype("float32"),
            rng.normal(size=(B, T + 1, 2)).astype("float32"), rng.random((B, T, T + 1)) > 0.3]
    path = tmp_path / "mha.keras"
    model.save(path)
    loaded = reader.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(data, verbose=0), model.predict(data, verbose=0),
                               rtol=1e-5, atol=1e-6)


# ---- Conv1DTranspose -------------------------------------------------------------------------
CONV_T_CASES = {
    "valid": {"filters": 4, "kernel_size": 3},
    "valid_stride_over_kernel": {"filters": 2, "kernel_size": 2, "strides": 3},
    "same_stride": {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same",
                    "activation": "tanh"},
    "same_even_kernel_no_bias": {"filters": 3, "kernel_size": 4, "strides": 2,
                                 "padding": "same", "use_bias": False},
    "same_output_padding": {"filters": 2, "kernel_size": 3, "strides": 3, "padding": "same",
                            "output_padding": 1},
    "valid_output_padding": {"filters": 2, "kernel_size": 2, "strides": 2,
                             "output_padding": 1},
    "valid_dilated": {"filters": 2, "kernel_size": 3, "dilation_rate": 2},
}


@pytest.mark.parametrize("name", sorted(CONV_T_CASES))
def test_conv1d_transpose_matches_keras(keras, tf, rng, name):
    kw = CONV_T_CASES[name]
    x = rng.normal(size=(B, T, 3)).astype("float32")
    r_layer = rnncore.layers.Conv1DTranspose(**kw)
    k_layer = keras.layers.Conv1DTranspose(**kw)
    assert_matches_keras(tf, k_layer, r_layer, x)
    shape = (None, T, 3)
    assert r_layer.compute_output_shape(shape) == tuple(k_layer.compute_output_shape(shape))
    assert [tuple(w.shape) for w in r_layer.weights] == [tuple(w.shape) for w in k_layer.weights]
    theirs, ours = k_layer.get_config(), assert_config_round_trip(r_layer).get_config()
    assert set(theirs) == set(ours)
    for key in ("filters", "kernel_size", "strides", "padding", "output_padding", "use_bias"):
        assert ours[key] == theirs[key], key


@pytest.mark.parametrize("name", sorted(CONV_T_CASES))
def test_conv1d_transpose_gradients_match_finite_differences(rng, name):
    layer = rnncore.layers.Conv1DTranspose(**CONV_T_CASES[name], dtype="float64")
    assert_gradients_finite_difference(layer, rng.normal(size=(2, 4, 3)))


def test_conv1d_transpose_autoencoder_trains_and_saves_as_keras(keras, rng, tmp_path):
    models = []
    for lib in (keras, rnncore):
        L = lib.layers
        models.append(lib.Sequential([
            lib.Input((8, 2)), L.Conv1D(4, 3, strides=2, padding="same", activation="relu"),
            L.Conv1DTranspose(4, 3, strides=2, padding="same", activation="relu"),
            L.Conv1DTranspose(2, 3, padding="same")]))
    k_model, r_model = models
    r_model.set_weights(k_model.get_weights())
    k_model.compile(keras.optimizers.Adam(0.01), "mse")
    r_model.compile(rnncore.optimizers.Adam(0.01), "mse")
    x = rng.normal(size=(6, 8, 2)).astype("float32")
    train_pair_on_batch(k_model, r_model, x, x, steps=3, tol=1e-5)
    loaded = save_load_predict(r_model, x, tmp_path)
    assert type(loaded.layers[-1]).__name__ == "Conv1DTranspose"
    theirs = keras.models.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(theirs.predict(x, verbose=0), r_model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)
    assert_bad_argument(lambda L: L.Conv1DTranspose(2, 3, padding="causal"), ValueError,
                        "padding='causal'")
    assert_bad_argument(lambda L: L.Conv1DTranspose(2, 3, output_padding=1), ValueError,
                        "output_padding=(1,), strides=(1,)")
