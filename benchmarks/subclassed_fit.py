"""Time per training step of a subclassed model against the same model written functionally,
in rnncore and in Keras 3, trained with ``fit`` on the same data from equal weights.

    .venv/bin/python benchmarks/subclassed_fit.py [--backends tensorflow,jax]

The model is the seeds' size "64": Embedding(10000, 64) → LSTM(64) → Dense(1, sigmoid), 100
steps, batch 64, RMSprop(1e-4), binary crossentropy, float32; once as a Sequential and once
as a ``Model`` subclass whose ``call`` chains the same three layers. rnncore trains the
subclassed model by recording its call (three nodes, each a built-in layer's fused forward
and backward), the Sequential by its graph walk: the rows say what the record costs. How it
is measured (one process per engine, turns, warm-up epoch, OpenBLAS overrides removed) and
the ``--backends`` option: ``_fit_timing.py``.
"""
from _fit_timing import run

STEPS, VOCAB, UNITS, SAMPLES, BATCH = 100, 10000, 64, 1024, 64
ENGINES = ("rnncore functional", "rnncore subclassed", "keras functional", "keras subclassed")
TITLE = (f"Embedding({VOCAB}, 64) → LSTM({UNITS}) → Dense(1); x ({SAMPLES}, {STEPS}), "
         f"batch {BATCH}, RMSprop(1e-4), float32")


def _data():
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.integers(1, VOCAB, (SAMPLES, STEPS)).astype(np.int32)
    y = (x[:, -10:].mean(axis=1) > VOCAB / 2).astype(np.float32)
    return x, y


def _model(lib, engine):
    import numpy as np

    if "subclassed" in engine:
        class Classifier(lib.Model):
            def __init__(self):
                super().__init__()
                self.embedding = lib.layers.Embedding(VOCAB, 64)
                self.lstm = lib.layers.LSTM(UNITS)
                self.out = lib.layers.Dense(1, activation="sigmoid")

            def call(self, inputs):
                return self.out(self.lstm(self.embedding(inputs)))

        model = Classifier()
        model(np.zeros((1, STEPS), np.int32))  # built, so that the shared weights load
    else:
        model = lib.Sequential([lib.Input(shape=(STEPS,), dtype="int32"),
                                lib.layers.Embedding(VOCAB, 64), lib.layers.LSTM(UNITS),
                                lib.layers.Dense(1, activation="sigmoid")])
    model.compile(lib.optimizers.RMSprop(1e-4), "binary_crossentropy")
    return model


if __name__ == "__main__":
    run(__file__, __doc__, _data, _model, BATCH, TITLE, ENGINES)
