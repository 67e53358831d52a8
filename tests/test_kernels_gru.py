"""The compiled GRU kernel against its NumPy twin (``rnncore.reference.gru``), both variants."""
import numpy as np
import pytest

from rnncore._kernels import _gru as kernel
from rnncore.reference import gru as twin

TANH, RELU, SIGMOID, LINEAR, HARD_SIGMOID = 0, 1, 2, 3, 4
DTYPES = [np.float64, np.float32]
# (T, B, H): B = 7 divides by neither 2 nor 3; B = 1 and 2 have fewer rows than 3 threads
SHAPES = [(9, 7, 5), (1, 1, 1), (4, 2, 3)]
# option name: (step mask, recurrent masks M (0, 1 shared, 3 per gate), steps, act, rec act)
OPTIONS = {
    "plain": (False, 0, -1, TANH, SIGMOID),
    "step-mask": (True, 0, -1, TANH, SIGMOID),
    "recdrop-shared": (False, 1, -1, TANH, SIGMOID),
    "recdrop-per-gate": (False, 3, -1, TANH, SIGMOID),
    "truncated-half": (False, 0, "half", TANH, SIGMOID),
    "truncated-1": (True, 3, 1, TANH, SIGMOID),
    "window-T": (False, 0, "T", TANH, SIGMOID),
    "relu-hard-sigmoid": (True, 1, "half", RELU, HARD_SIGMOID),
    "linear-sigmoid": (False, 3, -1, LINEAR, SIGMOID),
    "sigmoid-tanh": (True, 0, -1, SIGMOID, TANH),
}


def _close(actual, expected, dtype):
    tol = 1e-12 if dtype == np.float64 else 1e-5
    scale = 1 + np.abs(expected).max(initial=0)
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol * scale)


def _steps(name, T):
    return {"half": (T + 1) // 2, "T": T}.get(name, name)


def _problem(rng, T, B, H, dtype, reset_after, step_mask, M):
    """Kernel arguments as the ops floor builds them, with the 'none' markers where unused."""
    z = rng.standard_normal((T, B, 3 * H)).astype(dtype)
    U = (rng.standard_normal((H, 3 * H)) * (0.9 / np.sqrt(H))).astype(dtype)
    rbias = (rng.standard_normal(H).astype(dtype) if reset_after else np.zeros(0, dtype))
    hs = np.empty((T + 1, B, H), dtype)
    hs[0] = rng.standard_normal((B, H))
    rmask = ((rng.random((M, B, H)) > 0.3) / 0.7).astype(dtype) if M else np.zeros((0, 0, 0),
                                                                                    dtype)
    smask = np.zeros((0, 0), np.uint8)
    if step_mask:
        smask = (rng.random((T, B)) > 0.4).astype(np.uint8)
        smask[:, 0] = 0  # one sequence fully masked
    return z, U, rbias, hs, rmask, smask


def _run_forward(module, z, U, rbias, hs, rmask, smask, reset_after, act, ract, n_threads):
    T, B, G = z.shape
    H = G // 3
    M = rmask.shape[0]
    z, hs = z.copy(), hs.copy()
    hr = np.empty((T, B, H), z.dtype)
    rec = np.empty((B, G), z.dtype) if reset_after else np.zeros((0, 0), z.dtype)
    hm = np.empty((M, T, B, H), z.dtype) if M else np.zeros((0, 0, 0, 0), z.dtype)
    module.forward(z, U, rbias, hs, hr, rec, rmask, hm, smask, reset_after, act, ract,
                   n_threads)
    return z, hs, hr, hm


def _run_backward(module, fwd, U, rmask, smask, steps, dhs, dh_T, reset_after, act, ract,
                  n_threads):
    gates, hs, hr, hm = fwd
    T, B, G = gates.shape
    dh = dh_T.copy()
    dz = np.full((T, B, G), 7.0, gates.dtype)  # sentinel: rows outside the window stay untouched
    dxh = (np.full((T, B, G // 3), 7.0, gates.dtype) if reset_after
           else np.zeros((0, 0, 0), gates.dtype))
    tmp = np.empty((B, G), gates.dtype)
    module.backward(dhs, gates, hs, hr, hm, U, rmask, smask, steps, dh, dz, dxh, tmp,
                    reset_after, act, ract, n_threads)
    return dz, dxh, dh


@pytest.mark.parametrize("n_threads", [1, 2, 3])
@pytest.mark.parametrize("option", list(OPTIONS))
@pytest.mark.parametrize("reset_after", [True, False], ids=["reset_after", "reset_before"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("T,B,H", SHAPES, ids=lambda s: str(s))
def test_kernel_matches_numpy_twin(rng, T, B, H, dtype, reset_after, option, n_threads):
    step_mask, M, steps, act, ract = OPTIONS[option]
    steps = _steps(steps, T)
    z, U, rbias, hs, rmask, smask = _problem(rng, T, B, H, dtype, reset_after, step_mask, M)
    args = (U, rbias, hs, rmask, smask, reset_after, act, ract, n_threads)

    fk = _run_forward(kernel, z, *args)
    ft = _run_forward(twin, z, *args)
    for a, b in zip(fk, ft):
        _close(a, b, dtype)
    np.testing.assert_array_equal(fk[1][0], hs[0])  # h0 is read, not written

    dhs = rng.standard_normal((T, B, H)).astype(dtype)
    dh_T = rng.standard_normal((B, H)).astype(dtype)
    bargs = (U, rmask, smask, steps, dhs, dh_T, reset_after, act, ract, n_threads)
    dzk, dxhk, dhk = _run_backward(kernel, fk, *bargs)
    dzt, dxht, dht = _run_backward(twin, ft, *bargs)
    window = slice(T - (T if steps == -1 else min(steps, T)), T)
    _close(dzk[window], dzt[window], dtype)
    _close(dhk, dht, dtype)
    if reset_after:
        _close(dxhk[window], dxht[window], dtype)
    # rows before the window are never written, and nothing reaches h0 from a cut window
    assert (dzk[:window.start] == 7).all()
    if window.start > 0:
        np.testing.assert_array_equal(dhk, 0)
    if step_mask:
        # a fully masked sequence keeps its state, and its gate gradients are zero
        np.testing.assert_array_equal(fk[1][:, 0], np.broadcast_to(hs[0, 0], (T + 1, H)))
        np.testing.assert_array_equal(dzk[window, 0], 0)


@pytest.mark.parametrize("reset_after", [True, False], ids=["reset_after", "reset_before"])
def test_thread_count_does_not_change_the_result(rng, reset_after):
    """Batch blocks never share a row: 1, 2 and 3 threads give bit-identical results."""
    T, B, H = 6, 11, 4
    z, U, rbias, hs, rmask, smask = _problem(rng, T, B, H, np.float64, reset_after, True, 3)
    dhs = rng.standard_normal((T, B, H))
    results = []
    for n in (1, 2, 3):
        fwd = _run_forward(kernel, z, U, rbias, hs, rmask, smask, reset_after, TANH, SIGMOID, n)
        bwd = _run_backward(kernel, fwd, U, rmask, smask, -1, dhs, np.zeros((B, H)),
                            reset_after, TANH, SIGMOID, n)
        results.append(fwd[:2] + bwd)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("reset_after", [True, False], ids=["reset_after", "reset_before"])
def test_nan_propagates(rng, reset_after):
    """A NaN in the input must reach the state (TerminateOnNaN relies on it)."""
    T, B, H = 3, 2, 4
    z, U, rbias, hs, rmask, smask = _problem(rng, T, B, H, np.float32, reset_after, False, 0)
    z[1, 0, 2 * H] = np.nan
    _, hs_out, _, _ = _run_forward(kernel, z, U, rbias, hs, rmask, smask, reset_after, TANH,
                                   SIGMOID, 1)
    assert np.isnan(hs_out[2, 0]).any() and np.isfinite(hs_out[:, 1]).all()


# float32 layers whose recurrent kernel the BLAS shim packs once per call (H = 24: products
# with 72 or 24 columns end in an 8-wide panel; H = 40: 120 and 40 columns)
@pytest.mark.parametrize("n_threads", [1, 2, 3])
@pytest.mark.parametrize("option", ["plain", "step-mask", "recdrop-shared", "recdrop-per-gate",
                                    "truncated-half"])
@pytest.mark.parametrize("reset_after", [True, False], ids=["reset_after", "reset_before"])
@pytest.mark.parametrize("T,B,H", [(4, 7, 24), (3, 5, 40)], ids=lambda s: str(s))
def test_kernel_matches_numpy_twin_with_a_packed_recurrent_kernel(rng, T, B, H, reset_after,
                                                                  option, n_threads):
    test_kernel_matches_numpy_twin(rng, T, B, H, np.float32, reset_after, option, n_threads)
