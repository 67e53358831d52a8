"""``rnncore.recurrent``'s functions (``simple_rnn_*``, ``lstm_*``, ``gru_*``) as public API,
every test run for every cell of ``_recurrent_cells.CELLS``: masked and reversed forward
passes, initial states, the NumPy engine against the compiled one, workspaces, array layouts,
dtypes and argument checks. Gradients: test_ops_recurrent.py. Cell-specific tests are at the
end."""
import numpy as np
import pytest

from _recurrent_cells import (BY_ID, OPS_SHAPE, cell_params, dropout_multipliers, ops_forward,
                              ops_param_names, ops_problem, over_cells, step_mask)
from _tolerance import (FLOAT32_VS_FLOAT64_ATOL, MEANINGFUL_DIFFERENCE, OTHER_FORMULA,
                        assert_same_maths, assert_twin_close)

from rnncore import recurrent
from rnncore.recurrent._recurrent import Workspace  # the type ops' ``workspace=`` argument takes

B, T, I, H = OPS_SHAPE
OUTPUTS = pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "sequences"])


# ---- forward semantics ----------------------------------------------------------------------
@over_cells
def test_masked_output_is_the_previous_output_and_zero_before_the_first_step(rng, cell):
    """Keras semantics: a masked step repeats the last output (zeros before any real step),
    while every state is carried over from the initial state."""
    p = ops_problem(rng, cell)
    mask = step_mask(rng, B, T)
    y, states, _ = ops_forward(cell, p, return_sequences=True, mask=mask)
    np.testing.assert_array_equal(y[0], 0)
    for name, s in zip(cell.state_names, states):
        np.testing.assert_array_equal(s[0], p[name][0])
    np.testing.assert_array_equal(y[1, 3], y[1, 2])
    np.testing.assert_array_equal(y[1, 4], y[1, 2])
    np.testing.assert_array_equal(states[0][1], y[1, 2])
    np.testing.assert_array_equal(y[2, :2], 0)
    y0, _, _ = ops_forward(cell, p, return_sequences=True, mask=mask, zero_output_for_mask=True)
    np.testing.assert_array_equal(y0[1, 3:], 0)
    np.testing.assert_array_equal(y0[mask], y[mask])


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@over_cells
def test_go_backwards_runs_the_reversed_sequence(rng, cell, dtype):
    """Outputs come in processing order, and the input gradient in x's order."""
    p = ops_problem(rng, cell, dtype)
    y, states, cache = ops_forward(cell, p, return_sequences=True, go_backwards=True)
    q = dict(p, x=np.ascontiguousarray(p["x"][:, ::-1]))
    y_r, states_r, cache_r = ops_forward(cell, q, return_sequences=True)
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
    p = ops_problem(rng, cell)
    args = (p["x"], p["kernel"], p["recurrent_kernel"], p["bias"])
    zeros = np.zeros((B, H))
    y0, s0, _ = cell.forward(*args)
    y1, s1, _ = cell.forward(*args, [None] + [zeros] * (cell.n_states - 1))
    y2 = cell.forward_only(*args, [zeros] * cell.n_states)
    np.testing.assert_array_equal(y0, y1)
    np.testing.assert_array_equal(y0, y2)
    for a, b in zip(s0, s1):
        np.testing.assert_array_equal(a, b)
    given = cell.forward(*args, [p[n] for n in cell.state_names])[0]
    assert np.abs(y0 - given).max() > MEANINGFUL_DIFFERENCE


@over_cells
def test_forward_only_function_returns_the_forward_output(rng, cell):
    p = ops_problem(rng, cell)
    h0 = [p[n] for n in cell.state_names]
    y = cell.forward_only(p["x"], p["kernel"], p["recurrent_kernel"], p["bias"], h0,
                          return_sequences=True)
    assert y.shape == (B, T, H)
    np.testing.assert_array_equal(y, ops_forward(cell, p, return_sequences=True)[0])


# ---- engines and workspaces -----------------------------------------------------------------
def _engine_problem(rng, cell, dtype):
    p = ops_problem(rng, cell, dtype, (5, 7, 6, 4))
    lead = (cell.gates,) if cell.gated else ()  # per-gate masks where the cell has gates
    kw = dict(go_backwards=True, truncate_gradient=4, mask=rng.random((5, 7)) > 0.2,
              dropout_mask=dropout_multipliers(rng, lead + (5, 6)).astype(dtype),
              recurrent_dropout_mask=dropout_multipliers(rng, lead + (5, 4)).astype(dtype))
    return p, kw


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@OUTPUTS
@over_cells
def test_numpy_engine_matches_kernel_engine(rng, cell, return_sequences, dtype):
    p, kw = _engine_problem(rng, cell, dtype)
    yk, sk, ck = ops_forward(cell, p, engine="kernel", n_threads=2,
                             return_sequences=return_sequences, **kw)
    yn, sn, cn = ops_forward(cell, p, engine="numpy", return_sequences=return_sequences, **kw)
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
    p2 = ops_problem(rng, cell, shape=(5, 7, 6, 4))
    # first call: sequences, truncated, dropout, mask — fills every scratch array
    y1, _, c1 = ops_forward(cell, p1, return_sequences=True, workspace=ws, **kw)
    cell.backward(c1, rng.standard_normal(y1.shape), None)
    # then other data and options, same shapes, on both engines
    d = rng.standard_normal((5, 4))
    runs = []
    for engine, workspace in (("kernel", ws), ("kernel", None), ("numpy", ws), ("kernel", ws)):
        y, s, c = ops_forward(cell, p2, engine=engine, workspace=workspace)
        runs.append(_results(cell, y.copy(), [a.copy() for a in s], cell.backward(c, d)))
    for a, b, n, k in zip(*runs):
        np.testing.assert_array_equal(a, b)          # reused workspace == fresh one
        assert_twin_close(n, a, np.float64, grad=True)  # the numpy engine in that workspace
        np.testing.assert_array_equal(k, a)          # and back to the kernel


@over_cells
def test_outputs_do_not_alias_the_workspace(rng, cell):
    """Returned arrays belong to the caller: the next batch must not overwrite them."""
    ws = Workspace()
    y, s, c = ops_forward(cell, ops_problem(rng, cell), return_sequences=True, workspace=ws)
    g = cell.backward(c, np.ones_like(y))
    mine = _results(cell, y, s, g)
    saved = [a.copy() for a in mine]
    y2, _, c2 = ops_forward(cell, ops_problem(rng, cell), return_sequences=True, workspace=ws)
    cell.backward(c2, -np.ones_like(y2))
    for before, after in zip(saved, mine):
        np.testing.assert_array_equal(before, after)


@over_cells
def test_need_dx_false_and_missing_output_gradient(rng, cell):
    """need_dx=False leaves the other gradients as they were and gives no x gradient;
    d_output=None is the gradient of the final states alone."""
    p, kw = _engine_problem(rng, cell, np.float64)
    kw = dict(kw, truncate_gradient=-1)
    out, states, cache = ops_forward(cell, p, **kw)
    no_dx = cell.backward(cache, None, states, need_dx=False)
    assert no_dx["x"] is None
    _, _, cache = ops_forward(cell, p, **kw)
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
    p = ops_problem(rng, cell)
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
                   for n in ops_param_names(cell))
    y_ref, s_ref, c_ref = ops_forward(cell, p, return_sequences=True)
    y, s, c = ops_forward(cell, q, return_sequences=True)
    assert y.dtype == np.float64
    d = rng.standard_normal(y.shape)
    for a, b in zip(_results(cell, y, s, cell.backward(c, d)),
                    _results(cell, y_ref, s_ref, cell.backward(c_ref, d))):
        np.testing.assert_array_equal(a, b)


@over_cells
def test_the_kernel_dtype_is_the_compute_dtype(rng, cell):
    p = ops_problem(rng, cell)
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
    y = cell.forward_only(p["x"], p["kernel"], p["recurrent_kernel"], p["bias"], h0)
    np.testing.assert_allclose(y32, y, atol=FLOAT32_VS_FLOAT64_ATOL)


def _bad_arguments(cell):
    G = cell.gates
    width = "units" if G == 1 else rf"{G} \* units"  # the shape as the message writes it
    rows = [
        ("activation", {"activation": "swishh"}, r"activation: unknown activation 'swishh'"),
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
        rows += [("recurrent_activation", {"recurrent_activation": "sigmoidd"},
                  r"recurrent_activation: unknown activation 'sigmoidd'")]
    return rows


@pytest.mark.parametrize("cell,name,change,match", cell_params(_bad_arguments))
def test_bad_arguments_are_value_errors_naming_them(rng, cell, name, change, match):
    p = ops_problem(rng, cell)
    args = {"x": p["x"], "kernel": p["kernel"], "recurrent_kernel": p["recurrent_kernel"],
            "bias": p["bias"], **change}
    with pytest.raises(ValueError, match=match):
        cell.forward(**args)


# ==== cell-specific =========================================================================
def test_gru_reset_after_false_is_a_different_cell(rng):
    """The two variants agree when r = 1 would make them equal, and differ otherwise."""
    before_cell = BY_ID["gru-reset_before"]
    p = ops_problem(rng, before_cell)
    x, W, U, b, h0 = p["x"], p["kernel"], p["recurrent_kernel"], p["bias"], p["h0"]
    kwargs = dict(return_sequences=True)
    before = recurrent.gru(x, W, U, b, h0, reset_after=False, **kwargs)
    b2 = np.stack([b, np.zeros_like(b)])
    after = recurrent.gru(x, W, U, b2, h0, reset_after=True, **kwargs)
    assert np.abs(before - after).max() > MEANINGFUL_DIFFERENCE
    # r ≡ 1 (a huge reset-gate bias): (r ⊙ h)·U = r ⊙ (h·U)
    b[H:2 * H] = b2[0, H:2 * H] = 50.0
    np.testing.assert_allclose(recurrent.gru(x, W, U, b2, h0, reset_after=True, **kwargs),
                               recurrent.gru(x, W, U, b, h0, reset_after=False, **kwargs),
                               **OTHER_FORMULA)


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
        recurrent.gru_forward(**args)


def test_old_ops_names_still_resolve_with_a_warning_naming_the_new_module():
    import rnncore.ops
    with pytest.warns(DeprecationWarning, match="rnncore.recurrent.lstm_forward"):
        assert rnncore.ops.lstm_forward is recurrent.lstm_forward
    with pytest.raises(AttributeError, match="lstm_fwd"):
        rnncore.ops.lstm_fwd
