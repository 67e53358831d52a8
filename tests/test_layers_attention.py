"""Attention and AdditiveAttention against Keras 3: score modes, scales, key inputs, masks,
causal masks, returned scores; finite differences in float64; a seq2seq decoder with
attention over the encoder's outputs, built with the functional API and trained with fit."""
import numpy as np
import pytest

import rnncore
from rnncore import layers

from _layer_grads import assert_close_to_keras, finite_difference_check, rnncore_grads
from _parity import rel_err

SETTINGS = [("Attention", {}), ("Attention", {"use_scale": True}),
            ("Attention", {"score_mode": "concat"}),
            ("Attention", {"score_mode": "concat", "use_scale": True}),
            ("AdditiveAttention", {}), ("AdditiveAttention", {"use_scale": False})]


def _qvk(rng, batch=3, tq=4, tv=6, dim=5):
    return [rng.standard_normal(s).astype(np.float32)
            for s in ((batch, tq, dim), (batch, tv, dim), (batch, tv, dim))]


def _masks():
    qm = np.ones((3, 4), bool)
    qm[0, 3:] = False
    vm = np.ones((3, 6), bool)
    vm[1, 4:] = False
    vm[2, :2] = False
    return [qm, vm]


@pytest.mark.parametrize("cls,kwargs", SETTINGS, ids=lambda v: str(v))
@pytest.mark.parametrize("n_inputs", [2, 3])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("causal", [False, True])
def test_attention_matches_keras(keras, tf, rng, cls, kwargs, n_inputs, masked, causal):
    xs = _qvk(rng)[:n_inputs]
    k_layer = getattr(keras.layers, cls)(**kwargs)
    k_layer(xs)
    # weights away from their initial ones, so that a wrong use of them shows
    weights = [rng.random(w.shape).astype(np.float32) + 0.5 for w in k_layer.weights]
    assert_close_to_keras(tf, k_layer, getattr(layers, cls)(**kwargs), xs,
                          mask=_masks() if masked else None, weights=weights,
                          use_causal_mask=causal)


@pytest.mark.parametrize("cls", ["Attention", "AdditiveAttention"])
def test_returned_scores_and_output_mask_as_keras(keras, rng, cls):
    q, v, _ = _qvk(rng)
    k_layer, r_layer = getattr(keras.layers, cls)(), getattr(layers, cls)()
    k_out, k_scores = k_layer([q, v], mask=_masks(), return_attention_scores=True)
    r_layer([q, v])
    r_layer.set_weights(k_layer.get_weights())
    r_out, r_scores = r_layer([q, v], mask=_masks(), return_attention_scores=True)
    np.testing.assert_allclose(r_out, k_out, atol=1e-5)
    np.testing.assert_allclose(r_scores, k_scores, atol=1e-6)
    assert r_scores.shape == (3, 4, 6)
    # masked value steps get no weight, masked query steps give zeros
    assert np.all(r_scores[1, :, 4:] < 1e-6) and np.all(r_out[0, 3:] == 0)
    np.testing.assert_array_equal(r_layer.compute_mask([q, v], _masks()),
                                  k_layer.compute_mask([q, v], _masks()))
    assert r_layer.compute_mask([q, v], None) is None


@pytest.mark.parametrize("cls,kwargs", SETTINGS, ids=lambda v: str(v))
def test_attention_gradients_match_finite_differences(rng, cls, kwargs):
    layer = getattr(layers, cls)(dtype="float64", **kwargs)
    xs = [x.astype(np.float64)[:2, :3, :3] for x in _qvk(rng)]
    layer(xs)
    layer.set_weights([rng.random(w.shape) + 0.5 for w in layer.weights])
    qm, vm = (m[:2, :3] for m in _masks())
    vm[1, 1] = False
    finite_difference_check(layer, xs, mask=[qm, vm], use_causal_mask=True)
    finite_difference_check(layer, xs[:2])


def test_dropout_drops_attention_weights_in_training_only(rng):
    q, v, _ = _qvk(rng)
    layer = layers.Attention(dropout=0.5, seed=3)
    plain = layer([q, v], return_attention_scores=True)[1]
    out, dropped = layer([q, v], training=True, return_attention_scores=True)
    assert np.any(dropped == 0)
    kept = dropped != 0
    np.testing.assert_allclose(dropped[kept], plain[kept] / 0.5, rtol=1e-6)
    np.testing.assert_allclose(out, dropped @ v, rtol=1e-5, atol=1e-6)
    dy = rng.standard_normal(out.shape).astype(np.float32)
    out, (dq, dv, dk), _ = rnncore_grads(layer, [q, v, v.copy()], dy, training=True)
    # with a separate key, the value's gradient is the dropped weights' product alone
    weights = layer._cache[6]  # the dropped weights of this call
    np.testing.assert_allclose(dv, np.swapaxes(weights, 1, 2) @ dy, rtol=1e-5, atol=1e-6)
    assert np.any(weights == 0) and dq.shape == q.shape and dk.shape == v.shape


def _seq2seq(lib, cls, vocab=12, enc_steps=7, dec_steps=5, units=8):
    """A decoder LSTM whose outputs attend over the encoder LSTM's outputs; both sides padded
    with id 0 (Embedding(mask_zero=True)), so Attention gets [query_mask, value_mask]."""
    enc_in = lib.Input(shape=(enc_steps,), dtype="int32", name="encoder_inputs")
    dec_in = lib.Input(shape=(dec_steps,), dtype="int32", name="decoder_inputs")
    enc_emb = lib.layers.Embedding(vocab, 4, mask_zero=True, name="enc_emb")(enc_in)
    enc_out = lib.layers.LSTM(units, return_sequences=True, name="encoder")(enc_emb)
    dec_emb = lib.layers.Embedding(vocab, 4, mask_zero=True, name="dec_emb")(dec_in)
    dec_out = lib.layers.LSTM(units, return_sequences=True, name="decoder")(dec_emb)
    context = getattr(lib.layers, cls)(name="attention")([dec_out, enc_out])
    out = lib.layers.Dense(vocab, activation="softmax", name="out")(context)
    model = lib.Model([enc_in, dec_in], out)
    model.compile(lib.optimizers.Adam(0.01), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def test_seq2seq_with_attention_trains_as_keras(keras, rng, cls="Attention"):
    """Encoder outputs (masked by the source padding) as the value, decoder outputs (masked by
    the target padding) as the query: padded source steps get no weight, the target mask
    reaches the loss, as in Keras; history and weights as Keras's."""
    n, vocab = 48, 12
    enc = rng.integers(1, vocab, (n, 7))
    for i, length in enumerate(rng.integers(2, 8, n)):
        enc[i, length:] = 0  # source sequences of different lengths
    dec = rng.integers(1, vocab, (n, 5))
    dec[::3, 3:] = 0  # padding at the end of some target sequences
    y = (dec + enc[:, :5]) % vocab
    k_model, r_model = _seq2seq(keras, cls), _seq2seq(rnncore, cls)
    assert [w.name for w in r_model.weights] == [w.name for w in k_model.weights]
    r_model.set_weights(k_model.get_weights())
    fit = dict(batch_size=16, epochs=3, shuffle=False, verbose=0)
    k_hist = k_model.fit([enc, dec], y, **fit).history
    r_hist = r_model.fit([enc, dec], y, **fit).history
    for key in k_hist:
        assert rel_err(r_hist[key], k_hist[key]) <= 1e-3, key
    for r_w, k_w in zip(r_model.get_weights(), k_model.get_weights()):
        assert rel_err(r_w, k_w) <= 1e-3
    np.testing.assert_allclose(r_model.predict([enc, dec], verbose=0),
                               k_model.predict([enc, dec], verbose=0), atol=1e-4)


def _self_attention(lib, causal, scores, cls="Attention"):
    inp = lib.Input(shape=(6, 4))
    seq = lib.layers.LSTM(5, return_sequences=True, name="lstm")(inp)
    att = getattr(lib.layers, cls)(use_scale=True, name="att")(
        [seq, seq], use_causal_mask=causal, return_attention_scores=scores)
    context = att[0] if scores else att
    return lib.Model(inp, lib.layers.Dense(2, name="out")(context))


@pytest.mark.parametrize("causal,scores,cls", [(True, False, "Attention"),
                                               (False, True, "Attention"),
                                               (True, True, "Attention"),
                                               (True, True, "AdditiveAttention")])
def test_call_options_in_a_functional_model_as_keras(keras, rng, causal, scores, cls):
    """Self-attention over an LSTM's outputs with use_causal_mask / return_attention_scores:
    predictions and three training steps as Keras's."""
    x = rng.standard_normal((4, 6, 4)).astype(np.float32)
    k_model = _self_attention(keras, causal, scores, cls)
    r_model = _self_attention(rnncore, causal, scores, cls)
    k_model.set_weights([w + 0.3 for w in k_model.get_weights()])
    r_model.set_weights(k_model.get_weights())
    np.testing.assert_allclose(r_model.predict(x, verbose=0), k_model.predict(x, verbose=0),
                               atol=1e-5)
    for lib, model in ((keras, k_model), (rnncore, r_model)):
        model.compile(lib.optimizers.SGD(0.1), "mse")
    y = rng.standard_normal((4, 6, 2)).astype(np.float32)
    k_loss = [k_model.train_on_batch(x, y) for _ in range(3)]
    r_loss = [r_model.train_on_batch(x, y) for _ in range(3)]
    assert rel_err(r_loss, k_loss) <= 1e-4


def test_a_masked_value_in_a_functional_model_as_keras(keras, rng):
    """Keras hands Attention the masks of all its inputs, [query_mask, value_mask], so the
    encoder's padding is left out of the weights; so does rnncore's functional model."""
    def build(lib):
        q_in = lib.Input(shape=(3, 4))
        v_in = lib.Input(shape=(5,), dtype="int32")
        v = lib.layers.Embedding(9, 4, mask_zero=True, name="emb")(v_in)
        return lib.Model([q_in, v_in], lib.layers.Attention(name="att")([q_in, v]))

    q = rng.standard_normal((2, 3, 4)).astype(np.float32)
    ids = np.array([[1, 2, 3, 0, 0], [4, 5, 6, 7, 8]])
    k_model, r_model = build(keras), build(rnncore)
    r_model.set_weights(k_model.get_weights())
    k_out = k_model.predict([q, ids], verbose=0)
    r_out = r_model.predict([q, ids], verbose=0)
    np.testing.assert_allclose(r_out, k_out, atol=1e-5)


@pytest.mark.parametrize("inputs,error", [
    (lambda q, v: q, "must be called on a list of inputs"),
    (lambda q, v: [q], "length 2 or 3"),
    (lambda q, v: [q, v, v, v], "length 2 or 3"),
    (lambda q, v: [q, v[:, :, :3]], "same last dimension"),
    (lambda q, v: [q, v, v[:, :2]], "same number of steps"),
    (lambda q, v: [q[0], v], "query must be 3D"),
])
def test_bad_inputs_are_named(rng, inputs, error):
    q, v, _ = _qvk(rng)
    with pytest.raises(ValueError, match=error):
        layers.Attention()(inputs(q, v))


def test_bad_masks_are_named(rng):
    q, v, _ = _qvk(rng)
    with pytest.raises(ValueError, match="mask must be a list"):
        layers.Attention()([q, v], mask=np.ones((3, 4), bool))
    with pytest.raises(ValueError, match="value_mask must have shape"):
        layers.Attention()([q, v], mask=[None, np.ones((3, 5), bool)])


def test_explicit_mask_tensors_in_a_functional_model_as_keras(keras, rng, tmp_path):
    """``Attention()([q, v], mask=[q_mask, v_mask])`` with boolean Inputs as the masks."""
    def build(lib):
        q_in, v_in = lib.Input(shape=(4, 5)), lib.Input(shape=(6, 5))
        qm_in = lib.Input(shape=(4,), dtype="bool")
        vm_in = lib.Input(shape=(6,), dtype="bool")
        out = lib.layers.Attention(use_scale=True, name="att")([q_in, v_in],
                                                               mask=[qm_in, vm_in])
        return lib.Model([q_in, v_in, qm_in, vm_in], out)

    q, v, _ = _qvk(rng)
    xs = [q, v] + _masks()
    k_model, r_model = build(keras), build(rnncore)
    r_model.set_weights(k_model.get_weights())
    k_out = k_model.predict(xs, verbose=0)
    np.testing.assert_allclose(r_model.predict(xs, verbose=0), k_out, atol=1e-5)
    assert np.all(k_out[0, 3:] == 0)
    r_model.save(tmp_path / "masked.keras")
    loaded = rnncore.models.load_model(tmp_path / "masked.keras")
    np.testing.assert_allclose(loaded.predict(xs, verbose=0), k_out, atol=1e-5)
