"""``ops.take`` on a Variable along axis 0 gives an IndexedSlices gradient, as TensorFlow's
gather does, so a custom embedding (the masking guide's ``CustomEmbedding``) trains like Keras:
Adam, RMSprop and Adagrad square each occurrence of a repeated id separately."""
import numpy as np
import pytest

import rnncore
from rnncore import ops
from rnncore._indexed_slices import IndexedSlices
from rnncore._variable import Variable
from rnncore.ops import _tape

ROWS, DIM = 6, 3


def _embedding_class(lib, extra_dense):
    class CustomEmbedding(lib.layers.Layer):
        def build(self, input_shape):
            self.embeddings = self.add_weight(shape=(ROWS, DIM), initializer="ones",
                                              name="embeddings")

        def call(self, inputs):
            out = lib.ops.take(self.embeddings, lib.ops.cast(inputs, "int32"), axis=0)
            if extra_dense:  # the same weight read densely too: TensorFlow adds, densified
                out = out + lib.ops.sum(self.embeddings * self.embeddings) * 0.01
            return out
    return CustomEmbedding


def _model(lib, extra_dense, optimizer):
    inp = lib.Input((4,), dtype="int32")
    x = _embedding_class(lib, extra_dense)()(inp)
    out = lib.layers.Dense(2)(lib.layers.Flatten()(x))
    model = lib.Model(inp, out)
    model.compile(optimizer=getattr(lib.optimizers, optimizer)(learning_rate=0.01), loss="mse")
    return model


@pytest.mark.parametrize("extra_dense", [False, True], ids=["take", "take+dense"])
@pytest.mark.parametrize("optimizer", ["Adam", "RMSprop", "Adagrad"])
def test_custom_embedding_trains_as_keras(keras, optimizer, extra_dense, rng):
    k_model, r_model = (_model(lib, extra_dense, optimizer) for lib in (keras, rnncore))
    weights = [w + rng.normal(size=w.shape).astype(w.dtype) * 0.1
               for w in k_model.get_weights()]
    k_model.set_weights(weights)
    r_model.set_weights(weights)
    for _ in range(4):
        # ids repeat within a sample and across the batch; rows 4 and 5 never show up
        x = rng.integers(0, 4, size=(5, 4)).astype(np.int32)
        y = rng.normal(size=(5, 2)).astype(np.float32)
        k_model.train_on_batch(x, y)
        r_model.train_on_batch(x, y)
    for ours, theirs in zip(r_model.get_weights(), k_model.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)


def _variable_grad(fn, var):
    with _tape.recording(True):
        out = fn()
    grads = _tape.backward([out], [np.ones(np.shape(_tape.value_of(out)), np.float32)])
    return grads.variables[id(var)][1]


def test_take_axis0_of_variable_gives_one_slice_per_occurrence():
    var = Variable(np.arange(12, dtype=np.float32).reshape(4, 3), name="table", path="t/table")
    g = _variable_grad(lambda: ops.take(var, np.array([[1, 1], [-1, 0]]), axis=0), var)
    assert isinstance(g, IndexedSlices)
    np.testing.assert_array_equal(g.indices, [1, 1, 3, 0])
    np.testing.assert_array_equal(g.to_dense(), [[1] * 3, [2] * 3, [0] * 3, [1] * 3])


@pytest.mark.parametrize("axis", [1, -2, None])
def test_take_other_axes_stay_dense(axis):
    # TensorFlow's gather gives slices for the literal axis 0 only
    var = Variable(np.ones((4, 3), np.float32), name="table", path="t/table")
    g = _variable_grad(lambda: ops.take(var, np.array([0, 2, 2]), axis=axis), var)
    assert isinstance(g, np.ndarray) and g.shape == (4, 3)
