"""plot_model: the layer graph as DOT text, drawn by Graphviz when it is installed."""
import shutil

import numpy as np
import pytest

import rnncore


def _two_branches():
    a, b = rnncore.Input((5, 3), name="a"), rnncore.Input((7, 2), name="b")
    merged = rnncore.layers.concatenate([rnncore.layers.LSTM(4, name="la")(a),
                                         rnncore.layers.GRU(4, name="gb")(b)], name="cat")
    return rnncore.Model([a, b], rnncore.layers.Dense(1, name="out")(merged))


def test_dot_text_has_every_layer_and_connection(tmp_path):
    model = _two_branches()
    rnncore.utils.plot_model(model, tmp_path / "m.dot", show_shapes=True)
    text = (tmp_path / "m.dot").read_text()
    boxes = {name: line.split()[0] for line in text.splitlines()
             for name in ("a (InputLayer)", "b (InputLayer)", "la (LSTM)", "gb (GRU)",
                          "cat (Concatenate)", "out (Dense)") if name in line}
    assert len(boxes) == 6
    for src, dst in (("a (InputLayer)", "la (LSTM)"), ("b (InputLayer)", "gb (GRU)"),
                     ("la (LSTM)", "cat (Concatenate)"), ("gb (GRU)", "cat (Concatenate)"),
                     ("cat (Concatenate)", "out (Dense)")):
        assert f"{boxes[src]} -> {boxes[dst]};" in text
    assert "output: (None, 8)" in text  # the concatenation's shape


def test_sequential_is_a_chain(tmp_path):
    model = rnncore.Sequential([rnncore.Input((5,), dtype="int32"),
                                rnncore.layers.Embedding(10, 3), rnncore.layers.LSTM(2)])
    text = rnncore.utils.model_to_dot_text(model, show_shapes=True, rankdir="LR")
    assert "n0 -> n1;" in text and "rankdir=LR;" in text and "output: (None, 2)" in text


def test_pictures_need_graphviz(tmp_path):
    model = _two_branches()
    if shutil.which("dot") is None:
        with pytest.raises(ImportError, match="You must install graphviz"):
            rnncore.utils.plot_model(model, tmp_path / "m.png")
    else:
        rnncore.utils.plot_model(model, tmp_path / "m.png")
        assert (tmp_path / "m.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="rankdir must be 'TB' or 'LR'"):
        rnncore.utils.plot_model(model, tmp_path / "m.dot", rankdir="XY")
