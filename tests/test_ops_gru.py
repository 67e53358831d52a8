"""``rnncore.ops.gru_forward`` / ``gru_backward``: finite-difference gradients (float64) through
the compiled kernel, truncated BPTT, dropout masks, workspaces and argument checks."""
import numpy as np
import pytest

from rnncore import ops
from rnncore.ops import _recurrent as R

B, T, F, H = 3, 5, 2, 3
NAMES = ["kernel", "recurrent_kernel", "bias", "x", "initial_state"]
# name: forward keyword arguments (masks are drawn in _problem)
CASES = {
    "last": {},
    "sequences": {"return_sequences": True},
    "backwards": {"return_sequences": True, "go_backwards": True},
    "mask": {"return_sequences": True, "mask": True},
    "mask-backwards-zero-output": {"go_backwards": True, "mask": True,
                                   "zero_output_for_mask": True},
    "dropout-shared": {"return_sequences": True, "dropout": 1, "recurrent_dropout": 1},
    "dropout-per-gate": {"return_sequences": True, "dropout": 3, "recurrent_dropout": 3,
                         "mask": True},
    "relu-hard-sigmoid": {"activation": "relu", "recurrent_activation": "hard_sigmoid"},
    "no-bias": {"return_sequences": True, "bias": False},
}


def _problem(rng, reset_after, kwargs, dtype=np.float64):
    kwargs = dict(kwargs)
    x = rng.standard_normal((B, T, F)).astype(dtype)
    W = (rng.standard_normal((F, 3 * H)) * 0.6).astype(dtype)
    U = (rng.standard_normal((H, 3 * H)) * 0.6).astype(dtype)
    b = (rng.standard_normal((2, 3 * H) if reset_after else 3 * H) * 0.4).astype(dtype)
    if not kwargs.pop("bias", True):
        b = None
    h0 = rng.standard_normal((B, H)).astype(dtype)
    if kwargs.get("mask"):
        mask = rng.random((B, T)) > 0.3
        mask[0, :2] = False
        kwargs["mask"] = mask
    for name, width in (("dropout", F), ("recurrent_dropout", H)):
        n = kwargs.pop(name, 0)
        if n:
            shape = (B, width) if n == 1 else (3, B, width)
            kwargs[name + "_mask"] = ((rng.random(shape) > 0.3) / 0.7).astype(dtype)
    kwargs["reset_after"] = reset_after
    # one thread: the finite differences make hundreds of tiny calls
    kwargs["n_threads"] = 1
    return [W, U, b, x, h0], kwargs


def _forward(args, kwargs, engine="kernel"):
    W, U, b, x, h0 = args
    return ops.gru_forward(x, W, U, b, h0, engine=engine, **kwargs)


def _loss(args, kwargs, w_out, w_state):
    out, (h,), _ = _forward(args, kwargs)
    return float((out * w_out).sum() + (h * w_state).sum())


def _grads(cache, w_out, w_state):
    grads = ops.gru_backward(cache, w_out, [w_state])
    return [grads[n] for n in NAMES[:4]] + [grads["initial_state"][0]]


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("reset_after", [True, False], ids=["reset_after", "reset_before"])
def test_gradients_match_finite_differences(rng, reset_after, case):
    args, kwargs = _problem(rng, reset_after, CASES[case])
    out, _, cache = _forward(args, kwargs)
    w_out = rng.standard_normal(out.shape)
    w_state = rng.standard_normal((B, H))
    grads = _grads(cache, w_out, w_state)
    kwargs["workspace"] = R.Workspace()  # reused by every call below
    eps = 1e-6
    for i, name in enumerate(NAMES):
        if args[i] is None:
            assert grads[i] is None
            continue
        numeric = np.zeros_like(args[i])
        for idx in np.ndindex(args[i].shape):
            old = args[i][idx]
            args[i][idx] = old + eps
            up = _loss(args, kwargs, w_out, w_state)
            args[i][idx] = old - eps
            down = _loss(args, kwargs, w_out, w_state)
            args[i][idx] = old
            numeric[idx] = (up - down) / (2 * eps)
        assert grads[i].shape == args[i].shape
        np.testing.assert_allclose(grads[i], numeric, rtol=1e-6,
                                   atol=1e-7 * (1 + np.abs(numeric).max()),
                                   err_msg=f"gradient w.r.t. {name}")


def _split(a, k, go_backwards, axis=1):
    """(first T-k processed steps, last k processed steps) of a batch-major array."""
    n = a.shape[axis]
    head, tail = (slice(k, n), slice(0, k)) if go_backwards else (slice(0, n - k),
                                                                  slice(n - k, n))
    ix = [slice(None)] * a.ndim
    ix[axis] = head
    jx = list(ix)
    jx[axis] = tail
    return a[tuple(ix)], a[tuple(jx)], tail


@pytest.mark.parametrize("k", [1, 2, T], ids=lambda k: f"k={k}")
@pytest.mark.parametrize("case", ["last", "sequences", "backwards", "mask", "dropout-per-gate"])
@pytest.mark.parametrize("reset_after", [True, False], ids=["reset_after", "reset_before"])
def test_truncated_gradient_is_the_gradient_of_the_last_k_steps(rng, reset_after, case, k):
    """truncate_gradient=k: the gradient of the last k steps run from the state before them,
    taken as a constant; nothing reaches the earlier inputs or the initial state."""
    args, kwargs = _problem(rng, reset_after, CASES[case])
    W, U, b, x, h0 = args
    gb = kwargs.get("go_backwards", False)
    full_out, _, cache = _forward(args, {**kwargs, "truncate_gradient": k})
    plain_out, _, _ = _forward(args, kwargs)
    np.testing.assert_array_equal(full_out, plain_out)  # truncation changes only the gradient
    w_out = rng.standard_normal(full_out.shape)
    w_state = rng.standard_normal((B, H))
    got = _grads(cache, w_out, w_state)

    mask = kwargs.pop("mask", None)
    x_head, x_tail, tail = _split(x, k, gb)
    m_head, m_tail = (None, None) if mask is None else _split(mask, k, gb)[:2]
    h_mid = h0
    if k < T:
        _, (h_mid,), _ = ops.gru_forward(x_head, W, U, b, h0, mask=m_head, **kwargs)
    tail_out, _, c2 = ops.gru_forward(x_tail, W, U, b, h_mid, mask=m_tail, **kwargs)
    w_tail = w_out[:, T - k:] if kwargs.get("return_sequences") else w_out
    want = _grads(c2, w_tail, w_state)

    for name, a, e in zip(NAMES[:3], got, want):
        np.testing.assert_allclose(a, e, rtol=1e-12, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(got[3][:, tail], want[3], rtol=1e-12, atol=1e-12)
    if k < T:
        np.testing.assert_array_equal(np.delete(got[3], np.arange(T)[tail], axis=1), 0)
        np.testing.assert_array_equal(got[4], 0)
    else:
        np.testing.assert_allclose(got[4], want[4], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("reset_after", [True, False], ids=["reset_after", "reset_before"])
def test_engines_and_options_agree(rng, reset_after):
    """The numpy engine gives the kernel's results; need_dx=False and a missing d_output
    leave the other gradients as they were; a reused workspace gives the same answer."""
    args, kwargs = _problem(rng, reset_after, CASES["dropout-per-gate"])
    ws = R.Workspace()
    results = {}
    for engine in ("kernel", "numpy"):
        out, (h,), cache = _forward(args, {**kwargs, "workspace": ws}, engine=engine)
        w_out = np.cos(np.arange(out.size)).reshape(out.shape)
        results[engine] = [out.copy(), h.copy()] + _grads(cache, w_out, h)
    for a, b in zip(*results.values()):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)

    out, (h,), cache = _forward(args, kwargs)
    no_dx = ops.gru_backward(cache, None, [h], need_dx=False)
    assert no_dx["x"] is None
    _, _, cache = _forward(args, kwargs)
    only_state = _grads(cache, np.zeros_like(out), h)
    for name, a, b in zip(NAMES, [no_dx[n] for n in NAMES[:4]] + no_dx["initial_state"],
                          only_state):
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12, err_msg=name)
    assert np.abs(only_state[0]).max() > 0


def test_forward_only_matches_forward(rng):
    args, kwargs = _problem(rng, True, CASES["sequences"])
    W, U, b, x, h0 = args
    np.testing.assert_array_equal(ops.gru(x, W, U, b, h0, **kwargs),
                                  _forward(args, kwargs)[0])


def test_reset_after_false_is_a_different_cell(rng):
    """The two variants agree when r = 1 would make them equal, and differ otherwise."""
    args, kwargs = _problem(rng, False, CASES["sequences"])
    W, U, b, x, h0 = args
    before = ops.gru(x, W, U, b, h0, **kwargs)
    b2 = np.stack([b, np.zeros_like(b)])
    kwargs["reset_after"] = True
    after = ops.gru(x, W, U, b2, h0, **kwargs)
    assert np.abs(before - after).max() > 1e-3
    # r ≡ 1 (a huge reset-gate bias): (r ⊙ h)·U = r ⊙ (h·U)
    b[H:2 * H] = b2[0, H:2 * H] = 50.0
    np.testing.assert_allclose(ops.gru(x, W, U, b2, h0, **kwargs),
                               ops.gru(x, W, U, b, h0, **{**kwargs, "reset_after": False}),
                               rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("change,match", [
    ({"bias": np.zeros(9)}, r"bias must have shape \(2, 9\) with reset_after=True, got \(9,\)"),
    ({"bias": np.zeros((2, 9)), "reset_after": False},
     r"bias must have shape \(9,\) with reset_after=False, got \(2, 9\)"),
    ({"kernel": np.zeros((2, 6))}, r"kernel must have shape \(input_dim, 3 \* units\) = "
                                   r"\(2, 9\), got \(2, 6\)"),
    ({"recurrent_kernel": np.zeros((3, 6))},
     r"recurrent_kernel must have shape \(units, 3 \* units\), got \(3, 6\)"),
    ({"reset_after": "yes"}, r"reset_after must be True or False, got 'yes'"),
    ({"activation": "swish"}, r"activation must be one of .*got 'swish'"),
    ({"recurrent_activation": "softmax"}, r"recurrent_activation must be one of .*'softmax'"),
    ({"recurrent_dropout_mask": np.ones((2, 3, 3))},
     r"dropout masks must have shape \(3, 3\) or \(3, 3, 3\).*got \(2, 3, 3\)"),
    ({"truncate_gradient": 0}, r"truncate_gradient must be -1 .*got 0"),
    ({"engine": "gpu"}, r"engine must be one of .*got 'gpu'"),
])
def test_bad_arguments_are_value_errors_naming_them(rng, change, match):
    args = dict(x=np.zeros((B, T, F)), kernel=np.zeros((F, 3 * H)),
                recurrent_kernel=np.zeros((H, 3 * H)), bias=np.zeros((2, 3 * H)))
    args.update(change)
    with pytest.raises(ValueError, match=match):
        ops.gru_forward(**args)


def test_non_contiguous_and_mixed_dtype_weights_are_converted(rng):
    args, kwargs = _problem(rng, True, CASES["sequences"])
    W, U, b, x, h0 = args
    x32 = x.astype(np.float32)
    want = ops.gru(x32.astype(np.float64), W, U, b, h0, **kwargs)
    got = ops.gru(x32, np.asfortranarray(W), U.T.copy().T, b[:, ::-1][:, ::-1], h0, **kwargs)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, want)
    y32 = ops.gru(x, W.astype(np.float32), U.astype(np.float32), b, h0, **kwargs)
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32, ops.gru(x, W, U, b, h0, **kwargs), atol=1e-5)
