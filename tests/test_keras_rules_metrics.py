"""Rules from Keras's metrics and callbacks test files that a training program notices,
checked against Keras with the same weights and data."""
import re

import numpy as np
import pytest

import rnncore


def _data():
    rng = np.random.default_rng(0)
    x = rng.random((10, 5)).astype("float32")
    y = (rng.random((10, 2)) > 0.5).astype("float32")
    return x, y


def _fit_vector_metrics(m, capsys):
    x, y = _data()
    model = m.Sequential([m.Input((5,)), m.layers.Dense(2, activation="sigmoid")])
    model.layers[-1].set_weights([np.linspace(-1, 1, 10, dtype="float32").reshape(5, 2),
                                  np.zeros(2, "float32")])
    model.compile(loss="mae", optimizer=m.optimizers.SGD(0.1),
                  metrics=[m.metrics.F1Score(threshold=0.5),
                           m.metrics.FBetaScore(beta=2.0, threshold=0.5)])
    capsys.readouterr()
    history = model.fit(x, y, batch_size=5, epochs=2, verbose=2, validation_data=(x, y),
                        shuffle=False)
    printed = capsys.readouterr().out
    return history.history, model.evaluate(x, y, verbose=0), printed


def test_fit_with_per_class_metrics_logs_arrays_and_prints_their_mean(keras, capsys):
    # Keras's F1Score/FBetaScore (average=None) give one score a class: History and evaluate
    # hold the vectors, the progress line shows their mean
    k_hist, k_eval, k_printed = _fit_vector_metrics(keras, capsys)
    r_hist, r_eval, r_printed = _fit_vector_metrics(rnncore, capsys)
    assert sorted(r_hist) == sorted(k_hist)
    for key in k_hist:
        np.testing.assert_allclose(np.asarray(r_hist[key], dtype=float),
                                   np.asarray(k_hist[key], dtype=float), atol=1e-5)
    assert len(r_eval) == len(k_eval)
    for a, b in zip(r_eval, k_eval):
        assert np.shape(a) == np.shape(b)
        np.testing.assert_allclose(a, b, atol=1e-5)

    def shown(printed):
        return re.findall(r"(\w+): ([0-9.e+-]+)", printed)

    assert [name for name, _ in shown(r_printed)] == [name for name, _ in shown(k_printed)]
    for (_, a), (_, b) in zip(shown(r_printed), shown(k_printed)):
        assert abs(float(a) - float(b)) < 2e-4


def _history_with_loss(m, loss):
    rng = np.random.default_rng(0)
    x, y = rng.random((8, 3)), rng.random((8, 1))
    inp = m.Input((3,))
    a = m.layers.Dense(1, name="output_a", kernel_initializer="ones")(inp)
    b = m.layers.Dense(1, name="output_b", kernel_initializer="ones")(inp)
    if isinstance(loss, dict) and len(loss) == 2:
        model = m.Model(inp, {"output_a": a, "output_b": b})
        y = {"output_a": y, "output_b": (y > 0.5).astype("float32")}
    else:
        model = m.Model(inp, a)
    model.compile(m.optimizers.SGD(0.01), loss=loss)
    return model.fit(x, y, batch_size=2, epochs=1, verbose=0, shuffle=False).history


@pytest.mark.parametrize("loss", [
    {"output_a": ["mean_squared_error"]},
    ["mean_squared_error"],
    {"output_a": ["mse"], "output_b": ["binary_crossentropy"]},
])
def test_compile_takes_one_outputs_loss_as_a_list_of_one(keras, loss):
    k = _history_with_loss(keras, loss)
    r = _history_with_loss(rnncore, loss)
    assert sorted(r) == sorted(k)
    for key in k:
        np.testing.assert_allclose(r[key], k[key], rtol=1e-5)


def test_compile_loss_key_naming_no_output_is_keras_key_error(keras):
    def make(m):
        inp = m.Input((3,))
        model = m.Model(inp, {"output_a": m.layers.Dense(1, name="output_a")(inp),
                              "output_b": m.layers.Dense(1, name="output_b")(inp)})
        model.compile("sgd", loss={"output_a": "mse", "output_c": "mse"})
        model.fit(np.ones((2, 3)), {"output_a": np.ones((2, 1)), "output_b": np.ones((2, 1))},
                  verbose=0)

    pattern = "in the `loss` argument, can't be found in either the model's output"
    for module in (keras, rnncore):
        with pytest.raises(KeyError, match=pattern):
            make(module)
    with pytest.raises(ValueError, match="output_c"):  # rnncore's compile errors: ValueErrors
        make(rnncore)


@pytest.mark.parametrize("kwargs", [
    {"beta": -0.5}, {"beta": 0.0}, {"beta": 2}, {"threshold": 1.1}, {"threshold": 0.0},
    {"threshold": 1}, {"threshold": "0.5"},
])
def test_fbeta_score_argument_errors_say_keras_words(keras, kwargs):
    messages = []
    for module in (keras, rnncore):
        with pytest.raises(ValueError) as info:
            module.metrics.FBetaScore(**kwargs)
        messages.append(str(info.value))
    assert messages[1] == messages[0]
