"""The 2D/3D spatial layers (pooling, adaptive pooling, global pooling, zero padding,
cropping, up-sampling, spatial dropout) against Keras 3: outputs and gradients with equal
inputs in both layouts, TensorFlow's tie rules, finite differences in float64, configs,
.keras files both ways, and a Dense → MaxPooling2D → Reshape → LSTM model trained in both."""
import json

import numpy as np
import pytest

import rnncore
from _layer_grads import assert_close_to_keras, finite_difference_check
from _layer_parity import assert_bad_argument, assert_pickles
from _parity import train_pair_on_batch

CF = {"data_format": "channels_first"}

# id: (class name, args, kwargs, input shape)
CASES = {
    "max2d": ("MaxPooling2D", (), {}, (2, 7, 6, 3)),
    "max2d-3-1-same": ("MaxPooling2D", (3, 1, "same"), {}, (2, 5, 6, 2)),
    "max2d-rect-cf": ("MaxPooling2D", ((3, 2), (2, 1), "valid"), CF, (2, 3, 7, 6)),
    "max2d-2-3-same-cf": ("MaxPooling2D", (2, 3, "same"), CF, (2, 2, 7, 5)),
    "avg2d-same": ("AveragePooling2D", (3, 2, "same"), {}, (2, 7, 6, 3)),
    "avg2d-valid": ("AveragePooling2D", ((2, 3),), {}, (2, 6, 7, 2)),
    "avg2d-same-cf": ("AveragePooling2D", (2, 1, "same"), CF, (2, 3, 5, 4)),
    "max3d": ("MaxPooling3D", (), {}, (2, 4, 5, 6, 2)),
    "max3d-same-cf": ("MaxPooling3D", (3, 2, "same"), CF, (2, 2, 5, 4, 3)),
    "avg3d-same": ("AveragePooling3D", (2, 1, "same"), {}, (2, 3, 4, 3, 2)),
    "avg3d-cf": ("AveragePooling3D", ((1, 2, 3),), CF, (2, 2, 3, 4, 6)),
    "adaptive-max1d": ("AdaptiveMaxPooling1D", (4,), {}, (2, 10, 3)),
    "adaptive-avg1d-cf": ("AdaptiveAveragePooling1D", (3,), CF, (2, 3, 7)),
    "adaptive-max2d": ("AdaptiveMaxPooling2D", ((3, 4),), {}, (2, 7, 9, 3)),
    "adaptive-avg2d-up": ("AdaptiveAveragePooling2D", ((5, 6),), {}, (2, 3, 4, 2)),
    "adaptive-max2d-cf": ("AdaptiveMaxPooling2D", (2,), CF, (2, 3, 5, 5)),
    "adaptive-avg3d": ("AdaptiveAveragePooling3D", ((2, 3, 4),), {}, (2, 5, 6, 7, 2)),
    "adaptive-max3d-cf": ("AdaptiveMaxPooling3D", ((2, 2, 3),), CF, (2, 2, 4, 5, 7)),
    "gap2d": ("GlobalAveragePooling2D", (), {}, (2, 4, 5, 3)),
    "gmp2d-keep-cf": ("GlobalMaxPooling2D", (), {"keepdims": True, **CF}, (2, 3, 4, 5)),
    "gap3d-keep": ("GlobalAveragePooling3D", (), {"keepdims": True}, (2, 3, 4, 2, 3)),
    "gmp3d-cf": ("GlobalMaxPooling3D", (), CF, (2, 3, 2, 4, 3)),
    "zpad2d": ("ZeroPadding2D", (((1, 0), (2, 3)),), {}, (2, 3, 4, 2)),
    "zpad2d-int-cf": ("ZeroPadding2D", (2,), CF, (2, 2, 3, 4)),
    "zpad3d": ("ZeroPadding3D", ((1, 2, (0, 1)),), {}, (2, 2, 3, 2, 2)),
    "crop2d": ("Cropping2D", (((1, 0), (2, 1)),), {}, (2, 5, 6, 3)),
    "crop2d-cf": ("Cropping2D", ((1, 2),), CF, (2, 3, 5, 6)),
    "crop3d": ("Cropping3D", (), {}, (2, 4, 5, 3, 2)),
    "crop3d-cf": ("Cropping3D", (((0, 1), 1, (2, 0)),), CF, (2, 2, 4, 5, 3)),
    "up2d": ("UpSampling2D", ((2, 3),), {}, (2, 3, 2, 4)),
    "up2d-bilinear": ("UpSampling2D", (), {"interpolation": "bilinear"}, (2, 3, 4, 2)),
    "up2d-bilinear-3-cf": ("UpSampling2D", ((3, 2),), {"interpolation": "bilinear", **CF},
                           (2, 2, 4, 3)),
    "up3d": ("UpSampling3D", ((1, 2, 3),), {}, (2, 2, 3, 2, 2)),
    "up3d-cf": ("UpSampling3D", (2,), CF, (2, 2, 2, 3, 2)),
}


def make(lib, case, **extra):
    cls, args, kwargs, _ = CASES[case]
    return getattr(lib.layers, cls)(*args, **kwargs, **extra)


def data(case, rng, dtype="float32"):
    return rng.standard_normal(CASES[case][3]).astype(dtype)


@pytest.mark.parametrize("case", sorted(CASES))
def test_outputs_and_gradients_match_keras(keras, tf, rng, case):
    x = data(case, rng)
    out = assert_close_to_keras(tf, make(keras, case), make(rnncore, case), x)
    assert out.shape == make(rnncore, case).compute_output_shape(x.shape)


@pytest.mark.parametrize("case", ["max2d-3-1-same", "max2d-rect-cf", "max3d", "max3d-same-cf",
                                  "adaptive-max2d", "adaptive-max3d-cf", "gmp2d-keep-cf"])
def test_tied_maxima_share_the_gradient_as_tensorflow(keras, tf, rng, case):
    """Ties (0/1 inputs): in 1D/2D the window's first maximum takes the gradient, in 3D
    every tied maximum takes all of it (TensorFlow's MaxPool3DGrad), global pooling splits
    it evenly (reduce_max)."""
    x = rng.integers(0, 2, CASES[case][3]).astype("float32")
    assert_close_to_keras(tf, make(keras, case), make(rnncore, case), x)


@pytest.mark.parametrize("case", ["max2d-3-1-same", "avg2d-same", "avg3d-cf", "max3d-same-cf",
                                  "adaptive-max2d", "adaptive-avg3d", "gmp3d-cf", "gap2d",
                                  "zpad3d", "crop2d-cf", "up2d-bilinear-3-cf", "up3d"])
def test_gradients_match_finite_differences(rng, case):
    shape = tuple(min(n, 5) for n in CASES[case][3])
    finite_difference_check(make(rnncore, case, dtype="float64"), rng.standard_normal(shape))


@pytest.mark.parametrize("case", sorted(CASES))
def test_config_and_symbolic_shape_as_keras(keras, case):
    k_layer, r_layer = make(keras, case, name="sp"), make(rnncore, case, name="sp")
    shape = (None,) + CASES[case][3][1:]
    assert r_layer.compute_output_shape(shape) == tuple(k_layer.compute_output_shape(shape))
    k_config, r_config = k_layer.get_config(), r_layer.get_config()
    assert json.loads(json.dumps(r_config)) == json.loads(json.dumps(k_config))
    clone = type(r_layer).from_config(json.loads(json.dumps(r_config)))
    assert clone.get_config() == r_config
    assert rnncore.layers.deserialize(rnncore.layers.serialize(r_layer)).get_config() == r_config


@pytest.mark.parametrize("case", sorted(CASES))
def test_pickles_without_the_last_forward(rng, case):
    assert_pickles(make(rnncore, case), data(case, rng))


def test_aliases_are_keras_names(keras):
    for alias in ("MaxPool2D", "MaxPool3D", "AvgPool2D", "AvgPool3D", "GlobalAvgPool2D",
                  "GlobalAvgPool3D", "GlobalMaxPool2D", "GlobalMaxPool3D"):
        name = getattr(keras.layers, alias).__name__
        assert getattr(rnncore.layers, alias) is getattr(rnncore.layers, name)
        assert alias in rnncore.layers.__all__ and name in rnncore.layers.__all__


@pytest.mark.parametrize("dims", [2, 3])
def test_spatial_dropout_drops_whole_channels(rng, dims):
    cls = getattr(rnncore.layers, f"SpatialDropout{dims}D")
    shape = (16,) + (3,) * dims + (8,)
    x = np.ones(shape, "float32")
    for layer, channel_axis in ((cls(0.5, seed=3), -1), (cls(0.5, "channels_first"), 1)):
        np.testing.assert_array_equal(layer(x), x)  # identity at inference
        y = np.asarray(layer(x, training=True))
        assert set(np.unique(y)) <= {0.0, 2.0} and 0 < (y == 0).mean() < 1
        # one draw per (sample, channel), the same in every cell
        moved = np.moveaxis(y, channel_axis, 1).reshape(16, shape[channel_axis], -1)
        assert (moved == moved[..., :1]).all()
        np.testing.assert_array_equal(layer.backward(np.ones_like(y)), y)


@pytest.mark.parametrize("dims", [2, 3])
def test_spatial_dropout_config_as_keras(keras, dims):
    name = f"SpatialDropout{dims}D"
    k = getattr(keras.layers, name)(0.3, "channels_first", seed=4, name="d")
    r = getattr(rnncore.layers, name)(0.3, "channels_first", seed=4, name="d")
    assert json.loads(json.dumps(r.get_config())) == json.loads(json.dumps(k.get_config()))
    assert_pickles(r, np.ones((2,) + (2,) * dims + (3,), "float32"))


def _spatial_model(lib):
    """Every new layer in one model (inference path): a 2D and a 3D branch, joined by a
    Dense."""
    L = lib.layers
    image, volume = lib.Input((8, 6, 3)), lib.Input((4, 6, 5, 2))
    x = L.ZeroPadding2D(((1, 0), (0, 2)))(image)
    x = L.Cropping2D((1, (1, 0)))(x)
    x = L.MaxPooling2D(2, 1, "same")(x)
    x = L.UpSampling2D((2, 1), interpolation="bilinear")(x)
    x = L.AveragePooling2D(3, 2, "same")(x)
    x = L.SpatialDropout2D(0.2)(x)
    pooled = [L.GlobalMaxPooling2D()(L.AdaptiveAveragePooling2D((3, 2))(x)),
              L.GlobalAveragePooling2D()(L.AdaptiveMaxPooling2D(2, "channels_first")(x))]
    v = L.ZeroPadding3D(1)(volume)
    v = L.Cropping3D(((1, 0), 1, (0, 1)))(v)
    v = L.MaxPooling3D(2)(v)
    v = L.UpSampling3D((1, 2, 1))(v)
    v = L.AveragePooling3D(2, 1, "same")(v)
    v = L.SpatialDropout3D(0.2)(v)
    pooled += [L.GlobalMaxPooling3D()(L.AdaptiveAveragePooling3D((2, 3, 2))(v)),
               L.GlobalAveragePooling3D()(L.AdaptiveMaxPooling3D(2)(v)),
               L.Flatten()(L.AdaptiveAveragePooling1D(2)(L.AdaptiveMaxPooling1D(3)(
                   L.Reshape((-1, 2))(v))))]
    return lib.Model([image, volume], L.Dense(2)(L.Concatenate()(pooled)))


def test_keras_files_both_ways(keras, tmp_path, rng):
    x = [rng.standard_normal((3, 8, 6, 3)).astype("float32"),
         rng.standard_normal((3, 4, 6, 5, 2)).astype("float32")]
    k_model = _spatial_model(keras)
    want = k_model.predict(x, verbose=0)
    k_model.save(tmp_path / "k.keras")
    loaded = rnncore.models.load_model(tmp_path / "k.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), want, atol=1e-5)
    r_model = _spatial_model(rnncore)
    r_model.set_weights(k_model.get_weights())
    np.testing.assert_allclose(r_model.predict(x, verbose=0), want, atol=1e-5)
    r_model.save(tmp_path / "r.keras")
    back = keras.models.load_model(tmp_path / "r.keras")
    np.testing.assert_allclose(back.predict(x, verbose=0), want, atol=1e-5)
    assert [type(layer).__name__ for layer in back.layers] == \
        [type(layer).__name__ for layer in r_model.layers]


def _ocr_like(lib):
    """keras-io's OCR model in small: features per pixel (Dense on the channels), 2D
    pooling (both layouts), the rows read as a sequence by an LSTM."""
    L = lib.layers
    inp = lib.Input((8, 6, 3))
    x = L.MaxPooling2D((2, 1))(L.Dense(4, activation="relu")(inp))
    x = L.Permute((3, 1, 2))(x)
    x = L.AveragePooling2D(2, 1, padding="same", data_format="channels_first")(x)
    x = L.Reshape((4, -1))(L.Permute((2, 3, 1))(x))
    return lib.Model(inp, L.Dense(1, activation="sigmoid")(L.LSTM(5)(x)))


def test_pooled_lstm_model_trains_as_keras(keras, rng):
    k_model, r_model = _ocr_like(keras), _ocr_like(rnncore)
    r_model.set_weights(k_model.get_weights())
    for model, lib in ((k_model, keras), (r_model, rnncore)):
        model.compile(lib.optimizers.Adam(0.01), "binary_crossentropy")
    x = rng.standard_normal((16, 8, 6, 3)).astype("float32")
    y = (x[:, :4, :, 0].mean(axis=(1, 2)) > 0).astype("float32")
    train_pair_on_batch(k_model, r_model, x, y, steps=3)


def test_pooled_3d_model_trains_as_keras(keras, rng):
    models = []
    for lib in (keras, rnncore):
        L = lib.layers
        inp = lib.Input((4, 6, 4, 2))
        x = L.AdaptiveMaxPooling3D((4, 3, 2))(L.Dense(3, activation="tanh")(inp))
        x = L.UpSampling3D((1, 1, 2))(L.MaxPooling3D((1, 1, 2))(x))
        x = L.Reshape((4, -1))(L.AveragePooling3D((1, 2, 1), padding="same")(x))
        model = lib.Model(inp, L.Dense(1)(L.Flatten()(x)))
        model.compile(lib.optimizers.RMSprop(0.01), "mse")
        models.append(model)
    k_model, r_model = models
    r_model.set_weights(k_model.get_weights())
    x = rng.standard_normal((8, 4, 6, 4, 2)).astype("float32")
    train_pair_on_batch(k_model, r_model, x, x.mean(axis=(1, 2, 3, 4))[:, None], steps=3)


BAD = [
    (lambda L: L.MaxPooling2D(0), ValueError, "pool_size=0"),
    (lambda L: L.MaxPooling2D((2, 2, 2)), ValueError, "pool_size=(2, 2, 2)"),
    (lambda L: L.AveragePooling3D(2, strides=(1, -1, 1)), ValueError, "strides=(1, -1, 1)"),
    (lambda L: L.MaxPooling2D(2, padding="causal"), ValueError, "padding='causal'"),
    (lambda L: L.MaxPooling3D(data_format="nhwc"), ValueError, "data_format='nhwc'"),
    (lambda L: L.GlobalAveragePooling2D("nchw"), ValueError, "data_format='nchw'"),
    (lambda L: L.AdaptiveMaxPooling2D((2, 2, 2)), TypeError, "output_size=(2, 2, 2)"),
    (lambda L: L.AdaptiveAveragePooling1D(0), ValueError, "output_size=0"),
    (lambda L: L.ZeroPadding2D((1, 2, 3)), ValueError, "padding=(1, 2, 3)"),
    (lambda L: L.ZeroPadding3D(((1, -1), 1, 1)), ValueError, "padding=(1, -1)"),
    (lambda L: L.Cropping2D(-1), ValueError, "cropping=-1"),
    (lambda L: L.Cropping3D("x"), ValueError, "cropping='x'"),
    (lambda L: L.UpSampling2D((2, 0)), ValueError, "size=(2, 0)"),
    (lambda L: L.UpSampling2D(interpolation="cubic"), ValueError, "interpolation='cubic'"),
    (lambda L: L.UpSampling2D(interpolation="bicubic"), NotImplementedError, "'bicubic'"),
    (lambda L: L.SpatialDropout2D(1.5), ValueError, "rate=1.5"),
]


@pytest.mark.parametrize("case", range(len(BAD)))
def test_bad_arguments_name_the_argument_and_value(case):
    assert_bad_argument(*BAD[case])


def test_bad_inputs_are_clear_errors():
    L = rnncore.layers
    with pytest.raises(ValueError, match="Computed output size would be zero or negative"):
        L.MaxPooling2D(3)(np.ones((1, 2, 5, 1), "float32"))
    with pytest.raises(ValueError, match="must be 4D"):
        L.AveragePooling2D(2)(np.ones((1, 4, 4), "float32"))
    with pytest.raises(ValueError, match="expected ndim=5, found ndim=4"):
        L.MaxPooling3D()(rnncore.Input((4, 4, 3)))
    with pytest.raises(ValueError, match="should be smaller than the corresponding spatial"):
        L.Cropping2D((2, 0))(np.ones((1, 4, 4, 1), "float32"))
    with pytest.raises(ValueError, match="must be 5D"):
        L.GlobalMaxPooling3D()(np.ones((1, 4, 4, 1), "float32"))
