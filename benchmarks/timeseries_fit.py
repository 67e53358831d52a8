"""Time per training step of the Keras weather-forecasting example's model, LSTM(32) on
windows of a multivariate series, in rnncore and in Keras 3, trained with ``fit`` from equal
weights.

    .venv/bin/python benchmarks/timeseries_fit.py [--backends tensorflow,jax]

The windows are made with ``rnncore.utils.timeseries_dataset_from_array`` (the same windows as
Keras's, tested in tests/test_timeseries.py) from a synthetic 7-feature series: 120 past
steps (one every 6 rows) predict the first feature 72 rows ahead. Input((120, 7)) →
LSTM(32) → Dense(1), Adam(1e-3), mse, batch 256, float32. How it is measured (one process
per engine, turns, warm-up epoch, OpenBLAS overrides removed) and the ``--backends`` option:
``_fit_timing.py``.
"""
from _fit_timing import run

ROWS, FEATURES, PAST, RATE, AHEAD, BATCH = 24000, 7, 720, 6, 72, 256
TITLE = (f"Input(({PAST // RATE}, {FEATURES})) → LSTM(32) → Dense(1); windows of {ROWS} rows, "
         f"batch {BATCH}, Adam(1e-3), mse, float32")


def _data():
    import numpy as np

    import rnncore

    t = np.arange(ROWS + PAST + AHEAD, dtype=np.float32)
    rng = np.random.default_rng(0)
    series = np.stack([np.sin(t / (50 + 13 * k)) + 0.1 * rng.standard_normal(t.size)
                       for k in range(FEATURES)], axis=1).astype(np.float32)
    ds = rnncore.utils.timeseries_dataset_from_array(
        series[:-(PAST + AHEAD)], series[PAST + AHEAD:, 0], sequence_length=PAST // RATE,
        sampling_rate=RATE, batch_size=BATCH)
    xs, ys = zip(*(ds[i] for i in range(len(ds))))
    return np.concatenate(xs), np.concatenate(ys)[:, None]


def _model(lib, engine):
    inputs = lib.Input(shape=(PAST // RATE, FEATURES))
    model = lib.Model(inputs, lib.layers.Dense(1)(lib.layers.LSTM(32)(inputs)))
    model.compile(lib.optimizers.Adam(1e-3), "mse")
    return model


if __name__ == "__main__":
    run(__file__, __doc__, _data, _model, BATCH, TITLE)
