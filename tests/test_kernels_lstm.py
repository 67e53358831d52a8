"""The compiled LSTM kernel against its NumPy twin (``rnncore.reference.lstm``)."""
import numpy as np
import pytest

from rnncore._kernels import _lstm as kernel
from rnncore.reference import lstm as twin

TANH, RELU, SIGMOID, LINEAR, HARD_SIGMOID = 0, 1, 2, 3, 4
DTYPES = [np.float64, np.float32]
# (T, B, H): B = 7 divides by neither 2 nor 3; B = 1 and 2 have fewer rows than 3 threads
# H = 19: two whole 8-unit vectors and a tail in the vectorised rows
SHAPES = [(9, 7, 5), (1, 1, 1), (4, 2, 3), (5, 4, 19)]
STEPS = ["all(-1)", "half", "1"]
# (activation, recurrent_activation)
ACTS = {"tanh/sigmoid": (TANH, SIGMOID), "relu/hard_sigmoid": (RELU, HARD_SIGMOID),
        "linear/tanh": (LINEAR, TANH)}
# (n_threads, unit_blocks): batch blocks, or hidden-unit blocks with a barrier per step;
# H = 1 and 3 leave a thread of 3 with one unit or none
THREADS = {"1-thread": (1, False), "2-batch-blocks": (2, False), "3-batch-blocks": (3, False),
           "2-unit-blocks": (2, True), "3-unit-blocks": (3, True)}


def _close(actual, expected, dtype):
    tol = 1e-12 if dtype == np.float64 else 1e-5
    scale = 1 + np.abs(expected).max(initial=0)
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol * scale)


def _steps(name, T):
    return {"all(-1)": -1, "half": (T + 1) // 2, "1": 1}[name]


def _problem(rng, T, B, H, dtype, step_mask, rec_masks):
    """Kernel arguments as the ops floor builds them, with the 'none' markers where unused."""
    z = rng.standard_normal((T, B, 4 * H)).astype(dtype)
    U = (rng.standard_normal((H, 4 * H)) * (0.5 / np.sqrt(H))).astype(dtype)
    hs = np.empty((T + 1, B, H), dtype)
    cs = np.empty((T + 1, B, H), dtype)
    hs[0] = rng.standard_normal((B, H))
    cs[0] = rng.standard_normal((B, H))
    if rec_masks:
        rmask = ((rng.random((rec_masks, B, H)) > 0.3) / 0.7).astype(dtype)
        hm = np.empty((rec_masks, T, B, H), dtype)
    else:
        rmask, hm = np.zeros((0, 0, 0), dtype), np.zeros((0, 0, 0, 0), dtype)
    if step_mask:
        smask = (rng.random((T, B)) > 0.4).astype(np.uint8)
        smask[:, 0] = 0  # one sequence fully masked
    else:
        smask = np.zeros((0, 0), np.uint8)
    return z, U, hs, cs, rmask, hm, smask


def _run_forward(module, z, U, hs, cs, rmask, hm, smask, acts, threads):
    z, hs, cs, hm = z.copy(), hs.copy(), cs.copy(), hm.copy()
    tc = np.empty(z.shape[:2] + (U.shape[0],), z.dtype)
    module.forward(z, U, hs, cs, tc, rmask, hm, smask, *acts, *THREADS[threads])
    return z, hs, cs, tc, hm


def _run_backward(module, dhs, z, cs, tc, U, rmask, smask, steps, dh_T, dc_T, acts, threads):
    T, B, G4 = z.shape
    dh, dc = dh_T.copy(), dc_T.copy()
    dz = np.full((T, B, G4), 7.0, z.dtype)  # sentinel: rows outside the window stay untouched
    tmp = np.empty((2, B, G4 // 4), z.dtype)
    module.backward(dhs, z, cs, tc, U, rmask, smask, steps, dh, dc, dz, tmp, *acts,
                    *THREADS[threads])
    return dz, dh, dc


@pytest.mark.parametrize("threads", list(THREADS))
@pytest.mark.parametrize("steps", STEPS)
@pytest.mark.parametrize("rec_masks", [0, 1, 4], ids=["no-recdrop", "recdrop", "recdrop-gates"])
@pytest.mark.parametrize("step_mask", [False, True], ids=["no-mask", "mask"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("T,B,H", SHAPES, ids=lambda s: str(s))
def test_kernel_matches_numpy_twin(rng, T, B, H, dtype, step_mask, rec_masks, steps, threads):
    _check_against_twin(rng, T, B, H, dtype, ACTS["tanh/sigmoid"], step_mask, rec_masks, steps,
                        threads)


@pytest.mark.parametrize("acts", [a for a in ACTS if a != "tanh/sigmoid"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("T,B,H", SHAPES, ids=lambda s: str(s))
def test_kernel_matches_numpy_twin_other_activations(rng, T, B, H, dtype, acts):
    for threads in ("3-batch-blocks", "3-unit-blocks"):
        _check_against_twin(rng, T, B, H, dtype, ACTS[acts], True, 4, "half", threads)


def _check_against_twin(rng, T, B, H, dtype, acts, step_mask, rec_masks, steps, threads):
    z, U, hs, cs, rmask, hm, smask = _problem(rng, T, B, H, dtype, step_mask, rec_masks)

    zk, hsk, csk, tck, hmk = _run_forward(kernel, z, U, hs, cs, rmask, hm, smask, acts, threads)
    zt, hst, cst, tct, hmt = _run_forward(twin, z, U, hs, cs, rmask, hm, smask, acts, threads)
    for got, want in ((hsk, hst), (csk, cst), (zk, zt), (tck, tct)):
        _close(got, want, dtype)
    if rec_masks:
        _close(hmk, hmt, dtype)
    np.testing.assert_array_equal(hsk[0], hs[0])  # h0 and c0 are read, not written
    np.testing.assert_array_equal(csk[0], cs[0])

    # backward from the twin's forward arrays, so that both start from the same numbers
    k = _steps(steps, T)
    dhs = rng.standard_normal((T, B, H)).astype(dtype)
    dh_T = rng.standard_normal((B, H)).astype(dtype)
    dc_T = rng.standard_normal((B, H)).astype(dtype)
    args = (zt, cst, tct, U, rmask, smask, k, dh_T, dc_T, acts, threads)
    dzk, dhk, dck = _run_backward(kernel, dhs, *args)
    dzt, dht, dct = _run_backward(twin, dhs, *args)
    window = T if k == -1 else k
    _close(dzk[T - window:], dzt[T - window:], dtype)
    _close(dhk, dht, dtype)
    _close(dck, dct, dtype)
    np.testing.assert_array_equal(dzk[:T - window], 7.0)
    if window < T:
        np.testing.assert_array_equal(dhk, 0)  # truncated: nothing reaches h0 or c0
        np.testing.assert_array_equal(dck, 0)


@pytest.mark.parametrize("threads", ["1-thread", "2-batch-blocks", "2-unit-blocks"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_masked_steps_carry_both_states_and_gradients(rng, dtype, threads):
    T, B, H = 5, 4, 3
    z, U, hs, cs, rmask, hm, _ = _problem(rng, T, B, H, dtype, False, 0)
    smask = np.ones((T, B), np.uint8)
    smask[:, 1] = 0          # sequence 1 entirely masked
    smask[2:, 3] = 0         # sequence 3 ends after two steps (post-padding)
    acts = ACTS["tanh/sigmoid"]
    zk, h, c, tc, _ = _run_forward(kernel, z, U, hs, cs, rmask, hm, smask, acts, threads)
    for t in range(1, T + 1):
        np.testing.assert_array_equal(h[t, 1], hs[0, 1])
        np.testing.assert_array_equal(c[t, 1], cs[0, 1])
    for t in range(3, T + 1):
        np.testing.assert_array_equal(h[t, 3], h[2, 3])
        np.testing.assert_array_equal(c[t, 3], c[2, 3])
    assert not np.allclose(h[T, 0], h[T - 1, 0])

    dhs = np.zeros((T, B, H), dtype)
    dh_T, dc_T = np.ones((B, H), dtype), np.full((B, H), 2.0, dtype)
    dz, dh, dc = _run_backward(kernel, dhs, zk, c, tc, U, rmask, smask, -1, dh_T, dc_T, acts,
                               threads)
    np.testing.assert_array_equal(dz[:, 1], 0)
    np.testing.assert_array_equal(dh[1], dh_T[1])     # passed through untouched
    np.testing.assert_array_equal(dc[1], dc_T[1])


@pytest.mark.parametrize("H", [5, 16], ids=["units5", "units16-vector-rows"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_nan_propagates_within_its_sequence_only(rng, dtype, H):
    """A NaN input poisons its own sequence (so TerminateOnNaN can see it), not its neighbours."""
    T, B = 4, 3
    z, U, hs, cs, rmask, hm, smask = _problem(rng, T, B, H, dtype, False, 0)
    z[1, 2, 0] = np.nan
    _, h, c, _, _ = _run_forward(kernel, z, U, hs, cs, rmask, hm, smask, ACTS["tanh/sigmoid"],
                                 "2-batch-blocks")
    assert np.isnan(h[2:, 2]).any(axis=-1).all()
    assert np.isnan(c[2:, 2]).any(axis=-1).all()
    assert np.isfinite(h[:, :2]).all()


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_saturated_gates_stay_finite(dtype):
    """Huge pre-activations saturate sigmoid to 0/1 and tanh to ±1 without overflow."""
    T, B, H = 2, 2, 2
    z = np.tile(np.array([1e4, 1e4, 1e4, -1e4, -1e4, 90.0, 90.0, 1e4], dtype), (T, B, 1))
    U = np.zeros((H, 4 * H), dtype)
    hs = np.zeros((T + 1, B, H), dtype)
    cs = np.zeros((T + 1, B, H), dtype)
    tc = np.empty((T, B, H), dtype)
    kernel.forward(z, U, hs, cs, tc, np.zeros((0, 0, 0), dtype), np.zeros((0, 0, 0, 0), dtype),
                   np.zeros((0, 0), np.uint8), TANH, SIGMOID, 1)
    # i = 1, f = (1, 0), g = (-1, 1), o = 1: c_1 = g, c_2 = (c_1[0] - 1, 1)
    np.testing.assert_allclose(cs[1], [[-1, 1]] * B, atol=1e-6)
    np.testing.assert_allclose(cs[2], [[-2, 1]] * B, atol=1e-6)
    np.testing.assert_allclose(hs[2], np.tanh(cs[2]), atol=1e-6)


# float32 layers whose recurrent kernel the BLAS shim packs once per call: H = 32 (every
# product packed, 16 units a thread with two unit blocks; three leave 10 or 11, unpacked) and
# H = 24 (Uᵀ's 24 columns end in an 8-wide panel)
PACKED_SHAPES = [(4, 7, 32), (3, 5, 24)]


@pytest.mark.parametrize("threads", list(THREADS))
@pytest.mark.parametrize("rec_masks", [0, 1, 4], ids=["no-recdrop", "recdrop", "recdrop-gates"])
@pytest.mark.parametrize("step_mask", [False, True], ids=["no-mask", "mask"])
@pytest.mark.parametrize("T,B,H", PACKED_SHAPES, ids=lambda s: str(s))
def test_kernel_matches_numpy_twin_with_a_packed_recurrent_kernel(rng, T, B, H, step_mask,
                                                                  rec_masks, threads):
    _check_against_twin(rng, T, B, H, np.float32, ACTS["tanh/sigmoid"], step_mask, rec_masks,
                        "half", threads)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_hard_sigmoid_at_its_corners_as_keras(tf, dtype):
    # relu6(x + 3) / 6 gives exactly 0 and 1 at x = -3 and 3, where the gradient is 0; a fused
    # x / 6 + 0.5 left 2.7e-17 at -3 in float64 and a gradient of 1/6
    from rnncore import ops

    x = np.array([[[1.0, -2.0]]], dtype)
    W = np.zeros((2, 8), dtype)
    W[:, 2] = [-1, 1]  # the forget gate's pre-activation: -3 (and 3 for the second unit)
    W[:, 3] = [1, -1]
    U = np.zeros((2, 8), dtype)
    grads = []
    for engine in ("kernel", "numpy"):
        y, _, cache = ops.lstm_forward(x, W, U, recurrent_activation="hard_sigmoid",
                                       initial_state=[np.zeros((1, 2), dtype),
                                                      np.ones((1, 2), dtype)], engine=engine)
        grads.append(ops.lstm_backward(cache, np.ones_like(y))["kernel"])
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12 if dtype == np.float64 else 1e-5)
    z = tf.constant([-3.0, 3.0], dtype)
    with tf.GradientTape() as tape:
        tape.watch(z)
        out = tf.nn.relu6(z + 3) / 6
    assert np.all(tape.gradient(out, z).numpy() == 0)
    np.testing.assert_array_equal(grads[0][:, 2:4], 0)
