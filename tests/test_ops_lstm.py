"""``rnncore.ops.lstm_forward`` / ``lstm_backward``: finite differences (float64) through the
compiled kernel, engines, workspaces and argument checks."""
import numpy as np
import pytest

from rnncore import ops
from rnncore.ops import _recurrent as R

B, T, I, H = 3, 5, 4, 3
PARAMS = ("x", "kernel", "recurrent_kernel", "bias", "h0", "c0")


def _problem(rng, dtype=np.float64):
    return {
        "x": rng.standard_normal((B, T, I)).astype(dtype),
        "kernel": (rng.standard_normal((I, 4 * H)) * 0.6).astype(dtype),
        "recurrent_kernel": (rng.standard_normal((H, 4 * H)) * 0.5).astype(dtype),
        "bias": (rng.standard_normal(4 * H) * 0.3).astype(dtype),
        "h0": rng.standard_normal((B, H)).astype(dtype),
        "c0": rng.standard_normal((B, H)).astype(dtype),
    }


def _forward(p, bias=True, **kw):
    kw.setdefault("n_threads", 1)  # tiny batches: thread start-up would dominate the run time
    return ops.lstm_forward(p["x"], p["kernel"], p["recurrent_kernel"],
                            p["bias"] if bias else None, [p["h0"], p["c0"]], **kw)


def _loss(p, w, bias=True, **kw):
    """A random linear functional of the output and both final states."""
    y, (h, c), _ = _forward(p, bias, **kw)
    return float(np.sum(w["y"] * y) + np.sum(w["h"] * h) + np.sum(w["c"] * c))


def _truncated_loss(p, base, w, k, *, return_sequences, go_backwards, **kw):
    """DESIGN.md's reference for truncate_gradient=k: the states reaching the last k (processed)
    steps, and the outputs before them, are constants computed from the base values."""
    def processing_order(a):
        return a[:, ::-1] if go_backwards else a

    xb, x = processing_order(base["x"]), processing_order(p["x"])
    _, mid, _ = ops.lstm_forward(xb[:, :T - k], base["kernel"], base["recurrent_kernel"],
                                 base["bias"], [base["h0"], base["c0"]], n_threads=1, **kw)
    y, (h, c), _ = ops.lstm_forward(x[:, T - k:], p["kernel"], p["recurrent_kernel"], p["bias"],
                                    mid, return_sequences=return_sequences, n_threads=1, **kw)
    wy = w["y"][:, T - k:] if return_sequences else w["y"]
    return float(np.sum(wy * y) + np.sum(w["h"] * h) + np.sum(w["c"] * c))


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
    return {"y": rng.standard_normal((B, T, H) if return_sequences else (B, H)),
            "h": rng.standard_normal((B, H)), "c": rng.standard_normal((B, H))}


def _analytic(cache, w, d_states="both"):
    states = {"both": [w["h"], w["c"]], "h-only": [w["h"], None], "none": None}[d_states]
    g = ops.lstm_backward(cache, w["y"], states)
    g["h0"], g["c0"] = g.pop("initial_state")
    return g


def _assert_grads_match(analytic, numeric):
    for name in PARAMS:
        # central differences lose ~1e-16·|loss|/eps to rounding: scale atol with the values
        atol = 1e-8 * (1 + np.abs(numeric[name]).max())
        np.testing.assert_allclose(analytic[name], numeric[name], rtol=1e-6, atol=atol,
                                   err_msg=f"gradient w.r.t. {name}")


@pytest.mark.parametrize("truncate", [-1, 2, 1, T], ids=lambda k: f"k={k}")
@pytest.mark.parametrize("go_backwards", [False, True], ids=["forwards", "go_backwards"])
@pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "sequences"])
def test_gradients_match_finite_differences(rng, return_sequences, go_backwards, truncate):
    p = _problem(rng)
    base = {k: v.copy() for k, v in p.items()}
    w = _weights(rng, return_sequences)
    kw = dict(return_sequences=return_sequences, go_backwards=go_backwards)

    _, _, cache = _forward(p, truncate_gradient=truncate, **kw)
    analytic = _analytic(cache, w)

    if truncate == -1 or truncate >= T:
        numeric = _numeric_grads(lambda q: _loss(q, w, **kw), p)
    else:
        numeric = _numeric_grads(lambda q: _truncated_loss(q, base, w, truncate, **kw), p)
        assert np.all(analytic["h0"] == 0) and np.all(analytic["c0"] == 0)
        cut = slice(T - truncate, None) if go_backwards else slice(0, T - truncate)
        assert np.all(analytic["x"][:, cut] == 0)
    _assert_grads_match(analytic, numeric)


def _masks(rng):
    mask = rng.random((B, T)) > 0.35
    mask[0] = False                  # a fully masked sequence
    mask[1] = [1, 1, 1, 0, 0]        # post-padding
    mask[2] = [0, 0, 1, 1, 1]        # pre-padding
    return mask


def _dropout(rng, shape):
    return (rng.random(shape) > 0.3) / 0.7


CASES = ["mask", "mask-zero-output", "dropout-masks", "dropout-masks-per-gate", "relu/hard_sigmoid",
         "linear/tanh", "no-bias", "h-gradient-only", "numpy-engine", "threads-2"]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("go_backwards", [False, True], ids=["forwards", "go_backwards"])
@pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "sequences"])
def test_gradients_match_finite_differences_with_options(rng, return_sequences, go_backwards,
                                                         case):
    p = _problem(rng)
    w = _weights(rng, return_sequences)
    kw = dict(return_sequences=return_sequences, go_backwards=go_backwards)
    d_states, bias = "both", True
    if case.startswith("mask"):
        kw.update(mask=_masks(rng), zero_output_for_mask=case == "mask-zero-output")
    elif case == "dropout-masks":
        kw.update(dropout_mask=_dropout(rng, (B, I)), recurrent_dropout_mask=_dropout(rng, (B, H)))
    elif case == "dropout-masks-per-gate":
        kw.update(dropout_mask=_dropout(rng, (4, B, I)),
                  recurrent_dropout_mask=_dropout(rng, (4, B, H)))
    elif "/" in case:
        act, ract = case.split("/")
        kw.update(activation=act, recurrent_activation=ract)
        if act == "relu":
            p["bias"] += 0.05  # keep pre-activations off relu's kink at 0 for the differences
    elif case == "numpy-engine":
        kw.update(engine="numpy")
    elif case == "threads-2":
        kw.update(n_threads=2)
    elif case == "no-bias":
        bias = False
    elif case == "h-gradient-only":
        w["c"] = np.zeros((B, H))
        d_states = "h-only"

    _, _, cache = _forward(p, bias, **kw)
    analytic = _analytic(cache, w, d_states)
    numeric = _numeric_grads(lambda q: _loss(q, w, bias, **kw), p)
    if not bias:
        assert analytic["bias"] is None
        analytic["bias"] = numeric["bias"]  # not a parameter of that layer
    _assert_grads_match(analytic, numeric)


def test_masked_output_is_the_previous_output_and_zero_before_the_first_step(rng):
    """Keras semantics: a masked step repeats the last output (zeros before any real step),
    while both states are carried over from the initial state."""
    p = _problem(rng)
    mask = _masks(rng)
    y, (h, c), _ = _forward(p, return_sequences=True, mask=mask)
    np.testing.assert_array_equal(y[0], 0)
    np.testing.assert_array_equal(h[0], p["h0"][0])
    np.testing.assert_array_equal(c[0], p["c0"][0])
    np.testing.assert_array_equal(y[1, 3], y[1, 2])
    np.testing.assert_array_equal(y[1, 4], h[1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_kernel_and_numpy_engines_agree_and_workspace_is_reused(rng, dtype):
    p = _problem(rng, dtype)
    ws = R.Workspace()
    w = _weights(rng, True)
    results = []
    for engine in ("kernel", "numpy", "kernel"):
        y, states, cache = _forward(p, return_sequences=True, engine=engine, workspace=ws)
        g = _analytic(cache, {k: v.astype(dtype) for k, v in w.items()})
        results.append((y, *states, *(g[k] for k in PARAMS)))
        assert y.dtype == dtype and g["kernel"].dtype == dtype
    tol = 1e-12 if dtype == np.float64 else 1e-5
    for a, b, c in zip(*results):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
        np.testing.assert_array_equal(a, c)  # a reused workspace gives the same numbers


def test_initial_state_defaults_to_zeros_and_accepts_none_entries(rng):
    p = _problem(rng)
    y0, s0, _ = ops.lstm_forward(p["x"], p["kernel"], p["recurrent_kernel"], p["bias"])
    zeros = np.zeros((B, H))
    y1, s1, _ = ops.lstm_forward(p["x"], p["kernel"], p["recurrent_kernel"], p["bias"],
                                 [None, zeros])
    y2 = ops.lstm(p["x"], p["kernel"], p["recurrent_kernel"], p["bias"], [zeros, zeros])
    np.testing.assert_array_equal(y0, y1)
    np.testing.assert_array_equal(y0, y2)
    np.testing.assert_array_equal(s0[1], s1[1])


@pytest.mark.parametrize("kwargs,match", [
    (dict(activation="softmax"), "activation"),
    (dict(recurrent_activation="swish"), "recurrent_activation"),
    (dict(engine="gpu"), "engine"),
    (dict(truncate_gradient=0), "truncate_gradient"),
    (dict(dropout_mask=np.ones((B, I + 1))), "dropout_mask"),
    (dict(recurrent_dropout_mask=np.ones((3, B, H))), "recurrent_dropout_mask"),
])
def test_bad_arguments_name_themselves(rng, kwargs, match):
    p = _problem(rng)
    with pytest.raises(ValueError, match=match):
        _forward(p, **kwargs)
