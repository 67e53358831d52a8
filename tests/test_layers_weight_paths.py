"""Weights' ``path`` and ``name`` as Keras 3 gives them: a recurrent layer's weights belong to
its cell (lstm/lstm_cell/kernel), a Bidirectional's to its forward and backward layers, and a
layer built inside a Sequential to the model's name scope; a loaded model's as Keras's."""
import numpy as np
import pytest

import rnncore


def _sequential(lib):
    return lib.Sequential([lib.Input((7, 3)),
                           lib.layers.LSTM(4, return_sequences=True, name="lstm"),
                           lib.layers.GRU(3, return_sequences=True, name="gru"),
                           lib.layers.SimpleRNN(2, name="simple_rnn"),
                           lib.layers.Dense(1, name="dense")], name="seq")


def _bidirectional(lib):
    return lib.Sequential([lib.Input((7, 3)),
                           lib.layers.Bidirectional(lib.layers.LSTM(4, name="lstm"),
                                                    name="bidirectional"),
                           lib.layers.Dense(1, name="dense")], name="bidi")


def _functional(lib):
    x = lib.Input((7, 3))
    backward = lib.layers.GRU(2, return_sequences=True, go_backwards=True, name="back_gru")
    y = lib.layers.Bidirectional(lib.layers.GRU(2, return_sequences=True, name="gru"),
                                 backward_layer=backward, name="bidirectional")(x)
    cells = lib.layers.StackedRNNCells([lib.layers.LSTMCell(2, name="lstm_cell"),
                                        lib.layers.GRUCell(2, name="gru_cell")],
                                       name="stacked_rnn_cells")
    y = lib.layers.RNN(cells, name="rnn")(y)
    y = lib.layers.RNN(lib.layers.SimpleRNNCell(2, name="simple_rnn_cell"), name="rnn_2")(
        lib.layers.TimeDistributed(lib.layers.Dense(2, name="dense"), name="td")(y[:, None]))
    return lib.Model(x, y, name="func")


def _nested(lib):
    inner = lib.Sequential([lib.Input((7, 3)), lib.layers.LSTM(2, name="inner_lstm")],
                           name="inner")
    return lib.Sequential([lib.Input((7, 3)), inner, lib.layers.Dense(1, name="dense")],
                          name="outer")


def _lazy(lib):
    model = lib.Sequential([lib.layers.GRU(2, name="gru"), lib.layers.Dense(1, name="dense")],
                           name="lazy")
    model(np.zeros((1, 5, 3), "float32"))
    return model


def _eager_layer(lib):
    layer = lib.layers.LSTM(3, name="lstm")
    layer(np.zeros((1, 2, 3), "float32"))
    return layer


def _paths(obj):
    return [(w.path, w.name) for w in obj.weights]


@pytest.mark.parametrize("make", [_sequential, _bidirectional, _functional, _nested, _lazy,
                                  _eager_layer])
def test_weight_paths_and_names_are_keras(keras, make):
    assert _paths(make(rnncore)) == _paths(make(keras))


def test_cell_and_layer_cell_views_share_keras_paths(keras):
    for lib in (rnncore, keras):
        cell = lib.layers.GRUCell(2, name="gru_cell")
        cell(np.zeros((1, 3), "float32"), [np.zeros((1, 2), "float32")])
        assert [w.path for w in cell.weights] == [
            "gru_cell/kernel", "gru_cell/recurrent_kernel", "gru_cell/bias"]
        layer = _eager_layer(lib)
        assert layer.cell.kernel.path == "lstm/lstm_cell/kernel"


@pytest.mark.parametrize("make", [_sequential, _bidirectional, _nested])
def test_loaded_models_have_the_paths_keras_loads(keras, make, tmp_path):
    path = tmp_path / "m.keras"
    make(rnncore).save(path)
    ours = rnncore.models.load_model(path)
    theirs = keras.models.load_model(path)
    assert _paths(ours) == _paths(theirs)
    weights = tmp_path / "m.weights.h5"
    ours.save_weights(weights)
    for lib in (rnncore, keras):  # and the weights go back where they came from
        again = make(lib)
        again.load_weights(weights)
        for a, b in zip(again.get_weights(), ours.get_weights()):
            np.testing.assert_array_equal(a, b)


def _subclassed(lib):
    class Block(lib.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = lib.layers.Dense(2, name="inner_dense")

        def build(self, input_shape):
            self.shift = self.add_weight(shape=(2,), initializer="zeros", name="shift")

        def call(self, x):
            return self.dense(x) + self.shift

    class Net(lib.Model):
        def __init__(self):
            super().__init__(name="net")
            self.bidi = lib.layers.Bidirectional(
                lib.layers.GRU(2, return_sequences=True, name="gru"), name="bidirectional")
            self.lstm = lib.layers.LSTM(2, name="lstm")
            self.block = Block(name="block")
            self.head = lib.layers.Dense(1, name="head")

        def call(self, x):
            return self.head(self.block(self.lstm(self.bidi(x))))

    return Net(), Block(name="block")


def test_weights_made_inside_a_call_take_the_callers_names_as_keras(keras):
    """Keras runs a call in the layer's name scope: a subclassed model's and a custom layer's
    sublayers built there get their names in front (net/block/inner_dense/kernel)."""
    x = np.zeros((2, 5, 3), "float32")
    paths = []
    for lib in (rnncore, keras):
        net, block = _subclassed(lib)
        net(x)
        block(x[:, 0])
        paths.append((_paths(net), _paths(block)))
    assert paths[0] == paths[1]
    assert paths[0][0][-3][0] == "net/block/inner_dense/bias"
