"""``rnncore.layers.LSTM`` against Keras 3's ``LSTM`` with identical weights (float32), and its
argument checks.

Gradients are those of a random linear function of the layer's outputs, w.r.t. the weights, the
inputs and the initial states (``tf.GradientTape`` on the Keras side).
"""
import numpy as np
import pytest

from rnncore.layers import LSTM, SimpleRNN

OUT_ATOL = 1e-5
GRAD_RTOL = 1e-4


def _random_weights(layer, rng):
    """Replace the initial weights by random ones (with a non-trivial bias) and return them."""
    weights = [(rng.standard_normal(w.shape) * 0.4).astype(w.dtype) for w in layer.get_weights()]
    layer.set_weights(weights)
    return weights


def _pair(keras, rng, input_dim, units, **kw):
    """An rnncore LSTM and a Keras LSTM with the same arguments and the same weights."""
    extra = {k: kw.pop(k) for k in ("truncate_gradient",) if k in kw}
    ours = LSTM(units, **kw, **extra)
    ours.build((None, None, input_dim))
    _random_weights(ours, rng)
    theirs = keras.layers.LSTM(units, **kw)
    theirs.build((None, None, input_dim))
    theirs.set_weights(ours.get_weights())
    return ours, theirs


def _as_list(outs):
    return list(outs) if isinstance(outs, (list, tuple)) else [outs]


def _linear_weights(rng, outs):
    return [rng.standard_normal(np.shape(o)).astype(np.float32) for o in outs]


def _run_ours(layers, x, rng, initial_state=None, mask=None, training=False):
    """Forward through a chain of rnncore layers, then backward from a random linear loss."""
    h = x
    for i, layer in enumerate(layers):
        kwargs = {"initial_state": initial_state, "mask": mask} if i == 0 else {}
        h = layer(h, training=training, **kwargs)
    outs = _as_list(h)
    d = _linear_weights(rng, outs)
    grad = d if isinstance(h, list) else d[0]
    for layer in reversed(layers):
        grad = layer.backward(grad)
    d_inputs = _as_list(grad)
    grads = [v.grad for layer in layers for v in layer.trainable_weights]
    return outs, d, grads, d_inputs


def _run_keras(tf, call, weights_of, x, d, initial_state=None):
    """Outputs of `call(x, initial_state)` and the gradients of Σ d·outputs w.r.t. the weights,
    x and the initial states."""
    xt = tf.constant(x)
    st = None if initial_state is None else [tf.constant(s) for s in initial_state]
    with tf.GradientTape() as tape:
        tape.watch(xt)
        if st is not None:
            tape.watch(st)
        outs = _as_list(call(xt, st))
        loss = tf.add_n([tf.reduce_sum(o * w) for o, w in zip(outs, d)])
    sources = list(weights_of) + [xt] + (st or [])
    grads = tape.gradient(loss, sources)
    return [o.numpy() for o in outs], [g.numpy() for g in grads]


def _assert_outputs_close(ours, theirs):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a.shape == tuple(b.shape)
        np.testing.assert_allclose(a, b, rtol=0, atol=OUT_ATOL)


def _assert_grads_close(ours, theirs, names):
    assert len(ours) == len(theirs) == len(names)
    for a, b, name in zip(ours, theirs, names):
        scale = np.abs(b).max()
        err = np.abs(a - b).max()
        assert err <= GRAD_RTOL * max(scale, 1e-6), f"{name}: error {err:.3g} vs scale {scale:.3g}"


def _compare(keras, tf, rng, B, T, I, H, *, initial_state=False, mask=None, training=False,
             keras_call_kwargs=None, **kw):
    ours, theirs = _pair(keras, rng, I, H, **kw)
    x = rng.standard_normal((B, T, I)).astype(np.float32)
    states = ([rng.standard_normal((B, H)).astype(np.float32) for _ in range(2)]
              if initial_state else None)
    outs, d, grads, d_inputs = _run_ours([ours], x, rng, states, mask, training)

    def call(xt, st):
        kwargs = dict(keras_call_kwargs or {})
        if mask is not None:
            kwargs["mask"] = tf.constant(mask)
        return theirs(xt, initial_state=st, training=training, **kwargs)

    k_outs, k_grads = _run_keras(tf, call, theirs.trainable_weights, x, d, states)
    _assert_outputs_close(outs, k_outs)
    names = ["kernel", "recurrent_kernel", "bias", "x", "h0", "c0"][:len(k_grads)]
    _assert_grads_close(grads + d_inputs, k_grads, names)
    return ours, theirs


@pytest.mark.parametrize("return_state", [False, True], ids=["output", "return_state"])
@pytest.mark.parametrize("go_backwards", [False, True], ids=["forwards", "go_backwards"])
@pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "sequences"])
def test_matches_keras(keras, tf, rng, return_sequences, go_backwards, return_state):
    _compare(keras, tf, rng, 4, 6, 3, 5, return_sequences=return_sequences,
             go_backwards=go_backwards, return_state=return_state)


@pytest.mark.parametrize("B,T,I,H", [(1, 1, 1, 1), (1, 7, 2, 3), (5, 1, 4, 2), (3, 4, 2, 1)],
                         ids=lambda v: str(v))
@pytest.mark.parametrize("initial_state", [False, True], ids=["zeros", "initial_state"])
def test_matches_keras_on_small_shapes(keras, tf, rng, B, T, I, H, initial_state):
    _compare(keras, tf, rng, B, T, I, H, initial_state=initial_state, return_sequences=True,
             return_state=True)


@pytest.mark.parametrize("activation,recurrent_activation", [
    ("relu", "sigmoid"), ("tanh", "hard_sigmoid"), ("linear", "tanh"), ("sigmoid", "relu"),
    (None, "sigmoid"), ("tanh", "linear")])
def test_matches_keras_with_other_activations(keras, tf, rng, activation, recurrent_activation):
    _compare(keras, tf, rng, 3, 5, 4, 3, activation=activation,
             recurrent_activation=recurrent_activation, return_sequences=True, return_state=True,
             initial_state=True)


def test_matches_keras_without_bias_and_with_initial_state(keras, tf, rng):
    _compare(keras, tf, rng, 3, 5, 4, 3, use_bias=False, initial_state=True, return_state=True)


def _mask(rng, B, T):
    mask = rng.random((B, T)) > 0.3
    mask[0, 3:] = False              # post-padding
    mask[1, :2] = False              # pre-padding
    mask[2] = False                  # nothing at all
    return mask


@pytest.mark.parametrize("go_backwards", [False, True], ids=["forwards", "go_backwards"])
@pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "sequences"])
def test_matches_keras_with_a_mask(keras, tf, rng, return_sequences, go_backwards):
    B, T = 5, 6
    _compare(keras, tf, rng, B, T, 3, 4, mask=_mask(rng, B, T), initial_state=True,
             return_sequences=return_sequences, go_backwards=go_backwards, return_state=True)


@pytest.mark.parametrize("rates", [(0.3, 0.0), (0.25, 0.4)], ids=["dropout", "both-dropouts"])
def test_matches_keras_with_the_same_dropout_masks(keras, tf, rng, rates):
    """Keras draws one mask per gate once recurrent_dropout > 0; handing it rnncore's masks
    must give the same numbers."""
    B, T, I, H = 4, 5, 3, 6
    dropout, recurrent_dropout = rates
    ours, theirs = _pair(keras, rng, I, H, dropout=dropout, recurrent_dropout=recurrent_dropout,
                         return_sequences=True, seed=3)
    x = rng.standard_normal((B, T, I)).astype(np.float32)
    outs, d, grads, d_inputs = _run_ours([ours], x, rng, training=True)
    cache = ours._cache
    dp = cache.gate_input_mask if cache.gate_input_mask is not None else cache.input_mask
    rdp = cache.rec_mask if cache.rec_mask.shape[0] else None
    assert dp is not None and dp.shape == ((4, B, I) if recurrent_dropout else (B, I))
    assert (rdp is None) == (recurrent_dropout == 0)

    def masks_like(step_input, rate):
        m = dp if step_input.shape[-1] == I else rdp
        return [tf.constant(g) for g in m] if m.ndim == 3 else tf.constant(m)

    theirs.cell._create_dropout_mask = masks_like
    k_outs, k_grads = _run_keras(tf, lambda xt, st: theirs(xt, training=True),
                                 theirs.trainable_weights, x, d)
    _assert_outputs_close(outs, k_outs)
    _assert_grads_close(grads + d_inputs, k_grads, ["kernel", "recurrent_kernel", "bias", "x"])


@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("go_backwards", [False, True], ids=["forwards", "go_backwards"])
@pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "sequences"])
def test_truncated_gradient_matches_the_keras_reference(keras, tf, rng, return_sequences,
                                                        go_backwards, k):
    """DESIGN.md: Keras on the first T-k processed steps, stop_gradient on its states (and its
    outputs when the sequence is returned), then the same layer on the last k steps."""
    B, T, I, H = 3, 6, 4, 5
    ours, theirs = _pair(keras, rng, I, H, return_sequences=return_sequences, return_state=True,
                         go_backwards=go_backwards, truncate_gradient=k)
    x = rng.standard_normal((B, T, I)).astype(np.float32)
    outs, d, grads, d_inputs = _run_ours([ours], x, rng)

    def call(xt, st):
        first, last = (xt[:, k:], xt[:, :k]) if go_backwards else (xt[:, :T - k], xt[:, T - k:])
        y1, h, c = theirs(first)
        y2, h, c = theirs(last, initial_state=[tf.stop_gradient(h), tf.stop_gradient(c)])
        y = tf.concat([tf.stop_gradient(y1), y2], axis=1) if return_sequences else y2
        return [y, h, c]

    k_outs, k_grads = _run_keras(tf, call, theirs.trainable_weights, x, d)
    _assert_outputs_close(outs, k_outs)
    _assert_grads_close(grads + d_inputs, k_grads, ["kernel", "recurrent_kernel", "bias", "x"])


@pytest.mark.parametrize("first", ["LSTM", "SimpleRNN"])
def test_two_layer_stack_matches_keras(keras, tf, rng, first):
    """LSTM → LSTM and SimpleRNN → LSTM, chained by hand forward and backward."""
    B, T, I, H1, H2 = 4, 6, 3, 5, 4
    lower = (LSTM if first == "LSTM" else SimpleRNN)(H1, return_sequences=True)
    upper = LSTM(H2)
    lower.build((None, None, I))
    upper.build((None, None, H1))
    k_lower = getattr(keras.layers, first)(H1, return_sequences=True)
    k_upper = keras.layers.LSTM(H2)
    k_lower.build((None, None, I))
    k_upper.build((None, None, H1))
    k_lower.set_weights(_random_weights(lower, rng))
    k_upper.set_weights(_random_weights(upper, rng))
    x = rng.standard_normal((B, T, I)).astype(np.float32)
    outs, d, grads, d_inputs = _run_ours([lower, upper], x, rng)
    weights = k_lower.trainable_weights + k_upper.trainable_weights
    k_outs, k_grads = _run_keras(tf, lambda xt, st: k_upper(k_lower(xt)), weights, x, d)
    _assert_outputs_close(outs, k_outs)
    names = [f"lower.{w.name}" for w in lower.weights] + [f"upper.{w.name}" for w in upper.weights]
    _assert_grads_close(grads + d_inputs, k_grads, names + ["x"])


def test_matches_keras_on_a_large_case(keras, tf, rng):
    _compare(keras, tf, rng, 64, 100, 64, 128, return_sequences=True)


# ---- layer behaviour -------------------------------------------------------------------------

def test_weights_have_keras_names_shapes_and_forget_bias(rng):
    layer = LSTM(3)
    layer.build((None, None, 2))
    assert [(w.name, w.shape) for w in layer.weights] == [
        ("kernel", (2, 12)), ("recurrent_kernel", (3, 12)), ("bias", (12,))]
    np.testing.assert_array_equal(layer.bias.value, [0] * 3 + [1] * 3 + [0] * 6)
    # the orthogonal (3, 12) recurrent kernel comes out of QR transposed: stored C-ordered all
    # the same, as the kernels and optimizers' in-place updates expect
    assert all(w.value.flags.c_contiguous for w in layer.weights)
    plain = LSTM(3, unit_forget_bias=False)
    plain.build((None, None, 2))
    np.testing.assert_array_equal(plain.bias.value, 0)
    no_bias = LSTM(3, use_bias=False)
    assert no_bias(np.zeros((1, 2, 2))).shape == (1, 3)
    assert [w.name for w in no_bias.weights] == ["kernel", "recurrent_kernel"]


def test_config_round_trip_keeps_the_lstm_arguments():
    layer = LSTM(7, activation="relu", recurrent_activation="hard_sigmoid",
                 unit_forget_bias=False, truncate_gradient=4, return_sequences=True)
    config = layer.get_config()
    assert config["recurrent_activation"] == "hard_sigmoid"
    assert config["unit_forget_bias"] is False
    clone = LSTM.from_config(config)
    assert clone.get_config() == config


def test_stateful_layer_fed_in_chunks_equals_one_pass(rng):
    x = rng.standard_normal((2, 8, 3)).astype(np.float32)
    whole = LSTM(4, return_sequences=True)
    y = whole(x)
    chunked = LSTM(4, return_sequences=True, stateful=True)
    chunked.build((None, None, 3))
    chunked.set_weights(whole.get_weights())
    y_chunks = np.concatenate([chunked(x[:, :5]), chunked(x[:, 5:])], axis=1)
    np.testing.assert_allclose(y_chunks, y, atol=1e-6)
    assert len(chunked.states) == 2


def test_integer_and_non_contiguous_input_is_converted(rng):
    layer = LSTM(3, return_sequences=True)
    x = rng.integers(-2, 3, size=(4, 5, 6))
    expected = layer(x.astype(np.float32))
    np.testing.assert_array_equal(layer(x), expected)
    x_strided = np.asfortranarray(x.astype(np.float64))
    np.testing.assert_allclose(layer(x_strided), expected, atol=1e-6)


# ---- bad input ------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs,match", [
    (dict(truncate_gradient=0), r"truncate_gradient.*got 0"),
    (dict(truncate_gradient=-2), r"truncate_gradient.*got -2"),
    (dict(activation="softmax"), r"activation.*'softmax'"),
    (dict(recurrent_activation="swish"), r"recurrent_activation.*'swish'"),
    (dict(unit_forget_bias="yes"), r"unit_forget_bias.*'yes'"),
    (dict(implementation=3), r"implementation.*got 3"),
    (dict(use_cudnn="maybe"), r"use_cudnn.*'maybe'"),
    (dict(units=0), r"units.*got 0"),
])
def test_bad_arguments_raise_naming_argument_and_value(kwargs, match):
    kwargs = {"units": 4, **kwargs}
    with pytest.raises(ValueError, match=match):
        LSTM(**kwargs)


def _built_layer():
    layer = LSTM(4)
    layer(np.zeros((2, 3, 5), np.float32))
    return layer


@pytest.mark.parametrize("call,match", [
    (lambda l: l(np.zeros((2, 5), np.float32)), r"inputs must be 3D.*\(2, 5\)"),
    (lambda l: l(np.array([[["a"] * 5] * 3] * 2)), r"inputs must be a numeric array.*<U1"),
    (lambda l: l(np.zeros((2, 3, 6), np.float32)), r"6 features.*built for 5"),
    (lambda l: l(np.zeros((2, 3, 5)), initial_state=[np.zeros((2, 3)), np.zeros((2, 4))]),
     r"initial_state\[0\].*\(2, 4\).*\(2, 3\)"),
    (lambda l: l(np.zeros((2, 3, 5)), initial_state=[np.zeros((2, 4))]),
     r"initial_state.*2 array.*got 1"),
    (lambda l: l(np.zeros((2, 3, 5)), initial_state=[np.zeros((2, 4))] * 3),
     r"initial_state.*2 array.*got 3"),
    (lambda l: l(np.zeros((2, 3, 5)), mask=np.ones((2, 4), bool)), r"mask.*\(2, 3\).*\(2, 4\)"),
])
def test_bad_input_raises_naming_argument_and_value(call, match):
    with pytest.raises(ValueError, match=match):
        call(_built_layer())
