"""One model shared by threads (a server's request threads): every call gets the result it
would get alone."""
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import rnncore

L = rnncore.layers


def _model(cell="LSTM"):
    model = rnncore.Sequential([rnncore.Input((20,), dtype="int32"), L.Embedding(100, 8),
                                getattr(L, cell)(8, return_sequences=True), L.GRU(4),
                                L.Dense(1, activation="sigmoid")])
    model.compile("rmsprop", "binary_crossentropy", metrics=["accuracy"])
    return model


def _requests(rng, n=48):
    # different batch sizes: a call that saw another call's workspace or cache would differ
    return [rng.integers(0, 100, (int(rng.integers(1, 90)), 20)) for _ in range(n)]


@pytest.mark.parametrize("call", ["predict", "predict_on_batch", "__call__"])
def test_concurrent_calls_on_one_model(rng, call):
    model = _model()
    xs = _requests(rng)
    run = {"predict": lambda x: model.predict(x, verbose=0, batch_size=16),
           "predict_on_batch": model.predict_on_batch,
           "__call__": model}[call]
    alone = [run(x) for x in xs]
    with ThreadPoolExecutor(6) as pool:
        together = list(pool.map(run, xs))
    for a, b in zip(alone, together):
        np.testing.assert_array_equal(b, a)


def test_concurrent_evaluate_on_one_model(rng):
    model = _model("SimpleRNN")
    xs = _requests(rng, 16)
    ys = [rng.integers(0, 2, len(x)).astype("float32") for x in xs]
    alone = [model.evaluate(x, y, verbose=0) for x, y in zip(xs, ys)]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda xy: model.evaluate(*xy, verbose=0), zip(xs, ys)))
    np.testing.assert_array_equal(np.array(together), np.array(alone))


def test_models_sharing_layers(rng):
    # an inference model built from a training graph's layers runs beside the training model
    inp = rnncore.Input((20,), dtype="int32")
    seq = L.LSTM(8, return_sequences=True)(L.Embedding(100, 8)(inp))
    full = rnncore.Model(inp, L.Dense(1)(L.GRU(4)(seq)))
    partial = rnncore.Model(inp, seq)
    xs = _requests(rng, 24)
    alone = [(full.predict(x, verbose=0), partial.predict(x, verbose=0)) for x in xs]
    with ThreadPoolExecutor(6) as pool:
        got = list(pool.map(lambda x: (full.predict(x, verbose=0), partial.predict(x, verbose=0)),
                            xs))
    for (a_full, a_part), (g_full, g_part) in zip(alone, got):
        np.testing.assert_array_equal(g_full, a_full)
        np.testing.assert_array_equal(g_part, a_part)


def test_save_from_one_pool_while_predicting_from_another(rng, tmp_path):
    model = _model()
    xs = _requests(rng, 32)
    alone = [model.predict(x, verbose=0) for x in xs]
    paths = [tmp_path / f"m{i}.h5" for i in range(8)]
    with ThreadPoolExecutor(3) as predictors, ThreadPoolExecutor(2) as savers:
        predicted = predictors.map(lambda x: model.predict(x, verbose=0), xs)
        saved = savers.map(model.save, paths)
        predicted, _ = list(predicted), list(saved)
    for a, b in zip(alone, predicted):
        np.testing.assert_array_equal(b, a)
    for path in paths:
        loaded = rnncore.models.load_model(path)
        np.testing.assert_array_equal(loaded.predict(xs[0], verbose=0), alone[0])


def test_predict_while_another_thread_fits(rng):
    # predictions made during training come from whole optimizer steps: each equals the
    # output of some model state between steps, never a mix of two batches' caches
    model = _model("GRU")
    x = rng.integers(0, 100, (64, 20))
    y = rng.integers(0, 2, 64).astype("float32")
    probe = rng.integers(0, 100, (5, 20))
    states = [model.get_weights()]
    with ThreadPoolExecutor(2) as pool:
        fitting = pool.submit(model.fit, x, y, batch_size=8, epochs=2, verbose=0,
                              callbacks=[rnncore.callbacks.LambdaCallback(
                                  on_train_batch_end=lambda *_: states.append(
                                      model.get_weights()))])
        seen = []
        while not fitting.done():
            seen.append(model.predict(probe, verbose=0))
        fitting.result()
    twin = _model("GRU")
    outputs = []
    for weights in states:
        twin.set_weights(weights)
        outputs.append(twin.predict(probe, verbose=0))
    for out in seen:
        assert any(np.array_equal(out, o) for o in outputs)


def test_callback_may_predict_during_fit(rng):
    # the layer locks are re-entrant: no deadlock when fit's own thread calls predict
    model = _model()
    x = rng.integers(0, 100, (16, 20))
    calls = []
    cb = rnncore.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: calls.append(model.predict(x[:2], verbose=0)))
    model.fit(x, np.zeros(16), epochs=2, verbose=0, callbacks=[cb])
    assert len(calls) == 2 and calls[0].shape == (2, 1)
