"""Bad arguments to rnncore's public entry points outside the trainer (inputs, callbacks,
preprocessing): a ValueError that names the argument and the value received."""
import numpy as np
import pytest

import rnncore
from rnncore.preprocessing.sequence import pad_sequences


def _dense_model():
    return rnncore.Sequential([rnncore.Input((3,)), rnncore.layers.Dense(1)])


@pytest.mark.parametrize("call, match", [
    (lambda: rnncore.Input("abc"), r"shape must be a tuple .*Received: shape='abc'"),
    (lambda: rnncore.Input((-1, 3)), r"shape must be a tuple .*Received: shape=\(-1, 3\)"),
    (lambda: rnncore.Input((2.5,)), r"Received: shape=\(2.5,\)"),
    (lambda: rnncore.Input((True, 3)), r"Received: shape=\(True, 3\)"),
    (lambda: rnncore.Input(batch_shape=(None, "x")), r"batch_shape must be a tuple"),
    (lambda: rnncore.Input((3,), batch_size=0), r"batch_size must be a positive integer"),
    (lambda: rnncore.Input((3,), dtype="nope"), r"dtype must be .*Received: dtype='nope'"),
    (lambda: rnncore.callbacks.ModelCheckpoint(None), r"`filepath` must be a file path"),
    (lambda: rnncore.callbacks.ModelCheckpoint(3), r"Received: filepath=3"),
    (lambda: rnncore.callbacks.CSVLogger(None), r"`filename` must be a file path"),
    (lambda: pad_sequences([["a", "b"], [1]]), r"`sequences\[0\]` cannot be stored as dtype "
                                               r"int32"),
    (lambda: pad_sequences([[1, 2], [{}]]), r"`sequences\[1\]`"),
    (lambda: _dense_model().predict(np.ones((2, 3), complex), verbose=0),
     r"x must be a numeric array of real numbers, got dtype complex128"),
    (lambda: rnncore.layers.LSTM(2)(np.ones((2, 3, 2), np.complex64)),
     r"inputs must be a numeric array of real numbers, got dtype complex64"),
])
def test_bad_arguments_are_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("layer", [rnncore.layers.Flatten, lambda: rnncore.layers.Dense(2),
                                   lambda: rnncore.layers.LSTM(2)])
def test_a_scalar_is_not_a_batch(layer):
    with pytest.raises(ValueError, match=r"batch dimension|at least|3D"):
        layer()(np.float32(3))


def test_sparse_rmsprop_step_on_a_batch_without_ids():
    # sequences of length 0: the Embedding's gradient has no rows, the table still decays
    model = rnncore.Sequential([rnncore.layers.Embedding(10, 4), rnncore.layers.Flatten(),
                                rnncore.layers.Dense(1)])
    model.compile("rmsprop", "mse")
    history = model.fit(np.zeros((8, 0), int), np.zeros((8, 1)), verbose=0)
    assert history.history["loss"] == [0.0]


def test_input_shapes_keras_accepts():
    assert rnncore.Input((None, 3)).shape == (None, None, 3)
    assert rnncore.Input(5).shape == (None, 5)
    assert rnncore.Input((3,), batch_size=8).shape == (8, 3)
    assert rnncore.Input(batch_shape=(4, 3)).shape == (4, 3)
    assert rnncore.Input((np.int64(7),)).shape == (None, 7)


def test_keras2_arguments_of_old_configs():
    assert rnncore.layers.GRU(4, implementation=0).implementation == 2  # as Keras 3 runs it
    rnncore.layers.LSTM(4, time_major=False)
    with pytest.raises(ValueError, match=r"time_major=True is not supported"):
        rnncore.layers.GRU(4, time_major=True)
    layer = rnncore.layers.InputLayer(shape=(3,), ragged=False, optional=False)
    assert layer.batch_shape == (None, 3)
    with pytest.raises(ValueError, match=r"`ragged=True` is not supported"):
        rnncore.layers.InputLayer(shape=(3,), ragged=True)
