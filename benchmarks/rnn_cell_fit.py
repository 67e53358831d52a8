"""Time per training step of ``RNN(LSTMCell(64))`` against ``LSTM(64)``, in rnncore and in
Keras 3, trained with ``fit`` on the same data from equal weights.

    .venv/bin/python benchmarks/rnn_cell_fit.py [--backends tensorflow,jax]

The model is the seeds' size "64": Embedding(10000, 64) → recurrent(64) → Dense(1, sigmoid),
100 steps, batch 64, RMSprop(1e-4), binary crossentropy, float32. rnncore's RNN(LSTMCell)
runs the LSTM layer's fused kernel, so its two rows should match; Keras's RNN over a cell
runs a generic loop. Prints ms per step (median over the timed epochs) and the losses, equal
where the models are. How it is measured (one process per engine, turns, warm-up epoch, OpenBLAS overrides
removed) and the ``--backends`` option: ``_fit_timing.py``.
"""
from _fit_timing import run

STEPS, VOCAB, UNITS, SAMPLES, BATCH = 100, 10000, 64, 1024, 64
ENGINES = ("rnncore RNN(LSTMCell)", "rnncore LSTM", "keras RNN(LSTMCell)", "keras LSTM")
TITLE = (f"Embedding({VOCAB}, 64) → recurrent({UNITS}) → Dense(1); x ({SAMPLES}, {STEPS}), "
         f"batch {BATCH}, RMSprop(1e-4), float32")


def _data():
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.integers(1, VOCAB, (SAMPLES, STEPS)).astype(np.int32)
    y = (x[:, -10:].mean(axis=1) > VOCAB / 2).astype(np.float32)
    return x, y


def _model(lib, engine):
    # the shared weights come from the "rnncore" model, an LSTM layer
    recurrent = (lib.layers.RNN(lib.layers.LSTMCell(UNITS)) if "Cell" in engine
                 else lib.layers.LSTM(UNITS))
    model = lib.Sequential([lib.Input(shape=(STEPS,), dtype="int32"),
                            lib.layers.Embedding(VOCAB, 64), recurrent,
                            lib.layers.Dense(1, activation="sigmoid")])
    model.compile(lib.optimizers.RMSprop(1e-4), "binary_crossentropy")
    return model


if __name__ == "__main__":
    run(__file__, __doc__, _data, _model, BATCH, TITLE, ENGINES)
