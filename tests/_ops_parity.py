"""How an op of ``rnncore.ops`` is checked against ``keras.ops``: a case is a function
``f(K, *xs)`` written once with the ops module ``K`` and the shapes of its inputs; the same
random inputs go to rnncore (recorded) and to Keras (under TensorFlow's ``GradientTape``), and
the values, dtypes and gradients are compared, rnncore's gradient also with finite
differences (float64). ``test_ops.py`` and the later op test files share these."""
import numpy as np
import pytest

from rnncore import ops
from rnncore.ops._tape import Tensor, backward, recording


def draw_inputs(shapes, seed, dtype="float64"):
    """Normal inputs of `shapes`, drawn away from 0 and ±0.5 (the kinks of relu, abs, clip),
    so that finite differences see a smooth function."""
    rng = np.random.default_rng(seed)
    xs = []
    for shape in shapes:
        x = rng.normal(size=shape)
        x = np.where(np.abs(x) < 0.15, x + 0.3, x)
        x = np.where(np.abs(np.abs(x) - 0.5) < 0.05, x + 0.12, x)
        xs.append(x.astype(dtype))
    return xs


def run_recorded(f, xs, seed=None):
    """``f(rnncore.ops, *xs)`` recorded, and the gradients of ``sum(seed * f)`` (seed: ones
    when None) with respect to each input (None where none reached it)."""
    with recording():
        ts = [Tensor(x) for x in xs]
        y = f(ops, *ts)
        w = np.ones(np.shape(y.value)) if seed is None else seed
        g = backward([y], [w.astype(y.dtype)])
    return y.value, [g.of(t) for t in ts]


def assert_gradient_matches_finite_differences(f, xs, eps=1e-6):
    y = np.asarray(f(ops, *xs))
    w = np.random.default_rng(7).normal(size=y.shape)
    _, grads = run_recorded(f, xs, w)
    for k, x in enumerate(xs):
        numeric = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            hi, lo = [v.copy() for v in xs], [v.copy() for v in xs]
            hi[k][i] += eps
            lo[k][i] -= eps
            diff = np.asarray(f(ops, *hi)) - np.asarray(f(ops, *lo))
            numeric[i] = np.sum(w * diff) / (2 * eps)
        got = np.zeros_like(x) if grads[k] is None else grads[k]
        np.testing.assert_allclose(got, numeric, rtol=1e-6, atol=1e-8, err_msg=f"input {k}")


def assert_matches_keras_under_tape(f, xs, keras, tf):
    """Value, dtype and gradients of `f` on float32 inputs `xs`, rnncore against Keras."""
    variables = [tf.Variable(x) for x in xs]
    with tf.GradientTape() as tape:
        theirs = f(keras.ops, *variables)
        w = np.random.default_rng(7).normal(size=theirs.shape).astype("float32")
        objective = tf.reduce_sum(theirs * w)
    their_grads = tape.gradient(objective, variables)
    y, grads = run_recorded(f, xs, w)
    np.testing.assert_allclose(y, theirs.numpy(), rtol=1e-5, atol=1e-6)
    assert y.dtype == theirs.numpy().dtype
    for k, (mine, ref) in enumerate(zip(grads, their_grads)):
        if ref is None:
            assert mine is None or not np.any(mine), f"input {k}"
            continue
        ref = tf.convert_to_tensor(ref).numpy()
        np.testing.assert_allclose(mine, ref, rtol=1e-4, atol=1e-5, err_msg=f"input {k}")


def parity_tests(cases, skip_finite_differences=(), skip_keras=(), keras_inputs=None):
    """The two parity tests of a CASES dict (``name: (f, shapes)``), to assign at module level
    under their own names so that pytest collects them::

        (test_gradient_matches_finite_differences,
         test_value_and_gradient_match_keras_under_gradient_tape) = parity_tests(CASES)

    A case's inputs are drawn with its rank in ``sorted(cases)`` as seed; the names in
    `skip_finite_differences` / `skip_keras` are left out of that test (say why where the
    call is made); `keras_inputs(name, xs)`, when given, changes the float32 inputs of the
    Keras comparison (e.g. puts NaNs in)."""
    def inputs(name, dtype):
        return draw_inputs(cases[name][1], sorted(cases).index(name), dtype)

    @pytest.mark.parametrize("name", sorted(set(cases) - set(skip_finite_differences)))
    def test_gradient_matches_finite_differences(name):
        assert_gradient_matches_finite_differences(cases[name][0], inputs(name, "float64"))

    @pytest.mark.parametrize("name", sorted(set(cases) - set(skip_keras)))
    def test_value_and_gradient_match_keras_under_gradient_tape(name, keras, tf):
        xs = inputs(name, "float32")
        if keras_inputs is not None:
            xs = keras_inputs(name, xs)
        assert_matches_keras_under_tape(cases[name][0], xs, keras, tf)

    return (test_gradient_matches_finite_differences,
            test_value_and_gradient_match_keras_under_gradient_tape)


def assert_same_as_keras(mine, theirs, rtol=1e-5, atol=1e-6, up_to_sign=False):
    """Same structure, dtypes, shapes and values (NaNs at the same places) as Keras's result;
    `up_to_sign` compares absolute values (a factor's columns are defined up to sign)."""
    if isinstance(theirs, (tuple, list)):
        assert isinstance(mine, (tuple, list)) and len(mine) == len(theirs)
        for m, t in zip(mine, theirs):
            assert_same_as_keras(m, t, rtol, atol, up_to_sign)
        return
    theirs, mine = np.asarray(theirs), np.asarray(mine)
    assert mine.dtype == theirs.dtype, (mine.dtype, theirs.dtype)
    assert mine.shape == theirs.shape, (mine.shape, theirs.shape)
    if up_to_sign:
        mine, theirs = np.abs(mine), np.abs(theirs)
    np.testing.assert_allclose(mine, theirs, rtol=rtol, atol=atol, equal_nan=True)
