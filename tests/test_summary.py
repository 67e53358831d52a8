"""model.summary(): the table Keras prints, with "Connected to" for non-chain graphs."""
import pytest

import rnncore


def _two_inputs(lib):
    a = lib.Input((6, 3), name="seq_in")
    b = lib.Input((4,), name="side_in")
    h = lib.layers.LSTM(5, name="lstm")(a)
    s = lib.layers.Dense(5, name="side_dense")(b)
    c = lib.layers.Concatenate(name="concat_with_a_long_name")([h, s, h])
    return lib.Model([a, b], [lib.layers.Dense(1, name="out")(c), s], name="two")


def _shared(lib):
    a = lib.Input((5, 2), name="left")
    b = lib.Input((5, 2), name="right")
    encoder = lib.layers.GRU(4, name="encoder")
    merged = lib.layers.Add(name="add")([encoder(a), encoder(b)])
    return lib.Model([a, b], lib.layers.Dense(1, name="score")(merged), name="siamese")


def _branches(lib):
    x = lib.Input((7, 3), name="x")
    h = lib.layers.SimpleRNN(3, return_sequences=True, name="rnn")(x)
    return lib.Model(x, [lib.layers.GlobalAveragePooling1D(name="mean")(h),
                         lib.layers.GlobalMaxPooling1D(name="max")(h)], name="branches")


def _chain(lib):
    x = lib.Input((7, 3), name="x")
    h = lib.layers.LSTM(3, name="a_recurrent_layer_with_a_rather_long_name")(x)
    return lib.Model(x, lib.layers.Dense(2, name="head")(h), name="chain")


def _summary(model):
    lines = []
    model.summary(print_fn=lines.append)
    return "\n".join(lines).strip("\n").splitlines()


@pytest.mark.parametrize("make", [_two_inputs, _shared, _branches, _chain])
def test_summary_table_equals_keras(keras, monkeypatch, make):
    monkeypatch.setenv("COLUMNS", "80")  # Keras sizes the table to the terminal
    ours, theirs = _summary(make(rnncore)), _summary(make(keras))
    assert ours == theirs
    assert any("Connected to" in line for line in ours) == (make is not _chain)


def test_connected_to_names_each_call_of_a_shared_layer():
    rows = {line.split("│")[1].strip(): line.split("│")[4].strip()
            for line in _summary(_shared(rnncore)) if line.startswith("│")}
    # a shared layer is one row listing both calls' inputs (the second line of a cell has no name)
    assert rows["encoder (GRU)"] == "left[0][0],"
    assert rows["add (Add)"] == "encoder[0][0],"
    assert rows[""] == "encoder[1][0]"
    assert rows["score (Dense)"] == "add[0][0]"
