"""Models pickle and deep-copy in every state (Model/Layer ``__getstate__``).

A copy predicts the same, holds equal but independent weights, keeps its compile settings
and optimizer state (so training continues to the bit), and drops what one forward pass
leaves for its backward pass (kernel caches, workspaces), which pickle could not write.
"""
import copy
import multiprocessing
import operator
import pickle

import numpy as np
import pytest

import rnncore
from rnncore import layers

VOCAB, T = 20, 6


def _sequential(built):
    first = layers.Embedding(VOCAB, 4, input_length=T) if built else layers.Embedding(VOCAB, 4)
    return rnncore.Sequential([first, layers.LSTM(5, return_sequences=True, dropout=0.2),
                               layers.SimpleRNN(3), layers.Dense(1, activation="sigmoid")])


def _functional(built=True):
    inp = rnncore.Input(shape=(T,), dtype="int32")
    h = layers.Embedding(VOCAB, 4)(inp)
    h = layers.Bidirectional(layers.GRU(3, return_sequences=True))(h)
    h = layers.GlobalAveragePooling1D()(h)
    out = layers.Dense(1, activation="sigmoid")(h)
    return rnncore.Model(inputs=inp, outputs=out)


MODELS = {"sequential-unbuilt": lambda: _sequential(False),
          "sequential-built": lambda: _sequential(True),
          "functional": _functional}


def _data(n=24):
    rng = np.random.default_rng(5)
    return rng.integers(0, VOCAB, (n, T)), (rng.random((n, 1)) > 0.5).astype("float32")


def _compile(model):
    # weighted metrics and weight-decay exclusions are kept by object identity inside the
    # model and its optimizer: the copies must key them again
    optimizer = rnncore.optimizers.AdamW(1e-2, weight_decay=0.05)
    optimizer.exclude_from_weight_decay(var_list=[w for w in model.weights
                                                  if w.name == "bias"])
    model.compile(optimizer, "binary_crossentropy", metrics=["acc"],
                  weighted_metrics=["acc"])


def _in_state(kind, state):
    model = MODELS[kind]()
    x, y = _data()
    if state in ("compiled", "predicted", "trained"):
        _compile(model)
    if state == "predicted":
        model.predict(x, verbose=0)
    if state == "trained":
        model.fit(x, y, batch_size=8, epochs=1, verbose=0, sample_weight=np.ones(len(y)))
    return model


def _joblib(model, tmp_path):
    joblib = pytest.importorskip("joblib")
    joblib.dump(model, tmp_path / "model.joblib")
    return joblib.load(tmp_path / "model.joblib")


def _sklearn_clone(model, tmp_path):
    base = pytest.importorskip("sklearn.base")
    return base.clone(model, safe=False)  # a deep copy for objects that are not estimators


COPIERS = {"pickle": lambda m, _: pickle.loads(pickle.dumps(m, pickle.HIGHEST_PROTOCOL)),
           "deepcopy": lambda m, _: copy.deepcopy(m),
           "joblib": _joblib,
           "sklearn-clone": _sklearn_clone}

STATES = ["fresh", "compiled", "predicted", "trained"]


def _assert_same_weights(a, b):
    assert len(a.get_weights()) == len(b.get_weights())
    for u, v in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize("copier", COPIERS)
@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("kind", MODELS)
def test_a_copy_predicts_the_same_and_trains_independently(kind, state, copier, tmp_path):
    model = _in_state(kind, state)
    clone = COPIERS[copier](model, tmp_path)
    assert type(clone) is type(model) and clone is not model
    assert clone.name == model.name and clone.built == model.built
    assert [layer.name for layer in clone.layers] == [layer.name for layer in model.layers]
    assert clone.compiled == model.compiled
    x, y = _data()
    if model.built:
        _assert_same_weights(clone, model)
        assert clone.get_config() == model.get_config()
        np.testing.assert_array_equal(clone.predict(x, verbose=0), model.predict(x, verbose=0))
    before = [w.copy() for w in model.get_weights()] if model.built else None
    if not clone.compiled:
        _compile(clone)
    clone.fit(x, y, batch_size=8, epochs=1, verbose=0, sample_weight=np.ones(len(y)))
    assert clone.built
    if before is not None:
        assert len(model.get_weights()) == len(before)
        for w, b in zip(model.get_weights(), before):
            np.testing.assert_array_equal(w, b)  # training the copy left the original alone
        assert any(not np.array_equal(c, b) for c, b in zip(clone.get_weights(), before))
    else:
        assert not model.built and model.get_weights() == []


@pytest.mark.parametrize("copier", ["pickle", "deepcopy"])
@pytest.mark.parametrize("kind", MODELS)
def test_training_a_copy_continues_exactly_as_the_original(kind, copier, tmp_path):
    model = _in_state(kind, "trained")
    clone = COPIERS[copier](model, tmp_path)
    assert clone.optimizer is not model.optimizer
    assert clone.optimizer.iterations == model.optimizer.iterations == 3
    for a, b in zip(clone.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(a, b)
    assert [m.name for m in clone.metrics] == [m.name for m in model.metrics] == \
        ["loss", "acc", "weighted_acc"]
    x, y = _data()
    weights = np.linspace(0.5, 1.5, len(y))
    histories = []
    for m in (model, clone):
        rnncore.utils.set_random_seed(7)  # the same shuffles and dropout masks for both
        histories.append(m.fit(x, y, batch_size=8, epochs=2, verbose=0,
                               sample_weight=weights).history)
    assert histories[0] == histories[1]
    assert histories[0]["acc"] != histories[0]["weighted_acc"]
    _assert_same_weights(clone, model)
    for a, b in zip(clone.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(a, b)


def test_the_copy_of_a_compiled_model_evaluates_alike():
    model = _in_state("functional", "trained")
    clone = pickle.loads(pickle.dumps(model))
    x, y = _data()
    assert clone.evaluate(x, y, verbose=0, return_dict=True) == \
        model.evaluate(x, y, verbose=0, return_dict=True)
    assert clone.loss == model.loss
    assert clone.optimizer.get_config() == model.optimizer.get_config()


@pytest.mark.parametrize("kind", ["sequential-built", "functional"])
def test_what_a_forward_pass_leaves_behind_is_not_pickled(kind):
    # a layer keeps its last batch's inputs, activations and kernel cache for backward; a
    # pickle of a model that predicted on many samples must not carry them
    model = _in_state(kind, "trained")
    size = len(pickle.dumps(model))
    x = np.random.default_rng(0).integers(0, VOCAB, (2000, T))
    model.predict(x, batch_size=2000, verbose=0)
    assert len(pickle.dumps(model)) < size + 5_000
    clone = copy.deepcopy(model)
    np.testing.assert_array_equal(clone.predict(x[:50], verbose=0),
                                  model.predict(x[:50], verbose=0))


def test_a_functional_copy_keeps_its_graph():
    model = _in_state("functional", "trained")
    clone = copy.deepcopy(model)
    assert [n.layer.name for n in clone._nodes] == [n.layer.name for n in model._nodes]
    assert all(n.layer is layer for n, layer in zip(clone._nodes, clone.layers[1:]))
    assert clone._output._keras_history[0] is clone.layers[-1]
    assert all(layer._inbound_nodes for layer in clone.layers[1:])
    # the graph is the copy's own: new layers called on its tensors build a new model
    out = layers.Dense(2)(clone.layers[-2]._inbound_nodes[0].outputs)
    bigger = rnncore.Model(clone._inputs[0], out)
    assert bigger.predict(_data()[0], verbose=0).shape == (24, 2)


def test_a_stateful_layer_keeps_its_states():
    model = rnncore.Sequential([layers.LSTM(3, stateful=True, batch_input_shape=(4, 5, 2)),
                                layers.Dense(1)])
    x = np.random.default_rng(1).random((4, 5, 2)).astype("float32")
    model.predict(x, batch_size=4, verbose=0)
    clone = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(clone.predict(x, batch_size=4, verbose=0),
                                  model.predict(x, batch_size=4, verbose=0))


def test_a_model_sent_to_a_worker_process_predicts_there():
    model = _in_state("functional", "trained")
    x, _ = _data()
    # spawn: a fresh interpreter, which must rebuild the model from the pickle alone
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        [remote] = pool.map(operator.methodcaller("predict", x, verbose=0), [model])
    np.testing.assert_array_equal(remote, model.predict(x, verbose=0))


def test_a_callback_may_deep_copy_the_model_while_it_trains():
    # keeping the best model in memory, as users write it instead of restore_best_weights
    model = _in_state("functional", "compiled")
    copies = []
    keeper = rnncore.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: copies.append(copy.deepcopy(model)))
    x, y = _data()
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[keeper])
    assert len(copies) == 2
    _assert_same_weights(copies[-1], model)
    np.testing.assert_array_equal(copies[-1].predict(x, verbose=0), model.predict(x, verbose=0))
    assert any(not np.array_equal(a, b)
               for a, b in zip(copies[0].get_weights(), model.get_weights()))


LAYERS = {
    "lstm": (lambda: layers.LSTM(3, return_sequences=True, dropout=0.3, seed=1), "float"),
    "gru": (lambda: layers.GRU(3, recurrent_dropout=0.2), "float"),
    "simple_rnn": (lambda: layers.SimpleRNN(3, truncate_gradient=2), "float"),
    "bidirectional": (lambda: layers.Bidirectional(layers.LSTM(2, return_sequences=True)),
                      "float"),
    "dense": (lambda: layers.Dense(2, activation="tanh"), "float"),
    "dropout": (lambda: layers.Dropout(0.5, seed=3), "float"),
    "embedding": (lambda: layers.Embedding(VOCAB, 3), "ids"),
    "flatten": (layers.Flatten, "float"),
    "global_average_pooling": (layers.GlobalAveragePooling1D, "float"),
    "global_max_pooling": (layers.GlobalMaxPooling1D, "float"),
}


@pytest.mark.parametrize("name", LAYERS)
def test_a_layer_pickles_after_forward_and_backward(name):
    make, kind = LAYERS[name]
    rng = np.random.default_rng(2)
    x = rng.integers(0, VOCAB, (4, T)) if kind == "ids" else \
        rng.random((4, T, 2)).astype("float32")
    layer = make()
    out = layer(x, training=True)
    layer.backward(np.ones_like(out))
    for clone in (pickle.loads(pickle.dumps(layer)), copy.deepcopy(layer)):
        assert clone.name == layer.name
        assert [w.path for w in clone.weights] == [w.path for w in layer.weights]
        np.testing.assert_array_equal(clone(x), layer(x))
        clone_out = clone(x, training=True)
        assert clone_out.shape == out.shape
        clone.backward(np.ones_like(clone_out))
