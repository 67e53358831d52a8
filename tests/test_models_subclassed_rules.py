"""Keras's rules that a subclassed model or a custom layer relies on, each checked against
Keras with the same code (only the import changes) from equal weights: masks reach the layers
inside a custom ``call`` in training as outside it, custom layers called on symbolic tensors,
``compute_loss`` overrides, a Variable returned from ``call``, keyword arguments of a model's
call, a subclass of Model built from inputs and outputs."""
import warnings

import numpy as np
import pytest

import rnncore


def _tokens(seed, n=16, steps=9, vocab=20):
    rng = np.random.default_rng(seed)
    rows = [rng.integers(1, vocab, rng.integers(2, steps + 1)) for _ in range(n)]
    x = np.zeros((n, steps), "int32")
    for i, r in enumerate(rows):
        x[i, :len(r)] = r  # padded after, as pad_sequences(padding="post")
    return x, rng.integers(0, 3, n)


def _masked_model(keras, ops, consumer):
    """``Embedding(mask_zero=True)`` then `consumer` inside a subclassed model's call."""
    class Scaled(keras.layers.Layer):
        """Passes the mask on (computes it) and scales its inputs."""
        def call(self, inputs):
            return inputs * 2.0

        def compute_mask(self, inputs, mask=None):
            return mask

    class MaskedMean(keras.layers.Layer):
        """Takes the mask and averages the unmasked steps (as the masking guide does)."""
        def call(self, inputs, mask=None):
            weights = ops.expand_dims(ops.cast(mask, inputs.dtype), -1)
            return ops.sum(inputs * weights, axis=1) / ops.sum(weights, axis=1)

    consumers = {
        "pool": lambda: keras.layers.GlobalAveragePooling1D(),
        "lstm": lambda: keras.layers.LSTM(4),
        "gru": lambda: keras.layers.GRU(4),
        "bidirectional": lambda: keras.layers.Bidirectional(keras.layers.GRU(3)),
        "custom": lambda: MaskedMean(),
    }

    class TextClassifier(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.embedding = keras.layers.Embedding(20, 4, mask_zero=True)
            self.scaled = Scaled()
            self.consumer = consumers[consumer]()
            self.classifier = keras.layers.Dense(3, activation="softmax")

        def call(self, inputs, training=False):
            return self.classifier(self.consumer(self.scaled(self.embedding(inputs))))

    return TextClassifier()


@pytest.mark.parametrize("consumer", ["pool", "lstm", "gru", "bidirectional", "custom"])
def test_subclassed_model_masks_in_training_as_keras(consumer, keras):
    x, y = _tokens(0)
    theirs = _masked_model(keras, keras.ops, consumer)
    mine = _masked_model(rnncore, rnncore.ops, consumer)
    theirs(x[:2])
    mine(x[:2])
    mine.set_weights(theirs.get_weights())
    for model, lib in ((theirs, keras), (mine, rnncore)):
        model.compile(optimizer=lib.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy")
    # evaluate masks; so must each training step (its loss is taken before the update)
    np.testing.assert_allclose(mine.evaluate(x, y, verbose=0), theirs.evaluate(x, y, verbose=0),
                               rtol=1e-5)
    their_losses = [float(theirs.train_on_batch(x, y)) for _ in range(4)]
    my_losses = [float(mine.train_on_batch(x, y)) for _ in range(4)]
    np.testing.assert_allclose(my_losses, their_losses, rtol=1e-5)
    np.testing.assert_allclose(mine.predict(x, verbose=0), theirs.predict(x, verbose=0),
                               rtol=1e-4, atol=1e-6)



def _wrapped_lstm_model(keras, ops):
    """A custom layer that runs an LSTM on its inputs, after Embedding(mask_zero=True) in a
    functional model: its inputs carry the mask, so the LSTM inside takes it."""
    class Encoder(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.lstm = keras.layers.LSTM(4)

        def call(self, inputs):
            return self.lstm(inputs)

    inputs = keras.Input((9,), dtype="int32")
    h = Encoder()(keras.layers.Embedding(20, 5, mask_zero=True)(inputs))
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(h))


def test_layers_inside_a_custom_layer_of_a_functional_model_take_its_inputs_mask(keras):
    theirs, mine = _wrapped_lstm_model(keras, keras.ops), _wrapped_lstm_model(rnncore,
                                                                              rnncore.ops)
    x, y = _tokens(4)
    mine.set_weights(theirs.get_weights())
    np.testing.assert_allclose(mine.predict(x, verbose=0), theirs.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)
    _fits_alike(theirs, mine, keras, x, y, "sparse_categorical_crossentropy")

def _attention_model(keras, ops):
    """A custom layer whose call takes two tensors positionally (Bahdanau attention, as in
    TensorFlow's NMT tutorial) and returns two, in a functional model."""
    class BahdanauAttention(keras.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.W1 = keras.layers.Dense(units)
            self.W2 = keras.layers.Dense(units)
            self.V = keras.layers.Dense(1)

        def call(self, query, values):
            score = self.V(ops.tanh(self.W1(ops.expand_dims(query, 1)) + self.W2(values)))
            weights = ops.softmax(score, axis=1)
            return ops.sum(weights * values, axis=1), weights

    inputs = keras.Input((7, 4))
    sequence, h, _ = keras.layers.LSTM(5, return_sequences=True, return_state=True)(inputs)
    context, weights = BahdanauAttention(6)(h, sequence)
    return keras.Model(inputs, keras.layers.Dense(1)(context)), [context, weights]


def _temporal_softmax_model(keras, ops):
    """The masking guide's TemporalSoftmax, which asserts that it gets a mask (an epsilon
    added to the sum, so that a masked step, all zeros, gives zeros and not NaN)."""
    class TemporalSoftmax(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True

        def call(self, inputs, mask=None):
            assert mask is not None
            broadcast_float_mask = ops.expand_dims(ops.cast(mask, "float32"), -1)
            inputs_exp = ops.exp(inputs) * broadcast_float_mask
            inputs_sum = ops.sum(inputs_exp * broadcast_float_mask, axis=-1, keepdims=True)
            return inputs_exp / (inputs_sum + 1e-3)

    inputs = keras.Input(shape=(None,), dtype="int32")
    x = keras.layers.Embedding(input_dim=20, output_dim=6, mask_zero=True)(inputs)
    x = TemporalSoftmax()(keras.layers.Dense(4)(x))
    out = keras.layers.Dense(3, activation="softmax")(keras.layers.GlobalAveragePooling1D()(x))
    return keras.Model(inputs, out), [x]


def _fits_alike(theirs, mine, keras, x, y, loss):
    mine.set_weights(theirs.get_weights())
    for model, lib in ((theirs, keras), (mine, rnncore)):
        model.compile(optimizer=lib.optimizers.Adam(0.05), loss=loss)
    their_losses = [float(theirs.train_on_batch(x, y)) for _ in range(4)]
    my_losses = [float(mine.train_on_batch(x, y)) for _ in range(4)]
    np.testing.assert_allclose(my_losses, their_losses, rtol=1e-5)


def test_custom_layer_of_two_positional_tensors_in_a_functional_model(keras):
    theirs, their_tensors = _attention_model(keras, keras.ops)
    mine, my_tensors = _attention_model(rnncore, rnncore.ops)
    assert [t.shape for t in my_tensors] == [tuple(t.shape) for t in their_tensors] == \
        [(None, 5), (None, 7, 1)]
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(16, 7, 4)).astype("float32"), rng.normal(size=(16, 1))
    _fits_alike(theirs, mine, keras, x, y, "mse")


def test_custom_layer_gets_the_symbolic_mask_when_called_on_symbolic_tensors(keras):
    theirs, their_tensors = _temporal_softmax_model(keras, keras.ops)
    mine, my_tensors = _temporal_softmax_model(rnncore, rnncore.ops)
    assert my_tensors[0].shape == tuple(their_tensors[0].shape) == (None, None, 4)
    x, y = _tokens(2)
    _fits_alike(theirs, mine, keras, x, y, "sparse_categorical_crossentropy")


def test_finding_a_custom_layers_output_shape_prints_no_numpy_warnings():
    class Normalize(rnncore.layers.Layer):
        def call(self, x):
            return x / rnncore.ops.sum(x - 1.0, axis=-1, keepdims=True)

    class Log(rnncore.layers.Layer):
        def call(self, x):
            return rnncore.ops.log(x - 1.0)

    inputs = rnncore.Input((4,))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = Log()(Normalize()(inputs))
    assert out.shape == (None, 4)


def _compute_loss_model(keras, ops, with_super):
    """A subclassed model whose ``compute_loss`` override is the loss fit trains on (the
    backend-agnostic way to customize fit)."""
    class Regression(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.encoder = keras.layers.GRU(5)
            self.head = keras.layers.Dense(2, kernel_regularizer=keras.regularizers.L2(0.05))

        def call(self, inputs):
            h = self.encoder(inputs)
            # in the loss only when the override adds model.losses (super() does)
            self.add_loss(0.1 * ops.mean(ops.square(h)))
            return self.head(h)

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None,
                         training=True):
            loss = 3.0 * ops.mean(ops.abs(y_pred - y)) + 0.1 * ops.mean(ops.square(y_pred))
            if with_super:
                loss = loss + super().compute_loss(x, y, y_pred, sample_weight, training)
            return loss

    return Regression()


@pytest.mark.parametrize("with_super", [False, True], ids=["own", "plus_compiled"])
def test_compute_loss_override_is_what_fit_trains_and_reports(with_super, keras):
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(16, 4, 3)).astype("float32"), rng.normal(size=(16, 2))
    theirs = _compute_loss_model(keras, keras.ops, with_super)
    mine = _compute_loss_model(rnncore, rnncore.ops, with_super)
    theirs(x[:2])
    mine(x[:2])
    mine.set_weights(theirs.get_weights())
    # Keras compiles it without a loss when the override makes its own
    loss = "mse" if with_super else None
    for model, lib in ((theirs, keras), (mine, rnncore)):
        model.compile(optimizer=lib.optimizers.Adam(0.05), loss=loss, metrics=["mae"])
    their = theirs.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0).history
    my = mine.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0).history
    assert sorted(my) == sorted(their) == ["loss", "mae"]
    for key in their:
        np.testing.assert_allclose(my[key], their[key], rtol=1e-5, err_msg=key)
    np.testing.assert_allclose(mine.evaluate(x, y, verbose=0), theirs.evaluate(x, y, verbose=0),
                               rtol=1e-5)



def test_variable_returned_from_call_as_keras(keras):
    def compute_sum(lib):
        # "Making new layers and models via subclassing": call returns a non-trainable weight
        class ComputeSum(lib.layers.Layer):
            def __init__(self, input_dim):
                super().__init__()
                self.total = self.add_weight(initializer="zeros", shape=(input_dim,),
                                             trainable=False)

            def call(self, inputs):
                self.total.assign_add(lib.ops.sum(inputs, axis=0))
                return self.total
        return ComputeSum(2)

    x = np.ones((2, 2), "float32")
    theirs, mine = compute_sum(keras), compute_sum(rnncore)
    for _ in range(2):
        expected = keras.ops.convert_to_numpy(theirs(x))
        got = rnncore.ops.convert_to_numpy(mine(x))
        np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(got, [4.0, 4.0])


def _text_generator(keras, ops):
    """TensorFlow's text-generation tutorial model: call takes the states and return_state."""
    class MyModel(keras.Model):
        def __init__(self, vocab_size, embedding_dim, rnn_units):
            super().__init__()
            self.embedding = keras.layers.Embedding(vocab_size, embedding_dim)
            self.gru = keras.layers.GRU(rnn_units, return_sequences=True, return_state=True)
            self.dense = keras.layers.Dense(vocab_size)

        def call(self, inputs, states=None, return_state=False, training=False):
            x = self.embedding(inputs, training=training)
            if states is None:
                states = self.gru.get_initial_state(ops.shape(x)[0])
            x, states = self.gru(x, initial_state=states, training=training)
            x = self.dense(x, training=training)
            return (x, states) if return_state else x

    return MyModel(20, 8, 6)


def test_subclassed_model_call_takes_keyword_arguments(keras):
    x = np.array([[1, 2, 3], [4, 5, 0]])
    theirs, mine = _text_generator(keras, keras.ops), _text_generator(rnncore, rnncore.ops)
    theirs(x)
    mine(x)
    mine.set_weights(theirs.get_weights())
    states = [None, None]
    for step in range(2):
        their_logits, states[0] = theirs(x, states=states[0], return_state=True, training=False)
        my_logits, states[1] = mine(x, states=states[1], return_state=True, training=False)
        np.testing.assert_allclose(my_logits, their_logits, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(states[1], states[0], rtol=1e-5, atol=1e-6)
    assert np.shape(states[1]) == (2, 6)
    # what fit learned of the outputs is the call's default: one array
    np.testing.assert_allclose(mine.predict(x, verbose=0), theirs.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["SimpleRNN", "GRU", "LSTM"])
def test_get_initial_state_as_keras(kind, keras):
    theirs = getattr(keras.layers, kind)(4).get_initial_state(3)
    mine = getattr(rnncore.layers, kind)(4).get_initial_state(3)
    assert isinstance(mine, list) and len(mine) == len(theirs)
    for m, t in zip(mine, theirs):
        np.testing.assert_array_equal(m, keras.ops.convert_to_numpy(t))


def _functional_subclass(keras, ops, own_loss):
    """The "Customizing what happens in fit()" guide: a subclass of Model made from inputs
    and outputs, overriding compute_loss or nothing."""
    class CustomModel(keras.Model):
        pass

    class CustomLossModel(keras.Model):
        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None,
                         training=True):
            return ops.mean(ops.square(y_pred - y)) + ops.sum(self.losses)

    inputs = keras.Input(shape=(6,))
    h = keras.layers.Dense(4, activation="tanh",
                           kernel_regularizer=keras.regularizers.L2(0.01))(inputs)
    outputs = keras.layers.Dense(1)(h)
    return (CustomLossModel if own_loss else CustomModel)(inputs, outputs)


@pytest.mark.parametrize("own_loss", [False, True], ids=["compiled_loss", "compute_loss"])
def test_subclass_of_model_made_from_inputs_and_outputs_trains_as_keras(own_loss, keras):
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(32, 6)).astype("float32"), rng.normal(size=(32, 1))
    theirs = _functional_subclass(keras, keras.ops, own_loss)
    mine = _functional_subclass(rnncore, rnncore.ops, own_loss)
    assert type(mine).__name__ == type(theirs).__name__
    assert mine.name == theirs.name == ("custom_loss_model" if own_loss else "custom_model")
    mine.set_weights(theirs.get_weights())
    for model, lib in ((theirs, keras), (mine, rnncore)):
        model.compile(optimizer=lib.optimizers.Adam(0.05), metrics=["mae"],
                      loss=None if own_loss else "mse")
    their = theirs.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    my = mine.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    assert sorted(my) == sorted(their) == ["loss", "mae"]
    for key in their:
        np.testing.assert_allclose(my[key], their[key], rtol=1e-5, err_msg=key)


def test_train_step_override_is_refused_by_name():
    class CustomModel(rnncore.Model):
        def train_step(self, data):
            raise AssertionError("not reached")

    inputs = rnncore.Input((3,))
    model = CustomModel(inputs, rnncore.layers.Dense(1)(inputs))
    model.compile("sgd", "mse")
    x = np.ones((4, 3), "float32")
    with pytest.raises(NotImplementedError, match="train_step.*compute_loss"):
        model.fit(x, np.ones((4, 1)), verbose=0)


def test_init_given_self_is_a_type_error_as_in_keras(keras):
    for lib in (keras, rnncore):
        class Wrong(lib.Model):
            def __init__(self):
                super().__init__(self)

        with pytest.raises(TypeError):
            Wrong()
