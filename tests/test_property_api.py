"""Property-based tests of rnncore's public entry points (hypothesis).

Random shapes, dtypes, layouts and values for every argument of the ``rnncore.recurrent`` functions,
of the layers' ``__call__`` and of a small model's fit / predict / evaluate, some of them
deliberately wrong. The outcome must be a correct result (the compiled kernels checked against
the NumPy twin, ``engine="numpy"``) or a ValueError / TypeError whose message names one of the
wrong arguments: never a crash, never another exception, never a result for a wrong argument.

Derandomized, so CI runs the same examples every time; the whole file takes well under a
minute. A segfault would kill pytest itself, so the inputs that once crashed the kernels also
run in a child process (``test_inputs_that_once_crashed_fail_cleanly_in_a_child``).
"""
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnncore
from rnncore import layers, recurrent

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # overflow in relu/linear


def _settings(n):
    return settings(max_examples=n, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


CELLS = {  # forward, backward, G, number of states, activations the cell takes
    "simple_rnn": (recurrent.simple_rnn_forward, recurrent.simple_rnn_backward, 1, 1,
                   ("tanh", "relu")),
    "lstm": (recurrent.lstm_forward, recurrent.lstm_backward, 4, 2,
             ("tanh", "relu", "sigmoid", "hard_sigmoid", "linear")),
    "gru": (recurrent.gru_forward, recurrent.gru_backward, 3, 1,
            ("tanh", "relu", "sigmoid", "hard_sigmoid", "linear")),
}
DTYPES = [np.float64, np.float32, np.float16, np.int32, np.int64]


class Bad:
    """The names an error message may give for the wrong arguments drawn so far."""

    def __init__(self, odds=0):
        self.names = set()
        self.odds = odds  # one argument in `odds` is drawn wrong; 0: none

    @classmethod
    def drawn(cls, draw):
        # half the examples all valid (compared with the twin), the others with a few wrong
        return cls(draw(st.sampled_from([0, 0, 0, 0, 4, 10, 25])))

    def __bool__(self):
        return bool(self.names)

    def add(self, *names):
        self.names.update(names)


def _array(draw, shape, dtypes=DTYPES, scale=1.0, layouts=True):
    """A random array of `shape`: one of `dtypes`, maybe a non-contiguous view."""
    dtype = draw(st.sampled_from(dtypes))
    seed = draw(st.integers(0, 2 ** 16))
    a = np.random.default_rng(seed).uniform(-scale, scale, size=shape)
    if np.issubdtype(dtype, np.integer):
        a = np.round(a * 2)
    a = a.astype(dtype)
    if layouts and a.ndim >= 2:
        layout = draw(st.sampled_from(["c", "fortran", "strided"]))
        if layout == "fortran":
            a = np.asfortranarray(a)
        elif layout == "strided":
            big = np.zeros((2 * a.shape[0],) + a.shape[1:], a.dtype)
            big[::2] = a
            a = big[::2]
    return a


def _maybe_bad(draw, bad, name, good, wrong, also=()):
    """`good` (a thunk), or, with the example's odds `bad.odds`, one of the `wrong` values
    (thunks), recorded in `bad`."""
    if wrong and bad.odds and draw(st.integers(0, bad.odds - 1)) == 0:
        bad.add(name, *also)
        return draw(st.sampled_from(wrong))()
    return good()


def _flag(draw, bad, name):
    return _maybe_bad(draw, bad, name, lambda: draw(st.sampled_from([True, False, np.True_])),
                      [lambda: "yes", lambda: None, lambda: 1, lambda: np.array([True, False])])


def _close(got, want, dtype, what):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, what
    scale = max(1.0, float(np.max(np.abs(want), initial=0)))
    tol = 1e-12 if dtype == np.float64 else 2e-5
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * scale, err_msg=what)


def _assert_names(error, bad):
    message = str(error)
    assert any(name in message for name in bad.names), (
        f"{type(error).__name__}: {message!r} names none of {sorted(bad.names)}")


# ---- ops ---------------------------------------------------------------------------------------

@st.composite
def op_calls(draw, cell):
    _, _, G, n_states, activations = CELLS[cell]
    bad = Bad.drawn(draw)
    B, T, F, H = (draw(st.integers(0, 3)), draw(st.integers(1, 4)), draw(st.integers(0, 3)),
                  draw(st.integers(1, 3)))
    kw = {}
    wdtype = draw(st.sampled_from([np.float64, np.float32]))
    # (integer weights are converted too, see test_recurrent_validation; here they would put gate
    # pre-activations exactly on hard_sigmoid's corners, where the kernels' fused
    # multiply-add and the twin round the gate to different sides)
    kw["kernel"] = _maybe_bad(
        draw, bad, "kernel", lambda: _array(draw, (F, G * H), [wdtype]),
        [lambda: np.zeros((F + 1, G * H)), lambda: np.zeros((F, G * H + 1)),
         lambda: np.full((F, G * H), "w"), lambda: np.zeros((F, G * H), complex)])
    kw["recurrent_kernel"] = _maybe_bad(
        draw, bad, "recurrent_kernel", lambda: _array(draw, (H, G * H), [wdtype]),
        [lambda: np.zeros((H, G * H + 1)), lambda: np.zeros((H + 1, G * (H + 1))),
         lambda: np.zeros((max(H - 1, 0), G * max(H - 1, 0))), lambda: np.zeros(H)],
        also=("kernel",))  # a kernel made for H units then disagrees
    bias_shape = (2, G * H) if cell == "gru" else (G * H,)
    kw["bias"] = _maybe_bad(
        draw, bad, "bias",
        lambda: draw(st.sampled_from([None, _array(draw, bias_shape, [wdtype, np.float16])])),
        [lambda: np.zeros(G * H - 1), lambda: np.zeros((3, G * H))])

    def x_good():
        if draw(st.integers(0, 3)) == 0:  # an Embedding's rows as a lookup
            rows = draw(st.integers(1, 6))
            return recurrent.Lookup(
                _array(draw, (rows, F), [np.float64, np.float32], layouts=False),
                np.random.default_rng(rows).integers(0, rows, (B, T)))
        return _array(draw, (B, T, F), scale=2.0)

    kw["x"] = _maybe_bad(draw, bad, "x", x_good,
                         [lambda: np.zeros((B, T)), lambda: np.zeros((B, 0, F)),
                          lambda: np.full((B, T, F), "a"), lambda: np.zeros((B, T, F + 1))],
                         also=("kernel",))
    state_shape = (B, H)

    def states_good():
        if draw(st.booleans()):
            return None
        s = [_array(draw, state_shape) for _ in range(n_states)]
        return s if n_states > 1 or draw(st.booleans()) else s[0]

    kw["initial_state"] = _maybe_bad(
        draw, bad, "initial_state", states_good,
        [lambda: [np.zeros((B, H + 1))] * n_states, lambda: [np.zeros((B + 1, H))] * n_states,
         lambda: [np.zeros((B, H))] * (n_states + 1)])
    mask = np.random.default_rng(draw(st.integers(0, 99))).random((B, T)) > 0.3
    kw["mask"] = _maybe_bad(
        draw, bad, "mask",
        lambda: draw(st.sampled_from([None, mask, mask.astype(np.int8), mask.astype(float)])),
        # (a 2 in an empty batch's mask is no wrong value: none is read)
        [lambda: np.ones((B, T + 1), bool), lambda: np.full((max(B, 1), T), 2),
         lambda: np.ones(T)])
    for name, width in (("dropout_mask", F), ("recurrent_dropout_mask", H)):
        shapes = [(B, width)] + ([(G, B, width)] if G > 1 else [])
        kw[name] = _maybe_bad(
            draw, bad, name,
            lambda: (None if draw(st.booleans()) else
                     (np.random.default_rng(width).random(draw(st.sampled_from(shapes))) > 0.3)
                     .astype(draw(st.sampled_from([np.float32, np.float64, bool]))) * 1.5),
            [lambda: np.ones((B, width + 1)), lambda: np.ones((G + 1, B, width))])
    kw["activation"] = _maybe_bad(draw, bad, "activation",
                                  lambda: draw(st.sampled_from(activations)),
                                  [lambda: "no_such_activation", lambda: 3])
    if G > 1:
        kw["recurrent_activation"] = _maybe_bad(
            draw, bad, "recurrent_activation", lambda: draw(st.sampled_from(activations)),
            [lambda: "sigmoidal", lambda: ["sigmoid"]])
    if cell == "gru":
        kw["reset_after"] = _maybe_bad(draw, bad, "reset_after", lambda: kw["bias"] is None or
                                       kw["bias"].ndim == 2, [lambda: "yes"], also=("bias",))
    for name in ("return_sequences", "go_backwards", "zero_output_for_mask"):
        kw[name] = _flag(draw, bad, name)
    kw["truncate_gradient"] = _maybe_bad(
        draw, bad, "truncate_gradient", lambda: draw(st.sampled_from([-1, 1, 2, 5])),
        [lambda: 0, lambda: -3, lambda: 1.5])
    kw["n_threads"] = _maybe_bad(draw, bad, "n_threads",
                                 lambda: draw(st.sampled_from([None, 1, 2])),
                                 [lambda: 0, lambda: 2.0])
    kw["engine"] = _maybe_bad(draw, bad, "engine", lambda: draw(st.sampled_from(["auto", "kernel"])),
                              [lambda: "gpu"])
    # backward: d_output of the forward output's shape, d_states
    sequences = isinstance(kw["return_sequences"], (bool, np.bool_)) and kw["return_sequences"]
    d_shape = (B, T, H) if sequences else (B, H)
    back = {}
    back["d_output"] = _maybe_bad(
        draw, bad, "d_output", lambda: draw(st.sampled_from([None, _array(draw, d_shape)])),
        [lambda: np.zeros((B, H + 1)), lambda: np.zeros((B, T + 1, H))])
    d_states = "d_state" if cell == "simple_rnn" else "d_states"
    back[d_states] = _maybe_bad(
        draw, bad, d_states,
        lambda: None if draw(st.booleans()) else [_array(draw, (B, H))] * n_states,
        [lambda: [np.zeros((B, H + 1))] * n_states])
    back["need_dx"] = _maybe_bad(draw, bad, "need_dx", lambda: draw(st.booleans()),
                                 [lambda: "no"])
    return kw, back, bad


def _run_op(cell, kw, back, engine):
    forward, backward = CELLS[cell][:2]
    y, states, cache = forward(**{**kw, "engine": engine})
    grads = backward(cache, **back)
    return y, states, grads


@pytest.mark.parametrize("cell", sorted(CELLS))
@_settings(300)
@given(data=st.data())
def test_ops_give_the_twins_result_or_an_error_naming_a_bad_argument(cell, data):
    kw, back, bad = data.draw(op_calls(cell))
    try:
        y, states, grads = _run_op(cell, kw, back, kw["engine"])
    except (ValueError, TypeError) as e:
        assert bad, f"valid arguments raised {type(e).__name__}: {e}"
        _assert_names(e, bad)
        return
    assert not bad, f"accepted wrong {sorted(bad.names)}"
    y2, states2, grads2 = _run_op(cell, kw, back, "numpy")
    dtype = y.dtype
    assert dtype in (np.float32, np.float64)
    _close(y, y2, dtype, "output")
    for a, b in zip(states if isinstance(states, list) else [states],
                    states2 if isinstance(states2, list) else [states2]):
        _close(a, b, dtype, "state")
    for name in ("kernel", "recurrent_kernel", "bias", "x", "initial_state"):
        a, b = grads[name], grads2[name]
        if name == "x" and a is not None and not isinstance(a, np.ndarray):  # IndexedSlices
            a, b = np.asarray(a), np.asarray(b)
        if isinstance(a, list):
            for p, q in zip(a, b):
                _close(p, q, dtype, name)
        elif a is None:
            assert b is None, name
        else:
            _close(a, b, dtype, name)


@_settings(150)
@given(rows=st.integers(0, 5), cols=st.integers(1, 3), B=st.integers(0, 3), T=st.integers(1, 3),
       lo=st.sampled_from([0, -1, -(2 ** 40)]), hi=st.sampled_from([0, 1, 3, 2 ** 40]),
       table_dtype=st.sampled_from([np.float32, np.float64, np.int32]),
       ids_dtype=st.sampled_from([np.int32, np.int64, np.uint8, np.float64]),
       ids_ndim=st.sampled_from([2, 2, 2, 1, 3]), seed=st.integers(0, 1000))
def test_lookup_gives_the_gathered_rows_result_or_an_error_naming_ids(
        rows, cols, B, T, lo, hi, table_dtype, ids_dtype, ids_ndim, seed):
    rng = np.random.default_rng(seed)
    table = rng.normal(size=(rows, cols)).astype(table_dtype)
    ids = rng.integers(0, max(rows, 1), size=(B, T)).astype(np.int64)
    if ids.size:
        ids.flat[0] += lo
        ids.flat[-1] += rows * hi  # hi = 0 keeps it in range
    shape = {2: (B, T), 1: (B * T,), 3: (B, T, 1)}[ids_ndim]
    ids = ids.reshape(shape)
    try:
        ids = ids.astype(ids_dtype)
    except OverflowError:
        return
    in_range = ids.size == 0 or (ids.min() >= 0 and ids.max() < rows)
    valid = (table_dtype != np.int32 and ids_dtype != np.float64 and ids_ndim == 2
             and in_range and ids.astype(np.int64).min(initial=0) >= 0)
    try:
        lookup = recurrent.Lookup(table, ids)
    except ValueError as e:
        assert not valid, f"valid lookup refused: {e}"
        assert "ids" in str(e) or "table" in str(e), str(e)
        return
    assert valid, "accepted a bad lookup"
    W = rng.normal(size=(cols, 4 * 2))
    U = rng.normal(size=(2, 4 * 2)) * 0.5
    y1, _, c1 = recurrent.lstm_forward(lookup, W, U, return_sequences=True)
    y2, _, c2 = recurrent.lstm_forward(np.take(table, ids, axis=0), W, U, return_sequences=True)
    np.testing.assert_allclose(y1, y2, rtol=1e-12, atol=1e-12)
    g1 = recurrent.lstm_backward(c1, np.ones_like(y1))
    g2 = recurrent.lstm_backward(c2, np.ones_like(y2))
    np.testing.assert_allclose(g1["kernel"], g2["kernel"], rtol=1e-10, atol=1e-10)


def test_inputs_that_once_crashed_fail_cleanly_in_a_child():
    """A too small recurrent kernel read past its end, huge ids past the table: run in a child
    so that a regression fails this test instead of killing pytest."""
    code = textwrap.dedent("""
        import numpy as np
        from rnncore import recurrent
        x = np.zeros((64, 50, 8), np.float32)
        cases = [
            lambda: recurrent.simple_rnn_forward(x, np.zeros((8, 1000), np.float32),
                                           np.zeros((1, 1), np.float32)),
            lambda: recurrent.lstm_forward(x, np.zeros((8, 4000), np.float32),
                                     np.zeros((1, 4), np.float32)),
            lambda: recurrent.gru_forward(x, np.zeros((8, 3000), np.float32),
                                    np.zeros((1, 3), np.float32)),
            lambda: recurrent.lstm_forward(recurrent.Lookup(np.zeros((5, 8), np.float32),
                                                np.full((64, 50), 2 ** 40)),
                                     np.zeros((8, 16), np.float32), np.zeros((4, 16), np.float32)),
            lambda: recurrent.gru_forward(recurrent.Lookup(np.zeros((5, 8), np.float32),
                                               np.full((64, 50), -7)),
                                    np.zeros((8, 12), np.float32), np.zeros((4, 12), np.float32)),
        ]
        for case in cases:
            try:
                case()
            except ValueError as e:
                print("ValueError", e)
            else:
                raise SystemExit("no error")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:] or f"exit status {done.returncode}"
    assert done.stdout.count("ValueError") == 5, done.stdout


# ---- layers ------------------------------------------------------------------------------------

RNN_LAYERS = {"SimpleRNN": ("simple_rnn", 1), "LSTM": ("lstm", 2), "GRU": ("gru", 1)}


def _twin_of(layer, x, mask, initial_state):
    """The output a recurrent layer must give, from the NumPy twin with its weights."""
    cell, n_states = RNN_LAYERS[type(layer).__name__]
    forward = CELLS[cell][0]
    kw = dict(activation=layer.activation, return_sequences=layer.return_sequences,
              go_backwards=layer.go_backwards, mask=mask, engine="numpy",
              zero_output_for_mask=layer.zero_output_for_mask)
    if cell != "simple_rnn":
        kw["recurrent_activation"] = layer.recurrent_activation
    if cell == "gru":
        kw["reset_after"] = layer.reset_after
    w = layer.get_weights()
    state = None
    if initial_state is not None:
        state = initial_state if n_states > 1 else initial_state[0]
    y, states, _ = forward(np.asarray(x, layer.dtype), w[0], w[1], w[2] if len(w) > 2 else None,
                           state, **kw)
    states = states if isinstance(states, list) else [states]
    return [y, *states] if layer.return_state else y


@st.composite
def layer_calls(draw):
    """(layer kind, inputs, call arguments, layer options): half of them valid for the layer,
    the others with random ranks, sizes, masks and states."""
    kind = draw(st.sampled_from(["SimpleRNN", "LSTM", "GRU", "Bidirectional", "Dense",
                                 "Embedding", "Dropout", "GlobalAveragePooling1D",
                                 "GlobalMaxPooling1D", "Flatten"]))
    valid = draw(st.booleans())
    sequence = kind in RNN_LAYERS or kind == "Bidirectional" or kind.startswith("Global")
    if valid and sequence:
        shape = (draw(st.integers(0, 3)), draw(st.integers(1, 3)), draw(st.integers(0, 3)))
    else:
        ndim = (draw(st.sampled_from([1, 2, 3])) if valid else
                draw(st.sampled_from([3, 3, 3, 2, 1, 4])))
        shape = tuple(draw(st.integers(0, 3)) for _ in range(ndim))
    dtypes = [np.float32, np.float64, np.int32, np.bool_]
    if kind == "Embedding":
        bad_ids = not valid and draw(st.booleans())
        x = np.random.default_rng(draw(st.integers(0, 99))).integers(
            -1 if bad_ids else 0, 6 if bad_ids else 5, size=shape)
    elif not valid and draw(st.integers(0, 5)) == 0:
        x = np.full(shape, "a")
    else:
        x = _array(draw, shape, dtypes, scale=2.0)
    B = shape[0] if shape else 1
    T = shape[1] if len(shape) > 1 else 1
    kwargs = {}
    if sequence and draw(st.booleans()):
        if not valid:
            T = draw(st.sampled_from([T, T + 1]))
        kwargs["mask"] = np.random.default_rng(T).random((B, T)) > 0.3
    if kind in RNN_LAYERS and draw(st.booleans()):
        n = RNN_LAYERS[kind][1]
        width, count = (2, n) if valid else (draw(st.sampled_from([2, 3])),
                                              draw(st.sampled_from([n, n + 1])))
        kwargs["initial_state"] = [np.full((B, width), 0.1)] * count
    if kind == "Dropout":
        kwargs["training"] = draw(st.booleans())
    options = dict(return_sequences=draw(st.booleans()), return_state=draw(st.booleans()),
                   go_backwards=draw(st.booleans()))
    return kind, x, kwargs, options


def _make_layer(kind, options):
    if kind in RNN_LAYERS:
        return getattr(layers, kind)(2, **options)
    if kind == "Bidirectional":
        return layers.Bidirectional(layers.LSTM(2, return_sequences=options["return_sequences"]))
    if kind == "Dense":
        return layers.Dense(2, activation="tanh")
    if kind == "Embedding":
        return layers.Embedding(5, 2)
    if kind == "Dropout":
        return layers.Dropout(0.5, seed=1)
    if kind == "Flatten":
        return layers.Flatten()
    return getattr(layers, kind)()


@_settings(500)
@given(call=layer_calls())
def test_layers_give_a_right_result_or_an_error_naming_a_bad_argument(call):
    kind, x, kwargs, options = call
    layer = _make_layer(kind, options)
    try:
        y = layer(x, **kwargs)
    except (ValueError, TypeError) as e:
        message = str(e)
        named = ["inputs", "id", *kwargs]
        assert any(n in message for n in named), f"{type(e).__name__}: {message!r}"
        return
    xf = np.asarray(x).astype(layer.dtype) if kind != "Embedding" else np.asarray(x)
    if kind in RNN_LAYERS:
        want = _twin_of(layer, xf, kwargs.get("mask"), kwargs.get("initial_state"))
        for a, b in zip(y if isinstance(y, (list, tuple)) else [y], want if isinstance(want, list)
                        else [want]):
            _close(a, b, np.dtype(layer.dtype), kind)
    elif kind == "Bidirectional":
        fw, bw = layer.forward_layer, layer.backward_layer
        yf = _twin_of(fw, xf, kwargs.get("mask"), None)
        yb = _twin_of(bw, xf, kwargs.get("mask"), None)
        if fw.return_sequences:
            yb = yb[:, ::-1]
        _close(y, np.concatenate([yf, yb], axis=-1), np.dtype(layer.dtype), kind)
    elif kind == "Dense":
        w, b = layer.get_weights()
        _close(y, np.tanh(xf @ w + b), np.dtype(layer.dtype), kind)
    elif kind == "Embedding":
        np.testing.assert_array_equal(y, layer.get_weights()[0][xf])
    elif kind == "Dropout":
        if kwargs["training"]:
            assert np.all((y == 0) | np.isclose(y, xf * 2))
        else:
            np.testing.assert_array_equal(y, xf)
    elif kind == "Flatten":
        np.testing.assert_array_equal(y, xf.reshape(xf.shape[0], int(np.prod(xf.shape[1:]))))
    elif kind == "GlobalMaxPooling1D":
        np.testing.assert_array_equal(y, xf.max(axis=1))
    elif "mask" not in kwargs and xf.shape[1]:
        _close(y, xf.mean(axis=1), np.dtype(layer.dtype), kind)


# ---- a small model -------------------------------------------------------------------------------

def _model(kind):
    rnncore.utils.set_random_seed(0)
    first = [layers.Embedding(20, 4)] if kind == "embedding" else []
    model = rnncore.models.Sequential(first + [layers.LSTM(3), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="rmsprop", loss="binary_crossentropy")
    return model


@st.composite
def fit_arguments(draw):
    """fit's arguments: half of them valid, the others with random bad values."""
    if draw(st.booleans()):
        return dict(n=draw(st.integers(4, 9)), T=4, y_rows=0, x_bad=None,
                    batch_size=draw(st.sampled_from([None, 1, 3, 4])),
                    epochs=draw(st.sampled_from([1, 2])),
                    validation_split=draw(st.sampled_from([0.0, 0.25])))
    return dict(n=draw(st.integers(0, 9)), T=draw(st.sampled_from([4, 4, 0])),
                y_rows=draw(st.sampled_from([0, 0, 0, 1])),
                x_bad=draw(st.sampled_from([None, None, None, "ids", "strings", "ndim"])),
                batch_size=draw(st.sampled_from([None, 1, 4, 4, 0, -1, 2.5])),
                epochs=draw(st.sampled_from([1, 1, 2, -1, 1.5])),
                validation_split=draw(st.sampled_from([0.0, 0.0, 0.25, 1.0, -0.1])))


@_settings(60)
@given(kind=st.sampled_from(["embedding", "features"]), args=fit_arguments(),
       seed=st.integers(0, 99))
def test_model_fit_predict_evaluate_give_results_or_errors_naming_an_argument(kind, args, seed):
    n, T, y_rows, x_bad = args["n"], args["T"], args["y_rows"], args["x_bad"]
    batch_size, epochs, validation_split = (args["batch_size"], args["epochs"],
                                            args["validation_split"])
    rng = np.random.default_rng(seed)
    x = (rng.integers(0, 20, (n, T)) if kind == "embedding" else rng.normal(size=(n, T, 2)))
    if x_bad == "ids":
        x = x + 40 if kind == "embedding" else x[..., :1]
    elif x_bad == "strings":
        x = np.full(x.shape, "a")
    elif x_bad == "ndim":
        x = x[..., None]
    y = rng.integers(0, 2, (n + y_rows, 1)).astype(np.float32)
    model = _model(kind)
    named = ["x", "y", "batch_size", "epochs", "validation_split", "inputs", "id", "sample"]
    try:
        history = model.fit(x, y, batch_size=batch_size, epochs=epochs,
                            validation_split=validation_split, verbose=0)
    except (ValueError, TypeError) as e:
        assert any(name in str(e) for name in named), f"{type(e).__name__}: {e}"
        return
    assert np.isfinite(history.history["loss"]).all()
    p = model.predict(x, batch_size=batch_size, verbose=0)
    assert p.shape == (n, 1) and np.isfinite(p).all()
    loss = model.evaluate(x, y, batch_size=batch_size, verbose=0)
    assert np.isfinite(loss)
    eager = x
    for layer in model.layers:
        eager = layer(eager)
    np.testing.assert_allclose(p, eager, rtol=1e-5, atol=1e-6)
