"""How close is close enough: every tolerance of the recurrent tests, by level and dtype.

DESIGN.md's numerics are the source: kernel vs NumPy twin ≤ 1e-12 relative in float64;
float32 vs Keras, outputs ≤ 1e-5 absolute and gradients ≤ 1e-4 relative; training from equal
weights ≤ 1e-3 relative. The helpers below apply them one way everywhere, so that a test
states only which level it checks.
"""
import numpy as np

# ---- level 1: compiled kernel vs its NumPy twin (same maths, other summation order) ---------
# float64: the two engines differ only by rounding in gemm blocking and the vectorised exp, a
# few ulps per step: 1e-12 leaves three orders of magnitude for T ≤ 10 steps.
# float32: the same ulps at 2^-24 ≈ 6e-8 grow over the steps and through backward's sums;
# 1e-5 bounds them for the tests' small problems, as for float32 outputs vs Keras.
TWIN = {np.dtype(np.float64): dict(rtol=1e-12, atol=1e-12),
        np.dtype(np.float32): dict(rtol=1e-5, atol=1e-5)}
# gradients are sums over T·B rows: their absolute error is scaled by 10
TWIN_GRAD_ATOL_FACTOR = 10

# ---- one engine, two ways of computing the same number (float64) -----------------------------
# e.g. a truncated backward against the backward of the last k steps run on their own: the
# same operations on the same values, up to the order of a few sums.
SAME_MATHS = dict(rtol=1e-12, atol=1e-12)

# the same function by another formula or loop (float64): seed 004's hand-written TBPTT loop,
# GRU reset_before with r ≡ 1 against reset_after. Products are regrouped and sums reordered
# over up to 12 steps, so rounding differs by more than a few ulps.
OTHER_FORMULA = dict(rtol=1e-10, atol=1e-12)

# float32, one engine, the same computation split differently (a sequence fed in chunks to a
# stateful layer; inverted-dropout multipliers 1/(1-rate) rounded to float32): a few ulps.
FLOAT32_SAME_MATHS = dict(rtol=1e-6, atol=1e-6)

# A result that must CHANGE (dropout on vs off, a non-zero initial state, the other GRU
# variant) differs by far more than any tolerance above: 1e-3 on O(1) values.
MEANINGFUL_DIFFERENCE = 1e-3

# ---- level 2: finite differences (float64) --------------------------------------------------
# Central differences with eps = 1e-6: truncation error O(eps²) ≈ 1e-12 times the third
# derivative, rounding error ≈ 1e-16·|loss|/eps ≈ 1e-10·|loss|. So 1e-6 relative, and an
# absolute floor of 1e-8 that grows with the gradient's largest entry (the loss, a sum of the
# outputs, grows with it).
FD_EPS = 1e-6
FD_RTOL = 1e-6
FD_ATOL = 1e-8
# layer-level checks (_layer_parity, _layer_grads) compare max error to the gradient's scale
FD_LAYER_TOL = 1e-6

# ---- level 3: rnncore vs Keras with identical weights (float32) -------------------------------
# Keras runs float32 gemms in another order (and TF's oneDNN kernels): outputs of tanh/sigmoid
# cells are O(1), so 1e-5 absolute is ~100 float32 ulps; gradients accumulate over T·B terms
# of either sign, so they are compared relative to their largest entry.
KERAS_OUTPUT_ATOL = 1e-5
KERAS_GRAD_RTOL = 1e-4
# below this scale a gradient counts as zero (truncated steps, an unused initial state)
KERAS_GRAD_FLOOR = 1e-6

# ---- float32 vs float64 of the same rnncore layer --------------------------------------------
# float32 rounding over a few steps of an O(1) recurrence: the float32-vs-Keras bound.
FLOAT32_VS_FLOAT64_ATOL = 1e-5

# ---- training: losses and weights after a few optimizer steps vs Keras ------------------------
# DESIGN.md asks 1e-3; the tests hold 1e-4, which a few float32 steps keep (a drift past it
# is a real difference in an update rule, not rounding).
TRAINING_RTOL = 1e-4


def rel_err(a, b):
    """Largest absolute difference relative to the largest entry of the reference `b`."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b), initial=0) / max(np.max(np.abs(b), initial=0), 1e-12))


def assert_twin_close(kernel, twin, dtype, name="", grad=False):
    """Kernel engine vs NumPy twin at the dtype's tolerance."""
    tol = dict(TWIN[np.dtype(dtype)])
    if grad:
        tol["atol"] *= TWIN_GRAD_ATOL_FACTOR
    np.testing.assert_allclose(kernel, twin, err_msg=name, **tol)


def assert_same_maths(actual, expected, name=""):
    np.testing.assert_allclose(actual, expected, err_msg=name, **SAME_MATHS)


def assert_finite_difference_close(analytic, numeric, name=""):
    atol = FD_ATOL * (1 + np.max(np.abs(numeric), initial=0))
    np.testing.assert_allclose(analytic, numeric, rtol=FD_RTOL, atol=atol,
                               err_msg=f"gradient w.r.t. {name}")


def assert_keras_outputs_close(ours, theirs, name="output"):
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape, (name, ours.shape, theirs.shape)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=KERAS_OUTPUT_ATOL, err_msg=name)


def assert_keras_grad_close(ours, theirs, name="gradient"):
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape, (name, ours.shape, theirs.shape)
    scale = max(np.max(np.abs(theirs), initial=0), KERAS_GRAD_FLOOR)
    err = np.max(np.abs(ours.astype(np.float64) - theirs), initial=0)
    assert err <= KERAS_GRAD_RTOL * scale, f"{name}: error {err:.3g} vs scale {scale:.3g}"
