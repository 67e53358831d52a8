"""``rnncore.layers.GRU`` against ``keras.layers.GRU`` with identical weights (both reset_after
variants), plus dropout masks, stacks, truncation, stateful use, config and argument checks."""
import numpy as np
import pytest

from rnncore import layers
from rnncore.layers import GRU

OUT_ATOL = 1e-5   # float32 outputs vs Keras, absolute
GRAD_RTOL = 1e-4  # float32 gradients vs Keras, relative to the gradient's largest entry
SMALL = (4, 7, 3, 5)  # B, T, I, H
WEIGHT_NAMES = ["kernel", "recurrent_kernel", "bias"]
VARIANTS = pytest.mark.parametrize("reset_after", [True, False],
                                   ids=["reset_after", "reset_before"])


# ---- helpers ------------------------------------------------------------------------------
def _layer(rng, units, input_dim, cls=GRU, **kwargs):
    """A built rnncore layer with random weights (a non-zero bias too)."""
    layer = cls(units, **kwargs)
    layer.build((None, None, input_dim))
    for v in layer.weights:
        scale = 0.5 if v.name == "bias" else 0.7
        v.assign(rng.uniform(-scale, scale, v.shape).astype(layer.dtype))
    return layer


def _keras_twin(keras, layer, input_shape, **overrides):
    """The Keras layer of the same class with the rnncore layer's arguments and weights."""
    config = dict(units=layer.units, activation=layer.activation, use_bias=layer.use_bias,
                  return_sequences=layer.return_sequences, return_state=layer.return_state,
                  go_backwards=layer.go_backwards, stateful=layer.stateful,
                  dropout=layer.dropout, recurrent_dropout=layer.recurrent_dropout,
                  zero_output_for_mask=layer.zero_output_for_mask)
    for extra in ("recurrent_activation", "reset_after"):
        if hasattr(layer, extra):
            config[extra] = getattr(layer, extra)
    config.update(overrides)
    k = getattr(keras.layers, type(layer).__name__)(**config)
    k.build(input_shape)
    k.set_weights(layer.get_weights())
    return k


def _as_list(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


def _keras_run(tf, k, x, w, initial_state=None, mask=None, training=False, dropout_masks=None):
    """Keras outputs and tf.GradientTape gradients of sum_i <w_i, output_i> w.r.t. the
    weights, the input and the initial state. ``dropout_masks`` = (input, recurrent) masks put
    into the cell in place of the ones it would draw."""
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
        if dropout_masks is not None:
            k.cell._dropout_mask, k.cell._recurrent_dropout_mask = dropout_masks
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
    "relu-hard-sigmoid": (SMALL, {"activation": "relu", "recurrent_activation": "hard_sigmoid",
                                  "return_sequences": True}, {}),
    "sigmoid-tanh": (SMALL, {"activation": "sigmoid", "recurrent_activation": "tanh"},
                     {"state": True}),
    "linear-sigmoid": (SMALL, {"activation": "linear", "return_sequences": True}, {}),
    "initial-state": (SMALL, {}, {"state": True}),
    "return-state": (SMALL, {"return_state": True}, {"state": True}),
    "return-state-sequences": (SMALL, {"return_state": True, "return_sequences": True}, {}),
    "no-bias": (SMALL, {"use_bias": False, "return_sequences": True}, {}),
    "mask-sequences": (SMALL, {"return_sequences": True}, {"mask": True, "state": True}),
    "mask-last": (SMALL, {}, {"mask": True, "state": True}),
    "mask-backwards-return-state": (SMALL, {"go_backwards": True, "return_sequences": True,
                                            "return_state": True}, {"mask": True}),
    "mask-zero-output": (SMALL, {"return_sequences": True, "zero_output_for_mask": True},
                         {"mask": True, "state": True}),
    "B1-T1-H1": ((1, 1, 1, 1), {"return_sequences": True}, {"state": True}),
    "B1": ((1, 6, 3, 4), {}, {}),
    "T1": ((3, 1, 2, 4), {"return_state": True}, {"state": True}),
    "H1": ((3, 5, 2, 1), {"go_backwards": True, "return_sequences": True}, {}),
}


@pytest.mark.parametrize("case", list(CASES))
@VARIANTS
def test_matches_keras(keras, tf, rng, reset_after, case):
    (B, T, I, H), kwargs, opts = CASES[case]
    layer = _layer(rng, H, I, reset_after=reset_after, **kwargs)
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


def test_large_batch_matches_keras(keras, tf, rng):
    B, T, I, H = 64, 100, 64, 128
    layer = _layer(rng, H, I, return_sequences=True)
    for v in layer.weights:  # Keras-like scales keep a 100-step sequence in range
        v.assign(v.value * (0.25 if v.name != "bias" else 1.0))
    k = _keras_twin(keras, layer, (B, T, I))
    x = rng.standard_normal((B, T, I)).astype(np.float32)
    h0 = rng.standard_normal((B, H)).astype(np.float32)
    w = [rng.standard_normal((B, T, H)).astype(np.float32)]
    ours, our_grads = _rnncore_run(layer, x, w, h0)
    theirs, their_grads = _keras_run(tf, k, x, w, h0)
    _assert_outputs_equal(ours, theirs)
    _assert_grads_equal(our_grads, their_grads, WEIGHT_NAMES + ["x", "initial_state"])


@pytest.mark.parametrize("rates,implementation", [
    ((0.4, 0.0), 2),    # one input mask shared by the gates
    ((0.4, 0.3), 2),    # recurrent dropout: Keras switches to one mask per gate
    ((0.0, 0.5), 2),
    ((0.3, 0.0), 1),    # implementation=1: per-gate input masks
], ids=["dropout", "both", "recurrent", "implementation-1"])
@VARIANTS
def test_dropout_masks_act_as_in_keras(keras, tf, rng, reset_after, rates, implementation):
    """With training=True, Keras run with the very masks rnncore drew gives rnncore's outputs
    and gradients: the masks have Keras's count and reach the same places."""
    B, T, I, H = SMALL
    layer = _layer(rng, H, I, reset_after=reset_after, dropout=rates[0],
                   recurrent_dropout=rates[1], implementation=implementation, seed=5,
                   return_sequences=True)
    # Keras's fused (cuDNN-or-fallback) path cannot take per-gate masks without recurrent
    # dropout and fails there; its cell loop (use_cudnn=False) is the reference
    k = _keras_twin(keras, layer, (B, T, I), implementation=implementation, use_cudnn=False)
    x = rng.standard_normal((B, T, I)).astype(np.float32)
    w = [rng.standard_normal((B, T, H)).astype(np.float32)]

    ours, our_grads = _rnncore_run(layer, x, w, training=True)
    per_gate = implementation == 1 or rates[1] > 0
    masks = []
    cache = layer._cache
    dp = cache.gate_input_mask  # (3, B, F) per gate, else the shared (B, F) one
    if dp is None and cache.input_mask is not None:
        dp = cache.input_mask[None]
    for m, rate in ((dp, rates[0]), (cache.rec_mask, rates[1])):
        if rate == 0:
            assert m is None or m.size == 0
            masks.append(None)
            continue
        assert m.shape[0] == (3 if per_gate else 1)
        kept = m != 0
        assert 0 < kept.mean() < 1
        np.testing.assert_allclose(m[kept], 1 / (1 - rate), rtol=1e-6)  # inverted dropout
        masks.append([tf.constant(g) for g in m] if per_gate else tf.constant(m[0]))
    theirs, their_grads = _keras_run(tf, k, x, w, training=True, dropout_masks=masks)

    _assert_outputs_equal(ours, theirs)
    _assert_grads_equal(our_grads, their_grads, WEIGHT_NAMES + ["x"])
    assert not np.allclose(ours[0], layer(x, training=False), atol=1e-3)


def _keras_truncated_reference(tf, k, x, w, h0, trunc, return_sequences):
    """DESIGN.md: run Keras on x[:, :T-k], stop the gradient at its final state (and its
    outputs), run the same layer on x[:, T-k:] from that state, concatenate."""
    T = x.shape[1]
    xt, h0t = tf.constant(x), tf.constant(h0)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        tape.watch(h0t)
        out1, s1 = k(xt[:, :T - trunc], initial_state=[h0t])
        out1, s1 = tf.stop_gradient(out1), tf.stop_gradient(s1)
        out2, _ = k(xt[:, T - trunc:], initial_state=[s1])
        out = tf.concat([out1, out2], axis=1) if return_sequences else out2
        loss = tf.reduce_sum(out * w)
    sources = list(k.trainable_weights) + [xt, h0t]
    grads = tape.gradient(loss, sources)
    return out.numpy(), [np.zeros(s.shape, np.float32) if g is None else g.numpy()
                         for g, s in zip(grads, sources)]


@pytest.mark.parametrize("trunc", [1, 3], ids=lambda k: f"k={k}")
@pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "sequences"])
@VARIANTS
def test_truncate_gradient_matches_keras_reference(keras, tf, rng, reset_after,
                                                   return_sequences, trunc):
    B, T, I, H = 3, 8, 4, 5
    layer = _layer(rng, H, I, reset_after=reset_after, return_sequences=return_sequences,
                   truncate_gradient=trunc)
    k = _keras_twin(keras, layer, (B, T, I), return_state=True)
    x = rng.standard_normal((B, T, I)).astype(np.float32)
    h0 = rng.standard_normal((B, H)).astype(np.float32)
    w = rng.standard_normal((B, T, H) if return_sequences else (B, H)).astype(np.float32)

    ours, our_grads = _rnncore_run(layer, x, [w], h0)
    theirs, their_grads = _keras_truncated_reference(tf, k, x, w, h0, trunc, return_sequences)

    _assert_outputs_equal(ours, [theirs])
    _assert_grads_equal(our_grads, their_grads, WEIGHT_NAMES + ["x", "initial_state"])
    np.testing.assert_array_equal(our_grads[-1], 0)  # nothing reaches the initial state
    np.testing.assert_array_equal(our_grads[3][:, :T - trunc], 0)


@pytest.mark.parametrize("first", ["GRU", "LSTM", "SimpleRNN"])
@VARIANTS
def test_two_layer_stack_matches_keras(keras, tf, rng, reset_after, first):
    """A recurrent layer feeding a GRU, chained by hand through forward and backward."""
    B, T, I, H1, H2 = 3, 6, 4, 5, 3
    kwargs = {"reset_after": reset_after} if first == "GRU" else {}
    one = _layer(rng, H1, I, cls=getattr(layers, first), return_sequences=True, **kwargs)
    two = _layer(rng, H2, H1, reset_after=reset_after, go_backwards=True)
    k1 = _keras_twin(keras, one, (B, T, I))
    k2 = _keras_twin(keras, two, (B, T, H1))
    x = rng.standard_normal((B, T, I)).astype(np.float32)
    w = rng.standard_normal((B, H2)).astype(np.float32)

    y = two(one(x))
    dx = one.backward(two.backward(w))
    ours = [v.grad for v in one.trainable_weights + two.trainable_weights] + [dx]

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


# ---- stateful ------------------------------------------------------------------------------
@VARIANTS
def test_stateful_carries_state_across_calls_like_keras(keras, tf, rng, reset_after):
    B, T, I, H = SMALL
    layer = _layer(rng, H, I, reset_after=reset_after, stateful=True, return_sequences=True)
    k = _keras_twin(keras, layer, (B, T, I))
    x1, x2 = (rng.standard_normal((B, T, I)).astype(np.float32) for _ in range(2))
    w = [rng.standard_normal((B, T, H)).astype(np.float32)]

    y1 = layer(x1)
    _assert_outputs_equal([y1], [k(tf.constant(x1)).numpy()])
    ours, our_grads = _rnncore_run(layer, x2, w)
    theirs, their_grads = _keras_run(tf, k, x2, w)
    _assert_outputs_equal(ours, theirs)
    _assert_grads_equal(our_grads, their_grads, WEIGHT_NAMES + ["x"])
    np.testing.assert_array_equal(layer.states[0], ours[0][:, -1])
    layer.reset_states()
    np.testing.assert_array_equal(layer(x1), y1)


# ---- weights and config --------------------------------------------------------------------
@pytest.mark.parametrize("use_bias", [True, False])
@VARIANTS
def test_weights_have_keras_names_shapes_and_order(keras, reset_after, use_bias):
    layer = GRU(5, use_bias=use_bias, reset_after=reset_after)
    k = keras.layers.GRU(5, use_bias=use_bias, reset_after=reset_after)
    layer(np.zeros((2, 3, 7), np.float32))
    k.build((2, 3, 7))
    assert [v.name for v in layer.weights] == [v.name for v in k.weights]
    assert [w.shape for w in layer.get_weights()] == [w.shape for w in k.get_weights()]
    assert layer.count_params() == k.count_params()
    layer.set_weights(k.get_weights())
    for a, b in zip(layer.get_weights(), k.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_weights_of_the_other_variant_do_not_load():
    layer = GRU(4, reset_after=False)
    layer(np.zeros((1, 2, 3), np.float32))
    other = GRU(4)
    other(np.zeros((1, 2, 3), np.float32))
    with pytest.raises(ValueError, match=r"weight 'bias': expected shape \(12,\), got \(2, 12\)"):
        layer.set_weights(other.get_weights())


def test_config_round_trips_and_matches_keras(keras):
    layer = GRU(6, activation="relu", recurrent_activation="hard_sigmoid", reset_after=False,
                dropout=0.2, go_backwards=True, truncate_gradient=4, name="g")
    config = layer.get_config()
    rebuilt = GRU.from_config(config)
    assert rebuilt.get_config() == config
    assert isinstance(layers.deserialize(layers.serialize(layer)), GRU)
    k = keras.layers.GRU(6, activation="relu", recurrent_activation="hard_sigmoid",
                         reset_after=False, dropout=0.2, go_backwards=True).get_config()
    for key in ("units", "activation", "recurrent_activation", "reset_after", "dropout",
                "recurrent_dropout", "go_backwards", "use_bias", "return_sequences"):
        assert config[key] == k[key], key
    assert config["truncate_gradient"] == 4


def test_defaults_are_keras_defaults(keras):
    ours, theirs = GRU(3).get_config(), keras.layers.GRU(3).get_config()
    for key in ("activation", "recurrent_activation", "reset_after", "use_bias"):
        assert ours[key] == theirs[key], key


# ---- input checks --------------------------------------------------------------------------
@pytest.mark.parametrize("inputs,match", [
    (np.zeros((4, 3), np.float32), r"inputs must be 3D \(batch, timesteps, features\), "
                                   r"got shape \(4, 3\)"),
    (np.full((2, 4, 3), "a"), r"inputs must be a numeric array.*, got dtype <U1"),
    (np.zeros((2, 4, 5), np.float32), r"inputs have 5 features, but the layer was built for 3"),
])
def test_bad_inputs_are_value_errors_naming_them(rng, inputs, match):
    layer = _layer(rng, 6, 3)
    with pytest.raises(ValueError, match=match):
        layer(inputs)


@pytest.mark.parametrize("state,match", [
    (np.zeros((2, 5), np.float32), r"initial_state\[0\] must have shape \(2, 6\), got \(2, 5\)"),
    ([np.zeros((2, 6)), np.zeros((2, 6))], r"initial_state must be a list of 1 array\(s\).*got 2"),
])
def test_bad_initial_state_is_a_value_error_naming_it(rng, state, match):
    layer = _layer(rng, 6, 3)
    with pytest.raises(ValueError, match=match):
        layer(np.zeros((2, 4, 3), np.float32), initial_state=state)


@pytest.mark.parametrize("kwargs,match", [
    ({"truncate_gradient": 0}, r"truncate_gradient must be -1 .*got 0"),
    ({"truncate_gradient": -2}, r"truncate_gradient must be -1 .*got -2"),
    ({"activation": "swish"}, r"activation must be one of \[.*\], got 'swish'"),
    ({"recurrent_activation": "softmax"},
     r"recurrent_activation must be one of \[.*\], got 'softmax'"),
    ({"reset_after": "yes"}, r"reset_after must be True or False, got 'yes'"),
    ({"reset_after": 1}, r"reset_after must be True or False, got 1"),
    ({"reset_after": None}, r"reset_after must be True or False, got None"),
    ({"implementation": 3}, r"implementation must be 0, 1 or 2, got 3"),
    ({"use_cudnn": "yes"}, r"use_cudnn must be 'auto', True or False, got 'yes'"),
    ({"units": 0}, r"units must be a positive integer, got 0"),
])
def test_bad_arguments_are_value_errors_naming_them(kwargs, match):
    kwargs.setdefault("units", 4)
    with pytest.raises(ValueError, match=match):
        GRU(**kwargs)


@pytest.mark.parametrize("kind", ["int64", "non-contiguous"])
def test_convertible_inputs_are_converted_not_rejected(rng, kind):
    layer = _layer(rng, 5, 3, return_sequences=True)
    base = rng.integers(-3, 4, size=(4, 6, 3))
    ref_in = np.ascontiguousarray(base, dtype=np.float32)
    given = base if kind == "int64" else np.repeat(ref_in, 2, axis=1)[:, ::2]
    out = layer(given)
    assert out.dtype == np.float32
    d_given = layer.backward(np.ones_like(out))
    np.testing.assert_array_equal(out, layer(ref_in))
    np.testing.assert_array_equal(d_given, layer.backward(np.ones_like(out)))
