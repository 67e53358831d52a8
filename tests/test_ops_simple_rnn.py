"""``rnncore.ops.simple_rnn_forward`` / ``simple_rnn_backward``: finite differences (float64),
engines, workspaces and argument checks."""
import numpy as np
import pytest

from rnncore import ops
from rnncore.ops import _recurrent as R

B, T, I, H = 3, 5, 4, 3
PARAMS = ("x", "kernel", "recurrent_kernel", "bias", "initial_state")


def _problem(rng, dtype=np.float64, batch=B, steps=T, features=I, units=H):
    return {
        "x": rng.standard_normal((batch, steps, features)).astype(dtype),
        "kernel": (rng.standard_normal((features, units)) * 0.6).astype(dtype),
        "recurrent_kernel": (rng.standard_normal((units, units)) * 0.5).astype(dtype),
        "bias": (rng.standard_normal(units) * 0.3).astype(dtype),
        "initial_state": rng.standard_normal((batch, units)).astype(dtype),
    }


def _forward(p, **kw):
    # one kernel thread unless asked: finite differences make hundreds of tiny calls, and
    # threading is the kernel tests' subject
    kw.setdefault("n_threads", 1)
    return ops.simple_rnn_forward(p["x"], p["kernel"], p["recurrent_kernel"], p["bias"],
                                  p["initial_state"], **kw)


def _loss(p, w_out, w_state, **kw):
    """A random linear functional of the output and the final state."""
    y, h, _ = _forward(p, **kw)
    return float(np.sum(w_out * y) + np.sum(w_state * h))


def _truncated_loss(p, base, w_out, w_state, k, *, return_sequences, go_backwards, **kw):
    """DESIGN.md's reference for truncate_gradient=k: the state reaching the last k (processed)
    steps, and the outputs before them, are constants computed from the base values."""
    def processing_order(a):
        return a[:, ::-1] if go_backwards else a

    xb, x = processing_order(base["x"]), processing_order(p["x"])
    _, h_mid, _ = ops.simple_rnn_forward(xb[:, :T - k], base["kernel"], base["recurrent_kernel"],
                                         base["bias"], base["initial_state"], n_threads=1, **kw)
    y, h, _ = ops.simple_rnn_forward(x[:, T - k:], p["kernel"], p["recurrent_kernel"], p["bias"],
                                     h_mid, return_sequences=return_sequences, n_threads=1, **kw)
    wy = w_out[:, T - k:] if return_sequences else w_out
    return float(np.sum(wy * y) + np.sum(w_state * h))


def _numeric_grads(f, p, eps=1e-6):
    grads = {}
    for name in PARAMS:
        arr = p[name]
        g = np.zeros_like(arr)
        for i in np.ndindex(arr.shape):
            old = arr[i]
            arr[i] = old + eps
            up = f(p)
            arr[i] = old - eps
            down = f(p)
            arr[i] = old
            g[i] = (up - down) / (2 * eps)
        grads[name] = g
    return grads


def _weights(rng, return_sequences):
    w_out = rng.standard_normal((B, T, H) if return_sequences else (B, H))
    return w_out, rng.standard_normal((B, H))


def _assert_grads_match(analytic, numeric):
    for name in PARAMS:
        np.testing.assert_allclose(analytic[name], numeric[name], rtol=1e-6, atol=1e-8,
                                   err_msg=f"gradient w.r.t. {name}")


@pytest.mark.parametrize("truncate", [-1, 2, 1, T], ids=lambda k: f"k={k}")
@pytest.mark.parametrize("go_backwards", [False, True], ids=["forwards", "go_backwards"])
@pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "sequences"])
def test_gradients_match_finite_differences(rng, return_sequences, go_backwards, truncate):
    p = _problem(rng)
    base = {k: v.copy() for k, v in p.items()}
    w_out, w_state = _weights(rng, return_sequences)
    kw = dict(return_sequences=return_sequences, go_backwards=go_backwards)

    _, _, cache = _forward(p, truncate_gradient=truncate, n_threads=3, **kw)
    analytic = ops.simple_rnn_backward(cache, w_out, w_state)

    if truncate == -1 or truncate >= T:
        numeric = _numeric_grads(lambda q: _loss(q, w_out, w_state, **kw), p)
    else:
        numeric = _numeric_grads(
            lambda q: _truncated_loss(q, base, w_out, w_state, truncate, **kw), p)
        assert np.all(analytic["initial_state"] == 0)
        cut = slice(T - truncate, None) if go_backwards else slice(0, T - truncate)
        assert np.all(analytic["x"][:, cut] == 0)
    _assert_grads_match(analytic, numeric)


def _masks(rng):
    mask = rng.random((B, T)) > 0.35
    mask[0] = False                  # a fully masked sequence
    mask[1] = [1, 1, 1, 0, 0]        # post-padding
    mask[2] = [0, 0, 1, 1, 1]        # pre-padding
    return mask


@pytest.mark.parametrize("case", ["mask", "mask-zero-output", "dropout-masks", "relu",
                                  "no-bias-no-state", "numpy-engine"])
@pytest.mark.parametrize("go_backwards", [False, True], ids=["forwards", "go_backwards"])
@pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "sequences"])
def test_gradients_match_finite_differences_with_options(rng, return_sequences, go_backwards,
                                                         case):
    p = _problem(rng)
    w_out, w_state = _weights(rng, return_sequences)
    kw = dict(return_sequences=return_sequences, go_backwards=go_backwards)
    if case.startswith("mask"):
        kw.update(mask=_masks(rng), zero_output_for_mask=case == "mask-zero-output")
    elif case == "dropout-masks":
        kw.update(dropout_mask=((rng.random((B, I)) > 0.3) / 0.7),
                  recurrent_dropout_mask=((rng.random((B, H)) > 0.3) / 0.7))
    elif case == "relu":
        kw.update(activation="relu")
    elif case == "numpy-engine":
        kw.update(engine="numpy")
    d_state = w_state
    if case == "no-bias-no-state":
        p["bias"] = np.zeros(H)
        w_state = np.zeros((B, H))
        d_state = None

    _, _, cache = ops.simple_rnn_forward(
        p["x"], p["kernel"], p["recurrent_kernel"],
        None if case == "no-bias-no-state" else p["bias"], p["initial_state"], n_threads=2, **kw)
    analytic = ops.simple_rnn_backward(cache, w_out, d_state)
    numeric = _numeric_grads(lambda q: _loss(q, w_out, w_state, **kw), p)
    if case == "no-bias-no-state":
        assert analytic["bias"] is None
        analytic["bias"] = numeric["bias"]  # not a parameter of that layer
    _assert_grads_match(analytic, numeric)


def test_masked_output_is_the_previous_output_and_zero_before_the_first_step(rng):
    """Keras semantics: a masked step repeats the last output (zeros before any real step),
    while the state is carried over from the initial state."""
    p = _problem(rng)
    mask = _masks(rng)
    y, h, _ = _forward(p, return_sequences=True, mask=mask)
    np.testing.assert_array_equal(y[0], 0)
    np.testing.assert_array_equal(h[0], p["initial_state"][0])
    np.testing.assert_array_equal(y[1, 3], y[1, 2])
    np.testing.assert_array_equal(y[1, 4], y[1, 2])
    np.testing.assert_array_equal(h[1], y[1, 2])
    np.testing.assert_array_equal(y[2, :2], 0)
    y0, _, _ = _forward(p, return_sequences=True, mask=mask, zero_output_for_mask=True)
    np.testing.assert_array_equal(y0[1, 3:], 0)
    np.testing.assert_array_equal(y0[:, :][mask], y[mask])


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "sequences"])
def test_numpy_engine_matches_kernel_engine(rng, dtype, return_sequences):
    p = _problem(rng, dtype, batch=5, steps=7, features=6, units=4)
    kw = dict(return_sequences=return_sequences, go_backwards=True, truncate_gradient=4,
              mask=rng.random((5, 7)) > 0.2,
              recurrent_dropout_mask=((rng.random((5, 4)) > 0.5) * 2).astype(dtype))
    yk, hk, ck = _forward(p, engine="kernel", n_threads=2, **kw)
    yn, hn, cn = _forward(p, engine="numpy", **kw)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(yk, yn, rtol=tol, atol=tol)
    np.testing.assert_allclose(hk, hn, rtol=tol, atol=tol)
    d = rng.standard_normal(yk.shape).astype(dtype)
    gk, gn = ops.simple_rnn_backward(ck, d), ops.simple_rnn_backward(cn, d)
    for name in PARAMS:
        assert gk[name].dtype == dtype
        np.testing.assert_allclose(gk[name], gn[name], rtol=tol, atol=tol * 10, err_msg=name)


def test_a_reused_workspace_gives_the_same_results_as_a_fresh_one(rng):
    """Workspaces are reused across batches: nothing stale may leak from the previous call."""
    ws = R.Workspace()
    p1, p2 = _problem(rng), _problem(rng)
    # first call: sequences, truncated, recurrent dropout, mask — fills every scratch array
    _, _, c1 = _forward(p1, return_sequences=True, truncate_gradient=2, workspace=ws,
                        mask=_masks(rng), recurrent_dropout_mask=np.full((B, H), 2.0))
    ops.simple_rnn_backward(c1, rng.standard_normal((B, T, H)), rng.standard_normal((B, H)))
    # second call on other data and options, same shapes
    y_ws, h_ws, c_ws = _forward(p2, workspace=ws)
    y_new, h_new, c_new = _forward(p2)
    np.testing.assert_array_equal(y_ws, y_new)
    np.testing.assert_array_equal(h_ws, h_new)
    d = rng.standard_normal((B, H))
    g_ws, g_new = ops.simple_rnn_backward(c_ws, d), ops.simple_rnn_backward(c_new, d)
    for name in PARAMS:
        np.testing.assert_array_equal(g_ws[name], g_new[name], err_msg=name)


def test_outputs_do_not_alias_the_workspace(rng):
    """Returned arrays belong to the caller: the next batch must not overwrite them."""
    ws = R.Workspace()
    p = _problem(rng)
    y, h, c = _forward(p, return_sequences=True, workspace=ws)
    g = ops.simple_rnn_backward(c, np.ones_like(y))
    saved = [y.copy(), h.copy()] + [g[n].copy() for n in PARAMS]
    q = _problem(rng)
    _, _, c2 = _forward(q, return_sequences=True, workspace=ws)
    ops.simple_rnn_backward(c2, -np.ones_like(y))
    for before, after in zip(saved, [y, h] + [g[n] for n in PARAMS]):
        np.testing.assert_array_equal(before, after)


def test_simple_rnn_returns_the_forward_output(rng):
    p = _problem(rng)
    y = ops.simple_rnn(p["x"], p["kernel"], p["recurrent_kernel"], p["bias"], p["initial_state"],
                       return_sequences=True)
    np.testing.assert_array_equal(y, _forward(p, return_sequences=True)[0])
    assert y.shape == (B, T, H)


@pytest.mark.parametrize("kwargs,match", [
    ({"activation": "sigmoid"}, r"activation must be one of \['tanh', 'relu'\], got 'sigmoid'"),
    ({"activation": "swish"}, r"activation .*'swish'"),
    ({"engine": "cuda"}, r"engine must be one of .*'cuda'"),
    ({"truncate_gradient": 0}, r"truncate_gradient.*got 0"),
    ({"truncate_gradient": -2}, r"truncate_gradient.*got -2"),
    ({"truncate_gradient": 2.5}, r"truncate_gradient.*got 2.5"),
    ({"truncate_gradient": True}, r"truncate_gradient.*got True"),
])
def test_bad_arguments_are_value_errors_naming_them(rng, kwargs, match):
    p = _problem(rng)
    with pytest.raises(ValueError, match=match):
        _forward(p, **kwargs)


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
def test_truncated_gradients_equal_the_hand_written_tbptt_loop_of_seed_004(rng, truncate):
    p = _problem(rng, batch=4, steps=12, features=3, units=5)
    err = rng.standard_normal((4, 5))
    h_T, dW, dU, db = _seed_004_backprop(p["x"], p["kernel"], p["recurrent_kernel"], p["bias"],
                                         err, truncate)
    y, _, cache = ops.simple_rnn_forward(p["x"], p["kernel"], p["recurrent_kernel"], p["bias"],
                                         truncate_gradient=truncate)
    g = ops.simple_rnn_backward(cache, err)
    np.testing.assert_allclose(y, h_T, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(g["kernel"], dW, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g["recurrent_kernel"], dU, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g["bias"], db, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("layout", ["transposed-weights", "fortran-x", "mixed-dtypes",
                                    "strided-x", "integer-x"])
def test_any_array_layout_is_accepted_and_gives_the_same_result(rng, layout):
    """ops is public API: weights taken as W.T from another framework, or x sliced out of a
    bigger array, give the same numbers as C-contiguous float copies."""
    p = _problem(rng)
    if layout == "integer-x":
        p["x"] = np.round(p["x"] * 3)
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
    else:
        q["x"] = p["x"].astype(np.int64)
    assert not all(np.asarray(q[n]).flags.c_contiguous and q[n].dtype == np.float64
                   for n in PARAMS)
    y_ref, h_ref, c_ref = _forward(p, return_sequences=True)
    y, h, c = _forward(q, return_sequences=True)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(h, h_ref)
    d = rng.standard_normal(y.shape)
    g_ref, g = ops.simple_rnn_backward(c_ref, d), ops.simple_rnn_backward(c, d)
    for name in PARAMS:
        np.testing.assert_array_equal(g[name], g_ref[name], err_msg=name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_time_major_transposes_round_trip(rng, dtype, go_backwards):
    # The compiled row swaps behind time_major and to_batch_major, both reversals.
    x = rng.standard_normal((5, 7, 3)).astype(dtype)
    x_tm = R.time_major(x, dtype, go_backwards)
    expected = x.transpose(1, 0, 2)[::-1] if go_backwards else x.transpose(1, 0, 2)
    np.testing.assert_array_equal(x_tm, expected)
    back = R.to_batch_major(x_tm, go_backwards_flip=go_backwards)
    assert back.flags.c_contiguous
    np.testing.assert_array_equal(back, x)
    # another dtype or a strided input goes through NumPy's copy, with the same result
    np.testing.assert_array_equal(R.time_major(np.asfortranarray(x), dtype, go_backwards),
                                  expected)
    np.testing.assert_array_equal(R.time_major(x.astype(np.float16), dtype, go_backwards),
                                  expected.astype(np.float16).astype(dtype))
