"""The seeds' programs (../shared/seeds/), with only the Keras import swapped for rnncore.

The IMDB file is not downloaded: each test writes a small synthetic corpus in Keras's
``imdb.npz`` format into a private KERAS_HOME, so ``imdb.load_data(...)`` runs as written.
Epochs and sizes are cut down; the code is otherwise the seeds' own.
"""
import os

import numpy as np
import pytest

import rnncore

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")


@pytest.fixture
def imdb_home(tmp_path, monkeypatch):
    """A KERAS_HOME whose datasets/imdb.npz is a small IMDB-shaped synthetic corpus."""
    from rnncore.datasets import synthetic_reviews

    (x_train, y_train), (x_test, y_test) = synthetic_reviews.load_data(
        num_words=None, num_train=320, num_test=160, seed=3)

    def raw(seqs):
        # imdb.npz stores raw word ranks; load_data adds start_char/index_from itself
        return np.array([[w - 3 for w in s[1:]] for s in seqs], dtype=object)

    os.makedirs(tmp_path / "datasets")
    np.savez(tmp_path / "datasets" / "imdb.npz", x_train=raw(x_train), y_train=y_train,
             x_test=raw(x_test), y_test=y_test)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_seed_000_concat_mean_and_stacked(imdb_home):
    from rnncore import layers, models
    from rnncore.datasets import imdb
    from rnncore.preprocessing import sequence
    from rnncore.utils import to_categorical
    from rnncore.optimizers import RMSprop

    max_features = 10000
    (x_train, y_train), (x_test, y_test) = imdb.load_data(num_words=max_features)
    max_len = 100
    x_train = sequence.pad_sequences(x_train, maxlen=max_len)
    x_test = sequence.pad_sequences(x_test, maxlen=max_len)
    y_train_one_hot = to_categorical(y_train)
    y_test_one_hot = to_categorical(y_test)

    # concat
    model = models.Sequential()
    model.add(layers.Embedding(max_features, 64, input_length=max_len))
    model.add(layers.SimpleRNN(32, return_sequences=True))
    model.add(layers.Flatten())
    model.add(layers.Dense(16, activation='tanh'))
    model.add(layers.Dense(2, activation='softmax'))
    model.summary()
    model.compile(optimizer=RMSprop(learning_rate=0.001), loss='binary_crossentropy',
                  metrics=['acc'])
    history = model.fit(x_train, y_train_one_hot, epochs=2, batch_size=64,
                        validation_split=0.2, verbose=0)
    assert set(history.history) == {"loss", "acc", "val_loss", "val_acc"}
    assert len(history.history["val_acc"]) == 2
    test_loss, test_acc = model.evaluate(x_test, y_test_one_hot, verbose=0)
    assert 0 <= test_acc <= 1 and np.isfinite(test_loss)

    # mean of all hidden states (the seed's Lambda(reduce_mean) is GlobalAveragePooling1D)
    from rnncore.layers import Input, Embedding, SimpleRNN, Dense, GlobalAveragePooling1D
    from rnncore.models import Model
    main_input = Input(shape=(max_len,), dtype='int32')
    x = Embedding(output_dim=64, input_dim=max_features, input_length=max_len)(main_input)
    RNN_out = SimpleRNN(32, return_sequences=True)(x)
    out = GlobalAveragePooling1D()(RNN_out)
    x = Dense(16, activation='relu')(out)
    main_output = Dense(2, activation='softmax')(x)
    model = Model(inputs=main_input, outputs=main_output)
    model.summary()
    model.compile(optimizer=RMSprop(learning_rate=0.001), loss='binary_crossentropy',
                  metrics=['acc'])
    history = model.fit(x_train, y_train_one_hot, epochs=1, batch_size=64,
                        validation_split=0.2, verbose=0)
    assert np.isfinite(history.history["val_loss"][0])

    # stacked
    model = models.Sequential()
    model.add(layers.Embedding(max_features, 64))
    model.add(layers.SimpleRNN(64, return_sequences=True))
    model.add(layers.SimpleRNN(32))
    model.add(layers.Dense(2, activation='softmax'))
    model.compile(optimizer=RMSprop(learning_rate=0.001), loss='binary_crossentropy',
                  metrics=['acc'])
    model.fit(x_train, y_train_one_hot, epochs=1, batch_size=64, validation_split=0.2,
              verbose=0)
    model.summary()
    assert model.count_params() == 10000 * 64 + (64 * 64 + 64 * 64 + 64) + \
        (64 * 32 + 32 * 32 + 32) + (32 * 2 + 2)


@pytest.mark.parametrize("variant", ["lstm", "dropout", "stacked", "gru"])
def test_seed_001_lstm_gru_checkpoint_early_stopping(imdb_home, variant):
    import rnncore as keras
    from rnncore.datasets import imdb
    from rnncore.preprocessing.sequence import pad_sequences
    from sklearn.model_selection import train_test_split
    import matplotlib.pyplot as plt

    (train_input, train_target), (test_input, test_target) = imdb.load_data(num_words=500)
    train_input, val_input, train_target, val_target = train_test_split(
        train_input, train_target, test_size=0.2, random_state=42)
    train_seq = pad_sequences(train_input, maxlen=100)
    val_seq = pad_sequences(val_input, maxlen=100)

    model = keras.Sequential()
    model.add(keras.layers.Embedding(500, 16, input_length=100))
    if variant == "lstm":
        model.add(keras.layers.LSTM(8))
    elif variant == "dropout":
        model.add(keras.layers.LSTM(8, dropout=0.3))
    elif variant == "stacked":
        model.add(keras.layers.LSTM(8, dropout=0.3, return_sequences=True))
        model.add(keras.layers.LSTM(8, dropout=0.3))
    else:
        model.add(keras.layers.GRU(8))
    model.add(keras.layers.Dense(1, activation='sigmoid'))
    rmsprop = keras.optimizers.RMSprop(learning_rate=1e-4)
    model.compile(optimizer=rmsprop, loss='binary_crossentropy', metrics=['accuracy'])
    checkpoint_cb = keras.callbacks.ModelCheckpoint(f'best-{variant}-model.h5')
    early_stopping_cb = keras.callbacks.EarlyStopping(patience=3, restore_best_weights=True)
    history = model.fit(train_seq, train_target, epochs=3, batch_size=64,
                        validation_data=[val_seq, val_target],
                        callbacks=[checkpoint_cb, early_stopping_cb], verbose=0)
    plt.plot(history.history['loss'])
    plt.plot(history.history['val_loss'])
    plt.close()
    assert len(history.history['val_loss']) == 3
    # EarlyStopping(restore_best_weights=True) leaves the best epoch's weights in the model
    val_loss, val_acc = model.evaluate(val_seq, val_target, verbose=0)
    assert val_loss == pytest.approx(min(history.history['val_loss']), rel=1e-5)
    # the checkpoint holds the last epoch's model, and it loads
    saved = keras.models.load_model(f'best-{variant}-model.h5')
    assert saved.evaluate(val_seq, val_target, verbose=0)[0] == pytest.approx(
        history.history['val_loss'][-1], rel=1e-5)


def test_seed_002_stacked_simple_rnn_summary(capsys):
    from rnncore.models import Sequential
    from rnncore.layers import SimpleRNN, Dense

    input_shape = (None, 10)
    num_layers = 3
    num_units = 50
    num_classes = 4
    model = Sequential()
    model.add(SimpleRNN(num_units, return_sequences=True, input_shape=input_shape))
    for _ in range(num_layers - 2):
        model.add(SimpleRNN(num_units, return_sequences=True))
    model.add(SimpleRNN(num_units))
    model.add(Dense(num_classes, activation='softmax'))
    model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
    model.summary()
    out = capsys.readouterr().out
    assert "(None, None, 50)" in out and "(None, 4)" in out
    first, later = 10 * 50 + 50 * 50 + 50, 50 * 50 + 50 * 50 + 50
    assert f"Total params: {first + 2 * later + 50 * 4 + 4:,}" in out
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 15, 10)).astype("float32")
    y = np.eye(num_classes)[rng.integers(0, num_classes, 64)]
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert history.history["loss"][1] < history.history["loss"][0]


def test_seed_004_keras_part_learns():
    from rnncore.models import Sequential
    from rnncore.layers import Dense, SimpleRNN, Embedding

    rng = np.random.default_rng(0)
    ids = rng.integers(0, 100, size=(400, 100))
    y = (np.isin(ids[:, :30], np.arange(10)).sum(axis=1) > 3).astype("float32")
    x_onehot = np.eye(100, dtype="float32")[ids]
    x_train_onehot, x_val_onehot = x_onehot[:320], x_onehot[320:]
    y_train, y_val = y[:320], y[320:]
    model = Sequential()
    model.add(SimpleRNN(32, input_shape=(100, 100)))
    model.add(Dense(1, activation='sigmoid'))
    model.summary()
    model.compile(optimizer='sgd', loss='binary_crossentropy', metrics=['accuracy'])
    history = model.fit(x_train_onehot, y_train, epochs=3, batch_size=32,
                        validation_data=(x_val_onehot, y_val), verbose=0)
    assert sorted(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    model_ebd = Sequential()
    model_ebd.add(Embedding(1000, 32))
    model_ebd.add(SimpleRNN(8))
    model_ebd.add(Dense(1, activation='sigmoid'))
    model_ebd.compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy'])
    model_ebd.fit(ids[:320], y_train, epochs=1, batch_size=32, verbose=0)
    model_ebd.summary()
    assert model_ebd.count_params() == 1000 * 32 + 32 * 8 + 8 * 8 + 8 + 9


def test_seed_000_mean_with_its_tensorflow_lambda_trains_like_keras(keras, tf):
    """Seed 000's mean model as written: Lambda(lambda x: tf.math.reduce_mean(x, axis=1))."""
    from _parity import rel_err

    def build(lib):
        from_layers = lib.layers
        main_input = from_layers.Input(shape=(20,), dtype='int32')
        x = from_layers.Embedding(output_dim=8, input_dim=50)(main_input)
        RNN_out = from_layers.SimpleRNN(6, return_sequences=True)(x)
        out = from_layers.Lambda(lambda x: tf.math.reduce_mean(x, axis=1))(RNN_out)
        x = from_layers.Dense(5, activation='relu')(out)
        main_output = from_layers.Dense(2, activation='softmax')(x)
        return lib.Model(inputs=main_input, outputs=main_output)

    k_model, r_model = build(keras), build(rnncore)
    r_model.set_weights(k_model.get_weights())
    rng = np.random.default_rng(0)
    x = rng.integers(0, 50, size=(32, 20))
    y = np.eye(2, dtype="float32")[rng.integers(0, 2, 32)]
    np.testing.assert_allclose(r_model.predict(x, verbose=0), k_model.predict(x, verbose=0),
                               atol=1e-5)
    for model, lib in ((k_model, keras), (r_model, rnncore)):
        model.compile(optimizer=lib.optimizers.RMSprop(learning_rate=0.01),
                      loss='binary_crossentropy', metrics=['acc'])
    for _ in range(3):
        k_loss, _ = k_model.train_on_batch(x, y)
        r_loss, _ = r_model.train_on_batch(x, y)
        assert rel_err(r_loss, k_loss) < 1e-3
    for r_w, k_w in zip(r_model.get_weights(), k_model.get_weights()):
        assert rel_err(r_w, k_w) < 1e-3


def test_a_numpy_lambda_is_recorded_and_trains_as_global_average_pooling(rng):
    # x.mean on the recorded tensor is rnncore.ops.mean: the Lambda trains
    x, y = rng.normal(size=(8, 6, 3)).astype("float32"), rng.normal(size=8).astype("float32")
    losses = []
    for pool in (lambda: rnncore.layers.Lambda(lambda x: x.mean(axis=1)),
                 rnncore.layers.GlobalAveragePooling1D):
        rnncore.utils.set_random_seed(5)
        inp = rnncore.Input(shape=(6, 3))
        model = rnncore.Model(inp, rnncore.layers.Dense(1)(pool()(inp)))
        model.compile("sgd", "mse")
        losses.append(model.fit(x, y, epochs=3, verbose=0).history["loss"])
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-6)


def test_a_lambda_numpy_cannot_record_predicts_and_refuses_to_train():
    inp = rnncore.Input(shape=(6, 3))
    out = rnncore.layers.Lambda(lambda x: np.sort(x, axis=1)[:, -1])(inp)
    model = rnncore.Model(inp, rnncore.layers.Dense(1)(out))
    assert model.predict(np.ones((4, 6, 3)), verbose=0).shape == (4, 1)
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="cannot differentiate"):
        model.fit(np.ones((4, 6, 3)), np.zeros(4), verbose=0)
