"""The issue-12 layers' surface: Keras's config keys, config and save/load round trips,
pickling, and errors that name the argument and value."""
import copy
import pickle

import numpy as np
import pytest

import rnncore
from rnncore import layers

LAYERS = {
    "LayerNormalization": ((), {"axis": [1, 2], "epsilon": 0.01, "center": False}),
    "BatchNormalization": ((), {"momentum": 0.9, "scale": False,
                                "moving_variance_initializer": "zeros"}),
    "Conv1D": ((6, 3), {"strides": 2, "padding": "same", "activation": "relu",
                        "use_bias": False}),
    "MaxPooling1D": ((3,), {"strides": 1, "padding": "same"}),
    "AveragePooling1D": ((2,), {}),
    "Attention": ((), {"use_scale": True, "score_mode": "concat", "dropout": 0.1,
                       "seed": 4}),
    "AdditiveAttention": ((), {"use_scale": False}),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_config_has_keras_keys_and_round_trips(keras, name):
    args, kwargs = LAYERS[name]
    layer = getattr(layers, name)(*args, **kwargs)
    config = layer.get_config()
    k_config = getattr(keras.layers, name)(*args, **kwargs).get_config()
    assert set(config) == set(k_config)
    plain = ("axis", "epsilon", "center", "scale", "momentum", "filters", "kernel_size",
             "strides", "padding", "dilation_rate", "groups", "activation", "use_bias",
             "pool_size", "use_scale", "score_mode", "dropout", "seed")
    for key in plain:
        if key in k_config:
            assert config[key] == k_config[key], key
    for clone in (getattr(layers, name).from_config(config),
                  layers.deserialize(layers.serialize(layer))):
        assert type(clone) is type(layer) and clone.get_config() == config


def _program(lib):
    """Every sequence layer of issue 12 in one Sequential model."""
    return lib.Sequential([lib.Input(shape=(12, 3)),
                           lib.layers.Conv1D(6, 3, padding="causal", activation="relu"),
                           lib.layers.BatchNormalization(),
                           lib.layers.MaxPooling1D(2, padding="same"),
                           lib.layers.AveragePooling1D(2, strides=1),
                           lib.layers.LSTM(4, return_sequences=True),
                           lib.layers.LayerNormalization(),
                           lib.layers.LSTM(3),
                           lib.layers.Dense(1)])


def _trained(rng):
    model = _program(rnncore)
    model.compile("adam", "mse")
    x = rng.standard_normal((32, 12, 3)).astype(np.float32)
    model.fit(x, x[:, -3:, 0].sum(axis=1), epochs=2, batch_size=8, verbose=0)
    return model, x


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_save_and_load_keep_weights_and_moving_statistics(tmp_path, rng, suffix):
    model, x = _trained(rng)
    model.save(tmp_path / f"m{suffix}")
    loaded = rnncore.models.load_model(tmp_path / f"m{suffix}")
    assert [w.name for w in loaded.weights] == [w.name for w in model.weights]
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("copier", [lambda m: pickle.loads(pickle.dumps(m)), copy.deepcopy],
                         ids=["pickle", "deepcopy"])
def test_models_and_layers_copy_without_their_last_pass(rng, copier):
    model, x = _trained(rng)
    clone = copier(model)
    for layer in clone.layers:
        assert getattr(layer, "_cache", None) is None
    np.testing.assert_array_equal(clone.predict(x, verbose=0), model.predict(x, verbose=0))
    q, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4))
    att = layers.Attention(use_scale=True)
    att([q, v])
    att.backward(np.ones((2, 3, 4), np.float32))
    copied = copier(att)
    assert copied._cache is None
    np.testing.assert_array_equal(copied([q, v]), att([q, v]))


def test_a_functional_attention_model_saves_and_loads(tmp_path, rng):
    enc = rnncore.Input(shape=(6, 3))
    dec = rnncore.Input(shape=(4, 3))
    e = rnncore.layers.LSTM(5, return_sequences=True)(enc)
    d = rnncore.layers.LSTM(5, return_sequences=True)(dec)
    out = rnncore.layers.Dense(2)(rnncore.layers.AdditiveAttention()([d, e]))
    model = rnncore.Model([enc, dec], out)
    xs = [rng.standard_normal((3, 6, 3)), rng.standard_normal((3, 4, 3))]
    model.save(tmp_path / "att.keras")
    loaded = rnncore.models.load_model(tmp_path / "att.keras")
    np.testing.assert_array_equal(loaded.predict(xs, verbose=0), model.predict(xs, verbose=0))


def test_use_causal_mask_survives_save_and_load(tmp_path, rng):
    inp = rnncore.Input(shape=(5, 3))
    out = rnncore.layers.Attention()([inp, inp], use_causal_mask=True)
    model = rnncore.Model(inp, out)
    x = rng.standard_normal((2, 5, 3))
    model.save(tmp_path / "causal.keras")
    loaded = rnncore.models.load_model(tmp_path / "causal.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


BAD = [
    ("LayerNormalization", (), {"axis": "last"}, TypeError, "axis"),
    ("LayerNormalization", (), {"axis": []}, TypeError, "axis"),
    ("LayerNormalization", (), {"epsilon": -1.0}, ValueError, "epsilon=-1.0"),
    ("LayerNormalization", (), {"center": "yes"}, TypeError, "center='yes'"),
    ("LayerNormalization", (), {"gamma_initializer": "nope"}, ValueError, "gamma_initializer"),
    ("LayerNormalization", (), {"rms_scaling": True}, NotImplementedError, "rms_scaling"),
    ("BatchNormalization", (), {"axis": 1.5}, TypeError, "axis=1.5"),
    ("BatchNormalization", (), {"momentum": 2}, ValueError, "momentum=2"),
    ("BatchNormalization", (), {"momentum": "high"}, TypeError, "momentum='high'"),
    ("BatchNormalization", (), {"epsilon": -0.5}, ValueError, "epsilon=-0.5"),
    ("BatchNormalization", (), {"scale": None}, TypeError, "scale=None"),
    ("BatchNormalization", (), {"renorm": True}, NotImplementedError, "renorm"),
    ("BatchNormalization", (), {"synchronized": True}, NotImplementedError, "synchronized"),
    ("BatchNormalization", (), {"bogus": 1}, TypeError, "bogus"),
    ("Conv1D", (0, 3), {}, ValueError, "filters=0"),
    ("Conv1D", (2.5, 3), {}, ValueError, "filters=2.5"),
    ("Conv1D", (4, 0), {}, ValueError, "kernel_size=0"),
    ("Conv1D", (4, (3, 3)), {}, ValueError, r"kernel_size=\(3, 3\)"),
    ("Conv1D", (4, 3), {"strides": -1}, ValueError, "strides=-1"),
    ("Conv1D", (4, 3), {"dilation_rate": 0}, ValueError, "dilation_rate=0"),
    ("Conv1D", (4, 3), {"padding": "full"}, ValueError, "padding='full'"),
    ("Conv1D", (4, 3), {"strides": 2, "dilation_rate": 2}, ValueError, "dilation_rate"),
    ("Conv1D", (4, 3), {"groups": 3}, ValueError, "groups=3, filters=4"),
    ("Conv1D", (4, 3), {"groups": 0}, ValueError, "groups=0"),
    ("Conv1D", (4, 3), {"data_format": "nchw"}, ValueError, "data_format='nchw'"),
    ("Conv1D", (4, 3), {"activation": "nope"}, ValueError, "activation"),
    ("Conv1D", (4, 3), {"use_bias": "no"}, TypeError, "use_bias='no'"),
    ("MaxPooling1D", (0,), {}, ValueError, "pool_size=0"),
    ("MaxPooling1D", (2,), {"strides": 0}, ValueError, "strides=0"),
    ("MaxPooling1D", (2,), {"padding": "causal"}, ValueError, "padding='causal'"),
    ("AveragePooling1D", ("2",), {}, ValueError, "Received pool_size=2"),
    ("Attention", (), {"score_mode": "cosine"}, ValueError, "score_mode='cosine'"),
    ("Attention", (), {"dropout": 1.5}, ValueError, "dropout=1.5"),
    ("Attention", (), {"use_scale": "yes"}, TypeError, "use_scale='yes'"),
    ("Attention", (), {"seed": "x"}, ValueError, "seed='x'"),
    ("AdditiveAttention", (), {"dropout": -0.1}, ValueError, "dropout=-0.1"),
]


@pytest.mark.parametrize("name,args,kwargs,error,match", BAD,
                         ids=[f"{b[0]}-{'-'.join(map(str, b[2])) or b[1]}" for b in BAD])
def test_bad_arguments_are_named(name, args, kwargs, error, match):
    with pytest.raises(error, match=match):
        getattr(layers, name)(*args, **kwargs)


@pytest.mark.parametrize("layer,shape,match", [
    (lambda: layers.BatchNormalization(axis=3), (2, 4, 3), "axis=3"),
    (lambda: layers.LayerNormalization(axis=[1, 5]), (2, 4, 3), r"axis=\[1, 5\]"),
    (lambda: layers.Conv1D(2, 2), (2, 4), "3D"),
    (lambda: layers.MaxPooling1D(), (2, 4, 3, 1), "3D"),
])
def test_bad_input_shapes_are_named(layer, shape, match):
    with pytest.raises(ValueError, match=match):
        layer()(np.ones(shape, np.float32))


def test_symbolic_rank_checks_as_keras():
    with pytest.raises(ValueError, match="expected ndim=3"):
        layers.Conv1D(2, 2)(rnncore.Input(shape=(4,)))
    with pytest.raises(ValueError, match="expected ndim=3"):
        layers.MaxPooling1D()(rnncore.Input(shape=(4, 3, 2)))


@pytest.mark.parametrize("dtype", [None, "float64"])
def test_get_config_writes_the_dtype_as_keras_dtype_policy(keras, dtype):
    kwargs = {} if dtype is None else {"dtype": dtype}
    for name, args in [("Dense", (3,)), ("LSTM", (4,)), ("Embedding", (10, 2))]:
        ours = getattr(rnncore.layers, name)(*args, **kwargs).get_config()["dtype"]
        theirs = getattr(keras.layers, name)(*args, **kwargs).get_config()["dtype"]
        assert ours == theirs
        # and the config rebuilds a layer of that dtype
        assert getattr(rnncore.layers, name)(*args, dtype=ours).dtype == (dtype or "float32")
