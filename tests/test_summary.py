"""model.summary(): the table Keras prints, with "Connected to" for non-chain graphs, and its
arguments (line_length, positions, show_trainable, expand_nested, layer_range, print_fn)."""
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


def _recurrent_stack(lib):
    return lib.Sequential([lib.Input((7, 3)),
                           lib.layers.Bidirectional(lib.layers.LSTM(4, return_sequences=True),
                                                    name="bidirectional"),
                           lib.layers.LSTM(3, name="lstm"),
                           lib.layers.Dense(2, trainable=False, name="dense"),
                           lib.layers.Dropout(0.1, name="dropout")], name="stack")


def _nested(lib):
    inner = lib.Sequential([lib.Input((7, 3)), lib.layers.LSTM(3, name="inner_lstm"),
                            lib.layers.Dense(2, name="inner_dense")], name="inner")
    x = lib.Input((7, 3), name="x")
    merged = lib.layers.Concatenate(name="cat")([inner(x), lib.layers.GRU(2, name="g")(x)])
    return lib.Model(x, merged, name="outer")


def _nested_chain(lib):
    inner = lib.Sequential([lib.Input((7, 3)), lib.layers.LSTM(3, name="inner_lstm")],
                           name="inner")
    return lib.Sequential([lib.Input((7, 3)), inner, lib.layers.Dense(1, name="d")],
                          name="outer")


@pytest.mark.parametrize("kwargs", [
    {"line_length": 100}, {"line_length": 60}, {"show_trainable": True},
    {"positions": [0.5, 0.7, 1.0]}, {"expand_nested": True},
    {"expand_nested": True, "show_trainable": True},
    {"line_length": 120, "show_trainable": True},  # wider than the terminal: cropped
    {"layer_range": ["bidi.*", "lstm"]}], ids=str)
@pytest.mark.parametrize("make", [_recurrent_stack, _nested, _nested_chain])
@pytest.mark.parametrize("columns", ["80", "140"])
def test_summary_arguments_print_what_keras_prints(keras, monkeypatch, make, kwargs, columns):
    monkeypatch.setenv("COLUMNS", columns)
    if make is _nested and "positions" in kwargs:
        pytest.skip("Keras fails on three positions for a four-column table")
    if make is not _recurrent_stack and "layer_range" in kwargs:
        pytest.skip("no layer of that name")
    texts = []
    for lib in (rnncore, keras):
        calls = []
        make(lib).summary(print_fn=calls.append, **kwargs)
        texts.append(calls)
    assert texts[0] == texts[1]  # one call with the whole text, as Keras 3


def test_summary_refuses_a_width_too_small_naming_it():
    with pytest.raises(ValueError, match="Insufficient console width.*line_length=10"):
        _chain(rnncore).summary(line_length=10)


def test_connected_to_names_each_call_of_a_shared_layer():
    rows = {line.split("│")[1].strip(): line.split("│")[4].strip()
            for line in _summary(_shared(rnncore)) if line.startswith("│")}
    # a shared layer is one row listing both calls' inputs (the second line of a cell has no name)
    assert rows["encoder (GRU)"] == "left[0][0],"
    assert rows["add (Add)"] == "encoder[0][0],"
    assert rows[""] == "encoder[1][0]"
    assert rows["score (Dense)"] == "add[0][0]"


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "rmsprop"])
def test_trained_model_summary_counts_the_optimizer_as_keras(keras, monkeypatch, optimizer):
    # after fit Keras adds "Optimizer params" and counts them (and their bytes) in the total
    import numpy as np

    monkeypatch.setenv("COLUMNS", "80")
    x, y = np.ones((8, 7, 3), "float32"), np.ones(8, "float32")
    tables = []
    for lib in (rnncore, keras):
        model = _chain(lib)
        model.compile(optimizer=optimizer, loss="mse", metrics=["mae"])
        before = _summary(model)
        model.fit(x, np.stack([y, y], 1), epochs=1, verbose=0)
        tables.append((before, _summary(model)))
    assert tables[0] == tables[1]
    assert any(line.startswith(" Optimizer params") for line in tables[0][1])
    assert not any(line.startswith(" Optimizer params") for line in tables[0][0])


def test_evaluate_return_dict_orders_keys_as_keras(keras):
    import numpy as np

    x, y = np.ones((8, 7, 3), "float32"), np.ones((8, 2), "float32")
    keys = []
    for lib in (rnncore, keras):
        model = _chain(lib)
        model.compile(optimizer="sgd", loss="mse", metrics=["mae", "accuracy"])
        keys.append(list(model.evaluate(x, y, verbose=0, return_dict=True)))
        keys.append(list(model.test_on_batch(x, y, return_dict=True)))
    assert keys[:2] == keys[2:] and keys[0] == sorted(keys[0])
