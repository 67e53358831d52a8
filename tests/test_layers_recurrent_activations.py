"""SimpleRNN, LSTM and GRU with an activation the compiled kernels lack (a lambda, a named
function written with ops, a Keras built-in such as gelu): against Keras 3 from equal weights
(forward, training, masks, Bidirectional, cells, stateful, saving), and the NumPy steps that
run them against the kernels on the same maths (a user's function equal to tanh) with every
option of the recurrent functions, in float64."""
import numpy as np
import pytest

import rnncore
from _parity import rel_err
from _tolerance import OTHER_FORMULA, TRAINING_RTOL
from rnncore import recurrent

LAYERS = [("SimpleRNN", {}), ("LSTM", {}), ("GRU", {}), ("GRU", {"reset_after": False})]
LAYER_IDS = ["SimpleRNN", "LSTM", "GRU", "GRU_reset_before"]


def _activations(lib, kind):
    """(activation, recurrent_activation or None) of one kind, written with `lib`'s ops."""
    def scaled_tanh(x):
        return lib.ops.tanh(x) * 1.5

    def soft_gate(x):
        return lib.ops.sigmoid(x * 2.0)

    if kind == "lambda":
        return (lambda x: lib.ops.softplus(x) - 0.5), None
    if kind == "named":
        return scaled_tanh, soft_gate
    return "gelu", "softsign"


def _layer(lib, name, kwargs, kind, units, **more):
    act, ract = _activations(lib, kind)
    kwargs = dict(kwargs, activation=act, **more)
    if ract is not None and name != "SimpleRNN":
        kwargs["recurrent_activation"] = ract
    return getattr(lib.layers, name)(units, **kwargs)


def _pair(keras, make):
    k_model, r_model = make(keras), make(rnncore)
    r_model.set_weights(k_model.get_weights())
    return k_model, r_model


def _check_training(keras, k_model, r_model, x, y, steps=3, tol=TRAINING_RTOL):
    k_model.compile(keras.optimizers.SGD(0.05), "mse")
    r_model.compile(rnncore.optimizers.SGD(0.05), "mse")
    for step in range(steps):
        k_loss, r_loss = k_model.train_on_batch(x, y), r_model.train_on_batch(x, y)
        assert rel_err(r_loss, k_loss) <= tol, (step, r_loss, k_loss)
    for r_w, k_w in zip(r_model.get_weights(), k_model.get_weights()):
        assert rel_err(r_w, k_w) <= tol


@pytest.mark.parametrize("kind", ["lambda", "named", "builtin"])
@pytest.mark.parametrize("name,kwargs", LAYERS, ids=LAYER_IDS)
def test_stacked_layers_with_any_activation_match_keras(keras, rng, name, kwargs, kind):
    def make(lib):
        return lib.Sequential([lib.Input((7, 3)),
                               _layer(lib, name, kwargs, kind, 4, return_sequences=True),
                               _layer(lib, name, kwargs, kind, 3), lib.layers.Dense(1)])

    k_model, r_model = _pair(keras, make)
    x = rng.normal(size=(5, 7, 3)).astype("float32")
    y = rng.normal(size=(5, 1)).astype("float32")
    assert rel_err(r_model.predict(x, verbose=0), k_model.predict(x, verbose=0)) <= 1e-5
    _check_training(keras, k_model, r_model, x, y)


def _options_model(lib, act):
    inp = lib.Input((7, 3))
    h = lib.layers.Masking()(inp)
    h = lib.layers.Bidirectional(lib.layers.LSTM(4, activation=act, return_sequences=True,
                                                 unit_forget_bias=False))(h)
    h, state = lib.layers.GRU(3, activation="gelu", recurrent_activation=act,
                              go_backwards=True, use_bias=False, return_state=True)(h)
    cell = lib.layers.RNN(lib.layers.SimpleRNNCell(2, activation=act))(inp)
    gru_cell = lib.layers.RNN(lib.layers.GRUCell(2, activation=act, reset_after=False))(inp)
    out = lib.layers.Dense(1)(lib.layers.Concatenate()([h, state, cell, gru_cell]))
    return lib.Model(inp, out)


def test_masks_bidirectional_cells_and_saving_match_keras(keras, rng, tmp_path):
    @keras.saving.register_keras_serializable(package="rnnact", name="shifted")
    def shifted_k(x):
        return keras.ops.softplus(x) - 0.5

    @rnncore.saving.register_keras_serializable(package="rnnact", name="shifted")
    def shifted(x):
        return rnncore.ops.softplus(x) - 0.5

    k_model = _options_model(keras, shifted_k)
    r_model = _options_model(rnncore, shifted)
    r_model.set_weights(k_model.get_weights())
    x = rng.normal(size=(5, 7, 3)).astype("float32")
    x[1, 4:] = 0  # masked steps, at the end and at the start
    x[3, :2] = 0
    y = rng.normal(size=(5, 1)).astype("float32")
    assert rel_err(r_model.predict(x, verbose=0), k_model.predict(x, verbose=0)) <= 1e-5
    _check_training(keras, k_model, r_model, x, y)
    bidirectional = r_model.layers[2]
    assert bidirectional.get_config()["layer"]["config"]["activation"] == \
        k_model.layers[2].get_config()["layer"]["config"]["activation"]
    # .keras both ways: the registered function is found again by its registered name
    expected = k_model.predict(x, verbose=0)
    r_model.save(tmp_path / "r.keras")
    k_model.save(tmp_path / "k.keras")
    for loaded in (rnncore.models.load_model(tmp_path / "r.keras"),
                   rnncore.models.load_model(tmp_path / "k.keras")):
        assert loaded.layers[2].forward_layer.activation is shifted
        assert rel_err(loaded.predict(x, verbose=0), expected) <= 1e-5
    theirs = keras.models.load_model(tmp_path / "r.keras")
    assert rel_err(theirs.predict(x, verbose=0), expected) <= 1e-5


def test_stateful_layer_with_a_user_activation_matches_keras(keras, rng):
    def make(lib):
        return lib.Sequential([lib.Input((4, 3), batch_size=5),
                               lib.layers.LSTM(3, stateful=True, return_sequences=True,
                                               activation=lambda x: lib.ops.tanh(x) * 2.0)])

    k_model, r_model = _pair(keras, make)
    for _ in range(2):  # the second batch starts from the first one's final states
        x = rng.normal(size=(5, 4, 3)).astype("float32")
        assert rel_err(r_model.predict(x, batch_size=5, verbose=0),
                       k_model.predict(x, batch_size=5, verbose=0)) <= 1e-5


def test_user_function_named_like_a_kernel_activation_runs_as_written(keras, rng):
    def make(lib):
        def tanh(x):  # the user's own: must not become the kernels' tanh
            return lib.ops.relu(x) - 0.25
        return lib.Sequential([lib.Input((5, 2)), lib.layers.GRU(3, activation=tanh)])

    k_model, r_model = _pair(keras, make)
    x = rng.normal(size=(4, 5, 2)).astype("float32")
    assert rel_err(r_model.predict(x, verbose=0), k_model.predict(x, verbose=0)) <= 1e-5
    assert r_model.layers[0].get_config()["activation"]["config"] == "tanh"


def test_unknown_activation_name_is_refused_by_argument():
    with pytest.raises(ValueError, match="recurrent_activation.*'sigmoidd'"):
        rnncore.layers.LSTM(2, recurrent_activation="sigmoidd")
    with pytest.raises(ValueError, match="activation.*'tahn'"):
        rnncore.layers.SimpleRNN(2, activation="tahn")


@pytest.mark.parametrize("name", ["sigmoid", "hard_sigmoid", "linear"])
def test_simple_rnn_runs_every_kernel_activation_as_keras(keras, rng, name):
    def make(lib):
        return lib.Sequential([lib.Input((6, 3)), lib.layers.SimpleRNN(4, activation=name),
                               lib.layers.Dense(1)])

    k_model, r_model = _pair(keras, make)
    x = rng.normal(size=(5, 6, 3)).astype("float32")
    y = rng.normal(size=(5, 1)).astype("float32")
    assert rel_err(r_model.predict(x, verbose=0), k_model.predict(x, verbose=0)) <= 1e-5
    _check_training(keras, k_model, r_model, x, y)


# ---- the NumPy steps against the kernels, on the same maths (float64) ------------------------
def _tanh(x):
    return rnncore.ops.tanh(x)


def _sigmoid(x):
    return rnncore.ops.sigmoid(x)


_FUNCTIONS = {
    "simple": (recurrent.simple_rnn_forward, recurrent.simple_rnn_backward, 1, {}),
    "lstm": (recurrent.lstm_forward, recurrent.lstm_backward, 4, {}),
    "gru": (recurrent.gru_forward, recurrent.gru_backward, 3, {"reset_after": True}),
    "gru_before": (recurrent.gru_forward, recurrent.gru_backward, 3, {"reset_after": False}),
}


@pytest.mark.parametrize("per_gate", [False, True], ids=["shared_masks", "per_gate_masks"])
@pytest.mark.parametrize("cell", sorted(_FUNCTIONS))
def test_numpy_steps_equal_the_kernels_with_every_option(rng, cell, per_gate):
    forward, backward, G, extra = _FUNCTIONS[cell]
    if per_gate and G == 1:
        pytest.skip("SimpleRNN has one gate block")
    B, T, F, H = 4, 6, 3, 5
    x = rng.normal(size=(B, T, F))
    W = rng.normal(size=(F, G * H)) * 0.5
    U = rng.normal(size=(H, G * H)) * 0.5
    bias = rng.normal(size=(2, G * H) if cell == "gru" else (G * H,))
    states = [rng.normal(size=(B, H)) for _ in range(2 if cell == "lstm" else 1)]
    mask = np.ones((B, T), bool)
    mask[1, 4:] = False
    mask[2, :2] = False
    lead = (G,) if per_gate else ()
    dp = (rng.random((*lead, B, F)) > 0.3) / 0.7
    rdp = (rng.random((*lead, B, H)) > 0.3) / 0.7
    options = dict(mask=mask, dropout_mask=dp, recurrent_dropout_mask=rdp, go_backwards=True,
                   return_sequences=True, truncate_gradient=4, **extra)
    if cell != "simple":
        options["recurrent_activation"] = "sigmoid"
    d_out = rng.normal(size=(B, T, H))
    d_states = [rng.normal(size=(B, H)) for _ in states]
    results = []
    for act, ract in (("tanh", "sigmoid"), (_tanh, _sigmoid)):
        options["activation"] = act
        if cell != "simple":
            options["recurrent_activation"] = ract
        initial = states if cell == "lstm" else states[0]
        out, final, cache = forward(x, W, U, bias, initial, **options)
        grads = backward(cache, d_out, d_states if cell == "lstm" else d_states[0])
        results.append((out, final, grads))
    (out_k, final_k, grads_k), (out_n, final_n, grads_n) = results
    np.testing.assert_allclose(out_n, out_k, **OTHER_FORMULA)
    for a, b in zip(np.atleast_1d(final_n), np.atleast_1d(final_k)):
        np.testing.assert_allclose(a, b, **OTHER_FORMULA)
    for key in ("kernel", "recurrent_kernel", "bias", "x"):
        np.testing.assert_allclose(grads_n[key], grads_k[key], **OTHER_FORMULA, err_msg=key)
    for a, b in zip(np.atleast_1d(grads_n["initial_state"]),
                    np.atleast_1d(grads_k["initial_state"])):
        np.testing.assert_allclose(a, b, **OTHER_FORMULA)


def test_numpy_steps_gradient_by_finite_differences(rng):
    """gelu, which the kernels lack, through an LSTM with a mask: weights' and input's
    gradients against central differences of the loss Σ output ⊙ d_out."""
    B, T, F, H = 2, 4, 2, 3
    x = rng.normal(size=(B, T, F))
    W, U = rng.normal(size=(F, 4 * H)) * 0.5, rng.normal(size=(H, 4 * H)) * 0.5
    bias = rng.normal(size=(4 * H,))
    mask = np.ones((B, T), bool)
    mask[1, 2:] = False
    d_out = rng.normal(size=(B, T, H))
    options = dict(activation="gelu", recurrent_activation="softsign", mask=mask,
                   return_sequences=True)

    def loss(W, U, bias, x):
        return np.sum(recurrent.lstm_forward(x, W, U, bias, **options)[0] * d_out)

    grads = recurrent.lstm_backward(recurrent.lstm_forward(x, W, U, bias, **options)[2], d_out)
    args = {"kernel": W, "recurrent_kernel": U, "bias": bias, "x": x}
    for key, value in args.items():
        num = np.zeros_like(value)
        for i in np.ndindex(value.shape):
            plus, minus = value.copy(), value.copy()
            plus[i] += 1e-6
            minus[i] -= 1e-6
            num[i] = (loss(*[plus if k == key else args[k] for k in args])
                      - loss(*[minus if k == key else args[k] for k in args])) / 2e-6
        np.testing.assert_allclose(grads[key], num, rtol=1e-6, atol=1e-8, err_msg=key)
