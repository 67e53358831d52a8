"""Keras's control flow ops, ``cond``, ``while_loop`` and ``fori_loop``, with the eager
semantics of Keras's TensorFlow and JAX backends: plain Python branches and loops. Inside a
recorded training step the ops run in the branch or the loop body are recorded as any other,
so gradients flow through the iterations taken."""
from ._tape import value_of


def cond(pred, true_fn, false_fn):
    """``true_fn()`` when ``pred`` holds, else ``false_fn()``."""
    return true_fn() if bool(value_of(pred)) else false_fn()


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    """Run ``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)`` holds, at most
    ``maximum_iterations`` times. A tuple or list of loop variables comes back as a tuple; a
    single one (not in a tuple) comes back alone, and ``cond``/``body`` take it alone.

    Example::

        i, total = while_loop(lambda i, s: i < 3, lambda i, s: (i + 1, s + i), (0, 0.0))
    """
    is_tuple = isinstance(loop_vars, (tuple, list))
    state = tuple(loop_vars) if is_tuple else (loop_vars,)
    steps = 0
    while (maximum_iterations is None or steps < maximum_iterations) and bool(
            value_of(cond(*state))):
        out = body(*state)
        state = tuple(out) if is_tuple and isinstance(out, (tuple, list)) else (out,)
        if len(state) != (len(loop_vars) if is_tuple else 1):
            raise ValueError(f"while_loop: `body` must return as many values as `loop_vars` "
                             f"holds ({len(loop_vars) if is_tuple else 1}); received "
                             f"{len(state)}")
        steps += 1
    return state if is_tuple else state[0]


def fori_loop(lower, upper, body_fun, init_val):
    """``val = body_fun(i, val)`` for ``i`` from ``lower`` up to ``upper`` (left out), from
    ``init_val``; returns the last ``val``."""
    val = init_val
    for i in range(int(value_of(lower)), int(value_of(upper))):
        val = body_fun(i, val)
    return val
