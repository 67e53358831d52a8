"""``rnncore.random`` as ``keras.random``: signatures, shapes, dtypes, ranges, statistics,
seeding (an int seed repeats, a SeedGenerator advances), errors, and use inside a layer that
trains (a VAE's sampling layer)."""
import numpy as np
import pytest

import rnncore
from rnncore import layers, ops
from rnncore import random as rrandom

FLOAT_DRAWS = {
    "normal": lambda seed, **kw: rrandom.normal((400, 50), mean=1.0, stddev=2.0, seed=seed, **kw),
    "uniform": lambda seed, **kw: rrandom.uniform((400, 50), minval=-2.0, maxval=3.0, seed=seed,
                                                  **kw),
    "truncated_normal": lambda seed, **kw: rrandom.truncated_normal((400, 50), mean=1.0,
                                                                    stddev=2.0, seed=seed, **kw),
    "gamma": lambda seed, **kw: rrandom.gamma((400, 50), alpha=3.0, seed=seed, **kw),
    "beta": lambda seed, **kw: rrandom.beta((400, 50), alpha=2.0, beta=5.0, seed=seed, **kw),
    "binomial": lambda seed, **kw: rrandom.binomial((400, 50), counts=10, probabilities=0.3,
                                                    seed=seed, **kw),
}
# (mean, std) of each distribution above
MOMENTS = {"normal": (1.0, 2.0), "uniform": (0.5, 5 / np.sqrt(12)),
           "truncated_normal": (1.0, 2.0 * 0.8796), "gamma": (3.0, np.sqrt(3.0)),
           "beta": (2 / 7, np.sqrt(10 / (49 * 8))), "binomial": (3.0, np.sqrt(2.1))}


@pytest.mark.parametrize("name", sorted(FLOAT_DRAWS))
def test_float_draws_shape_dtype_and_moments(name):
    x = FLOAT_DRAWS[name](seed=3)
    assert x.shape == (400, 50) and x.dtype == np.float32  # floatx, as Keras
    mean, std = MOMENTS[name]
    assert abs(x.mean() - mean) < 0.05 * max(std, 1)
    assert abs(x.std() - std) < 0.05 * max(std, 1)
    assert FLOAT_DRAWS[name](seed=3, dtype="float64").dtype == np.float64


def test_ranges():
    u = rrandom.uniform((10000,), minval=-2.0, maxval=3.0, seed=1)
    assert u.min() >= -2.0 and u.max() < 3.0
    t = rrandom.truncated_normal((10000,), mean=1.0, stddev=2.0, seed=1)
    assert t.min() >= 1.0 - 4.0 and t.max() <= 1.0 + 4.0
    r = rrandom.randint((10000,), minval=-3, maxval=4, seed=1)
    assert r.dtype == np.int32 and set(np.unique(r)) == set(range(-3, 4))
    assert rrandom.randint((2,), 0, 5, dtype="int64", seed=1).dtype == np.int64


@pytest.mark.parametrize("name", sorted(FLOAT_DRAWS))
def test_int_seed_repeats_and_seed_generator_advances(name):
    draw = FLOAT_DRAWS[name]
    np.testing.assert_array_equal(draw(seed=7), draw(seed=7))
    assert not np.array_equal(draw(seed=7), draw(seed=8))
    gen = rrandom.SeedGenerator(7)
    first, second = draw(seed=gen), draw(seed=gen)
    assert not np.array_equal(first, second)
    # a fresh generator with the same seed gives the same sequence; its first draw is the
    # int seed's draw, as in Keras (an int seed is the state [seed, 0])
    again = rrandom.SeedGenerator(7)
    np.testing.assert_array_equal(draw(seed=again), first)
    np.testing.assert_array_equal(draw(seed=again), second)
    np.testing.assert_array_equal(first, draw(seed=7))


def test_unseeded_draws_follow_set_random_seed():
    rnncore.utils.set_random_seed(11)
    a = rrandom.normal((5,))
    rnncore.utils.set_random_seed(11)
    np.testing.assert_array_equal(rrandom.normal((5,)), a)
    assert not np.array_equal(rrandom.normal((5,)), a)


def test_seed_generator_state_and_config():
    gen = rrandom.SeedGenerator(5, name="gen")
    np.testing.assert_array_equal(gen.state.numpy(), [5, 0])
    np.testing.assert_array_equal(gen.next(), [5, 0])
    np.testing.assert_array_equal(gen.state.numpy(), [5, 1])
    assert not gen.state.trainable
    assert gen.get_config() == {"seed": 5, "name": "gen"}
    assert rrandom.SeedGenerator.from_config(gen.get_config()).get_config() == gen.get_config()


def test_dropout():
    x = np.ones((200, 100), np.float32)
    y = rrandom.dropout(x, rate=0.25, seed=2)
    kept = y != 0
    assert y.dtype == np.float32 and abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.75, rtol=1e-6)
    z = rrandom.dropout(x, rate=0.5, noise_shape=(1, 100), seed=2)
    assert np.all((z == 0).all(axis=0) | (z != 0).all(axis=0))  # one mask for every row
    np.testing.assert_array_equal(rrandom.dropout(x, 0.0), x)
    np.testing.assert_array_equal(rrandom.dropout(x, 1.0), np.zeros_like(x))


def test_shuffle_and_categorical():
    x = np.arange(20).reshape(10, 2)
    s = rrandom.shuffle(x, seed=4)
    assert sorted(map(tuple, s)) == sorted(map(tuple, x)) and not np.array_equal(s, x)
    t = rrandom.shuffle(x, axis=1, seed=4)
    assert sorted(t[0]) == [0, 1]
    logits = np.log(np.array([[0.1, 0.9, 0.0 + 1e-12], [0.6, 0.2, 0.2]]))
    c = rrandom.categorical(logits, 5000, seed=3)
    assert c.shape == (2, 5000) and c.dtype == np.int32
    np.testing.assert_allclose(np.bincount(c[0], minlength=3) / 5000, [0.1, 0.9, 0.0], atol=0.02)
    np.testing.assert_allclose(np.bincount(c[1], minlength=3) / 5000, [0.6, 0.2, 0.2], atol=0.02)


@pytest.mark.parametrize("call, match", [
    (lambda: rrandom.normal((2,), seed="a"), "seed"),
    (lambda: rrandom.SeedGenerator(1.5), "seed"),
    (lambda: rrandom.uniform((2,), dtype="int32"), "floating point `dtype`"),
    (lambda: rrandom.randint((2,), 0, 3, dtype="float32"), "integer `dtype`"),
    (lambda: rrandom.randint((2,), 3, 3), "minval"),
    (lambda: rrandom.normal((2, -1)), "shape"),
    (lambda: rrandom.dropout(np.ones(3), rate=1.5), "rate"),
    (lambda: rrandom.categorical(np.ones(3), 2), "2-D"),
])
def test_bad_arguments_say_what_was_received(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_keras_signatures(keras):
    import inspect

    for name in ["normal", "uniform", "truncated_normal", "randint", "dropout", "shuffle",
                 "categorical", "gamma", "beta", "binomial"]:
        ours = inspect.signature(getattr(rrandom, name))
        theirs = inspect.signature(getattr(keras.random, name))
        assert list(ours.parameters) == list(theirs.parameters), name
        assert [p.default for p in ours.parameters.values()] == \
            [p.default for p in theirs.parameters.values()], name


def test_reachable_as_keras_random():
    assert rnncore.random is rrandom
    assert rnncore.random.SeedGenerator is rrandom.SeedGenerator


class Sampling(layers.Layer):
    """The reparameterisation of Keras's VAE example."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = rnncore.random.SeedGenerator(1337)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        eps = rnncore.random.normal(shape=ops.shape(z_mean), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * eps


def test_sampling_layer_vae_trains(rng):
    inputs = rnncore.Input((6,))
    h = layers.Dense(8, activation="relu")(inputs)
    z_mean, z_log_var = layers.Dense(2)(h), layers.Dense(2)(h)
    outputs = layers.Dense(6)(Sampling()([z_mean, z_log_var]))
    model = rnncore.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse")
    x = rng.random((64, 6)).astype("float32")
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(x, x, epochs=3, batch_size=16, verbose=0).history
    assert np.all(np.isfinite(history["loss"]))
    # the gradient flows through the sample to z_mean's and z_log_var's layers
    changed = [not np.array_equal(a, b) for a, b in zip(before, model.get_weights())]
    assert all(changed)
    # each step draws new noise: two predictions differ, as in Keras
    assert not np.array_equal(model.predict(x[:4], verbose=0), model.predict(x[:4], verbose=0))


def test_dropout_inside_a_recorded_call_passes_the_gradient(rng):
    class Drop(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.gen = rnncore.random.SeedGenerator(3)

        def call(self, x, training=False):
            return rnncore.random.dropout(x, 0.5, seed=self.gen) if training else x

    inputs = rnncore.Input((4,))
    outputs = layers.Dense(1)(Drop()(layers.Dense(5)(inputs)))
    model = rnncore.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="mse")
    first = model.layers[1].get_weights()[0].copy()
    model.fit(rng.random((16, 4)), rng.random((16, 1)), epochs=1, verbose=0)
    assert not np.array_equal(first, model.layers[1].get_weights()[0])
