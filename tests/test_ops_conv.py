"""``ops.conv``, ``conv_transpose``, ``depthwise_conv`` and ``separable_conv`` against Keras's
``keras.ops`` under ``tf.GradientTape`` (values and the gradients of inputs and kernels), the
gradients by finite differences in float64, the argument errors, and a custom layer calling
``ops.conv`` trained with fit in both libraries."""
import numpy as np
import pytest

import rnncore
from rnncore import ops
from rnncore.ops._tape import Tensor, backward, recording

# name -> (f(K, x, kernel(s)...), input shape, kernel shape(s)); channels_last unless said
CASES = {
    "1d_valid": (lambda K, x, w: K.conv(x, w), (2, 9, 3), [(3, 3, 4)]),
    "1d_same_strided": (lambda K, x, w: K.conv(x, w, 2, "same"), (2, 9, 3), [(3, 3, 4)]),
    "1d_dilated": (lambda K, x, w: K.conv(x, w, dilation_rate=2, padding="same"),
                   (2, 9, 3), [(3, 3, 2)]),
    "2d_valid": (lambda K, x, w: K.conv(x, w), (2, 7, 6, 3), [(3, 2, 3, 4)]),
    "2d_same": (lambda K, x, w: K.conv(x, w, padding="same"), (2, 7, 6, 3), [(3, 3, 3, 4)]),
    "2d_strides": (lambda K, x, w: K.conv(x, w, (2, 3), "same"), (2, 8, 7, 2),
                   [(3, 2, 2, 3)]),
    "2d_even_kernel_same": (lambda K, x, w: K.conv(x, w, 2, "same"), (2, 7, 8, 2),
                            [(4, 2, 2, 3)]),
    "2d_dilated": (lambda K, x, w: K.conv(x, w, dilation_rate=(2, 1)), (2, 8, 6, 2),
                   [(3, 3, 2, 3)]),
    "2d_grouped": (lambda K, x, w: K.conv(x, w, padding="same"), (2, 6, 5, 4), [(3, 3, 2, 6)]),
    "2d_channels_first": (lambda K, x, w: K.conv(x, w, 2, "same", "channels_first"),
                          (2, 3, 7, 6), [(3, 3, 3, 4)]),
    "3d_same": (lambda K, x, w: K.conv(x, w, padding="same"), (2, 5, 4, 6, 2),
                [(3, 2, 3, 2, 3)]),
    "3d_strided": (lambda K, x, w: K.conv(x, w, (1, 2, 2)), (2, 5, 6, 6, 2),
                   [(2, 3, 3, 2, 3)]),
    "transpose_1d": (lambda K, x, w: K.conv_transpose(x, w, 2, "same"), (2, 5, 3),
                     [(3, 4, 3)]),
    "transpose_2d_valid": (lambda K, x, w: K.conv_transpose(x, w, (2, 3)), (2, 4, 3, 3),
                           [(3, 2, 2, 3)]),
    "transpose_2d_same": (lambda K, x, w: K.conv_transpose(x, w, 2, "same"), (2, 4, 5, 3),
                          [(3, 3, 2, 3)]),
    "transpose_2d_output_padding": (
        lambda K, x, w: K.conv_transpose(x, w, 3, "same", output_padding=(1, 2)),
        (2, 4, 3, 2), [(3, 4, 3, 2)]),
    "transpose_2d_valid_output_padding": (
        lambda K, x, w: K.conv_transpose(x, w, 2, "valid", output_padding=1),
        (2, 4, 3, 2), [(3, 3, 3, 2)]),
    "transpose_3d": (lambda K, x, w: K.conv_transpose(x, w, 2, "same"), (2, 3, 2, 3, 2),
                     [(2, 3, 3, 3, 2)]),
    "depthwise_1d": (lambda K, x, w: K.depthwise_conv(x, w, 2, "same"), (2, 9, 3),
                     [(3, 3, 2)]),
    "depthwise_2d": (lambda K, x, w: K.depthwise_conv(x, w, 1, "same"), (2, 6, 5, 3),
                     [(3, 3, 3, 2)]),
    "separable_2d": (lambda K, x, d, p: K.separable_conv(x, d, p, 2, "same"), (2, 6, 5, 3),
                     [(3, 3, 3, 2), (1, 1, 6, 4)]),
}


def _arrays(name, dtype):
    rng = np.random.default_rng(sorted(CASES).index(name))
    _, x_shape, k_shapes = CASES[name]
    return [rng.standard_normal(s).astype(dtype) for s in [x_shape] + list(k_shapes)]


def _rnncore(name, arrays, seed):
    with recording():
        ts = [Tensor(a) for a in arrays]
        y = CASES[name][0](ops, *ts)
        grads = backward([y], [seed.astype(y.dtype)])
    return y.value, [grads.of(t) for t in ts]


@pytest.mark.parametrize("name", sorted(CASES))
def test_value_and_gradients_match_keras_ops(keras, tf, name):
    arrays = _arrays(name, "float32")
    variables = [tf.Variable(a) for a in arrays]
    with tf.GradientTape() as tape:
        theirs = CASES[name][0](keras.ops, *variables)
        seed = np.random.default_rng(7).standard_normal(theirs.shape).astype("float32")
        objective = tf.reduce_sum(theirs * seed)
    their_grads = tape.gradient(objective, variables)
    y, grads = _rnncore(name, arrays, seed)
    assert y.shape == tuple(theirs.shape) and y.dtype == np.float32
    np.testing.assert_allclose(y, theirs.numpy(), rtol=1e-5, atol=1e-5)
    # eager (unrecorded) calls give the same plain array
    np.testing.assert_array_equal(CASES[name][0](ops, *arrays), y)
    for k, (mine, ref) in enumerate(zip(grads, their_grads)):
        ref = tf.convert_to_tensor(ref).numpy()
        np.testing.assert_allclose(mine, ref, rtol=1e-4, atol=1e-4, err_msg=f"argument {k}")


@pytest.mark.parametrize("name", ["1d_dilated", "2d_strides", "2d_grouped",
                                  "2d_channels_first", "transpose_2d_output_padding",
                                  "separable_2d"])
def test_gradients_match_finite_differences(name):
    arrays = _arrays(name, "float64")
    f = CASES[name][0]
    seed = np.random.default_rng(7).standard_normal(np.shape(f(ops, *arrays)))
    _, grads = _rnncore(name, arrays, seed)
    eps = 1e-6
    for k, a in enumerate(arrays):
        numeric = np.zeros_like(a)
        for i in np.ndindex(a.shape):
            hi, lo = [v.copy() for v in arrays], [v.copy() for v in arrays]
            hi[k][i] += eps
            lo[k][i] -= eps
            numeric[i] = np.sum(seed * (f(ops, *hi) - f(ops, *lo))) / (2 * eps)
        np.testing.assert_allclose(grads[k], numeric, rtol=1e-6, atol=1e-8,
                                   err_msg=f"argument {k}")


def test_nn_namespace_and_float64():
    x, w = np.ones((1, 4, 4, 2)), np.ones((3, 3, 2, 1))
    y = ops.nn.conv(x, w, padding="same")
    assert y.dtype == np.float64 and y[0, 1, 1, 0] == 18.0 and y[0, 0, 0, 0] == 8.0


@pytest.mark.parametrize("call,text", [
    (lambda: ops.conv(np.ones((2, 5, 5, 3)), np.ones((3, 3, 2, 4))),
     "input channels=3, kernel input channels=2"),
    (lambda: ops.conv(np.ones((2, 5, 5, 3)), np.ones((3, 3, 4))),
     "Kernel shape must have the same length as input"),
    (lambda: ops.conv(np.ones((2, 5, 5, 3)), np.ones((3, 3, 3, 4)), padding="full"),
     "`padding` must be either `'valid'` or `'same'`. Received 'full'"),
    (lambda: ops.conv(np.ones((2, 5, 5, 3)), np.ones((3, 3, 3, 4)), strides=(1, 0)),
     "strides=(1, 0)"),
    (lambda: ops.conv(np.ones((2, 5, 5, 3)), np.ones((3, 3, 3, 4)), data_format="NHWC"),
     "data_format='NHWC'"),
    (lambda: ops.conv(np.ones((2, 2, 2, 3)), np.ones((3, 3, 3, 4))),
     "Computed output size would be zero or negative"),
    (lambda: ops.conv(np.ones((5, 3)), np.ones((3, 3, 4))), "inputs.shape=(5, 3)"),
    (lambda: ops.conv_transpose(np.ones((2, 5, 3)), np.ones((3, 4, 3)), 2,
                                output_padding=2), "output_padding=(2,)"),
])
def test_bad_arguments_are_named(call, text):
    with pytest.raises(ValueError) as info:
        call()
    assert text in str(info.value)


def _conv_layer_class(lib):
    class Conv2DByOps(lib.layers.Layer):
        """A custom layer calling ops.conv, as users write them."""

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(3, 3, input_shape[-1], 4), name="kernel")
            self.bias = self.add_weight(shape=(4,), initializer="zeros", name="bias")

        def call(self, x):
            return lib.ops.relu(lib.ops.conv(x, self.kernel, 2, "same") + self.bias)
    return Conv2DByOps


def test_a_custom_layer_calling_conv_trains_as_in_keras(keras, rng):
    x = rng.standard_normal((16, 8, 6, 2)).astype("float32")
    y = rng.standard_normal((16, 3)).astype("float32")
    models = []
    for lib in (keras, rnncore):
        inp = lib.Input((8, 6, 2))
        h = lib.layers.Flatten()(_conv_layer_class(lib)()(inp))
        model = lib.Model(inp, lib.layers.Dense(3)(h))
        model.compile(optimizer=lib.optimizers.SGD(0.05), loss="mse")
        models.append(model)
    models[1].set_weights(models[0].get_weights())
    k_hist = models[0].fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    r_hist = models[1].fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    np.testing.assert_allclose(r_hist["loss"], k_hist["loss"], rtol=1e-4)
    for r, k in zip(models[1].get_weights(), models[0].get_weights()):
        np.testing.assert_allclose(r, k, rtol=1e-4, atol=1e-5)


def test_conv_on_symbolic_tensors_trains_as_in_keras(keras, rng):
    """ops.conv with a constant kernel as a node of a functional graph: the gradient flows
    through it to the layers before, as in Keras."""
    kernel = rng.standard_normal((3, 3, 4, 2)).astype("float32")
    x = rng.standard_normal((8, 6, 5, 3)).astype("float32")
    y = rng.standard_normal((8, 1)).astype("float32")
    models = []
    for lib in (keras, rnncore):
        inp = lib.Input((6, 5, 3))
        h = lib.ops.conv(lib.layers.Dense(4)(inp), kernel, padding="same")
        model = lib.Model(inp, lib.layers.Dense(1)(lib.layers.Flatten()(h)))
        model.compile(optimizer=lib.optimizers.SGD(0.01), loss="mse")
        models.append(model)
    models[1].set_weights(models[0].get_weights())
    k_hist = models[0].fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0).history
    r_hist = models[1].fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0).history
    np.testing.assert_allclose(r_hist["loss"], k_hist["loss"], rtol=1e-4)
    for r, k in zip(models[1].get_weights(), models[0].get_weights()):
        np.testing.assert_allclose(r, k, rtol=1e-4, atol=1e-5)
