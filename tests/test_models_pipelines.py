"""fit / evaluate / predict on data pipelines (generators, PyDataset, tf.data), epoch by epoch
as Keras reads them, with Keras's numbers from equal weights."""
import math
import warnings

import numpy as np
import pytest

import rnncore

N, T, F = 24, 5, 3


def _data(rng):
    x = rng.standard_normal((N, T, F)).astype("float32")
    y = rng.standard_normal((N, 1)).astype("float32")
    return x, y


def _pair(keras):
    models = []
    for lib in (keras, rnncore):
        model = lib.Sequential([lib.Input((T, F)), lib.layers.GRU(4), lib.layers.Dense(1)])
        model.compile(lib.optimizers.SGD(0.1), "mse", metrics=["mae"])
        models.append(model)
    models[1].set_weights(models[0].get_weights())
    return models


def _batches(x, y, size=8):
    return [(x[i:i + size], y[i:i + size]) for i in range(0, len(x), size)]


def _generator(x, y, size=8, forever=False):
    while True:
        yield from _batches(x, y, size)
        if not forever:
            return


def _py_dataset(lib, x, y, size=8):
    class Batches(lib.utils.PyDataset):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.epochs_ended = 0

        def __len__(self):
            return math.ceil(len(x) / size)

        def __getitem__(self, i):
            return x[i * size:(i + 1) * size], y[i * size:(i + 1) * size]

        def on_epoch_end(self):
            self.epochs_ended += 1

    return Batches()


def _fit_both(keras, make_data, **kwargs):
    histories = []
    for model, lib in zip(_pair(keras), (keras, rnncore)):
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            history = model.fit(make_data(lib), verbose=0, **kwargs)
        histories.append((history.history, sorted({str(w.message)[:30] for w in seen})))
    return histories


def _assert_same_history(k, r):
    assert sorted(r) == sorted(k)
    for key in k:
        np.testing.assert_allclose(r[key], k[key], rtol=2e-5, err_msg=key)


@pytest.mark.parametrize("steps_per_epoch, epochs", [(None, 3), (2, 4), (3, 2)])
def test_finite_generator_epochs_as_keras(keras, rng, steps_per_epoch, epochs):
    # Keras reads a generator once and replays the two batches it peeked at in later epochs
    x, y = _data(rng)
    (k_hist, k_warn), (r_hist, r_warn) = _fit_both(
        keras, lambda lib: _generator(x, y), epochs=epochs, steps_per_epoch=steps_per_epoch)
    _assert_same_history(k_hist, r_hist)
    assert r_warn == k_warn  # "shuffle=True ... ignored", "ran out of data"


def test_endless_generator_with_validation_steps_as_keras(keras, rng):
    x, y = _data(rng)
    xv, yv = x[::-1].copy(), y[::-1].copy()
    histories = []
    for model in _pair(keras):
        history = model.fit(_generator(x, y, 5, forever=True), steps_per_epoch=3, epochs=3,
                            validation_data=_generator(xv, yv, 6, forever=True),
                            validation_steps=2, verbose=0, shuffle=False)
        histories.append(history.history)
    _assert_same_history(*histories)


def test_py_dataset_as_keras(keras, rng):
    x, y = _data(rng)
    datasets = {}

    def make(lib):
        datasets[lib] = _py_dataset(lib, x, y)
        return datasets[lib]

    (k_hist, _), (r_hist, _) = _fit_both(keras, make, epochs=3, shuffle=False,
                                         validation_data=(x[:10], y[:10]))
    _assert_same_history(k_hist, r_hist)
    # Keras ends an epoch once more before the first (resetting its iterator)
    assert datasets[rnncore].epochs_ended == datasets[keras].epochs_ended == 4


def test_py_dataset_shuffle_visits_every_batch_once_per_epoch(rng):
    x, y = _data(rng)
    seen = []

    class Recording(rnncore.utils.PyDataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            seen.append(i)
            return x[i * 8:(i + 1) * 8], y[i * 8:(i + 1) * 8]

    model = _pair_rnncore()
    model.fit(Recording(), epochs=4, verbose=0)  # shuffle=True by default
    assert [sorted(seen[i:i + 3]) for i in range(0, 12, 3)] == [[0, 1, 2]] * 4
    assert seen != [0, 1, 2] * 4  # the order was drawn anew


def _pair_rnncore():
    model = rnncore.Sequential([rnncore.Input((T, F)), rnncore.layers.GRU(4),
                                rnncore.layers.Dense(1)])
    model.compile(rnncore.optimizers.SGD(0.1), "mse")
    return model


@pytest.mark.parametrize("repeat", [False, True])
def test_tf_dataset_as_keras(keras, tf, rng, repeat):
    x, y = _data(rng)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(7).prefetch(2)
    kwargs = {"epochs": 3}
    if repeat:
        ds, kwargs["steps_per_epoch"] = ds.repeat(), 5
    val = tf.data.Dataset.from_tensor_slices((x[:9], y[:9])).batch(4)
    (k_hist, _), (r_hist, _) = _fit_both(keras, lambda lib: ds, validation_data=val, **kwargs)
    _assert_same_history(k_hist, r_hist)


def test_evaluate_and_predict_on_pipelines_as_keras(keras, tf, rng):
    x, y = _data(rng)
    k_model, r_model = _pair(keras)
    for make in (lambda lib: _generator(x, y), lambda lib: _py_dataset(lib, x, y),
                 lambda lib: tf.data.Dataset.from_tensor_slices((x, y)).batch(5)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            np.testing.assert_allclose(r_model.evaluate(make(rnncore), verbose=0),
                                       k_model.evaluate(make(keras), verbose=0), rtol=1e-5)
            np.testing.assert_allclose(r_model.predict(make(rnncore), verbose=0),
                                       k_model.predict(make(keras), verbose=0), atol=1e-6)
    inputs_only = tf.data.Dataset.from_tensor_slices(x).batch(5)
    np.testing.assert_allclose(r_model.predict(inputs_only, verbose=0),
                               k_model.predict(inputs_only, verbose=0), atol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert r_model.predict(_generator(x, y, 5, forever=True), steps=2,
                               verbose=0).shape == (10, 1)


def test_sample_and_class_weights_from_pipelines(keras, rng):
    x, y = _data(rng)
    sw = rng.random(N).astype("float32")
    labels = (y > 0).astype("float32")
    histories = []
    for lib in (keras, rnncore):
        model = lib.Sequential([lib.Input((T, F)), lib.layers.LSTM(3),
                                lib.layers.Dense(1, activation="sigmoid")])
        model.compile(lib.optimizers.SGD(0.1), "binary_crossentropy")
        if histories:
            model.set_weights(weights)
        weights = model.get_weights()
        batches = [(x[i:i + 8], labels[i:i + 8], sw[i:i + 8]) for i in range(0, N, 8)]
        h1 = model.fit((b for b in batches * 2), steps_per_epoch=3, epochs=2, verbose=0,
                       shuffle=False).history
        h2 = model.fit(_py_dataset(lib, x, labels), epochs=2, verbose=0, shuffle=False,
                       class_weight={0: 0.3, 1: 2.0}).history
        histories.append((h1, h2))
    for k, r in zip(*histories):
        _assert_same_history(k, r)


@pytest.mark.parametrize("kwargs, match", [
    ({"y": np.zeros(3)}, r"`y` should not be passed"),
    ({"sample_weight": np.ones(3)}, r"`sample_weight` should not be passed"),
    ({"validation_split": 0.2}, r"`validation_split` is only supported for NumPy arrays"),
    ({"batch_size": 8}, r"`batch_size` should not be passed"),
    ({"class_weight": {0: 1.0}}, r"`class_weight` is not supported for Python generator"),
    ({"steps_per_epoch": 0}, r"steps_per_epoch must be None or a positive integer, got 0"),
    ({"validation_steps": 1.5}, r"validation_steps must be None or a positive integer"),
])
def test_pipeline_argument_errors(rng, kwargs, match):
    x, y = _data(rng)
    with pytest.raises(ValueError, match=match):
        _pair_rnncore().fit(_generator(x, y), verbose=0, **kwargs)


@pytest.mark.parametrize("source, match", [
    (lambda x, y: iter([]), r"must yield at least one batch"),
    (lambda x, y: iter([x[:4]]), r"must return a tuple"),
    (lambda x, y: iter([(x[:4], y[:4], y[:4], y[:4])]), r"must give tuples"),
    (lambda x, y: iter([(x[:4], None)]), r"y \(the targets\) must be given"),
    (lambda x, y: iter([(x[:4, :, :2], y[:4])]), r"expected \(None, 5, 3\)"),
])
def test_bad_batches_are_named(rng, source, match):
    x, y = _data(rng)
    with pytest.raises(ValueError, match=match):
        _pair_rnncore().fit(source(x, y), verbose=0, shuffle=False)


def test_steps_per_epoch_with_arrays_as_keras(keras, rng):
    # Keras then cuts the data into steps_per_epoch batches and carries on across epochs
    x, y = _data(rng)
    histories = []
    for model in _pair(keras):
        histories.append(model.fit(x, y, steps_per_epoch=4, epochs=3, shuffle=False,
                                   verbose=0).history)
    _assert_same_history(*histories)
