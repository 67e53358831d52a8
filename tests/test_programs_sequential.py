"""Keras's guide "The Sequential model" run with rnncore as with Keras: a Sequential without
an Input is built by its first use, for the batch of a direct call or of predict's first
batch (summary and input_shape show it), and with no batch size by fit."""
import numpy as np
import pytest

import rnncore


def _model(lib):
    return lib.Sequential([lib.layers.Dense(2, activation="relu"),
                           lib.layers.Dense(3, activation="relu"), lib.layers.Dense(4)])


def _use(model, how):
    x = np.ones((7, 5), "float32")
    if how == "call":
        model(x)
    elif how == "predict":
        model.predict(x, batch_size=4, verbose=0)
    else:
        model.compile(optimizer="sgd", loss="mse")
        model.fit(x, np.ones((7, 4), "float32"), batch_size=4, verbose=0)


@pytest.mark.parametrize("how", ["call", "predict", "fit"])
def test_sequential_built_by_first_use_shows_kerass_shapes(keras, how):
    shapes, printed = {}, {}
    for lib in (keras, rnncore):
        model = _model(lib)
        _use(model, how)
        shapes[lib] = (model.input_shape, model.output_shape)
        lines = []
        model.summary(print_fn=lines.append)
        printed[lib] = [line for line in "\n".join(lines).splitlines() if "(Dense)" in line]
        # a later call with another batch size still runs
        assert tuple(model(np.ones((2, 5), "float32")).shape) == (2, 4)
    assert shapes[rnncore] == shapes[keras]
    assert [line.split("│")[2] for line in printed[rnncore]] == \
        [line.split("│")[2] for line in printed[keras]]
