"""``rnncore.layers.SimpleRNN`` against ``keras.layers.SimpleRNN`` with identical weights, plus
argument checks, weights, config and stateful use."""
import numpy as np
import pytest

from rnncore.layers import SimpleRNN

OUT_ATOL = 1e-5   # float32 outputs vs Keras, absolute
GRAD_RTOL = 1e-4  # float32 gradients vs Keras, relative to the gradient's largest entry
SMALL = (4, 7, 3, 5)  # B, T, I, H
WEIGHT_NAMES = ["kernel", "recurrent_kernel", "bias"]


# ---- helpers ------------------------------------------------------------------------------
def _layer(rng, units, input_dim, **kwargs):
    """A built rnncore layer with a random bias too (the default initializer gives zeros)."""
    layer = SimpleRNN(units, **kwargs)
    layer.build((None, None, input_dim))
    if layer.use_bias:
        layer.bias.assign(rng.uniform(-0.5, 0.5, units).astype(layer.dtype))
    return layer


def _keras_twin(keras, layer, input_shape, **overrides):
    """keras.layers.SimpleRNN with the rnncore layer's arguments and weights."""
    config = dict(units=layer.units, activation=layer.activation, use_bias=layer.use_bias,
                  return_sequences=layer.return_sequences, return_state=layer.return_state,
                  go_backwards=layer.go_backwards, stateful=layer.stateful,
                  dropout=layer.dropout, recurrent_dropout=layer.recurrent_dropout)
    config.update(overrides)
    k = keras.layers.SimpleRNN(**config)
    k.build(input_shape)
    k.set_weights(layer.get_weights())
    return k


def _as_list(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


def _keras_run(tf, k, x, w, initial_state=None, mask=None, training=False):
    """Keras outputs and tf.GradientTape gradients of sum_i <w_i, output_i> w.r.t. the
    weights, the input and the initial state."""
    xt = tf.constant(x)
    h0 = None if initial_state is None else tf.constant(initial_state)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        if h0 is not None:
            tape.watch(h0)
        kwargs = {"training": training}
        if h0 is not None:
            kwargs["initial_state"] = [h0]
        if mask is not None:
            kwargs["mask"] = tf.constant(mask)
        outs = _as_list(k(xt, **kwargs))
        loss = tf.add_n([tf.reduce_sum(o * wi) for o, wi in zip(outs, w)])
    sources = list(k.trainable_weights) + [xt] + ([h0] if h0 is not None else [])
    grads = tape.gradient(loss, sources)
    return [o.numpy() for o in outs], [np.zeros(s.shape, np.float32) if g is None else g.numpy()
                                       for g, s in zip(grads, sources)]


def _rnncore_run(layer, x, w, initial_state=None, mask=None, training=False):
    kwargs = {"training": training, "mask": mask}
    if initial_state is not None:
        kwargs["initial_state"] = [initial_state]
    outs = _as_list(layer(x, **kwargs))
    d_in = layer.backward(w if layer.return_state else w[0])
    d_in = d_in if isinstance(d_in, list) else [d_in]
    return outs, [v.grad for v in layer.trainable_weights] + d_in


def _assert_outputs_equal(ours, theirs):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape and a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=0, atol=OUT_ATOL)


def _assert_grads_equal(ours, theirs, names):
    assert len(ours) == len(theirs) == len(names)
    for a, b, name in zip(ours, theirs, names):
        assert a.shape == b.shape, name
        scale = max(np.abs(b).max(initial=0), 1e-30)
        np.testing.assert_allclose(a, b, rtol=GRAD_RTOL, atol=GRAD_RTOL * scale,
                                   err_msg=f"gradient w.r.t. {name}")


def _step_mask(rng, B, T):
    mask = rng.random((B, T)) > 0.3
    mask[0, :] = False                 # an empty sequence
    if B > 1:
        mask[1, T // 2:] = False       # post-padded
    if B > 2:
        mask[2, :T // 2] = False       # pre-padded
    return mask


# ---- against Keras ------------------------------------------------------------------------
CASES = {
    # name: ((B, T, I, H), layer kwargs, call options)
    "last": (SMALL, {}, {}),
    "sequences": (SMALL, {"return_sequences": True}, {}),
    "backwards-last": (SMALL, {"go_backwards": True}, {}),
    "backwards-sequences": (SMALL, {"go_backwards": True, "return_sequences": True}, {}),
    "relu": (SMALL, {"activation": "relu", "return_sequences": True}, {}),
    "relu-backwards": (SMALL, {"activation": "relu", "go_backwards": True}, {"state": True}),
    "initial-state": (SMALL, {}, {"state": True}),
    "initial-state-sequences": (SMALL, {"return_sequences": True}, {"state": True}),
    "return-state": (SMALL, {"return_state": True}, {"state": True}),
    "return-state-sequences": (SMALL, {"return_state": True, "return_sequences": True}, {}),
    "no-bias": (SMALL, {"use_bias": False, "return_sequences": True}, {}),
    "mask-sequences": (SMALL, {"return_sequences": True}, {"mask": True, "state": True}),
    "mask-last": (SMALL, {}, {"mask": True, "state": True}),
    "mask-backwards": (SMALL, {"go_backwards": True, "return_sequences": True},
                       {"mask": True, "state": True}),
    "mask-return-state": (SMALL, {"return_state": True}, {"mask": True}),
    "B1-T1-H1": ((1, 1, 1, 1), {"return_sequences": True}, {"state": True}),
    "B1": ((1, 6, 3, 4), {}, {}),
    "T1": ((3, 1, 2, 4), {"return_state": True}, {"state": True}),
    "H1": ((3, 5, 2, 1), {"go_backwards": True, "return_sequences": True}, {}),
    "large": ((64, 100, 64, 128), {"return_sequences": True}, {"state": True}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_matches_keras(keras, tf, rng, case):
    (B, T, I, H), kwargs, opts = CASES[case]
    layer = _layer(rng, H, I, **kwargs)
    k = _keras_twin(keras, layer, (B, T, I))
    x = rng.standard_normal((B, T, I)).astype(np.float32)
    h0 = rng.standard_normal((B, H)).astype(np.float32) if opts.get("state") else None
    mask = _step_mask(rng, B, T) if opts.get("mask") else None
    out_shapes = [(B, T, H) if layer.return_sequences else (B, H)]
    out_shapes += [(B, H)] if layer.return_state else []
    w = [rng.standard_normal(s).astype(np.float32) for s in out_shapes]

    ours, our_grads = _rnncore_run(layer, x, w, h0, mask)
    theirs, their_grads = _keras_run(tf, k, x, w, h0, mask)

    _assert_outputs_equal(ours, theirs)
    names = [v.name for v in layer.trainable_weights] + ["x"] + (["initial_state"] if h0 is not None
                                                                 else [])
    _assert_grads_equal(our_grads, their_grads, names)


@pytest.mark.parametrize("go_backwards", [False, True], ids=["forwards", "go_backwards"])
@pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "sequences"])
def test_two_layer_stack_matches_keras(keras, tf, rng, return_sequences, go_backwards):
    B, T, I, H1, H2 = 3, 6, 4, 5, 3
    first = _layer(rng, H1, I, return_sequences=True)
    second = _layer(rng, H2, H1, return_sequences=return_sequences, go_backwards=go_backwards)
    k1 = _keras_twin(keras, first, (B, T, I))
    k2 = _keras_twin(keras, second, (B, T, H1))
    x = rng.standard_normal((B, T, I)).astype(np.float32)
    w = rng.standard_normal((B, T, H2) if return_sequences else (B, H2)).astype(np.float32)

    y = second(first(x))
    dx = first.backward(second.backward(w))
    ours = [v.grad for v in first.trainable_weights + second.trainable_weights] + [dx]

    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        yk = k2(k1(xt))
        loss = tf.reduce_sum(yk * w)
    theirs = [g.numpy() for g in tape.gradient(
        loss, list(k1.trainable_weights) + list(k2.trainable_weights) + [xt])]

    _assert_outputs_equal([y], [yk.numpy()])
    names = [f"layer1.{n}" for n in WEIGHT_NAMES] + [f"layer2.{n}" for n in WEIGHT_NAMES] + ["x"]
    _assert_grads_equal(ours, theirs, names)


@pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "sequences"])
def test_dropout_with_training_false_is_no_dropout(keras, tf, rng, return_sequences):
    B, T, I, H = SMALL
    layer = _layer(rng, H, I, dropout=0.4, recurrent_dropout=0.3, seed=3,
                   return_sequences=return_sequences)
    plain = _layer(rng, H, I, return_sequences=return_sequences)
    plain.set_weights(layer.get_weights())
    k = _keras_twin(keras, layer, (B, T, I), dropout=0.0, recurrent_dropout=0.0)
    x = rng.standard_normal((B, T, I)).astype(np.float32)
    w = [rng.standard_normal((B, T, H) if return_sequences else (B, H)).astype(np.float32)]

    ours, our_grads = _rnncore_run(layer, x, w, training=False)
    ref, ref_grads = _rnncore_run(plain, x, w)
    theirs, their_grads = _keras_run(tf, k, x, w, training=False)

    np.testing.assert_array_equal(ours[0], ref[0])
    for a, b in zip(our_grads, ref_grads):
        np.testing.assert_array_equal(a, b)
    _assert_outputs_equal(ours, theirs)
    _assert_grads_equal(our_grads, their_grads, WEIGHT_NAMES + ["x"])


def test_dropout_with_training_true_changes_the_output(rng):
    """The counterpart of the test above, so that it cannot pass by ignoring `dropout`."""
    B, T, I, H = SMALL
    layer = _layer(rng, H, I, dropout=0.5, recurrent_dropout=0.5, seed=0)
    x = rng.standard_normal((B, T, I)).astype(np.float32)
    assert not np.allclose(layer(x, training=True), layer(x, training=False))


def _keras_truncated_reference(tf, k, x, w, h0, trunc, return_sequences, go_backwards):
    """DESIGN.md: run Keras on the first T-k processed steps, stop the gradient at its final
    state (and its outputs), run the same layer on the last k steps from that state."""
    T = x.shape[1]
    if trunc >= T:  # the window covers the whole sequence: plain BPTT
        outs, grads = _keras_run(tf, k, x, [w, np.zeros_like(h0)], h0)
        return outs[0], grads
    xt, h0t = tf.constant(x), tf.constant(h0)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        tape.watch(h0t)
        # slice inside the tape so that the input gradient comes back in x's layout
        head_t = xt[:, trunc:] if go_backwards else xt[:, :T - trunc]
        tail_t = xt[:, :trunc] if go_backwards else xt[:, T - trunc:]
        out1, s1 = k(head_t, initial_state=[h0t])
        out1, s1 = tf.stop_gradient(out1), tf.stop_gradient(s1)
        out2, s2 = k(tail_t, initial_state=[s1])
        out = tf.concat([out1, out2], axis=1) if return_sequences else out2
        loss = tf.reduce_sum(out * w)
    sources = list(k.trainable_weights) + [xt, h0t]
    grads = tape.gradient(loss, sources)
    return out.numpy(), [np.zeros(s.shape, np.float32) if g is None else g.numpy()
                         for g, s in zip(grads, sources)]


@pytest.mark.parametrize("trunc", [1, 3, 8], ids=lambda k: f"k={k}")
@pytest.mark.parametrize("go_backwards", [False, True], ids=["forwards", "go_backwards"])
@pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "sequences"])
def test_truncate_gradient_matches_keras_reference(keras, tf, rng, return_sequences,
                                                   go_backwards, trunc):
    B, T, I, H = 3, 8, 4, 5
    layer = _layer(rng, H, I, return_sequences=return_sequences, go_backwards=go_backwards,
                   truncate_gradient=trunc)
    k = _keras_twin(keras, layer, (B, T, I), return_sequences=return_sequences,
                    return_state=True)
    x = rng.standard_normal((B, T, I)).astype(np.float32)
    h0 = rng.standard_normal((B, H)).astype(np.float32)
    w = rng.standard_normal((B, T, H) if return_sequences else (B, H)).astype(np.float32)

    ours, our_grads = _rnncore_run(layer, x, [w], h0)
    theirs, their_grads = _keras_truncated_reference(tf, k, x, w, h0, trunc, return_sequences,
                                                     go_backwards)

    _assert_outputs_equal(ours, [theirs])
    _assert_grads_equal(our_grads, their_grads, WEIGHT_NAMES + ["x", "initial_state"])
    if trunc < T:
        np.testing.assert_array_equal(our_grads[-1], 0)  # nothing reaches the initial state


# ---- stateful ------------------------------------------------------------------------------
def test_stateful_carries_state_across_calls_like_keras(keras, tf, rng):
    B, T, I, H = SMALL
    layer = _layer(rng, H, I, stateful=True, return_sequences=True)
    k = _keras_twin(keras, layer, (B, T, I))
    x1, x2 = (rng.standard_normal((B, T, I)).astype(np.float32) for _ in range(2))
    w = [rng.standard_normal((B, T, H)).astype(np.float32)]

    y1 = layer(x1)
    _assert_outputs_equal([y1], [k(tf.constant(x1)).numpy()])
    # second chunk starts from the first chunk's final state; the gradient stops at the border
    ours, our_grads = _rnncore_run(layer, x2, w)
    theirs, their_grads = _keras_run(tf, k, x2, w)
    _assert_outputs_equal(ours, theirs)
    _assert_grads_equal(our_grads, their_grads, WEIGHT_NAMES + ["x"])
    fresh = _layer(rng, H, I, return_sequences=True)
    fresh.set_weights(layer.get_weights())
    assert not np.allclose(ours[0], fresh(x2), atol=1e-3)
    np.testing.assert_allclose(layer.states[0], ours[0][:, -1], rtol=0, atol=0)

    layer.reset_states()
    k.reset_states()
    np.testing.assert_array_equal(layer.states[0], 0)
    again = layer(x1)
    np.testing.assert_allclose(again, y1, rtol=0, atol=0)
    _assert_outputs_equal([again], [k(tf.constant(x1)).numpy()])


def test_stateful_rejects_another_batch_size(rng):
    layer = _layer(rng, 3, 2, stateful=True)
    layer(np.zeros((4, 5, 2), np.float32))
    with pytest.raises(ValueError, match="stateful with batch size 4, got a batch of 3"):
        layer(np.zeros((3, 5, 2), np.float32))


def test_reset_states_needs_a_stateful_layer(rng):
    with pytest.raises(AttributeError, match="not stateful"):
        _layer(rng, 3, 2).reset_states()


# ---- input checks --------------------------------------------------------------------------
@pytest.mark.parametrize("inputs,match", [
    (np.zeros((4, 3), np.float32), r"inputs must be 3D \(batch, timesteps, features\), "
                                   r"got shape \(4, 3\)"),
    (np.zeros((2, 4, 3, 1), np.float32), r"inputs must be 3D .*got shape \(2, 4, 3, 1\)"),
    (np.full((2, 4, 3), "a"), r"inputs must be a numeric array.*, got dtype <U1"),
    (np.full((2, 4, 3), None), r"inputs must be a numeric array.*, got dtype object"),
    (np.zeros((2, 4, 5), np.float32), r"inputs have 5 features, but the layer was built for 3"),
])
def test_bad_inputs_are_value_errors_naming_them(rng, inputs, match):
    layer = _layer(rng, 6, 3)
    with pytest.raises(ValueError, match=match):
        layer(inputs)


@pytest.mark.parametrize("state,match", [
    (np.zeros((2, 5), np.float32), r"initial_state\[0\] must have shape \(2, 6\), got \(2, 5\)"),
    (np.zeros((3, 6), np.float32), r"initial_state\[0\] must have shape \(2, 6\), got \(3, 6\)"),
    (np.zeros((6,), np.float32), r"initial_state\[0\] must have shape \(2, 6\), got \(6,\)"),
    ([np.zeros((2, 6)), np.zeros((2, 6))], r"initial_state must be a list of 1 array\(s\).*got 2"),
    (np.full((2, 6), "x"), r"initial_state\[0\] must be a numeric array.*, got dtype <U1"),
])
def test_bad_initial_state_is_a_value_error_naming_it(rng, state, match):
    layer = _layer(rng, 6, 3)
    with pytest.raises(ValueError, match=match):
        layer(np.zeros((2, 4, 3), np.float32), initial_state=state)


def test_bad_mask_shape_is_a_value_error(rng):
    layer = _layer(rng, 6, 3)
    with pytest.raises(ValueError, match=r"mask must have shape .*\(2, 4\).*got \(2, 5\)"):
        layer(np.zeros((2, 4, 3), np.float32), mask=np.ones((2, 5), bool))


@pytest.mark.parametrize("kwargs,match", [
    ({"units": 0}, r"units must be a positive integer, got 0"),
    ({"units": -3}, r"units must be a positive integer, got -3"),
    ({"units": 2.5}, r"units must be a positive integer, got 2.5"),
    ({"units": 4, "truncate_gradient": 0}, r"truncate_gradient must be -1 .*got 0"),
    ({"units": 4, "truncate_gradient": -2}, r"truncate_gradient must be -1 .*got -2"),
    ({"units": 4, "activation": "swish"},
     r"activation must be one of \['tanh', 'relu'\], got 'swish'"),
    ({"units": 4, "activation": "sigmoid"}, r"activation must be one of .*got 'sigmoid'"),
    ({"units": 4, "dtype": "int32"}, r"dtype must be 'float32' or 'float64', got 'int32'"),
])
def test_bad_arguments_are_value_errors_naming_them(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SimpleRNN(**kwargs)


@pytest.mark.parametrize("kind", ["int64", "int32", "bool", "float64", "non-contiguous",
                                  "fortran-order"])
def test_convertible_inputs_are_converted_not_rejected(rng, kind):
    layer = _layer(rng, 5, 3, return_sequences=True)
    base = rng.integers(-3, 4, size=(4, 6, 3))
    if kind == "bool":
        base = base > 0
    ref_in = np.ascontiguousarray(base, dtype=np.float32)
    if kind in ("int64", "int32", "bool"):
        given = base.astype(kind)
    elif kind == "float64":
        given = base.astype(np.float64)
    elif kind == "non-contiguous":
        given = np.repeat(ref_in, 2, axis=1)[:, ::2]
        assert not given.flags.c_contiguous
    else:
        given = np.asfortranarray(ref_in)
    out = layer(given)
    assert out.dtype == np.float32
    d_given = layer.backward(np.ones_like(out))
    np.testing.assert_array_equal(out, layer(ref_in))
    np.testing.assert_array_equal(d_given, layer.backward(np.ones_like(out)))


def test_float64_layer_matches_float32_layer(rng):
    x = rng.standard_normal((3, 5, 2))
    l32 = _layer(rng, 4, 2, return_sequences=True)
    l64 = _layer(rng, 4, 2, return_sequences=True, dtype="float64")
    l64.set_weights(l32.get_weights())
    y32, y64 = l32(x), l64(x)
    assert y64.dtype == np.float64 and l64.kernel.dtype == np.float64
    np.testing.assert_allclose(y32, y64, atol=1e-5)


# ---- weights and config --------------------------------------------------------------------
@pytest.mark.parametrize("use_bias", [True, False])
def test_weights_have_keras_names_shapes_and_order(keras, rng, use_bias):
    layer = SimpleRNN(5, use_bias=use_bias)
    k = keras.layers.SimpleRNN(5, use_bias=use_bias)
    assert layer.weights == [] and not layer.built
    layer(np.zeros((2, 3, 7), np.float32))
    k.build((2, 3, 7))
    assert [v.name for v in layer.weights] == [v.name for v in k.weights]
    assert [v.name for v in layer.trainable_weights] == [v.name for v in k.trainable_weights]
    assert [w.shape for w in layer.get_weights()] == [w.shape for w in k.get_weights()]
    assert layer.count_params() == k.count_params()
    # Keras weights load into rnncore (and back) in get_weights order
    layer.set_weights(k.get_weights())
    for a, b in zip(layer.get_weights(), k.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_set_weights_rejects_the_wrong_count_or_shape(rng):
    layer = _layer(rng, 4, 3)
    with pytest.raises(ValueError, match="expects 3 weights, but the weights list has 2"):
        layer.set_weights(layer.get_weights()[:2])
    bad = layer.get_weights()
    bad[1] = np.zeros((4, 5), np.float32)
    with pytest.raises(ValueError, match=r"recurrent_kernel.*expected shape \(4, 4\), "
                                         r"got \(4, 5\)"):
        layer.set_weights(bad)


def test_get_config_round_trips(keras, rng):
    kwargs = dict(units=6, activation="relu", use_bias=False, dropout=0.25,
                  recurrent_dropout=0.1, return_sequences=True, return_state=True,
                  go_backwards=True, stateful=False, seed=7, kernel_initializer="he_uniform",
                  recurrent_initializer="orthogonal", bias_initializer="zeros")
    layer = SimpleRNN(truncate_gradient=4, name="rnn_cfg", **kwargs)
    config = layer.get_config()
    clone = SimpleRNN.from_config(config)
    assert clone.get_config() == config
    assert config["truncate_gradient"] == 4 and config["name"] == "rnn_cfg"
    # the arguments a Keras user knows are recorded under Keras's keys and values
    k_config = keras.layers.SimpleRNN(**kwargs).get_config()
    for key in ("units", "activation", "use_bias", "dropout", "recurrent_dropout",
                "return_sequences", "return_state", "go_backwards", "stateful", "unroll",
                "zero_output_for_mask"):
        assert config[key] == k_config[key], key
    for key in ("kernel_initializer", "recurrent_initializer", "bias_initializer"):
        assert config[key]["class_name"] == k_config[key]["class_name"], key
    # and the clone computes the same function once it holds the same weights
    x = rng.standard_normal((2, 4, 3)).astype(np.float32)
    layer(x)
    clone(x)
    clone.set_weights(layer.get_weights())
    for a, b in zip(layer(x), clone(x)):
        np.testing.assert_array_equal(a, b)


def test_compute_output_shape_matches_the_output(rng):
    B, T, I, H = SMALL
    x = np.zeros((B, T, I), np.float32)
    for kwargs in ({}, {"return_sequences": True}, {"return_state": True},
                   {"return_sequences": True, "return_state": True}):
        layer = _layer(rng, H, I, **kwargs)
        shapes = layer.compute_output_shape((B, T, I))
        outs = _as_list(layer(x))
        shapes = shapes if isinstance(shapes, list) else [shapes]
        assert [o.shape for o in outs] == [tuple(s) for s in shapes]
