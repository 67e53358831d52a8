"""More of Keras's control flow: ``map``, ``vectorized_map``, ``scan``, ``associative_scan``,
``switch``, ``vectorize`` and ``custom_gradient``, with the eager semantics of Keras's
TensorFlow and JAX backends: Python loops over the leading axis. The ops the loop body runs are
recorded as any others inside a training step, so gradients flow through every iteration.

Structures (tuples, lists, dicts of tensors) are walked here with a small flatten/unflatten
pair, as Keras's ``tree`` does for these ops.
"""
import numpy as np

from . import _core as o
from ._tape import Tensor, as_recorded, make_many, value_of


def _flatten(structure):
    if isinstance(structure, dict):
        return [leaf for key in sorted(structure) for leaf in _flatten(structure[key])]
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in _flatten(item)]
    return [structure]


def _unflatten(structure, leaves):
    """`structure` rebuilt with the next leaves of the iterator `leaves`."""
    if isinstance(structure, dict):
        return {key: _unflatten(structure[key], leaves) for key in sorted(structure)}
    if isinstance(structure, (list, tuple)):
        return type(structure)(_unflatten(item, leaves) for item in structure)
    return next(leaves)


def _callable(f):
    if not callable(f):
        raise TypeError(f"`f` should be a callable. Received: f={f}")


def _length(leaves, name):
    sizes = {int(np.shape(value_of(leaf))[0]) for leaf in leaves}
    if len(sizes) != 1:
        raise ValueError(f"{name}: every input must have the same leading dimension; received "
                         f"the sizes {sorted(sizes)}")
    return sizes.pop()


def _stack_results(results):
    """Per-step outputs (one structure each) as one structure of stacked tensors."""
    first = results[0]
    columns = list(zip(*[_flatten(r) for r in results]))
    return _unflatten(first, iter(o.stack(list(c), axis=0) for c in columns))


def map(f, xs):  # noqa: A001  (Keras's name)
    """``f`` applied to each slice of ``xs`` along its first axis (``xs`` may be a structure
    of tensors sharing that axis), the results stacked along a new first axis."""
    leaves = _flatten(xs)
    n = _length(leaves, "map")
    results = [f(_unflatten(xs, iter(o.getitem(leaf, i) for leaf in leaves)))
               for i in range(n)]
    if not results:
        raise ValueError("map: `xs` must not be empty along its first axis")
    return _stack_results(results)


def vectorized_map(function, elements):
    """``function`` over the slices of ``elements`` along the first axis, stacked (as
    :func:`map`; Keras vectorizes it, with the same results)."""
    return map(function, elements)


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """``carry, y = f(carry, x)`` over the slices ``x`` of ``xs`` along the first axis (or
    ``length`` times with ``x`` None), from ``init``; returns the last carry and the ``y``s
    stacked. ``reverse`` runs from the last slice, the ``y``s kept in the slices' order.
    Where ``f`` gives no ``y``, zeros shaped as the carry are stacked (Keras's TensorFlow
    backend)."""
    _callable(f)
    if not isinstance(unroll, (bool, int)) or (not isinstance(unroll, bool) and unroll < 1):
        raise ValueError(f"`unroll` must be an positive integer or boolean. Received: "
                         f"unroll={unroll}")
    leaves = [] if xs is None else _flatten(xs)
    if xs is None and length is None:
        raise ValueError("Got no `xs` to scan over and `length` not provided.")
    n = int(length) if xs is None else _length(leaves, "scan")
    if length is not None and int(length) != n:
        raise ValueError(f"scan: `length` ({length}) must match the leading dimension of "
                         f"`xs` ({n})")
    carry, ys = init, [None] * n
    for i in (range(n - 1, -1, -1) if reverse else range(n)):
        x = None if xs is None else _unflatten(xs, iter(o.getitem(leaf, i) for leaf in leaves))
        carry, ys[i] = f(carry, x)
    if n == 0:
        return carry, None
    zeros = _unflatten(carry, iter(np.zeros_like(value_of(c)) for c in _flatten(carry)))
    return carry, _stack_results([zeros if y is None else y for y in ys])


def associative_scan(f, elems, reverse=False, axis=0):
    """The running combination of ``elems`` along ``axis`` by the associative ``f``:
    ``out[0] = elems[0]``, ``out[i] = f(out[i - 1], elems[i])`` (from the end when
    ``reverse``, then ``f(elems[i], out[i + 1])``)."""
    _callable(f)
    leaves = _flatten(elems)
    sizes = {int(np.shape(value_of(leaf))[axis]) for leaf in leaves}
    if len(sizes) != 1:
        raise ValueError(f"Array inputs to associative_scan must have the same first "
                         f"dimension. (saw: {sorted(sizes)})")
    n = sizes.pop()

    def at(i):
        index = (slice(None),) * (axis % np.ndim(value_of(leaves[0]))) + (i,)
        return _unflatten(elems, iter(o.getitem(leaf, index) for leaf in leaves))

    order = range(n - 1, -1, -1) if reverse else range(n)
    running, outs = None, [None] * n
    for i in order:
        running = at(i) if running is None else (f(at(i), running) if reverse
                                                 else f(running, at(i)))
        outs[i] = running
    columns = list(zip(*[_flatten(r) for r in outs]))
    return _unflatten(elems, iter(o.stack(list(c), axis=axis) for c in columns))


def switch(index, branches, *operands):
    """``branches[index](*operands)``, ``index`` clipped to the branches there are."""
    if not branches:
        raise ValueError("switch: `branches` must hold at least one function")
    i = int(np.clip(int(value_of(index)), 0, len(branches) - 1))
    return branches[i](*operands)


def vectorize(pyfunc, *, excluded=None, signature=None):
    """``pyfunc`` made to run over the broadcast entries of its arguments (or over their
    core dimensions, ``signature="(n),(n)->()"``), as NumPy's ``vectorize``. The result
    records no gradient."""
    def unwrapped(*args, **kwargs):
        out = pyfunc(*args, **kwargs)
        return tuple(np.asarray(value_of(v)) for v in out) if isinstance(out, tuple) \
            else np.asarray(value_of(out))
    vectorized = np.vectorize(unwrapped, excluded=excluded or set(), signature=signature)

    def call(*args, **kwargs):
        return vectorized(*[value_of(as_recorded(a)) for a in args], **kwargs)
    call.__name__ = getattr(pyfunc, "__name__", "vectorized")
    call.__doc__ = pyfunc.__doc__
    return call


def custom_gradient(f):
    """Decorator: ``f(*args)`` returns ``(outputs, grad_fn)``, and ``grad_fn(upstream)`` (or
    ``grad_fn(*args, upstream=...)``) gives the gradient of each argument, which the record
    uses instead of differentiating ``f``'s own ops (Keras's ``custom_gradient``)."""
    def wrapper(*args):
        from ._tape import recording

        recorded = [as_recorded(a) for a in args]
        with recording(False):
            outputs, grad_fn = f(*[value_of(a) for a in recorded])
        several = isinstance(outputs, (list, tuple))
        values = [np.asarray(value_of(v)) for v in (outputs if several else [outputs])]

        def vjp(gs):
            upstream = [np.zeros_like(v) if g is None else g for g, v in zip(gs, values)] \
                if several else gs
            try:
                grads = grad_fn(upstream)
            except TypeError:
                grads = grad_fn(*args, upstream=upstream)
            grads = grads if isinstance(grads, (list, tuple)) else [grads]
            return [None if g is None else np.asarray(value_of(g)) for g in grads]

        if not any(isinstance(a, Tensor) for a in recorded):
            return outputs
        made = make_many(values, recorded, vjp, getattr(f, "__name__", "custom_gradient"))
        return tuple(made) if several else made[0]
    wrapper.__name__ = getattr(f, "__name__", "custom_gradient")
    wrapper.__doc__ = f.__doc__
    return wrapper


def jvp(fun, primals, tangents, has_aux=False):
    """``fun(*primals)`` and its derivative along ``tangents`` (Keras's forward-mode
    ``jvp``): ``(outputs, output_tangents)``, with ``fun``'s auxiliary output last when
    ``has_aux``. rnncore records reverse mode only, so each output entry costs one backward
    pass: meant for small functions."""
    from ._tape import backward, recording

    if len(primals) != len(tangents):
        raise ValueError(f"jvp: primals and tangents must match; received {len(primals)} "
                         f"primals and {len(tangents)} tangents")
    leaves = [Tensor(np.asarray(value_of(p))) for p in primals]
    with recording(True):
        out = fun(*leaves)
    aux = None
    if has_aux:
        out, aux = out
    flat = _flatten(out)
    directions = [np.asarray(value_of(t)) for t in tangents]
    derivatives = []
    for y in flat:
        value = np.asarray(value_of(y))
        derivative = np.zeros(value.shape, value.dtype)
        if isinstance(y, Tensor):
            for i in np.ndindex(value.shape):
                seed = np.zeros(value.shape, value.dtype)
                seed[i] = 1
                grads = backward([y], [seed])
                derivative[i] = sum(np.vdot(grads.of(leaf), d) for leaf, d in
                                    zip(leaves, directions) if grads.of(leaf) is not None)
        derivatives.append(derivative)
    values = _unflatten(out, iter(np.asarray(value_of(y)) for y in flat))
    result = (values, _unflatten(out, iter(derivatives)))
    return result + (aux,) if has_aux else result
