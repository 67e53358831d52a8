"""Define-by-run differentiation for ``rnncore.ops``.

While a training step records (``recording()``), every op whose inputs include a
:class:`Tensor` returns a Tensor that remembers the node that made it: the op's inputs and its
vector-Jacobian product. :func:`backward` walks the nodes from the outputs back in reverse
topological order, handing each node the gradient of its outputs and collecting the gradients
of the leaves: the inputs of the recorded call and the Variables it read. Outside
``recording()`` the ops work on plain NumPy arrays and record nothing (inference).

A built-in layer called inside a recorded ``call`` is one node whose vector-Jacobian product
is the layer's own fused ``backward`` (the compiled kernels for the recurrent layers).
"""
import contextlib
import heapq
import itertools
import threading

import numpy as np

from .._indexed_slices import IndexedSlices
from .._variable import Variable

_state = threading.local()
_SEQUENCE = itertools.count()


def is_recording():
    return getattr(_state, "recording", False)


@contextlib.contextmanager
def recording(on=True):
    """Record the ops run inside (``on``), or run them unrecorded (``on=False``)."""
    before = is_recording()
    _state.recording = on
    try:
        yield
    finally:
        _state.recording = before


class Node:
    """One recorded op: its inputs (``parents``), how many outputs it made, and ``vjp``:
    ``vjp(g)`` -> one gradient (or None) per parent, where ``g`` is the gradient of the only
    output, or a list with one entry (None where nothing flowed) per output."""

    __slots__ = ("parents", "vjp", "n_out", "name", "layer", "fused", "seq")

    def __init__(self, parents, vjp, n_out=1, name="op"):
        self.parents, self.vjp, self.n_out, self.name = parents, vjp, n_out, name
        # nodes are made in the order the ops ran, so a later node never feeds an earlier
        # one: the reverse of this order is a reverse topological order
        self.seq = next(_SEQUENCE)
        # a built-in layer's node: the layer, and whether its gradient arrives at the layer's
        # pre-activation (a sigmoid/softmax output whose loss reads the logits, as Keras's)
        self.layer, self.fused = None, False


class Tensor:
    """An array recorded during a training step (Keras's tensor, for rnncore's ops).

    ``value`` is the NumPy array; NumPy-style attributes, Python operators, indexing and
    ``numpy()`` work as on Keras's tensors. A leaf stands for a Variable (``variable``) or an
    input of the recorded call; any other Tensor was made by ``node``'s output ``index``.
    """

    __slots__ = ("value", "node", "index", "variable", "_keras_mask", "__weakref__")
    # NumPy hands binary operators with a Tensor on the right to the Tensor's own
    __array_ufunc__ = None

    def __init__(self, value, node=None, index=0, variable=None):
        self.value = value
        self.node, self.index, self.variable = node, index, variable
        self._keras_mask = None

    shape = property(lambda self: self.value.shape)
    dtype = property(lambda self: self.value.dtype)
    ndim = property(lambda self: self.value.ndim)
    size = property(lambda self: self.value.size)

    def numpy(self):
        return np.array(self.value, copy=True)

    def __array__(self, dtype=None, copy=None):
        return self.value if dtype is None else self.value.astype(dtype)

    def __len__(self):
        return len(self.value)

    def __iter__(self):
        from . import _core

        return (_core.getitem(self, i) for i in range(len(self.value)))

    def __bool__(self):
        return bool(self.value)

    def __float__(self):
        return float(self.value)

    def __int__(self):
        return int(self.value)

    def __index__(self):
        return int(self.value)

    def __repr__(self):
        return f"<rnncore Tensor shape={self.shape}, dtype={self.dtype.name}, value=\n{self.value}>"

    @property
    def T(self):
        from . import _core

        return _core.transpose(self)


def value_of(x):
    """The NumPy array behind a Tensor, a Variable or anything array-like."""
    if isinstance(x, Tensor):
        return x.value
    if isinstance(x, Variable):
        return x.value
    return x


def as_recorded(x):
    """While recording, a Variable as a leaf Tensor (its gradient then reaches it); anything
    else as it is."""
    if isinstance(x, Variable):
        if is_recording() and x.trainable:
            return Tensor(x.value, variable=x)
        return x.value
    return x


def make(value, parents, vjp, name="op"):
    """The result of an op: a recorded Tensor when recording and any parent is a Tensor, else
    the plain array."""
    if getattr(_state, "recording", False):
        for p in parents:
            if type(p) is Tensor:
                return Tensor(value if type(value) is np.ndarray else np.asarray(value),
                              Node(tuple(parents), vjp, 1, name))
    return value


def make_many(values, parents, vjp, name="op"):
    """The several results of one op (a layer returning its states too), recorded together."""
    if is_recording() and any(isinstance(p, Tensor) for p in parents):
        node = Node(tuple(parents), vjp, len(values), name)
        return [Tensor(np.asarray(v), node, i) for i, v in enumerate(values)]
    return list(values)


def _add(a, b):
    if a is None:
        return b
    if b is None:
        return a
    if isinstance(a, IndexedSlices) and isinstance(b, IndexedSlices):
        return IndexedSlices(np.concatenate([a.values, b.values]),
                             np.concatenate([a.indices, b.indices]), a.dense_shape)
    if isinstance(a, IndexedSlices):
        a = a.to_dense()
    if isinstance(b, IndexedSlices):
        b = b.to_dense()
    return a + b


class Gradients:
    """What :func:`backward` found: ``of(leaf)`` for an input leaf, and ``variables``
    ``{id(variable): (variable, gradient)}`` summed over every place it was read."""

    def __init__(self):
        self.leaves = {}
        self.variables = {}

    def of(self, tensor):
        return self.leaves.get(id(tensor), (None, None))[1]

    def add_variable(self, var, grad):
        old = self.variables.get(id(var), (var, None))[1]
        self.variables[id(var)] = (var, _add(old, grad))


_active = threading.local()


def active_gradients():
    """The :class:`Gradients` of the backward pass now running (a built-in layer's node adds
    its weights' gradients there)."""
    return _active.grads


def backward(outputs, seeds):
    """Replay the record behind `outputs` in reverse with the gradients `seeds` (one per
    output, None for none); returns the :class:`Gradients` of the leaves. Nodes are visited
    latest first (a heap on the order they were made), each once all the gradient reaching
    it has arrived."""
    grads = Gradients()
    pending, heap = {}, []

    def give(t, g):
        if g is None or type(t) is not Tensor:
            return
        node = t.node
        if node is None:
            if t.variable is not None:
                grads.add_variable(t.variable, _unbroadcast(g, t.value.shape))
            else:
                old = grads.leaves.get(id(t), (t, None))[1]
                grads.leaves[id(t)] = (t, _add(old, g))
            return
        slot = pending.get(node.seq)
        if slot is None:
            slot = pending[node.seq] = [node, [None] * node.n_out]
            heapq.heappush(heap, -node.seq)
        gs = slot[1]
        gs[t.index] = g if gs[t.index] is None else _add(gs[t.index], g)

    for t, g in zip(outputs, seeds):
        give(t, g)
    before = getattr(_active, "grads", None)
    _active.grads = grads
    # gradients through inf or nan (a division by zero in the forward) come out nan
    # silently, as TensorFlow's do
    silent = np.errstate(divide="ignore", invalid="ignore", over="ignore")
    silent.__enter__()
    try:
        while heap:
            node, gs = pending.pop(-heapq.heappop(heap))
            parent_grads = node.vjp(gs if node.n_out > 1 else gs[0])
            for p, g in zip(node.parents, parent_grads):
                give(p, g)
    finally:
        silent.__exit__(None, None, None)
        _active.grads = before
    return grads


def _unbroadcast(g, shape):
    """`g` summed back to `shape` over the axes broadcasting added or stretched."""
    if isinstance(g, IndexedSlices) or g.shape == tuple(shape):
        return g
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    axes = tuple(i for i, (n, m) in enumerate(zip(shape, g.shape)) if n == 1 and m != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)
