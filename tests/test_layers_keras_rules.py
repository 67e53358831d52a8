"""Rules of Keras's own layer tests, checked against Keras: the same inputs give the same
outputs, and the same mistakes raise the same exception type with a message that Keras's
test regex matches."""
import re
import warnings

import numpy as np
import pytest

import rnncore
from rnncore import layers


def _both(keras, make):
    """`make(module)` run on Keras and on rnncore: (keras result, rnncore result), an
    exception standing in for a result."""
    out = []
    for module in (keras, rnncore):
        try:
            out.append(make(module))
        except Exception as e:  # compared by the caller
            out.append(e)
    return out


def _same_error(keras, make, exc_type, pattern):
    k, r = _both(keras, make)
    assert isinstance(k, exc_type) and re.search(pattern, str(k)), k  # the rule is Keras's
    assert isinstance(r, exc_type), r
    assert re.search(pattern, str(r)), str(r)


# ---- 1. TimeDistributed validates the mask against the inputs' (batch, timesteps) ----------
@pytest.mark.parametrize("mask_shape, pattern", [
    ((4, 6), r"The `mask` passed to the `TimeDistributed` layer has a shape.*"),
    ((5, 5), r"The `mask` passed to the `TimeDistributed` layer has a shape.*"),
    ((4, 6, 2), r"The `mask` passed to the `TimeDistributed` layer has a shape.*"),
    ((5, 6), r"The `mask` passed to the `TimeDistributed` layer has a shape.*"),
    ((4,), r"The `mask` passed to the `TimeDistributed` layer must be at least 2D"),
])
def test_time_distributed_refuses_a_mask_of_other_batch_or_timesteps(keras, mask_shape,
                                                                      pattern):
    x = np.zeros((4, 5, 3), "float32")
    _same_error(keras, lambda m: m.layers.TimeDistributed(m.layers.Dense(5))(
        x, mask=np.ones(mask_shape, bool)), ValueError, pattern)


@pytest.mark.parametrize("mask_shape", [(4, 5), (4, 5, 1)])
def test_time_distributed_takes_a_mask_that_matches(mask_shape):
    out = layers.TimeDistributed(layers.Dense(5))(np.zeros((4, 5, 3), "float32"),
                                                  mask=np.ones(mask_shape, bool))
    assert out.shape == (4, 5, 5)


# ---- 2. Embedding --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_embedding_casts_float_ids_to_int_as_keras(keras, dtype):
    # Keras casts ids that are not int32/int64 to int32: 1.7 -> 1, 9.2 -> 9, -0.5 -> 0
    table = np.arange(20, dtype="float32").reshape(10, 2)
    ids = np.array([[1.7, 9.2, 0.0, -0.5]], dtype)
    k, r = _both(keras, lambda m: np.asarray(m.layers.Embedding(10, 2, weights=table)(ids)))
    np.testing.assert_array_equal(r, k)
    np.testing.assert_array_equal(r[0], table[[1, 9, 0, 0]])


@pytest.mark.parametrize("bad", [np.nan, np.inf, 10.5])
def test_embedding_float_ids_that_name_no_row_are_refused(bad):
    with pytest.raises(ValueError, match="not finite|outside"):
        layers.Embedding(10, 2)(np.array([[1.0, bad]]))


def test_embedding_weights_argument_sets_the_table(keras):
    table = np.arange(12, dtype="float32").reshape(3, 4)
    for weights in (table, [table]):
        k, r = _both(keras, lambda m: np.asarray(m.layers.Embedding(3, 4, weights=weights)(
            np.array([[2, 0]]))))
        np.testing.assert_array_equal(r, k)
    k, r = _both(keras, lambda m: m.layers.Embedding(3, 4, weights=np.ones((3, 5))))
    assert isinstance(k, ValueError) and isinstance(r, ValueError), r


@pytest.mark.parametrize("mask_zero", [True, False])
def test_embedding_supports_masking_is_mask_zero(keras, mask_zero):
    k, r = _both(keras, lambda m: m.layers.Embedding(5, 4, mask_zero=mask_zero).supports_masking)
    assert r is k is mask_zero


@pytest.mark.parametrize("argument", ["input_dim", "output_dim"])
@pytest.mark.parametrize("bad", [3.7, 4.0, "3", None, True, False, -1, 0])
def test_embedding_dims_are_refused_with_keras_message(keras, argument, bad):
    kwargs = {"input_dim": 10, "output_dim": 8, argument: bad}
    _same_error(keras, lambda m: m.layers.Embedding(**kwargs), ValueError,
                f"`{argument}` must be a positive integer")


# ---- 3. Dense ------------------------------------------------------------------------------
def test_dense_refuses_symbolic_inputs_of_another_size_after_build(keras):
    def make(m):
        layer = m.layers.Dense(2, activation="relu")
        layer(m.Input(batch_shape=(1, 2)))
        return layer(m.Input(batch_shape=(1, 3)))
    _same_error(keras, make, ValueError, "incompatible with the layer")


def test_dense_refuses_eager_inputs_of_another_size_after_build(keras):
    def make(m):
        layer = m.layers.Dense(2)
        layer(np.ones((1, 3), "float32"))
        return layer(np.ones((1, 4), "float32"))
    _same_error(keras, make, ValueError, "incompatible with the layer")


@pytest.mark.parametrize("activation", [None, "relu-function"])
def test_dense_activation_assigned_after_construction(keras, activation):
    def make(m):
        layer = m.layers.Dense(2, use_bias=False, activation="sigmoid")
        layer.build((1, 2))
        layer.set_weights([np.array([[1., -2.], [3., -4.]], "float32")])
        layer.activation = m.activations.relu if activation else None
        return np.asarray(layer(np.array([[-1., 2.]], "float32")))
    k, r = _both(keras, make)
    np.testing.assert_allclose(r, k)


@pytest.mark.parametrize("activation", [None, "relu-function"])
def test_conv1d_activation_assigned_after_construction(keras, activation, rng):
    x = rng.standard_normal((2, 5, 3)).astype("float32")
    kernel = rng.standard_normal((2, 3, 4)).astype("float32")

    def make(m):
        layer = m.layers.Conv1D(4, 2, use_bias=False, activation="sigmoid")
        layer.build((2, 5, 3))
        layer.set_weights([kernel])
        layer.activation = m.activations.relu if activation else None
        return np.asarray(layer(x))
    k, r = _both(keras, make)
    np.testing.assert_allclose(r, k, rtol=1e-5, atol=1e-6)


def test_an_unknown_activation_assigned_is_refused():
    layer = layers.Dense(2)
    with pytest.raises(ValueError, match="activation: unknown activation 'swishy'"):
        layer.activation = "swishy"


# ---- 4. Dropout's rate and noise_shape -----------------------------------------------------
@pytest.mark.parametrize("kwargs, pattern", [
    ({"rate": -0.5}, "Invalid value received for argument `rate`. "
                     "Expected a float value between 0 and 1."),
    ({"rate": 1.5}, "Invalid value received for argument `rate`. "
                    "Expected a float value between 0 and 1."),
    ({"rate": 0.5, "noise_shape": "Invalid"},
     "Invalid value received for argument `noise_shape`. Expected a tuple or list of integers."),
    ({"rate": 0.5, "noise_shape": 5},
     "Invalid value received for argument `noise_shape`. Expected an iterable of integers"),
    ({"rate": 0.5, "noise_shape": (20, 1.5, 10)},
     "Invalid value received for argument `noise_shape`. "
     "Expected all elements to be integers or None."),
    ({"rate": 0.5, "noise_shape": (20, -1, 10)},
     "Invalid value received for argument `noise_shape`. "
     "Expected all dimensions to be positive integers or None."),
    ({"rate": 0.5, "noise_shape": (20, 0, 10)},
     "Invalid value received for argument `noise_shape`. "
     "Expected all dimensions to be positive integers or None."),
], ids=["rate-neg", "rate-big", "ns-str", "ns-int", "ns-float", "ns-neg", "ns-zero"])
def test_dropout_arguments_are_refused_with_keras_message(keras, kwargs, pattern):
    _same_error(keras, lambda m: m.layers.Dropout(**kwargs), ValueError, re.escape(pattern))


@pytest.mark.parametrize("noise_shape", [None, (20, 1, 10), (None, 1, None), [20, 1, 10]])
def test_dropout_noise_shape_is_kept_as_a_tuple(keras, noise_shape):
    k, r = _both(keras, lambda m: m.layers.Dropout(0.5, noise_shape=noise_shape).noise_shape)
    assert r == k
    assert r is None or isinstance(r, tuple)


def test_dropout_noise_shape_shares_the_mask_along_an_axis():
    out = layers.Dropout(0.5, noise_shape=(20, 1, 10), seed=1)(np.ones((20, 5, 10)),
                                                               training=True)
    np.testing.assert_array_equal(out[:, 0, :], out[:, 1, :])


# ---- 5. Built-in layers have Keras's `call` -----------------------------------------------
def _masked_dense(m):
    # time_distributed_test.py::test_masking: a Wrapper whose call runs self.layer.call
    class MaskedDense(m.layers.Wrapper):
        def __init__(self, units, **kw):
            super().__init__(m.layers.Dense(units, use_bias=False,
                                            kernel_initializer=m.initializers.Constant(0.01)),
                             **kw)
            self.supports_masking = True

        def call(self, inputs, training=False, mask=None):
            out = self.layer.call(inputs)
            if mask is None:
                return out
            return m.ops.transpose(m.ops.transpose(out) * m.ops.cast(mask, inputs.dtype))
    return MaskedDense


def test_a_wrapper_calling_its_layers_call_matches_keras(keras):
    x = np.arange(24).reshape((3, 2, 4)).astype("float32")
    mask = np.array([[0, 1], [1, 0], [1, 1]], bool)
    k, r = _both(keras, lambda m: np.asarray(m.layers.TimeDistributed(_masked_dense(m)(1))(
        x, mask=mask)))
    np.testing.assert_allclose(r, k, rtol=1e-6)


@pytest.mark.parametrize("make", [lambda: layers.Dense(3), lambda: layers.LSTM(3),
                                  lambda: layers.Dropout(0.5), lambda: layers.Embedding(5, 3),
                                  lambda: layers.TimeDistributed(layers.Dense(3))],
                         ids=["Dense", "LSTM", "Dropout", "Embedding", "TimeDistributed"])
def test_built_in_layers_have_call_and_are_not_taken_for_user_layers(make):
    from rnncore.layers import _recorded
    layer = make()
    assert callable(layer.call)
    assert not _recorded.has_call(layer)


def test_layer_call_gives_what_calling_the_layer_gives(rng):
    x = rng.random((2, 4, 3)).astype("float32")
    layer = layers.LSTM(2, return_sequences=True)
    np.testing.assert_array_equal(layer.call(x), layer(x))


def test_gradients_flow_through_layer_call_inside_a_trained_call(rng):
    # the same model twice, one calling self.dense(x), the other self.dense.call(x): one
    # epoch of SGD leaves the same weights
    class Head(layers.Layer):
        def __init__(self, via_call, **kw):
            super().__init__(**kw)
            self.via_call = via_call
            self.dense = layers.Dense(2)

        def call(self, inputs):
            return self.dense.call(inputs) if self.via_call else self.dense(inputs)
    x = rng.random((8, 3)).astype("float32")
    y = rng.random((8, 2)).astype("float32")
    trained = []
    for via_call in (False, True):
        model = rnncore.Sequential([rnncore.Input((3,)), Head(via_call)])
        model.set_weights([np.full((3, 2), 0.1, "float32"), np.zeros(2, "float32")])
        model.compile(optimizer="sgd", loss="mse")
        model.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
        trained.append(model.get_weights())
    assert not np.allclose(trained[1][0], 0.1)  # it trained
    for a, b in zip(*trained):
        np.testing.assert_allclose(a, b, rtol=1e-6)


# ---- 6. RNN over stacked cells: compute_output_shape in Keras's nested structure -----------
@pytest.mark.parametrize("cells", [
    lambda L: [L.LSTMCell(10), L.LSTMCell(10)], lambda L: [L.LSTMCell(4), L.GRUCell(3)],
    lambda L: [L.GRUCell(3)], lambda L: L.LSTMCell(4), lambda L: L.SimpleRNNCell(3)],
    ids=["lstm-lstm", "lstm-gru", "gru-list", "lstm", "simple"])
def test_rnn_return_state_output_shape_is_keras_structure(keras, cells):
    k, r = _both(keras, lambda m: m.layers.RNN(cells(m.layers), return_state=True)
                 .compute_output_shape((2, 3, 5)))
    assert r == k


def test_stacked_rnn_output_shape_matches_what_the_call_returns():
    layer = layers.RNN([layers.LSTMCell(10), layers.GRUCell(3)], return_state=True)
    out = layer(np.zeros((2, 3, 5), "float32"))
    shape = layer.compute_output_shape((2, 3, 5))
    assert out[0].shape == shape[0]
    assert [s.shape for s in out[1]] == shape[1]
    assert out[2][0].shape == shape[2]


# ---- 7. Keras's dtype policies -------------------------------------------------------------
@pytest.fixture
def _restore_policies(keras):
    yield
    keras.mixed_precision.set_global_policy("float32")
    rnncore.mixed_precision.set_global_policy(None)


@pytest.mark.parametrize("name", ["float32", "float64", "mixed_float16", "mixed_bfloat16"])
def test_policy_describes_the_dtypes_as_keras(keras, name):
    k, r = _both(keras, lambda m: m.mixed_precision.DTypePolicy(name))
    assert (r.name, r.variable_dtype, r.compute_dtype) == \
        (k.name, k.variable_dtype, k.compute_dtype)
    assert rnncore.mixed_precision.Policy is rnncore.mixed_precision.DTypePolicy


@pytest.mark.parametrize("cls", ["SimpleRNN", "LSTM", "GRU"])
def test_mixed_float16_runs_in_float32_with_keras_float32_weights(keras, cls, rng):
    x = rng.random((2, 4, 5)).astype("float32")
    k_layer = getattr(keras.layers, cls)(3, dtype="mixed_float16")
    k_out = np.asarray(k_layer(x))
    rnncore.mixed_precision._state["warned"].clear()
    with pytest.warns(UserWarning, match="also computes in float32"):
        r_layer = getattr(layers, cls)(3, dtype="mixed_float16")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once is enough
        getattr(layers, cls)(3, dtype="mixed_float16")
    r_layer(x)
    r_layer.set_weights(k_layer.get_weights())
    r_out = r_layer(x)
    assert {w.dtype for w in r_layer.get_weights()} == \
        {w.dtype for w in k_layer.get_weights()} == {np.dtype("float32")}
    assert r_out.dtype == np.float32
    np.testing.assert_allclose(r_out, k_out, atol=2e-3)  # Keras computed in float16


@pytest.mark.parametrize("policy", ["float64", "mixed_float16"])
def test_global_policy_sets_the_dtype_of_new_layers(keras, _restore_policies, policy):
    def make(m):
        m.mixed_precision.set_global_policy(policy)
        layer = m.layers.Dense(2)
        layer.build((None, 3))
        return m.mixed_precision.global_policy().name, layer.kernel.dtype
    (k_name, k_dtype), (r_name, r_dtype) = _both(keras, make)
    assert r_name == k_name == policy
    assert np.dtype(r_dtype) == np.dtype(getattr(k_dtype, "name", k_dtype))
    rnncore.mixed_precision.set_global_policy(None)
    assert rnncore.mixed_precision.global_policy().name == "float32"


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_weights_are_refused_naming_the_policy(dtype):
    with pytest.raises(ValueError, match=f"got '{dtype}'.*rnncore has no float16"):
        layers.LSTM(3, dtype=dtype)


def test_a_layer_takes_a_policy_object():
    layer = layers.GRU(2, dtype=rnncore.mixed_precision.DTypePolicy("float64"))
    assert layer.dtype == "float64"


# ---- 8. A recurrent layer with dropout: what a user counts ---------------------------------
@pytest.mark.parametrize("cls", ["SimpleRNN", "LSTM", "GRU"])
def test_dropout_adds_no_weight_or_parameter(keras, cls):
    # Keras's seed-generator state is one of its non_trainable_variables but not a weight:
    # get_weights, count_params and summary's totals leave it out, as rnncore (which has no
    # such state) does
    def make(m):
        layer = getattr(m.layers, cls)(3, dropout=0.5, recurrent_dropout=0.2)
        layer(np.ones((2, 4, 5), "float32"))
        return [w.shape for w in layer.get_weights()], layer.count_params()
    k, r = _both(keras, make)
    assert r == k
