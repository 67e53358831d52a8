"""``RNN`` over user-defined cells: alone, inside ``StackedRNNCells`` with built-in cells,
stateful, masked, with initial states, nested states and every ``RNN`` option, against Keras 3.

Each cell class is Keras code written once (``_cells(lib)``) and made for ``keras`` and for
``rnncore``, the import the only change. Layers are compared from equal weights on float64
data (outputs, and gradients of a random linear function of every output); models train five
steps to the same losses and predict the same numbers.
"""
import numpy as np
import pytest

import rnncore

from _layer_parity import central_difference
from _parity import rel_err

OUT_ATOL = 1e-10
GRAD_RTOL = 1e-8


def _cells(lib):
    """The user-defined cells, written against `lib` (keras or rnncore) and its ops."""
    ops = lib.ops
    register = lib.saving.register_keras_serializable(package="test_custom_cells")

    @register
    class Minimal(lib.layers.Layer):
        """Keras's documented minimal cell: h = tanh(x·kernel + h·recurrent_kernel)."""

        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = units

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], self.units),
                                          initializer="glorot_uniform", name="kernel")
            self.recurrent_kernel = self.add_weight(shape=(self.units, self.units),
                                                    initializer="orthogonal",
                                                    name="recurrent_kernel")

        def call(self, inputs, states):
            h = ops.tanh(ops.matmul(inputs, self.kernel) +
                         ops.matmul(states[0], self.recurrent_kernel))
            return h, [h]

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    @register
    class TwoStates(lib.layers.Layer):
        """Two states of different widths (a list state_size) and an output of a third
        width (output_size), projected from them."""

        def __init__(self, units, memory, outputs, **kwargs):
            super().__init__(**kwargs)
            self.units, self.memory, self.outputs = units, memory, outputs
            self.state_size = [units, memory]
            self.output_size = outputs

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1] + self.units,
                                                 self.units + self.memory), name="kernel")
            self.projection = self.add_weight(shape=(self.units + self.memory, self.outputs),
                                              name="projection")

        def call(self, inputs, states):
            h, m = states
            z = ops.matmul(ops.concatenate([inputs, h], axis=-1), self.kernel)
            h = ops.tanh(z[:, :self.units])
            m = 0.5 * m + ops.sigmoid(z[:, self.units:])
            out = ops.matmul(ops.concatenate([h, m], axis=-1), self.projection)
            return out, [h, m]

        def get_config(self):
            return {**super().get_config(), "units": self.units, "memory": self.memory,
                    "outputs": self.outputs}

    @register
    class Nested(lib.layers.Layer):
        """A nested state: [h, [a, b]], its zeros from get_initial_state (Keras's default
        zeros need a flat state_size)."""

        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = [units, [units, 2]]

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
            self.mix = self.add_weight(shape=(2, self.units), name="mix")

        def get_initial_state(self, batch_size=None):
            return [ops.zeros((batch_size, self.units), dtype=self.compute_dtype),
                    [ops.zeros((batch_size, self.units), dtype=self.compute_dtype),
                     ops.zeros((batch_size, 2), dtype=self.compute_dtype)]]

        def call(self, inputs, states):
            h, (a, b) = states
            h = ops.tanh(ops.matmul(inputs, self.kernel) + a + ops.matmul(b, self.mix))
            return h, [h, [0.5 * a + h, ops.tanh(b + h[:, :2])]]

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    @register
    class TrainingScaled(lib.layers.Layer):
        """A cell whose call reads `training`: its input halved while training (a
        deterministic stand-in for dropout, so both libraries agree)."""

        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = units

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1] + self.units, self.units),
                                          name="kernel")

        def call(self, inputs, states, training=None):
            if training:
                inputs = inputs * 0.5
            h = ops.tanh(ops.matmul(ops.concatenate([inputs, states[0]], axis=-1),
                                    self.kernel))
            return h, [h]

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    return Minimal, TwoStates, Nested, TrainingScaled


# (name, builder(lib, dtype) -> the cell argument of RNN); each builder makes fresh cells
def _minimal(lib, dtype="float32"):
    return _cells(lib)[0](4, dtype=dtype)


def _two_states(lib, dtype="float32"):
    return _cells(lib)[1](4, 3, 5, dtype=dtype)


def _nested(lib, dtype="float32"):
    return _cells(lib)[2](4, dtype=dtype)


def _stacked_mixed(lib, dtype="float32"):
    Minimal, TwoStates, _, _ = _cells(lib)
    return lib.layers.StackedRNNCells([
        Minimal(4, dtype=dtype), lib.layers.LSTMCell(3, dtype=dtype),
        TwoStates(2, 3, 4, dtype=dtype), lib.layers.GRUCell(3, dtype=dtype)], dtype=dtype)


def _stacked_custom(lib, dtype="float32"):
    Minimal, TwoStates, Nested, _ = _cells(lib)
    return lib.layers.StackedRNNCells([TwoStates(3, 2, 4, dtype=dtype), Nested(3, dtype=dtype),
                                       Minimal(2, dtype=dtype)], dtype=dtype)


def _list_mixed(lib, dtype="float32"):
    Minimal = _cells(lib)[0]
    return [lib.layers.SimpleRNNCell(3, dtype=dtype), Minimal(4, dtype=dtype)]


CELLS = {"minimal": _minimal, "two-states": _two_states, "nested": _nested,
         "stacked-mixed": _stacked_mixed, "stacked-custom": _stacked_custom}
# a list of cells is stacked as in Keras, but Keras's implicit StackedRNNCells is float32:
# its zeros start a float64 cell in float32, so it is compared here on its configuration
# only (tests/_custom_programs.py trains one against Keras in float32)
LIST = {"list-mixed": _list_mixed}


def _flat(x):
    if isinstance(x, (list, tuple)):
        return [a for item in x for a in _flat(item)]
    return [x]


def _structure(x):
    return [_structure(i) for i in x] if isinstance(x, (list, tuple)) else "t"


def _pair(keras, rng, name, input_dim, **kw):
    """A Keras RNN and an rnncore RNN over the same cells (float64), equal random weights."""
    make = {**CELLS, **LIST}[name]
    theirs = keras.layers.RNN(make(keras, "float64"), dtype="float64", **kw)
    theirs.build((None, None, input_dim))
    theirs.set_weights([rng.standard_normal(w.shape) * 0.5 for w in theirs.get_weights()])
    ours = rnncore.layers.RNN(make(rnncore, "float64"), dtype="float64", **kw)
    ours.build((None, None, input_dim))
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    ours.set_weights(theirs.get_weights())
    return ours, theirs


def _initial_state(rng, keras_layer, batch):
    """Random initial states in the nesting of the Keras layer's own zeros."""
    zeros = keras_layer.get_initial_state(batch)
    return _like(zeros, [rng.standard_normal(tuple(z.shape)) for z in _flat(zeros)])


def _like(template, flat):
    items = iter(flat)

    def build(t):
        return [build(i) for i in t] if isinstance(t, (list, tuple)) else next(items)
    return build(template)


def _compare(keras, tf, rng, name, *, B=3, T=5, I=4, mask=None, initial_state=False, **kw):
    """The same call on both layers: outputs (in Keras's structure) and the gradients of a
    random linear function of them, w.r.t. the weights, the inputs and the initial states."""
    ours, theirs = _pair(keras, rng, name, I, **kw)
    x = rng.standard_normal((B, T, I))
    states = _initial_state(rng, theirs, B) if initial_state else None

    out = ours(x, training=True, mask=mask, initial_state=states)
    outs = _flat(out)
    d = [rng.standard_normal(o.shape) for o in outs]
    d_in = _flat(ours.backward(d if len(d) > 1 else d[0]))
    grads = [v.grad for v in ours.trainable_weights]

    xt = tf.constant(x)
    st = None if states is None else [tf.constant(s) for s in _flat(states)]
    with tf.GradientTape() as tape:
        tape.watch(xt)
        if st is not None:
            tape.watch(st)
        k_out = theirs(xt, training=True, mask=None if mask is None else tf.constant(mask),
                       initial_state=None if st is None else _like(states, st))
        loss = tf.add_n([tf.reduce_sum(o * w) for o, w in zip(_flat(k_out), d)])
    k_grads = tape.gradient(loss, list(theirs.trainable_weights) + [xt] + (st or []))

    assert _structure(out) == _structure(k_out)
    for a, b in zip(outs, _flat(k_out)):
        assert a.shape == tuple(b.shape)
        np.testing.assert_allclose(a, b.numpy(), rtol=0, atol=OUT_ATOL)
    assert len(grads + d_in) == len(k_grads)
    for a, b in zip(grads + d_in, k_grads):
        # None: Keras's gradient of a state the cell never reads (Nested's h)
        b = np.zeros_like(a) if b is None else b.numpy()
        assert a.shape == b.shape
        assert np.abs(a - b).max() <= GRAD_RTOL * max(np.abs(b).max(), 1e-6)
    return ours, theirs


def _mask(rng, B, T):
    mask = rng.random((B, T)) > 0.3
    mask[:, 0] = True
    mask[0, T // 2:] = False  # a sequence with a padded end
    return mask


@pytest.mark.parametrize("name", sorted(CELLS))
@pytest.mark.parametrize("options", [
    dict(),
    dict(return_sequences=True, go_backwards=True),
    dict(return_state=True, initial_state=True),
    dict(return_sequences=True, return_state=True, go_backwards=True, unroll=True),
], ids=["last", "sequences-backwards", "states-in-and-out", "all-unrolled"])
def test_matches_keras(keras, tf, rng, name, options):
    _compare(keras, tf, rng, name, **options)


@pytest.mark.parametrize("name", ["minimal", "nested", "stacked-mixed"])
@pytest.mark.parametrize("go_backwards", [False, True], ids=["forwards", "go_backwards"])
@pytest.mark.parametrize("zero_output_for_mask", [False, True], ids=["carry", "zeros"])
def test_matches_keras_with_a_mask(keras, tf, rng, name, go_backwards, zero_output_for_mask):
    _compare(keras, tf, rng, name, mask=_mask(rng, 3, 6), T=6, return_sequences=True,
             return_state=True, go_backwards=go_backwards,
             zero_output_for_mask=zero_output_for_mask)


def test_stacked_gradients_match_finite_differences(rng):
    """float64, custom and built-in cells stacked, nested states, initial state, mask,
    go_backwards, sequence and states as outputs: every weight's gradient, the inputs' and
    the initial states'."""
    B, T, I = 2, 5, 3
    layer = rnncore.layers.RNN(_stacked_mixed(rnncore, "float64"), return_sequences=True,
                               return_state=True, go_backwards=True, dtype="float64")
    layer.build((None, None, I))
    layer.set_weights([rng.standard_normal(w.shape) * 0.5 for w in layer.get_weights()])
    x = rng.standard_normal((B, T, I))
    zeros = layer.get_initial_state(B)
    states = _like(zeros, [rng.standard_normal(z.shape) for z in _flat(zeros)])
    mask = np.ones((B, T), bool)
    mask[1, 3:] = False
    d = [rng.standard_normal(o.shape)
         for o in _flat(layer(x, mask=mask, initial_state=states))]

    def loss():
        out = layer(x, mask=mask, initial_state=states)
        return sum(np.sum(o * w) for o, w in zip(_flat(out), d))

    layer(x, mask=mask, initial_state=states, training=True)
    d_in = layer.backward(d)
    analytic = [v.grad.copy() for v in layer.trainable_weights] + _flat(d_in)
    arrays = [v.value for v in layer.trainable_weights] + [x] + _flat(states)
    assert len(analytic) == len(arrays)
    for array, grad in zip(arrays, analytic):
        for idx in list(np.ndindex(array.shape))[:: max(1, array.size // 6)]:
            numeric = central_difference(loss, array, idx, 1e-6)
            assert abs(numeric - grad[idx]) <= 1e-6 * max(1.0, abs(grad[idx]))


def test_one_step_of_a_stack_matches_keras(keras, rng):
    ours, theirs = _stacked_mixed(rnncore, "float64"), _stacked_mixed(keras, "float64")
    for cell in (ours, theirs):
        cell.build((3, 4))
    theirs.set_weights([rng.standard_normal(w.shape) * 0.5 for w in theirs.get_weights()])
    ours.set_weights(theirs.get_weights())
    x = rng.standard_normal((3, 4))
    zeros = theirs.get_initial_state(3)
    states = _like(zeros, [rng.standard_normal(tuple(z.shape)) for z in _flat(zeros)])
    out, new = ours(x, states)
    k_out, k_new = theirs(x, states)
    assert _structure(new) == _structure(k_new)
    for a, b in zip([out] + _flat(new), [k_out] + _flat(k_new)):
        np.testing.assert_allclose(a, b.numpy(), rtol=0, atol=OUT_ATOL)
    # no states: zeros, as the stack's get_initial_state
    np.testing.assert_allclose(ours(x)[0], theirs(x, zeros)[0].numpy(), atol=OUT_ATOL)


def test_stacked_cells_shapes_sizes_and_weights_as_keras(keras):
    ours = rnncore.layers.RNN(_stacked_mixed(rnncore), return_state=True)
    theirs = keras.layers.RNN(_stacked_mixed(keras), return_state=True)
    for layer in (ours, theirs):
        layer.build((None, 6, 3))
    assert ours.state_size == theirs.state_size == [4, [3, 3], [2, 3], 3]
    assert ours.cell.output_size == theirs.cell.output_size == 3
    assert ours.compute_output_shape((2, 6, 3)) == \
        [tuple(s) if not isinstance(s, list) else [tuple(i) for i in s]
         for s in theirs.compute_output_shape((2, 6, 3))]
    assert [w.shape for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    assert ours.name.startswith("rnn")

    def plain(path):  # name counters aside
        return [part.rsplit("_", 1)[0] if part[-1].isdigit() else part
                for part in path.split("/")]
    assert [plain(w.path) for w in ours.weights] == [plain(w.path) for w in theirs.weights]
    assert plain(ours.weights[0].path) == ["rnn", "stacked_rnn_cells", "minimal", "kernel"]


@pytest.mark.parametrize("name", ["minimal", "stacked-mixed", "stacked-custom", "list-mixed"])
def test_config_round_trip_as_keras(keras, rng, name):
    ours, theirs = _pair(keras, rng, name, 3, return_sequences=True)
    config, k_config = ours.get_config(), theirs.get_config()
    assert set(config) == set(k_config)
    assert config["cell"]["class_name"] == k_config["cell"]["class_name"]
    if "cells" in k_config["cell"]["config"]:
        assert [c["class_name"] for c in config["cell"]["config"]["cells"]] == \
            [c["class_name"] for c in k_config["cell"]["config"]["cells"]]
    again = rnncore.layers.RNN.from_config(config)
    assert again.get_config()["cell"] == config["cell"]
    x = rng.standard_normal((2, 5, 3))
    again.build(x.shape)
    again.set_weights(ours.get_weights())
    np.testing.assert_array_equal(again(x), ours(x))


# ---- models, trained ------------------------------------------------------------------------
def _train_both(keras, build, x, y, steps=5, optimizer="Adam"):
    """Build the same model in both libraries (`build(lib)`), equal weights, five training
    steps: the same losses; then the same predictions."""
    return _train_built(keras, build(keras), build(rnncore), x, y, steps, optimizer)


def _train_built(keras, theirs, mine, x, y, steps=5, optimizer="Adam"):
    assert [w.shape for w in mine.get_weights()] == [w.shape for w in theirs.get_weights()]
    mine.set_weights(theirs.get_weights())
    theirs.compile(getattr(keras.optimizers, optimizer)(0.01), "mse")
    mine.compile(getattr(rnncore.optimizers, optimizer)(0.01), "mse")
    their_losses = [float(theirs.train_on_batch(x, y)) for _ in range(steps)]
    my_losses = [float(mine.train_on_batch(x, y)) for _ in range(steps)]
    np.testing.assert_allclose(my_losses, their_losses, rtol=1e-3)
    assert their_losses[-1] < their_losses[0]
    np.testing.assert_allclose(mine.predict(x, verbose=0), theirs.predict(x, verbose=0),
                               rtol=1e-3, atol=1e-5)
    return mine, theirs


@pytest.mark.parametrize("name", ["stacked-mixed", "stacked-custom", "two-states"])
def test_sequential_trains_to_kerass_losses(keras, rng, name):
    def build(lib):
        return lib.Sequential([lib.Input((6, 3)),
                               lib.layers.RNN(CELLS[name](lib), return_sequences=True),
                               lib.layers.Flatten(), lib.layers.Dense(1)])
    x = rng.standard_normal((16, 6, 3)).astype("float32")
    _train_both(keras, build, x, rng.standard_normal((16, 1)).astype("float32"))


def test_sequential_masked_by_an_embedding_trains_as_keras(keras, rng):
    """Embedding(mask_zero=True) masks a stack (zeros at masked steps) and then a nested-state
    cell read backwards."""
    def build(lib):
        return lib.Sequential([
            lib.Input((6,), dtype="int32"), lib.layers.Embedding(10, 3, mask_zero=True),
            lib.layers.RNN(CELLS["stacked-mixed"](lib), return_sequences=True,
                           zero_output_for_mask=True),
            lib.layers.RNN(CELLS["nested"](lib), go_backwards=True), lib.layers.Dense(1)])
    ids = rng.integers(1, 10, (16, 6))
    ids[:6, 2:] = 0
    ids[6:9, 4:] = 0
    y = ((ids > 0).mean(axis=1, keepdims=True) - 0.5).astype("float32")  # the length
    _train_both(keras, build, ids, y, steps=8)


def test_embedding_mask_and_functional_initial_state_train_as_keras(keras, rng):
    """An Embedding(mask_zero=True) masks an encoder RNN over stacked custom cells whose
    final states start a decoder RNN over a custom cell (initial_state in a functional
    call)."""
    T, V = 6, 12

    def build(lib):
        Minimal, TwoStates, _, _ = _cells(lib)
        ids = lib.Input((T,), dtype="int32")
        dec = lib.Input((T, 3))
        emb = lib.layers.Embedding(V, 4, mask_zero=True)(ids)
        _, h, states = lib.layers.RNN(lib.layers.StackedRNNCells(
            [Minimal(5), TwoStates(4, 3, 2)]), return_state=True)(emb)
        seq = lib.layers.RNN(TwoStates(4, 3, 2), return_sequences=True)(
            dec, initial_state=states)
        return lib.Model([ids, dec], lib.layers.Dense(2)(seq))

    ids = rng.integers(1, V, (16, T))
    ids[:5, 3:] = 0
    x = [ids, rng.standard_normal((16, T, 3)).astype("float32")]
    _train_both(keras, build, x, rng.standard_normal((16, T, 2)).astype("float32"))


def test_training_flag_reaches_the_cell_in_fit_not_in_predict(keras, rng):
    def build(lib):
        cell = _cells(lib)[3](4)
        return lib.Sequential([lib.Input((5, 3)),
                               lib.layers.RNN(lib.layers.StackedRNNCells(
                                   [cell, lib.layers.LSTMCell(3)])),
                               lib.layers.Dense(1)])
    x = rng.standard_normal((16, 5, 3)).astype("float32")
    mine, _ = _train_both(keras, build, x, rng.standard_normal((16, 1)).astype("float32"))
    assert np.abs(mine(x, training=True) - mine(x, training=False)).max() > 1e-4


def test_dropout_layer_inside_a_cell_drops_only_while_training(rng):
    ops = rnncore.ops

    class DropoutCell(rnncore.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.state_size = units
            self.dense = rnncore.layers.Dense(units)
            self.dropout = rnncore.layers.Dropout(0.5)

        def call(self, inputs, states, training=None):
            h = ops.tanh(self.dense(self.dropout(inputs, training=training)) + states[0])
            return h, [h]

    layer = rnncore.layers.RNN(DropoutCell(3))
    x = rng.standard_normal((8, 4, 2)).astype("float32")
    np.testing.assert_array_equal(layer(x), layer(x))
    assert np.abs(layer(x, training=True) - layer(x)).max() > 1e-3


# ---- stateful --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["minimal", "stacked-mixed", "nested"])
def test_stateful_predict_and_fit_carry_states_as_keras(keras, rng, name):
    B, T, F = 4, 5, 3

    def build(lib):
        return lib.Sequential([lib.Input((T, F), batch_size=B),
                               lib.layers.RNN(CELLS[name](lib), stateful=True),
                               lib.layers.Dense(1)])
    theirs, mine = build(keras), build(rnncore)
    mine.set_weights(theirs.get_weights())
    # a static batch size makes the zero states at build, as in Keras
    assert [s.shape for s in _flat(mine.layers[0].states)] == \
        [tuple(s.shape) for s in _flat(theirs.layers[0].states)]
    x = rng.standard_normal((3 * B, T, F)).astype("float32")
    y = rng.standard_normal((3 * B, 1)).astype("float32")
    # three batches, each starting from the states the one before left
    expected = theirs.predict(x, batch_size=B, verbose=0)
    np.testing.assert_allclose(mine.predict(x, batch_size=B, verbose=0), expected, atol=1e-5)
    fresh = build(rnncore)
    fresh.set_weights(theirs.get_weights())
    assert np.abs(fresh.predict(x[B:2 * B], verbose=0) - expected[B:2 * B]).max() > 1e-4
    k_states = [s.numpy() for s in _flat(theirs.layers[0].states)]
    for a, b in zip(_flat(mine.layers[0].states), k_states):
        np.testing.assert_allclose(a, b, atol=1e-5)
    assert _structure(mine.layers[0].states) == _structure(theirs.layers[0].states)

    _keras_reset(theirs.layers[0])
    mine.layers[0].reset_states()
    assert all(not s.any() for s in _flat(mine.layers[0].states))
    for model, lib in ((theirs, keras), (mine, rnncore)):
        model.compile(lib.optimizers.Adam(0.01), "mse")
    kwargs = dict(batch_size=B, epochs=3, shuffle=False, verbose=0)
    k_hist = theirs.fit(x, y, **kwargs).history["loss"]
    r_hist = mine.fit(x, y, **kwargs).history["loss"]
    assert rel_err(r_hist, k_hist) < 1e-3, (r_hist, k_hist)
    _keras_reset(theirs.layers[0])
    mine.layers[0].reset_state()
    np.testing.assert_allclose(mine.predict(x, batch_size=B, verbose=0),
                               theirs.predict(x, batch_size=B, verbose=0), atol=1e-4)


def _keras_reset(layer):
    # Keras's reset_state assigns to each entry of `states`, which fails where an entry is
    # a list (stacked or nested states): its state variables zeroed one by one instead
    for v in _flat(layer.states):
        v.assign(np.zeros(v.shape, v.dtype))


def test_stateful_rnn_fed_in_chunks_equals_one_pass(rng):
    x = rng.standard_normal((2, 8, 3))
    whole = rnncore.layers.RNN(_stacked_custom(rnncore, "float64"), return_sequences=True,
                               dtype="float64")
    chunked = rnncore.layers.RNN(_stacked_custom(rnncore, "float64"), return_sequences=True,
                                 stateful=True, dtype="float64")
    whole.build(x.shape)
    chunked.build(x.shape)
    chunked.set_weights(whole.get_weights())
    parts = [chunked(x[:, :5]), chunked(x[:, 5:])]
    np.testing.assert_allclose(np.concatenate(parts, axis=1), whole(x), atol=1e-12)
    with pytest.raises(ValueError, match="stateful with batch size 2"):
        chunked(x[:1])
    chunked.reset_states()
    np.testing.assert_allclose(chunked(x[:, :5]), whole(x)[:, :5], atol=1e-12)


def test_stateful_batch_size_from_batch_input_shape(rng):
    B = 3
    model = rnncore.Sequential([
        rnncore.layers.RNN(_minimal(rnncore), stateful=True, batch_input_shape=(B, 4, 2)),
        rnncore.layers.Dense(1)])
    x = rng.standard_normal((2 * B, 4, 2)).astype("float32")
    first = model.predict(x[:B], batch_size=B, verbose=0)
    # the same batch again starts from the states the first left
    assert np.abs(model.predict(x[:B], verbose=0) - first).max() > 1e-4
    with pytest.raises(ValueError, match="stateful with batch size 3"):
        model.predict(x[:2], verbose=0)


def test_not_stateful_has_no_states_to_reset():
    with pytest.raises(AttributeError, match="not stateful"):
        rnncore.layers.RNN(_minimal(rnncore)).reset_states()


# ---- Bidirectional ---------------------------------------------------------------------------
def _bidirectional_pair(keras, rng, name, input_dim, merge_mode="concat", **kw):
    make = CELLS[name]
    theirs = keras.layers.Bidirectional(keras.layers.RNN(make(keras, "float64"), dtype="float64",
                                                         **kw), merge_mode=merge_mode,
                                        dtype="float64")
    theirs.build((None, None, input_dim))
    theirs.set_weights([rng.standard_normal(w.shape) * 0.5 for w in theirs.get_weights()])
    ours = rnncore.layers.Bidirectional(rnncore.layers.RNN(make(rnncore, "float64"),
                                                           dtype="float64", **kw),
                                        merge_mode=merge_mode, dtype="float64")
    ours.build((None, None, input_dim))
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    ours.set_weights(theirs.get_weights())
    return ours, theirs


@pytest.mark.parametrize("name,merge_mode,options", [
    ("minimal", "concat", dict(return_sequences=True)),
    ("two-states", "sum", dict()),
    ("stacked-mixed", None, dict(return_sequences=True, return_state=True)),
    ("nested", "ave", dict(return_state=True)),
])
def test_bidirectional_matches_keras(keras, tf, rng, name, merge_mode, options):
    ours, theirs = _bidirectional_pair(keras, rng, name, 4, merge_mode, **options)
    x = rng.standard_normal((3, 6, 4))
    mask = _mask(rng, 3, 6)
    out = ours(x, mask=mask, training=True)
    outs = _flat(out)
    d = [rng.standard_normal(o.shape) for o in outs]
    d_x = ours.backward(d if len(d) > 1 else d[0])
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        k_out = theirs(xt, mask=tf.constant(mask), training=True)
        loss = tf.add_n([tf.reduce_sum(o * w) for o, w in zip(_flat(k_out), d)])
    k_grads = tape.gradient(loss, list(theirs.trainable_weights) + [xt])
    assert _structure(out) == _structure(k_out)
    for a, b in zip(outs, _flat(k_out)):
        np.testing.assert_allclose(a, b.numpy(), rtol=0, atol=OUT_ATOL)
    for a, b in zip([v.grad for v in ours.trainable_weights] + [d_x], k_grads):
        b = np.zeros_like(a) if b is None else b.numpy()
        assert np.abs(a - b).max() <= GRAD_RTOL * max(np.abs(b).max(), 1e-6)


@pytest.mark.parametrize("name", ["minimal", "two-states"])
def test_bidirectional_initial_state_is_forward_then_backward_as_keras(keras, rng, name):
    ours, theirs = _bidirectional_pair(keras, rng, name, 4, return_sequences=True,
                                       return_state=True)
    x = rng.standard_normal((3, 5, 4))
    states = [rng.standard_normal((3, s)) for s in 2 * _flat(ours.forward_layer.state_size)]
    out, k_out = ours(x, initial_state=states), theirs(x, initial_state=states)
    assert _structure(out) == _structure(k_out)
    for a, b in zip(_flat(out), _flat(k_out)):
        np.testing.assert_allclose(a, b.numpy(), rtol=0, atol=OUT_ATOL)


def test_bidirectional_in_a_model_trains_and_round_trips_as_keras(keras, rng, tmp_path):
    def build(lib):
        return lib.Sequential([lib.Input((6, 3)),
                               lib.layers.Bidirectional(lib.layers.RNN(
                                   CELLS["stacked-mixed"](lib), return_sequences=True)),
                               lib.layers.Bidirectional(lib.layers.RNN(CELLS["minimal"](lib))),
                               lib.layers.Dense(1)])
    x = rng.standard_normal((16, 6, 3)).astype("float32")
    mine, theirs = _train_both(keras, build, x, rng.standard_normal((16, 1)).astype("float32"))
    config, k_config = mine.layers[0].get_config(), theirs.layers[0].get_config()
    assert set(config) == set(k_config)
    assert config["layer"]["class_name"] == "RNN"
    path = str(tmp_path / "bidirectional.keras")
    mine.save(path)
    classes = {c.__name__: c for c in _cells(rnncore)}
    loaded = rnncore.models.load_model(path, custom_objects=classes)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), mine.predict(x, verbose=0),
                               atol=1e-6)


def test_model_save_load_round_trip(rng, tmp_path):
    model = rnncore.Sequential([rnncore.Input((6, 3)),
                                rnncore.layers.RNN(_stacked_custom(rnncore),
                                                   return_sequences=True),
                                rnncore.layers.RNN(_list_mixed(rnncore)),
                                rnncore.layers.Dense(1)])
    x = rng.standard_normal((4, 6, 3)).astype("float32")
    expected = model.predict(x, verbose=0)
    path = str(tmp_path / "cells.keras")
    model.save(path)
    classes = {c.__name__: c for c in _cells(rnncore)}
    loaded = rnncore.models.load_model(path, custom_objects=classes)
    assert [type(c).__name__ for c in loaded.layers[0].cell.cells] == \
        ["TwoStates", "Nested", "Minimal"]
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), expected)


def test_subclassed_encoder_decoder_over_custom_cells_trains_as_keras(keras, rng):
    """A subclassed model: the final states of an RNN over stacked cells (return_state,
    Keras's nesting) start a decoder RNN over a custom cell of two states."""
    def build(lib):
        Minimal, TwoStates, _, _ = _cells(lib)

        class EncoderDecoder(lib.Model):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.encoder = lib.layers.RNN([lib.layers.LSTMCell(4), TwoStates(3, 2, 4)],
                                              return_state=True)
                self.decoder = lib.layers.RNN(TwoStates(3, 2, 2), return_sequences=True,
                                              go_backwards=True)
                self.head = lib.layers.Dense(1)

            def call(self, inputs):
                source, target = inputs
                _, (h, c), states = self.encoder(source)
                return self.head(self.decoder(target, initial_state=states))

        return EncoderDecoder()

    source = rng.standard_normal((16, 5, 3)).astype("float32")
    target = rng.standard_normal((16, 4, 2)).astype("float32")
    y = rng.standard_normal((16, 4, 1)).astype("float32")
    theirs, mine = build(keras), build(rnncore)
    for model in (theirs, mine):
        model([source[:2], target[:2]])
    _train_built(keras, theirs, mine, [source, target], y)


def test_a_model_keras_saved_loads_with_its_predictions(keras, rng, tmp_path):
    theirs = keras.Sequential([
        keras.Input((5, 3)), keras.layers.RNN(_stacked_mixed(keras), return_sequences=True),
        keras.layers.Bidirectional(keras.layers.RNN(_minimal(keras))), keras.layers.Dense(1)])
    x = rng.standard_normal((4, 5, 3)).astype("float32")
    path = str(tmp_path / "from_keras.keras")
    theirs.save(path)
    mine = rnncore.models.load_model(path, custom_objects={c.__name__: c
                                                           for c in _cells(rnncore)})
    np.testing.assert_allclose(mine.predict(x, verbose=0), theirs.predict(x, verbose=0),
                               atol=1e-5)


def test_stateful_bidirectional_with_weights_argument_predicts_as_keras(keras, rng):
    B = 3

    def build(lib, weights=None):
        return lib.Sequential([
            lib.Input((4, 2), batch_size=B),
            lib.layers.Bidirectional(lib.layers.RNN(_two_states(lib), stateful=True),
                                     weights=weights),
            lib.layers.Dense(1)])
    theirs = build(keras)
    mine = build(rnncore, theirs.layers[0].get_weights())  # Keras's `weights` argument
    mine.layers[1].set_weights(theirs.layers[1].get_weights())
    x = rng.standard_normal((3 * B, 4, 2)).astype("float32")
    for _ in range(2):  # the second pass starts from the states the first left
        np.testing.assert_allclose(mine.predict(x, batch_size=B, verbose=0),
                                   theirs.predict(x, batch_size=B, verbose=0), atol=1e-5)
    mine.layers[0].reset_states()
    for layer in (theirs.layers[0].forward_layer, theirs.layers[0].backward_layer):
        _keras_reset(layer)
    np.testing.assert_allclose(mine.predict(x, batch_size=B, verbose=0),
                               theirs.predict(x, batch_size=B, verbose=0), atol=1e-5)
