"""TensorFlow's "Text generation with an RNN" tutorial run with rnncore as with Keras: the
OneStep loop calls the model with its inputs by keyword (``model(inputs=ids, states=states,
return_state=True)``), and a compute_loss override uses the function form of a Keras loss."""
import numpy as np

import rnncore

VOCAB, T = 12, 10


def _model_class(lib):
    class MyModel(lib.Model):
        def __init__(self):
            super().__init__()
            self.embedding = lib.layers.Embedding(VOCAB, 6)
            self.gru = lib.layers.GRU(8, return_sequences=True, return_state=True)
            self.dense = lib.layers.Dense(VOCAB)

        def call(self, inputs, states=None, return_state=False, training=False):
            x = self.embedding(inputs, training=training)
            if states is None:
                states = self.gru.get_initial_state(lib.ops.shape(x)[0])
            x, states = self.gru(x, initial_state=states, training=training)
            x = self.dense(x, training=training)
            return (x, states) if return_state else x

    return MyModel


def _data(rng):
    ids = rng.integers(1, VOCAB, (24, T + 1))
    return ids[:, :-1], ids[:, 1:]


def test_generation_loop_calls_the_model_with_inputs_by_keyword(keras, rng):
    x, _ = _data(rng)
    generated = []
    for lib in (keras, rnncore):
        model = _model_class(lib)()
        model(x[:1])
        if lib is rnncore:
            model.set_weights(weights)
        weights = model.get_weights()
        ids, states, out = x[:3, :4], None, []
        for _ in range(5):
            logits, states = model(inputs=ids, states=states, return_state=True)
            ids = np.argmax(np.asarray(logits)[:, -1, :], axis=-1)[:, None]
            out.append(ids[:, 0])
        generated.append((np.array(out), np.asarray(states)))
    np.testing.assert_array_equal(generated[1][0], generated[0][0])
    np.testing.assert_allclose(generated[1][1], generated[0][1], atol=1e-5)


def test_layer_called_with_inputs_by_keyword():
    layer = rnncore.layers.Dense(2)
    x = np.ones((3, 4), "float32")
    np.testing.assert_allclose(layer(inputs=x), layer(x))
    try:
        layer(training=False)
    except TypeError as exc:
        assert "inputs" in str(exc)
    else:
        raise AssertionError("a call without inputs must raise")


def test_compute_loss_with_the_function_form_of_a_loss(keras, rng):
    x, y = _data(rng)
    histories = []
    for lib in (keras, rnncore):
        base = _model_class(lib)

        class CustomTraining(base):
            def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None,
                             training=True):
                return lib.ops.mean(lib.losses.sparse_categorical_crossentropy(
                    y, y_pred, from_logits=True))

        model = CustomTraining()
        model(x[:1])
        if lib is rnncore:
            model.set_weights(weights)
        weights = model.get_weights()
        model.compile(optimizer=lib.optimizers.Adam(0.01))
        histories.append(model.fit(x, y, epochs=2, batch_size=8, shuffle=False,
                                   verbose=0).history)
    np.testing.assert_allclose(histories[1]["loss"], histories[0]["loss"], rtol=1e-4)
