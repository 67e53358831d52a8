"""keras.ops's max_pool, average_pool, adaptive_max_pool and adaptive_average_pool on rnncore:
values and recorded gradients against Keras's ops under tf.GradientTape (1D, 2D, 3D, both
layouts), finite differences, the ``ops.nn`` names, errors, and a custom layer calling them
trained as in Keras."""
import numpy as np
import pytest

import rnncore
from rnncore import ops
from rnncore.ops._tape import Tensor, backward, recording
from _parity import train_pair_on_batch

CF = "channels_first"

# id: (op name, input shape, arguments after the inputs)
CASES = {
    "max1d-same": ("max_pool", (2, 9, 3), (3, 2, "same")),
    "avg1d-cf": ("average_pool", (2, 3, 9), (2, None, "valid", CF)),
    "max2d": ("max_pool", (2, 7, 6, 3), ((2, 3),)),
    "avg2d-same": ("average_pool", (2, 7, 6, 3), (3, (2, 1), "same")),
    "max2d-cf-same": ("max_pool", (2, 3, 7, 6), (3, 2, "same", CF)),
    "max3d-same": ("max_pool", (2, 4, 5, 3, 2), (2, 1, "same")),
    "avg3d-cf": ("average_pool", (2, 2, 4, 5, 6), ((2, 2, 3), None, "valid", CF)),
    "adaptive-max1d": ("adaptive_max_pool", (2, 10, 3), ((4,),)),
    "adaptive-avg2d": ("adaptive_average_pool", (2, 7, 9, 3), ((3, 4),)),
    "adaptive-max2d-cf": ("adaptive_max_pool", (2, 3, 5, 7), ((2, 3), CF)),
    "adaptive-avg3d-cf": ("adaptive_average_pool", (2, 2, 5, 6, 4), ((2, 3, 3), CF)),
    "adaptive-max3d-up": ("adaptive_max_pool", (2, 3, 4, 3, 2), ((5, 6, 2),)),
}


def _run(case, x, seed):
    """rnncore's value and recorded input gradient for the objective Σ y · seed."""
    name, _, args = CASES[case]
    with recording():
        t = Tensor(x)
        y = getattr(ops, name)(t, *args)
        grads = backward([y], [seed(y.value.shape).astype(x.dtype)])
    return y.value, grads.of(t)


def _seed(shape):
    return np.random.default_rng(7).standard_normal(shape)


@pytest.mark.parametrize("case", sorted(CASES))
def test_value_and_gradient_match_keras_ops(keras, tf, rng, case):
    name, shape, args = CASES[case]
    x = rng.standard_normal(shape).astype("float32")
    xt = tf.constant(x)  # (Keras's adaptive pools read the static shape of a tensor)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        theirs = getattr(keras.ops, name)(xt, *args)
        objective = tf.reduce_sum(theirs * _seed(theirs.shape).astype("float32"))
    y, dx = _run(case, x, _seed)
    assert y.shape == tuple(theirs.shape) and y.dtype == np.float32
    np.testing.assert_allclose(y, theirs.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dx, tape.gradient(objective, xt).numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", ["max2d-cf-same", "avg2d-same", "avg3d-cf", "adaptive-max1d",
                                  "adaptive-avg2d", "adaptive-max3d-up"])
def test_gradient_matches_finite_differences(rng, case):
    name, shape, args = CASES[case]
    x = rng.standard_normal(tuple(min(n, 5) for n in shape))
    _, dx = _run(case, x, _seed)
    y = getattr(ops, name)(x, *args)
    w = _seed(y.shape)
    numeric = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        hi, lo = x.copy(), x.copy()
        hi[i] += 1e-6
        lo[i] -= 1e-6
        numeric[i] = np.sum(w * (getattr(ops, name)(hi, *args) -
                                 getattr(ops, name)(lo, *args))) / 2e-6
    np.testing.assert_allclose(dx, numeric, rtol=1e-6, atol=1e-8)


def test_nn_names_are_the_same_ops():
    for name in ("max_pool", "average_pool", "adaptive_max_pool", "adaptive_average_pool"):
        assert name in ops.__all__ and name in ops.nn.__all__
        x = np.arange(48.0).reshape(1, 4, 4, 3)
        np.testing.assert_array_equal(getattr(ops.nn, name)(x, 2), getattr(ops, name)(x, 2))


def test_average_pool_same_divides_by_the_real_cells():
    # corner windows of 'same' padding hold fewer real cells: ones stay ones
    y = ops.average_pool(np.ones((1, 5, 5, 1), "float32"), 3, 2, "same")
    np.testing.assert_array_equal(y, np.ones((1, 3, 3, 1), "float32"))


@pytest.mark.parametrize("call,error,text", [
    (lambda: ops.max_pool(np.ones((2, 4, 4, 1)), 0), ValueError, "pool_size=0"),
    (lambda: ops.max_pool(np.ones((2, 4, 4, 1)), (2, 2, 2)), ValueError, "pool_size=(2, 2, 2)"),
    (lambda: ops.average_pool(np.ones((2, 4, 4, 1)), 2, padding="full"), ValueError,
     "padding='full'"),
    (lambda: ops.max_pool(np.ones((2, 4, 1)), 5), ValueError,
     "Computed output size would be zero or negative"),
    (lambda: ops.max_pool(np.ones((4, 4)), 2), ValueError, "inputs.shape=(4, 4)"),
    (lambda: ops.max_pool(np.ones((2, 4, 4, 1)), 2, data_format="NHWC"), ValueError,
     "data_format='NHWC'"),
    (lambda: ops.adaptive_max_pool(np.ones((2, 4, 4, 1)), (2, 2, 2)), TypeError,
     "output_size=(2, 2, 2)"),
    (lambda: ops.adaptive_average_pool(np.ones((2, 2, 2, 2, 2, 1)), 1), ValueError,
     "1D, 2D, or 3D inputs only"),
])
def test_bad_arguments_are_clear_errors(call, error, text):
    with pytest.raises(error) as info:
        call()
    assert text in str(info.value)


def _custom_pool_model(lib):
    """A user's layer that pools with the ops in its call: its gradient is the ops' own."""

    class RowPool(lib.layers.Layer):
        def call(self, x):
            rows = lib.ops.max_pool(x, (2, 1)) + lib.ops.average_pool(x, (2, 3), (2, 1), "same")
            return rows * lib.ops.adaptive_max_pool(x, (4, 6))

    inp = lib.Input((8, 6, 3))
    x = RowPool()(lib.layers.Dense(4, activation="tanh")(inp))
    x = lib.layers.LSTM(5)(lib.layers.Reshape((4, 24))(x))
    model = lib.Model(inp, lib.layers.Dense(1)(x))
    model.compile(lib.optimizers.Adam(0.01), "mse")
    return model


def test_custom_layer_calling_the_ops_trains_as_keras(keras, rng):
    k_model, r_model = _custom_pool_model(keras), _custom_pool_model(rnncore)
    r_model.set_weights(k_model.get_weights())
    x = rng.standard_normal((8, 8, 6, 3)).astype("float32")
    train_pair_on_batch(k_model, r_model, x, x[:, :, :, 0].mean(axis=(1, 2))[:, None], steps=3)
