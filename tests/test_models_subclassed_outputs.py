"""Subclassed models with several outputs, ``add_loss`` and activity regularizers inside a
custom ``call``: the same Keras code runs on Keras and on rnncore (only the import changes),
from equal weights, and trains to the same History, evaluate values and predictions. Then the
errors a wrong program gets."""
import numpy as np
import pytest

import rnncore
from rnncore import layers, ops


def _data(seed, *shapes):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=s).astype("float32") for s in shapes]


def two_heads(keras, ops):
    """An LSTM encoder with a softmax head and a regression head, returned as a list."""
    class TwoHeads(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.encoder = keras.layers.LSTM(6)
            self.classes = keras.layers.Dense(3, activation="softmax")
            self.value = keras.layers.Dense(2)

        def call(self, inputs):
            h = self.encoder(inputs)
            return [self.classes(h), self.value(h)]

    x, value = _data(0, (16, 5, 3), (16, 2))
    label = np.random.default_rng(0).integers(0, 3, size=(16,))
    compiled = dict(loss=["sparse_categorical_crossentropy", "mse"], loss_weights=[1.0, 0.5],
                    metrics=[["accuracy"], ["mae"]])
    return TwoHeads(), x, [label, value], compiled


def one_loss_for_a_tuple(keras, ops):
    """One loss for both outputs of a tuple, the same metric on each (``mae``, ``mae_1``)."""
    class Pair(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.hidden = keras.layers.Dense(5, activation="tanh")
            self.a = keras.layers.Dense(2)
            self.b = keras.layers.Dense(1)

        def call(self, inputs):
            h = self.hidden(inputs)
            return self.a(h), self.b(h)

    x, ya, yb = _data(1, (16, 4), (16, 2), (16, 1))
    return Pair(), x, [ya, yb], dict(loss="mse", metrics=[["mae"], ["mae"]])


def loss_for_one_output(keras, ops):
    """A functional model's two outputs, one without a loss: it is not trained, and (Keras's
    CompileLoss) no output's loss is logged on its own when only one has a loss."""
    inputs = keras.Input((4,))
    h = keras.layers.Dense(5, activation="tanh")(inputs)
    model = keras.Model(inputs, [keras.layers.Dense(2, name="a")(h),
                                 keras.layers.Dense(1, name="b")(h)])
    x, ya, yb = _data(8, (16, 4), (16, 2), (16, 1))
    return model, x, [ya, yb], dict(loss=[None, "mse"], metrics=[["mae"], ["mae"]])


def dict_outputs(keras, ops):
    """A dict of outputs (Keras orders them by key): a sigmoid score and a value."""
    class Scored(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.encoder = keras.layers.GRU(5)
            self.score = keras.layers.Dense(1, activation="sigmoid")
            self.value = keras.layers.Dense(2)

        def call(self, inputs):
            h = self.encoder(inputs)
            return {"value": self.value(h), "score": self.score(h)}

    x, value = _data(2, (16, 4, 3), (16, 2))
    score = np.random.default_rng(2).integers(0, 2, size=(16, 1)).astype("float32")
    compiled = dict(loss={"score": "binary_crossentropy", "value": "mse"},
                    loss_weights={"score": 2.0, "value": 1.0},
                    metrics={"score": ["accuracy"], "value": ["mae"]})
    return Scored(), x, {"score": score, "value": value}, compiled


def chained_outputs(keras, ops):
    """A sigmoid output that also feeds the second output: its loss is computed from its
    probabilities (the gradient from the other output arrives there too)."""
    class Chained(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.first = keras.layers.Dense(2, activation="sigmoid")
            self.second = keras.layers.Dense(1)

        def call(self, inputs):
            p = self.first(inputs)
            return [p, self.second(p)]

    x, yb = _data(3, (16, 4), (16, 1))
    ya = np.random.default_rng(3).integers(0, 2, size=(16, 2)).astype("float32")
    return Chained(), x, [ya, yb], dict(loss=["binary_crossentropy", "mse"])


def vae(keras, ops):
    """A VAE whose KL term is added with ``add_loss`` in the model's call; the noise is an
    input, so that both libraries draw the same."""
    class VAE(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.hidden = keras.layers.Dense(8, activation="relu")
            self.z_mean = keras.layers.Dense(2)
            self.z_log_var = keras.layers.Dense(2)
            self.decoder = keras.layers.Dense(6, activation="sigmoid")

        def call(self, inputs):
            x, noise = inputs
            h = self.hidden(x)
            z_mean, z_log_var = self.z_mean(h), self.z_log_var(h)
            kl = -0.5 * ops.mean(ops.sum(1.0 + z_log_var - ops.square(z_mean)
                                         - ops.exp(z_log_var), axis=1))
            self.add_loss(kl)
            return self.decoder(z_mean + ops.exp(0.5 * z_log_var) * noise)

    rng = np.random.default_rng(4)
    x = rng.uniform(size=(16, 6)).astype("float32")
    (noise,) = _data(4, (16, 2))
    return VAE(), [x, noise], x, dict(loss="binary_crossentropy")


def _penalized_layer(keras, ops):
    class Penalized(keras.layers.Layer):
        """Adds a penalty on its inputs (a non-scalar one: Keras sums it) and passes them on."""
        def call(self, inputs):
            self.add_loss(0.01 * ops.sum(ops.square(inputs), axis=-1))
            return ops.tanh(inputs)
    return Penalized


def add_loss_in_sequential(keras, ops):
    """A custom layer with ``add_loss`` between an LSTM and the head of a Sequential."""
    model = keras.Sequential([keras.Input((5, 3)), keras.layers.LSTM(4),
                              _penalized_layer(keras, ops)(), keras.layers.Dense(1)])
    x, y = _data(5, (16, 5, 3), (16, 1))
    return model, x, y, dict(loss="mse")


def add_loss_in_functional(keras, ops):
    """The same layer in a functional model, on a branch whose output is not trained: only
    its added term reaches the layers before it."""
    inputs = keras.Input((4,))
    h = keras.layers.Dense(5)(inputs)
    _penalized_layer(keras, ops)()(keras.layers.Dense(3)(h))
    side = keras.layers.Dense(2)(h)
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(
        keras.layers.Concatenate()([h, side])))
    (x,) = _data(6, (16, 4))
    y = np.random.default_rng(6).integers(0, 2, size=(16, 1)).astype("float32")
    return model, x, y, dict(loss="binary_crossentropy", metrics=["accuracy"])


def activity_in_call(keras, ops):
    """An activity-regularized LSTM and Dense called inside a subclassed model's call, next
    to a weight regularizer: Keras adds each penalty (divided by the batch size) to the
    loss."""
    class Regularized(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.lstm = keras.layers.LSTM(5, return_sequences=True,
                                          activity_regularizer=keras.regularizers.L2(0.01))
            self.pool = keras.layers.GlobalAveragePooling1D()
            self.hidden = keras.layers.Dense(4, activation="relu",
                                             activity_regularizer=keras.regularizers.L1(0.02),
                                             kernel_regularizer=keras.regularizers.L2(0.01))
            self.out = keras.layers.Dense(1)

        def call(self, inputs):
            return self.out(self.hidden(self.pool(self.lstm(inputs))))

    x, y = _data(7, (16, 6, 3), (16, 1))
    return Regularized(), x, y, dict(loss="mse", metrics=["mae"])


PROGRAMS = {f.__name__: f for f in (two_heads, one_loss_for_a_tuple, loss_for_one_output,
                                    dict_outputs, chained_outputs, vae, add_loss_in_sequential,
                                    add_loss_in_functional, activity_in_call)}


def _head(x):
    if isinstance(x, dict):
        return {k: v[:2] for k, v in x.items()}
    return [v[:2] for v in x] if isinstance(x, list) else x[:2]


def _as_list(out):
    if isinstance(out, dict):
        return [out[k] for k in sorted(out)]
    return list(out) if isinstance(out, (list, tuple)) else [out]


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_program_trains_to_kerass_history(name, keras):
    theirs, x, y, compiled = PROGRAMS[name](keras, keras.ops)
    mine, _, _, my_compiled = PROGRAMS[name](rnncore, rnncore.ops)
    theirs(_head(x))
    mine(_head(x))
    assert [w.shape for w in mine.get_weights()] == [w.shape for w in theirs.get_weights()]
    mine.set_weights(theirs.get_weights())
    theirs.compile(optimizer=keras.optimizers.Adam(0.01), **compiled)
    mine.compile(optimizer=rnncore.optimizers.Adam(0.01), **my_compiled)
    fit = dict(epochs=5, batch_size=16, shuffle=False, verbose=0, validation_data=(x, y))
    their_history = theirs.fit(x, y, **fit).history
    my_history = mine.fit(x, y, **fit).history
    assert sorted(my_history) == sorted(their_history)
    for key in their_history:
        np.testing.assert_allclose(my_history[key], their_history[key], rtol=1e-3, atol=1e-6,
                                   err_msg=key)
    assert their_history["loss"][-1] < their_history["loss"][0]
    np.testing.assert_allclose(mine.evaluate(x, y, verbose=0), theirs.evaluate(x, y, verbose=0),
                               rtol=1e-3, atol=1e-6)
    their_pred, my_pred = theirs.predict(x, verbose=0), mine.predict(x, verbose=0)
    assert type(my_pred) is type(their_pred)
    for a, b in zip(_as_list(my_pred), _as_list(their_pred)):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)


def test_model_losses_list_the_terms_in_kerass_order(keras):
    def program(K):
        class Block(K.layers.Layer):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.dense = K.layers.Dense(3, activity_regularizer=K.regularizers.L2(0.1))

            def call(self, inputs):
                h = self.dense(inputs)
                self.add_loss(K.ops.mean(h))
                return h

        class Net(K.Model):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.first = K.layers.Dense(4, kernel_regularizer=K.regularizers.L1(0.01),
                                            activity_regularizer=K.regularizers.L1(0.05))
                self.block = Block()

            def call(self, inputs):
                out = self.block(self.first(inputs))
                self.add_loss(0.5 * K.ops.mean(K.ops.square(out)))
                return out
        return Net()

    theirs, mine = program(keras), program(rnncore)
    (x,) = _data(8, (5, 2))
    theirs(x)
    mine(x)
    mine.set_weights(theirs.get_weights())
    theirs(x)
    mine(x)
    expected = [float(v) for v in theirs.losses]
    assert len(mine.losses) == len(expected) == 5
    np.testing.assert_allclose([float(v) for v in mine.losses], expected, rtol=1e-5)
    # another call replaces the terms, as in Keras
    mine(x)
    assert len(mine.losses) == 5
    np.testing.assert_allclose([float(v) for v in mine.block.losses],
                               [float(v) for v in theirs.block.losses], rtol=1e-5)


def test_predict_ignores_added_losses_and_evaluate_counts_them(keras):
    model, x, y, compiled = vae(rnncore, ops)
    model.compile("adam", **compiled)
    no_kl = rnncore.losses.BinaryCrossentropy()(y, model.predict(x, verbose=0))
    kl = float(model.losses[0])
    assert kl > 0
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), float(no_kl) + kl, rtol=1e-5)


def test_gradient_of_an_added_term_matches_finite_differences():
    class Squares(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], 2), initializer="glorot_uniform",
                                     name="w")

        def call(self, inputs):
            h = ops.matmul(inputs, self.w)
            self.add_loss(ops.sum(ops.sin(h)))
            return h

    rnncore.set_floatx("float64")
    try:
        model = rnncore.Sequential([rnncore.Input((3,)), Squares()])
        model.compile("sgd", "mse")
        rng = np.random.default_rng(9)
        x, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))

        def total(w):
            model.layers[0].w.assign(w)
            return model.evaluate(x, y, verbose=0)
        w0 = model.layers[0].w.numpy()
        model.layers[0].w.assign(w0)
        out = model._forward(x, training=True)
        loss, grads, fused, _ = model._compute_losses(y, out, None, gradients=True)
        model._backward(grads, fused)
        analytic = model.layers[0].w.grad.copy()
        numeric = np.zeros_like(w0)
        for i in np.ndindex(w0.shape):
            step = np.zeros_like(w0)
            step[i] = 1e-6
            numeric[i] = (total(w0 + step) - total(w0 - step)) / 2e-6
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)
    finally:
        rnncore.set_floatx("float32")


class _Two(rnncore.Model):
    def __init__(self, nested=False):
        super().__init__()
        self.a, self.b = layers.Dense(1), layers.Dense(2)
        self.nested = nested

    def call(self, inputs):
        out = [self.a(inputs), self.b(inputs)]
        return [out] if self.nested else out


@pytest.mark.parametrize("loss, message", [
    (["mse", "mse", "mse"], "loss must have one entry per output; the model's call returns "
                            "a list of 2 outputs"),
    ({"a": "mse", "b": "mse"}, "loss is a dict, but the model's outputs have no names"),
])
def test_losses_that_do_not_fit_the_outputs_are_refused(loss, message):
    model = _Two()
    model.compile("sgd", loss=loss)
    x, y = np.ones((4, 3)), [np.ones((4, 1)), np.ones((4, 2))]
    with pytest.raises(ValueError, match=message):
        model.fit(x, y, verbose=0)


def test_targets_that_do_not_fit_the_outputs_are_refused():
    model = _Two()
    model.compile("sgd", loss="mse")
    with pytest.raises(ValueError, match=r"one target array per output \(2"):
        model.fit(np.ones((4, 3)), np.ones((4, 1)), verbose=0)
    with pytest.raises(ValueError, match="y is a dict, but the outputs of model"):
        model.fit(np.ones((4, 3)), {"a": np.ones((4, 1)), "b": np.ones((4, 2))}, verbose=0)


def test_nested_outputs_are_refused_not_mangled():
    with pytest.raises(NotImplementedError, match="call returned nested outputs"):
        _Two(nested=True)(np.ones((2, 3)))


@pytest.mark.parametrize("value", ["0.5", None, [np.ones(2), "x"]])
def test_add_loss_takes_only_tensors(value):
    class Adds(layers.Layer):
        def call(self, inputs):
            self.add_loss(value)
            return inputs
    with pytest.raises(ValueError, match="add_loss.. can only be called .* on a tensor"):
        Adds()(np.ones((2, 3)))
