"""``rnncore.ops``' recurrent functions (``simple_rnn_*``, ``lstm_*``, ``gru_*``), every test run
for every cell of ``_recurrent_cells.CELLS``: finite-difference gradients (float64), truncated
BPTT, the NumPy engine against the compiled one, workspaces, array layouts and argument checks.
Cell-specific tests are at the end."""
import numpy as np
import pytest

from _layer_parity import central_difference
from _recurrent_cells import BY_ID, cell_params, over_cells
from _tolerance import (FD_EPS, assert_finite_difference_close, assert_same_maths,
                        assert_twin_close)

from rnncore import ops
from rnncore.ops._recurrent import Workspace  # the type ops' ``workspace=`` argument takes

B, T, I, H = 3, 5, 2, 3
DIRECTIONS = pytest.mark.parametrize("go_backwards", [False, True],
                                     ids=["forwards", "go_backwards"])
OUTPUTS = pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "sequences"])


# ---- helpers ------------------------------------------------------------------------------
def _problem(rng, cell, dtype=np.float64, batch=B, steps=T, features=I, units=H):
    """Random inputs, weights (a non-zero bias) and initial states, by parameter name."""
    G = cell.gates
    p = {"x": rng.standard_normal((batch, steps, features)),
         "kernel": rng.standard_normal((features, G * units)) * 0.6,
         "recurrent_kernel": rng.standard_normal((units, G * units)) * 0.5,
         "bias": rng.standard_normal(cell.bias_shape(units)) * 0.3}
    for name in cell.state_names:
        p[name] = rng.standard_normal((batch, units))
    return {k: v.astype(dtype) for k, v in p.items()}


def _params(cell):
    return ["x", "kernel", "recurrent_kernel", "bias"] + cell.state_names


def _forward(cell, p, bias=True, **kw):
    # one kernel thread unless asked: finite differences make hundreds of tiny calls, and
    # threading is the kernel tests' subject
    kw.setdefault("n_threads", 1)
    return cell.forward(p["x"], p["kernel"], p["recurrent_kernel"], p["bias"] if bias else None,
                        [p[n] for n in cell.state_names], **kw)


def _output_weights(rng, cell, return_sequences, batch=B, steps=T, units=H):
    """The coefficients of a random linear loss of the output and of every final state."""
    return {"y": rng.standard_normal((batch, steps, units) if return_sequences
                                     else (batch, units)),
            "states": [rng.standard_normal((batch, units)) for _ in cell.state_names]}


def _loss(cell, p, w, bias=True, **kw):
    y, states, _ = _forward(cell, p, bias, **kw)
    return float(np.sum(w["y"] * y) + sum(np.sum(a * s) for a, s in zip(w["states"], states)))


def _analytic(cell, cache, w, d_states="all"):
    """backward's gradients by parameter name; ``d_states`` 'all' takes w's state weights."""
    g = cell.backward(cache, w["y"], w["states"] if d_states == "all" else d_states)
    for name, d in zip(cell.state_names, g.pop("initial_state")):
        g[name] = d
    return g


def _numeric(cell, f, p):
    return {name: _central_differences(f, p, p[name]) for name in _params(cell)}


def _central_differences(f, p, array):
    g = np.zeros_like(array)
    for i in np.ndindex(array.shape):
        g[i] = central_difference(lambda: f(p), array, i, FD_EPS)
    return g


def _assert_grads_match(cell, analytic, numeric):
    for name in _params(cell):
        assert analytic[name].shape == numeric[name].shape, name
        assert_finite_difference_close(analytic[name], numeric[name], name)


def _dropout(rng, shape):
    return (rng.random(shape) > 0.3) / 0.7


def _mask(rng):
    """A (B, T) = (3, 5) step mask: a fully masked sequence, post- and pre-padding."""
    mask = rng.random((B, T)) > 0.35
    mask[0] = False
    mask[1] = [1, 1, 1, 0, 0]
    mask[2] = [0, 0, 1, 1, 1]
    return mask

def _split(a, k, go_backwards, axis=1):
    """(first T-k processed steps, last k processed steps, the latter's index) of a
    batch-major array."""
    n = a.shape[axis]
    head, tail = (slice(k, n), slice(0, k)) if go_backwards else (slice(0, n - k),
                                                                  slice(n - k, n))
    ix = [slice(None)] * a.ndim
    ix[axis] = head
    jx = list(ix)
    jx[axis] = tail
    return a[tuple(ix)], a[tuple(jx)], tail


# ---- finite differences -------------------------------------------------------------------
def _truncated_loss(cell, p, base, w, k, *, return_sequences, go_backwards):
    """DESIGN.md's reference for truncate_gradient=k: the states reaching the last k (processed)
    steps, and the outputs before them, are constants computed from the base values."""
    x_head = _split(base["x"], k, go_backwards)[0]
    x_tail = _split(p["x"], k, go_backwards)[1]
    kw = dict(go_backwards=go_backwards, n_threads=1)
    _, mid, _ = cell.forward(x_head, base["kernel"], base["recurrent_kernel"], base["bias"],
                             [base[n] for n in cell.state_names], **kw)
    y, states, _ = cell.forward(x_tail, p["kernel"], p["recurrent_kernel"], p["bias"], mid,
                                return_sequences=return_sequences, **kw)
    wy = w["y"][:, T - k:] if return_sequences else w["y"]
    return float(np.sum(wy * y) + sum(np.sum(a * s) for a, s in zip(w["states"], states)))


@pytest.mark.parametrize("truncate", [-1, 2, 1, T], ids=lambda k: f"k={k}")
@DIRECTIONS
@OUTPUTS
@over_cells
def test_gradients_match_finite_differences(rng, cell, return_sequences, go_backwards, truncate):
    p = _problem(rng, cell)
    base = {k: v.copy() for k, v in p.items()}
    w = _output_weights(rng, cell, return_sequences)
    kw = dict(return_sequences=return_sequences, go_backwards=go_backwards)

    _, _, cache = _forward(cell, p, truncate_gradient=truncate, n_threads=3, **kw)
    analytic = _analytic(cell, cache, w)

    if truncate == -1 or truncate >= T:
        numeric = _numeric(cell, lambda q: _loss(cell, q, w, **kw), p)
    else:
        numeric = _numeric(cell, lambda q: _truncated_loss(cell, q, base, w, truncate, **kw), p)
        for name in cell.state_names:
            assert np.all(analytic[name] == 0)
        cut = slice(T - truncate, None) if go_backwards else slice(0, T - truncate)
        assert np.all(analytic["x"][:, cut] == 0)
    _assert_grads_match(cell, analytic, numeric)


def _option_cases(cell):
    cases = ["mask", "mask-zero-output", "dropout-masks", "no-bias", "partial-state-gradient",
             "numpy-engine", "threads-2"]
    if cell.gated:
        cases += ["dropout-masks-per-gate", "relu/hard_sigmoid", "linear/tanh"]
    return cases


@DIRECTIONS
@OUTPUTS
@pytest.mark.parametrize("cell,case", cell_params(_option_cases))
def test_gradients_match_finite_differences_with_options(rng, cell, case, return_sequences,
                                                         go_backwards):
    p = _problem(rng, cell)
    w = _output_weights(rng, cell, return_sequences)
    kw = dict(return_sequences=return_sequences, go_backwards=go_backwards)
    d_states, bias = "all", True
    if case.startswith("mask"):
        kw.update(mask=_mask(rng), zero_output_for_mask=case == "mask-zero-output")
    elif case == "dropout-masks":
        kw.update(dropout_mask=_dropout(rng, (B, I)), recurrent_dropout_mask=_dropout(rng, (B, H)))
    elif case == "dropout-masks-per-gate":
        kw.update(dropout_mask=_dropout(rng, (cell.gates, B, I)),
                  recurrent_dropout_mask=_dropout(rng, (cell.gates, B, H)), mask=_mask(rng))
    elif "/" in case:
        act, ract = case.split("/")
        kw.update(activation=act, recurrent_activation=ract)
        if act == "relu":
            p["bias"] += 0.05  # keep pre-activations off relu's kink at 0 for the differences
    elif case == "numpy-engine":
        kw.update(engine="numpy")
    elif case == "no-bias":
        bias = False
    elif case == "partial-state-gradient":
        # LSTM: h's gradient only; one-state cells: no state gradient at all
        w["states"][-1] = np.zeros((B, H))
        d_states = [w["states"][0], None] if cell.n_states == 2 else None

    threads = 2 if case == "threads-2" else 1
    _, _, cache = _forward(cell, p, bias, **kw, n_threads=threads)
    analytic = _analytic(cell, cache, w, d_states)
    numeric = _numeric(cell, lambda q: _loss(cell, q, w, bias, **kw), p)
    if not bias:
        assert analytic["bias"] is None
        analytic["bias"] = numeric["bias"]  # not a parameter of that layer
    _assert_grads_match(cell, analytic, numeric)


# ---- truncated BPTT -------------------------------------------------------------------------
TRUNCATION_CASES = {
    "last": {},
    "sequences": {"return_sequences": True},
    "backwards": {"return_sequences": True, "go_backwards": True},
    "mask": {"return_sequences": True, "mask": True},
    "dropout": {"return_sequences": True, "dropout": True, "mask": True},
}


@pytest.mark.parametrize("k", [1, 2, T], ids=lambda k: f"k={k}")
@pytest.mark.parametrize("case", list(TRUNCATION_CASES))
@over_cells
def test_truncated_gradient_is_the_gradient_of_the_last_k_steps(rng, cell, case, k):
    """truncate_gradient=k: the gradient of the last k steps run from the state before them,
    taken as a constant; nothing reaches the earlier inputs or the initial state, and the
    forward pass is unchanged."""
    p = _problem(rng, cell)
    kwargs = dict(TRUNCATION_CASES[case], n_threads=1)
    mask = _mask(rng) if kwargs.pop("mask", False) else None
    if kwargs.pop("dropout", False):  # per-gate masks where the cell has gates
        lead = (cell.gates,) if cell.gated else ()
        kwargs.update(dropout_mask=_dropout(rng, lead + (B, I)),
                      recurrent_dropout_mask=_dropout(rng, lead + (B, H)))
    gb = kwargs.get("go_backwards", False)
    h0 = [p[n] for n in cell.state_names]
    args = (p["kernel"], p["recurrent_kernel"], p["bias"])
    out, _, cache = cell.forward(p["x"], *args, h0, mask=mask, truncate_gradient=k, **kwargs)
    plain, _, _ = cell.forward(p["x"], *args, h0, mask=mask, **kwargs)
    np.testing.assert_array_equal(out, plain)
    w = _output_weights(rng, cell, kwargs.get("return_sequences", False))
    got = cell.backward(cache, w["y"], w["states"])

    x_head, x_tail, tail = _split(p["x"], k, gb)
    m_head, m_tail = (None, None) if mask is None else _split(mask, k, gb)[:2]
    mid = h0
    if k < T:
        _, mid, _ = cell.forward(x_head, *args, h0, mask=m_head, **kwargs)
    _, _, c2 = cell.forward(x_tail, *args, mid, mask=m_tail, **kwargs)
    w_tail = w["y"][:, T - k:] if kwargs.get("return_sequences") else w["y"]
    want = cell.backward(c2, w_tail, w["states"])

    for name in ("kernel", "recurrent_kernel", "bias"):
        assert_same_maths(got[name], want[name], name)
    assert_same_maths(got["x"][:, tail], want["x"], "x")
    if k < T:
        np.testing.assert_array_equal(np.delete(got["x"], np.arange(T)[tail], axis=1), 0)
        for d in got["initial_state"]:
            np.testing.assert_array_equal(d, 0)
    else:
        for a, e in zip(got["initial_state"], want["initial_state"]):
            assert_same_maths(a, e, "initial_state")


# ---- forward semantics ----------------------------------------------------------------------
@over_cells
def test_masked_output_is_the_previous_output_and_zero_before_the_first_step(rng, cell):
    """Keras semantics: a masked step repeats the last output (zeros before any real step),
    while every state is carried over from the initial state."""
    p = _problem(rng, cell)
    mask = _mask(rng)
    y, states, _ = _forward(cell, p, return_sequences=True, mask=mask)
    np.testing.assert_array_equal(y[0], 0)
    for name, s in zip(cell.state_names, states):
        np.testing.assert_array_equal(s[0], p[name][0])
    np.testing.assert_array_equal(y[1, 3], y[1, 2])
    np.testing.assert_array_equal(y[1, 4], y[1, 2])
    np.testing.assert_array_equal(states[0][1], y[1, 2])
    np.testing.assert_array_equal(y[2, :2], 0)
    y0, _, _ = _forward(cell, p, return_sequences=True, mask=mask, zero_output_for_mask=True)
    np.testing.assert_array_equal(y0[1, 3:], 0)
    np.testing.assert_array_equal(y0[mask], y[mask])


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@over_cells
def test_go_backwards_runs_the_reversed_sequence(rng, cell, dtype):
    """Outputs come in processing order, and the input gradient in x's order."""
    p = _problem(rng, cell, dtype)
    y, states, cache = _forward(cell, p, return_sequences=True, go_backwards=True)
    q = dict(p, x=np.ascontiguousarray(p["x"][:, ::-1]))
    y_r, states_r, cache_r = _forward(cell, q, return_sequences=True)
    np.testing.assert_array_equal(y, y_r)
    for a, b in zip(states, states_r):
        np.testing.assert_array_equal(a, b)
    d = rng.standard_normal(y.shape).astype(dtype)
    g, g_r = cell.backward(cache, d), cell.backward(cache_r, d)
    np.testing.assert_array_equal(g["x"], g_r["x"][:, ::-1])
    for name in ("kernel", "recurrent_kernel", "bias"):
        np.testing.assert_array_equal(g[name], g_r[name], err_msg=name)


@over_cells
def test_initial_state_defaults_to_zeros_and_accepts_none_entries(rng, cell):
    p = _problem(rng, cell)
    args = (p["x"], p["kernel"], p["recurrent_kernel"], p["bias"])
    zeros = np.zeros((B, H))
    y0, s0, _ = cell.forward(*args)
    y1, s1, _ = cell.forward(*args, [None] + [zeros] * (cell.n_states - 1))
    y2 = cell.forward_only(*args, [zeros] * cell.n_states)
    np.testing.assert_array_equal(y0, y1)
    np.testing.assert_array_equal(y0, y2)
    for a, b in zip(s0, s1):
        np.testing.assert_array_equal(a, b)
    assert np.abs(y0 - cell.forward(*args, [p[n] for n in cell.state_names])[0]).max() > 1e-3


@over_cells
def test_forward_only_function_returns_the_forward_output(rng, cell):
    p = _problem(rng, cell)
    h0 = [p[n] for n in cell.state_names]
    y = cell.forward_only(p["x"], p["kernel"], p["recurrent_kernel"], p["bias"], h0,
                          return_sequences=True)
    assert y.shape == (B, T, H)
    np.testing.assert_array_equal(y, _forward(cell, p, return_sequences=True)[0])


# ---- engines and workspaces -----------------------------------------------------------------
def _engine_problem(rng, cell, dtype):
    p = _problem(rng, cell, dtype, batch=5, steps=7, features=6, units=4)
    lead = (cell.gates,) if cell.gated else ()  # per-gate masks where the cell has gates
    kw = dict(go_backwards=True, truncate_gradient=4, mask=rng.random((5, 7)) > 0.2,
              dropout_mask=_dropout(rng, lead + (5, 6)).astype(dtype),
              recurrent_dropout_mask=_dropout(rng, lead + (5, 4)).astype(dtype))
    return p, kw


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@OUTPUTS
@over_cells
def test_numpy_engine_matches_kernel_engine(rng, cell, return_sequences, dtype):
    p, kw = _engine_problem(rng, cell, dtype)
    yk, sk, ck = _forward(cell, p, engine="kernel", n_threads=2, return_sequences=return_sequences,
                          **kw)
    yn, sn, cn = _forward(cell, p, engine="numpy", return_sequences=return_sequences, **kw)
    assert_twin_close(yk, yn, dtype, "output")
    for a, b in zip(sk, sn):
        assert_twin_close(a, b, dtype, "state")
    d = rng.standard_normal(yk.shape).astype(dtype)
    ds = [rng.standard_normal((5, 4)).astype(dtype) for _ in cell.state_names]
    gk, gn = cell.backward(ck, d, ds), cell.backward(cn, d, ds)
    for name in ("x", "kernel", "recurrent_kernel", "bias"):
        assert gk[name].dtype == dtype
        assert_twin_close(gk[name], gn[name], dtype, name, grad=True)
    for a, b in zip(gk["initial_state"], gn["initial_state"]):
        assert_twin_close(a, b, dtype, "initial_state", grad=True)


def _results(cell, y, states, g):
    return [y, *states] + [g[n] for n in ("x", "kernel", "recurrent_kernel", "bias")] + \
        g["initial_state"]


@over_cells
def test_a_reused_workspace_gives_the_same_results_as_a_fresh_one(rng, cell):
    """Workspaces are reused across batches and engines: nothing stale may leak from the
    previous call."""
    ws = Workspace()
    p1, kw = _engine_problem(rng, cell, np.float64)
    p2 = _problem(rng, cell, batch=5, steps=7, features=6, units=4)
    # first call: sequences, truncated, dropout, mask — fills every scratch array
    y1, _, c1 = _forward(cell, p1, return_sequences=True, workspace=ws, **kw)
    cell.backward(c1, rng.standard_normal(y1.shape), None)
    # then other data and options, same shapes, on both engines
    d = rng.standard_normal((5, 4))
    runs = []
    for engine, workspace in (("kernel", ws), ("kernel", None), ("numpy", ws), ("kernel", ws)):
        y, s, c = _forward(cell, p2, engine=engine, workspace=workspace)
        runs.append(_results(cell, y.copy(), [a.copy() for a in s], cell.backward(c, d)))
    for a, b, n, k in zip(*runs):
        np.testing.assert_array_equal(a, b)          # reused workspace == fresh one
        assert_twin_close(n, a, np.float64, grad=True)  # the numpy engine in that workspace
        np.testing.assert_array_equal(k, a)          # and back to the kernel


@over_cells
def test_outputs_do_not_alias_the_workspace(rng, cell):
    """Returned arrays belong to the caller: the next batch must not overwrite them."""
    ws = Workspace()
    y, s, c = _forward(cell, _problem(rng, cell), return_sequences=True, workspace=ws)
    g = cell.backward(c, np.ones_like(y))
    mine = _results(cell, y, s, g)
    saved = [a.copy() for a in mine]
    y2, _, c2 = _forward(cell, _problem(rng, cell), return_sequences=True, workspace=ws)
    cell.backward(c2, -np.ones_like(y2))
    for before, after in zip(saved, mine):
        np.testing.assert_array_equal(before, after)


@over_cells
def test_need_dx_false_and_missing_output_gradient(rng, cell):
    """need_dx=False leaves the other gradients as they were and gives no x gradient;
    d_output=None is the gradient of the final states alone."""
    p, kw = _engine_problem(rng, cell, np.float64)
    kw = dict(kw, truncate_gradient=-1)
    out, states, cache = _forward(cell, p, **kw)
    no_dx = cell.backward(cache, None, states, need_dx=False)
    assert no_dx["x"] is None
    _, _, cache = _forward(cell, p, **kw)
    only_states = cell.backward(cache, np.zeros_like(out), states)
    for name in ("kernel", "recurrent_kernel", "bias"):
        assert_same_maths(no_dx[name], only_states[name], name)
    for a, b in zip(no_dx["initial_state"], only_states["initial_state"]):
        assert_same_maths(a, b, "initial_state")
    assert np.abs(only_states["kernel"]).max() > 0


# ---- arguments ------------------------------------------------------------------------------
LAYOUTS = ["transposed-weights", "fortran-x", "mixed-dtypes", "strided-x", "integer-x",
           "float16-x"]


@pytest.mark.parametrize("layout", LAYOUTS)
@over_cells
def test_any_array_layout_is_accepted_and_gives_the_same_result(rng, cell, layout):
    """ops is public API: weights taken as W.T from another framework, or x sliced out of a
    bigger array, give the same numbers as C-contiguous float copies."""
    p = _problem(rng, cell)
    if layout == "integer-x":
        p["x"] = np.round(p["x"] * 3)
    elif layout == "float16-x":
        p["x"] = p["x"].astype(np.float16).astype(np.float64)
    q = dict(p)
    if layout == "transposed-weights":
        q["kernel"] = np.ascontiguousarray(p["kernel"].T).T
        q["recurrent_kernel"] = np.ascontiguousarray(p["recurrent_kernel"].T).T
    elif layout == "fortran-x":
        q["x"] = np.asfortranarray(p["x"])
    elif layout == "mixed-dtypes":  # float64 kernel, float32 recurrent kernel and bias
        for name in ("recurrent_kernel", "bias"):
            q[name] = p[name].astype(np.float32)
            p[name] = q[name].astype(np.float64)
    elif layout == "strided-x":
        q["x"] = np.repeat(p["x"], 2, axis=1)[:, ::2]
    elif layout == "integer-x":
        q["x"] = p["x"].astype(np.int64)
    else:
        q["x"] = p["x"].astype(np.float16)
    assert not all(np.asarray(q[n]).flags.c_contiguous and q[n].dtype == np.float64
                   for n in _params(cell))
    y_ref, s_ref, c_ref = _forward(cell, p, return_sequences=True)
    y, s, c = _forward(cell, q, return_sequences=True)
    assert y.dtype == np.float64
    d = rng.standard_normal(y.shape)
    for a, b in zip(_results(cell, y, s, cell.backward(c, d)),
                    _results(cell, y_ref, s_ref, cell.backward(c_ref, d))):
        np.testing.assert_array_equal(a, b)


@over_cells
def test_the_kernel_dtype_is_the_compute_dtype(rng, cell):
    p = _problem(rng, cell)
    h0 = [p[n] for n in cell.state_names]
    y64 = cell.forward_only(p["x"].astype(np.float32), p["kernel"], p["recurrent_kernel"],
                            p["bias"], h0)
    assert y64.dtype == np.float64
    np.testing.assert_array_equal(y64, cell.forward_only(
        p["x"].astype(np.float32).astype(np.float64), p["kernel"], p["recurrent_kernel"],
        p["bias"], h0))
    y32 = cell.forward_only(p["x"], p["kernel"].astype(np.float32),
                            p["recurrent_kernel"].astype(np.float32), p["bias"], h0)
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32, cell.forward_only(p["x"], p["kernel"], p["recurrent_kernel"],
                                                      p["bias"], h0), atol=1e-5)


def _bad_arguments(cell):
    G = cell.gates
    width = "units" if G == 1 else rf"{G} \* units"  # the shape as the message writes it
    rows = [
        ("activation", {"activation": "swish"}, r"activation must be one of .*got 'swish'"),
        ("engine", {"engine": "gpu"}, r"engine must be one of .*got 'gpu'"),
        ("truncate-0", {"truncate_gradient": 0}, r"truncate_gradient must be -1 .*got 0"),
        ("truncate-neg", {"truncate_gradient": -2}, r"truncate_gradient must be -1 .*got -2"),
        ("truncate-float", {"truncate_gradient": 2.5}, r"truncate_gradient.*got 2.5"),
        ("truncate-bool", {"truncate_gradient": True}, r"truncate_gradient.*got True"),
        ("kernel", {"kernel": np.zeros((I, (G + 1) * H))},
         rf"kernel must have shape \(input_dim, {width}\) = \({I}, {G * H}\), "
         rf"got \({I}, {(G + 1) * H}\)"),
        ("recurrent_kernel", {"recurrent_kernel": np.zeros((H, (G + 1) * H))},
         rf"recurrent_kernel must have shape \(units, {width}\), got \({H}, {(G + 1) * H}\)"),
        ("dropout_mask", {"dropout_mask": np.ones((B, I + 1))}, "dropout_mask"),
        ("recurrent_dropout_mask", {"recurrent_dropout_mask": np.ones((G + 1, B, H))},
         rf"recurrent_dropout_mask .*shape \({B}, {H}\).*got \({G + 1}, {B}, {H}\)"),
    ]
    if cell.gated:
        rows += [("recurrent_activation", {"recurrent_activation": "softmax"},
                  r"recurrent_activation must be one of .*got 'softmax'")]
    else:
        rows += [("sigmoid", {"activation": "sigmoid"},
                  r"activation must be one of \['tanh', 'relu'\], got 'sigmoid'")]
    return rows


@pytest.mark.parametrize("cell,name,change,match", cell_params(_bad_arguments))
def test_bad_arguments_are_value_errors_naming_them(rng, cell, name, change, match):
    p = _problem(rng, cell)
    args = {"x": p["x"], "kernel": p["kernel"], "recurrent_kernel": p["recurrent_kernel"],
            "bias": p["bias"], **change}
    with pytest.raises(ValueError, match=match):
        cell.forward(**args)


# ==== cell-specific =========================================================================
def _seed_004_backprop(x, w1x, w1h, b1, err_to_h, n_steps):
    """The hand-written TBPTT loop of seed 004 (many-to-one, tanh, zero initial state), with
    the gradient err_to_h arriving at the last hidden state. The seed multiplies by ``w1h``
    where the chain rule needs ``w1h.T`` (the same for its symmetric case); this uses ``.T``."""
    h = [np.zeros((x.shape[0], w1h.shape[0]))]
    for xt in np.swapaxes(x, 0, 1):
        h.append(np.tanh(xt @ w1x + h[-1] @ w1h + b1))
    w1h_grad = w1x_grad = b1_grad = 0
    err_to_cell = err_to_h * (1 - h[-1] ** 2)
    for xt, ht in zip(np.swapaxes(x, 0, 1)[::-1][:n_steps], h[:-1][::-1][:n_steps]):
        w1h_grad += ht.T @ err_to_cell
        w1x_grad += xt.T @ err_to_cell
        b1_grad += np.sum(err_to_cell, axis=0)
        err_to_cell = (err_to_cell @ w1h.T) * (1 - ht ** 2)
    return h[-1], w1x_grad, w1h_grad, b1_grad


@pytest.mark.parametrize("truncate", [10, 3, 1])
def test_simple_rnn_truncated_gradients_equal_the_hand_written_tbptt_loop_of_seed_004(
        rng, truncate):
    p = _problem(rng, BY_ID["simple_rnn-tanh"], batch=4, steps=12, features=3, units=5)
    err = rng.standard_normal((4, 5))
    h_T, dW, dU, db = _seed_004_backprop(p["x"], p["kernel"], p["recurrent_kernel"], p["bias"],
                                         err, truncate)
    y, _, cache = ops.simple_rnn_forward(p["x"], p["kernel"], p["recurrent_kernel"], p["bias"],
                                         truncate_gradient=truncate)
    g = ops.simple_rnn_backward(cache, err)
    np.testing.assert_allclose(y, h_T, rtol=1e-12, atol=1e-14)
    # the seed's loop and the kernel sum the steps in other orders
    np.testing.assert_allclose(g["kernel"], dW, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g["recurrent_kernel"], dU, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g["bias"], db, rtol=1e-10, atol=1e-12)


def test_gru_reset_after_false_is_a_different_cell(rng):
    """The two variants agree when r = 1 would make them equal, and differ otherwise."""
    before_cell = BY_ID["gru-reset_before"]
    p = _problem(rng, before_cell)
    x, W, U, b, h0 = p["x"], p["kernel"], p["recurrent_kernel"], p["bias"], p["h0"]
    kwargs = dict(return_sequences=True)
    before = ops.gru(x, W, U, b, h0, reset_after=False, **kwargs)
    b2 = np.stack([b, np.zeros_like(b)])
    after = ops.gru(x, W, U, b2, h0, reset_after=True, **kwargs)
    assert np.abs(before - after).max() > 1e-3
    # r ≡ 1 (a huge reset-gate bias): (r ⊙ h)·U = r ⊙ (h·U)
    b[H:2 * H] = b2[0, H:2 * H] = 50.0
    np.testing.assert_allclose(ops.gru(x, W, U, b2, h0, reset_after=True, **kwargs),
                               ops.gru(x, W, U, b, h0, reset_after=False, **kwargs),
                               rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("change,match", [
    ({"bias": np.zeros(9)}, r"bias must have shape \(2, 9\) with reset_after=True, got \(9,\)"),
    ({"bias": np.zeros((2, 9)), "reset_after": False},
     r"bias must have shape \(9,\) with reset_after=False, got \(2, 9\)"),
    ({"reset_after": "yes"}, r"reset_after must be True or False, got 'yes'"),
], ids=["reset_after-bias", "reset_before-bias", "reset_after-value"])
def test_gru_bad_arguments_are_value_errors_naming_them(change, match):
    args = dict(x=np.zeros((B, T, I)), kernel=np.zeros((I, 3 * H)),
                recurrent_kernel=np.zeros((H, 3 * H)), bias=np.zeros((2, 3 * H)))
    args.update(change)
    with pytest.raises(ValueError, match=match):
        ops.gru_forward(**args)

