"""Conv2D and Conv3D against Keras 3: outputs and gradients (padding, strides, dilation,
groups, channels_first), finite differences in float64, config and ``.keras`` files both ways,
the argument errors, and the keras-io OCR model's shape (Conv2D -> Reshape -> Bidirectional
LSTM) trained in both libraries."""
import numpy as np
import pytest

import rnncore
from rnncore import layers

from _layer_grads import assert_close_to_keras, finite_difference_check
from _layer_parity import assert_bad_argument, assert_loads_across, assert_pickles
from _parity import build_pair, train_pair_on_batch

CONV2D_CASES = [
    dict(padding="valid"),
    dict(padding="same", activation="relu"),
    dict(padding="same", strides=2),
    dict(padding="valid", strides=(2, 3), kernel_size=(2, 3)),
    dict(padding="same", dilation_rate=(2, 1), activation="tanh"),
    dict(padding="same", groups=2),
    dict(padding="same", strides=2, data_format="channels_first"),
    dict(padding="valid", use_bias=False, kernel_size=1),
]


def _ids(kwargs):
    return "-".join(f"{k}={v}" for k, v in kwargs.items())


@pytest.mark.parametrize("kwargs", CONV2D_CASES, ids=_ids)
def test_conv2d_matches_keras(keras, tf, rng, kwargs):
    kwargs = {"kernel_size": 3, **kwargs}
    shape = (3, 4, 9, 8) if kwargs.get("data_format") == "channels_first" else (3, 9, 8, 4)
    x = rng.standard_normal(shape).astype(np.float32)
    out = assert_close_to_keras(tf, keras.layers.Conv2D(6, **kwargs),
                                layers.Conv2D(6, **kwargs), x)
    assert out.shape == tuple(keras.layers.Conv2D(6, **kwargs).compute_output_shape(shape))


@pytest.mark.parametrize("kwargs", [dict(padding="same"), dict(strides=(1, 2, 2)),
                                    dict(padding="same", groups=2, activation="relu")],
                         ids=_ids)
def test_conv3d_matches_keras(keras, tf, rng, kwargs):
    x = rng.standard_normal((2, 4, 6, 5, 2)).astype(np.float32)
    assert_close_to_keras(tf, keras.layers.Conv3D(4, 3, **kwargs),
                          layers.Conv3D(4, 3, **kwargs), x)


def test_conv3d_channels_first_matches_keras(keras, rng):
    # Keras's TensorFlow backend runs channels_first 3D convolutions through XLA: compared on
    # the outputs only
    x = rng.standard_normal((2, 2, 4, 5, 5)).astype(np.float32)
    k_layer = keras.layers.Conv3D(3, 2, padding="same", data_format="channels_first")
    r_layer = layers.Conv3D(3, 2, padding="same", data_format="channels_first")
    want = np.asarray(k_layer(x))
    r_layer.build(x.shape)
    r_layer.set_weights(k_layer.get_weights())
    np.testing.assert_allclose(r_layer(x), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("make,shape", [
    (lambda: layers.Conv2D(2, (2, 3), strides=(2, 1), padding="same", activation="tanh",
                           dtype="float64"), (2, 5, 4, 2)),
    (lambda: layers.Conv2D(4, 2, groups=2, data_format="channels_first", dtype="float64"),
     (2, 4, 3, 3)),
    (lambda: layers.Conv3D(2, 2, padding="same", dilation_rate=(1, 2, 1), dtype="float64"),
     (1, 3, 4, 3, 2)),
], ids=["2d-strided-tanh", "2d-grouped-channels-first", "3d-dilated"])
def test_gradients_match_finite_differences(rng, make, shape):
    finite_difference_check(make(), rng.standard_normal(shape))


@pytest.mark.parametrize("name", ["Conv2D", "Conv3D"])
def test_config_is_kerass_and_round_trips(keras, name):
    kwargs = dict(strides=2, padding="same", activation="relu", groups=2,
                  kernel_regularizer="l2", use_bias=False)
    r_layer = getattr(layers, name)(4, 3, **kwargs)
    k_config = getattr(keras.layers, name)(4, 3, **kwargs).get_config()
    config = r_layer.get_config()
    assert set(config) == set(k_config)
    for key in ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate",
                "groups", "activation", "use_bias"):
        assert config[key] == k_config[key], key
    for clone in (getattr(layers, name).from_config(config),
                  layers.deserialize(layers.serialize(r_layer))):
        assert type(clone) is type(r_layer) and clone.get_config()["groups"] == 2
    assert layers.Convolution2D is layers.Conv2D and layers.Convolution3D is layers.Conv3D


def test_conv2d_pickles_without_its_cache(rng):
    assert_pickles(layers.Conv2D(3, 3, padding="same"),
                   rng.standard_normal((2, 6, 5, 2)).astype(np.float32))


def _image_model(lib):
    inp = lib.Input((12, 10, 2))
    h = lib.layers.Conv2D(4, 3, padding="same", activation="relu",
                          data_format="channels_last")(inp)
    h = lib.layers.Conv2D(3, (3, 2), strides=2, groups=1, name="second")(h)
    h = lib.layers.Reshape((1, 5 * 5 * 3))(h)[:, 0]
    return lib.Model(inp, lib.layers.Dense(2)(h))


def _volume_model(lib):
    return lib.Sequential([lib.Input((3, 6, 6, 2)), lib.layers.Conv3D(4, 3, padding="same"),
                           lib.layers.Flatten(), lib.layers.Dense(2)])


@pytest.mark.parametrize("make", [_image_model, _volume_model], ids=["conv2d", "conv3d"])
def test_keras_files_cross_over_both_ways(keras, rng, tmp_path, make):
    x = rng.standard_normal((4,) + make(rnncore).input_shape[1:]).astype(np.float32)
    k_model = make(keras)
    k_model.save(tmp_path / "k.keras")
    from_keras = rnncore.models.load_model(tmp_path / "k.keras")
    want = k_model.predict(x, verbose=0)
    np.testing.assert_allclose(from_keras.predict(x, verbose=0), want, rtol=1e-5, atol=1e-5)
    from_keras.save(tmp_path / "r.keras")
    back = keras.models.load_model(tmp_path / "r.keras")
    np.testing.assert_allclose(back.predict(x, verbose=0), want, rtol=1e-5, atol=1e-5)
    assert [w.name for w in back.weights] == [w.name for w in k_model.weights]


def test_ocr_model_trains_as_in_keras(keras, rng):
    """keras-io's OCR captcha shape: Conv2D -> Conv2D -> Reshape -> Dense ->
    Bidirectional(LSTM) -> softmax over characters, a few steps of Adam."""
    spec = [("Conv2D", (8, 3), {"padding": "same", "activation": "relu"}),
            ("Conv2D", (8, 3), {"strides": 2, "padding": "same"}),
            ("Reshape", ((16, 64),), {}),
            ("Dense", (16,), {}),
            ("Bidirectional", (("LSTM", (8,), {"return_sequences": True}),), {}),
            ("Dense", (5,), {"activation": "softmax"})]
    k_model, r_model = build_pair(keras, spec, (32, 16, 1))
    for model in (k_model, r_model):
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = rng.standard_normal((8, 32, 16, 1)).astype(np.float32)
    y = rng.integers(0, 5, (8, 16))
    train_pair_on_batch(k_model, r_model, x, y, steps=3)


@pytest.mark.parametrize("make,error,text", [
    (lambda m: m.Conv2D(0, 3), ValueError, "filters=0"),
    (lambda m: m.Conv2D(4, (3, 3, 3)), ValueError, "kernel_size=(3, 3, 3)"),
    (lambda m: m.Conv2D(4, 3, strides=(1, 0)), ValueError, "strides=(1, 0)"),
    (lambda m: m.Conv2D(4, 3, padding="causal"), ValueError, "padding='causal'"),
    (lambda m: m.Conv2D(4, 3, data_format="nhwc"), ValueError, "data_format='nhwc'"),
    (lambda m: m.Conv2D(4, 3, groups=3), ValueError, "groups=3, filters=4"),
    (lambda m: m.Conv2D(4, 3, strides=2, dilation_rate=2), ValueError, "dilation_rate"),
    (lambda m: m.Conv3D(4, 3, use_bias="no"), TypeError, "use_bias='no'"),
    (lambda m: m.DepthwiseConv2D(3, depth_multiplier=0), ValueError, "depth_multiplier=0"),
    (lambda m: m.SeparableConv2D(0, 3), ValueError, "filters=0"),
    (lambda m: m.Conv2DTranspose(4, 3, strides=2, output_padding=2), ValueError,
     "output_padding=(2, 2), strides=(2, 2)"),
    (lambda m: m.Conv2D(4, 3, groups=2)(np.ones((1, 5, 5, 3), "float32")), ValueError,
     "groups=2, but the input has 3 channels"),
    (lambda m: m.Conv2D(4, 3)(np.ones((1, 5, 5), "float32")), ValueError, "shape (1, 5, 5)"),
    (lambda m: m.Conv2D(4, 3)(np.ones((1, 2, 5, 1), "float32")), ValueError,
     "Computed output size would be zero or negative"),
])
def test_bad_arguments_are_named(make, error, text):
    assert_bad_argument(lambda lib: make(lib), error, text)


# ---- Conv2DTranspose / Conv3DTranspose -----------------------------------------------------
TRANSPOSE_CASES = [
    ("Conv2DTranspose", dict(padding="valid"), (2, 4, 5, 3)),
    ("Conv2DTranspose", dict(strides=2, padding="same", activation="relu"), (2, 4, 5, 3)),
    ("Conv2DTranspose", dict(strides=(3, 2), padding="same", output_padding=(2, 0)),
     (2, 4, 3, 3)),
    ("Conv2DTranspose", dict(strides=2, output_padding=1, use_bias=False), (2, 3, 4, 3)),
    ("Conv2DTranspose", dict(strides=2, padding="same", data_format="channels_first"),
     (2, 3, 4, 5)),
    ("Conv3DTranspose", dict(strides=(1, 2, 2), padding="same"), (2, 3, 3, 4, 2)),
]


@pytest.mark.parametrize("name,kwargs,shape", TRANSPOSE_CASES,
                         ids=[f"{n}-{_ids(k)}" for n, k, _ in TRANSPOSE_CASES])
def test_conv_transpose_matches_keras(keras, tf, rng, name, kwargs, shape):
    x = rng.standard_normal(shape).astype(np.float32)
    k_layer, r_layer = getattr(keras.layers, name)(4, 3, **kwargs), \
        getattr(layers, name)(4, 3, **kwargs)
    out = assert_close_to_keras(tf, k_layer, r_layer, x)
    assert out.shape == tuple(k_layer.compute_output_shape(shape))
    theirs, ours = k_layer.get_config(), r_layer.get_config()
    assert set(theirs) == set(ours)
    for key in ("kernel_size", "strides", "padding", "output_padding", "data_format"):
        assert ours[key] == theirs[key], key
    assert type(r_layer).from_config(ours).get_config() == ours


def test_conv2d_transpose_gradients_match_finite_differences(rng):
    layer = layers.Conv2DTranspose(2, (3, 2), strides=(2, 3), padding="same",
                                   output_padding=(1, 2), activation="tanh", dtype="float64")
    finite_difference_check(layer, rng.standard_normal((2, 3, 2, 2)))


def test_conv2d_autoencoder_trains_and_crosses_over_as_keras(keras, rng, tmp_path):
    def make(lib):
        L = lib.layers
        return lib.Sequential([
            lib.Input((8, 6, 1)), L.Conv2D(4, 3, strides=2, padding="same", activation="relu"),
            L.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu"),
            L.Convolution2D(1, 3, padding="same")])
    k_model, r_model = make(keras), make(rnncore)
    r_model.set_weights(k_model.get_weights())
    k_model.compile(keras.optimizers.Adam(0.01), "mse")
    r_model.compile(rnncore.optimizers.Adam(0.01), "mse")
    x = rng.standard_normal((6, 8, 6, 1)).astype("float32")
    train_pair_on_batch(k_model, r_model, x, x, steps=3)
    ours = assert_loads_across(keras, r_model, k_model, x, tmp_path, rtol=1e-5, atol=1e-6)
    assert type(ours.layers[1]).__name__ == "Conv2DTranspose"


# ---- DepthwiseConv1D/2D, SeparableConv1D/2D --------------------------------------------------
DEPTHWISE_CASES = [
    ("DepthwiseConv1D", (3,), dict(padding="same", depth_multiplier=2), (2, 9, 3)),
    ("DepthwiseConv1D", (2,), dict(strides=2, activation="relu"), (2, 9, 3)),
    ("DepthwiseConv2D", (3,), dict(padding="same"), (2, 6, 5, 3)),
    ("DepthwiseConv2D", ((3, 2),), dict(strides=2, depth_multiplier=3, use_bias=False),
     (2, 7, 6, 2)),
    ("DepthwiseConv2D", (3,), dict(dilation_rate=2, data_format="channels_first"),
     (2, 3, 7, 6)),
    ("SeparableConv1D", (4, 3), dict(padding="same", depth_multiplier=2), (2, 9, 3)),
    ("SeparableConv2D", (4, 3), dict(strides=2, padding="same", activation="relu"),
     (2, 7, 6, 3)),
    ("SeparableConv2D", (5, (2, 3)), dict(depth_multiplier=2, use_bias=False,
                                          data_format="channels_first"), (2, 3, 6, 5)),
]


@pytest.mark.parametrize("name,args,kwargs,shape", DEPTHWISE_CASES,
                         ids=[f"{n}-{_ids(k)}" for n, _, k, _ in DEPTHWISE_CASES])
def test_depthwise_and_separable_match_keras(keras, tf, rng, name, args, kwargs, shape):
    x = rng.standard_normal(shape).astype(np.float32)
    k_layer = getattr(keras.layers, name)(*args, **kwargs)
    r_layer = getattr(layers, name)(*args, **kwargs)
    out = assert_close_to_keras(tf, k_layer, r_layer, x)
    assert out.shape == tuple(k_layer.compute_output_shape(shape))
    theirs, ours = k_layer.get_config(), r_layer.get_config()
    assert set(theirs) == set(ours)
    for key in ("kernel_size", "strides", "padding", "depth_multiplier", "dilation_rate",
                "data_format", "use_bias", "activation"):
        assert ours[key] == theirs[key], key
    assert layers.deserialize(layers.serialize(r_layer)).get_config() == ours


@pytest.mark.parametrize("make,shape", [
    (lambda: layers.DepthwiseConv2D(2, strides=(1, 2), depth_multiplier=2, padding="same",
                                    dtype="float64"), (2, 4, 5, 2)),
    (lambda: layers.SeparableConv1D(3, 3, dilation_rate=2, activation="tanh", dtype="float64"),
     (2, 7, 2)),
], ids=["depthwise2d", "separable1d"])
def test_depthwise_and_separable_gradients_match_finite_differences(rng, make, shape):
    finite_difference_check(make(), rng.standard_normal(shape))


def test_separable_model_trains_and_crosses_over_as_keras(keras, rng, tmp_path):
    def make(lib):
        L = lib.layers
        return lib.Sequential([
            lib.Input((10, 8, 2)),
            L.SeparableConv2D(4, 3, padding="same", activation="relu",
                              depthwise_regularizer="l2"),
            L.DepthwiseConv2D(3, strides=2, depth_multiplier=2),
            L.Reshape((4, 3 * 8)), L.SeparableConvolution1D(3, 2),
            L.DepthwiseConv1D(2, padding="same"), L.Flatten(), L.Dense(2)])
    k_model, r_model = make(keras), make(rnncore)
    r_model.set_weights(k_model.get_weights())
    k_model.compile(keras.optimizers.SGD(0.05), "mse")
    r_model.compile(rnncore.optimizers.SGD(0.05), "mse")
    x = rng.standard_normal((6, 10, 8, 2)).astype("float32")
    y = rng.standard_normal((6, 2)).astype("float32")
    train_pair_on_batch(k_model, r_model, x, y, steps=3)
    assert_loads_across(keras, r_model, k_model, x, tmp_path, rtol=1e-5, atol=1e-6)


def test_captcha_ocr_model_with_pooling_and_ctc_trains_as_in_keras(keras, rng):
    """keras-io's "OCR model for reading Captchas", scaled down and without dropout:
    Conv2D -> MaxPooling2D -> Conv2D -> MaxPooling2D -> Reshape -> Dense ->
    Bidirectional(LSTM) -> softmax, trained on the CTC loss."""
    spec = [("Conv2D", (8, 3), {"activation": "relu", "kernel_initializer": "he_normal",
                                "padding": "same"}),
            ("MaxPooling2D", ((2, 2),), {}),
            ("Conv2D", (16, 3), {"activation": "relu", "padding": "same"}),
            ("MaxPooling2D", ((2, 2),), {}),
            ("Reshape", ((8, 4 * 16),), {}),
            ("Dense", (16,), {"activation": "relu"}),
            ("Bidirectional", (("LSTM", (16,), {"return_sequences": True}),), {}),
            ("Dense", (7,), {"activation": "softmax"})]
    k_model, r_model = build_pair(keras, spec, (32, 16, 1))
    for lib, model in ((keras, k_model), (rnncore, r_model)):
        model.compile(optimizer=lib.optimizers.Adam(), loss=lib.losses.CTC())
    x = rng.random((8, 32, 16, 1)).astype(np.float32)
    y = rng.integers(1, 7, (8, 4)).astype(np.float32)
    train_pair_on_batch(k_model, r_model, x, y, steps=3)


@pytest.mark.parametrize("kernel_size", [(1, 0), (3,), "x"])
def test_a_bad_kernel_size_gets_keras_own_words(keras, kernel_size):
    messages = []
    for lib in (keras, rnncore):
        with pytest.raises(ValueError) as info:
            lib.layers.Conv2D(2, kernel_size)
        messages.append(str(info.value))
    assert messages[1] == messages[0]
