"""Keras's control flow ops on rnncore (``map``, ``vectorized_map``, ``scan``,
``associative_scan``, ``switch``, ``vectorize``, ``custom_gradient``, ``jvp``) against Keras's:
values, structures and gradients through every iteration; and the new ops on a functional
model's symbolic tensors and in a user's layer, trained as Keras trains them."""
import numpy as np
import pytest

import rnncore
from _ops_parity import draw_inputs, parity_tests
from _tolerance import rel_err
from rnncore import ops


def _scan(K, a, b):
    # (Keras's TensorFlow scan stacks outputs shaped as the carry only)
    def step(carry, x):
        h = K.tanh(carry[0] * 0.5 + x["in"] * x["scale"])
        total = carry[1] + K.sum(h)
        return (h, total), (h * 2.0, total * 0.5)
    (last, total), (hs, totals) = K.scan(step, (b, K.sum(b) * 0.0),
                                         {"in": a, "scale": K.ones_like(a) * 0.7})
    return hs + last + K.expand_dims(totals, -1) + total


def _log1pexp(K):
    @K.custom_gradient
    def log1pexp(x):
        e = K.exp(x)

        def grad(*args, upstream=None):
            if upstream is None:
                (upstream,) = args
            return K.multiply(upstream, 1.0 - 1.0 / K.add(1.0, e)) * 3.0  # not the true one

        return K.log(1.0 + e), grad
    return log1pexp


CASES = {
    "map": (lambda K, a: K.map(lambda row: K.sum(row * row) + row[0], a), [(3, 4)]),
    "map_structure": (lambda K, a, b: K.map(lambda t: {"s": t[0] * t[1], "d": t[0] - t[1]},
                                             (a, b))["s"], [(3, 4), (3, 4)]),
    "vectorized_map": (lambda K, a: K.vectorized_map(lambda row: K.softmax(row), a), [(3, 4)]),
    "scan": (_scan, [(5, 3), (3,)]),
    "scan_reverse_length": (lambda K, a: K.scan(lambda c, _: (c * 0.9 + 1.0, c), a, length=3,
                                                reverse=True)[1], [(2,)]),
    "associative_scan": (lambda K, a: K.associative_scan(lambda x, y: x + y, a) * a,
                         [(4, 3)]),
    "associative_scan_axis_reverse": (lambda K, a, b: K.associative_scan(
        lambda x, y: (x[0] * y[0], x[1] + y[1]), (a, b), reverse=True, axis=1)[0],
        [(2, 4), (2, 4)]),
    "switch": (lambda K, a: K.switch(1, [lambda x: x * 2.0, K.sin], a)
               + K.switch(5, [lambda x: x * 2.0, K.sin], a), [(3,)]),
    "custom_gradient": (lambda K, a: _log1pexp(K)(a), [(3, 4)]),
}


# custom_gradient's gradient is not its function's, on purpose
(test_gradient_matches_finite_differences,
 test_value_and_gradient_match_keras_under_gradient_tape) = parity_tests(CASES, skip_finite_differences={"custom_gradient"})


def test_scan_without_outputs_matches_keras_and_vectorize_numpy(keras):
    x = np.arange(6.0, dtype="float32").reshape(3, 2)
    mine = ops.scan(lambda c, v: (c + v, None), np.zeros(2, "float32"), x)
    theirs = keras.ops.scan(lambda c, v: (c + v, None), np.zeros(2, "float32"), x)
    for m, t in zip(mine, theirs):
        np.testing.assert_allclose(m, t)
    # (Keras's TensorFlow vectorize refuses most calls: NumPy's is the reference)
    f = ops.vectorize(lambda a, b: a * b + 1.0)
    np.testing.assert_allclose(f(x, x[0]), np.vectorize(lambda a, b: a * b + 1.0)(x, x[0]))
    dot = ops.vectorize(lambda a, b: ops.sum(a * b), signature="(n),(n)->()")
    np.testing.assert_allclose(dot(x, x[:1]), np.sum(x * x[:1], axis=-1))


@pytest.mark.parametrize("has_aux", [False, True])
def test_jvp_matches_keras(keras, has_aux):
    a, b = draw_inputs([(2, 3), (3,)], 3, "float32")
    ta, tb = draw_inputs([(2, 3), (3,)], 4, "float32")

    def fun(K):
        def f(x, y):
            out = {"prod": K.tanh(x) * y, "total": K.sum(K.exp(x) * y)}
            return (out, K.mean(x)) if has_aux else out
        return f

    mine = ops.jvp(fun(ops), (a, b), (ta, tb), has_aux=has_aux)
    tensors = [keras.ops.convert_to_tensor(v) for v in (a, b, ta, tb)]
    theirs = keras.ops.jvp(fun(keras.ops), tuple(tensors[:2]), tuple(tensors[2:]),
                           has_aux=has_aux)
    for part in (0, 1):
        for key in ("prod", "total"):
            np.testing.assert_allclose(mine[part][key], theirs[part][key], rtol=1e-5,
                                       atol=1e-5)
    if has_aux:
        np.testing.assert_allclose(mine[2], theirs[2], rtol=1e-6)


def test_control_flow_names_bad_arguments_as_keras():
    with pytest.raises(TypeError, match="`f` should be a callable"):
        ops.scan(3, 0.0, np.ones(2))
    with pytest.raises(ValueError, match="Received: unroll=0"):
        ops.scan(lambda c, x: (c, x), 0.0, np.ones(2), unroll=0)
    with pytest.raises(ValueError, match="no `xs` to scan over"):
        ops.scan(lambda c, x: (c, x), 0.0)
    with pytest.raises(ValueError, match="same first dimension"):
        ops.associative_scan(lambda x, y: x, (np.ones(2), np.ones(3)))


def _functional(lib):
    ops_ = lib.ops
    x = lib.Input((6,))
    h = lib.layers.Dense(6)(x)
    y = (ops_.arctan(h) + ops_.celu(h) + ops_.cumprod(ops_.sigmoid(h), axis=-1)
         + ops_.logaddexp(h, 0.5) * ops_.nanmean(h, axis=-1, keepdims=True)
         + ops_.roll(h, 1, axis=1) + ops_.hard_silu(h) + ops_.quantile(h, 0.3, axis=-1)[:, None])
    y = ops_.layer_normalization(y) + ops_.fmax(h, 0.0)
    return lib.Model(x, lib.layers.Dense(1)(y))


def test_new_ops_on_symbolic_tensors_train_like_keras(keras, rng):
    k_model, r_model = _functional(keras), _functional(rnncore)
    r_model.set_weights(k_model.get_weights())
    x = rng.normal(size=(16, 6)).astype("float32")
    y = rng.normal(size=(16, 1)).astype("float32")
    assert rel_err(r_model.predict(x, verbose=0), k_model.predict(x, verbose=0)) <= 1e-5
    k_model.compile(keras.optimizers.SGD(0.05), "mse")
    r_model.compile(rnncore.optimizers.SGD(0.05), "mse")
    for step in range(3):
        assert rel_err(r_model.train_on_batch(x, y), k_model.train_on_batch(x, y)) <= 1e-5, step
    for r_w, k_w in zip(r_model.get_weights(), k_model.get_weights()):
        assert rel_err(r_w, k_w) <= 1e-4


def _custom_layer_model(lib):
    ops_ = lib.ops

    class Mixer(lib.layers.Layer):  # a user's layer: its weights read by the new ops
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], 4), initializer="glorot_uniform")
            self.scale = self.add_weight(shape=(4,), initializer="ones")

        def call(self, x):
            h = ops_.matmul(x, self.w)
            h = ops_.rms_normalization(h, scale=self.scale) + ops_.sinh(h * 0.5)
            h = h + ops_.cumsum(ops_.softmax(h), axis=-1) * ops_.logaddexp(h, -h)
            steps = ops_.scan(lambda c, row: (c * 0.5 + row, c), ops_.zeros_like(h[0]), h)[1]
            return ops_.concatenate([steps, ops_.sparsemax(h), ops_.normalize(h, order=1)], -1)

    return lib.Sequential([lib.Input((5,)), Mixer(), lib.layers.Dense(1)])


def test_custom_layer_with_new_ops_trains_like_keras(keras, rng):
    k_model, r_model = _custom_layer_model(keras), _custom_layer_model(rnncore)
    r_model.set_weights(k_model.get_weights())
    x = rng.normal(size=(6, 5)).astype("float32")
    y = rng.normal(size=(6, 1)).astype("float32")
    k_model.compile(keras.optimizers.Adam(0.01), "mse")
    r_model.compile(rnncore.optimizers.Adam(0.01), "mse")
    for step in range(3):
        assert rel_err(r_model.train_on_batch(x, y), k_model.train_on_batch(x, y)) <= 1e-5, step
    for r_w, k_w in zip(r_model.get_weights(), k_model.get_weights()):
        assert rel_err(r_w, k_w) <= 1e-4
