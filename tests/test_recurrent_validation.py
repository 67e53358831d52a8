"""Every public ``rnncore.recurrent`` function checks every argument before a kernel sees it.

The kernels trust their inputs (a recurrent kernel with too few rows once read past its end and
crashed the process), so each bad argument below must give a ValueError or TypeError whose
message names it, never a crash, a NumPy broadcast error or silently wrong numbers. Arrays that
are views (transposes, slices, Fortran order) must give what their contiguous copies give, from
the ops up to a training run whose batches are slices of the data.
"""
import numpy as np
import pytest

import rnncore
from rnncore import layers, recurrent
from rnncore.recurrent import _recurrent as R

B, T, F, H = 3, 6, 5, 2
CELLS = {
    "simple_rnn": (recurrent.simple_rnn_forward, recurrent.simple_rnn_backward, 1, 1),
    "lstm": (recurrent.lstm_forward, recurrent.lstm_backward, 4, 2),
    "gru": (recurrent.gru_forward, recurrent.gru_backward, 3, 1),
}


def _args(cell, seed=0, dtype=np.float64):
    """Valid arguments of a forward call (with every optional array given)."""
    G, n_states = CELLS[cell][2:]
    rng = np.random.default_rng(seed)
    args = dict(x=rng.normal(size=(B, T, F)), kernel=rng.normal(size=(F, G * H)) * 0.5,
                recurrent_kernel=rng.normal(size=(H, G * H)) * 0.5,
                bias=rng.normal(size=(2, G * H) if cell == "gru" else (G * H,)),
                initial_state=[rng.normal(size=(B, H)) for _ in range(n_states)])
    if n_states == 1:
        args["initial_state"] = args["initial_state"][0]
    return {k: v.astype(dtype) if isinstance(v, np.ndarray) else
            [s.astype(dtype) for s in v] for k, v in args.items()}


def _state_list(cell, *arrays):
    return list(arrays) if CELLS[cell][3] == 2 else arrays[0]


# (id, change to the valid arguments, the argument the message must name); `cell` is the cell
# the change applies to (None: all three). A change is a dict of arguments or a function of
# the valid arguments returning one.
FORWARD_CASES = [
    # x
    ("x-2d", {"x": np.zeros((B, T))}, "x", None),
    ("x-4d", {"x": np.zeros((B, T, F, 1))}, "x", None),
    ("x-strings", {"x": np.full((B, T, F), "a")}, "x", None),
    ("x-ragged", {"x": [[[0.0] * F] * T, [[0.0] * F] * (T - 1)]}, "x", None),
    ("x-complex", {"x": np.zeros((B, T, F), complex)}, "x", None),
    ("x-object", {"x": np.full((B, T, F), None)}, "x", None),
    ("x-none", {"x": None}, "x", None),
    ("x-zero-timesteps", {"x": np.zeros((B, 0, F))}, "x", None),
    ("x-wrong-features", {"x": np.zeros((B, T, F + 1))}, "kernel", None),
    # kernel
    ("kernel-1d", {"kernel": np.zeros(F)}, "kernel", None),
    ("kernel-wrong-rows", lambda a: {"kernel": np.zeros((F - 1, a["kernel"].shape[1]))},
     "kernel", None),
    ("kernel-wrong-cols", lambda a: {"kernel": np.zeros((F, a["kernel"].shape[1] + 1))},
     "kernel", None),
    ("kernel-transposed", lambda a: {"kernel": a["kernel"].T}, "kernel", None),
    ("kernel-strings", lambda a: {"kernel": np.full(a["kernel"].shape, "w")}, "kernel", None),
    ("kernel-complex", lambda a: {"kernel": a["kernel"].astype(complex)}, "kernel", None),
    ("kernel-none", {"kernel": None}, "kernel", None),
    # recurrent_kernel (a too small one used to read past its end)
    ("rk-too-small", lambda a: {"recurrent_kernel": np.zeros((1, a["kernel"].shape[1] // H))},
     "kernel", None),
    ("rk-too-few-rows", lambda a: {"recurrent_kernel": np.zeros((1, a["kernel"].shape[1]))},
     "recurrent_kernel", None),
    ("rk-not-square", lambda a: {"recurrent_kernel": np.zeros((H, a["kernel"].shape[1] + 1))},
     "recurrent_kernel", None),
    ("rk-1d", lambda a: {"recurrent_kernel": np.zeros(a["kernel"].shape[1])},
     "recurrent_kernel", None),
    ("rk-3d", lambda a: {"recurrent_kernel": a["recurrent_kernel"][None]},
     "recurrent_kernel", None),
    ("rk-no-units", {"recurrent_kernel": np.zeros((0, 0))}, "recurrent_kernel", None),
    ("rk-strings", lambda a: {"recurrent_kernel": np.full(a["recurrent_kernel"].shape, "u")},
     "recurrent_kernel", None),
    ("rk-transposed", lambda a: {"recurrent_kernel": a["recurrent_kernel"].T},
     "recurrent_kernel", "lstm"),
    ("rk-transposed-gru", lambda a: {"recurrent_kernel": a["recurrent_kernel"].T},
     "recurrent_kernel", "gru"),
    # bias
    ("bias-short", lambda a: {"bias": a["bias"][..., :-1]}, "bias", None),
    ("bias-long", lambda a: {"bias": np.zeros(a["bias"].shape[:-1] + (a["bias"].shape[-1] + 1,))},
     "bias", None),
    ("bias-2d", lambda a: {"bias": a["bias"].reshape(1, -1)}, "bias", "simple_rnn"),
    ("bias-2d-lstm", lambda a: {"bias": a["bias"].reshape(1, -1)}, "bias", "lstm"),
    ("bias-1d-reset-after", lambda a: {"bias": a["bias"][0]}, "bias", "gru"),
    ("bias-2d-no-reset-after", {"reset_after": False}, "bias", "gru"),
    ("bias-three-rows", lambda a: {"bias": np.zeros((3, a["bias"].shape[1]))}, "bias", "gru"),
    ("bias-strings", lambda a: {"bias": np.full(a["bias"].shape, "b")}, "bias", None),
    # initial_state
    ("state-wrong-batch", lambda a: {"initial_state": _state_list(
        a["cell"], np.zeros((B + 1, H)), np.zeros((B, H)))}, "initial_state", None),
    ("state-wrong-units", lambda a: {"initial_state": _state_list(
        a["cell"], np.zeros((B, H + 1)), np.zeros((B, H)))}, "initial_state", None),
    ("state-1d", lambda a: {"initial_state": _state_list(a["cell"], np.zeros(H), np.zeros(H))},
     "initial_state", None),
    ("state-strings", lambda a: {"initial_state": _state_list(
        a["cell"], np.full((B, H), "s"), np.zeros((B, H)))}, "initial_state", None),
    ("state-too-many", {"initial_state": [np.zeros((B, H))] * 3}, "initial_state", None),
    ("state-empty-list", {"initial_state": []}, "initial_state", None),
    ("lstm-state-c-wrong", {"initial_state": [np.zeros((B, H)), np.zeros((B, H + 1))]},
     "initial_state[1]", "lstm"),
    ("lstm-state-one-array", {"initial_state": np.zeros((B, H))}, "initial_state", "lstm"),
    # mask
    ("mask-wrong-timesteps", {"mask": np.ones((B, T + 1), bool)}, "mask", None),
    ("mask-wrong-batch", {"mask": np.ones((B + 1, T), bool)}, "mask", None),
    ("mask-1d", {"mask": np.ones(T, bool)}, "mask", None),
    ("mask-3d", {"mask": np.ones((B, T, 1), bool)}, "mask", None),
    ("mask-not-0-1", {"mask": np.full((B, T), 2)}, "mask", None),
    ("mask-fractions", {"mask": np.full((B, T), 0.5)}, "mask", None),
    ("mask-strings", {"mask": np.full((B, T), "y")}, "mask", None),
    # dropout masks
    ("dropout-wrong-features", {"dropout_mask": np.ones((B, F + 1))}, "dropout_mask", None),
    ("dropout-wrong-batch", {"dropout_mask": np.ones((B + 1, F))}, "dropout_mask", None),
    ("dropout-time-major", {"dropout_mask": np.ones((T, B, F))}, "dropout_mask", None),
    ("dropout-per-gate-count", {"dropout_mask": np.ones((2, B, F))}, "dropout_mask", None),
    ("dropout-per-gate-simple", {"dropout_mask": np.ones((1, B, F))}, "dropout_mask",
     "simple_rnn"),
    ("dropout-strings", {"dropout_mask": np.full((B, F), "d")}, "dropout_mask", None),
    ("rdropout-wrong-units", {"recurrent_dropout_mask": np.ones((B, H + 1))},
     "recurrent_dropout_mask", None),
    ("rdropout-wrong-batch", {"recurrent_dropout_mask": np.ones((B - 1, H))},
     "recurrent_dropout_mask", None),
    ("rdropout-too-many-gates", {"recurrent_dropout_mask": np.ones((5, B, H))},
     "recurrent_dropout_mask", None),
    ("rdropout-1d", {"recurrent_dropout_mask": np.ones(H)}, "recurrent_dropout_mask", None),
    # options
    ("activation-unknown", {"activation": "swishh"}, "activation", None),
    ("activation-number", {"activation": 3}, "activation", None),
    ("activation-array", {"activation": np.array(["tanh", "relu"])}, "activation", None),
    ("recurrent-activation-unknown", {"recurrent_activation": "softmaxx"},
     "recurrent_activation", "lstm"),
    ("recurrent-activation-unknown-gru", {"recurrent_activation": "geluu"},
     "recurrent_activation", "gru"),
    ("return-sequences-string", {"return_sequences": "yes"}, "return_sequences", None),
    ("return-sequences-none", {"return_sequences": None}, "return_sequences", None),
    ("go-backwards-string", {"go_backwards": "no"}, "go_backwards", None),
    ("go-backwards-array", {"go_backwards": np.array([True, False])}, "go_backwards", None),
    ("zero-output-string", {"zero_output_for_mask": "no"}, "zero_output_for_mask", None),
    ("reset-after-string", {"reset_after": "yes"}, "reset_after", "gru"),
    ("reset-after-none", {"reset_after": None}, "reset_after", "gru"),
    ("truncate-zero", {"truncate_gradient": 0}, "truncate_gradient", None),
    ("truncate-minus-two", {"truncate_gradient": -2}, "truncate_gradient", None),
    ("truncate-float", {"truncate_gradient": 1.5}, "truncate_gradient", None),
    ("truncate-string", {"truncate_gradient": "3"}, "truncate_gradient", None),
    ("truncate-bool", {"truncate_gradient": True}, "truncate_gradient", None),
    ("threads-zero", {"n_threads": 0}, "n_threads", None),
    ("threads-negative", {"n_threads": -1}, "n_threads", None),
    ("threads-float", {"n_threads": 1.5}, "n_threads", None),
    ("threads-bool", {"n_threads": True}, "n_threads", None),
    ("threads-string", {"n_threads": "2"}, "n_threads", None),
    ("engine-unknown", {"engine": "gpu"}, "engine", None),
    ("engine-none", {"engine": None}, "engine", None),
    ("workspace-dict", {"workspace": {}}, "workspace", None),
]


def _forward_cases():
    for case_id, change, argument, only in FORWARD_CASES:
        for cell in CELLS:
            if only is None or only == cell:
                yield pytest.param(cell, change, argument, id=f"{cell}-{case_id}")


def _apply(cell, change):
    args = _args(cell)
    args["cell"] = cell
    args.update(change(args) if callable(change) else change)
    del args["cell"]
    return args


def _assert_names(excinfo, argument):
    assert argument in str(excinfo.value), str(excinfo.value)


@pytest.mark.parametrize("cell,change,argument", list(_forward_cases()))
def test_bad_forward_argument_is_an_error_naming_it(cell, change, argument):
    forward = CELLS[cell][0]
    args = _apply(cell, change)
    with pytest.raises((ValueError, TypeError)) as excinfo:
        forward(**args)
    _assert_names(excinfo, argument)


def _forward(cell, **kwargs):
    forward = CELLS[cell][0]
    args = _args(cell)
    args.update(kwargs)
    return forward(**args)


def _stale_cache(cell):
    """The cache of a forward call after which another forward call used its workspace."""
    ws = R.Workspace()
    stale = _forward(cell, workspace=ws)[2]
    _forward(cell, workspace=ws)
    return stale


BACKWARD_CASES = [
    ("cache-none", lambda cell, y, c: dict(cache=None), "cache"),
    ("cache-dict", lambda cell, y, c: dict(cache={"z": 1}), "cache"),
    ("cache-other-cell", lambda cell, y, c: dict(
        cache=_forward("gru" if cell != "gru" else "lstm")[2]), "cache"),
    ("cache-stale", lambda cell, y, c: dict(cache=_stale_cache(cell)), "cache"),
    ("d-output-wrong-units", lambda cell, y, c: dict(d_output=np.zeros((B, H + 1))), "d_output"),
    ("d-output-wrong-batch", lambda cell, y, c: dict(d_output=np.zeros((B + 1, H))), "d_output"),
    ("d-output-sequence-shape", lambda cell, y, c: dict(d_output=np.zeros((B, T, H))),
     "d_output"),
    ("d-output-transposed", lambda cell, y, c: dict(d_output=np.zeros((H, B))), "d_output"),
    ("d-output-strings", lambda cell, y, c: dict(d_output=np.full((B, H), "g")), "d_output"),
    ("d-output-scalar", lambda cell, y, c: dict(d_output=1.0), "d_output"),
    ("d-state-wrong-shape", lambda cell, y, c: {
        "d_state" if cell == "simple_rnn" else "d_states":
            _state_list(cell, np.zeros((B, H + 1)), np.zeros((B, H)))}, "d_state"),
    ("d-state-too-many", lambda cell, y, c: {
        "d_state" if cell == "simple_rnn" else "d_states": [np.zeros((B, H))] * 3}, "d_state"),
    ("d-state-strings", lambda cell, y, c: {
        "d_state" if cell == "simple_rnn" else "d_states":
            _state_list(cell, np.full((B, H), "x"), np.zeros((B, H)))}, "d_state"),
    ("need-dx-string", lambda cell, y, c: dict(need_dx="yes"), "need_dx"),
]


@pytest.mark.parametrize("case_id,change,argument", [c for c in BACKWARD_CASES],
                         ids=[c[0] for c in BACKWARD_CASES])
@pytest.mark.parametrize("cell", sorted(CELLS))
def test_bad_backward_argument_is_an_error_naming_it(cell, case_id, change, argument):
    backward = CELLS[cell][1]
    y, _, cache = _forward(cell)
    args = dict(cache=cache, d_output=np.ones_like(y))
    args.update(change(cell, y, cache))
    with pytest.raises((ValueError, TypeError)) as excinfo:
        backward(**args)
    _assert_names(excinfo, argument)


def test_sequence_gradient_must_match_a_sequence_output():
    y, _, cache = _forward("lstm", return_sequences=True)
    with pytest.raises(ValueError, match=r"d_output must have the forward output's shape "
                                         r"\(3, 6, 2\).*got \(3, 2\)"):
        recurrent.lstm_backward(cache, np.ones((B, H)))


V = 7
LOOKUP_CASES = [
    ("id-negative", dict(ids=np.array([[0, -1], [2, 3]])), r"ids\[0, 1\] = -1"),
    ("id-equals-rows", dict(ids=np.array([[0, 1], [V, 3]])), r"ids\[1, 0\] = 7"),
    ("id-huge", dict(ids=np.array([[0, 2 ** 40], [2, 3]])), r"ids\[0, 1\] = 1099511627776"),
    ("id-huge-unsigned", dict(ids=np.array([[0, 2 ** 63], [2, 3]], np.uint64)), r"ids\[0, 1\]"),
    ("ids-float", dict(ids=np.zeros((2, 2))), "ids"),
    ("ids-bool", dict(ids=np.zeros((2, 2), bool)), "ids"),
    ("ids-strings", dict(ids=np.full((2, 2), "1")), "ids"),
    ("ids-1d", dict(ids=np.zeros(4, int)), "ids"),
    ("ids-3d", dict(ids=np.zeros((2, 2, 1), int)), "ids"),
    ("table-1d", dict(table=np.zeros(V)), "table"),
    ("table-3d", dict(table=np.zeros((V, 2, 2))), "table"),
    ("table-int", dict(table=np.zeros((V, 3), int)), "table"),
    ("table-strings", dict(table=np.full((V, 3), "t")), "table"),
    ("table-empty", dict(table=np.zeros((0, 3))), "ids"),
    ("projections-dict", dict(projections={}), "projections"),
]


@pytest.mark.parametrize("change,match", [c[1:] for c in LOOKUP_CASES],
                         ids=[c[0] for c in LOOKUP_CASES])
def test_bad_lookup_argument_is_an_error_naming_it(change, match):
    args = dict(table=np.zeros((V, 3)), ids=np.array([[0, 1], [2, 3]]), projections=None)
    args.update(change)
    with pytest.raises(ValueError, match=match):
        recurrent.Lookup(**args)


@pytest.mark.parametrize("samples", [-1, 2.5, "10", None, True])
def test_bad_projections_samples_is_an_error_naming_it(samples):
    with pytest.raises(ValueError, match="samples"):
        recurrent.Projections(samples)


def test_the_latest_cache_of_a_workspace_stays_valid():
    ws = R.Workspace()
    _forward("lstm", workspace=ws)
    y, _, cache = _forward("lstm", workspace=ws)
    np.testing.assert_array_equal(
        recurrent.lstm_backward(cache, np.ones_like(y))["kernel"],
        recurrent.lstm_backward(_forward("lstm")[2], np.ones_like(y))["kernel"])


def test_lookup_attributes_are_read_only():
    lookup = recurrent.Lookup(np.zeros((V, 3)), np.zeros((2, 2), int))
    with pytest.raises(AttributeError):
        lookup.ids = np.full((2, 2), 10 ** 9)


def test_lookup_keeps_a_contiguous_table_itself():
    """Projections recognise the Embedding's table by identity: no copy of a C-contiguous one."""
    table = np.zeros((V, 3), np.float32)
    assert recurrent.Lookup(table, np.zeros((2, 2), int)).table is table


# ---- edge cases with a result -----------------------------------------------------------------

@pytest.mark.parametrize("cell", sorted(CELLS))
def test_an_empty_batch_gives_empty_results(cell):
    """Keras's SimpleRNN and GRU return (0, units) outputs for a batch of 0; so do the ops, and
    their gradients have the weights' shapes and are zero."""
    forward, backward, _, n_states = CELLS[cell]
    args = _args(cell)
    args["x"] = args["x"][:0]
    args["initial_state"] = None
    y, states, cache = forward(**args, return_sequences=True)
    assert y.shape == (0, T, H)
    g = backward(cache, np.zeros_like(y))
    assert g["x"].shape == (0, T, F)
    for name in ("kernel", "recurrent_kernel", "bias"):
        assert g[name].shape == args[name].shape
        assert not g[name].any()


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_masks_of_zeros_and_ones_are_booleans(cell):
    mask = np.ones((B, T))
    mask[0, :2] = 0
    y_int, _, _ = _forward(cell, mask=mask.astype(np.int8), return_sequences=True)
    y_bool, _, _ = _forward(cell, mask=mask.astype(bool), return_sequences=True)
    np.testing.assert_array_equal(y_int, y_bool)


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_integer_inputs_are_converted(cell):
    args = _args(cell)
    x_int = np.round(args["x"] * 3).astype(np.int32)
    y_int = _forward(cell, x=x_int)[0]
    y_float = _forward(cell, x=x_int.astype(np.float64))[0]
    np.testing.assert_array_equal(y_int, y_float)


# ---- views and other layouts ------------------------------------------------------------------

def _views(a):
    """The same values as `a` in other memory layouts: Fortran order, a transposed copy seen
    through .T, and every other element of a twice-as-big array."""
    big = np.zeros((2 * a.shape[0],) + a.shape[1:], a.dtype)
    big[::2] = a
    return {"fortran": np.asfortranarray(a), "transposed": np.ascontiguousarray(a.T).T,
            "strided": big[::2]}


@pytest.mark.parametrize("layout", ["fortran", "transposed", "strided"])
@pytest.mark.parametrize("cell", sorted(CELLS))
def test_views_give_what_contiguous_arrays_give(cell, layout):
    forward, backward, _, n_states = CELLS[cell]
    args = _args(cell)
    G = CELLS[cell][2]
    mask = np.ones((B, T), bool)
    mask[1, 0] = False
    masks = dict(mask=mask, dropout_mask=np.full((B, F), 1.25),
                 recurrent_dropout_mask=np.full((G, B, H) if G > 1 else (B, H), 0.5))
    kwargs = dict(return_sequences=True, truncate_gradient=3)
    y0, s0, c0 = forward(**args, **masks, **kwargs)
    d = np.random.default_rng(1).normal(size=y0.shape)
    g0 = backward(c0, d)
    viewed = {k: (_views(v)[layout] if isinstance(v, np.ndarray) else
                  [_views(s)[layout] for s in v]) for k, v in args.items()}
    viewed_masks = {k: _views(np.asarray(v))[layout] for k, v in masks.items()}
    y1, s1, c1 = forward(**viewed, **viewed_masks, **kwargs)
    g1 = backward(c1, _views(d)[layout])
    np.testing.assert_array_equal(y1, y0)
    for a, b in zip(s1 if n_states > 1 else [s1], s0 if n_states > 1 else [s0]):
        np.testing.assert_array_equal(a, b)
    for name in ("kernel", "recurrent_kernel", "bias", "x"):
        np.testing.assert_array_equal(g1[name], g0[name], err_msg=name)


@pytest.mark.parametrize("layout", ["fortran", "transposed", "strided"])
@pytest.mark.parametrize("cell", sorted(CELLS))
def test_lookup_views_give_what_contiguous_arrays_give(cell, layout):
    forward, backward = CELLS[cell][:2]
    rng = np.random.default_rng(3)
    table = rng.normal(size=(V, F))
    ids = rng.integers(0, V, size=(B, T))
    args = _args(cell)
    del args["x"]
    y0, _, c0 = forward(recurrent.Lookup(table, ids), **args, return_sequences=True)
    g0 = backward(c0, np.ones_like(y0))
    y1, _, c1 = forward(recurrent.Lookup(_views(table)[layout], _views(ids)[layout]), **args,
                        return_sequences=True)
    g1 = backward(c1, np.ones_like(y1))
    np.testing.assert_array_equal(y1, y0)
    np.testing.assert_array_equal(np.asarray(g1["x"]), np.asarray(g0["x"]))
    np.testing.assert_array_equal(g1["kernel"], g0["kernel"])


def test_indexed_slices_with_strided_indices():
    from rnncore._indexed_slices import IndexedSlices

    g = IndexedSlices(np.arange(10)[::2], np.ones((5, 2)), (10, 2))
    np.testing.assert_array_equal(g.to_dense(), IndexedSlices(np.arange(0, 10, 2), np.ones((5, 2)),
                                                             (10, 2)).to_dense())
    np.testing.assert_array_equal(g.squares_to_dense(), g.to_dense())


def _fitted_weights(x, y, optimizer, initial=None):
    model = rnncore.models.Sequential([layers.Embedding(500, 16), layers.LSTM(8),
                                       layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=optimizer, loss="binary_crossentropy", metrics=["acc"])
    model.build((None, x.shape[1]))
    if initial is not None:
        model.set_weights(initial)
    start = model.get_weights()
    history = model.fit(x, y, batch_size=16, shuffle=False, validation_split=0.25, epochs=2,
                        verbose=0)
    return start, model.get_weights(), history.history


@pytest.mark.parametrize("optimizer", ["rmsprop", "adam", "adagrad", "sgd"])
def test_fit_with_a_short_last_batch_and_validation_split(optimizer):
    """Embedding -> LSTM -> Dense, batches of 16 with a shorter last one: RMSprop's sparse step
    once handed its kernel a non-contiguous slice of its scratch for the short batch. Data
    given as a strided view trains exactly as its contiguous copy."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 500, (100, 20))
    y = rng.integers(0, 2, (100, 1)).astype("float32")
    start, after, history = _fitted_weights(x, y, optimizer)
    assert np.isfinite(history["loss"]).all() and np.isfinite(history["val_loss"]).all()
    big_x = np.zeros((100, 40), x.dtype)
    big_x[:, ::2] = x
    big_y = np.zeros((100, 3), y.dtype)
    big_y[:, 1] = y[:, 0]
    _, after_view, history_view = _fitted_weights(big_x[:, ::2], big_y[:, 1:2], optimizer, start)
    assert history_view == history
    for a, b in zip(after_view, after):
        np.testing.assert_array_equal(a, b)


# ---- the layers over the ops ------------------------------------------------------------------

LAYER_CASES = [
    ("rnn-zero-timesteps", lambda: layers.SimpleRNN(2), np.zeros((2, 0, 3)), {}, "inputs"),
    ("lstm-zero-timesteps", lambda: layers.LSTM(2), np.zeros((2, 0, 3)), {}, "inputs"),
    ("gru-mask-not-0-1", lambda: layers.GRU(2), np.zeros((2, 3, 3)),
     {"mask": np.full((2, 3), 3)}, "mask"),
    ("lstm-mask-strings", lambda: layers.LSTM(2), np.zeros((2, 3, 3)),
     {"mask": np.full((2, 3), "m")}, "mask"),
    ("bidirectional-one-state", lambda: layers.Bidirectional(layers.LSTM(2)),
     np.zeros((2, 3, 3)), {"initial_state": np.zeros((2, 2))}, "initial_state"),
    ("bidirectional-three-states", lambda: layers.Bidirectional(layers.GRU(2)),
     np.zeros((2, 3, 3)), {"initial_state": [np.zeros((2, 2))] * 3}, "initial_state"),
    ("bidirectional-state-width", lambda: layers.Bidirectional(layers.SimpleRNN(2)),
     np.zeros((2, 3, 3)), {"initial_state": [np.zeros((2, 2)), np.zeros((2, 5))]},
     "initial_state"),
    ("bidirectional-mask", lambda: layers.Bidirectional(layers.LSTM(2)), np.zeros((2, 3, 3)),
     {"mask": np.ones((2, 4), bool)}, "mask"),
    ("bidirectional-unknown-argument", lambda: layers.Bidirectional(layers.LSTM(2)),
     np.zeros((2, 3, 3)), {"constants": 1}, "constants"),
    ("average-pooling-2d", lambda: layers.GlobalAveragePooling1D(), np.zeros((2, 3)), {},
     "inputs"),
    ("max-pooling-no-steps", lambda: layers.GlobalMaxPooling1D(), np.zeros((2, 0, 3)), {},
     "inputs"),
    ("pooling-mask", lambda: layers.GlobalAveragePooling1D(), np.zeros((2, 3, 4)),
     {"mask": np.ones((2, 4), bool)}, "mask"),
    ("dropout-noise-shape", lambda: layers.Dropout(0.5, noise_shape=(None, 4)), np.zeros((2, 3)),
     {"training": True}, "noise_shape"),
]


@pytest.mark.parametrize("make,x,kwargs,argument", [c[1:] for c in LAYER_CASES],
                         ids=[c[0] for c in LAYER_CASES])
def test_bad_layer_call_is_an_error_naming_the_argument(make, x, kwargs, argument):
    with pytest.raises((ValueError, TypeError)) as excinfo:
        make()(x, **kwargs)
    _assert_names(excinfo, argument)


@pytest.mark.parametrize("make,x,shape", [
    (lambda: layers.Flatten(), np.zeros((0, 3, 2)), (0, 6)),
    (lambda: layers.GRU(2, return_sequences=True), np.zeros((0, 3, 2)), (0, 3, 2)),
    (lambda: layers.Bidirectional(layers.LSTM(2)), np.zeros((0, 3, 2)), (0, 4)),
    (lambda: layers.GlobalMaxPooling1D(), np.zeros((0, 3, 2)), (0, 2)),
], ids=["flatten", "gru", "bidirectional", "max-pooling"])
def test_layers_take_an_empty_batch(make, x, shape):
    assert make()(x).shape == shape


def test_average_pooling_over_no_steps_is_nan_as_keras():
    y = layers.GlobalAveragePooling1D()(np.zeros((2, 0, 3)))
    assert y.shape == (2, 3) and np.isnan(y).all()


def test_bidirectional_takes_both_directions_states():
    x = np.random.default_rng(0).normal(size=(2, 3, 4))
    layer = layers.Bidirectional(layers.LSTM(2))
    states = [np.full((2, 2), v) for v in (0.1, 0.2, 0.3, 0.4)]
    y = layer(x, initial_state=states)
    fw, bw = layer.forward_layer, layer.backward_layer
    want = np.concatenate([fw(x, initial_state=states[:2]), bw(x, initial_state=states[2:])], -1)
    np.testing.assert_allclose(y, want, rtol=1e-6)


def test_dense_backward_with_zero_features():
    """Embedding over zero timesteps -> Flatten -> Dense: the Dense layer has no input feature,
    its kernel gradient is (0, units) and its bias still learns."""
    layer = layers.Dense(2)
    y = layer(np.zeros((4, 0)))
    dx = layer.backward(np.ones_like(y))
    assert dx.shape == (4, 0) and layer.kernel.grad.shape == (0, 2)
    np.testing.assert_array_equal(layer.bias.grad, [4.0, 4.0])
