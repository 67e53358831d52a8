"""The later ``keras.ops`` of rnncore (``top_k``, ``segment_sum``, ``moments``, ``nan_to_num``,
``vstack``/``hstack``, ``dot_product_attention``, ``cond``/``while_loop``/``fori_loop``,
``linspace``) against Keras's: values, and gradients by finite differences (float64) and
against TensorFlow's ``GradientTape`` on the same code."""
import numpy as np
import pytest

from rnncore import ops
from rnncore.ops._tape import Tensor, backward, recording

CAUSAL_PAD = np.array([[True, True, True, False, True]])[:, None, None, :]  # (1, 1, 1, S)


def _moments(K, a, **kw):
    mean, variance = K.moments(a, **kw)
    return mean * 2.0 + variance


CASES = {
    "top_k_values": (lambda K, a: K.top_k(a, 3)[0], [(3, 5)]),
    "segment_sum": (lambda K, a: K.segment_sum(a, np.array([0, 2, 0, 1]), num_segments=3),
                    [(4, 3)]),
    "segment_sum_dropped_ids": (lambda K, a: K.segment_sum(a, np.array([0, 1, 0, -1]),
                                                           num_segments=2), [(4, 3)]),
    "segment_sum_sorted": (lambda K, a: K.segment_sum(a, np.array([0, 0, 1, 3]), sorted=True),
                           [(4, 2)]),
    "moments": (lambda K, a: _moments(K, a, axes=[0, 2]), [(3, 4, 2)]),
    "moments_keepdims": (lambda K, a: _moments(K, a, axes=[-1], keepdims=True), [(3, 4)]),
    "nn_moments": (lambda K, a: K.nn.moments(a, axes=[0])[1], [(5, 2)]),
    "nan_to_num": (lambda K, a: K.nan_to_num(a * 2.0, nan=1.0), [(3, 4)]),
    "vstack": (lambda K, a, b: K.vstack([a, b * 2.0]), [(2, 3), (1, 3)]),
    "vstack_1d": (lambda K, a, b: K.vstack([a, b]), [(3,), (2,)]),
    "hstack": (lambda K, a, b: K.hstack([a, b * 2.0]), [(2, 3), (2, 1)]),
    "hstack_1d": (lambda K, a, b: K.hstack([a, b]), [(3,), (2,)]),
    "attention": (lambda K, q, k, v: K.dot_product_attention(q, k, v),
                  [(2, 3, 2, 4), (2, 5, 2, 4), (2, 5, 2, 4)]),
    "attention_causal_mask_scale": (lambda K, q, k, v: K.dot_product_attention(
        q, k, v, mask=CAUSAL_PAD, is_causal=True, scale=0.3),
        [(1, 5, 2, 3), (1, 5, 2, 3), (1, 5, 2, 3)]),
    "attention_bias_grouped": (lambda K, q, k, v, b: K.nn.dot_product_attention(
        q, k, v, bias=b), [(2, 3, 4, 2), (2, 4, 2, 2), (2, 4, 2, 2), (1, 4, 3, 4)]),
    "cond": (lambda K, a: K.cond(K.sum(a) > 100.0, lambda: a * 2.0, lambda: K.tanh(a)),
             [(3, 4)]),
    "while_loop": (lambda K, a: K.while_loop(lambda i, x: i < 3,
                                             lambda i, x: (i + 1, x * K.tanh(x)), (0, a))[1],
                   [(3, 4)]),
    "while_loop_single_capped": (lambda K, a: K.while_loop(
        lambda x: K.sum(x) < 1e9, lambda x: K.sin(x) + x, a, maximum_iterations=2), [(3,)]),
    "fori_loop": (lambda K, a: K.fori_loop(0, 3, lambda i, x: x * 0.5 + K.sin(x) * i, a),
                  [(3, 4)]),
}


def _inputs(name, dtype="float64"):
    rng = np.random.default_rng(sorted(CASES).index(name))
    return [rng.normal(size=shape).astype(dtype) for shape in CASES[name][1]]


def _rnncore(name, xs, seed):
    f = CASES[name][0]
    with recording():
        ts = [Tensor(x) for x in xs]
        y = f(ops, *ts)
        g = backward([y], [seed.astype(y.dtype)])
    return y.value, [g.of(t) for t in ts]


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradient_matches_finite_differences(name):
    xs = _inputs(name)
    f = CASES[name][0]
    y = np.asarray(f(ops, *xs))
    w = np.random.default_rng(7).normal(size=y.shape)
    _, grads = _rnncore(name, xs, w)
    eps = 1e-6
    for k, x in enumerate(xs):
        numeric = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            hi, lo = [v.copy() for v in xs], [v.copy() for v in xs]
            hi[k][i] += eps
            lo[k][i] -= eps
            numeric[i] = np.sum(w * (np.asarray(f(ops, *hi)) - np.asarray(f(ops, *lo)))) / (
                2 * eps)
        got = np.zeros_like(x) if grads[k] is None else grads[k]
        np.testing.assert_allclose(got, numeric, rtol=1e-6, atol=1e-8, err_msg=f"input {k}")


@pytest.mark.parametrize("name", sorted(CASES))
def test_value_and_gradient_match_keras(name, keras, tf):
    xs = _inputs(name, "float32")
    f = CASES[name][0]
    variables = [tf.Variable(x) for x in xs]
    with tf.GradientTape() as tape:
        theirs = f(keras.ops, *variables)
        w = np.random.default_rng(7).normal(size=theirs.shape).astype("float32")
        objective = tf.reduce_sum(theirs * w)
    their_grads = tape.gradient(objective, variables)
    y, grads = _rnncore(name, xs, w)
    np.testing.assert_allclose(y, theirs.numpy(), rtol=1e-5, atol=1e-6)
    assert y.dtype == theirs.numpy().dtype
    for k, (mine, ref) in enumerate(zip(grads, their_grads)):
        ref = np.zeros_like(xs[k]) if ref is None else tf.convert_to_tensor(ref).numpy()
        mine = np.zeros_like(xs[k]) if mine is None else mine
        np.testing.assert_allclose(mine, ref, rtol=1e-4, atol=1e-5, err_msg=f"input {k}")


def test_top_k_indices_and_ties_as_keras(keras):
    x = np.array([[1.0, 3.0, 3.0, -2.0, 3.0], [0.5, 0.5, 0.5, 0.5, 0.5]], np.float32)
    values, indices = ops.top_k(x, 3)
    their_values, their_indices = keras.ops.top_k(x, 3)
    np.testing.assert_array_equal(values, their_values)
    np.testing.assert_array_equal(indices, their_indices)
    assert indices.dtype == their_indices.numpy().dtype


def test_nan_to_num_replaces_as_keras(keras):
    x = np.array([np.nan, np.inf, -np.inf, 1.5], np.float32)
    for kwargs in ({}, {"nan": 2.0, "posinf": 9.0, "neginf": -9.0}):
        np.testing.assert_array_equal(ops.nan_to_num(x, **kwargs),
                                      keras.ops.nan_to_num(x, **kwargs))
    ints = np.array([1, 2], np.int32)
    np.testing.assert_array_equal(ops.nan_to_num(ints), ints)


@pytest.mark.parametrize("kwargs", [
    {"start": 0, "stop": 1}, {"start": -1.0, "stop": 2.5, "num": 7, "endpoint": False},
    {"start": 2, "stop": 10, "num": 5, "dtype": "int32"},
    {"start": np.array([0.0, 1.0]), "stop": np.array([1.0, 3.0]), "num": 4, "axis": 1},
    {"start": 0.0, "stop": 1.0, "num": 1}])
def test_linspace_matches_keras(keras, kwargs):
    mine, theirs = ops.linspace(**kwargs), keras.ops.linspace(**kwargs)
    np.testing.assert_allclose(mine, theirs, rtol=1e-6)
    assert mine.dtype == theirs.numpy().dtype


@pytest.mark.parametrize("endpoint", [True, False])
def test_linspace_retstep_matches_keras(keras, endpoint):
    mine = ops.linspace(1.0, 4.0, num=4, endpoint=endpoint, retstep=True)
    theirs = keras.ops.linspace(1.0, 4.0, num=4, endpoint=endpoint, retstep=True)
    for a, b in zip(mine, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_while_loop_returns_the_structure_it_was_given():
    out = ops.while_loop(lambda i, s: i < 3, lambda i, s: (i + 1, s + i), [0, 0.0])
    assert isinstance(out, tuple) and out == (3, 3.0)
    assert ops.while_loop(lambda x: x < 10, lambda x: x * 2, 1) == 16
    with pytest.raises(ValueError, match="body"):
        ops.while_loop(lambda i, s: i < 3, lambda i, s: i + 1, (0, 0.0))


def test_top_k_and_segment_sum_name_the_bad_argument():
    with pytest.raises(ValueError, match="k=6"):
        ops.top_k(np.ones((2, 5)), 6)
    with pytest.raises(ValueError, match="segment_ids.shape"):
        ops.segment_sum(np.ones((4, 2)), np.array([0, 1]))
    with pytest.raises(ValueError, match="num_segments=2"):
        ops.segment_sum(np.ones((2, 2)), np.array([0, 2]), num_segments=2)
