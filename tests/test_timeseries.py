"""timeseries_dataset_from_array (Keras 3) and TimeseriesGenerator (Keras 2)."""
import numpy as np
import pytest

import rnncore
from rnncore.preprocessing.sequence import TimeseriesGenerator
from rnncore.utils import timeseries_dataset_from_array


def _keras_batches(keras, *args, **kwargs):
    return [tuple(np.asarray(t) for t in (b if isinstance(b, tuple) else (b,)))
            for b in keras.utils.timeseries_dataset_from_array(*args, **kwargs)]


@pytest.mark.parametrize("kwargs", [
    dict(sequence_length=5),
    dict(sequence_length=4, sequence_stride=3, sampling_rate=2, batch_size=7),
    dict(sequence_length=3, start_index=5, end_index=40, batch_size=8),
    dict(sequence_length=6, sampling_rate=3, sequence_stride=2, start_index=2, batch_size=5),
    dict(sequence_length=2, batch_size=None, end_index=12),
])
@pytest.mark.parametrize("with_targets", [True, False])
def test_windows_equal_keras(keras, rng, kwargs, with_targets):
    data = rng.normal(size=(50, 3)).astype("float32")
    targets = np.arange(50) * 10 if with_targets else None
    ours = [b if isinstance(b, tuple) else (b,)
            for b in timeseries_dataset_from_array(data, targets, **kwargs)]
    theirs = _keras_batches(keras, data, targets, **kwargs)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert len(a) == len(b)
        for u, v in zip(a, b):
            assert u.dtype == v.dtype
            np.testing.assert_array_equal(u.numpy(), v)


def test_indexing_len_take_and_numpy(rng):
    data = np.arange(20, dtype="float64")
    ds = timeseries_dataset_from_array(data, data * 2, sequence_length=4, batch_size=5)
    assert isinstance(ds, rnncore.utils.PyDataset) and len(ds) == 4  # 17 windows
    x, y = ds[3]
    assert type(x) is np.ndarray and x.shape == (2, 4)
    np.testing.assert_array_equal(x, [[15, 16, 17, 18], [16, 17, 18, 19]])
    np.testing.assert_array_equal(y, [30, 32])
    taken = ds.take(2)
    assert len(taken) == 2 and len(list(taken)) == 2
    for batch in ds.take(1):
        inputs, targets = batch
        assert inputs.numpy().shape == (5, 4) and type(inputs.numpy()) is np.ndarray
        np.testing.assert_array_equal(targets.numpy(), [0, 2, 4, 6, 8])
    with pytest.raises(IndexError, match="index=4"):
        ds[4]


def test_shuffle_keeps_keras_windows_and_is_seeded(keras, rng):
    data = rng.normal(size=(60, 2)).astype("float32")
    targets = np.arange(60)
    kw = dict(sequence_length=5, batch_size=4, shuffle=True, seed=7)
    ds = timeseries_dataset_from_array(data, targets, **kw)
    ours = np.concatenate([y for _, y in ds])
    theirs = np.concatenate([b[1] for b in _keras_batches(keras, data, targets, **kw)])
    assert sorted(ours) == sorted(theirs) == list(range(56))
    assert list(ours) != sorted(ours)
    for x, y in ds:  # each window still ends at the step before its target's
        np.testing.assert_array_equal(x.numpy()[:, 0], data[y.numpy()])
    again = timeseries_dataset_from_array(data, targets, **kw)
    np.testing.assert_array_equal(np.concatenate([y for _, y in again]), ours)


@pytest.mark.parametrize("kwargs, match", [
    (dict(sequence_length=0), "sequence_length=0"),
    (dict(sequence_length=3, sampling_rate=0), "sampling_rate=0"),
    (dict(sequence_length=3, sequence_stride=30), "sequence_stride=30"),
    (dict(sequence_length=3, start_index=-1), "start_index=-1"),
    (dict(sequence_length=3, start_index=5, end_index=4), "end_index=4"),
    (dict(sequence_length=3, end_index=30), "end_index=30"),
    (dict(sequence_length=3, batch_size=0), "batch_size=0"),
    (dict(sequence_length=2.5), "sequence_length=2.5"),
])
def test_bad_arguments_name_argument_and_value(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        timeseries_dataset_from_array(np.zeros((20, 1)), None, **kwargs)


def test_weather_style_lstm_fit_matches_keras(keras):
    # A Keras time-series tutorial in small: past 12 steps of 3 features -> the value 4 steps
    # after the window, a train and a validation dataset, LSTM -> Dense, Adam, mse.
    t = np.arange(400, dtype="float32")
    series = np.stack([np.sin(t / 10), np.cos(t / 7), np.sin(t / 23) * 0.5], axis=1)
    series = (series + np.random.default_rng(0).normal(0, 0.05, series.shape)).astype("float32")
    past, future, split = 12, 4, 300
    target = series[past + future:, 0]

    def datasets(lib):
        make = lib.utils.timeseries_dataset_from_array
        train = make(series[:split], target[:split], sequence_length=past, batch_size=32)
        val = make(series[split:-(past + future)], target[split:], sequence_length=past,
                   batch_size=32)
        return train, val

    histories, weights = [], None
    for lib in (keras, rnncore):
        train, val = datasets(lib)
        inputs = lib.Input((past, 3))
        outputs = lib.layers.Dense(1)(lib.layers.LSTM(8)(inputs))
        model = lib.Model(inputs, outputs)
        weights = model.get_weights() if weights is None else weights
        model.set_weights(weights)
        model.compile(optimizer=lib.optimizers.Adam(0.01), loss="mse")
        histories.append(model.fit(train, validation_data=val, epochs=3, verbose=0).history)
    k_hist, r_hist = histories
    assert sorted(r_hist) == sorted(k_hist) == ["loss", "val_loss"]
    for key in k_hist:
        np.testing.assert_allclose(r_hist[key], k_hist[key], rtol=1e-3, err_msg=key)


def test_fit_does_not_reshuffle_the_batches(monkeypatch):
    data = np.arange(40, dtype="float32").reshape(40, 1)
    ds = timeseries_dataset_from_array(data, data[:, 0], sequence_length=3, batch_size=4)
    model = rnncore.Sequential([rnncore.Input((3, 1)), rnncore.layers.SimpleRNN(2),
                                rnncore.layers.Dense(1)])
    model.compile("sgd", "mse")
    order, original = [], type(ds).__getitem__
    monkeypatch.setattr(type(ds), "__getitem__",
                        lambda self, i: (order.append(i), original(self, i))[1])
    model.fit(ds, epochs=2, verbose=0, shuffle=True)
    assert order == list(range(len(ds))) * 2


def test_timeseries_generator_documented_example():
    data = np.array([[i] for i in range(50)])
    targets = np.array([[i] for i in range(50)])
    gen = TimeseriesGenerator(data, targets, length=10, sampling_rate=2, batch_size=2)
    assert isinstance(gen, rnncore.utils.PyDataset) and len(gen) == 20
    x, y = gen[0]
    np.testing.assert_array_equal(x, [[[0], [2], [4], [6], [8]], [[1], [3], [5], [7], [9]]])
    np.testing.assert_array_equal(y, [[10], [11]])


def test_timeseries_generator_stride_bounds_reverse_and_shuffle():
    data = np.arange(30).reshape(30, 1)
    gen = TimeseriesGenerator(data, data[:, 0], length=4, stride=3, start_index=2,
                              end_index=20, reverse=True, batch_size=3)
    # current steps 6, 9, …, 18 (start_index + length up to end_index, 3 apart): 5 rows
    assert len(gen) == 2
    x, y = gen[0]
    np.testing.assert_array_equal(y, [6, 9, 12])
    np.testing.assert_array_equal(x[0, :, 0], [5, 4, 3, 2])
    x, y = gen[1]
    np.testing.assert_array_equal(y, [15, 18])
    shuffled = TimeseriesGenerator(data, data[:, 0], length=4, shuffle=True, batch_size=16)
    x, y = shuffled[0]
    assert x.shape == (16, 4, 1) and np.all((y >= 4) & (y <= 29))
    np.testing.assert_array_equal(x[:, -1, 0], y - 1)


@pytest.mark.parametrize("kwargs, match", [
    (dict(length=30), r"start_index\+length=30 > end_index=29"),
    (dict(length=0), "length=0"),
    (dict(length=3, stride=0), "stride=0"),
])
def test_timeseries_generator_bad_arguments(kwargs, match):
    data = np.zeros((30, 1))
    with pytest.raises(ValueError, match=match):
        TimeseriesGenerator(data, data, **kwargs)
    with pytest.raises(ValueError, match="same length"):
        TimeseriesGenerator(data, data[:5], length=3)
