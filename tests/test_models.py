"""The trainer against Keras: same model, same weights, same data, same numbers."""
import numpy as np
import pytest

import rnncore
from _parity import build_pair, rel_err

T, VOCAB = 12, 40

SPECS = {
    "rnn-dense": [("Embedding", (VOCAB, 8), {}), ("SimpleRNN", (6,), {}),
                  ("Dense", (1,), {"activation": "sigmoid"})],
    "lstm-stack": [("Embedding", (VOCAB, 8), {}),
                   ("LSTM", (6,), {"return_sequences": True}), ("LSTM", (5,), {}),
                   ("Dense", (1,), {"activation": "sigmoid"})],
    "gru-flatten": [("Embedding", (VOCAB, 8), {}), ("GRU", (4,), {"return_sequences": True}),
                    ("Flatten", (), {}), ("Dense", (6,), {"activation": "tanh"}),
                    ("Dense", (1,), {"activation": "sigmoid"})],
    "rnn-gap": [("Embedding", (VOCAB, 8), {}), ("SimpleRNN", (6,), {"return_sequences": True}),
                ("GlobalAveragePooling1D", (), {}), ("Dense", (4,), {"activation": "relu"}),
                ("Dense", (1,), {"activation": "sigmoid"})],
    "bi-lstm": [("Embedding", (VOCAB, 8), {}),
                ("Bidirectional", (("LSTM", (5,), {}),), {}),
                ("Dense", (1,), {"activation": "sigmoid"})],
    "bi-gru-seq-sum": [("Embedding", (VOCAB, 8), {}),
                       ("Bidirectional", (("GRU", (4,), {"return_sequences": True}),),
                        {"merge_mode": "sum"}),
                       ("SimpleRNN", (3,), {}), ("Dense", (1,), {"activation": "sigmoid"})],
}


def _data(rng, n=96):
    x = rng.integers(1, VOCAB, size=(n, T))
    y = (x[:, :4].mean(axis=1) > VOCAB / 2).astype("float32")
    return x, y


@pytest.mark.parametrize("name", sorted(SPECS))
@pytest.mark.parametrize("functional", [False, True], ids=["sequential", "functional"])
def test_predict_matches_keras(keras, rng, name, functional):
    k_model, r_model = build_pair(keras, SPECS[name], (T,), "int32", functional)
    x, _ = _data(rng, 40)
    np.testing.assert_allclose(r_model.predict(x, verbose=0), k_model.predict(x, verbose=0),
                               atol=1e-5)


OPTIMIZERS = {
    "sgd-momentum": ("SGD", {"learning_rate": 0.1, "momentum": 0.9}),
    "sgd-nesterov": ("SGD", {"learning_rate": 0.05, "momentum": 0.5, "nesterov": True}),
    "rmsprop": ("RMSprop", {"learning_rate": 0.01}),
    # rho=0.99: with rho=0.9 and many repeated token ids, Keras's own sparse update makes
    # v - a^2 negative and TensorFlow then fails on the repeated indices
    "rmsprop-centered-momentum": ("RMSprop", {"learning_rate": 0.01, "momentum": 0.5,
                                              "centered": True, "rho": 0.99}),
    "adam": ("Adam", {"learning_rate": 0.01}),
    "adam-amsgrad-clipnorm": ("Adam", {"learning_rate": 0.01, "amsgrad": True, "clipnorm": 0.5}),
}


@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
@pytest.mark.parametrize("name", ["rnn-dense", "lstm-stack", "gru-flatten"])
def test_train_on_batch_matches_keras(keras, rng, name, opt):
    k_model, r_model = build_pair(keras, SPECS[name], (T,), "int32")
    cls, kwargs = OPTIMIZERS[opt]
    k_model.compile(getattr(keras.optimizers, cls)(**kwargs), "binary_crossentropy",
                    metrics=["accuracy"])
    r_model.compile(getattr(rnncore.optimizers, cls)(**kwargs), "binary_crossentropy",
                    metrics=["accuracy"])
    x, y = _data(rng, 32)
    for step in range(4):
        k_loss, k_acc = k_model.train_on_batch(x, y)
        r_loss, r_acc = r_model.train_on_batch(x, y)
        assert rel_err(r_loss, k_loss) < 1e-3, (step, r_loss, k_loss)
        assert r_acc == pytest.approx(k_acc, abs=1e-6)
    for r_w, k_w in zip(r_model.get_weights(), k_model.get_weights()):
        assert rel_err(r_w, k_w) < 1e-3


LOSSES = {
    "binary_crossentropy": ("sigmoid", 1),
    "categorical_crossentropy": ("softmax", 3),
    "sparse_categorical_crossentropy": ("softmax", 3),
    "mse": ("linear", 2),
    "mae": ("tanh", 2),
}


def _targets(loss, x, rng):
    n = x.shape[0]
    cls = (x[:, 0] % 3).astype("int64")
    if loss == "binary_crossentropy":
        return (cls > 0).astype("float32")
    if loss == "categorical_crossentropy":
        return np.eye(3, dtype="float32")[cls]
    if loss == "sparse_categorical_crossentropy":
        return cls
    return rng.normal(size=(n, 2)).astype("float32")


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_fit_history_matches_keras(keras, rng, loss):
    activation, width = LOSSES[loss]
    spec = [("Embedding", (VOCAB, 8), {}), ("GRU", (5,), {}),
            ("Dense", (width,), {"activation": activation})]
    k_model, r_model = build_pair(keras, spec, (T,), "int32")
    metrics = ["acc"] if "crossentropy" in loss else ["mae"]
    for model, lib in ((k_model, keras), (r_model, rnncore)):
        model.compile(lib.optimizers.RMSprop(learning_rate=0.01), loss, metrics=metrics)
    x, _ = _data(rng, 100)
    y = _targets(loss, x, rng)
    kwargs = dict(epochs=2, batch_size=16, validation_split=0.2, shuffle=False, verbose=0)
    k_hist = k_model.fit(x, y, **kwargs).history
    r_hist = r_model.fit(x, y, **kwargs).history
    assert list(r_hist) == list(k_hist)
    for key in k_hist:
        assert rel_err(r_hist[key], k_hist[key]) < 2e-3, (key, r_hist[key], k_hist[key])
    k_eval = k_model.evaluate(x, y, verbose=0)
    r_eval = r_model.evaluate(x, y, verbose=0)
    assert rel_err(r_eval, k_eval) < 2e-3


def test_history_keys_follow_the_metric_names(rng):
    model = rnncore.Sequential([rnncore.layers.Embedding(VOCAB, 4),
                                rnncore.layers.SimpleRNN(3),
                                rnncore.layers.Dense(1, activation="sigmoid")])
    model.compile("rmsprop", "binary_crossentropy", metrics=["acc"])
    x, y = _data(rng, 40)
    hist = model.fit(x, y, epochs=1, validation_data=(x, y), verbose=0).history
    assert sorted(hist) == ["acc", "loss", "val_acc", "val_loss"]
    model.compile("rmsprop", "binary_crossentropy", metrics=["accuracy"])
    hist = model.fit(x, y, epochs=2, validation_data=[x, y], verbose=0).history
    assert sorted(hist) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert len(hist["loss"]) == 2


def test_stateful_outputs_match_keras(keras, rng):
    spec = [("LSTM", (4,), {"stateful": True, "return_sequences": True}),
            ("Dense", (2,), {})]
    models = []
    for lib in (keras, rnncore):
        models.append(lib.Sequential([lib.Input(batch_shape=(3, 5, 2))] + [
            getattr(lib.layers, n)(*a, **k) for n, a, k in spec]))
    k_model, r_model = models
    r_model.set_weights(k_model.get_weights())
    x = rng.normal(size=(3, 10, 2)).astype("float32")
    for chunk in (x[:, :5], x[:, 5:]):
        np.testing.assert_allclose(r_model.predict_on_batch(chunk),
                                   np.asarray(k_model.predict_on_batch(chunk)), atol=1e-5)
    k_model.layers[0].reset_state()  # Keras 3 models have no reset_states(); rnncore's do
    r_model.reset_states()
    np.testing.assert_allclose(r_model.predict_on_batch(x[:, :5]),
                               np.asarray(k_model.predict_on_batch(x[:, :5])), atol=1e-5)


@pytest.mark.parametrize("cell", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_masking_matches_keras(keras, rng, cell, return_sequences):
    spec = [("Embedding", (VOCAB, 6), {"mask_zero": True}),
            (cell, (4,), {"return_sequences": return_sequences}),
            ("Dense", (1,), {"activation": "sigmoid"})]
    k_model, r_model = build_pair(keras, spec, (T,), "int32")
    x, y = _data(rng, 24)
    x[:, : T // 2] = 0  # pre-padding, as pad_sequences makes
    x[3, :] = 0  # an all-padding row
    if return_sequences:
        y = np.repeat(y[:, None, None], T, axis=1)
    np.testing.assert_allclose(r_model.predict(x, verbose=0), k_model.predict(x, verbose=0),
                               atol=1e-5)
    for model, lib in ((k_model, keras), (r_model, rnncore)):
        model.compile(lib.optimizers.SGD(learning_rate=0.5), "binary_crossentropy")
    for _ in range(2):
        k_loss = k_model.train_on_batch(x, y)
        r_loss = r_model.train_on_batch(x, y)
        assert rel_err(r_loss, k_loss) < 1e-3
    for r_w, k_w in zip(r_model.get_weights(), k_model.get_weights()):
        assert rel_err(r_w, k_w) < 1e-3


def test_summary_counts_seed_000(capsys):
    model = rnncore.models.Sequential()
    model.add(rnncore.layers.Embedding(10000, 64, input_length=100))
    model.add(rnncore.layers.SimpleRNN(32, return_sequences=True))
    model.add(rnncore.layers.Flatten())
    model.add(rnncore.layers.Dense(16, activation="tanh"))
    model.add(rnncore.layers.Dense(2, activation="softmax"))
    model.summary()
    out = capsys.readouterr().out
    assert "│ simple_rnn" in out and "(None, 100, 32)" in out and "3,104" in out
    assert "(None, 3200)" in out
    assert f"Total params: {640000 + 3104 + 3200 * 16 + 16 + 34:,}" in out
    assert model.count_params() == 640000 + 3104 + 3200 * 16 + 16 + 34


def test_summary_table_equals_keras(keras, capsys):
    lines = {}
    for lib in (keras, rnncore):
        model = lib.Sequential([lib.Input(shape=(100,)), lib.layers.Embedding(500, 16, name="emb"),
                                lib.layers.LSTM(8, name="lstm"),
                                lib.layers.Dense(1, activation="sigmoid", name="out")],
                               name="seed001")
        model.summary()
        lines[lib.__name__] = capsys.readouterr().out.splitlines()
    assert lines["rnncore"] == lines["keras"]


def test_save_and_load_round_trip(tmp_path, rng):
    model = rnncore.Sequential([rnncore.layers.Embedding(VOCAB, 4, input_length=T),
                                rnncore.layers.LSTM(3), rnncore.layers.Dense(1, "sigmoid")])
    model.compile(rnncore.optimizers.RMSprop(1e-3), "binary_crossentropy", metrics=["accuracy"])
    x, y = _data(rng, 20)
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "best-lstm-model.h5"
    model.save(path)
    loaded = rnncore.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0))
    weights_path = tmp_path / "w.weights.h5"
    model.save_weights(weights_path)
    other = rnncore.Sequential([rnncore.layers.Embedding(VOCAB, 4, input_length=T),
                                rnncore.layers.LSTM(3), rnncore.layers.Dense(1, "sigmoid")])
    other.load_weights(weights_path)
    np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("optimizer", ["rmsprop", "adam", "sgd-momentum"])
def test_a_loaded_model_trains_on_exactly_where_it_stopped(tmp_path, rng, optimizer):
    # As with a Keras file, model.save keeps the optimizer's state (iterations, learning rate,
    # slots): the loaded model's next epochs are the original's, to the bit.
    make = {"rmsprop": lambda: rnncore.optimizers.RMSprop(1e-2),
            "adam": lambda: rnncore.optimizers.Adam(1e-2),
            "sgd-momentum": lambda: rnncore.optimizers.SGD(0.1, momentum=0.9)}[optimizer]
    model = rnncore.Sequential([rnncore.layers.Embedding(VOCAB, 4), rnncore.layers.GRU(3),
                                rnncore.layers.Dense(1, "sigmoid")])
    model.compile(make(), "binary_crossentropy", metrics=["accuracy"])
    x, y = _data(rng, 40)
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    model.save(tmp_path / "m.keras")
    model.save(tmp_path / "no-optimizer.keras", include_optimizer=False)
    loaded = rnncore.models.load_model(tmp_path / "m.keras")
    assert loaded.optimizer.iterations == model.optimizer.iterations == 10
    for o, k in zip(loaded.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(o, k)
    fresh = rnncore.models.load_model(tmp_path / "no-optimizer.keras")
    assert fresh.optimizer.iterations == 0
    history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    loaded_history = loaded.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    assert loaded_history == history
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    fresh.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    assert any(not np.array_equal(a, b) for a, b in zip(fresh.get_weights(),
                                                         model.get_weights()))


def test_functional_save_and_load(tmp_path, rng):
    inp = rnncore.Input(shape=(T,), dtype="int32")
    h = rnncore.layers.Embedding(VOCAB, 4)(inp)
    h = rnncore.layers.Bidirectional(rnncore.layers.GRU(3, return_sequences=True))(h)
    h = rnncore.layers.GlobalAveragePooling1D()(h)
    out = rnncore.layers.Dense(2, activation="softmax")(h)
    model = rnncore.Model(inputs=inp, outputs=out)
    path = tmp_path / "model.keras"
    model.save(path)
    x, _ = _data(rng, 8)
    loaded = rnncore.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_a_crash_while_saving_keeps_the_previous_file(tmp_path, rng, monkeypatch):
    model = rnncore.Sequential([rnncore.layers.Embedding(VOCAB, 4, input_length=T),
                                rnncore.layers.SimpleRNN(3)])
    path = tmp_path / "m.h5"
    model.save(path)
    before = path.read_bytes()
    from rnncore.models import _saving

    def broken(model, f, *args):
        f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(_saving._legacy_h5, "write", broken)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.h5"]


def test_loading_a_truncated_hdf5_file_is_a_clear_error(tmp_path):
    path = tmp_path / "x.h5"
    path.write_bytes(b"\x89HDF\r\n")
    with pytest.raises(ValueError, match="x.h5.* is a truncated HDF5 file"):
        rnncore.models.load_model(path)


@pytest.mark.parametrize("name", ["bi-lstm", "bi-gru-seq-sum", "rnn-gap"])
def test_wrappers_and_pooling_train_like_keras(keras, rng, name):
    k_model, r_model = build_pair(keras, SPECS[name], (T,), "int32")
    for model, lib in ((k_model, keras), (r_model, rnncore)):
        model.compile(lib.optimizers.RMSprop(learning_rate=0.01), "binary_crossentropy",
                      metrics=["accuracy"])
    x, y = _data(rng, 32)
    for step in range(3):
        k_loss, _ = k_model.train_on_batch(x, y)
        r_loss, _ = r_model.train_on_batch(x, y)
        assert rel_err(r_loss, k_loss) < 1e-3, (step, r_loss, k_loss)
    for r_w, k_w in zip(r_model.get_weights(), k_model.get_weights()):
        assert rel_err(r_w, k_w) < 1e-3


@pytest.mark.parametrize("weights", ["sample_weight", "class_weight"])
def test_sample_and_class_weights_match_keras(keras, rng, weights):
    k_model, r_model = build_pair(keras, SPECS["rnn-dense"], (T,), "int32")
    for model, lib in ((k_model, keras), (r_model, rnncore)):
        model.compile(lib.optimizers.SGD(learning_rate=0.2), "binary_crossentropy",
                      metrics=["accuracy"])
    x, y = _data(rng, 80)
    kwargs = ({"sample_weight": rng.uniform(0.1, 3.0, size=80)} if weights == "sample_weight"
              else {"class_weight": {0: 0.3, 1: 2.5}})
    fit = dict(epochs=2, batch_size=16, validation_split=0.25, shuffle=False, verbose=0, **kwargs)
    k_hist = k_model.fit(x, y, **fit).history
    r_hist = r_model.fit(x, y, **fit).history
    for key in k_hist:
        assert rel_err(r_hist[key], k_hist[key]) < 2e-3, (key, r_hist[key], k_hist[key])
    if weights == "sample_weight":
        sw = kwargs["sample_weight"]
        assert rel_err(r_model.evaluate(x, y, sample_weight=sw, verbose=0),
                       k_model.evaluate(x, y, sample_weight=sw, verbose=0)) < 2e-3


@pytest.mark.parametrize("first", ["LSTM", "Bidirectional"])
def test_a_recurrent_layer_fed_by_the_data_skips_its_input_gradient(keras, rng, first):
    lstm = ("LSTM", (5,), {"return_sequences": True})
    spec = [lstm if first == "LSTM" else ("Bidirectional", (lstm,), {"merge_mode": "sum"}),
            ("GRU", (3,), {}), ("Dense", (1,), {"activation": "sigmoid"})]
    for functional in (False, True):
        k_model, r_model = build_pair(keras, spec, (T, 4), functional=functional)
        for lib, model in ((keras, k_model), (rnncore, r_model)):
            model.compile(lib.optimizers.SGD(0.5), "binary_crossentropy")
        x = rng.normal(size=(16, T, 4)).astype("float32")
        y = (x[:, 0, 0] > 0).astype("float32")
        for _ in range(2):
            assert rel_err(r_model.train_on_batch(x, y), k_model.train_on_batch(x, y)) < 1e-4
        for r_w, k_w in zip(r_model.get_weights(), k_model.get_weights()):
            assert rel_err(r_w, k_w) < 1e-4
        recurrent = [layer for layer in r_model.layers if layer.accepts_lookup
                     or isinstance(layer, rnncore.layers.Bidirectional)]
        assert not recurrent[0].input_grad_needed and recurrent[1].input_grad_needed
        assert recurrent[0].backward(np.ones((16, T, 5), np.float32)) is None


def test_a_layer_fed_by_data_in_one_model_still_passes_gradients_back_in_another(rng):
    # the same LSTM behind an Embedding in one model and straight on the data in another:
    # building the second must not stop the first from training its Embedding
    lstm, dense = rnncore.layers.LSTM(3), rnncore.layers.Dense(1, activation="sigmoid")
    ids_in = rnncore.Input(shape=(T,), dtype="int32")
    emb = rnncore.layers.Embedding(VOCAB, 4)
    with_embedding = rnncore.Model(ids_in, dense(lstm(emb(ids_in))))
    data_in = rnncore.Input(shape=(T, 4))
    rnncore.Model(data_in, dense(lstm(data_in)))  # lstm fed straight by data here
    with_embedding.compile(rnncore.optimizers.SGD(1.0), "binary_crossentropy")
    before = emb.get_weights()[0].copy()
    x, y = _data(rng, 16)
    with_embedding.train_on_batch(x, y)
    assert np.abs(emb.get_weights()[0] - before)[np.unique(x)].min() > 0


@pytest.mark.parametrize("metrics,weighted", [(["accuracy"], ["accuracy", "mse"]),
                                              (None, ["accuracy"]),
                                              (["mae"], ["mse", "mae"])])
def test_weighted_metrics_match_keras(keras, rng, metrics, weighted):
    # weighted_metrics take the sample weights (fit, validation_data, evaluate); metrics do
    # not; a weighted metric whose name a metric already has becomes weighted_<name>.
    keras.utils.set_random_seed(3)
    k_model, r_model = (lib.Sequential([lib.Input((5,)), lib.layers.Dense(1, "sigmoid")])
                        for lib in (keras, rnncore))
    r_model.set_weights(k_model.get_weights())
    for model, lib in ((k_model, keras), (r_model, rnncore)):
        model.compile(lib.optimizers.SGD(0.1), "binary_crossentropy", metrics=metrics,
                      weighted_metrics=weighted)
    x = rng.normal(size=(32, 5)).astype("float32")
    y = (rng.random(32) > 0.5).astype("float32")
    sw = rng.random(32).astype("float32")
    kwargs = dict(sample_weight=sw, batch_size=8, epochs=2, shuffle=False, verbose=0,
                  validation_data=(x, y, sw))
    k_hist = k_model.fit(x, y, **kwargs).history
    r_hist = r_model.fit(x, y, **kwargs).history
    assert sorted(r_hist) == sorted(k_hist)
    for key in k_hist:
        assert rel_err(r_hist[key], k_hist[key]) <= 1e-5, key
    for weights in (sw, None):
        k_eval = k_model.evaluate(x, y, sample_weight=weights, verbose=0, return_dict=True)
        r_eval = r_model.evaluate(x, y, sample_weight=weights, verbose=0, return_dict=True)
        assert sorted(r_eval) == sorted(k_eval)
        for key in k_eval:
            assert rel_err(r_eval[key], k_eval[key]) <= 1e-5, key


def test_weighted_metrics_survive_save_and_load(tmp_path, rng):
    model = rnncore.Sequential([rnncore.Input((5,)), rnncore.layers.Dense(1, "sigmoid")])
    model.compile("sgd", "binary_crossentropy", metrics=["accuracy"],
                  weighted_metrics=["accuracy"])
    x, y = rng.normal(size=(8, 5)), (rng.random(8) > 0.5).astype("float32")
    model.fit(x, y, sample_weight=rng.random(8), verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = rnncore.models.load_model(tmp_path / "m.keras")
    assert loaded.evaluate(x, y, verbose=0, return_dict=True) == model.evaluate(
        x, y, verbose=0, return_dict=True)
    assert [m.name for m in loaded.metrics] == ["loss", "accuracy", "weighted_accuracy"]
