"""Gradients of ``rnncore.recurrent``'s functions (``simple_rnn_*``, ``lstm_*``, ``gru_*``),
every test run for every cell of ``_recurrent_cells.CELLS``: finite differences (float64) with
and without truncated BPTT, masks, dropout masks, engines and threads, and truncation against
the gradient of the last k steps run on their own. Forward behaviour, engines, workspaces and
arguments: test_ops_recurrent_api.py."""
import numpy as np
import pytest

from _recurrent_cells import (BY_ID, OPS_SHAPE, cell_params, dropout_multipliers, ops_forward,
                              ops_param_names, ops_problem, over_cells, step_mask)
from _tolerance import (FD_EPS, OTHER_FORMULA, assert_finite_difference_close,
                        assert_same_maths)

from rnncore import recurrent

B, T, I, H = OPS_SHAPE
DIRECTIONS = pytest.mark.parametrize("go_backwards", [False, True],
                                     ids=["forwards", "go_backwards"])
OUTPUTS = pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "sequences"])


# ---- helpers ------------------------------------------------------------------------------
def _output_weights(rng, cell, return_sequences, batch=B, steps=T, units=H):
    """The coefficients of a random linear loss of the output and of every final state."""
    return {"y": rng.standard_normal((batch, steps, units) if return_sequences
                                     else (batch, units)),
            "states": [rng.standard_normal((batch, units)) for _ in cell.state_names]}


def _row_losses(w_y, w_states, y, states):
    """Each batch row's share of the linear loss (the rows of a batch never interact)."""
    rows = (w_y * y).reshape(len(y), -1).sum(axis=1)
    for a, s in zip(w_states, states):
        rows = rows + (a * s).sum(axis=1)
    return rows


def _loss(cell, p, w, bias=True, **kw):
    y, states, _ = ops_forward(cell, p, bias, **kw)
    return _row_losses(w["y"], w["states"], y, states)


def _analytic(cell, cache, w, d_states="all"):
    """backward's gradients by parameter name; ``d_states`` 'all' takes w's state weights."""
    g = cell.backward(cache, w["y"], w["states"] if d_states == "all" else d_states)
    for name, d in zip(cell.state_names, g.pop("initial_state")):
        g[name] = d
    return g


def _numeric(cell, f, p):
    """Central differences of the loss ``f(p)``, given per batch row. A weight entry is
    perturbed alone, against the total; x and the initial states, whose batch rows are
    independent, one column at a time for all rows together, each row against its own loss
    (a third of the calls, on the same numbers)."""
    grads = {}
    for name in ops_param_names(cell):
        a = p[name]
        g = np.zeros_like(a)
        per_row = name == "x" or name in cell.state_names
        for i in np.ndindex(a.shape[1:] if per_row else a.shape):
            ix = (slice(None),) + i if per_row else i
            old = a[ix].copy()
            a[ix] = old + FD_EPS
            up = f(p)
            a[ix] = old - FD_EPS
            down = f(p)
            a[ix] = old
            d = (up - down) / (2 * FD_EPS)
            g[ix] = d if per_row else d.sum()
        grads[name] = g
    return grads


def _assert_grads_match(cell, analytic, numeric):
    for name in ops_param_names(cell):
        assert analytic[name].shape == numeric[name].shape, name
        assert_finite_difference_close(analytic[name], numeric[name], name)


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
    return _row_losses(w["y"][:, T - k:] if return_sequences else w["y"], w["states"], y, states)


@pytest.mark.parametrize("truncate", [-1, 2, 1, T], ids=lambda k: f"k={k}")
@DIRECTIONS
@OUTPUTS
@over_cells
def test_gradients_match_finite_differences(rng, cell, return_sequences, go_backwards, truncate):
    p = ops_problem(rng, cell)
    base = {k: v.copy() for k, v in p.items()}
    w = _output_weights(rng, cell, return_sequences)
    kw = dict(return_sequences=return_sequences, go_backwards=go_backwards)

    _, _, cache = ops_forward(cell, p, truncate_gradient=truncate, n_threads=3, **kw)
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
    p = ops_problem(rng, cell)
    w = _output_weights(rng, cell, return_sequences)
    kw = dict(return_sequences=return_sequences, go_backwards=go_backwards)
    d_states, bias = "all", True
    if case.startswith("mask"):
        kw.update(mask=step_mask(rng, B, T), zero_output_for_mask=case == "mask-zero-output")
    elif case == "dropout-masks":
        kw.update(dropout_mask=dropout_multipliers(rng, (B, I)),
                  recurrent_dropout_mask=dropout_multipliers(rng, (B, H)))
    elif case == "dropout-masks-per-gate":
        kw.update(dropout_mask=dropout_multipliers(rng, (cell.gates, B, I)),
                  recurrent_dropout_mask=dropout_multipliers(rng, (cell.gates, B, H)),
                  mask=step_mask(rng, B, T))
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
    _, _, cache = ops_forward(cell, p, bias, **kw, n_threads=threads)
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
    p = ops_problem(rng, cell)
    kwargs = dict(TRUNCATION_CASES[case], n_threads=1)
    mask = step_mask(rng, B, T) if kwargs.pop("mask", False) else None
    if kwargs.pop("dropout", False):  # per-gate masks where the cell has gates
        lead = (cell.gates,) if cell.gated else ()
        kwargs.update(dropout_mask=dropout_multipliers(rng, lead + (B, I)),
                      recurrent_dropout_mask=dropout_multipliers(rng, lead + (B, H)))
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
    p = ops_problem(rng, BY_ID["simple_rnn-tanh"], shape=(4, 12, 3, 5))
    err = rng.standard_normal((4, 5))
    h_T, dW, dU, db = _seed_004_backprop(p["x"], p["kernel"], p["recurrent_kernel"], p["bias"],
                                         err, truncate)
    y, _, cache = recurrent.simple_rnn_forward(p["x"], p["kernel"], p["recurrent_kernel"],
                                               p["bias"], truncate_gradient=truncate)
    g = recurrent.simple_rnn_backward(cache, err)
    assert_same_maths(y, h_T, "output")
    # the seed's loop and the kernel sum the steps in other orders
    for name, want in (("kernel", dW), ("recurrent_kernel", dU), ("bias", db)):
        np.testing.assert_allclose(g[name], want, err_msg=name, **OTHER_FORMULA)
