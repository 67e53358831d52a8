"""``rnncore.layers.SimpleRNN`` / ``LSTM`` / ``GRU`` against Keras's layers with identical weights
(float32), every test run for every cell of ``_recurrent_cells.CELLS``: outputs, states and the
gradients w.r.t. weights, inputs and initial states of a random linear function of the outputs
(``tf.GradientTape`` on the Keras side), under masks, dropout, truncation, stacking and stateful
use. Arguments, weights and config: test_layers_recurrent_api.py."""
import numpy as np
import pytest

import rnncore
from _recurrent_cells import (BY_ID, GATED, built_layer, cell_params, keras_twin, over_cells,
                              step_mask)
from _tolerance import (FLOAT32_SAME_MATHS, MEANINGFUL_DIFFERENCE, assert_keras_grad_close,
                        assert_keras_outputs_close)

SMALL = (4, 7, 3, 5)  # B, T, I, H


def _as_list(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


def _keras_run(tf, k, x, w, initial_state=None, mask=None, training=False):
    """Keras outputs and tf.GradientTape gradients of Σ_i <w_i, output_i> w.r.t. the
    weights, the input and the initial states."""
    xt = tf.constant(x)
    states = None if initial_state is None else [tf.constant(s) for s in initial_state]
    with tf.GradientTape() as tape:
        tape.watch(xt)
        kwargs = {"training": training}
        if states is not None:
            tape.watch(states)
            kwargs["initial_state"] = states
        if mask is not None:
            kwargs["mask"] = tf.constant(mask)
        outs = _as_list(k(xt, **kwargs))
        loss = tf.add_n([tf.reduce_sum(o * wi) for o, wi in zip(outs, w)])
    sources = list(k.trainable_weights) + [xt] + (states or [])
    grads = tape.gradient(loss, sources)
    return [o.numpy() for o in outs], [np.zeros(s.shape, np.float32) if g is None else g.numpy()
                                       for g, s in zip(grads, sources)]


def _rnncore_run(layer, x, w, initial_state=None, mask=None, training=False):
    kwargs = {"training": training, "mask": mask}
    if initial_state is not None:
        kwargs["initial_state"] = initial_state
    outs = _as_list(layer(x, **kwargs))
    d_in = _as_list(layer.backward(w if layer.return_state else w[0]))
    return outs, [v.grad for v in layer.trainable_weights] + d_in


def _assert_matches(ours, theirs, our_grads, their_grads, names):
    assert len(ours) == len(theirs)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert a.dtype == np.float32
        assert_keras_outputs_close(a, b, f"output {i}")
    assert len(our_grads) == len(their_grads) == len(names)
    for a, b, name in zip(our_grads, their_grads, names):
        assert_keras_grad_close(a, b, name)


def _grad_names(layer, cell, with_states):
    return [v.name for v in layer.trainable_weights] + ["x"] + \
        (cell.state_names if with_states else [])


def _compare(keras, tf, rng, cell, shape, kwargs, opts, scale=1.0):
    """One call of the rnncore layer and its Keras twin on the same data: outputs, states and
    all gradients."""
    B, T, I, H = shape
    layer = built_layer(rng, cell, H, I, scale=scale, **kwargs)
    k = keras_twin(keras, cell, layer, (B, T, I))
    x = rng.standard_normal((B, T, I)).astype(np.float32)
    h0 = ([rng.standard_normal((B, H)).astype(np.float32) for _ in cell.state_names]
          if opts.get("state") else None)
    mask = step_mask(rng, B, T) if opts.get("mask") else None
    out_shapes = [(B, T, H) if layer.return_sequences else (B, H)]
    out_shapes += [(B, H)] * cell.n_states if layer.return_state else []
    w = [rng.standard_normal(s).astype(np.float32) for s in out_shapes]
    ours, our_grads = _rnncore_run(layer, x, w, h0, mask)
    theirs, their_grads = _keras_run(tf, k, x, w, h0, mask)
    _assert_matches(ours, theirs, our_grads, their_grads, _grad_names(layer, cell, h0))


# ---- one layer ------------------------------------------------------------------------------
CASES = {
    # name: ((B, T, I, H), layer kwargs, call options)
    "last": (SMALL, {}, {}),
    "sequences": (SMALL, {"return_sequences": True}, {"state": True}),
    "backwards-last": (SMALL, {"go_backwards": True}, {"state": True}),
    "backwards-sequences": (SMALL, {"go_backwards": True, "return_sequences": True}, {}),
    "return-state": (SMALL, {"return_state": True}, {"state": True}),
    "return-state-sequences": (SMALL, {"return_state": True, "return_sequences": True}, {}),
    "backwards-return-state": (SMALL, {"go_backwards": True, "return_state": True}, {}),
    "no-bias": (SMALL, {"use_bias": False, "return_sequences": True, "return_state": True},
                {"state": True}),
    "mask-sequences": (SMALL, {"return_sequences": True}, {"mask": True, "state": True}),
    "mask-last-return-state": (SMALL, {"return_state": True}, {"mask": True, "state": True}),
    "mask-return-state": (SMALL, {"return_state": True}, {"mask": True}),
    "mask-backwards-last": (SMALL, {"go_backwards": True}, {"mask": True, "state": True}),
    "mask-backwards-sequences": (SMALL, {"go_backwards": True, "return_sequences": True,
                                         "return_state": True}, {"mask": True, "state": True}),
    "mask-zero-output": (SMALL, {"return_sequences": True, "zero_output_for_mask": True},
                         {"mask": True, "state": True}),
    "B1-T1-H1": ((1, 1, 1, 1), {"return_sequences": True, "return_state": True},
                 {"state": True}),
    "B1": ((1, 6, 3, 4), {}, {}),
    "T1": ((3, 1, 2, 4), {"return_state": True}, {"state": True}),
    "H1": ((3, 5, 2, 1), {"go_backwards": True, "return_sequences": True}, {}),
}


@pytest.mark.parametrize("case", list(CASES))
@over_cells
def test_matches_keras(keras, tf, rng, cell, case):
    _compare(keras, tf, rng, cell, *CASES[case])


@pytest.mark.parametrize("cell", [BY_ID[c] for c in ("simple_rnn-tanh", "lstm",
                                                     "gru-reset_after")], ids=repr)
def test_matches_keras_on_a_large_case(keras, tf, rng, cell):
    # Keras-like weight scales keep a 100-step sequence in range
    _compare(keras, tf, rng, cell, (64, 100, 64, 128), {"return_sequences": True},
             {"state": True}, scale=0.25)


@pytest.mark.parametrize("activation,recurrent_activation", [
    ("relu", "hard_sigmoid"), ("sigmoid", "relu"), ("linear", "tanh"), (None, "sigmoid"),
    ("tanh", "linear")])
@pytest.mark.parametrize("cell", GATED, ids=repr)
def test_gated_cells_match_keras_with_other_activations(keras, tf, rng, cell, activation,
                                                        recurrent_activation):
    # unbounded gates (linear, relu) grow the state fast: smaller weights keep the outputs in
    # the range where Keras's absolute output tolerance means something
    _compare(keras, tf, rng, cell, (3, 5, 4, 3),
             {"activation": activation, "recurrent_activation": recurrent_activation,
              "return_sequences": True, "return_state": True}, {"state": True}, scale=0.5)


# ---- dropout --------------------------------------------------------------------------------
def _spy_on_dropout_masks(monkeypatch, cell):
    """Record the dropout masks the layer hands to its public ops function (DESIGN.md: the
    recurrent layers are thin wrappers over that floor; should it move, this follows it)."""
    seen = []
    name = f"{cell.op_name}_forward"
    real = getattr(rnncore.recurrent, name)

    def spy(*args, **kwargs):
        seen.append((kwargs.get("dropout_mask"), kwargs.get("recurrent_dropout_mask")))
        return real(*args, **kwargs)

    monkeypatch.setattr(rnncore.recurrent, name, spy)
    return seen


def _dropout_rows(cell):
    rows = [("both", (0.4, 0.3), 2)]
    if cell.gated:
        rows += [("dropout", (0.4, 0.0), 2),  # one input mask shared by the gates
                 ("recurrent", (0.0, 0.5), 2),  # recurrent dropout: one mask per gate
                 ("implementation-1", (0.3, 0.0), 1)]  # per-gate input masks
    return rows


@pytest.mark.parametrize("cell,name,rates,implementation", cell_params(_dropout_rows))
def test_dropout_masks_act_as_in_keras(keras, tf, rng, monkeypatch, cell, name, rates,
                                       implementation):
    """With training=True, Keras run with the very masks rnncore drew gives rnncore's outputs
    and gradients: the masks have Keras's count and reach the same places. With
    training=False there is no dropout, as in Keras."""
    B, T, I, H = SMALL
    extra = {"implementation": implementation} if cell.gated else {}
    layer = built_layer(rng, cell, H, I, dropout=rates[0], recurrent_dropout=rates[1], seed=5,
                        return_sequences=True, **extra)
    # Keras's fused LSTM/GRU path cannot take per-gate masks without recurrent dropout; its
    # cell loop (use_cudnn=False) is the reference
    k = keras_twin(keras, cell, layer, (B, T, I), **({"use_cudnn": False} if cell.gated else {}))
    x = rng.standard_normal((B, T, I)).astype(np.float32)
    w = [rng.standard_normal((B, T, H)).astype(np.float32)]

    seen = _spy_on_dropout_masks(monkeypatch, cell)
    ours, our_grads = _rnncore_run(layer, x, w, training=True)
    assert len(seen) == 1, "the layer runs through its public ops function"
    per_gate = cell.gated and (implementation == 1 or rates[1] > 0)
    masks = {}
    for m, rate, width in zip(seen[0], rates, (I, H)):
        if rate == 0:
            assert m is None
            continue
        assert m.shape == ((cell.gates, B, width) if per_gate else (B, width))
        kept = m != 0
        assert 0 < kept.mean() < 1
        np.testing.assert_allclose(m[kept], 1 / (1 - rate), **FLOAT32_SAME_MATHS)  # inverted
        masks[width] = [tf.constant(g) for g in m] if per_gate else tf.constant(m)
    k.cell._create_dropout_mask = lambda step_input, rate: masks[step_input.shape[-1]]
    theirs, their_grads = _keras_run(tf, k, x, w, training=True)
    names = _grad_names(layer, cell, False)
    _assert_matches(ours, theirs, our_grads, their_grads, names)

    # training=False: no dropout, the same numbers as a layer without it, and as Keras
    off, off_grads = _rnncore_run(layer, x, w, training=False)
    assert not np.allclose(ours[0], off[0], atol=MEANINGFUL_DIFFERENCE)
    plain = cell.layer(H, return_sequences=True)
    plain.build((None, None, I))
    plain.set_weights(layer.get_weights())
    ref, ref_grads = _rnncore_run(plain, x, w)
    np.testing.assert_array_equal(off[0], ref[0])
    for a, b in zip(off_grads, ref_grads):
        np.testing.assert_array_equal(a, b)
    theirs, their_grads = _keras_run(tf, k, x, w, training=False)
    _assert_matches(off, theirs, off_grads, their_grads, names)


# ---- truncated BPTT -------------------------------------------------------------------------
def _keras_truncated_reference(tf, k, x, w, h0, trunc, return_sequences, go_backwards):
    """DESIGN.md: run Keras on the first T-k processed steps, stop the gradient at its final
    states (and its outputs), run the same layer on the last k steps from there."""
    T = x.shape[1]
    xt, h0t = tf.constant(x), [tf.constant(s) for s in h0]
    with tf.GradientTape() as tape:
        tape.watch(xt)
        tape.watch(h0t)
        # slice inside the tape so that the input gradient comes back in x's layout
        head = xt[:, trunc:] if go_backwards else xt[:, :T - trunc]
        tail = xt[:, :trunc] if go_backwards else xt[:, T - trunc:]
        out1, *s1 = k(head, initial_state=h0t)
        out1, s1 = tf.stop_gradient(out1), [tf.stop_gradient(s) for s in s1]
        out2, *_ = k(tail, initial_state=s1)
        out = tf.concat([out1, out2], axis=1) if return_sequences else out2
        loss = tf.reduce_sum(out * w)
    sources = list(k.trainable_weights) + [xt] + h0t
    grads = tape.gradient(loss, sources)
    return out.numpy(), [np.zeros(s.shape, np.float32) if g is None else g.numpy()
                         for g, s in zip(grads, sources)]


# (return_sequences, go_backwards, k) with T = 8: both output kinds in both directions, and
# each output kind and each direction with both window lengths. Every combination, k = T
# included, runs at the ops level against the same reference (test_recurrent.py).
TRUNCATIONS = [(False, False, 3), (True, False, 1), (False, True, 1), (True, True, 3)]


@pytest.mark.parametrize("return_sequences,go_backwards,trunc", TRUNCATIONS,
                         ids=[f"{'sequences' if s else 'last'}-"
                              f"{'go_backwards' if b else 'forwards'}-k={k}"
                              for s, b, k in TRUNCATIONS])
@over_cells
def test_truncate_gradient_matches_keras_reference(keras, tf, rng, cell, return_sequences,
                                                   go_backwards, trunc):
    B, T, I, H = 3, 8, 4, 5
    layer = built_layer(rng, cell, H, I, return_sequences=return_sequences,
                        go_backwards=go_backwards, truncate_gradient=trunc)
    k = keras_twin(keras, cell, layer, (B, T, I), return_state=True)
    x = rng.standard_normal((B, T, I)).astype(np.float32)
    h0 = [rng.standard_normal((B, H)).astype(np.float32) for _ in cell.state_names]
    w = rng.standard_normal((B, T, H) if return_sequences else (B, H)).astype(np.float32)

    ours, our_grads = _rnncore_run(layer, x, [w], h0)
    theirs, their_grads = _keras_truncated_reference(tf, k, x, w, h0, trunc, return_sequences,
                                                     go_backwards)
    _assert_matches(ours, [theirs], our_grads, their_grads, _grad_names(layer, cell, True))
    for d in our_grads[-cell.n_states:]:
        np.testing.assert_array_equal(d, 0)  # nothing reaches the initial state
    dx = our_grads[-cell.n_states - 1]
    np.testing.assert_array_equal(dx[:, trunc:] if go_backwards else dx[:, :T - trunc], 0)


# ---- stacks ---------------------------------------------------------------------------------
OTHER = {"simple_rnn-tanh": "lstm", "simple_rnn-relu": "gru-reset_after",
         "lstm": "simple_rnn-tanh", "gru-reset_after": "lstm",
         "gru-reset_before": "simple_rnn-relu"}
STACKS = {  # lower layer: upper's (return_sequences, go_backwards)
    "same-last": (False, False), "same-sequences-backwards": (True, True),
    "other-last-backwards": (False, True)}


@pytest.mark.parametrize("lower", list(STACKS))
@over_cells
def test_two_layer_stack_matches_keras(keras, tf, rng, cell, lower):
    """A recurrent layer (the same cell, or another) feeding `cell`, chained by hand through
    forward and backward."""
    B, T, I, H1, H2 = 3, 6, 4, 5, 3
    return_sequences, go_backwards = STACKS[lower]
    lower_cell = cell if lower.startswith("same") else BY_ID[OTHER[cell.id]]
    one = built_layer(rng, lower_cell, H1, I, return_sequences=True)
    two = built_layer(rng, cell, H2, H1, return_sequences=return_sequences,
                      go_backwards=go_backwards)
    k1 = keras_twin(keras, lower_cell, one, (B, T, I))
    k2 = keras_twin(keras, cell, two, (B, T, H1))
    x = rng.standard_normal((B, T, I)).astype(np.float32)
    w = rng.standard_normal((B, T, H2) if return_sequences else (B, H2)).astype(np.float32)

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
    names = [f"lower.{v.name}" for v in one.trainable_weights] + \
        [f"upper.{v.name}" for v in two.trainable_weights] + ["x"]
    _assert_matches([y], [yk.numpy()], ours, theirs, names)


# ---- stateful -------------------------------------------------------------------------------
@over_cells
def test_stateful_carries_state_across_calls_like_keras(keras, tf, rng, cell):
    B, T, I, H = SMALL
    layer = built_layer(rng, cell, H, I, stateful=True, return_sequences=True)
    k = keras_twin(keras, cell, layer, (B, T, I))
    x1, x2 = (rng.standard_normal((B, T, I)).astype(np.float32) for _ in range(2))
    w = [rng.standard_normal((B, T, H)).astype(np.float32)]

    y1 = layer(x1)
    assert_keras_outputs_close(y1, k(tf.constant(x1)).numpy())
    # the second chunk starts from the first chunk's final state; the gradient stops there
    ours, our_grads = _rnncore_run(layer, x2, w)
    theirs, their_grads = _keras_run(tf, k, x2, w)
    _assert_matches(ours, theirs, our_grads, their_grads, _grad_names(layer, cell, False))
    assert len(layer.states) == cell.n_states
    np.testing.assert_array_equal(layer.states[0], ours[0][:, -1])
    # fed in chunks, it computes what one pass over the whole sequence does
    whole = cell.layer(H, return_sequences=True)
    whole.build((None, None, I))
    whole.set_weights(layer.get_weights())
    y_whole = whole(np.concatenate([x1, x2], axis=1))
    np.testing.assert_allclose(np.concatenate([y1, ours[0]], axis=1), y_whole,
                               **FLOAT32_SAME_MATHS)
    assert not np.allclose(ours[0], whole(x2), atol=MEANINGFUL_DIFFERENCE)

    layer.reset_states()
    k.reset_states()
    for s in layer.states:
        np.testing.assert_array_equal(s, 0)
    again = layer(x1)
    np.testing.assert_array_equal(again, y1)
    assert_keras_outputs_close(again, k(tf.constant(x1)).numpy())
