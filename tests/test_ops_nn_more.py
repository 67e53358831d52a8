"""The newer ``keras.ops.nn`` functions (activations, normalizations, ``psnr``, ``multi_hot``,
``depth_to_space``/``space_to_depth``) and the matching ``keras.activations`` against Keras's:
values, dtypes and gradients (finite differences and TensorFlow's ``GradientTape``), the
activations by name in layers that train, and the errors Keras raises."""
import numpy as np
import pytest

import rnncore
from _ops_parity import parity_tests
from _tolerance import rel_err
from rnncore import ops

CASES = {
    "celu": (lambda K, a: K.celu(a) + K.nn.celu(a, alpha=0.5), [(3, 4)]),
    "elu_alpha": (lambda K, a: K.elu(a, alpha=0.3) + K.nn.elu(a, 2.0), [(3, 4)]),
    "glu": (lambda K, a: K.sum(K.glu(a)) + K.nn.glu(a, axis=0), [(2, 4)]),
    "hard_silu_swish": (lambda K, a: K.hard_silu(a * 4.0) + K.hard_swish(a), [(3, 4)]),
    "hard_tanh": (lambda K, a: K.hard_tanh(a * 0.7), [(3, 4)]),
    "hard_shrink": (lambda K, a: K.hard_shrink(a) + K.hard_shrink(a, threshold=1.2), [(3, 4)]),
    "soft_shrink": (lambda K, a: K.soft_shrink(a) * 2.0 + K.nn.soft_shrink(a, 0.8), [(3, 4)]),
    "sparse_plus_sigmoid": (lambda K, a: K.sparse_plus(a * 1.3) + K.sparse_sigmoid(a * 0.9),
                            [(3, 4)]),
    "squareplus": (lambda K, a: K.squareplus(a) + K.squareplus(a, b=1), [(3, 4)]),
    "tanh_shrink": (lambda K, a: K.tanh_shrink(a), [(3, 4)]),
    "threshold": (lambda K, a: K.threshold(a, 0.2, -3.0), [(3, 4)]),
    "sparsemax": (lambda K, a: K.sparsemax(a * 2.0), [(3, 5)]),
    "sparsemax_axis0": (lambda K, a: K.nn.sparsemax(a * 2.0, axis=0), [(4, 3)]),
    "normalize": (lambda K, a: K.normalize(a), [(3, 4)]),
    "normalize_order1": (lambda K, a: K.nn.normalize(a, axis=0, order=1), [(3, 4)]),
    "rms_normalization": (lambda K, a, s: K.rms_normalization(a, scale=s), [(3, 4), (4,)]),
    "layer_normalization": (lambda K, a, g, b: K.layer_normalization(a, g, b),
                            [(3, 4), (4,), (4,)]),
    "layer_normalization_axes": (lambda K, a, g: K.nn.layer_normalization(
        a, gamma=g, axis=(1, 2)), [(2, 3, 4), (3, 4)]),
    "batch_normalization": (lambda K, a, m, v, o, s: K.batch_normalization(
        a, m, K.abs(v) + 0.5, axis=1, offset=o, scale=s), [(2, 3, 4), (3,), (3,), (3,), (3,)]),
    "batch_normalization_last": (lambda K, a, m, v: K.nn.batch_normalization(
        a, m, K.abs(v) + 0.5, axis=-1), [(3, 4), (4,), (4,)]),
    "psnr": (lambda K, a, b: K.psnr(a, b, 2.0), [(3, 4), (3, 4)]),
    "depth_to_space": (lambda K, a: K.depth_to_space(a, 2), [(1, 2, 3, 8)]),
    "space_to_depth": (lambda K, a: K.nn.space_to_depth(a, 2), [(1, 4, 2, 3)]),
    "unfold": (lambda K, a: K.unfold(a * 1.0, 2, stride=2), [(2, 2, 4, 4)]),
    "unfold_dilated_padded": (lambda K, a: K.nn.unfold(a * 1.0, (2, 3), dilation=(2, 1),
                                                       padding=1, stride=(1, 2)), [(1, 2, 4, 5)]),
    "fold": (lambda K, a: K.fold(a * 1.0, (4, 5), (2, 3), dilation=(2, 1), padding=1,
                                 stride=(1, 2)), [(1, 12, 12)]),
    "depth_space_channels_first": (lambda K, a: K.space_to_depth(K.depth_to_space(
        a, 2, data_format="channels_first") * 2.0, 2, data_format="channels_first"),
        [(1, 8, 2, 3)]),
}


(test_gradient_matches_finite_differences,
 test_value_and_gradient_match_keras_under_gradient_tape) = parity_tests(CASES)


def test_multi_hot_matches_keras(keras):
    for ids in (np.array([[1, 3, 3], [0, 0, 4]]), np.array([2, 0])):
        for kwargs in ({}, {"dtype": "int32"}, {"dtype": "bool"}):
            mine, theirs = ops.multi_hot(ids, 5, **kwargs), keras.ops.multi_hot(ids, 5, **kwargs)
            np.testing.assert_array_equal(mine, theirs)
            assert mine.dtype == theirs.numpy().dtype
    np.testing.assert_array_equal(ops.multi_hot(np.array([[1]]), num_tokens=3),
                                  keras.ops.multi_hot(np.array([[1]]), num_tokens=3))


def test_nn_ops_name_the_bad_argument_as_keras():
    with pytest.raises(ValueError, match="Argument `num_classes` must be specified"):
        ops.multi_hot(np.array([1]))
    with pytest.raises(ValueError, match="divisible by 2.*axis=-1"):
        ops.glu(np.ones((2, 3)))
    with pytest.raises(ValueError, match="order=0"):
        ops.normalize(np.ones(3), order=0)
    with pytest.raises(ValueError, match="must match for PSNR"):
        ops.psnr(np.ones(3), np.ones(4), 1.0)
    with pytest.raises(ValueError, match="Input must be a 4D tensor"):
        ops.unfold(np.ones((2, 3, 4)), 2)
    with pytest.raises(ValueError, match=r"divisible by kernel_size product \(4\)"):
        ops.fold(np.ones((1, 6, 4)), (4, 4), 2, stride=2)
    with pytest.raises(ValueError, match=r"block_size \(3\)"):
        ops.space_to_depth(np.ones((1, 4, 4, 1)), 3)


NEW_ACTIVATIONS = ["celu", "glu", "hard_shrink", "hard_silu", "hard_swish", "hard_tanh",
                   "log_sigmoid", "soft_shrink", "sparse_plus", "sparse_sigmoid", "sparsemax",
                   "squareplus", "tanh_shrink"]


@pytest.mark.parametrize("name", NEW_ACTIVATIONS + ["threshold"])
def test_activation_get_and_serialize_as_keras(keras, name):
    x = np.linspace(-3, 3, 12, dtype="float32").reshape(3, 4)
    fn, theirs = rnncore.activations.get(name), keras.activations.get(name)
    assert fn.__name__ == theirs.__name__
    assert rnncore.activations.serialize(fn) == keras.activations.serialize(theirs)
    args = (0.5, -1.0) if name == "threshold" else ()
    assert rel_err(fn(x, *args), np.asarray(theirs(x, *args))) <= 1e-6
    assert getattr(rnncore.activations, name) is fn or name == "hard_swish"


@pytest.mark.parametrize("name", ["swish", "hard_swish"])
def test_an_alias_is_written_under_kerass_name(keras, name):
    mine = rnncore.layers.Dense(2, activation=name).get_config()["activation"]
    assert mine == keras.layers.Dense(2, activation=name).get_config()["activation"]


@pytest.mark.parametrize("name", ["celu", "hard_silu", "sparsemax", "squareplus"])
def test_layers_with_new_activation_names_train_like_keras(keras, rng, name):
    def model(lib):
        return lib.Sequential([lib.Input((4,)), lib.layers.Dense(8, activation=name),
                               lib.layers.Activation(name), lib.layers.Dense(1)])

    k_model, r_model = model(keras), model(rnncore)
    r_model.set_weights(k_model.get_weights())
    assert r_model.layers[0].get_config()["activation"] == \
        k_model.layers[0].get_config()["activation"]
    x = rng.normal(size=(8, 4)).astype("float32")
    y = rng.normal(size=(8, 1)).astype("float32")
    k_model.compile(keras.optimizers.SGD(0.05), "mse")
    r_model.compile(rnncore.optimizers.SGD(0.05), "mse")
    for step in range(2):
        assert rel_err(r_model.train_on_batch(x, y), k_model.train_on_batch(x, y)) <= 1e-5
    for r_w, k_w in zip(r_model.get_weights(), k_model.get_weights()):
        assert rel_err(r_w, k_w) <= 1e-5
