"""An Embedding's rows handed to a recurrent op as ``recurrent.Lookup``: the op gathers x·W + b
from table·W + b and sums dz per id for W's gradient. It must give what the gathered array
gives."""
import numpy as np
import pytest

import rnncore
from rnncore import recurrent
from rnncore._indexed_slices import IndexedSlices
from rnncore.recurrent import _recurrent as R

V, F, B, T, H = 30, 6, 5, 9, 4

CELLS = {
    "simple_rnn": (recurrent.simple_rnn_forward, recurrent.simple_rnn_backward, 1),
    "lstm": (recurrent.lstm_forward, recurrent.lstm_backward, 4),
    "gru": (recurrent.gru_forward, recurrent.gru_backward, 3),
}


def _weights(rng, cell, dtype):
    G = CELLS[cell][2]
    W = rng.normal(size=(F, G * H)).astype(dtype)
    U = (rng.normal(size=(H, G * H)) * 0.3).astype(dtype)
    b = rng.normal(size=(2, G * H) if cell == "gru" else (G * H,)).astype(dtype)
    return W, U, b


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("truncate", [-1, 4])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("cell", sorted(CELLS))
def test_lookup_gives_what_the_gathered_rows_give(rng, cell, go_backwards, truncate, dtype):
    forward, backward, _ = CELLS[cell]
    table = rng.normal(size=(V, F)).astype(dtype)
    ids = rng.integers(0, V, size=(B, T)).astype(np.int32)
    ids[0, :3] = 7  # repeated ids are summed
    mask = rng.random((B, T)) > 0.2
    W, U, b = _weights(rng, cell, dtype)
    kwargs = dict(return_sequences=True, go_backwards=go_backwards, truncate_gradient=truncate,
                  mask=mask)
    y_ref, s_ref, c_ref = forward(np.take(table, ids, axis=0), W, U, b, **kwargs)
    y, s, c = forward(recurrent.Lookup(table, ids), W, U, b, **kwargs)
    assert isinstance(c.x_tm, R._TimeMajorLookup)  # the lookup path really ran
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(y, y_ref, **tol)
    for got, want in zip(np.atleast_1d(s), np.atleast_1d(s_ref)):
        np.testing.assert_allclose(got, want, **tol)
    d = rng.normal(size=y.shape).astype(dtype)
    g_ref, g = backward(c_ref, d), backward(c, d)
    for name in ("kernel", "recurrent_kernel", "bias"):
        assert g[name].dtype == dtype
        np.testing.assert_allclose(g[name], g_ref[name], **tol)
    assert isinstance(g["x"], IndexedSlices) and g["x"].dense_shape == (V, F)
    dense_ref = np.zeros((V, F), dtype)
    np.add.at(dense_ref, ids.reshape(-1), g_ref["x"].reshape(-1, F))
    np.testing.assert_allclose(g["x"].to_dense(), dense_ref, **tol)


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_lookup_falls_back_to_the_rows_for_a_dropout_mask_or_another_dtype(rng, cell):
    forward, backward, _ = CELLS[cell]
    table = rng.normal(size=(V, F)).astype(np.float32)
    ids = rng.integers(0, V, size=(B, T))
    x = np.take(table, ids, axis=0)
    dp = ((rng.random((B, F)) > 0.3) / 0.7).astype(np.float32)
    W, U, b = _weights(rng, cell, np.float32)
    y_ref, _, c_ref = forward(x, W, U, b, dropout_mask=dp)
    y, _, c = forward(recurrent.Lookup(table, ids), W, U, b, dropout_mask=dp)
    assert isinstance(c.x_tm, np.ndarray)
    np.testing.assert_allclose(y, y_ref, rtol=1e-6)
    g = backward(c, np.ones_like(y))
    np.testing.assert_allclose(g["x"], backward(c_ref, np.ones_like(y))["x"], rtol=1e-6)
    W64, U64, b64 = (a.astype(np.float64) for a in (W, U, b))
    y64, _, c64 = forward(recurrent.Lookup(table, ids), W64, U64, b64)
    assert isinstance(c64.x_tm, np.ndarray) and y64.dtype == np.float64
    np.testing.assert_allclose(y64, forward(x.astype(np.float64), W64, U64, b64)[0], rtol=1e-12)


def test_lookup_behaves_as_its_rows():
    table = np.arange(12, dtype=np.float32).reshape(4, 3)
    ids = np.array([[3, 0], [1, 1]])
    lookup = recurrent.Lookup(table, ids)
    assert lookup.shape == (2, 2, 3) and lookup.dtype == np.float32 and lookup.ndim == 3
    np.testing.assert_array_equal(np.asarray(lookup), table[ids])
    assert np.asarray(lookup, dtype=np.float64).dtype == np.float64


def _seed_model(cell, functional, vocab, rng):
    layers = rnncore.layers
    if functional:
        inp = rnncore.Input(shape=(T,), dtype="int32")
        out = layers.Dense(1, activation="sigmoid")(getattr(layers, cell)(3)(
            layers.Embedding(vocab, F)(inp)))
        model = rnncore.Model(inp, out)
    else:
        model = rnncore.Sequential([rnncore.Input(shape=(T,), dtype="int32"),
                                    layers.Embedding(vocab, F), getattr(layers, cell)(3),
                                    layers.Dense(1, activation="sigmoid")])
    model.compile(rnncore.optimizers.RMSprop(0.01), "binary_crossentropy")
    return model


@pytest.mark.parametrize("functional", [False, True], ids=["sequential", "functional"])
@pytest.mark.parametrize("cell", ["SimpleRNN", "LSTM", "GRU"])
def test_models_train_the_same_with_and_without_the_lookup(rng, cell, functional):
    fused, plain = (_seed_model(cell, functional, V, rng) for _ in range(2))
    plain.set_weights(fused.get_weights())
    recurrent = [layer for layer in plain.layers if layer.accepts_lookup]
    assert len(recurrent) == 1
    recurrent[0].accepts_lookup = False  # this one gets the gathered rows
    # the graph chose its lookups when it was built (a Sequential runs as its chain's graph)
    (plain if functional else plain._functional)._lookup_nodes = set()
    x = rng.integers(0, V, size=(16, T))  # 144 ids for 30 rows: the lookup is used
    y = (x[:, -1] > V // 2).astype(np.float32)
    for _ in range(3):
        np.testing.assert_allclose(fused.train_on_batch(x, y), plain.train_on_batch(x, y),
                                   rtol=1e-5)
    fused_layer = [layer for layer in fused.layers if layer.accepts_lookup][0]
    assert isinstance(fused_layer._cache.x_tm, R._TimeMajorLookup)
    assert isinstance(recurrent[0]._cache.x_tm, np.ndarray)
    # float32 sums in another order, through three RMSprop steps (which divide by sqrt(v), so
    # a gradient near zero moves its weight by up to lr·(its rounding)/sqrt(v): 5e-6 was seen)
    for a, b in zip(fused.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=2e-5)
    np.testing.assert_allclose(fused.predict(x, verbose=0), plain.predict(x, verbose=0),
                               rtol=1e-5)


def test_a_large_table_is_gathered(rng):
    model = _seed_model("LSTM", False, 1000, rng)  # 1000 rows > the batch's 4·9 ids
    x = rng.integers(0, 1000, size=(4, T))
    model.train_on_batch(x, np.ones(4, np.float32))
    assert isinstance(model.layers[1]._cache.x_tm, np.ndarray)


def _two_consumers(lib):
    inp = lib.Input(shape=(T,), dtype="int32")
    emb = lib.layers.Embedding(V, F)(inp)
    _, h, c = lib.layers.LSTM(3, return_state=True)(emb)
    out = lib.layers.LSTM(3)(emb, initial_state=[h, c])
    return lib.Model(inp, lib.layers.Dense(1, activation="sigmoid")(out))


def test_an_embedding_output_with_two_consumers_is_gathered_and_matches_keras(keras, rng):
    k_model, r_model = _two_consumers(keras), _two_consumers(rnncore)
    r_model.set_weights(k_model.get_weights())
    assert r_model._lookup_nodes == set()
    x = rng.integers(0, V, size=(16, T))
    y = (x[:, 0] > V // 2).astype(np.float32)
    for lib, model in ((keras, k_model), (rnncore, r_model)):
        model.compile(lib.optimizers.RMSprop(0.01), "binary_crossentropy")
    for _ in range(2):
        np.testing.assert_allclose(r_model.train_on_batch(x, y), k_model.train_on_batch(x, y),
                                   rtol=1e-4)
    for a, b in zip(r_model.get_weights(), k_model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-6)



def _count_projections(monkeypatch):
    """The number of table·W + b products made for a Projections cache."""
    made = []
    put = R.Projections.put
    monkeypatch.setattr(R.Projections, "put", lambda self, *a: (made.append(1), put(self, *a)))
    return made


class _Watcher(rnncore.callbacks.Callback):
    """A user callback with batch hooks: predict and evaluate may not keep products then."""

    def on_predict_batch_end(self, batch, logs=None):
        pass

    def on_test_batch_end(self, batch, logs=None):
        pass


@pytest.mark.parametrize("functional", [False, True], ids=["sequential", "functional"])
@pytest.mark.parametrize("cell", ["SimpleRNN", "LSTM", "GRU"])
def test_predict_and_evaluate_make_the_table_product_once_per_pass(
        keras, rng, monkeypatch, cell, functional):
    # 200 rows: more than a batch of 8 has ids (72), fewer than the 40 samples have (360)
    vocab = 200
    model = _seed_model(cell, functional, vocab, rng)
    k_model = keras.Sequential([keras.Input(shape=(T,), dtype="int32"),
                                keras.layers.Embedding(vocab, F), getattr(keras.layers, cell)(3),
                                keras.layers.Dense(1, activation="sigmoid")])
    k_model.compile(keras.optimizers.RMSprop(0.01), "binary_crossentropy")
    k_model.set_weights(model.get_weights())
    x = rng.integers(0, vocab, size=(40, T))
    y = (x[:, -1] > vocab // 2).astype(np.float32)
    made = _count_projections(monkeypatch)
    predicted = model.predict(x, batch_size=8, verbose=0)
    loss = model.evaluate(x, y, batch_size=8, verbose=0)
    assert len(made) == 2  # one product per pass, not one per batch
    # the same bits as the batch-by-batch rows, and Keras's values
    np.testing.assert_array_equal(
        predicted, model.predict(x, batch_size=8, verbose=0, callbacks=[_Watcher()]))
    assert len(made) == 2
    assert loss == model.evaluate(x, y, batch_size=8, verbose=0, callbacks=[_Watcher()])
    np.testing.assert_allclose(predicted, k_model.predict(x, batch_size=8, verbose=0),
                               rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(loss, k_model.evaluate(x, y, batch_size=8, verbose=0),
                               rtol=1e-5)
    # a pass with fewer ids than rows gathers the rows
    model.predict(x[:8], batch_size=8, verbose=0)
    assert len(made) == 2


def test_fit_validation_makes_the_table_product_once_per_epoch(rng, monkeypatch):
    vocab = 200
    model = _seed_model("LSTM", False, vocab, rng)
    x = rng.integers(0, vocab, size=(40, T))
    y = (x[:, -1] > vocab // 2).astype(np.float32)
    made = _count_projections(monkeypatch)
    history = model.fit(x[:16], y[:16], batch_size=8, epochs=2, verbose=0,
                        validation_data=(x[16:], y[16:]))
    assert len(made) == 2
    assert history.history["val_loss"][-1] == model.evaluate(
        x[16:], y[16:], batch_size=8, verbose=0, callbacks=[_Watcher()])


class _ZeroTableAt(rnncore.callbacks.Callback):
    """Zeroes the embedding table before batch `at`: later batches must see the change."""

    def __init__(self, at):
        super().__init__()
        self.at = at

    def on_predict_batch_begin(self, batch, logs=None):
        if batch == self.at:
            self.model.layers[0].embeddings.assign(np.zeros((200, F), np.float32))


def test_a_callback_that_changes_weights_between_batches_is_seen(rng):
    model = _seed_model("GRU", False, 200, rng)
    x = rng.integers(0, 200, size=(40, T))
    first = model.predict(x[:16], batch_size=8, verbose=0)
    predicted = model.predict(x, batch_size=8, verbose=0, callbacks=[_ZeroTableAt(2)])
    np.testing.assert_array_equal(predicted[:16], first)
    np.testing.assert_array_equal(predicted[16:], model.predict(x[16:], batch_size=8, verbose=0))
    assert not np.allclose(predicted[16:], first[0])  # the zeroed table changed the outputs
    assert np.ptp(predicted[16:]) < 1e-6  # every review is now the same sequence of zeros


def test_callbacks_that_run_user_code_are_told_apart():
    cbs = rnncore.callbacks
    hooks = ("on_predict_batch_begin", "on_predict_batch_end")
    ours = cbs.CallbackList([cbs.EarlyStopping(), cbs.History(), cbs.ProgbarLogger(),
                             cbs.LambdaCallback(on_epoch_end=lambda epoch, logs: None)])
    assert not ours.run_user_code(*hooks)
    assert cbs.CallbackList([_Watcher()]).run_user_code(*hooks)
    lam = cbs.LambdaCallback(on_predict_batch_end=lambda batch, logs: None)
    assert cbs.CallbackList([lam]).run_user_code(*hooks)
    assert not cbs.CallbackList([lam]).run_user_code("on_test_batch_end")


def _bidirectional_spec(cell, merge_mode, mask_zero, truncate=None):
    kwargs = {} if truncate is None else {"truncate_gradient": truncate}
    return [("Embedding", (V, F), {"mask_zero": mask_zero}),
            ("Bidirectional", ((cell, (3,), kwargs), merge_mode), {}),
            ("Dense", (1,), {"activation": "sigmoid"})]


@pytest.mark.parametrize("mask_zero", [False, True], ids=["no-mask", "mask_zero"])
@pytest.mark.parametrize("merge_mode", ["concat", "sum"])
@pytest.mark.parametrize("cell", ["SimpleRNN", "LSTM", "GRU"])
def test_a_bidirectional_layer_takes_the_lookup_and_trains_as_keras(keras, rng, cell, merge_mode,
                                                                    mask_zero):
    from _parity import build_pair, train_pair_on_batch

    k_model, r_model = build_pair(keras, _bidirectional_spec(cell, merge_mode, mask_zero),
                                  (T,), input_dtype="int32")
    for lib, model in ((keras, k_model), (rnncore, r_model)):
        model.compile(lib.optimizers.RMSprop(0.01), "binary_crossentropy")
    x = rng.integers(0 if mask_zero else 1, V, size=(16, T))  # 144 ids for 30 rows
    if mask_zero:
        x[:3, :4] = 0  # padded starts
    y = (x[:, -1] > V // 2).astype(np.float32)
    train_pair_on_batch(k_model, r_model, x, y, steps=3)
    bidi = r_model.layers[1]
    for sub in (bidi.forward_layer, bidi.backward_layer):
        assert isinstance(sub._cache.x_tm, R._TimeMajorLookup)  # both directions gathered
    np.testing.assert_allclose(r_model.predict(x, verbose=0), k_model.predict(x, verbose=0),
                               rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("cell", ["LSTM", "GRU"])
def test_a_bidirectional_lookup_with_truncated_windows_matches_the_gathered_rows(rng, cell):
    # truncate_gradient (rnncore's extension) gives each direction a window of other steps
    models = []
    for _ in range(2):
        model = rnncore.Sequential([rnncore.Input(shape=(T,), dtype="int32"),
                                    rnncore.layers.Embedding(V, F, mask_zero=True),
                                    rnncore.layers.Bidirectional(
                                        getattr(rnncore.layers, cell)(3, truncate_gradient=4)),
                                    rnncore.layers.Dense(1, activation="sigmoid")])
        model.compile(rnncore.optimizers.RMSprop(0.01), "binary_crossentropy")
        models.append(model)
    fused, plain = models
    plain.set_weights(fused.get_weights())
    plain.layers[1].accepts_lookup = False
    plain._functional._lookup_nodes = set()  # chosen when the graph was built
    x = rng.integers(0, V, size=(16, T))
    y = (x[:, 0] > V // 2).astype(np.float32)
    for _ in range(3):
        np.testing.assert_allclose(fused.train_on_batch(x, y), plain.train_on_batch(x, y),
                                   rtol=1e-5)
    assert isinstance(fused.layers[1].forward_layer._cache.x_tm, R._TimeMajorLookup)
    assert isinstance(plain.layers[1].forward_layer._cache.x_tm, np.ndarray)
    for a, b in zip(fused.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_predict_makes_one_table_product_per_direction(rng, monkeypatch):
    model = rnncore.Sequential([rnncore.Input(shape=(T,), dtype="int32"),
                                rnncore.layers.Embedding(200, F),
                                rnncore.layers.Bidirectional(rnncore.layers.GRU(3)),
                                rnncore.layers.Dense(1, activation="sigmoid")])
    x = rng.integers(0, 200, size=(40, T))
    made = _count_projections(monkeypatch)
    predicted = model.predict(x, batch_size=8, verbose=0)
    assert len(made) == 2
    np.testing.assert_array_equal(
        predicted, model.predict(x, batch_size=8, verbose=0, callbacks=[_Watcher()]))


@pytest.mark.parametrize("dropout", [False, True], ids=["no-dropout", "dropout"])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("cell", sorted(CELLS))
def test_a_lookup_of_a_large_table_gathers_its_rows_time_major(rng, cell, go_backwards, dropout):
    # more rows than the batch has ids: the op gathers the rows straight into its time-major
    # layout, the same numbers as the batch-major rows it was given before
    forward, backward, _ = CELLS[cell]
    table = rng.normal(size=(200, F)).astype(np.float32)
    ids = rng.integers(0, 200, size=(B, T))
    W, U, b = _weights(rng, cell, np.float32)
    dp = ((rng.random((B, F)) > 0.3) / 0.7).astype(np.float32) if dropout else None
    kwargs = dict(return_sequences=True, go_backwards=go_backwards, dropout_mask=dp)
    y_ref, _, c_ref = forward(np.take(table, ids, axis=0), W, U, b, **kwargs)
    y, _, c = forward(recurrent.Lookup(table, ids), W, U, b, **kwargs)
    assert isinstance(c.x_tm, np.ndarray)
    np.testing.assert_array_equal(c.x_tm, c_ref.x_tm)
    np.testing.assert_array_equal(y, y_ref)
    d = rng.normal(size=y.shape).astype(np.float32)
    np.testing.assert_array_equal(backward(c, d)["x"], backward(c_ref, d)["x"])


@pytest.mark.parametrize("n_threads", [1, 2, 3])
@pytest.mark.parametrize("rows,cols", [(6400, 64), (300, 8), (1 << 12, 128)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gather_rows_on_any_number_of_threads(rng, rows, cols, n_threads, dtype):
    # from 256K floats on, the gather is split over the threads
    from rnncore._kernels._rows import gather_rows

    table = rng.normal(size=(500, cols)).astype(dtype)
    ids = rng.integers(0, 500, size=rows)
    out = np.full((rows, cols), np.nan, dtype)
    gather_rows(table, ids, out, n_threads)
    np.testing.assert_array_equal(out, np.take(table, ids, axis=0))
