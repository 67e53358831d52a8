"""Rules from Keras's models test files (sequential_test.py, functional_test.py): errors a
program building a model meets, with Keras's exception type and words."""
import re

import numpy as np
import pytest

import rnncore


# ---- Sequential's configuration errors (models/sequential_test.py) -------------------------
def _sequential_with_input(m):
    model = m.Sequential()
    model.add(m.Input(shape=(2,), batch_size=3))
    return model


@pytest.mark.parametrize("make, pattern", [
    (lambda m: _sequential_with_input(m).add(m.Input(shape=(2,), batch_size=3)),
     "already been configured"),
    (lambda m: _sequential_with_input(m).add(m.layers.InputLayer(shape=(2,), batch_size=3)),
     "already been configured"),
    (lambda m: (lambda s: (s.add(m.layers.Dense(2)), s.build((3, 4))))(_sequential_with_input(m)),
     "already been configured"),
    (lambda m: m.Sequential().add({}), "Only instances of"),
])
def test_sequential_configuration_errors_as_keras(keras, make, pattern):
    for module in (keras, rnncore):
        with pytest.raises(ValueError, match=pattern):
            make(module)


def test_sequential_with_input_still_builds_with_its_own_shape(keras):
    model = _sequential_with_input(rnncore)
    model.add(rnncore.layers.Dense(2))
    model.build((3, 2))
    assert model.built and model.predict(np.ones((3, 2)), verbose=0).shape == (3, 2)



def test_functional_call_with_a_wrong_shape_says_expected_and_found(keras):
    def make(m):
        inp = m.Input((4,))
        m.Model(inp, m.layers.Dense(2)(inp))(np.zeros((2, 3)))

    for module in (keras, rnncore):
        with pytest.raises(ValueError, match=r"expected shape=\(None, 4\), found shape=\(2, 3\)"):
            make(module)


def _one_input_model(m):
    inp = m.Input((4,))
    return m.Model(inp, m.layers.Dense(2)(inp))


@pytest.mark.parametrize("how", ["call", "predict"])
def test_one_input_model_given_two_arrays_raises_kerass_error(keras, how):
    # NumPy would stack the two arrays into one input of the wrong shape
    def run(m):
        model = _one_input_model(m)
        xs = [np.ones((2, 4), "float32"), np.ones((2, 4), "float32")]
        with pytest.raises(ValueError) as info:
            model(xs) if how == "call" else model.predict(xs, verbose=0)
        return re.sub(r"(input_layer|functional)(_\d+)?", r"\1", str(info.value))
    assert run(rnncore) == run(keras)
    assert 'expects 1 named input(s)' in run(rnncore)


def _fit_with_metrics_dict(m, metrics, two_outputs):
    inp = m.Input((4,), name="inp")
    outs = [m.layers.Dense(1, name="a", kernel_initializer="ones")(inp)]
    if two_outputs:
        outs.append(m.layers.Dense(1, name="b", kernel_initializer="ones")(inp))
    model = m.Model(inp, outs if two_outputs else outs[0])
    model.compile(loss="mse", optimizer="sgd", metrics=metrics)  # never raises here
    y = [np.ones((4, 1))] * 2 if two_outputs else np.ones((4, 1))
    return model.fit(np.ones((4, 4)), y, verbose=0).history


def test_metrics_dict_of_a_single_output_model_applies_whatever_the_keys(keras):
    metrics = {"unknown_output": ["mae"], "another": "mse"}
    k_hist = _fit_with_metrics_dict(keras, metrics, False)
    r_hist = _fit_with_metrics_dict(rnncore, metrics, False)
    assert list(r_hist) == list(k_hist)
    for key in k_hist:
        np.testing.assert_allclose(r_hist[key], k_hist[key], rtol=1e-5)


@pytest.mark.parametrize("metrics", [{"unknown_output": ["mae"]}, {"a": ["mae"], "zzz": "mse"}])
def test_metrics_dict_naming_no_output_raises_at_fit_with_kerass_message(keras, metrics):
    messages = []
    for m in (keras, rnncore):
        with pytest.raises(ValueError) as info:
            _fit_with_metrics_dict(m, metrics, True)
        messages.append(str(info.value))
    assert messages[1] == messages[0]


def _fit_crossentropy(m, units, activation, y):
    x = np.random.default_rng(0).standard_normal((12, 4)).astype("float32")
    model = m.Sequential([m.Input((4,)), m.layers.Dense(units, activation=activation)])
    model.layers[0].set_weights([np.linspace(-1, 1, 4 * units, dtype="float32").reshape(4, units),
                                 np.zeros(units, "float32")])
    model.compile(optimizer=m.optimizers.SGD(0.1), loss="crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=4, epochs=2, verbose=0, shuffle=False)
    return history.history, model.evaluate(x, y, verbose=0)


@pytest.mark.parametrize("units,activation,y", [
    (1, "sigmoid", (np.arange(12) % 2).astype("float32")[:, None]),
    (3, "softmax", np.arange(12) % 3),
    (3, "softmax", np.eye(3, dtype="float32")[np.arange(12) % 3]),
], ids=["binary", "sparse", "categorical"])
def test_loss_crossentropy_is_picked_from_the_shapes_as_keras(keras, units, activation, y):
    k_hist, k_eval = _fit_crossentropy(keras, units, activation, y)
    r_hist, r_eval = _fit_crossentropy(rnncore, units, activation, y)
    assert list(r_hist) == list(k_hist)
    for key in k_hist:
        np.testing.assert_allclose(r_hist[key], k_hist[key], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(r_eval, k_eval, rtol=1e-5, atol=1e-6)


def test_none_among_the_metrics_fails_at_fit_as_keras(keras):
    for m in (keras, rnncore):
        model = m.Sequential([m.Input((2,)), m.layers.Dense(1)])
        model.compile(loss="mse", metrics=[None, "mae"])  # accepted here
        with pytest.raises(ValueError, match="Expected metric, received `None`"):
            model.fit(np.ones((4, 2)), np.ones((4, 1)), verbose=0)


# ---- a functional model's input rank, one off by a trailing 1 (Functional._adjust_input_rank)
def _rank_models(m):
    one = m.Input((1,))
    three = m.Input((3,))
    a, b = m.Model(one, m.layers.Dense(2)(one)), m.Model(three, m.layers.Dense(2)(three))
    a.set_weights([np.array([[1.0, -2.0]], "float32"), np.zeros(2, "float32")])
    b.set_weights([np.arange(6, dtype="float32").reshape(3, 2), np.zeros(2, "float32")])
    return a, b


def test_an_input_one_rank_off_by_a_trailing_one_is_adjusted_as_keras(keras):
    x = np.arange(5, dtype="float32")
    results = []
    for module in (keras, rnncore):
        a, b = _rank_models(module)
        a.compile(optimizer="sgd", loss="mse")
        history = a.fit(x, np.ones((5, 2), "float32"), epochs=2, verbose=0).history["loss"]
        results.append((a.predict(x, verbose=0), np.asarray(a(x)),
                        b.predict(np.ones((4, 3, 1), "float32"), verbose=0), history))
        with pytest.raises(ValueError):  # a trailing axis other than 1 is not adjusted
            b.predict(np.ones((4, 3, 2), "float32"), verbose=0)
    for theirs, mine in zip(*results):
        np.testing.assert_allclose(mine, theirs, rtol=1e-6)
