"""Activations against Keras 3: a user's function (written with ops) in Activation, Dense and
Conv1D, forward and trained from equal weights; activations.get/serialize/deserialize; a user's
function that shares a built-in's name stays the user's (recurrent layers with a user's
function: test_layers_recurrent_activations)."""
import numpy as np
import pytest

import rnncore
from _parity import rel_err
from rnncore import activations


def _scaled_softplus(lib):
    return lambda x: lib.ops.softplus(x) * 2.0 - lib.ops.tanh(x) * x


def _gelu_lookalike(lib):
    def gelu(x):  # a user's own gelu: must not become the built-in
        return lib.ops.relu(x) * 0.5
    return gelu


def _model(lib, act, layer):
    if layer == "Dense":
        body = [lib.Input((4,)), lib.layers.Dense(3, activation=act), lib.layers.Dense(1)]
    elif layer == "Activation":
        body = [lib.Input((4,)), lib.layers.Dense(3), lib.layers.Activation(act),
                lib.layers.Dense(1)]
    else:
        body = [lib.Input((6, 2)), lib.layers.Conv1D(3, 2, activation=act),
                lib.layers.Flatten(), lib.layers.Dense(1)]
    return lib.Sequential(body)


@pytest.mark.parametrize("make", [_scaled_softplus, _gelu_lookalike])
@pytest.mark.parametrize("layer", ["Dense", "Activation", "Conv1D"])
def test_user_activation_forward_and_training_match_keras(keras, rng, make, layer):
    k_model = _model(keras, make(keras), layer)
    r_model = _model(rnncore, make(rnncore), layer)
    r_model.set_weights(k_model.get_weights())
    shape = (8, 4) if layer != "Conv1D" else (8, 6, 2)
    x = rng.normal(size=shape).astype("float32")
    y = rng.normal(size=(8, 1)).astype("float32")
    assert rel_err(np.asarray(r_model.predict(x, verbose=0)),
                   np.asarray(k_model.predict(x, verbose=0))) <= 1e-5
    k_model.compile(keras.optimizers.SGD(0.05), "mse")
    r_model.compile(rnncore.optimizers.SGD(0.05), "mse")
    for step in range(3):
        k_loss, r_loss = k_model.train_on_batch(x, y), r_model.train_on_batch(x, y)
        assert rel_err(r_loss, k_loss) <= 1e-5, step
    for r_w, k_w in zip(r_model.get_weights(), k_model.get_weights()):
        assert rel_err(r_w, k_w) <= 1e-5


def test_user_activation_gradient_by_finite_differences(rng):
    fn = _scaled_softplus(rnncore)
    x = rng.normal(size=(3, 4))
    dy = rng.normal(size=x.shape)
    grad = activations.backward(fn, x, activations.forward(fn, x), dy)
    num = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = 1e-6
        num[i] = np.sum(dy * (activations.forward(fn, x + e) - activations.forward(fn, x - e)))
    np.testing.assert_allclose(grad, num / 2e-6, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", ["relu", "tanh", "sigmoid", "softmax", "gelu", "silu",
                                  "mish", "linear"])
def test_get_returns_the_function(keras, name):
    x = np.linspace(-3, 3, 12, dtype="float32").reshape(3, 4)
    fn = activations.get(name)
    assert callable(fn) and fn.__name__ == keras.activations.get(name).__name__
    assert rel_err(fn(x), np.asarray(keras.activations.get(name)(x))) <= 1e-6
    assert activations.serialize(fn) == keras.activations.serialize(keras.activations.get(name))
    assert activations.deserialize(name) is fn
    assert activations.get(None)(x) is x


def test_registered_function_serializes_as_keras(keras):
    @keras.saving.register_keras_serializable(package="pkg_k", name="sq")
    def sq_k(x):
        return x ** 2

    @rnncore.saving.register_keras_serializable(package="pkg_k", name="sq")
    def sq(x):
        return x ** 2

    def plain(x):
        return x * 2

    assert activations.serialize(sq) == keras.activations.serialize(sq_k)
    assert activations.deserialize(activations.serialize(sq)) is sq
    assert activations.serialize(plain)["config"] == "plain"
    mine = rnncore.layers.Dense(2, activation=sq)
    assert mine.get_config()["activation"] == keras.layers.Dense(
        2, activation=sq_k).get_config()["activation"]
    again = rnncore.layers.Dense.from_config(mine.get_config())
    assert again.activation is sq
    x = np.ones((1, 3), "float32")
    layer = rnncore.layers.Activation(sq)
    assert layer.get_config()["activation"]["config"] == "pkg_k>sq"
    np.testing.assert_array_equal(layer(x), x)


def test_user_function_named_like_a_builtin_is_not_swapped():
    def relu(x):
        return x * 3.0

    layer = rnncore.layers.Activation(relu)
    assert layer.activation is relu
    np.testing.assert_allclose(layer(np.array([[-1.0, 2.0]], "float32")), [[-3.0, 6.0]])
    assert rnncore.layers.Activation(rnncore.activations.relu).activation == "relu"


def test_recurrent_layers_take_keras_function_objects(keras):
    layer = rnncore.layers.LSTM(2, activation=keras.activations.relu,
                                recurrent_activation=keras.activations.hard_sigmoid)
    assert (layer.activation, layer.recurrent_activation) == ("relu", "hard_sigmoid")


def test_unregistered_function_loads_with_custom_objects_as_keras(keras, rng, tmp_path):
    def plain_k(x):
        return keras.ops.tanh(x) * 2.0

    def plain(x):
        return rnncore.ops.tanh(x) * 2.0

    plain_k.__name__ = "plain"
    x = rng.normal(size=(4, 3)).astype("float32")
    mine = rnncore.Sequential([rnncore.Input((3,)), rnncore.layers.Dense(2, activation=plain)])
    path = str(tmp_path / "m.keras")
    mine.save(path)
    with pytest.raises(ValueError, match="plain"):
        rnncore.models.load_model(path)  # as Keras: the function must be named to load
    ours = rnncore.models.load_model(path, custom_objects={"plain": plain})
    theirs = keras.models.load_model(path, custom_objects={"plain": plain_k})
    assert ours.layers[-1].activation is plain
    assert rel_err(ours.predict(x, verbose=0), np.asarray(theirs.predict(x, verbose=0))) <= 1e-6
    again = rnncore.models.model_from_json(mine.to_json(), custom_objects={"plain": plain})
    assert again.layers[-1].activation is plain


def _block_model(lib):
    class Block(lib.layers.Layer):  # Keras's own idiom: activations.get / activations.<fn>
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = lib.layers.Dense(3)
            self.act = lib.activations.get("gelu")

        def call(self, x):
            a = lib.activations
            return (self.act(self.dense(x)) + a.relu(x[:, :3]) + a.elu(x[:, :3], 0.5)
                    + a.softmax(x[:, :3]) + a.mish(x[:, 1:4]) + a.leaky_relu(x[:, :3], 0.1))

    return lib.Sequential([lib.Input((4,)), Block(), lib.layers.Dense(1)])


def test_activation_functions_called_in_a_custom_layer_train_like_keras(keras, rng):
    k_model, r_model = _block_model(keras), _block_model(rnncore)
    r_model.set_weights(k_model.get_weights())
    x = rng.normal(size=(8, 4)).astype("float32")
    y = rng.normal(size=(8, 1)).astype("float32")
    k_model.compile(keras.optimizers.SGD(0.05), "mse")
    r_model.compile(rnncore.optimizers.SGD(0.05), "mse")
    for step in range(3):
        assert rel_err(r_model.train_on_batch(x, y), k_model.train_on_batch(x, y)) <= 1e-5
    for r_w, k_w in zip(r_model.get_weights(), k_model.get_weights()):
        assert rel_err(r_w, k_w) <= 1e-5
