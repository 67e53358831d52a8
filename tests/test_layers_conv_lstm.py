"""ConvLSTM1D, ConvLSTM2D and ConvLSTM3D against Keras 3 with identical weights (outputs,
input and weight gradients, states, masks, initial states, a few fit steps), finite differences
in float64, configs, saved files both ways, and the errors of bad arguments."""
import numpy as np
import pytest

import rnncore
from rnncore import layers

from _layer_grads import assert_close_to_keras, finite_difference_check
from _layer_parity import assert_config_round_trip, assert_pickles
from _parity import rel_err
from _tolerance import FD_EPS, FD_LAYER_TOL, KERAS_GRAD_RTOL, KERAS_OUTPUT_ATOL, TRAINING_RTOL

# (class, input shape (batch, steps, *spatial, channels), constructor arguments)
CASES = [
    ("ConvLSTM1D", (2, 4, 7, 3), dict(filters=3, kernel_size=3)),
    ("ConvLSTM1D", (2, 4, 7, 3), dict(filters=2, kernel_size=3, padding="same",
                                      dilation_rate=2, return_sequences=True)),
    ("ConvLSTM1D", (2, 3, 8, 2), dict(filters=3, kernel_size=2, strides=3, padding="same",
                                      go_backwards=True)),
    ("ConvLSTM2D", (2, 3, 5, 5, 2), dict(filters=3, kernel_size=3, padding="same",
                                         return_sequences=True)),
    ("ConvLSTM2D", (2, 3, 6, 5, 2), dict(filters=2, kernel_size=(3, 2), strides=(2, 1))),
    ("ConvLSTM2D", (2, 3, 5, 6, 2), dict(filters=2, kernel_size=2, dilation_rate=(1, 2),
                                         go_backwards=True, return_sequences=True,
                                         use_bias=False)),
    ("ConvLSTM2D", (2, 3, 4, 4, 2), dict(filters=2, kernel_size=3, padding="same",
                                         activation="relu", recurrent_activation="hard_sigmoid",
                                         unit_forget_bias=False)),
    ("ConvLSTM2D", (2, 3, 2, 5, 4), dict(filters=3, kernel_size=3, padding="same",
                                         data_format="channels_first",
                                         return_sequences=True)),
    ("ConvLSTM2D", (2, 3, 2, 6, 5), dict(filters=2, kernel_size=3, strides=2,
                                         data_format="channels_first", go_backwards=True)),
    ("ConvLSTM3D", (1, 3, 4, 4, 3, 2), dict(filters=2, kernel_size=3, padding="same",
                                            return_sequences=True)),
    ("ConvLSTM3D", (2, 2, 4, 3, 4, 1), dict(filters=2, kernel_size=(2, 2, 3))),
]


def _ids(case):
    return case[0] + "-" + "-".join(f"{k}={v}" for k, v in case[2].items()
                                    if k not in ("filters", "kernel_size"))


def _pair(keras, cls, kwargs):
    return getattr(keras.layers, cls)(**kwargs), getattr(layers, cls)(**kwargs)


def _data(rng, shape):
    return rng.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_conv_lstm_matches_keras(keras, tf, rng, case):
    cls, shape, kwargs = case
    k_layer, r_layer = _pair(keras, cls, kwargs)
    out = assert_close_to_keras(tf, k_layer, r_layer, _data(rng, shape))
    assert out.shape == tuple(k_layer.compute_output_shape(shape))
    assert r_layer.compute_output_shape(shape) == tuple(k_layer.compute_output_shape(shape))


def _keras_states_pass(tf, layer, x, initial_state=None, mask=None, seed=1):
    """Keras's outputs [y, h, c] and the gradients, w.r.t. the inputs, the initial states and
    the weights, of Σ each output · a fixed random upstream gradient."""
    xs = [tf.constant(x)] + [tf.constant(s) for s in (initial_state or [])]
    kwargs = {} if mask is None else {"mask": tf.constant(mask)}
    with tf.GradientTape() as tape:
        tape.watch(xs)
        outs = layer(xs[0], initial_state=xs[1:] or None, **kwargs)
        rng = np.random.default_rng(seed)
        dys = [rng.standard_normal(o.shape).astype(np.float32) for o in outs]
        loss = sum(tf.reduce_sum(o * dy) for o, dy in zip(outs, dys))
    grads = tape.gradient(loss, xs + [w.value for w in layer.trainable_weights])
    return [o.numpy() for o in outs], dys, [g.numpy() for g in grads]


def _assert_states_match(tf, k_layer, r_layer, x, initial_state=None, mask=None):
    k_layer(x, initial_state=initial_state)
    r_layer(x, initial_state=initial_state)
    r_layer.set_weights(k_layer.get_weights())
    k_outs, dys, k_grads = _keras_states_pass(tf, k_layer, x, initial_state, mask)
    r_outs = r_layer(x, initial_state=initial_state, mask=mask)
    assert len(r_outs) == 3
    for r, k in zip(r_outs, k_outs):
        assert r.shape == k.shape
        np.testing.assert_allclose(r, k, atol=KERAS_OUTPUT_ATOL, rtol=0)
    d = r_layer.backward(dys)
    r_grads = (list(d) if initial_state is not None else [d]) + \
        [v.grad for v in r_layer.trainable_weights]
    assert len(r_grads) == len(k_grads)
    for r, k in zip(r_grads, k_grads):
        assert rel_err(r, k) <= KERAS_GRAD_RTOL


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_return_state_and_initial_state_match_keras(keras, tf, rng, data_format, go_backwards):
    kwargs = dict(filters=2, kernel_size=3, strides=2, padding="same", return_state=True,
                  return_sequences=True, go_backwards=go_backwards, data_format=data_format)
    shape = (2, 3, 5, 4, 3) if data_format == "channels_last" else (2, 3, 3, 5, 4)
    state_shape = (2, 3, 2, 2) if data_format == "channels_last" else (2, 2, 3, 2)
    x = _data(rng, shape)
    _assert_states_match(tf, *_pair(keras, "ConvLSTM2D", kwargs), x)
    initial = [_data(rng, state_shape), _data(rng, state_shape)]
    _assert_states_match(tf, *_pair(keras, "ConvLSTM2D", kwargs), x, initial_state=initial)


@pytest.mark.parametrize("return_sequences, go_backwards", [(False, False), (True, False),
                                                             (True, True)])
def test_masked_steps_match_keras(keras, tf, rng, return_sequences, go_backwards):
    """A masked step keeps the states and repeats the last output (zeros before the first), as
    Keras's backend.rnn; masked first steps with a given initial state included."""
    kwargs = dict(filters=2, kernel_size=2, padding="same", return_state=True,
                  return_sequences=return_sequences, go_backwards=go_backwards)
    x = _data(rng, (3, 5, 4, 2))
    mask = np.array([[1, 1, 0, 1, 0], [0, 0, 1, 1, 1], [1, 1, 1, 1, 1]], bool)
    initial = [_data(rng, (3, 4, 2)), _data(rng, (3, 4, 2))]
    _assert_states_match(tf, *_pair(keras, "ConvLSTM1D", kwargs), x, initial, mask)


@pytest.mark.parametrize("make, shape", [
    (lambda: layers.ConvLSTM1D(2, 3, padding="same", return_sequences=True,
                               dtype="float64"), (2, 3, 4, 2)),
    (lambda: layers.ConvLSTM2D(2, 2, strides=2, activation="relu", dtype="float64",
                               go_backwards=True), (1, 3, 4, 3, 1)),
    (lambda: layers.ConvLSTM2D(1, 3, padding="same", data_format="channels_first",
                               return_sequences=True, dtype="float64"), (1, 2, 2, 3, 3)),
], ids=["1d-same", "2d-strided-relu", "2d-channels-first"])
def test_gradients_match_finite_differences(rng, make, shape):
    finite_difference_check(make(), rng.standard_normal(shape))


def test_masked_gradients_match_finite_differences(rng):
    mask = np.array([[1, 0, 1], [0, 1, 1]], bool)
    finite_difference_check(layers.ConvLSTM1D(2, 2, return_sequences=True, dtype="float64"),
                            rng.standard_normal((2, 3, 4, 2)), mask=mask)


def _frames_model(lib):
    """keras-io's next-frame prediction model, small: ConvLSTM2D layers with
    BatchNormalization between them, then a Conv3D reading every step's frame, for any number
    of steps."""
    inputs = lib.Input((None, 6, 6, 2))
    h = lib.layers.ConvLSTM2D(4, 3, padding="same", return_sequences=True, activation="relu",
                              name="convlstm_1")(inputs)
    h = lib.layers.BatchNormalization()(h)
    h = lib.layers.ConvLSTM2D(3, (1, 1), padding="same", return_sequences=True,
                              name="convlstm_2")(h)
    out = lib.layers.Conv3D(1, 3, padding="same", activation="sigmoid")(h)
    return lib.Model(inputs, out, name="frames")


def _small_model(lib, cls, shape, **kwargs):
    return lib.Sequential([lib.Input(shape), getattr(lib.layers, cls)(3, 2, name="convlstm",
                                                                      **kwargs),
                           lib.layers.Flatten(), lib.layers.Dense(2, activation="softmax")])


@pytest.mark.parametrize("cls, shape, kwargs", [
    ("ConvLSTM1D", (3, 5, 2), {}),
    ("ConvLSTM2D", (3, 2, 4, 5), dict(data_format="channels_first", strides=2)),
    ("ConvLSTM3D", (2, 3, 3, 3, 1), {}),
    ("frames", (4, 6, 6, 2), {}),
], ids=["1d", "2d-channels-first", "3d", "keras-io-frames"])
def test_fit_history_and_weights_match_keras(keras, rng, cls, shape, kwargs):
    x = _data(rng, (12, *shape))
    if cls == "frames":  # the next frames, as keras-io's
        make, loss = _frames_model, "binary_crossentropy"
        y = (rng.random((12, *shape[:-1], 1)) < 0.5).astype(np.float32)
    else:
        make, loss = (lambda lib: _small_model(lib, cls, shape, **kwargs),
                      "sparse_categorical_crossentropy")
        y = rng.integers(0, 2, 12)
    k_model, r_model = make(keras), make(rnncore)
    r_model.set_weights(k_model.get_weights())
    for model, lib in ((k_model, keras), (r_model, rnncore)):
        model.compile(lib.optimizers.Adam(0.01), loss)
    fit = dict(batch_size=4, epochs=2, shuffle=False, verbose=0)
    k_hist, r_hist = k_model.fit(x, y, **fit).history, r_model.fit(x, y, **fit).history
    assert rel_err(r_hist["loss"], k_hist["loss"]) <= TRAINING_RTOL
    for r_w, k_w in zip(r_model.get_weights(), k_model.get_weights()):
        assert rel_err(r_w, k_w) <= TRAINING_RTOL


def test_functional_initial_state_and_states_train_as_keras(keras, rng):
    """Initial states as the model's inputs and the final state as one of its outputs: the
    gradients reach both, as Keras's."""
    x = _data(rng, (3, 4, 6, 2))
    h, c = _data(rng, (3, 6, 2)), _data(rng, (3, 6, 2))
    targets = [np.ones((3, 1), np.float32), np.zeros((3, 6, 2), np.float32)]
    models = []
    for lib in (keras, rnncore):
        inputs = [lib.Input((4, 6, 2)), lib.Input((6, 2)), lib.Input((6, 2))]
        y, h_last, _ = lib.layers.ConvLSTM1D(2, 3, padding="same", return_state=True,
                                             name="cl")(inputs[0], initial_state=inputs[1:])
        out = lib.layers.Dense(1, name="out")(lib.layers.Flatten()(y))
        models.append(lib.Model(inputs, [out, h_last]))
        models[-1].compile(lib.optimizers.SGD(0.1), ["mse", "mse"])
    k_model, r_model = models
    r_model.set_weights(k_model.get_weights())
    fit = dict(epochs=2, verbose=0, shuffle=False)
    k_hist = k_model.fit([x, h, c], targets, **fit).history
    r_hist = r_model.fit([x, h, c], targets, **fit).history
    assert sorted(r_hist) == sorted(k_hist)
    for key in k_hist:
        assert rel_err(r_hist[key], k_hist[key]) <= TRAINING_RTOL, key
    for r_w, k_w in zip(r_model.get_weights(), k_model.get_weights()):
        assert rel_err(r_w, k_w) <= TRAINING_RTOL


def _fresh_names(keras):
    """Both libraries' automatic names start again (bidirectional, batch_normalization...),
    whatever the tests before made."""
    keras.backend.clear_session()
    rnncore.backend.clear_session()


@pytest.mark.parametrize("merge_mode, return_sequences", [("concat", True), ("sum", False)])
def test_bidirectional_conv_lstm_matches_keras(keras, tf, rng, merge_mode, return_sequences):
    _fresh_names(keras)
    x = _data(rng, (2, 3, 5, 2))
    k_layer, r_layer = (lib.layers.Bidirectional(
        lib.layers.ConvLSTM1D(2, 3, return_sequences=return_sequences, name="cl"),
        merge_mode=merge_mode) for lib in (keras, rnncore))
    assert_close_to_keras(tf, k_layer, r_layer, x)
    assert [w.path for w in r_layer.weights] == [w.path for w in k_layer.weights]


def test_bidirectional_conv_lstm_model_loads_in_keras(keras, rng, tmp_path):
    x = _data(rng, (2, 3, 5, 2))
    model = rnncore.Sequential([rnncore.Input((3, 5, 2)), layers.Bidirectional(
        layers.ConvLSTM1D(2, 3, padding="same")), layers.Flatten(), layers.Dense(1)])
    model.save(tmp_path / "bi.keras")
    np.testing.assert_allclose(keras.models.load_model(tmp_path / "bi.keras").predict(
        x, verbose=0), model.predict(x, verbose=0), atol=1e-5)


def test_weights_shapes_names_and_paths_are_keras(keras):
    _fresh_names(keras)
    paths = []
    for lib in (keras, rnncore):
        model = _frames_model(lib)
        paths.append([(w.path, tuple(w.shape)) for w in model.weights] +
                     [model.count_params()])
    assert paths[0] == paths[1]
    assert paths[1][0] == ("convlstm_1/conv_lstm_cell/kernel", (3, 3, 2, 16))
    layer = layers.ConvLSTM3D(2, 3)
    layer(np.zeros((1, 2, 3, 3, 3, 1), np.float32))
    assert layer.cell.kernel.path == f"{layer.name}/conv_lstm_cell/kernel"
    assert layer.name.startswith("conv_lstm3d")


@pytest.mark.parametrize("cls", ["ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"])
def test_config_is_keras_and_round_trips(keras, cls):
    kwargs = dict(filters=4, kernel_size=3, strides=2, padding="same", dropout=0.25,
                  return_sequences=True, recurrent_activation="hard_sigmoid", seed=3,
                  kernel_regularizer="l2", name="c")
    k_config = getattr(keras.layers, cls)(**kwargs).get_config()
    r_layer = getattr(layers, cls)(**kwargs)
    config = r_layer.get_config()
    assert sorted(config) == sorted(k_config)
    for key in config:
        if key not in ("kernel_regularizer", "kernel_initializer", "recurrent_initializer",
                       "bias_initializer", "dtype"):
            assert config[key] == k_config[key], key
    assert_config_round_trip(r_layer)
    assert type(layers.deserialize(layers.serialize(r_layer))) is type(r_layer)
    assert getattr(keras.layers, cls).from_config(config).get_config()["strides"] == \
        k_config["strides"]


def test_saved_models_load_both_ways(keras, rng, tmp_path):
    x = _data(rng, (3, 4, 6, 6, 2))
    k_model, r_model = _frames_model(keras), _frames_model(rnncore)
    r_model.set_weights([w + 0.01 for w in k_model.get_weights()])
    k_model.save(tmp_path / "k.keras")
    r_model.save(tmp_path / "r.keras")
    from_keras = rnncore.models.load_model(tmp_path / "k.keras")
    from_rnncore = keras.models.load_model(tmp_path / "r.keras")
    np.testing.assert_allclose(from_keras.predict(x, verbose=0), k_model.predict(x, verbose=0),
                               atol=1e-5)
    np.testing.assert_allclose(from_rnncore.predict(x, verbose=0),
                               r_model.predict(x, verbose=0), atol=1e-5)


def test_stateful_layer_carries_states_across_batches(rng):
    x = _data(rng, (2, 6, 5, 2))
    whole = layers.ConvLSTM1D(2, 3, padding="same", return_sequences=True)
    chunked = layers.ConvLSTM1D(2, 3, padding="same", return_sequences=True, stateful=True)
    expected = whole(x)
    chunked(x[:, :1])
    chunked.set_weights(whole.get_weights())
    chunked.reset_states()
    got = np.concatenate([chunked(x[:, :3]), chunked(x[:, 3:])], axis=1)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="batch size"):
        chunked(x[:1])
    chunked.reset_states()
    np.testing.assert_allclose(chunked(x[:, :3]), expected[:, :3], rtol=1e-6, atol=1e-6)


def test_pickles_without_the_arrays_of_its_last_pass(rng):
    layer = layers.ConvLSTM2D(2, 3, padding="same", return_sequences=True)
    assert_pickles(layer, _data(rng, (1, 3, 4, 4, 2)), training=False)


def test_dropout_draws_in_training_only(rng):
    layer = layers.ConvLSTM2D(2, 3, padding="same", dropout=0.5, recurrent_dropout=0.5,
                              seed=1)
    x = _data(rng, (2, 3, 4, 4, 2))
    inference = layer(x)
    np.testing.assert_array_equal(layer(x, training=False), inference)
    trained = layer(x, training=True)
    assert np.max(np.abs(trained - inference)) > 1e-3
    d = layer.backward(np.ones_like(trained))
    assert d.shape == x.shape and all(np.isfinite(v.grad).all() for v in layer.weights)


@pytest.mark.parametrize("make, error, text", [
    (lambda L: L.ConvLSTM2D(0, 3), ValueError, "Received filters=0"),
    (lambda L: L.ConvLSTM2D(2, (3,)), ValueError, "Received kernel_size=(3,)"),
    (lambda L: L.ConvLSTM1D(2, 3, strides=0), ValueError, "Received strides=0"),
    (lambda L: L.ConvLSTM1D(2, 3, padding="causal"), ValueError, "padding='causal'"),
    (lambda L: L.ConvLSTM2D(2, 3, data_format="nhwc"), ValueError, "data_format='nhwc'"),
    (lambda L: L.ConvLSTM2D(2, 3, strides=2, dilation_rate=2), ValueError,
     "`strides > 1` is not compatible with `dilation_rate > 1`"),
    (lambda L: L.ConvLSTM2D(2, 3, dropout="x"), ValueError, "dropout='x'"),
    (lambda L: L.ConvLSTM2D(2, 3)(np.zeros((1, 2, 4, 4))), ValueError, "must be 5D"),
    (lambda L: L.ConvLSTM2D(2, 5)(np.zeros((1, 2, 4, 4, 1))), ValueError,
     "smaller than the kernel's span"),
    (lambda L: L.ConvLSTM1D(2, 3)(np.zeros((1, 2, 4, 1)), initial_state=[np.zeros((1, 2, 2))]),
     ValueError, "initial_state must be a list of 2 arrays"),
    (lambda L: L.ConvLSTM1D(2, 3)(np.zeros((1, 2, 4, 1)),
                                  initial_state=[np.zeros((1, 3, 2))] * 2),
     ValueError, "initial_state[0] must have shape (1, 2, 2)"),
])
def test_bad_arguments_name_themselves(make, error, text):
    with pytest.raises(error) as info:
        make(layers)
    assert text in str(info.value)


def test_spatial_size_must_be_known_in_a_graph():
    with pytest.raises(ValueError, match="static input shapes for the spatial dimension"):
        layers.ConvLSTM2D(2, 3)(rnncore.Input((3, None, 4, 2)))


def test_dropout_gradients_match_finite_differences(rng):
    """The recurrence with fixed per-gate dropout masks (the layer draws them at random), its
    backward against central differences in float64."""
    from rnncore.layers import _conv_lstm_ops as ops

    x = rng.standard_normal((2, 3, 4, 2))
    kernel, recurrent_kernel = rng.standard_normal((3, 2, 8)), rng.standard_normal((3, 2, 8))
    bias, h0, c0 = rng.standard_normal(8), rng.standard_normal((2, 4, 2)), np.zeros((2, 4, 2))
    masks = dict(dropout_masks=(rng.random((4, 2, 4, 2)) > 0.3) * 1.5,
                 recurrent_dropout_masks=(rng.random((4, 2, 4, 2)) > 0.3) * 1.5)
    kwargs = dict(strides=(1,), dilation_rate=(1,), padding="same", activation="tanh",
                  recurrent_activation="sigmoid", **masks)
    dy = rng.standard_normal((3, 2, 4, 2))

    def loss():
        return float(np.sum(ops.forward(x, kernel, recurrent_kernel, bias, h0, c0,
                                        **kwargs)[0] * dy))

    grads = ops.backward(ops.forward(x, kernel, recurrent_kernel, bias, h0, c0, **kwargs)[3],
                         dy, None, None)
    for name, array in (("x", x), ("kernel", kernel), ("recurrent_kernel", recurrent_kernel),
                        ("bias", bias), ("h0", h0)):
        numeric = np.zeros_like(array)
        for i in np.ndindex(array.shape):
            old = array[i]
            array[i] = old + FD_EPS
            up = loss()
            array[i] = old - FD_EPS
            numeric[i] = (up - loss()) / (2 * FD_EPS)
            array[i] = old
        np.testing.assert_allclose(grads[name], numeric, rtol=FD_LAYER_TOL, atol=FD_LAYER_TOL,
                                   err_msg=name)
