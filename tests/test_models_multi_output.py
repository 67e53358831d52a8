"""Functional models with several outputs, as Keras trains them: a loss, loss weight and
metrics per output, Keras's log names and order, targets as lists or dicts, predict's
structures, and the encoder/decoder inference models of a seq2seq program."""
import numpy as np
import pytest

import rnncore

N, T, F = 16, 5, 3


def _two_heads(lib):
    inp = lib.Input((T, F), name="seq")
    h = lib.layers.LSTM(4)(inp)
    return lib.Model(inp, [lib.layers.Dense(1, name="reg")(h),
                           lib.layers.Dense(3, activation="softmax", name="cls")(h)])


@pytest.fixture
def data(rng):
    x = rng.random((N, T, F)).astype("float32")
    return x, rng.random((N, 1)).astype("float32"), rng.integers(0, 3, N)


def _pair(keras, build=_two_heads):
    k_model, r_model = build(keras), build(rnncore)
    weights = [np.random.default_rng(1).standard_normal(w.shape).astype("float32") * 0.5
               for w in k_model.get_weights()]
    k_model.set_weights(weights)
    r_model.set_weights(weights)
    return k_model, r_model


COMPILES = [
    {"loss": ["mse", "sparse_categorical_crossentropy"]},
    {"loss": {"reg": "mse", "cls": "sparse_categorical_crossentropy"},
     "loss_weights": {"reg": 2.0, "cls": 0.5}, "metrics": {"reg": ["mae"], "cls": ["accuracy"]}},
    {"loss": ["mse", "sparse_categorical_crossentropy"], "metrics": ["mae", "accuracy"],
     "loss_weights": [0.3, 1.0]},
    {"loss": ["mse", "sparse_categorical_crossentropy"],
     "metrics": [["mae", "mse"], ["accuracy"]], "weighted_metrics": {"cls": ["accuracy"]}},
]


@pytest.mark.parametrize("kwargs", COMPILES)
def test_fit_and_evaluate_as_keras(keras, data, kwargs):
    x, ya, yb = data
    sw = np.linspace(0.5, 1.5, N).astype("float32")
    results = []
    for model, lib in zip(_pair(keras), (keras, rnncore)):
        model.compile(lib.optimizers.SGD(0.1), **kwargs)
        history = model.fit(x, [ya, yb], epochs=2, batch_size=5, shuffle=False, verbose=0,
                            validation_split=0.25, sample_weight=sw)
        results.append((history.history, model.evaluate(x, [ya, yb], verbose=0),
                        model.evaluate(x, [ya, yb], verbose=0, return_dict=True)))
    (k_hist, k_list, k_dict), (r_hist, r_list, r_dict) = results
    assert sorted(r_hist) == sorted(k_hist)
    for key in k_hist:
        np.testing.assert_allclose(r_hist[key], k_hist[key], rtol=1e-5, err_msg=key)
    np.testing.assert_allclose(r_list, k_list, rtol=1e-5)  # Keras's order of the values
    assert sorted(r_dict) == sorted(k_dict)


def test_targets_as_a_dict_and_one_loss_for_every_output(keras, data):
    x, ya, yb = data
    yb = np.eye(3, dtype="float32")[yb]
    histories = []
    for model, lib in zip(_pair(keras), (keras, rnncore)):
        model.compile(lib.optimizers.SGD(0.1), loss="mse")
        histories.append(model.fit(x, {"cls": yb, "reg": ya}, epochs=2, batch_size=8,
                                   shuffle=False, verbose=0).history)
    for key in histories[0]:
        np.testing.assert_allclose(histories[1][key], histories[0][key], rtol=1e-5)


def test_predict_structures_as_keras(keras, data):
    x = data[0]
    k_model, r_model = _pair(keras)
    for make in (lambda lib, m: m,
                 lambda lib, m: lib.Model(m.inputs, {"r": m.outputs[0], "c": m.outputs[1]}),
                 lambda lib, m: lib.Model(m.inputs, [m.outputs[1]])):
        expected = make(keras, k_model).predict(x, verbose=0)
        got = make(rnncore, r_model).predict(x, verbose=0)
        assert type(got) is type(expected)
        if isinstance(expected, dict):
            assert sorted(got) == sorted(expected)
            got, expected = [got[k] for k in sorted(got)], [expected[k] for k in sorted(expected)]
        for g, e in zip(got if isinstance(got, list) else [got],
                        expected if isinstance(expected, list) else [expected]):
            np.testing.assert_allclose(g, e, atol=1e-6)
    assert r_model.output_names == k_model.output_names == ["reg", "cls"]


def _seq2seq(lib, vocab_in=12, vocab_out=11, units=8):
    """Keras's character-level seq2seq: the training model, then inference models from the
    same layers."""
    enc_in = lib.Input((None, vocab_in))
    _, h, c = lib.layers.LSTM(units, return_state=True)(enc_in)
    dec_in = lib.Input((None, vocab_out))
    dec_lstm = lib.layers.LSTM(units, return_sequences=True, return_state=True)
    dec_seq, _, _ = dec_lstm(dec_in, initial_state=[h, c])
    dense = lib.layers.Dense(vocab_out, activation="softmax")
    model = lib.Model([enc_in, dec_in], dense(dec_seq))
    encoder = lib.Model(enc_in, [h, c])
    h_in, c_in = lib.Input((units,)), lib.Input((units,))
    seq, h2, c2 = dec_lstm(dec_in, initial_state=[h_in, c_in])
    decoder = lib.Model([dec_in, h_in, c_in], [dense(seq), h2, c2])
    return model, encoder, decoder


def test_seq2seq_training_and_inference_models_as_keras(keras, rng):
    k_models, r_models = _seq2seq(keras), _seq2seq(rnncore)
    r_models[0].set_weights(k_models[0].get_weights())
    src = np.eye(12, dtype="float32")[rng.integers(0, 12, (6, 7))]
    tgt = np.eye(11, dtype="float32")[rng.integers(0, 11, (6, 5))]
    for model, lib in zip((k_models[0], r_models[0]), (keras, rnncore)):
        model.compile(lib.optimizers.RMSprop(0.01), "categorical_crossentropy")
    k_hist = k_models[0].fit([src, tgt[:, :-1]], tgt[:, 1:], epochs=3, batch_size=3,
                             shuffle=False, verbose=0).history
    r_hist = r_models[0].fit([src, tgt[:, :-1]], tgt[:, 1:], epochs=3, batch_size=3,
                             shuffle=False, verbose=0).history
    np.testing.assert_allclose(r_hist["loss"], k_hist["loss"], rtol=1e-4)
    # greedy decoding with the inference models, step by step, as the Keras example does
    states = [k_models[1].predict(src, verbose=0), r_models[1].predict(src, verbose=0)]
    for (k_state, r_state) in zip(*states):
        np.testing.assert_allclose(r_state, k_state, atol=1e-5)
    token = np.zeros((6, 1, 11), "float32")
    k_states, r_states = states
    for _ in range(3):
        k_out, *k_states = k_models[2].predict([token] + list(k_states), verbose=0)
        r_out, *r_states = r_models[2].predict([token] + list(r_states), verbose=0)
        np.testing.assert_allclose(r_out, k_out, atol=1e-5)
        token = np.eye(11, dtype="float32")[k_out.argmax(-1)]


def test_model_and_layer_tensors():
    inp = rnncore.Input((T, F))
    lstm = rnncore.layers.LSTM(4, return_state=True)
    seq, h, c = lstm(inp)
    model = rnncore.Model(inp, [seq, h])
    assert model.input is inp and model.output == [seq, h] and model.outputs == [seq, h]
    assert lstm.input is inp and lstm.output == [seq, h, c]
    with pytest.raises(AttributeError, match="has never been called"):
        rnncore.layers.Dense(2).output
    lstm(rnncore.Input((T, F)))
    assert lstm.input is inp  # Keras 3: the first call's tensors


def test_sequential_layers_have_tensors_for_sub_models(keras, rng):
    # Keras programs cut a trained Sequential: Model(seq.inputs, seq.layers[i].output)
    x = rng.standard_normal((4, T, F)).astype("float32")
    results = []
    for lib in (keras, rnncore):
        seq = lib.Sequential([lib.Input((T, F)), lib.layers.LSTM(4, return_sequences=True),
                              lib.layers.GRU(3), lib.layers.Dense(1)])
        if results:
            seq.set_weights(results[0][0].get_weights())
        sub = lib.Model(seq.inputs, seq.layers[1].output)
        results.append((seq, sub.predict(x, verbose=0), seq.outputs[0].shape))
    np.testing.assert_allclose(results[1][1], results[0][1], atol=1e-5)
    assert tuple(results[1][2]) == tuple(results[0][2])


def test_save_and_load_keep_each_output_compiled(data, tmp_path):
    x, ya, yb = data
    model = _two_heads(rnncore)
    model.compile("adam", loss={"reg": "mse", "cls": "sparse_categorical_crossentropy"},
                  loss_weights=[2.0, 0.5], metrics={"cls": ["accuracy"]})
    model.fit(x, [ya, yb], epochs=2, verbose=0)
    model.save(tmp_path / "two.keras")
    loaded = rnncore.models.load_model(tmp_path / "two.keras")
    assert loaded.evaluate(x, [ya, yb], verbose=0) == model.evaluate(x, [ya, yb], verbose=0)
    assert loaded.fit(x, [ya, yb], verbose=0, shuffle=False).history == \
        model.fit(x, [ya, yb], verbose=0, shuffle=False).history


@pytest.mark.parametrize("compile_kwargs, fit_kwargs, match", [
    ({"loss": ["mse"]}, {}, r"loss must have one entry per output \(2"),
    ({"loss": {"nope": "mse"}}, {}, r"loss has keys \['nope'\] that are not outputs"),
    ({"loss": "mse", "metrics": ["mae"]}, {}, r"metrics must have one entry per output"),
    ({"loss": "mse", "loss_weights": [1.0]}, {}, r"loss_weights must have one entry per output"),
    ({"loss": "mse"}, {"y": "one"}, r"y must give one target array per output \(2"),
    ({"loss": "mse"}, {"y": {"reg": 0}}, r"y is a dict without targets for the outputs \['cls'\]"),
    ({"loss": "mse"}, {"class_weight": {0: 1.0}}, r"class_weight` is only supported for models "
                                                  r"with a single output"),
    ({"loss": "mse"}, {"sample_weight": [np.ones(N)]}, r"sample_weight must be one array for all "
                                                       r"outputs, or one per output"),
])
def test_bad_multi_output_arguments(data, compile_kwargs, fit_kwargs, match):
    x, ya, yb = data
    fit_kwargs = dict(fit_kwargs)
    y = fit_kwargs.pop("y", [ya, np.eye(3)[yb]])
    model = _two_heads(rnncore)
    with pytest.raises(ValueError, match=match):
        model.compile("sgd", **compile_kwargs)
        model.fit(x, ya if isinstance(y, str) else y, verbose=0, **fit_kwargs)


def test_nested_output_structures_as_keras(keras, rng):
    # RNN over stacked cells returns [output, [h1, c1], [h2, c2]]; a model keeps the nesting
    x = rng.standard_normal((2, 5, 3)).astype("float32")
    results = []
    for lib in (keras, rnncore):
        inp = lib.Input((5, 3))
        out = lib.layers.RNN([lib.layers.LSTMCell(4), lib.layers.LSTMCell(3)],
                             return_state=True)(inp)
        model = lib.Model(inp, {"seq": out[0], "states": [out[1][0], out[2][1]]})
        if results:
            model.set_weights(results[0][0].get_weights())
        results.append((model, model.predict(x, verbose=0)))
    (_, k_out), (r_model, r_out) = results
    assert sorted(r_out) == sorted(k_out) and isinstance(r_out["states"], list)
    np.testing.assert_allclose(r_out["seq"], k_out["seq"], atol=1e-5)
    for r, k in zip(r_out["states"], k_out["states"]):
        np.testing.assert_allclose(r, k, atol=1e-5)
