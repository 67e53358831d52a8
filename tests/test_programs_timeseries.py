"""TensorFlow's "Time series forecasting" tutorial run with rnncore as with Keras: the
autoregressive FeedBack model warms up with RNN(LSTMCell, return_state=True) and then steps
the same LSTMCell itself in a Python loop, so one cell's weights take gradients from the RNN
and from the direct steps of one call."""
import numpy as np

import rnncore

FEATURES, OUT_STEPS = 3, 4


def _feedback(lib):
    class FeedBack(lib.Model):
        def __init__(self, units, out_steps):
            super().__init__()
            self.out_steps = out_steps
            self.lstm_cell = lib.layers.LSTMCell(units)
            self.lstm_rnn = lib.layers.RNN(self.lstm_cell, return_state=True)
            self.dense = lib.layers.Dense(FEATURES)

        def warmup(self, inputs):
            x, *state = self.lstm_rnn(inputs)
            return self.dense(x), state

        def call(self, inputs, training=None):
            prediction, state = self.warmup(inputs)
            predictions = [prediction]
            for _ in range(1, self.out_steps):
                x, state = self.lstm_cell(prediction, states=state, training=training)
                prediction = self.dense(x)
                predictions.append(prediction)
            return lib.ops.transpose(lib.ops.stack(predictions), [1, 0, 2])

    return FeedBack(6, OUT_STEPS)


def test_feedback_model_trains_to_kerass_numbers(keras, rng):
    x = rng.standard_normal((32, 8, FEATURES)).astype("float32")
    y = rng.standard_normal((32, OUT_STEPS, FEATURES)).astype("float32")
    results = []
    for lib in (keras, rnncore):
        model = _feedback(lib)
        model(x[:1])
        if lib is rnncore:
            model.set_weights(weights)
        weights = model.get_weights()
        model.compile(loss=lib.losses.MeanSquaredError(), optimizer=lib.optimizers.Adam(0.01),
                      metrics=[lib.metrics.MeanAbsoluteError()])
        history = model.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0)
        results.append((history.history, model.get_weights()))
    (k_hist, k_w), (r_hist, r_w) = results
    for key in k_hist:
        np.testing.assert_allclose(r_hist[key], k_hist[key], rtol=1e-4)
    for r, k in zip(r_w, k_w):
        np.testing.assert_allclose(r, k, atol=1e-4)


def test_summary_counts_the_shared_cell_weights_once(keras, rng):
    x = rng.standard_normal((2, 8, FEATURES)).astype("float32")
    lines = {}
    for lib in (keras, rnncore):
        model = _feedback(lib)
        model(x)
        printed = []
        model.summary(print_fn=printed.append)
        lines[lib] = [line for line in "\n".join(printed).splitlines() if "params:" in line]
    assert lines[rnncore] == lines[keras]
