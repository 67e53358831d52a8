"""Functional models that apply ops to symbolic tensors (``x + inputs``, ``x[:, -1, :]``,
``ops.mean(x, axis=1)``...) saved and loaded both ways: a config or ``.keras`` file Keras
writes loads in rnncore and predicts Keras's numbers, and the one rnncore writes is Keras's own
(same op entries) and loads in Keras with the same numbers."""
import json

import numpy as np
import pytest

import rnncore
from _keras_op_table import SAMPLES, keras_table
from rnncore.layers._keras_op_table import KERAS_OPS

N, T, F = 5, 6, 4


def _inputs(lib):
    return (lib.Input((T, F), name="x"), lib.Input((T, F), name="y"),
            lib.Input((T,), dtype="int32", name="i"))


def _sample_model(lib, name):
    x, y, i = _inputs(lib)
    out = eval(SAMPLES[name], {"ops": lib.ops, "x": x, "y": y, "i": i})  # noqa: S307
    return lib.Model([x, y, i], out)


def _data():
    rng = np.random.default_rng(5)
    return [rng.standard_normal((N, T, F)).astype("float32"),
            rng.standard_normal((N, T, F)).astype("float32"),
            rng.integers(0, 4, (N, T)).astype("int32")]


def _assert_same(got, want):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape
    assert got.dtype == want.dtype
    tol = 2e-3 if want.dtype == np.float16 else 1e-5
    np.testing.assert_allclose(got.astype("float64"), want.astype("float64"), rtol=tol,
                               atol=tol)


def _op_entries(config_json):
    """The op entries of a model's JSON, names left out (each library numbers its own)."""
    def unnamed(value):
        if isinstance(value, dict):
            return {k: ("<ref>" if k == "keras_history" else unnamed(v))
                    for k, v in value.items() if k != "name"}
        if isinstance(value, list):
            return [unnamed(v) for v in value]
        return value

    layers = json.loads(config_json)["config"]["layers"]
    return [unnamed(e) for e in layers if str(e.get("module")).startswith("keras.src.ops")]


def test_op_table_is_what_keras_writes(keras):
    """The table rnncore reads and writes op nodes with is Keras's, read from its configs."""
    assert keras_table(keras) == KERAS_OPS


# Keras 3.15 cannot rebuild its own adaptive pooling ops from JSON (their output_size comes
# back a list, which their output shape adds to a tuple): rnncore still reads Keras's files
KERAS_CANNOT_RELOAD = {"adaptive_average_pool", "adaptive_max_pool"}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_each_op_both_ways(keras, name):
    """Keras's config -> rnncore predicts Keras's numbers; rnncore writes Keras's op entry,
    and Keras rebuilds rnncore's config with the same numbers."""
    data = _data()
    k_model, r_model = _sample_model(keras, name), _sample_model(rnncore, name)
    want = k_model.predict(data, verbose=0)

    from_keras = rnncore.models.model_from_json(k_model.to_json())
    _assert_same(from_keras.predict(data, verbose=0), want)
    assert [n.name for n in from_keras.operations] == [n.name for n in k_model.operations]

    r_json = r_model.to_json()
    assert _op_entries(r_json) == _op_entries(k_model.to_json())
    if name not in KERAS_CANNOT_RELOAD:
        _assert_same(keras.models.model_from_json(r_json).predict(data, verbose=0), want)
    again = rnncore.Model.from_config(r_model.get_config())
    _assert_same(again.predict(data, verbose=0), r_model.predict(data, verbose=0))


def _residual_attention(lib):
    """A program as Keras users write them: residual adds, slicing, ops-written attention
    pooling, scalar arithmetic, around trained layers."""
    layers, ops = lib.layers, lib.ops
    inputs = lib.Input((T, F), name="frames")
    x = layers.Dense(F, activation="relu")(inputs) + inputs
    seq = layers.LSTM(5, return_sequences=True)(x * 0.5)
    scores = ops.softmax(ops.matmul(seq, ops.transpose(seq, (0, 2, 1))) / np.sqrt(5.0), axis=-1)
    context = ops.mean(ops.matmul(scores, seq), axis=1)
    last = seq[:, -1, :]
    pooled = ops.max(seq[..., 1:], axis=1, keepdims=True)
    features = ops.concatenate([context, ops.tanh(last), ops.squeeze(pooled, axis=1),
                                ops.reshape(ops.expand_dims(ops.sum(seq, axis=(1, 2)), -1),
                                            (-1, 1))], axis=-1)
    out = layers.Dense(1)(1.0 - ops.clip(features, -3.0, 3.0))
    return lib.Model(inputs, [out, ops.stack([last, -context], axis=1)])


def _trained_pair(keras):
    k_model, r_model = _residual_attention(keras), _residual_attention(rnncore)
    weights = [np.random.default_rng(2).standard_normal(w.shape).astype("float32") * 0.5
               for w in k_model.get_weights()]
    k_model.set_weights(weights)
    r_model.set_weights(weights)
    return k_model, r_model


def _x():
    return np.random.default_rng(9).standard_normal((N, T, F)).astype("float32")


def _rows(model, capsys):
    """The summary's "name (Class)" and output shape, a row each (long ones wrap)."""
    model.summary()
    rows, cells = [], []
    for line in capsys.readouterr().out.splitlines():
        if line.startswith("│"):
            cells.append(line.split("│")[1:3])
        elif line.startswith(("├", "└")) and cells:
            rows.append(tuple(" ".join(c[i].strip() for c in cells if c[i].strip())
                              for i in (0, 1)))
            cells = []
    return rows


def test_keras_file_loads_and_predicts_as_keras(keras, tmp_path, capsys):
    k_model, _ = _trained_pair(keras)
    k_model.compile(keras.optimizers.Adam(1e-3), loss=["mse", "mse"])
    path = tmp_path / "ops.keras"
    k_model.save(path)
    loaded = rnncore.models.load_model(path)
    x = _x()
    for got, want in zip(loaded.predict(x, verbose=0), k_model.predict(x, verbose=0)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert _rows(loaded, capsys) == _rows(k_model, capsys)


def test_rnncore_file_loads_in_keras_and_in_rnncore(keras, tmp_path):
    _, r_model = _trained_pair(keras)
    path = tmp_path / "ops.keras"
    r_model.save(path)
    x = _x()
    want = r_model.predict(x, verbose=0)
    for model in (keras.models.load_model(path), rnncore.models.load_model(path)):
        for got, expected in zip(model.predict(x, verbose=0), want):
            np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_loaded_model_trains_as_keras(keras, tmp_path):
    """A file Keras wrote, loaded in rnncore, trains on as the Keras model does."""
    k_model, _ = _trained_pair(keras)
    path = tmp_path / "ops.keras"
    k_model.save(path)
    r_model = rnncore.models.load_model(path)
    x, rng = _x(), np.random.default_rng(4)
    y = [rng.standard_normal((N, 1)).astype("float32"),
         rng.standard_normal((N, 2, 5)).astype("float32")]
    losses = []
    for model, lib in ((k_model, keras), (r_model, rnncore)):
        model.compile(lib.optimizers.Adam(0.01), loss=["mse", "mse"])
        losses.append(model.fit(x, y, epochs=3, batch_size=N, shuffle=False,
                                verbose=0).history["loss"])
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-4)


def test_an_op_rnncore_cannot_write_is_refused_by_name():
    a = rnncore.Input((3, 2))
    model = rnncore.Model(a, rnncore.ops.einsum("bij,bkj->bik", a, a))
    with pytest.raises(ValueError, match=r"op node 'einsum.*' \(ops.einsum\)"):
        model.get_config()


def test_a_keras_op_rnncore_lacks_is_refused_by_name(keras, tmp_path):
    x = keras.Input((3,))
    path = tmp_path / "arcsinh.keras"
    keras.Model(x, keras.layers.Dense(2)(keras.ops.arcsinh(x))).save(path)
    with pytest.raises(ValueError, match=r"operation 'arcsinh.*' is keras.ops' Arcsinh"):
        rnncore.models.load_model(path)


def test_a_keras_argument_rnncore_lacks_is_refused_by_name(keras):
    x = keras.Input((3,))
    config = keras.Model(x, keras.ops.round(x, decimals=1)).to_json()
    with pytest.raises(ValueError, match=r"\{'decimals': 1\}.*ops.round"):
        rnncore.models.model_from_json(config)


def _residual_slices(lib):
    ops = lib.ops
    inputs = lib.Input((T, F))
    x = lib.layers.Dense(F)(inputs) + inputs
    h = lib.layers.LSTM(3)(x[:, ::-1])
    return lib.Model(inputs, lib.layers.Dense(1)(ops.concatenate([h, ops.mean(x, axis=1)],
                                                                 axis=-1)))


def test_legacy_h5_both_ways(keras, tmp_path):
    """Keras's legacy ``.h5`` drops each entry's module, so its op ``Add`` reads like the
    layer ``Add`` (Keras itself cannot reload such a file); rnncore tells them apart, and
    writes op nodes with their module, which Keras reads (but for an ``...`` in a slice,
    which Keras's legacy reader turns into Ellipsis and then fails on)."""
    k_model, _ = _trained_pair(keras)
    x = _x()
    k_model.save(tmp_path / "keras.h5")
    for got, want in zip(rnncore.models.load_model(tmp_path / "keras.h5").predict(x, verbose=0),
                         k_model.predict(x, verbose=0)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    r_model = _residual_slices(rnncore)
    r_model.save(tmp_path / "rnncore.h5")
    np.testing.assert_allclose(keras.models.load_model(tmp_path / "rnncore.h5").predict(
        x, verbose=0), r_model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rnncore.models.load_model(tmp_path / "rnncore.h5").predict(
        x, verbose=0), r_model.predict(x, verbose=0), rtol=1e-6)


def test_a_mask_computed_by_ops_is_kept(keras, tmp_path):
    """``LSTM(x, mask=ops.not_equal(ids, 0))`` over an Embedding without ``mask_zero``:
    the mask is the program's, not one a layer carries, and loading keeps it."""
    ids = np.array([[3, 1, 0, 0, 0], [2, 2, 2, 0, 0]])

    def build(lib):
        inputs = lib.Input((5,), dtype="int32")
        embedded = lib.layers.Embedding(10, 3)(inputs)
        return lib.Model(inputs, lib.layers.LSTM(2)(embedded,
                                                    mask=lib.ops.not_equal(inputs, 0)))

    k_model = build(keras)
    want = k_model.predict(ids, verbose=0)
    k_model.save(tmp_path / "keras.keras")
    loaded = rnncore.models.load_model(tmp_path / "keras.keras")
    np.testing.assert_allclose(loaded.predict(ids, verbose=0), want, rtol=1e-5, atol=1e-6)
    loaded.save(tmp_path / "rnncore.keras")
    for model in (rnncore.models.load_model(tmp_path / "rnncore.keras"),
                  keras.models.load_model(tmp_path / "rnncore.keras")):
        np.testing.assert_allclose(model.predict(ids, verbose=0), want, rtol=1e-5, atol=1e-6)


def test_slicing_keys_both_ways(keras):
    """``x[...]`` keys as Keras writes them: ints, slices with steps, ``None`` (a new axis)
    and ``...``."""
    def build(lib):
        x = lib.Input((T, F))
        return lib.Model(x, [x[:, None, 0], x[..., ::2], x[:, -1], x[:, 1:-1:2, None],
                             x[..., -1, :]])

    data = _data()[0]
    k_model, r_model = build(keras), build(rnncore)
    want = k_model.predict(data, verbose=0)
    for got, expected in zip(rnncore.models.model_from_json(k_model.to_json()).predict(
            data, verbose=0), want):
        _assert_same(got, expected)
    assert _op_entries(r_model.to_json()) == _op_entries(k_model.to_json())
    for got, expected in zip(keras.models.model_from_json(r_model.to_json()).predict(
            data, verbose=0), want):
        _assert_same(got, expected)
