"""Ops on symbolic tensors: ``inputs_a + inputs_b``, ``x[:, -1, :]``, ``ops.mean(x, axis=1)``
in a functional model (Keras 3's Operation nodes).

An ``rnncore.ops`` op (or a Python operator) called on a :class:`SymbolicTensor` returns a new
symbolic tensor made by an :class:`OpLayer`: a weightless layer holding the op and its
non-tensor arguments. The functional graph walk runs it like any layer: ``forward`` calls the
op on the arrays of its input tensors (recorded by ``rnncore.ops._tape`` when training),
``backward`` replays that record. As in Keras, the op nodes sit in the graph and the summary but
not in ``model.layers``, and masks do not pass through them.
"""
import numpy as np

from .._variable import Variable
from ..ops._tape import Tensor, backward as replay, recording, value_of
from ._base import Layer, Node, SymbolicTensor, unique_name
from ._op_config import keras_class, keras_node_name, op_entry


def has_symbolic(args, kwargs):
    """Whether any argument (also inside lists and tuples) is a symbolic tensor."""
    for a in list(args) + list(kwargs.values()):
        if isinstance(a, SymbolicTensor):
            return True
        if isinstance(a, (list, tuple)) and any(isinstance(v, SymbolicTensor) for v in a):
            return True
    return False


def _tensors(structure, found):
    if isinstance(structure, SymbolicTensor):
        found.append(structure)
    elif isinstance(structure, (list, tuple)):
        for v in structure:
            _tensors(v, found)
    elif isinstance(structure, dict):
        for v in structure.values():
            _tensors(v, found)
    return found


def _substitute(structure, values):
    """`structure` with its symbolic tensors replaced, in order, by the next of `values`."""
    if isinstance(structure, SymbolicTensor):
        return next(values)
    if isinstance(structure, (list, tuple)):
        return type(structure)(_substitute(v, values) for v in structure)
    if isinstance(structure, dict):
        return {k: _substitute(v, values) for k, v in structure.items()}
    return structure


def _arrays(y):
    if isinstance(y, (list, tuple)):
        return [np.asarray(value_of(v)) for v in y]
    return np.asarray(value_of(y))


class OpLayer(Layer):
    """One op of ``rnncore.ops`` applied to symbolic tensors (Keras's Operation node).

    Parameters
    ----------
    op : the op (a function of ``rnncore.ops``).
    op_name : its name in ``keras.ops`` (``"add"``, ``"get_item"``...); the node's Keras
        class (``Add``, ``GetItem``; ``abs`` makes ``Absolute``) and default name derive
        from it.
    args, kwargs : the call's arguments, symbolic tensors among them.
    name : the node's name (a loaded model keeps its file's); by default Keras's.
    """

    def __init__(self, op, op_name, args, kwargs, name=None):
        super().__init__(name=name or unique_name(keras_node_name(op_name)))
        self.op, self.op_name = op, op_name
        self.keras_class_name = keras_class(op_name)
        self.op_args, self.op_kwargs = tuple(args), dict(kwargs)
        self.built = True

    def _run(self, values):
        it = iter(values)
        args = _substitute(self.op_args, it)
        kwargs = _substitute(self.op_kwargs, it)
        return self.op(*args, **kwargs)

    def _values(self, inputs):
        return list(inputs) if isinstance(inputs, list) else [inputs]

    def check_input(self, x):
        # a model input read first by an op: float data in the model's float type, as a
        # layer would take it; integer ids stay integers
        x = np.asarray(x)
        return x.astype(self.dtype) if x.dtype.kind == "f" and x.dtype != self.dtype else x

    def compute_output_shape(self, input_shapes):
        """Keras's shape inference, by running the op on arrays: a dimension that changes
        when the unknown (None) input dimensions do is unknown in the output. An op with
        several outputs (``split``, ``unstack``) gives a list of shapes."""
        tensors = _tensors((self.op_args, self.op_kwargs), [])
        runs = []
        for size in (2, 3):
            probe = [np.ones([size if d is None else d for d in t.shape],
                             dtype=np.float32 if t.dtype == "string" else t.dtype)
                     for t in tensors]
            with np.errstate(all="ignore"), recording(False):
                y = self._run(probe)
            several = isinstance(y, (list, tuple))
            runs.append([np.asarray(value_of(v)) for v in (y if several else [y])])
        if len(runs[0]) != len(runs[1]) or any(a.ndim != b.ndim for a, b in zip(*runs)):
            raise ValueError(f"{self.op_name}: the number or rank of its outputs depends on the "
                             f"unknown dimensions of its inputs {[t.shape for t in tensors]}")
        self._output_dtypes = [a.dtype.name for a in runs[0]]
        shapes = [tuple(m if m == n else None for m, n in zip(a.shape, b.shape))
                  for a, b in zip(*runs)]
        return shapes if several else shapes[0]

    def forward(self, inputs, training=False, mask=None):
        values = self._values(inputs)
        if not training:
            self._record = None
            with recording(False):
                return _arrays(self._run(values))
        with recording(True):
            leaves = [Tensor(np.asarray(v)) for v in values]
            y = self._run(leaves)
        outs = list(y) if isinstance(y, (list, tuple)) else [y]
        recorded = [o for o in outs if isinstance(o, Tensor)]
        self._record = (leaves, outs) if recorded else None
        return _arrays(y)

    def backward(self, d_outputs):
        record, self._record = self._record, None
        if record is None:  # an output that does not depend on the inputs (comparisons...)
            return None
        leaves, outs = record
        seeds = d_outputs if isinstance(d_outputs, list) else [d_outputs]
        pairs = [(o, np.asarray(d, o.dtype)) for o, d in zip(outs, seeds)
                 if isinstance(o, Tensor) and d is not None]
        grads = replay([o for o, _ in pairs], [d for _, d in pairs])
        d = [grads.of(leaf) for leaf in leaves]
        d = [np.zeros_like(leaf.value) if g is None else np.asarray(g, leaf.value.dtype)
             for g, leaf in zip(d, leaves)]
        return d if len(d) > 1 else d[0]

    def compute_mask(self, inputs, mask=None):
        return None  # Keras's ops drop the mask

    def keras_entry(self, tensor_json):
        """The node's entry of a functional config, as Keras writes it (module, class,
        constructor config, one inbound node); `tensor_json` writes each input tensor."""
        return op_entry(self, tensor_json)

    def get_config(self):
        """The op's constructor arguments, as Keras's Operation ``get_config``
        (``{"name": "mean", "axis": 1, "keepdims": False}``)."""
        return op_entry(self, lambda t: None)["config"]

    def __repr__(self):
        return f"<{self.keras_class_name} op name={self.name}>"


def _refuse_variables(structure, op_name):
    """A weight read by an op node would train without the op's share of its gradient (the
    node's record has no way back to the layer that owns it): refused, naming it."""
    if isinstance(structure, (list, tuple)):
        for item in structure:
            _refuse_variables(item, op_name)
    elif isinstance(structure, dict):
        for item in structure.values():
            _refuse_variables(item, op_name)
    elif isinstance(structure, Variable) and structure.trainable:
        raise NotImplementedError(
            f"ops.{op_name} on a symbolic tensor and the trainable weight {structure.path!r}: "
            "rnncore's functional graph cannot differentiate a weight used outside its layer. "
            "Use the weight inside a custom layer's call() instead")


def symbolic_op(op, op_name, args, kwargs, name=None):
    """``op(*args, **kwargs)`` with symbolic tensors among the arguments: the new symbolic
    tensor, made by a new :class:`OpLayer` node of the graph (named `name`, by default as
    Keras names it)."""
    _refuse_variables((args, kwargs), op_name)
    layer = OpLayer(op, op_name, args, kwargs, name=name)
    tensors = _tensors((layer.op_args, layer.op_kwargs), [])
    shape = layer.compute_output_shape([t.shape for t in tensors])
    if isinstance(shape, list):  # split, unstack: one tensor per output
        out = [SymbolicTensor(sh, dt, layer, 0, i, name=layer.name)
               for i, (sh, dt) in enumerate(zip(shape, layer._output_dtypes))]
    else:
        out = SymbolicTensor(shape, layer._output_dtypes[0], layer, 0, 0, name=layer.name)
    inputs = tensors[0] if len(tensors) == 1 else tensors
    layer._inbound_nodes.append(Node(layer, inputs, out, {}))
    return out


def _operators():
    from ..ops import _core as o

    def binary(op, name, swap=False):
        if swap:
            return lambda self, other: symbolic_op(op, name, (other, self), {})
        return lambda self, other: symbolic_op(op, name, (self, other), {})

    table = {"add": o.add, "subtract": o.subtract, "multiply": o.multiply,
             "true_divide": o.divide, "floor_divide": o.floor_divide, "mod": o.mod,
             "power": o.power, "matmul": o.matmul}
    dunder = {"add": "add", "subtract": "sub", "multiply": "mul", "true_divide": "truediv",
              "floor_divide": "floordiv", "mod": "mod", "power": "pow", "matmul": "matmul"}
    for name, op in table.items():
        setattr(SymbolicTensor, f"__{dunder[name]}__", binary(op, name))
        setattr(SymbolicTensor, f"__r{dunder[name]}__", binary(op, name, swap=True))
    for dunder_name, op, name in (("lt", o.less, "less"), ("le", o.less_equal, "less_equal"),
                                  ("gt", o.greater, "greater"),
                                  ("ge", o.greater_equal, "greater_equal"),
                                  ("ne", o.not_equal, "not_equal"),
                                  ("and", o.logical_and, "logical_and"),
                                  ("or", o.logical_or, "logical_or")):
        setattr(SymbolicTensor, f"__{dunder_name}__", binary(op, name))
    SymbolicTensor.__neg__ = lambda self: symbolic_op(o.negative, "negative", (self,), {})
    SymbolicTensor.__abs__ = lambda self: symbolic_op(o.abs, "absolute", (self,), {})
    SymbolicTensor.__invert__ = lambda self: symbolic_op(o.logical_not, "logical_not",
                                                         (self,), {})
    SymbolicTensor.__getitem__ = lambda self, key: symbolic_op(o.getitem, "get_item",
                                                               (self, key), {})
    def no_iteration(self):
        # with __getitem__ defined, Python would otherwise iterate by indexing, forever
        raise NotImplementedError("Iterating over a symbolic tensor is not supported.")
    SymbolicTensor.__iter__ = no_iteration
    # NumPy hands `np.float32(2) * x` to the tensor's __rmul__
    SymbolicTensor.__array_ufunc__ = None
    # __ne__ is an op (as in Keras); identity stays the hash and ==
    SymbolicTensor.__hash__ = object.__hash__
    SymbolicTensor.__eq__ = object.__eq__


_operators()
