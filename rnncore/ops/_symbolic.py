"""The public ops on symbolic tensors: each op of ``rnncore.ops`` called with a functional
model's symbolic tensor among its arguments becomes a node of that graph
(``rnncore.layers._op_layer``), as Keras 3's ops do on KerasTensors."""
import functools

# ops whose result is not a tensor of the graph, or that make tensors from nothing
_EAGER = frozenset({"arange", "convert_to_numpy", "dtype", "eye", "full", "is_tensor", "ndim",
                    "ones", "shape", "size", "zeros", "nn"})

_symbolic_type = []


def _symbolic_class():
    # imported on first use: rnncore.layers imports rnncore.ops
    if not _symbolic_type:
        from ..layers._base import SymbolicTensor

        _symbolic_type.append(SymbolicTensor)
    return _symbolic_type[0]


def _is_symbolic(x):
    return isinstance(x, _symbolic_class())


def _any_symbolic(args, kwargs):
    # on every op call of a training step too: kept to a few isinstance checks
    cls = _symbolic_type[0] if _symbolic_type else _symbolic_class()
    for a in args:
        if isinstance(a, cls):
            return True
        kind = type(a)
        if (kind is list or kind is tuple) and any(isinstance(v, cls) for v in a):
            return True
    if kwargs:
        for v in kwargs.values():
            if isinstance(v, cls):
                return True
    return False


def symbolic_aware(op, name):
    """`op`, which on symbolic arguments adds an op node to the functional graph (of the
    class Keras's op of that name makes, ``rnncore.layers._keras_op_table``)."""

    @functools.wraps(op)
    def dispatch(*args, **kwargs):
        if _any_symbolic(args, kwargs):
            from ..layers._op_layer import symbolic_op

            return symbolic_op(op, name, args, kwargs)
        return op(*args, **kwargs)
    dispatch.__wrapped_op__ = op
    return dispatch


def _static_shape(op):
    """``shape`` / ``ndim``, which on a symbolic tensor give its static shape (None for the
    unknown sizes), as Keras's do."""
    @functools.wraps(op)
    def static(x):
        if _is_symbolic(x):
            return tuple(x.shape) if op.__name__ == "shape" else len(x.shape)
        return op(x)
    return static


def wrap_namespace(namespace, names):
    """Every op in `names` of the module dict `namespace` made symbolic-aware in place."""
    for name in ("shape", "ndim"):
        if name in names:
            namespace[name] = _static_shape(namespace[name])
    for name in names:
        op = namespace.get(name)
        if callable(op) and name not in _EAGER and not isinstance(op, type):
            namespace[name] = symbolic_aware(op, name)
