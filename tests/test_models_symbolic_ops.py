"""Ops on symbolic tensors in functional models, as Keras 3 has them: ``x + y``, ``x[:, -1]``,
``ops.concatenate``, ``ops.softmax(ops.matmul(...))`` on tensors of ``Input`` become nodes of
the graph, with Keras's shapes, summary rows and training (same weights, same losses)."""
import re

import numpy as np
import pytest

import rnncore

N, T, F = 12, 6, 4


def _residual(lib):
    inp = lib.Input((T, F))
    x = lib.layers.Dense(F)(inp) + inp
    x = lib.layers.LSTM(5)(x)
    return lib.Model(inp, lib.layers.Dense(1)(x))


def _attention(lib):
    """Dot-product self-attention over an LSTM's sequence, written with ops."""
    ops = lib.ops
    inp = lib.Input((T, F))
    seq = lib.layers.LSTM(5, return_sequences=True)(inp)
    scores = ops.matmul(seq, ops.transpose(seq, (0, 2, 1))) / np.sqrt(5.0)
    context = ops.mean(ops.matmul(ops.softmax(scores, axis=-1), seq), axis=1)
    out = ops.concatenate([context, ops.tanh(seq[:, -1, :])], axis=-1)
    return lib.Model(inp, lib.layers.Dense(2)(out))


def _two_inputs(lib):
    ops = lib.ops
    a, b = lib.Input((T, F)), lib.Input((T, F))
    x = lib.layers.GRU(3, return_sequences=True)(a * 2 - b)
    last = x[..., -1, :]
    pooled = ops.reshape(ops.expand_dims(ops.max(-x, axis=1), 1), (-1, 3))
    out = ops.concatenate([last, abs(pooled), x[:, 0] ** 2], axis=-1)
    return lib.Model([a, b], lib.layers.Dense(1)(out))


def _split(lib):
    """Ops with several outputs: ``split`` and ``unstack`` give a list of tensors."""
    ops = lib.ops
    inp = lib.Input((T, F))
    gate, value = ops.split(inp, 2, axis=-1)
    steps = ops.unstack(inp, axis=1)
    h = lib.layers.LSTM(3)(ops.sigmoid(gate) * value)
    return lib.Model(inp, lib.layers.Dense(1)(ops.concatenate([h, steps[-1]], axis=-1)))


BUILDS = {"residual": _residual, "attention": _attention, "two_inputs": _two_inputs,
          "split": _split}


def _data(build, rng):
    x = rng.standard_normal((N, T, F)).astype("float32")
    if build is _two_inputs:
        x = [x, rng.standard_normal((N, T, F)).astype("float32")]
    out = 2 if build is _attention else 1
    return x, rng.standard_normal((N, out)).astype("float32")


def _pair(keras, build):
    k_model, r_model = build(keras), build(rnncore)
    weights = [np.random.default_rng(7).standard_normal(w.shape).astype("float32") * 0.4
               for w in k_model.get_weights()]
    k_model.set_weights(weights)
    r_model.set_weights(weights)
    return k_model, r_model


@pytest.mark.parametrize("build", BUILDS.values(), ids=BUILDS.keys())
def test_trains_as_keras(keras, rng, build):
    x, y = _data(build, rng)
    k_model, r_model = _pair(keras, build)
    np.testing.assert_allclose(r_model.predict(x, verbose=0), k_model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)
    losses = []
    for model, lib in ((k_model, keras), (r_model, rnncore)):
        model.compile(lib.optimizers.Adam(0.01), loss="mse")
        losses.append(model.fit(x, y, epochs=5, batch_size=N, shuffle=False,
                                verbose=0).history["loss"])
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-5)
    np.testing.assert_allclose(r_model.predict(x, verbose=0), k_model.predict(x, verbose=0),
                               rtol=1e-4, atol=1e-5)


def test_shapes_and_layers_as_keras(keras):
    for build in BUILDS.values():
        k_model, r_model = build(keras), build(rnncore)
        assert r_model.output_shape == k_model.output_shape
        assert [type(layer).__name__ for layer in r_model.layers] == \
            [type(layer).__name__ for layer in k_model.layers]  # op nodes are not layers
        assert len(r_model.get_weights()) == len(k_model.get_weights())


@pytest.mark.parametrize("expression, shape", [
    (lambda x, o: x[:, -1, :], (None, 4)),
    (lambda x, o: x[..., 0], (None, 6)),
    (lambda x, o: o.reshape(x, (-1, 24)), (None, 24)),
    (lambda x, o: o.expand_dims(x, 1), (None, 1, 6, 4)),
    (lambda x, o: o.matmul(x, o.transpose(x, (0, 2, 1))), (None, 6, 6)),
    (lambda x, o: o.mean(x, axis=1), (None, 4)),
    (lambda x, o: o.sum(x, axis=(1, 2), keepdims=True), (None, 1, 1)),
    (lambda x, o: x > 0, (None, 6, 4)),
    (lambda x, o: 1.0 - o.sigmoid(x), (None, 6, 4)),
])
def test_symbolic_shapes(keras, expression, shape):
    k = expression(keras.Input((T, F)), keras.ops)
    r = expression(rnncore.Input((T, F)), rnncore.ops)
    assert tuple(k.shape) == shape
    assert r.shape == shape
    assert r.dtype == k.dtype


def _late_input(lib):
    """A second input read only by an op, after a layer on the first."""
    a, b = lib.Input((T, F)), lib.Input((T, F))
    return lib.Model([a, b], lib.layers.LSTM(2)(lib.layers.Dense(F)(a) + b))


@pytest.mark.parametrize("build", [_two_inputs, _late_input])
def test_summary_lists_op_nodes_as_keras(keras, capsys, build):
    """One row per op node, typed as Keras types them (``subtract (Subtract)``...), in
    Keras's order (an input read only by an op comes after the layers before that op)."""
    kinds = []
    for lib in (keras, rnncore):
        build(lib).summary()
        kinds.append(re.findall(r"\((\w+)\)", capsys.readouterr().out))
    assert kinds[1] == kinds[0]
    assert "Add" in kinds[1] or "Subtract" in kinds[1]


def test_op_nodes_drop_the_mask(keras):
    """Keras's ops give no mask: after ``x * 2`` the LSTM sees every step, padding too."""
    ids = np.array([[3, 1, 0, 0], [2, 2, 2, 0]])
    results = []
    for lib in (keras, rnncore):
        inp = lib.Input((4,), dtype="int32")
        x = lib.layers.Embedding(5, 3, mask_zero=True)(inp) * 2.0
        results.append(lib.Model(inp, lib.layers.LSTM(2)(x)))
    weights = [np.random.default_rng(3).standard_normal(w.shape).astype("float32")
               for w in results[0].get_weights()]
    for model in results:
        model.set_weights(weights)
    np.testing.assert_allclose(results[1].predict(ids, verbose=0),
                               results[0].predict(ids, verbose=0), rtol=1e-5, atol=1e-6)


def test_a_weight_read_by_an_op_node_is_refused_by_name():
    # its share of the gradient would be lost: refused rather than trained wrongly
    inputs = rnncore.Input((3,))
    dense = rnncore.layers.Dense(3)
    hidden = dense(inputs)
    with pytest.raises(NotImplementedError, match=r"trainable weight 'dense.*/kernel'"):
        rnncore.ops.matmul(inputs, dense.kernel)
    with pytest.raises(NotImplementedError, match=r"trainable weight 'dense.*/kernel'"):
        hidden * dense.kernel


@pytest.mark.parametrize("build", BUILDS.values(), ids=BUILDS.keys())
def test_saved_both_ways(keras, rng, tmp_path, build):
    """Each graph saved by Keras loads in rnncore, and saved by rnncore loads in Keras, with
    the same predictions (op nodes, slices and constants included)."""
    x, _ = _data(build, rng)
    k_model, r_model = _pair(keras, build)
    k_model.save(tmp_path / "keras.keras")
    r_model.save(tmp_path / "rnncore.keras")
    np.testing.assert_allclose(
        rnncore.models.load_model(tmp_path / "keras.keras").predict(x, verbose=0),
        k_model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        keras.models.load_model(tmp_path / "rnncore.keras").predict(x, verbose=0),
        r_model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
