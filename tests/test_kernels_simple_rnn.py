"""The compiled SimpleRNN kernel against its NumPy twin (``rnncore.reference.simple_rnn``)."""
import numpy as np
import pytest

from rnncore._kernels import _simple_rnn as kernel
from rnncore.reference import simple_rnn as twin

TANH, RELU = 0, 1
DTYPES = [np.float64, np.float32]
# (T, B, H): B = 7 divides by neither 2 nor 3; B = 1 and 2 have fewer rows than 3 threads
SHAPES = [(9, 7, 5), (1, 1, 1), (4, 2, 3)]
STEPS = ["all(-1)", "T", "half", "1"]


def _tol(dtype):
    return 1e-12 if dtype == np.float64 else 1e-5


def _close(actual, expected, dtype):
    tol = _tol(dtype)
    scale = 1 + np.abs(expected).max(initial=0)
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol * scale)


def _steps(name, T):
    return {"all(-1)": -1, "T": T, "half": (T + 1) // 2, "1": 1}[name]


def _problem(rng, T, B, H, dtype, step_mask, rec_mask):
    """Kernel arguments as the ops floor builds them, with the 'none' markers where unused."""
    z = rng.standard_normal((T, B, H)).astype(dtype)
    U = (rng.standard_normal((H, H)) * (0.9 / np.sqrt(H))).astype(dtype)
    hs = np.empty((T + 1, B, H), dtype)
    hs[0] = rng.standard_normal((B, H))
    if rec_mask:
        rmask = ((rng.random((B, H)) > 0.3) / 0.7).astype(dtype)
        hm = np.empty((T, B, H), dtype)
    else:
        rmask, hm = np.zeros((0, 0), dtype), np.zeros((0, 0, 0), dtype)
    if step_mask:
        smask = (rng.random((T, B)) > 0.4).astype(np.uint8)
        smask[:, 0] = 0  # one sequence fully masked
    else:
        smask = np.zeros((0, 0), np.uint8)
    return z, U, hs, rmask, hm, smask


def _run_forward(module, z, U, hs, rmask, hm, smask, act, n_threads):
    z, hs, hm = z.copy(), hs.copy(), hm.copy()
    module.forward(z, U, hs, rmask, hm, smask, act, n_threads)
    return z, hs, hm


def _run_backward(module, dhs, z, U, rmask, smask, steps, dh_T, act, n_threads):
    T, B, H = z.shape
    dh = dh_T.copy()
    dz = np.full((T, B, H), 7.0, z.dtype)  # sentinel: rows outside the window stay untouched
    tmp = np.empty((B, H), z.dtype) if rmask.shape[0] else np.zeros((0, 0), z.dtype)
    module.backward(dhs, z, U, rmask, smask, steps, dh, dz, tmp, act, n_threads)
    return dz, dh


@pytest.mark.parametrize("n_threads", [1, 2, 3])
@pytest.mark.parametrize("steps", STEPS)
@pytest.mark.parametrize("rec_mask", [False, True], ids=["no-recdrop", "recdrop"])
@pytest.mark.parametrize("step_mask", [False, True], ids=["no-mask", "mask"])
@pytest.mark.parametrize("act", [TANH, RELU], ids=["tanh", "relu"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("T,B,H", SHAPES, ids=lambda s: str(s))
def test_kernel_matches_numpy_twin(rng, T, B, H, dtype, act, step_mask, rec_mask, steps,
                                   n_threads):
    z, U, hs, rmask, hm, smask = _problem(rng, T, B, H, dtype, step_mask, rec_mask)

    zk, hsk, hmk = _run_forward(kernel, z, U, hs, rmask, hm, smask, act, n_threads)
    zt, hst, hmt = _run_forward(twin, z, U, hs, rmask, hm, smask, act, n_threads)
    _close(hsk, hst, dtype)
    _close(zk, zt, dtype)
    if rec_mask:
        _close(hmk, hmt, dtype)
    np.testing.assert_array_equal(hsk[0], hs[0])  # h0 is read, not written

    # backward from the twin's activations, so that both start from the same numbers
    k = _steps(steps, T)
    dhs = rng.standard_normal((T, B, H)).astype(dtype)
    dh_T = rng.standard_normal((B, H)).astype(dtype)
    dzk, dhk = _run_backward(kernel, dhs, zt, U, rmask, smask, k, dh_T, act, n_threads)
    dzt, dht = _run_backward(twin, dhs, zt, U, rmask, smask, k, dh_T, act, n_threads)
    window = T if k == -1 else k
    _close(dzk[T - window:], dzt[T - window:], dtype)
    _close(dhk, dht, dtype)
    np.testing.assert_array_equal(dzk[:T - window], 7.0)
    if window < T:
        np.testing.assert_array_equal(dhk, 0)  # truncated: nothing reaches h0


@pytest.mark.parametrize("n_threads", [1, 2, 3])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_masked_steps_carry_the_state_over(rng, dtype, n_threads):
    T, B, H = 5, 4, 3
    z, U, hs, rmask, hm, _ = _problem(rng, T, B, H, dtype, False, False)
    smask = np.ones((T, B), np.uint8)
    smask[:, 1] = 0          # sequence 1 entirely masked
    smask[2:, 3] = 0         # sequence 3 ends after two steps (post-padding)
    _, out, _ = _run_forward(kernel, z, U, hs, rmask, hm, smask, TANH, n_threads)
    for t in range(1, T + 1):
        np.testing.assert_array_equal(out[t, 1], hs[0, 1])
    for t in range(3, T + 1):
        np.testing.assert_array_equal(out[t, 3], out[2, 3])
    assert not np.allclose(out[T, 0], out[T - 1, 0])


@pytest.mark.parametrize("act", [TANH, RELU], ids=["tanh", "relu"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_nan_propagates_within_its_sequence_only(rng, dtype, act):
    """A NaN input poisons its own sequence (so TerminateOnNaN can see it), not its neighbours."""
    T, B, H = 4, 3, 5
    z, U, hs, rmask, hm, smask = _problem(rng, T, B, H, dtype, False, False)
    z[1, 2, 0] = np.nan
    _, out, _ = _run_forward(kernel, z, U, hs, rmask, hm, smask, act, 2)
    assert np.isnan(out[2:, 2]).any(axis=-1).all()
    assert np.isfinite(out[:, :2]).all()


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_tanh_saturates_without_overflow(dtype):
    T, B, H = 2, 2, 4
    z = np.array([1e4, -1e4, 90.0, -90.0] * (T * B), dtype).reshape(T, B, H)
    U = np.zeros((H, H), dtype)
    hs = np.zeros((T + 1, B, H), dtype)
    kernel.forward(z, U, hs, np.zeros((0, 0), dtype), np.zeros((0, 0, 0), dtype),
                   np.zeros((0, 0), np.uint8), TANH, 1)
    np.testing.assert_array_equal(hs[1:], np.sign(z))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_backward_window_cost_does_not_touch_earlier_steps(rng, dtype):
    """With steps = k the gradient of the last k steps equals a run over those steps alone."""
    T, B, H, k = 8, 3, 4, 3
    z, U, hs, rmask, hm, smask = _problem(rng, T, B, H, dtype, False, False)
    zt, _, _ = _run_forward(twin, z, U, hs, rmask, hm, smask, TANH, 1)
    dhs = rng.standard_normal((T, B, H)).astype(dtype)
    dh_T = rng.standard_normal((B, H)).astype(dtype)
    dz, dh = _run_backward(kernel, dhs, zt, U, rmask, smask, k, dh_T, TANH, 1)
    # the last k steps run on their own, with everything before them cut off
    dz_tail, _ = _run_backward(kernel, np.ascontiguousarray(dhs[T - k:]),
                               np.ascontiguousarray(zt[T - k:]), U, rmask, smask, -1, dh_T,
                               TANH, 1)
    _close(dz[T - k:], dz_tail, dtype)
    np.testing.assert_array_equal(dh, 0)


# float32 layers whose recurrent kernel the BLAS shim packs once per call: H = 40 (panels of
# 16, 16 and 8 columns) and 48
@pytest.mark.parametrize("n_threads", [1, 2, 3])
@pytest.mark.parametrize("rec_mask", [False, True], ids=["no-recdrop", "recdrop"])
@pytest.mark.parametrize("step_mask", [False, True], ids=["no-mask", "mask"])
@pytest.mark.parametrize("T,B,H", [(4, 7, 40), (3, 5, 48)], ids=lambda s: str(s))
def test_kernel_matches_numpy_twin_with_a_packed_recurrent_kernel(rng, T, B, H, step_mask,
                                                                  rec_mask, n_threads):
    test_kernel_matches_numpy_twin(rng, T, B, H, np.float32, TANH, step_mask, rec_mask, "half",
                                   n_threads)
