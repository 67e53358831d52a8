"""Time per training step of ``RNN(cell)`` over a user-defined cell, in rnncore and in
Keras 3, trained with ``fit`` on the same data from equal weights.

    .venv/bin/python benchmarks/custom_cell_fit.py [--backends tensorflow,jax]

The cell is a minimal gated unit (one forget gate) written with ``ops``, 16 units, on 3
features, 50 steps, batch 32, Adam(1e-3), mean squared error, float32. rnncore runs the
cell's ``call`` once per step on recorded ops and replays the record backward, so the
figure is Python's cost per op; Keras traces the step once into its graph. How it is
measured (one process per engine, turns, warm-up epoch, OpenBLAS overrides removed) and the
``--backends`` option: ``_fit_timing.py``.
"""
from _fit_timing import run

STEPS, FEATURES, UNITS, SAMPLES, BATCH = 50, 3, 16, 1024, 32
ENGINES = ("rnncore", "keras")
TITLE = (f"RNN(MinimalGatedCell({UNITS})) → Dense(1); x ({SAMPLES}, {STEPS}, {FEATURES}), "
         f"batch {BATCH}, Adam(1e-3), float32")


def _data():
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(SAMPLES, STEPS, FEATURES)).astype(np.float32)
    return x, x[:, -5:, 0].mean(axis=1, keepdims=True)


def _model(lib, engine):
    ops = lib.ops

    class MinimalGatedCell(lib.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = self.state_size = units

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], 2 * self.units),
                                          name="kernel")
            self.recurrent_kernel = self.add_weight(shape=(self.units, 2 * self.units),
                                                    initializer="orthogonal",
                                                    name="recurrent_kernel")
            self.bias = self.add_weight(shape=(2 * self.units,), initializer="zeros",
                                        name="bias")

        def call(self, inputs, states):
            h = states[0]
            x_f, x_h = ops.split(ops.matmul(inputs, self.kernel) + self.bias, 2, axis=-1)
            u_f, u_h = ops.split(self.recurrent_kernel, 2, axis=-1)
            f = ops.sigmoid(x_f + ops.matmul(h, u_f))
            h = (1.0 - f) * h + f * ops.tanh(x_h + ops.matmul(f * h, u_h))
            return h, [h]

    model = lib.Sequential([lib.Input((STEPS, FEATURES)),
                            lib.layers.RNN(MinimalGatedCell(UNITS)), lib.layers.Dense(1)])
    model.compile(lib.optimizers.Adam(1e-3), "mse")
    return model


if __name__ == "__main__":
    run(__file__, __doc__, _data, _model, BATCH, TITLE, ENGINES)
