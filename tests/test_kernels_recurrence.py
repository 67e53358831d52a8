"""The recurrence driver (``rnncore._kernels._recurrence``) against its NumPy twin
(``rnncore.reference.recurrence``), for every cell through the one contract."""
import numpy as np
import pytest

from rnncore._kernels import _recurrence as kernel
from rnncore.reference import recurrence as twin

from _tolerance import TWIN

TANH, RELU, SIGMOID, LINEAR, HARD_SIGMOID = 0, 1, 2, 3, 4
SIMPLE, LSTM, GRU, GRU_BEFORE = (kernel.CELLS[c] for c in ("simple", "lstm", "gru",
                                                           "gru_before"))
# cell name: (cell, activation, recurrent_activation) with Keras's defaults
CELLS = {"simple-tanh": (SIMPLE, TANH, SIGMOID), "simple-relu": (SIMPLE, RELU, SIGMOID),
         "lstm": (LSTM, TANH, SIGMOID), "gru": (GRU, TANH, SIGMOID),
         "gru-before": (GRU_BEFORE, TANH, SIGMOID)}
# other activations, (activation, recurrent_activation): the generic passes of every cell
OTHER_ACTS = {"relu/hard_sigmoid": (RELU, HARD_SIGMOID), "linear/tanh": (LINEAR, TANH),
              "linear/sigmoid": (LINEAR, SIGMOID), "sigmoid/tanh": (SIGMOID, TANH)}
DTYPES = [np.float64, np.float32]
# (T, B, H): B = 7 divides by neither 2 nor 3; B = 1 and 2 have fewer rows than 3 threads;
# H = 19: two whole 8-unit vectors and a tail in the vectorised rows; H = 1 and 3 leave a
# thread of 3 unit blocks with one unit or none
SHAPES = [(9, 7, 5), (1, 1, 1), (4, 2, 3), (5, 4, 19)]
# float32 layers whose recurrent kernel the BLAS shim packs once per call: H = 32 (16 units a
# thread with two unit blocks; three leave 10 or 11, unpacked), H = 24 (Uᵀ's columns end in an
# 8-wide panel), H = 40 (panels of 16, 16 and 8 columns)
PACKED_SHAPES = [(4, 7, 32), (3, 5, 24), (3, 5, 40)]
STEPS = ["all(-1)", "half", "1", "T"]
# (n_threads, unit_blocks): batch blocks, or hidden-unit blocks meeting once per step
THREADS = {"1-thread": (1, False), "2-batch-blocks": (2, False), "3-batch-blocks": (3, False),
           "2-unit-blocks": (2, True), "3-unit-blocks": (3, True)}
SENTINEL = 7.0  # dz rows outside the BPTT window must keep it


def _close(actual, expected, dtype):
    """Kernel vs twin at the dtype's tolerance (_tolerance.TWIN), the absolute part scaled by
    the values' size: states, gates and their gradients over a few steps range up to ~10."""
    tol = TWIN[np.dtype(dtype)]
    scale = 1 + np.abs(expected).max(initial=0)
    np.testing.assert_allclose(actual, expected, rtol=tol["rtol"], atol=tol["atol"] * scale)


def _gates(cell):
    return kernel.GATES[cell]


def _steps(name, T):
    return {"all(-1)": -1, "half": (T + 1) // 2, "1": 1, "T": T}[name]


class Problem:
    """Kernel arguments as the ops floor builds them, with the 'none' markers where unused."""

    def __init__(self, rng, cell, T, B, H, dtype, step_mask=False, rec_masks=0):
        G, S = _gates(cell), kernel.STATES[cell]
        self.cell, self.dtype = cell, dtype
        self.z = rng.standard_normal((T, B, G * H)).astype(dtype)
        self.U = (rng.standard_normal((H, G * H)) * (0.7 / np.sqrt(H))).astype(dtype)
        self.rbias = (rng.standard_normal(H).astype(dtype) if cell == GRU
                      else np.zeros(0, dtype))
        self.states = np.empty((S, T + 1, B, H), dtype)
        self.states[:, 0] = rng.standard_normal((S, B, H))
        self.aux = np.empty((T, B, H), dtype) if cell != SIMPLE else np.zeros((0, 0, 0), dtype)
        if rec_masks:
            self.rec_mask = ((rng.random((rec_masks, B, H)) > 0.3) / 0.7).astype(dtype)
            self.hm = np.empty((rec_masks, T, B, H), dtype)
        else:
            self.rec_mask = np.zeros((0, 0, 0), dtype)
            self.hm = np.zeros((0, 0, 0, 0), dtype)
        self.step_mask = np.zeros((0, 0), np.uint8)
        if step_mask:
            self.step_mask = (rng.random((T, B)) > 0.4).astype(np.uint8)
            self.step_mask[:, 0] = 0  # one sequence fully masked

    def forward(self, module, acts, threads):
        """Run forward on copies; returns (z, states, aux, hm) after the call."""
        z, states, aux, hm = (a.copy() for a in (self.z, self.states, self.aux, self.hm))
        scratch = np.empty((z.shape[1], z.shape[2]), self.dtype)
        module.forward(self.cell, z, self.U, self.rbias, states, aux, self.rec_mask, hm,
                       self.step_mask, scratch, *acts, *THREADS[threads])
        return z, states, aux, hm

    def backward(self, module, fwd, acts, threads, dhs, steps, dstates_T):
        """Backward from forward's arrays `fwd`; returns (dz, dstates, daux)."""
        z, states, aux, hm = fwd
        T, B, GH = z.shape
        dstates = dstates_T.copy()
        dz = np.full((T, B, GH), SENTINEL, self.dtype)
        daux = (np.full((T, B, GH // 3), SENTINEL, self.dtype) if self.cell == GRU
                else np.zeros((0, 0, 0), self.dtype))
        scratch = np.empty((B, GH), self.dtype)
        module.backward(self.cell, z, self.U, self.rbias, states, aux, self.rec_mask, hm,
                        self.step_mask, scratch, *acts, *THREADS[threads], dhs, steps, dstates,
                        dz, daux)
        return dz, dstates, daux


def _check_against_twin(rng, cell, T, B, H, dtype, acts, step_mask, rec_masks, steps, threads):
    p = Problem(rng, cell, T, B, H, dtype, step_mask, rec_masks)
    got = p.forward(kernel, acts, threads)
    want = p.forward(twin, acts, threads)
    for a, b in zip(got[:3], want[:3]):   # z, states, aux
        _close(a, b, dtype)
    if rec_masks:
        _close(got[3], want[3], dtype)
    np.testing.assert_array_equal(got[1][:, 0], p.states[:, 0])  # initial states are read only

    # backward from the twin's forward arrays, so that both start from the same numbers
    k = _steps(steps, T)
    S = p.states.shape[0]
    dhs = rng.standard_normal((T, B, H)).astype(dtype)
    dstates_T = rng.standard_normal((S, B, H)).astype(dtype)
    dzk, dsk, dxk = p.backward(kernel, want, acts, threads, dhs, k, dstates_T)
    dzt, dst, dxt = p.backward(twin, want, acts, threads, dhs, k, dstates_T)
    window = T if k == -1 else min(k, T)
    _close(dzk[T - window:], dzt[T - window:], dtype)
    _close(dsk, dst, dtype)
    np.testing.assert_array_equal(dzk[:T - window], SENTINEL)
    if cell == GRU:
        _close(dxk[T - window:], dxt[T - window:], dtype)
    if window < T:
        np.testing.assert_array_equal(dsk, 0)  # truncated: nothing reaches the initial states


# (cell, recurrent dropout masks): none, one shared by the gates, or one per gate (SimpleRNN
# has one gate, so its one mask is both)
CELL_MASKS = [pytest.param(name, m, id=f"{name}-{m or 'no'}-recdrop")
              for name, (cell, _, _) in CELLS.items()
              for m in ((0, 1) if cell == SIMPLE else (0, 1, kernel.GATES[cell]))]


@pytest.mark.parametrize("threads", list(THREADS))
@pytest.mark.parametrize("steps", STEPS)
@pytest.mark.parametrize("step_mask", [False, True], ids=["no-mask", "mask"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("T,B,H", SHAPES, ids=lambda s: str(s))
@pytest.mark.parametrize("cell,rec_masks", CELL_MASKS)
def test_kernel_matches_numpy_twin(rng, cell, rec_masks, T, B, H, dtype, step_mask, steps,
                                   threads):
    cell, act, ract = CELLS[cell]
    _check_against_twin(rng, cell, T, B, H, dtype, (act, ract), step_mask, rec_masks, steps,
                        threads)


@pytest.mark.parametrize("acts", list(OTHER_ACTS))
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("T,B,H", SHAPES, ids=lambda s: str(s))
@pytest.mark.parametrize("cell", [SIMPLE, LSTM, GRU, GRU_BEFORE],
                         ids=["simple", "lstm", "gru", "gru-before"])
def test_kernel_matches_numpy_twin_other_activations(rng, cell, T, B, H, dtype, acts):
    act, ract = OTHER_ACTS[acts]
    if cell == SIMPLE and act not in (TANH, RELU):
        act = RELU
    for threads in ("3-batch-blocks", "3-unit-blocks"):
        _check_against_twin(rng, cell, T, B, H, dtype, (act, ract), True, _gates(cell), "half",
                            threads)


@pytest.mark.parametrize("threads", list(THREADS))
@pytest.mark.parametrize("step_mask", [False, True], ids=["no-mask", "mask"])
@pytest.mark.parametrize("T,B,H", PACKED_SHAPES, ids=lambda s: str(s))
@pytest.mark.parametrize("cell,rec_masks", CELL_MASKS)
def test_kernel_matches_numpy_twin_with_a_packed_recurrent_kernel(rng, cell, rec_masks, T, B, H,
                                                                  step_mask, threads):
    cell, act, ract = CELLS[cell]
    _check_against_twin(rng, cell, T, B, H, np.float32, (act, ract), step_mask, rec_masks, "half",
                        threads)


@pytest.mark.parametrize("threads", ["1-thread", "2-batch-blocks", "2-unit-blocks"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("cell", list(CELLS))
def test_masked_steps_carry_the_states_and_their_gradients(rng, cell, dtype, threads):
    cell, act, ract = CELLS[cell]
    T, B, H = 5, 4, 3
    p = Problem(rng, cell, T, B, H, dtype)
    p.step_mask = np.ones((T, B), np.uint8)
    p.step_mask[:, 1] = 0          # sequence 1 entirely masked
    p.step_mask[2:, 3] = 0         # sequence 3 ends after two steps (post-padding)
    fwd = p.forward(kernel, (act, ract), threads)
    states = fwd[1]
    for t in range(1, T + 1):
        np.testing.assert_array_equal(states[:, t, 1], p.states[:, 0, 1])
    for t in range(3, T + 1):
        np.testing.assert_array_equal(states[:, t, 3], states[:, 2, 3])
    assert not np.allclose(states[0, T, 0], states[0, T - 1, 0])

    S = states.shape[0]
    dstates_T = np.arange(1, S + 1, dtype=dtype)[:, None, None] * np.ones((S, B, H), dtype)
    dz, dstates, _ = p.backward(kernel, fwd, (act, ract), threads, np.zeros((T, B, H), dtype),
                                -1, dstates_T)
    np.testing.assert_array_equal(dz[:, 1], 0)
    np.testing.assert_array_equal(dstates[:, 1], dstates_T[:, 1])  # passed through untouched


@pytest.mark.parametrize("H", [5, 16], ids=["units5", "units16-vector-rows"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("cell", list(CELLS))
def test_nan_propagates_within_its_sequence_only(rng, cell, dtype, H):
    """A NaN input poisons its own sequence (so TerminateOnNaN can see it), not its neighbours."""
    cell, act, ract = CELLS[cell]
    T, B = 4, 3
    p = Problem(rng, cell, T, B, H, dtype)
    p.z[1, 2, 0] = np.nan
    states = p.forward(kernel, (act, ract), "2-batch-blocks")[1]
    assert np.isnan(states[0, 2:, 2]).any(axis=-1).all()
    assert np.isfinite(states[:, :, :2]).all()


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_tanh_saturates_without_overflow(dtype):
    T, B, H = 2, 2, 4
    p = Problem(np.random.default_rng(0), SIMPLE, T, B, H, dtype)
    p.z = np.array([1e4, -1e4, 90.0, -90.0] * (T * B), dtype).reshape(T, B, H)
    p.U[...] = 0
    p.states[...] = 0
    states = p.forward(kernel, (TANH, SIGMOID), "1-thread")[1]
    np.testing.assert_array_equal(states[0, 1:], np.sign(p.z))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_saturated_lstm_gates_stay_finite(dtype):
    """Huge pre-activations saturate sigmoid to 0/1 and tanh to ±1 without overflow."""
    T, B, H = 2, 2, 2
    p = Problem(np.random.default_rng(0), LSTM, T, B, H, dtype)
    p.z = np.tile(np.array([1e4, 1e4, 1e4, -1e4, -1e4, 90.0, 90.0, 1e4], dtype), (T, B, 1))
    p.U[...] = 0
    p.states[...] = 0
    h, c = p.forward(kernel, (TANH, SIGMOID), "1-thread")[1]
    # i = 1, f = (1, 0), g = (-1, 1), o = 1: c_1 = g, c_2 = (c_1[0] - 1, 1)
    np.testing.assert_allclose(c[1], [[-1, 1]] * B, atol=1e-6)
    np.testing.assert_allclose(c[2], [[-2, 1]] * B, atol=1e-6)
    np.testing.assert_allclose(h[2], np.tanh(c[2]), atol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("cell", list(CELLS))
def test_a_truncated_window_equals_a_run_over_its_steps_alone(rng, cell, dtype):
    """With steps = k the gradient of the last k steps equals a run over those steps alone."""
    cell, act, ract = CELLS[cell]
    T, B, H, k = 8, 3, 4, 3
    p = Problem(rng, cell, T, B, H, dtype)
    fwd = p.forward(twin, (act, ract), "1-thread")
    S = p.states.shape[0]
    dhs = rng.standard_normal((T, B, H)).astype(dtype)
    dstates_T = rng.standard_normal((S, B, H)).astype(dtype)
    dz, dstates, _ = p.backward(kernel, fwd, (act, ract), "1-thread", dhs, k, dstates_T)
    tail = Problem(rng, cell, k, B, H, dtype)
    tail.U, tail.rbias = p.U, p.rbias
    tail_fwd = tuple(np.ascontiguousarray(a) for a in (
        fwd[0][T - k:], fwd[1][:, T - k:], fwd[2][T - k:] if fwd[2].size else fwd[2], fwd[3]))
    dz_tail, _, _ = tail.backward(kernel, tail_fwd, (act, ract), "1-thread",
                                  np.ascontiguousarray(dhs[T - k:]), -1, dstates_T)
    _close(dz[T - k:], dz_tail, dtype)
    np.testing.assert_array_equal(dstates, 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_hard_sigmoid_at_its_corners_as_keras(tf, dtype):
    # relu6(x + 3) / 6 gives exactly 0 and 1 at x = -3 and 3, where the gradient is 0; a fused
    # x / 6 + 0.5 left 2.7e-17 at -3 in float64 and a gradient of 1/6
    from rnncore import recurrent

    x = np.array([[[1.0, -2.0]]], dtype)
    W = np.zeros((2, 8), dtype)
    W[:, 2] = [-1, 1]  # the forget gate's pre-activation: -3 (and 3 for the second unit)
    W[:, 3] = [1, -1]
    U = np.zeros((2, 8), dtype)
    grads = []
    for engine in ("kernel", "numpy"):
        y, _, cache = recurrent.lstm_forward(x, W, U, recurrent_activation="hard_sigmoid",
                                       initial_state=[np.zeros((1, 2), dtype),
                                                      np.ones((1, 2), dtype)], engine=engine)
        grads.append(recurrent.lstm_backward(cache, np.ones_like(y))["kernel"])
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12 if dtype == np.float64 else 1e-5)
    z = tf.constant([-3.0, 3.0], dtype)
    with tf.GradientTape() as tape:
        tape.watch(z)
        out = tf.nn.relu6(z + 3) / 6
    assert np.all(tape.gradient(out, z).numpy() == 0)
    np.testing.assert_array_equal(grads[0][:, 2:4], 0)
