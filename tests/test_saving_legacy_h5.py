"""Legacy HDF5 model files (``.h5``), as tf.keras/Keras 2 wrote them and the seeds'
``ModelCheckpoint("best-lstm-model.h5")`` produces them (issue 14)."""
import json

import numpy as np
import pytest

import rnncore

h5py = pytest.importorskip("h5py")


def _seed_lstm(lib):
    # seed 001: the tutorial's IMDB LSTM
    model = lib.Sequential()
    model.add(lib.layers.Embedding(500, 16, input_length=100))
    model.add(lib.layers.LSTM(8))
    model.add(lib.layers.Dense(1, activation="sigmoid"))
    model.compile(optimizer=lib.optimizers.RMSprop(learning_rate=1e-4),
                  loss="binary_crossentropy", metrics=["accuracy"])
    return model


def _imdb_like(rng, n):
    return rng.integers(0, 500, (n, 100)), rng.integers(0, 2, (n,)).astype("float32")


def _train_seed(lib, rng):
    model = _seed_lstm(lib)
    x, y = _imdb_like(rng, 192)
    vx, vy = _imdb_like(rng, 64)
    history = model.fit(x, y, epochs=2, batch_size=64, validation_data=[vx, vy], verbose=0,
                        callbacks=[lib.callbacks.ModelCheckpoint("best-lstm-model.h5"),
                                   lib.callbacks.EarlyStopping(patience=3,
                                                               restore_best_weights=True)])
    return model, history.history, vx, vy


def test_a_checkpoint_rnncore_wrote_predicts_the_same_in_keras(keras, rng, tmp_path,
                                                               monkeypatch):
    monkeypatch.chdir(tmp_path)
    model, history, vx, vy = _train_seed(rnncore, rng)
    with h5py.File("best-lstm-model.h5") as f:  # a real HDF5 file, in Keras's layout
        assert json.loads(f.attrs["model_config"])["class_name"] == "Sequential"
        assert [n.decode() for n in f["model_weights"].attrs["layer_names"]] == [
            layer.name for layer in model.layers]
    k_model = keras.models.load_model("best-lstm-model.h5")
    again = rnncore.models.load_model("best-lstm-model.h5")
    np.testing.assert_allclose(np.asarray(k_model.predict(vx, verbose=0)),
                               again.predict(vx, verbose=0), atol=1e-5)
    assert k_model.evaluate(vx, vy, verbose=0)[0] == pytest.approx(history["val_loss"][-1],
                                                                   rel=1e-5)
    assert int(k_model.optimizer.iterations.numpy()) == again.optimizer.iterations == 6


def test_a_checkpoint_keras_wrote_predicts_the_same_in_rnncore(keras, rng, tmp_path,
                                                               monkeypatch):
    monkeypatch.chdir(tmp_path)
    _, history, vx, vy = _train_seed(keras, rng)
    model = rnncore.models.load_model("best-lstm-model.h5")
    # (the trained model itself may hold the best epoch's weights: EarlyStopping restores them)
    k_model = keras.models.load_model("best-lstm-model.h5")
    np.testing.assert_allclose(model.predict(vx, verbose=0),
                               np.asarray(k_model.predict(vx, verbose=0)), atol=1e-5)
    assert model.evaluate(vx, vy, verbose=0)[0] == pytest.approx(history["val_loss"][-1],
                                                                 rel=1e-5)
    assert model.optimizer.get_config()["learning_rate"] == pytest.approx(1e-4)
    assert model.optimizer.iterations == 6
    # and it trains on from there
    x, y = _imdb_like(rng, 64)
    assert np.isfinite(model.fit(x, y, batch_size=64, verbose=0).history["loss"]).all()
    assert model.optimizer.iterations == 7


# ---- files as Keras 2 / tf.keras wrote them ---------------------------------------------------
_INIT = {"kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
         "recurrent_initializer": {"class_name": "Orthogonal",
                                   "config": {"gain": 1.0, "seed": None}},
         "bias_initializer": {"class_name": "Zeros", "config": {}}}


def _keras2_lstm(name, units, **extra):
    config = {"name": name, "trainable": True, "dtype": "float32", "return_sequences": False,
              "return_state": False, "go_backwards": False, "stateful": False, "unroll": False,
              "time_major": False, "units": units, "activation": "tanh",
              "recurrent_activation": "sigmoid", "use_bias": True, "unit_forget_bias": True,
              "kernel_regularizer": None, "recurrent_regularizer": None,
              "bias_regularizer": None, "activity_regularizer": None,
              "kernel_constraint": None, "recurrent_constraint": None,
              "bias_constraint": None, "dropout": 0.0, "recurrent_dropout": 0.0,
              "implementation": 0, **_INIT}
    config.update(extra)
    return {"class_name": "LSTM", "config": config}


def _keras2_dense(name, units, activation):
    return {"class_name": "Dense", "config": {
        "name": name, "trainable": True, "dtype": "float32", "units": units,
        "activation": activation, "use_bias": True, "kernel_regularizer": None,
        "bias_regularizer": None, "activity_regularizer": None, "kernel_constraint": None,
        "bias_constraint": None, **{k: v for k, v in _INIT.items() if k != "recurrent_initializer"}}}


def _write_keras2_file(path, config, layers, training_config=None, optimizer=None):
    """An .h5 file in tf.keras 2.x's layout: ':0'-suffixed weight names, bytes attributes."""
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = "2.9.0"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps(config)
        if training_config is not None:
            f.attrs["training_config"] = json.dumps(training_config)
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = np.array([name.encode() for name, _ in layers])
        g.attrs["backend"], g.attrs["keras_version"] = b"tensorflow", b"2.9.0"
        for name, weights in layers:
            lg = g.create_group(name)
            names = [w.encode() for w, _ in weights]
            lg.attrs["weight_names"] = np.array(names) if names else np.array([], "float64")
            for w, value in weights:
                lg.create_dataset(w, data=value)
        if optimizer is not None:
            og = f.create_group("optimizer_weights")
            og.attrs["weight_names"] = np.array([w.encode() for w, _ in optimizer])
            for w, value in optimizer:
                og.create_dataset(w, data=value)


def _reference(rng):
    L = rnncore.layers
    model = rnncore.Sequential([L.Input((7,), dtype="int32"), L.Embedding(30, 4, name="embedding"),
                                L.LSTM(5, name="lstm"), L.Dense(1, "sigmoid", name="dense")])
    x = rng.integers(0, 30, (6, 7))
    return model, x


def _keras2_weights(model):
    e, k, r, b, dk, db = model.get_weights()
    return [("embedding", [("embedding/embeddings:0", e)]),
            ("lstm", [("lstm/lstm_cell/kernel:0", k), ("lstm/lstm_cell/recurrent_kernel:0", r),
                      ("lstm/lstm_cell/bias:0", b)]),
            ("dense", [("dense/kernel:0", dk), ("dense/bias:0", db)])]


def test_a_keras_2_sequential_file_loads(rng, tmp_path):
    model, x = _reference(rng)
    config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 7],
                                                "dtype": "float32", "sparse": False,
                                                "ragged": False, "name": "embedding_input"}},
        {"class_name": "Embedding", "config": {
            "name": "embedding", "trainable": True, "batch_input_shape": [None, 7],
            "dtype": "float32", "input_dim": 30, "output_dim": 4,
            "embeddings_initializer": {"class_name": "RandomUniform",
                                       "config": {"minval": -0.05, "maxval": 0.05,
                                                  "seed": None}},
            "embeddings_regularizer": None, "activity_regularizer": None,
            "embeddings_constraint": None, "mask_zero": False, "input_length": 7}},
        _keras2_lstm("lstm", 5), _keras2_dense("dense", 1, "sigmoid")]}}
    training = {"loss": "binary_crossentropy", "loss_weights": None, "weighted_metrics": None,
                "metrics": [[{"class_name": "MeanMetricWrapper",
                              "config": {"name": "accuracy", "dtype": "float32",
                                         "fn": "binary_accuracy"}}]],
                "optimizer_config": {"class_name": "RMSprop", "config": {
                    "name": "RMSprop", "learning_rate": 1e-4, "decay": 0.0, "rho": 0.9,
                    "momentum": 0.0, "epsilon": 1e-07, "centered": False}}}
    # a Keras 2 optimizer keeps another state layout (iter, then one rms per weight)
    optimizer = [("RMSprop/iter:0", np.int64(12))] + [
        (f"RMSprop/w{i}/rms:0", np.zeros_like(w)) for i, w in enumerate(model.get_weights())]
    _write_keras2_file(tmp_path / "k2.h5", config, _keras2_weights(model), training, optimizer)
    with pytest.warns(UserWarning, match="optimizer starts afresh"):
        loaded = rnncore.models.load_model(tmp_path / "k2.h5")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-6)
    assert loaded.optimizer.get_config()["learning_rate"] == pytest.approx(1e-4)
    assert loaded.get_layer("lstm").get_config()["implementation"] == 2


def test_a_keras_2_functional_file_loads(rng, tmp_path):
    model, x = _reference(rng)
    node = lambda name: [[[name, 0, 0, {}]]]  # noqa: E731
    layers = [{"class_name": "InputLayer", "name": "tokens", "inbound_nodes": [],
               "config": {"batch_input_shape": [None, 7], "dtype": "int32", "sparse": False,
                          "ragged": False, "name": "tokens"}},
              {"class_name": "Embedding", "name": "embedding", "inbound_nodes": node("tokens"),
               "config": {"name": "embedding", "trainable": True, "dtype": "float32",
                          "input_dim": 30, "output_dim": 4, "input_length": 7,
                          "embeddings_initializer": {"class_name": "RandomUniform",
                                                     "config": {"minval": -0.05,
                                                                "maxval": 0.05, "seed": None}},
                          "mask_zero": False}},
              dict(_keras2_lstm("lstm", 5), name="lstm", inbound_nodes=node("embedding")),
              dict(_keras2_dense("dense", 1, "sigmoid"), name="dense",
                   inbound_nodes=node("lstm"))]
    config = {"class_name": "Model", "config": {"name": "model", "layers": layers,
                                                "input_layers": [["tokens", 0, 0]],
                                                "output_layers": [["dense", 0, 0]]}}
    weights = [("tokens", [])] + _keras2_weights(model)
    _write_keras2_file(tmp_path / "k2f.h5", config, weights)
    loaded = rnncore.models.load_model(tmp_path / "k2f.h5")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-6)


def test_a_keras_2_time_major_layer_is_refused_by_name(rng, tmp_path):
    model, _ = _reference(rng)
    config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 7, 4],
                                                "dtype": "float32", "name": "in"}},
        _keras2_lstm("lstm", 5, time_major=True), _keras2_dense("dense", 1, "sigmoid")]}}
    _write_keras2_file(tmp_path / "tm.h5", config, _keras2_weights(model)[1:])
    with pytest.raises(ValueError, match="'lstm' has time_major=True"):
        rnncore.models.load_model(tmp_path / "tm.h5")


def test_a_legacy_file_with_layers_missing_says_how_many(rng, tmp_path):
    model, _ = _reference(rng)
    model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "a") as f:
        f["model_weights"].attrs["layer_names"] = np.array([b"embedding", b"lstm"])
    with pytest.raises(ValueError, match=r"holds weights for 2 layers.*has 3 layers with weights"):
        rnncore.models.load_model(tmp_path / "m.h5")


def test_a_keras_2_weights_only_h5_loads_with_load_weights(rng, tmp_path):
    # tf.keras's model.save_weights("w.h5"): layer groups at the file's root
    model, x = _reference(rng)
    with h5py.File(tmp_path / "w.h5", "w") as f:
        f.attrs["layer_names"] = np.array([b"embedding", b"lstm", b"dense"])
        f.attrs["backend"], f.attrs["keras_version"] = b"tensorflow", b"2.9.0"
        for name, weights in _keras2_weights(model):
            group = f.create_group(name)
            group.attrs["weight_names"] = np.array([w.encode() for w, _ in weights])
            for w, value in weights:
                group.create_dataset(w, data=value)
    other, _ = _reference(rng)
    other.load_weights(tmp_path / "w.h5")
    np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))
    with pytest.raises(ValueError, match=r"w\.h5.*holds only weights.*load_weights"):
        rnncore.models.load_model(tmp_path / "w.h5")
