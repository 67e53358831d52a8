"""Keras programs with custom layers, a subclassed model, a custom cell and a custom loss.

Each function is Keras code written once and run twice: with ``keras`` and ``keras.ops`` (the
reference, on TensorFlow) and with ``rnncore`` and ``rnncore.ops`` (the only change, the
import). It returns ``(model, x, y, loss)`` for a model not yet built.
"""
import numpy as np


def _data(seed, *shapes):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=s).astype("float32") for s in shapes]


def residual_lstm(keras, ops):
    """The TensorFlow time-series tutorial's ResidualWrapper around an LSTM model: each step
    predicts the change of the features."""
    class ResidualWrapper(keras.Model):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def call(self, inputs, *args, **kwargs):
            delta = self.model(inputs, *args, **kwargs)
            return inputs + delta

    model = ResidualWrapper(keras.Sequential([
        keras.layers.LSTM(8, return_sequences=True),
        keras.layers.Dense(3, kernel_initializer=keras.initializers.zeros())]))
    x, y = _data(0, (16, 6, 3), (16, 6, 3))
    return model, x, y, "mse"


def bahdanau_attention(keras, ops):
    """Additive (Bahdanau) attention of the encoder's last state over its whole sequence."""
    class BahdanauAttention(keras.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.W1 = keras.layers.Dense(units)
            self.W2 = keras.layers.Dense(units)
            self.V = keras.layers.Dense(1)

        def call(self, query, values):
            # query (batch, hidden), values (batch, timesteps, hidden)
            query = ops.expand_dims(query, 1)
            score = self.V(ops.tanh(self.W1(query) + self.W2(values)))
            weights = ops.softmax(score, axis=1)
            return ops.sum(weights * values, axis=1)

    class Classifier(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.encoder = keras.layers.LSTM(8, return_sequences=True, return_state=True)
            self.attention = BahdanauAttention(6)
            self.head = keras.layers.Dense(3, activation="softmax")

        def call(self, inputs):
            sequence, h, c = self.encoder(inputs)
            context = self.attention(h, sequence)
            return self.head(ops.concatenate([context, h], axis=-1))

    (x,) = _data(1, (16, 7, 4))
    y = np.random.default_rng(1).integers(0, 3, size=(16,))
    return Classifier(), x, y, "sparse_categorical_crossentropy"


def seq2seq(keras, ops):
    """A subclassed encoder-decoder: the encoder's final states start the decoder."""
    class Seq2Seq(keras.Model):
        def __init__(self, units, features, **kwargs):
            super().__init__(**kwargs)
            self.encoder = keras.layers.LSTM(units, return_state=True)
            self.decoder = keras.layers.GRU(units, return_sequences=True)
            self.bridge = keras.layers.Dense(units, activation="tanh")
            self.out = keras.layers.Dense(features)

        def call(self, inputs, training=None):
            source, target_in = inputs
            _, h, c = self.encoder(source)
            state = self.bridge(ops.concatenate([h, c], axis=-1))
            return self.out(self.decoder(target_in, initial_state=[state]))

    source, target_in, target = _data(2, (16, 5, 3), (16, 4, 2), (16, 4, 2))
    return Seq2Seq(6, 2), [source, target_in], target, "mse"


def _minimal_gru_cell(keras, ops):
    """A minimal gated unit (one forget gate) as a custom cell."""
    class MinimalGRUCell(keras.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = units

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], 2 * self.units),
                                          initializer="glorot_uniform", name="kernel")
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
            candidate = ops.tanh(x_h + ops.matmul(f * h, u_h))
            h = (1.0 - f) * h + f * candidate
            return h, [h]
    return MinimalGRUCell


def minimal_gru_cell(keras, ops):
    """The minimal gated unit in RNN."""
    cell = _minimal_gru_cell(keras, ops)(5)
    model = keras.Sequential([keras.Input((None, 3)), keras.layers.RNN(cell),
                              keras.layers.Dense(1)])
    x, y = _data(3, (16, 6, 3), (16, 1))
    return model, x, y, "mse"


def stacked_cells(keras, ops):
    """A list of cells in RNN, custom and built-in mixed: each step runs them in turn."""
    cell = _minimal_gru_cell(keras, ops)
    model = keras.Sequential([keras.Input((6, 3)),
                              keras.layers.RNN([cell(5), keras.layers.LSTMCell(4), cell(3)],
                                               return_sequences=True),
                              keras.layers.Flatten(), keras.layers.Dense(1)])
    x, y = _data(7, (16, 6, 3), (16, 1))
    return model, x, y, "mse"


def custom_loss(keras, ops):
    """A log-cosh loss written with ops, on a GRU regressor."""
    def log_cosh(y_true, y_pred):
        error = y_pred - y_true
        return ops.mean(error + ops.softplus(-2.0 * error) - ops.log(2.0), axis=-1)

    model = keras.Sequential([keras.Input((5, 3)), keras.layers.GRU(4),
                              keras.layers.Dense(2)])
    x, y = _data(4, (16, 5, 3), (16, 2))
    return model, x, y, log_cosh


def masked_mean(keras, ops):
    """A custom pooling layer that takes the padding mask of an Embedding(mask_zero=True)
    through an LSTM, in a functional model."""
    class MaskedMean(keras.layers.Layer):
        def call(self, inputs, mask=None):
            if mask is None:
                return ops.mean(inputs, axis=1)
            weights = ops.expand_dims(ops.cast(mask, inputs.dtype), -1)
            return ops.sum(inputs * weights, axis=1) / ops.maximum(ops.sum(weights, axis=1), 1.0)

    ids = keras.Input((6,), dtype="int32")
    h = keras.layers.Embedding(20, 4, mask_zero=True)(ids)
    h = keras.layers.LSTM(5, return_sequences=True)(h)
    model = keras.Model(ids, keras.layers.Dense(1)(MaskedMean()(h)))
    rng = np.random.default_rng(5)
    x = rng.integers(1, 20, size=(16, 6)).astype("int32")
    x[np.arange(6) >= rng.integers(2, 7, size=(16, 1))] = 0  # padded at the end
    (y,) = _data(5, (16, 1))
    return model, x, y, "mse"


def cell_loop(keras, ops):
    """A decoder-style layer that steps built-in cells in a Python loop inside its call."""
    class Unrolled(keras.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.lstm = keras.layers.LSTMCell(units)
            self.gru = keras.layers.GRUCell(units)

        def call(self, inputs):
            batch = ops.shape(inputs)[0]
            lstm_states = [ops.zeros((batch, self.units)), ops.zeros((batch, self.units))]
            h = ops.zeros((batch, self.units))
            outputs = []
            for t in range(inputs.shape[1]):
                out, lstm_states = self.lstm(inputs[:, t], lstm_states)
                out, [h] = self.gru(out, [h])
                outputs.append(out)
            return ops.stack(outputs, axis=1)

    model = keras.Sequential([keras.Input((5, 3)), Unrolled(4), keras.layers.Flatten(),
                              keras.layers.Dense(1)])
    x, y = _data(6, (16, 5, 3), (16, 1))
    return model, x, y, "mse"


PROGRAMS = {f.__name__: f for f in (residual_lstm, bahdanau_attention, seq2seq,
                                    minimal_gru_cell, custom_loss, masked_mean, cell_loop,
                                    stacked_cells)}
