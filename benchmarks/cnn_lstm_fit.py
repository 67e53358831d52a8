"""Time per training step of a CNN-LSTM (Conv1D → MaxPooling1D → LSTM → Dense) trained with
``fit`` in rnncore and in Keras 3, on the same data, from equal weights.

    .venv/bin/python benchmarks/cnn_lstm_fit.py [--backends tensorflow,jax]

Prints ms per step (median over the timed epochs) and the losses, which agree when the
libraries do. How it is measured (one process per engine, turns, warm-up epoch, OpenBLAS overrides
removed) and the ``--backends`` option: ``_fit_timing.py``.
"""
from _fit_timing import run

STEPS, FEATURES, SAMPLES, BATCH = 100, 8, 2048, 64
TITLE = (f"CNN-LSTM Conv1D(32,5,same)→MaxPooling1D(2)→LSTM(32)→Dense(1); x ({SAMPLES}, "
         f"{STEPS}, {FEATURES}), batch {BATCH}, RMSprop, float32")


def _data():
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.standard_normal((SAMPLES, STEPS, FEATURES)).astype(np.float32) * 0.5
    y = (rng.random(SAMPLES) < 0.5).astype(np.float32)
    where = rng.integers(0, STEPS - 5, SAMPLES)
    for i in np.flatnonzero(y):
        x[i, where[i]:where[i] + 5, 0] += 1.5
    return x, y


def _model(lib, engine):
    model = lib.Sequential([lib.Input(shape=(STEPS, FEATURES)),
                            lib.layers.Conv1D(32, 5, padding="same", activation="relu"),
                            lib.layers.MaxPooling1D(2),
                            lib.layers.LSTM(32),
                            lib.layers.Dense(1, activation="sigmoid")])
    model.compile(lib.optimizers.RMSprop(1e-3), "binary_crossentropy")
    return model


if __name__ == "__main__":
    run(__file__, __doc__, _data, _model, BATCH, TITLE)
