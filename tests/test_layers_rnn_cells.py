"""``rnncore.layers.RNN`` over SimpleRNNCell, LSTMCell, GRUCell and StackedRNNCells, against
Keras 3 with identical weights (float32), by finite differences (float64), trained with fit,
and its configuration, saving, pickling and refusals.

Gradients are those of a random linear function of the layer's outputs (the states included
with ``return_state``), w.r.t. the weights, the inputs and the initial states.
"""
import pickle

import numpy as np
import pytest

import rnncore
from rnncore import layers as L

from _layer_parity import central_difference
from _parity import rel_err

OUT_ATOL = 1e-5
GRAD_RTOL = 1e-4

# (description, builder(lib) -> cell argument of RNN); each builder makes fresh cells
CELLS = {
    "simple": lambda lib: lib.layers.SimpleRNNCell(5),
    "lstm": lambda lib: lib.layers.LSTMCell(5),
    "gru": lambda lib: lib.layers.GRUCell(5),
    "gru-reset-before": lambda lib: lib.layers.GRUCell(4, reset_after=False),
    "stacked-lstm-gru": lambda lib: lib.layers.StackedRNNCells(
        [lib.layers.LSTMCell(4), lib.layers.GRUCell(3)]),
    "list-gru-simple-lstm": lambda lib: [lib.layers.GRUCell(3), lib.layers.SimpleRNNCell(4),
                                         lib.layers.LSTMCell(2)],
}


def _flat(x):
    if isinstance(x, (list, tuple)):
        return [a for item in x for a in _flat(item)]
    return [x]


def _pair(keras, rng, name, input_dim, dtype="float32", **kw):
    """An rnncore RNN and a Keras RNN over the same cells, with the same random weights."""
    ours = L.RNN(CELLS[name](rnncore), dtype=dtype, **kw)
    ours.build((None, None, input_dim))
    ours.set_weights([(rng.standard_normal(w.shape) * 0.4).astype(dtype)
                      for w in ours.get_weights()])
    theirs = keras.layers.RNN(CELLS[name](keras), **kw)
    theirs.build((None, None, input_dim))
    theirs.set_weights(ours.get_weights())
    return ours, theirs


def _state_units(layer):
    return _flat(layer.state_size)


def _compare(keras, tf, rng, name, *, B=3, T=6, I=4, initial_state=False, mask=None, **kw):
    ours, theirs = _pair(keras, rng, name, I, **kw)
    x = rng.standard_normal((B, T, I)).astype(np.float32)
    states = ([rng.standard_normal((B, u)).astype(np.float32) for u in _state_units(ours)]
              if initial_state else None)
    # ours: eager call, then backward from a random linear loss of every output
    out = ours(x, mask=mask, initial_state=None if states is None else _keras_nesting(ours, states))
    outs = _flat(out)
    d = [rng.standard_normal(o.shape).astype(np.float32) for o in outs]
    d_in = _flat(ours.backward(d if len(d) > 1 else d[0]))
    grads = [v.grad for v in ours.trainable_weights]

    # Keras: the same call under a tape; its initial_state in Keras's nesting
    xt = tf.constant(x)
    st = None if states is None else [tf.constant(s) for s in states]
    with tf.GradientTape() as tape:
        tape.watch(xt)
        if st is not None:
            tape.watch(st)
        k_init = None if st is None else _keras_nesting(ours, st)
        k_out = theirs(xt, initial_state=k_init,
                       mask=None if mask is None else tf.constant(mask))
        k_outs = _flat(k_out)
        loss = tf.add_n([tf.reduce_sum(o * w) for o, w in zip(k_outs, d)])
    k_grads = tape.gradient(loss, list(theirs.trainable_weights) + [xt] + (st or []))

    # the same structure as Keras's (nested states of stacked cells)
    assert _structure(out) == _structure(k_out)
    for a, b in zip(outs, k_outs):
        assert a.shape == tuple(b.shape)
        np.testing.assert_allclose(a, b.numpy(), rtol=0, atol=OUT_ATOL)
    for a, b in zip(grads + d_in, k_grads):
        b = b.numpy()
        assert a.shape == b.shape
        err, scale = np.abs(a - b).max(), np.abs(b).max()
        assert err <= GRAD_RTOL * max(scale, 1e-6), (err, scale)
    assert len(grads + d_in) == len(k_grads)
    return ours, theirs


def _structure(x):
    return [_structure(i) for i in x] if isinstance(x, (list, tuple)) else "t"


def _keras_nesting(ours, flat):
    """A flat list of initial states in the nesting Keras's RNN takes (one entry per cell,
    a list for an LSTMCell, when stacked)."""
    if not isinstance(ours.cell, L.StackedRNNCells):
        return list(flat)
    nested, i = [], 0
    for c in ours.cell.cells:
        n = len(c.state_size) if isinstance(c.state_size, list) else 1
        nested.append(list(flat[i:i + n]) if n > 1 else flat[i])
        i += n
    return nested


def _mask(rng, B, T):
    mask = rng.random((B, T)) > 0.3
    mask[:, 0] = True
    mask[0, T // 2:] = False  # a sequence with a padded end
    return mask


@pytest.mark.parametrize("name", sorted(CELLS))
@pytest.mark.parametrize("return_sequences,go_backwards", [(False, False), (True, True)],
                         ids=["last", "sequences-backwards"])
def test_matches_keras(keras, tf, rng, name, return_sequences, go_backwards):
    _compare(keras, tf, rng, name, return_sequences=return_sequences,
             go_backwards=go_backwards)


@pytest.mark.parametrize("name", sorted(CELLS))
def test_matches_keras_with_state_in_and_out(keras, tf, rng, name):
    _compare(keras, tf, rng, name, initial_state=True, return_state=True)


@pytest.mark.parametrize("name", ["lstm", "stacked-lstm-gru", "list-gru-simple-lstm"])
@pytest.mark.parametrize("go_backwards", [False, True], ids=["forwards", "go_backwards"])
@pytest.mark.parametrize("zero_output_for_mask", [False, True], ids=["carry", "zeros"])
def test_matches_keras_with_a_mask(keras, tf, rng, name, go_backwards, zero_output_for_mask):
    _compare(keras, tf, rng, name, mask=_mask(rng, 3, 6), return_sequences=True,
             return_state=True, go_backwards=go_backwards,
             zero_output_for_mask=zero_output_for_mask)


def test_stacked_gradients_match_finite_differences(rng):
    """float64, stacked LSTM/GRU/SimpleRNN cells, initial state, mask, go_backwards, sequence
    and states as outputs: every weight's gradient, the inputs' and the states'."""
    B, T, I = 2, 5, 3
    layer = L.RNN([L.LSTMCell(3), L.GRUCell(2, reset_after=False), L.SimpleRNNCell(2)],
                  return_sequences=True, return_state=True, go_backwards=True, dtype="float64")
    layer.build((None, None, I))
    layer.set_weights([rng.standard_normal(w.shape) * 0.5 for w in layer.get_weights()])
    x = rng.standard_normal((B, T, I))
    states = [rng.standard_normal((B, u)) for u in (3, 3, 2, 2)]
    mask = np.ones((B, T), bool)
    mask[1, 3:] = False
    d = [rng.standard_normal(o.shape) for o in _flat(layer(x, mask=mask,
                                                           initial_state=states))]

    def loss():
        return sum(np.sum(o * w) for o, w in zip(_flat(layer(x, mask=mask,
                                                              initial_state=states)), d))

    loss()
    d_in = layer.backward(d)
    analytic = [v.grad.copy() for v in layer.trainable_weights] + _flat(d_in)
    arrays = [v.value for v in layer.trainable_weights] + [x] + states
    eps = 1e-6
    for array, grad in zip(arrays, analytic):
        for idx in list(np.ndindex(array.shape))[:: max(1, array.size // 6)]:
            numeric = central_difference(loss, array, idx, eps)
            assert abs(numeric - grad[idx]) <= 1e-6 * max(1.0, abs(grad[idx]))


def _models(keras, T, F):
    """The same small Keras-style program in both libraries: stacked LSTM cells and a Dense."""
    pair = []
    for lib in (keras, rnncore):
        pair.append(lib.Sequential([
            lib.Input((T, F)),
            lib.layers.RNN(lib.layers.StackedRNNCells([lib.layers.LSTMCell(8),
                                                       lib.layers.LSTMCell(8)])),
            lib.layers.Dense(1)]))
    k_model, r_model = pair
    r_model.set_weights(k_model.get_weights())
    return k_model, r_model


def test_weights_names_shapes_order_and_summary_match_keras(keras):
    k_model, r_model = _models(keras, 7, 3)
    assert [w.shape for w in r_model.get_weights()] == \
        [tuple(w.shape) for w in k_model.get_weights()]
    # Keras's paths, rnn/stacked_rnn_cells/lstm_cell/kernel ..., name counters aside (and
    # Keras's Sequential prefix, which rnncore's paths leave out for every layer)
    def plain(path):
        parts = [part.rsplit("_", 1)[0] if part[-1].isdigit() else part
                 for part in path.split("/")]
        return parts[1:] if parts[0] == "sequential" else parts

    assert [plain(w.path) for w in r_model.weights] == [plain(w.path) for w in k_model.weights]
    assert plain(r_model.weights[0].path) == ["rnn", "stacked_rnn_cells", "lstm_cell", "kernel"]
    assert r_model.count_params() == k_model.count_params()
    assert [layer.count_params() for layer in r_model.layers] == \
        [layer.count_params() for layer in k_model.layers]
    lines = []
    r_model.summary(print_fn=lines.append)
    assert f" Total params: {k_model.count_params():,}" in "\n".join(lines)


def test_fit_history_matches_keras(keras, rng):
    """A many-to-one regression (the running sum's sign) with stacked LSTM cells, trained
    with fit from equal weights: the same losses, epoch by epoch, and the same weights."""
    T, F = 8, 2
    x = rng.standard_normal((96, T, F)).astype(np.float32)
    y = np.tanh(x.sum(axis=(1, 2)))[:, None].astype(np.float32)
    k_model, r_model = _models(keras, T, F)
    for model, lib in ((k_model, keras), (r_model, rnncore)):
        model.compile(lib.optimizers.Adam(learning_rate=0.01), "mse", metrics=["mae"])
    kwargs = dict(epochs=3, batch_size=16, validation_split=0.25, shuffle=False, verbose=0)
    k_hist = k_model.fit(x, y, **kwargs).history
    r_hist = r_model.fit(x, y, **kwargs).history
    assert list(r_hist) == list(k_hist)
    for key in k_hist:
        assert rel_err(r_hist[key], k_hist[key]) < 1e-3, (key, r_hist[key], k_hist[key])
    for a, b in zip(r_model.get_weights(), k_model.get_weights()):
        assert rel_err(a, b) < 1e-3
    np.testing.assert_allclose(r_model.predict(x, verbose=0), k_model.predict(x, verbose=0),
                               atol=1e-4)


def test_functional_initial_state_and_embedding_mask_match_keras(keras, rng):
    """Keras's encoder-decoder shape: states of one RNN as the initial state of another
    (symbolic), and an Embedding's mask_zero mask propagated into both."""
    T, V = 6, 12
    models = []
    for lib in (keras, rnncore):
        enc_in = lib.Input((T,), dtype="int32")
        dec_in = lib.Input((T, 3))
        emb = lib.layers.Embedding(V, 4, mask_zero=True)(enc_in)
        _, h, c = lib.layers.RNN(lib.layers.LSTMCell(5), return_state=True)(emb)
        seq = lib.layers.RNN(lib.layers.LSTMCell(5), return_sequences=True)(
            dec_in, initial_state=[h, c])
        models.append(lib.Model([enc_in, dec_in], lib.layers.Dense(2)(seq)))
    k_model, r_model = models
    r_model.set_weights(k_model.get_weights())
    ids = rng.integers(1, V, (16, T))
    ids[:5, 3:] = 0
    dec = rng.standard_normal((16, T, 3)).astype(np.float32)
    y = rng.standard_normal((16, T, 2)).astype(np.float32)
    np.testing.assert_allclose(r_model.predict([ids, dec], verbose=0),
                               k_model.predict([ids, dec], verbose=0), atol=1e-5)
    for model, lib in ((k_model, keras), (r_model, rnncore)):
        model.compile(lib.optimizers.RMSprop(0.01), "mse")
    for _ in range(3):
        k_loss = k_model.train_on_batch([ids, dec], y)
        r_loss = r_model.train_on_batch([ids, dec], y)
        assert rel_err(r_loss, k_loss) < 1e-3
    for a, b in zip(r_model.get_weights(), k_model.get_weights()):
        assert rel_err(a, b) < 1e-3


def test_stateful_rnn_fed_in_chunks_equals_one_pass(rng):
    x = rng.standard_normal((2, 8, 3)).astype(np.float32)
    whole = L.RNN([L.LSTMCell(4), L.GRUCell(3)], return_sequences=True)
    chunked = L.RNN([L.LSTMCell(4), L.GRUCell(3)], return_sequences=True, stateful=True)
    whole.build(x.shape)
    chunked.build(x.shape)
    chunked.set_weights(whole.get_weights())
    parts = [chunked(x[:, :5]), chunked(x[:, 5:])]
    np.testing.assert_allclose(np.concatenate(parts, axis=1), whole(x), atol=1e-6)
    assert [[s.shape for s in group] for group in chunked.states] == [[(2, 4), (2, 4)], [(2, 3)]]
    chunked.reset_states()
    assert all(not s.any() for group in chunked.states for s in group)
    np.testing.assert_allclose(chunked(x[:, :5]), whole(x)[:, :5], atol=1e-6)


def test_rnn_over_a_cell_runs_the_fused_op_of_the_layer(rng, monkeypatch):
    """RNN(LSTMCell(n)) and LSTM(n) with the same weights: identical outputs and gradients,
    and one call of the fused op per forward, whatever the number of steps."""
    x = rng.standard_normal((4, 30, 3)).astype(np.float32)
    rnn, lstm = L.RNN(L.LSTMCell(6), return_sequences=True), L.LSTM(6, return_sequences=True)
    rnn.build(x.shape)
    lstm.build(x.shape)
    lstm.set_weights(rnn.get_weights())
    calls = []
    forward = rnncore.recurrent.lstm_forward
    monkeypatch.setattr(rnncore.recurrent, "lstm_forward",
                        lambda *a, **k: calls.append(1) or forward(*a, **k))
    y_rnn, y_lstm = rnn(x), lstm(x)
    assert len(calls) == 2
    np.testing.assert_array_equal(y_rnn, y_lstm)
    d = rng.standard_normal(y_rnn.shape).astype(np.float32)
    np.testing.assert_array_equal(rnn.backward(d), lstm.backward(d))
    for a, b in zip(rnn.trainable_weights, lstm.trainable_weights):
        np.testing.assert_array_equal(a.grad, b.grad)


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
def test_dropout_in_a_cell_is_the_layers_dropout(rng, kind):
    """A cell's dropout and recurrent_dropout (with a seed) draw the masks its layer draws
    (per gate where Keras's cells draw one per gate), and only when training."""
    kwargs = dict(dropout=0.3, recurrent_dropout=0.2, seed=7)
    rnn = L.RNN(getattr(L, kind + "Cell")(4, **kwargs), return_sequences=True)
    layer = getattr(L, kind)(4, return_sequences=True, **kwargs)
    x = rng.standard_normal((5, 6, 3)).astype(np.float32)
    rnn.build(x.shape)
    layer.build(x.shape)
    layer.set_weights(rnn.get_weights())
    trained = rnn(x, training=True)
    np.testing.assert_array_equal(trained, layer(x, training=True))
    assert np.abs(trained - rnn(x)).max() > 1e-3


@pytest.mark.parametrize("name", ["simple", "lstm", "gru"])
def test_a_cell_called_on_one_step_matches_keras(keras, rng, name):
    ours, theirs = CELLS[name](rnncore), CELLS[name](keras)
    x = rng.standard_normal((3, 4)).astype(np.float32)
    ours.build(x.shape)
    theirs.build(x.shape)
    ours.set_weights([(rng.standard_normal(w.shape) * 0.4).astype(np.float32)
                      for w in ours.get_weights()])
    theirs.set_weights(ours.get_weights())
    states = [rng.standard_normal((3, 5)).astype(np.float32) for _ in _flat(ours.state_size)]
    out, new = ours(x, states)
    k_out, k_new = theirs(x, states)
    np.testing.assert_allclose(out, k_out.numpy(), atol=OUT_ATOL)
    for a, b in zip(new, k_new):
        np.testing.assert_allclose(a, b.numpy(), atol=OUT_ATOL)


def test_layers_expose_their_cell(rng):
    lstm = L.LSTM(4, recurrent_activation="hard_sigmoid")
    assert isinstance(lstm.cell, L.LSTMCell)
    assert (lstm.cell.units, lstm.cell.recurrent_activation) == (4, "hard_sigmoid")
    with pytest.raises(AttributeError, match="not built"):
        lstm.cell.kernel
    lstm(np.zeros((1, 2, 3), np.float32))
    assert lstm.cell.kernel is lstm.kernel
    assert lstm.cell.state_size == [4, 4]
    assert L.GRU(3, reset_after=False).cell.reset_after is False
    assert L.SimpleRNN(2).cell.state_size == 2
    rnn = L.RNN(L.GRUCell(3))
    rnn(np.zeros((1, 2, 3), np.float32))
    assert rnn.cell.kernel.shape == (3, 9) and rnn.cell.bias.shape == (2, 9)


def _program(rng):
    model = rnncore.Sequential([
        rnncore.Input((5, 3)),
        L.RNN([L.LSTMCell(4, dropout=0.1), L.GRUCell(3, recurrent_dropout=0.2)],
              go_backwards=True),
        L.Dense(2)])
    model.compile("rmsprop", "mse")
    x = rng.standard_normal((8, 5, 3)).astype(np.float32)
    model.fit(x, rng.standard_normal((8, 2)).astype(np.float32), epochs=1, verbose=0)
    return model, x


def test_config_round_trip_has_keras_keys(keras):
    layer = L.RNN(L.StackedRNNCells([L.LSTMCell(4, unit_forget_bias=False),
                                     L.GRUCell(3, reset_after=False)]), return_state=True)
    config = layer.get_config()
    k_config = keras.layers.RNN(keras.layers.StackedRNNCells(
        [keras.layers.LSTMCell(4), keras.layers.GRUCell(3)])).get_config()
    assert set(config) == set(k_config)
    assert config["cell"]["class_name"] == "StackedRNNCells"
    for ours, theirs in zip(config["cell"]["config"]["cells"],
                            k_config["cell"]["config"]["cells"]):
        assert ours["class_name"] == theirs["class_name"]
        assert set(ours["config"]) == set(theirs["config"])
    again = L.RNN.from_config(config)
    assert again.get_config() == config
    assert again.cell.cells[1].reset_after is False
    assert again.cell.cells[0].unit_forget_bias is False


def test_save_load_and_pickle_round_trips(rng, tmp_path):
    model, x = _program(rng)
    expected = model.predict(x, verbose=0)
    path = str(tmp_path / "cells.keras")
    model.save(path)
    loaded = rnncore.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), expected)
    assert isinstance(loaded.layers[0].cell.cells[1], L.GRUCell)
    copy = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(copy.predict(x, verbose=0), expected)
    rnn = copy.layers[0]
    # the cell's weights are still its fused layer's after unpickling (one object, shared)
    assert rnn.cell.cells[0].kernel is rnn.cell.cells[0]._layer.kernel
    assert rnn.cell.cells[0].kernel is rnn.weights[0]


class MinimalRNNCell(L.Layer):
    """Keras's documented custom cell."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = self.state_size = units

    def call(self, inputs, states):
        return inputs, states


class DoubledLSTMCell(L.LSTMCell):
    def call(self, inputs, states=None, training=False):
        out, new = super().call(inputs, states, training)
        return 2 * out, new


def test_a_subclass_of_a_built_in_cell_is_refused_naming_what_runs():
    with pytest.raises(NotImplementedError, match="a subclass of a built-in cell .* is not "
                                                  "supported: subclass Layer instead"):
        L.RNN(DoubledLSTMCell(3))


def test_a_user_defined_cell_inside_stacked_rnn_cells_runs_step_by_step():
    # (tests/test_layers_rnn_custom_cells.py compares such stacks with Keras)
    y, (h, c), h2 = L.RNN(L.StackedRNNCells([L.LSTMCell(2), MinimalRNNCell(2)]),
                          return_state=True)(np.ones((2, 4, 3), "float32"))
    np.testing.assert_array_equal(y, h)
    np.testing.assert_array_equal(h2, np.zeros((2, 2)))


def test_kerass_documented_minimal_cell_runs_step_by_step():
    # a user-defined cell given to RNN on its own runs its call once per step (this one
    # outputs its input and keeps its zero state)
    y, h = L.RNN(MinimalRNNCell(3), return_sequences=True, return_state=True)(
        np.arange(24, dtype="float32").reshape(2, 4, 3))
    np.testing.assert_array_equal(y, np.arange(24, dtype="float32").reshape(2, 4, 3))
    np.testing.assert_array_equal(h, np.zeros((2, 3)))


@pytest.mark.parametrize("call,match", [
    (lambda: L.RNN(L.Dense(3)), "cell must be an RNN cell"),
    (lambda: L.RNN(L.LSTMCell(0)), "units must be a positive integer"),
    (lambda: L.RNN(L.GRUCell(2, activation="softplux")), "activation: unknown .*'softplux'"),
    (lambda: L.RNN(L.LSTMCell(2))(np.zeros((2, 3, 4)), initial_state=[np.zeros((2, 2))]),
     "initial_state must hold 2"),
    (lambda: L.RNN([L.LSTMCell(2), L.GRUCell(3)])(np.zeros((2, 3, 4)),
                                                   initial_state=[np.zeros((2, 2))] * 3),
     r"initial_state\[2\] must have shape \(2, 3\)"),
    (lambda: L.RNN(L.LSTMCell(2))(np.zeros((2, 3))), "must be 3D"),
    (lambda: L.RNN(L.LSTMCell(2)).reset_states(), "not stateful"),
    (lambda: L.RNN(L.LSTM(2).cell), "is the cell of layer"),
])
def test_bad_arguments_raise_naming_them(call, match):
    with pytest.raises((ValueError, AttributeError), match=match):
        call()


def test_bidirectional_over_an_rnn_of_one_cell_trains_as_keras(keras, rng):
    # Bidirectional runs RNN(cell) as the fused layer of that cell, weights in Keras's order
    histories, weights = [], None
    x = rng.standard_normal((6, 5, 3)).astype("float32")
    y = rng.standard_normal((6, 1)).astype("float32")
    for lib in (keras, rnncore):
        L = lib.layers
        model = lib.Sequential([lib.Input((5, 3)),
                                L.Bidirectional(L.RNN(L.LSTMCell(4), return_sequences=True)),
                                L.Bidirectional(L.RNN(L.GRUCell(3))), L.Dense(1)])
        if weights is None:
            weights = [np.random.default_rng(0).standard_normal(w.shape).astype("float32") * 0.4
                       for w in model.get_weights()]
        model.set_weights(weights)
        model.compile(lib.optimizers.SGD(0.1), "mse")
        histories.append(model.fit(x, y, epochs=3, batch_size=3, shuffle=False,
                                   verbose=0).history["loss"])
    np.testing.assert_allclose(histories[1], histories[0], rtol=1e-5)
