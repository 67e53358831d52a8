"""Functional graphs as Keras builds them: layer and weight order of branched graphs, an
explicit ``mask=`` tensor, ``initial_state`` tensors of the wrong width, ranks checked when a
layer is called, ids checked at every Embedding."""
import numpy as np
import pytest

import rnncore


def _encoder_decoder(lib):
    enc_in = lib.Input((None,), dtype="int32")
    dec_in = lib.Input((None,), dtype="int32")
    _, h, c = lib.layers.LSTM(16, return_state=True)(lib.layers.Embedding(50, 8)(enc_in))
    seq = lib.layers.LSTM(16, return_sequences=True)(lib.layers.Embedding(60, 8)(dec_in),
                                                       initial_state=[h, c])
    return lib.Model([enc_in, dec_in], lib.layers.Dense(60, activation="softmax")(seq))


def _masked_gru(lib, **kwargs):
    x = lib.Input((5, 3))
    mask = lib.Input((5,), dtype="bool")
    return lib.Model([x, mask], lib.layers.GRU(4, **kwargs)(x, mask=mask))


def _two_branches(lib):
    # the deeper branch is reached second by a walk from the output: depth decides first
    a = lib.Input((6, 3))
    b = lib.Input((6, 2))
    short = lib.layers.Dense(3)(lib.layers.GlobalAveragePooling1D()(
        lib.layers.SimpleRNN(4, return_sequences=True)(b)))
    deep = lib.layers.LSTM(4, return_sequences=True)(lib.layers.GRU(5, return_sequences=True)(a))
    return lib.Model([a, b], lib.layers.SimpleRNN(3)(deep, initial_state=[short]))


@pytest.mark.parametrize("build", [_encoder_decoder, _masked_gru, _two_branches])
def test_layer_and_weight_order_match_keras(keras, build):
    k_model, r_model = build(keras), build(rnncore)
    k_classes = [type(layer).__name__ for layer in k_model.layers]
    r_classes = [type(layer).__name__ for layer in r_model.layers]
    assert r_classes == k_classes
    assert [w.shape for w in r_model.get_weights()] == [w.shape for w in k_model.get_weights()]
    r_model.set_weights(k_model.get_weights())  # the whole point: weights move over as is


def test_encoder_decoder_predicts_as_keras(keras, rng):
    k_model, r_model = _encoder_decoder(keras), _encoder_decoder(rnncore)
    r_model.set_weights(k_model.get_weights())
    x = [rng.integers(0, 50, (4, 7)), rng.integers(0, 60, (4, 5))]
    np.testing.assert_allclose(r_model.predict(x, verbose=0), k_model.predict(x, verbose=0),
                               atol=1e-5)


@pytest.mark.parametrize("zero_output", [False, True])
def test_explicit_mask_tensor_as_keras(keras, rng, zero_output):
    kwargs = {"return_sequences": True, "zero_output_for_mask": zero_output}
    k_model = _masked_gru(keras, **kwargs)
    r_model = _masked_gru(rnncore, **kwargs)
    weights = [rng.standard_normal(w.shape).astype("float32") * 0.5
               for w in k_model.get_weights()]
    k_model.set_weights(weights)
    r_model.set_weights(weights)
    x = rng.standard_normal((3, 5, 3)).astype("float32")
    mask = np.array([[1, 1, 0, 0, 1], [1, 0, 1, 1, 1], [0, 1, 1, 1, 1]], bool)
    expected = k_model.predict([x, mask], verbose=0)
    got = r_model.predict([x, mask], verbose=0)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    # and not the unmasked result: the mask must have been used
    assert np.abs(got - r_model.predict([x, np.ones_like(mask)], verbose=0)).max() > 1e-3


def test_explicit_mask_trains_as_keras(keras, rng):
    k_model, r_model = _masked_gru(keras), _masked_gru(rnncore)
    r_model.set_weights(k_model.get_weights())
    x = rng.standard_normal((8, 5, 3)).astype("float32")
    mask = rng.random((8, 5)) > 0.3
    y = rng.standard_normal((8, 4)).astype("float32")
    for model, lib in ((k_model, keras), (r_model, rnncore)):
        model.compile(lib.optimizers.SGD(0.5), "mse")
    k_hist = k_model.fit([x, mask], y, epochs=3, batch_size=4, shuffle=False, verbose=0)
    r_hist = r_model.fit([x, mask], y, epochs=3, batch_size=4, shuffle=False, verbose=0)
    np.testing.assert_allclose(r_hist.history["loss"], k_hist.history["loss"], rtol=1e-4)


def test_explicit_mask_survives_save_and_load(tmp_path, rng):
    model = _masked_gru(rnncore, return_sequences=True)
    x = rng.standard_normal((2, 5, 3)).astype("float32")
    mask = np.array([[1, 1, 0, 0, 1], [1, 0, 1, 1, 1]], bool)
    model.save(tmp_path / "m.h5")
    loaded = rnncore.models.load_model(tmp_path / "m.h5")
    np.testing.assert_array_equal(loaded.predict([x, mask], verbose=0),
                                  model.predict([x, mask], verbose=0))


def test_explicit_mask_of_wrong_shape_is_refused(rng):
    x = rnncore.Input((None, 3))
    mask = rnncore.Input((None,), dtype="bool")
    model = rnncore.Model([x, mask], rnncore.layers.GRU(4)(x, mask=mask))
    with pytest.raises(ValueError, match=r"mask passed to it .* has shape \(2, 4\)"):
        model.predict([np.ones((2, 5, 3)), np.ones((2, 4), bool)], verbose=0)


@pytest.mark.parametrize("cls, n_states", [("SimpleRNN", 1), ("GRU", 1), ("LSTM", 2)])
def test_initial_state_tensor_of_wrong_width_is_refused(cls, n_states):
    x = rnncore.Input((5, 3))
    states = [rnncore.Input((6,)) for _ in range(n_states)]
    with pytest.raises(ValueError, match=r"initial_state\[0\] must have shape \(batch, 4\), "
                                         r"got \(None, 6\)"):
        getattr(rnncore.layers, cls)(4)(x, initial_state=states)


@pytest.mark.parametrize("width", [1, 6])
def test_initial_state_of_open_width_checked_with_the_data(width):
    # an Input((None,)) passes the graph check; its data must not broadcast into the state
    x = rnncore.Input((5, 3))
    h = rnncore.Input((None,))
    model = rnncore.Model([x, h], rnncore.layers.GRU(4)(x, initial_state=[h]))
    with pytest.raises(ValueError, match=rf"initial_state\[0\] must have shape \(2, 4\), "
                                         rf"got \(2, {width}\)"):
        model.predict([np.ones((2, 5, 3)), np.ones((2, width))], verbose=0)


def test_initial_state_count_is_checked():
    x = rnncore.Input((5, 3))
    with pytest.raises(ValueError, match="initial_state must be a list of 2"):
        rnncore.layers.LSTM(4)(x, initial_state=[rnncore.Input((4,))])


def test_rank_checked_when_a_sequential_is_built():
    model = rnncore.Sequential([rnncore.layers.Embedding(10, 4), rnncore.layers.LSTM(2)])
    with pytest.raises(ValueError, match=r"Input 0 of layer 'lstm\S*' is incompatible with the "
                                         r"layer: expected ndim=3, found ndim=4"):
        model.predict(np.ones((2, 3, 2), int), verbose=0)


@pytest.mark.parametrize("make, shape", [
    (lambda: rnncore.layers.LSTM(2), (None, 4)),
    (lambda: rnncore.layers.Bidirectional(rnncore.layers.GRU(2)), (None, 4, 3, 2)),
    (lambda: rnncore.layers.Dense(2), (None,)),
    (lambda: rnncore.layers.GlobalAveragePooling1D(), (None, 3)),
])
def test_rank_checked_when_a_layer_is_called_on_a_tensor(make, shape):
    with pytest.raises(ValueError, match=r"is incompatible with the layer: expected"):
        make()(rnncore.Input(shape[1:]))


class _Shift:
    """A Lambda body that moves ids out of the table's range."""

    def __init__(self, by):
        self.by = by

    def __call__(self, x):
        return x + self.by


@pytest.mark.parametrize("shift", [100, -100, 10 ** 12])
def test_ids_checked_at_an_embedding_that_is_not_first(shift):
    model = rnncore.Sequential([rnncore.Input((3,), dtype="int64"),
                                rnncore.layers.Lambda(_Shift(shift)),
                                rnncore.layers.Embedding(10, 4), rnncore.layers.LSTM(2)])
    with pytest.raises(ValueError, match=r"token id -?\d+ is outside \[0, input_dim=10\)"):
        model.predict(np.array([[1, 2, 3]]), verbose=0)


@pytest.mark.parametrize("rows", [5, 5000])  # a lookup (few rows) and a gather (many)
def test_ids_checked_at_a_second_embedding_on_one_input(rows):
    # the model's input check sees the first consumer of the input (the big table) only
    inp = rnncore.Input((3,), dtype="int32")
    state = rnncore.layers.GRU(2)(rnncore.layers.Embedding(rows, 4)(inp))
    out = rnncore.layers.SimpleRNN(2)(rnncore.layers.Embedding(10 * rows, 4)(inp),
                                       initial_state=[state])
    model = rnncore.Model(inp, out)
    model.predict(np.array([[1, 2, rows - 1]]), verbose=0)
    with pytest.raises(ValueError, match=rf"token id {rows} is outside \[0, input_dim={rows}\)"):
        model.predict(np.array([[1, 2, rows]]), verbose=0)
