"""The names Keras gives automatically, which programs print (summary, layer.name) and
index by (get_layer): a Sequential takes a "functional" name each time it builds, a
MultiHeadAttention takes a "softmax" and a "dropout" one when it builds, a layer with several
outputs shows them as a list in summary, and clear_session starts the counters again."""
import numpy as np

import rnncore


def _summary_lines(model):
    printed = []
    model.summary(print_fn=printed.append)
    return "\n".join(printed).splitlines()


def _rnn_guide(lib):
    """The "Working with RNNs" guide's models, in its order: two Sequentials, then the
    encoder/decoder whose encoder LSTM returns its states."""
    layers = lib.layers
    first = lib.Sequential([layers.Embedding(100, 8), layers.LSTM(4), layers.Dense(2)])
    first.build((None, 5))
    second = lib.Sequential()
    second.add(lib.Input((5,)))
    second.add(layers.Embedding(100, 8))
    second.add(layers.GRU(4))
    encoder_input = layers.Input(shape=(None,))
    embedded = layers.Embedding(100, 8)(encoder_input)
    output, state_h, state_c = layers.LSTM(6, return_state=True, name="encoder")(embedded)
    decoder_input = layers.Input(shape=(None,))
    decoded = layers.LSTM(6, name="decoder")(layers.Embedding(50, 8)(decoder_input),
                                             initial_state=[state_h, state_c])
    return lib.Model([encoder_input, decoder_input], layers.Dense(3)(decoded))


def _transformer(lib):
    layers = lib.layers
    inputs = lib.Input((6, 4))
    x = layers.MultiHeadAttention(num_heads=2, key_dim=3)(inputs, inputs)
    x = layers.Dropout(0.1)(x)
    x = layers.LayerNormalization()(x + inputs)
    return lib.Model(inputs, layers.Dense(2)(layers.GlobalAveragePooling1D()(x)))


def test_rnn_guide_summary_names_and_shapes_as_keras(keras):
    keras.backend.clear_session()
    k_lines = _summary_lines(_rnn_guide(keras))
    rnncore.backend.clear_session()
    r_lines = _summary_lines(_rnn_guide(rnncore))
    assert r_lines == k_lines
    assert any("[(None, 6)," in line for line in r_lines)


def test_transformer_block_names_and_connections_as_keras(keras):
    keras.backend.clear_session()
    k_lines = _summary_lines(_transformer(keras))
    rnncore.backend.clear_session()
    r_lines = _summary_lines(_transformer(rnncore))
    assert r_lines == k_lines
    assert any("dropout_1 (Dropout)" in line for line in r_lines)


def test_clear_session_restarts_automatic_names():
    for _ in range(3):
        rnncore.layers.Dense(1)
    rnncore.utils.clear_session()
    assert rnncore.layers.Dense(1).name == "dense"
    assert rnncore.Sequential().name == "sequential"
    x = np.ones((2, 3), "float32")
    assert rnncore.layers.Dense(2)(x).shape == (2, 2)
