"""Time per training step of Keras's "addition" sequence-to-sequence example (LSTM encoder →
RepeatVector → LSTM decoder → TimeDistributed(Dense(softmax))) trained with ``fit`` in rnncore
and in Keras 3, on the same data, from equal weights.

    .venv/bin/python benchmarks/addition_seq2seq_fit.py [--backends tensorflow,jax]

Prints ms per step (median over the timed epochs) and the losses, which agree when the
libraries do. How it is measured (one process per engine, turns, warm-up epoch, OpenBLAS overrides
removed) and the ``--backends`` option: ``_fit_timing.py``.
"""
from _fit_timing import run

CHARS, DIGITS = "0123456789+ ", 3
MAXLEN = DIGITS + 1 + DIGITS
UNITS, SAMPLES, BATCH = 128, 4000, 32
TITLE = (f"addition seq2seq LSTM({UNITS})→RepeatVector({DIGITS + 1})→LSTM({UNITS}, "
         f"return_sequences)→TimeDistributed(Dense({len(CHARS)}, softmax)); x ({SAMPLES}, "
         f"{MAXLEN}, {len(CHARS)}), batch {BATCH}, Adam, categorical crossentropy, float32")


def _data():
    """Keras's addition_rnn data: "12+345 " → "357 ", one-hot, questions reversed."""
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.integers(0, 10 ** DIGITS, SAMPLES)
    b = rng.integers(0, 10 ** DIGITS, SAMPLES)

    def encode(texts, length):
        out = np.zeros((len(texts), length, len(CHARS)), np.float32)
        for n, text in enumerate(texts):
            for i, c in enumerate(text.ljust(length)):
                out[n, i, CHARS.index(c)] = 1
        return out

    x = encode([f"{i}+{j}" for i, j in zip(a, b)], MAXLEN)[:, ::-1]
    y = encode([str(i + j) for i, j in zip(a, b)], DIGITS + 1)
    return np.ascontiguousarray(x), y


def _model(lib, engine):
    L = lib.layers
    model = lib.Sequential([lib.Input(shape=(MAXLEN, len(CHARS))), L.LSTM(UNITS),
                            L.RepeatVector(DIGITS + 1), L.LSTM(UNITS, return_sequences=True),
                            L.TimeDistributed(L.Dense(len(CHARS), activation="softmax"))])
    model.compile(lib.optimizers.Adam(1e-3), "categorical_crossentropy", metrics=["accuracy"])
    return model


if __name__ == "__main__":
    run(__file__, __doc__, _data, _model, BATCH, TITLE)
