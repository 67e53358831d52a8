"""``rnncore.ops`` against Keras's ``keras.ops``: every op's value and gradient, the gradient
checked by finite differences (float64) and against TensorFlow's ``GradientTape`` on the same
code (each case is written once, as a function of the ops module)."""
import numpy as np
import pytest

from _ops_parity import parity_tests
from rnncore import ops

# name -> (f(K, *xs) written with the ops module K, input shapes); inputs are drawn away from
# the kinks of relu, abs, clip, max, so finite differences see a smooth function
CASES = {
    "add_broadcast": (lambda K, a, b: K.add(a, b), [(3, 4), (4,)]),
    "operators": (lambda K, a, b: (a * b - a / (b * b + 1.0)) ** 2 + 2.0 * a - b,
                  [(3, 4), (3, 1)]),
    "rsub_rdiv": (lambda K, a: 1.0 - 2.0 / (a * a + 1.0), [(5,)]),
    "matmul": (lambda K, a, b: K.matmul(a, b), [(3, 4), (4, 2)]),
    "matmul_batched": (lambda K, a, b: K.matmul(a, b), [(2, 3, 4), (4, 5)]),
    "matmul_vector": (lambda K, a, b: K.matmul(a, b), [(2, 3, 4), (4,)]),
    "matmul_operator": (lambda K, a, b: a @ b, [(2, 3, 4), (2, 4, 3)]),
    "dot": (lambda K, a, b: K.dot(a, b), [(3, 4), (4, 2)]),
    "einsum": (lambda K, a, b: K.einsum("btd,bsd->bts", a, b), [(2, 3, 4), (2, 5, 4)]),
    "einsum_inner_sum": (lambda K, a, b: K.einsum("ij,jk->k", a, b), [(3, 4), (4, 2)]),
    "sum": (lambda K, a: K.sum(a, axis=1), [(3, 4, 2)]),
    "sum_keepdims": (lambda K, a: K.sum(a, axis=(0, 2), keepdims=True), [(3, 4, 2)]),
    "mean": (lambda K, a: K.mean(a, axis=-1), [(3, 4)]),
    "mean_all": (lambda K, a: K.mean(a), [(3, 4)]),
    "max": (lambda K, a: K.max(a, axis=1), [(3, 4)]),
    "min": (lambda K, a: K.min(a, axis=0, keepdims=True), [(3, 4)]),
    "var": (lambda K, a: K.var(a, axis=-1), [(3, 4)]),
    "std": (lambda K, a: K.std(a, axis=0), [(3, 4)]),
    "concatenate": (lambda K, a, b: K.concatenate([a, b], axis=-1), [(2, 3), (2, 4)]),
    "stack": (lambda K, a, b: K.stack([a, b], axis=1), [(2, 3), (2, 3)]),
    "split": (lambda K, a: K.split(a, 2, axis=1)[1] * 3.0 + K.split(a, 2, axis=1)[0],
              [(2, 4)]),
    "reshape": (lambda K, a: K.reshape(a, (4, 3)), [(2, 6)]),
    "transpose": (lambda K, a: K.transpose(a, (2, 0, 1)), [(2, 3, 4)]),
    "expand_squeeze": (lambda K, a: K.squeeze(K.expand_dims(a, 1) * 2.0, axis=1), [(3, 4)]),
    "slicing": (lambda K, a: a[:, 1:3] * a[:, -1:], [(3, 5)]),
    "slicing_step": (lambda K, a: a[0, ::2, None], [(3, 5)]),
    "where": (lambda K, a, b: K.where(a > 0.1, a, b * 2.0), [(3, 4), (3, 4)]),
    "clip": (lambda K, a: K.clip(a, -0.5, 0.5), [(3, 4)]),
    "maximum": (lambda K, a, b: K.maximum(a, b), [(3, 4), (4,)]),
    "minimum": (lambda K, a, b: K.minimum(a, b), [(3, 4), (3, 4)]),
    "cast": (lambda K, a: K.cast(a, "float64") * 2.0, [(3,)]),
    "exp_log": (lambda K, a: K.log(K.exp(a) + 1.0), [(3, 4)]),
    "sqrt_square": (lambda K, a: K.sqrt(K.square(a) + 1.0), [(3, 4)]),
    "abs": (lambda K, a: K.abs(a), [(3, 4)]),
    "power": (lambda K, a, b: K.power(K.exp(a), b), [(3,), (3,)]),
    "tanh": (lambda K, a: K.tanh(a), [(3, 4)]),
    "sigmoid": (lambda K, a: K.sigmoid(a), [(3, 4)]),
    "relu": (lambda K, a: K.relu(a), [(3, 4)]),
    "softmax": (lambda K, a: K.softmax(a, axis=-1), [(3, 4)]),
    "softmax_axis": (lambda K, a: K.softmax(a, axis=1), [(2, 3, 4)]),
    "log_softmax": (lambda K, a: K.log_softmax(a), [(3, 4)]),
    "softplus": (lambda K, a: K.softplus(a), [(3, 4)]),
    "elu": (lambda K, a: K.elu(a), [(3, 4)]),
    "selu": (lambda K, a: K.selu(a), [(3, 4)]),
    "silu": (lambda K, a: K.silu(a), [(3, 4)]),
    "leaky_relu": (lambda K, a: K.leaky_relu(a), [(3, 4)]),
    "nn_softmax_sigmoid": (lambda K, a: K.nn.softmax(a) + K.nn.sigmoid(a), [(3, 4)]),
    "logsumexp": (lambda K, a: K.logsumexp(a, axis=-1), [(3, 4)]),
    "take": (lambda K, a: K.take(a, np.array([[0, 2], [2, 2]]), axis=0), [(3, 4)]),
    "tile": (lambda K, a: K.tile(a, (2, 3)), [(2, 3)]),
    "repeat": (lambda K, a: K.repeat(a, 2, axis=1), [(2, 3)]),
    "stop_gradient": (lambda K, a, b: a * K.stop_gradient(b) + b, [(3,), (3,)]),
    "convert_to_tensor": (lambda K, a: K.convert_to_tensor(a) * 2.0, [(3,)]),
    "log1p_expm1": (lambda K, a: K.log1p(K.abs(a)) + K.expm1(a), [(3, 4)]),
    "rsqrt": (lambda K, a: K.rsqrt(K.square(a) + 0.5), [(3, 4)]),
    "sin_cos": (lambda K, a: K.sin(a) * K.cos(a), [(3, 4)]),
    "relu6_hard_sigmoid": (lambda K, a: K.relu6(4.0 * a) + K.hard_sigmoid(2.0 * a), [(3, 4)]),
    "softsign": (lambda K, a: K.softsign(a), [(3, 4)]),
    "mod": (lambda K, a, b: K.mod(a, K.abs(b) + 3.0), [(3, 4), (3, 4)]),
    "sign_floor": (lambda K, a: a * K.sign(a) + K.floor(a) + K.round(a), [(3, 4)]),
    "cumsum": (lambda K, a: K.cumsum(a, axis=1), [(3, 4)]),
    "flip": (lambda K, a: K.flip(a, axis=0) * a, [(3, 4)]),
    # (a * 1.0: Keras's swapaxes and moveaxis need a tensor, TF's variables lack ndim)
    "swapaxes_moveaxis": (lambda K, a: (lambda b: K.swapaxes(b, 0, 2) * 2.0 + K.transpose(
        K.moveaxis(b, 0, 2), (1, 0, 2)))(a * 1.0), [(2, 3, 2)]),
    "broadcast_to": (lambda K, a: K.broadcast_to(a, (2, 3, 4)), [(3, 1)]),
    "tensordot": (lambda K, a, b: K.tensordot(a, b, axes=([2], [0])), [(2, 3, 4), (4, 5)]),
    "dot_nd": (lambda K, a, b: K.dot(a, b), [(2, 3, 4), (4, 5)]),
    "unstack": (lambda K, a: K.unstack(a, axis=1)[2] * 2.0, [(3, 4)]),
    "norm": (lambda K, a: K.norm(a, axis=-1), [(3, 4)]),
    "amax_keepdims": (lambda K, a: K.amax(a, axis=(0, 1), keepdims=True), [(3, 4, 2)]),
    "fancy_index": (lambda K, a: K.take(a, np.array([1, 1, 0]), axis=1), [(3, 4)]),
    "where_broadcast": (lambda K, a, b: K.where(a > 0.2, a, b), [(3, 4), (4,)]),
    "pow_scalar": (lambda K, a: K.power(K.abs(a) + 1.0, 3.0), [(3, 4)]),
    "sce": (lambda K, a: K.sparse_categorical_crossentropy(np.array([0, 2, 1]), K.softmax(a)),
            [(3, 4)]),
    "sce_logits": (lambda K, a: K.sparse_categorical_crossentropy(np.array([0, 2, 1]), a,
                                                                  from_logits=True), [(3, 4)]),
    "tril_triu": (lambda K, a: K.tril(a) * 2.0 + K.triu(a, k=1), [(2, 3, 3)]),
    "pad": (lambda K, a: K.pad(a, ((1, 0), (2, 1))) * 2.0, [(3, 4)]),
    "slice": (lambda K, a: K.slice(a, (1, 0), (2, 3)), [(3, 4)]),
    "prod": (lambda K, a: K.prod(a, axis=1), [(3, 4)]),
    "prod_all": (lambda K, a: K.prod(a), [(2, 3)]),
    "reciprocal_outer": (lambda K, a, b: K.outer(K.reciprocal(a), b), [(3,), (4,)]),
    "log2_log10": (lambda K, a: K.log2(K.abs(a)) + K.log10(K.abs(a) + 1.0), [(3, 4)]),
    "log_sigmoid": (lambda K, a: K.log_sigmoid(a), [(3, 4)]),
    "erf": (lambda K, a: K.erf(a), [(3, 4)]),
    "gelu": (lambda K, a: K.gelu(a) + K.nn.gelu(a, approximate=False), [(3, 4)]),
    "sort": (lambda K, a: K.sort(a, axis=-1) * K.arange(4.0), [(3, 4)]),
    "take_along_axis": (lambda K, a: K.take_along_axis(a * 1.0, np.array(
        [[0, 0], [3, 1], [2, 2]]), axis=1), [(3, 4)]),
    "bce": (lambda K, a, b: K.binary_crossentropy(K.sigmoid(a) * 0.0 + 0.3,
                                                  K.sigmoid(b)), [(3, 4), (3, 4)]),
    "bce_logits": (lambda K, a, b: K.binary_crossentropy(K.sigmoid(a), b, from_logits=True),
                   [(3, 4), (3, 4)]),
    "cce": (lambda K, a, b: K.categorical_crossentropy(K.softmax(a), K.softmax(b)),
            [(3, 4), (3, 4)]),
    "cce_logits": (lambda K, a, b: K.categorical_crossentropy(K.softmax(a), b,
                                                              from_logits=True), [(3, 4), (3, 4)]),
}


CAUSAL_PAD = np.array([[True, True, True, False, True]])[:, None, None, :]  # (1, 1, 1, S)


def _moments(K, a, **kw):
    mean, variance = K.moments(a, **kw)
    return mean * 2.0 + variance


CASES.update({  # the ops added with the functional graph's op nodes
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
})


# stop_gradient's function has a derivative its gradient deliberately leaves out
(test_gradient_matches_finite_differences,
 test_value_and_gradient_match_keras_ops_under_gradient_tape) = parity_tests(
    CASES, skip_finite_differences={"stop_gradient"})


def test_inference_records_nothing_and_returns_arrays():
    x = np.ones((2, 3), "float32")
    y = ops.tanh(ops.matmul(x, np.ones((3, 2), "float32"))) + 1.0
    assert type(y) is np.ndarray


def test_an_op_on_mismatched_shapes_names_both_shapes():
    with pytest.raises(ValueError, match=r"matmul.*\(2, 3\).*\(4, 2\)"):
        ops.matmul(np.ones((2, 3)), np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"add.*\(2, 3\).*\(4,\)"):
        ops.add(np.ones((2, 3)), np.ones(4))
    with pytest.raises(ValueError, match=r"concatenate.*\[\(2, 3\), \(3, 3\)\]"):
        ops.concatenate([np.ones((2, 3)), np.ones((3, 3))], axis=1)


def test_old_recurrent_names_are_not_in_the_keras_namespace():
    assert "lstm_forward" not in ops.__all__


def test_every_name_is_kerass(keras):
    # rnncore.ops offers a subset of keras.ops, under Keras's names (and ops.nn of keras.ops.nn)
    assert [n for n in ops.__all__ if not hasattr(keras.ops, n)] == []
    assert [n for n in ops.nn.__all__ if not hasattr(keras.ops.nn, n)] == []


def test_python_numbers_convert_to_floatx_as_in_keras(keras):
    for value in ([1.0, 2.5], 3.0, [[1, 2]]):
        mine, theirs = ops.convert_to_tensor(value), keras.ops.convert_to_tensor(value)
        assert mine.dtype.name == theirs.dtype.name, value
