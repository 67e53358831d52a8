"""Variable: a named, in-place-updatable NumPy array (what Keras calls a weight)."""
import numpy as np

from . import _config, initializers
from ._name_scope import path_prefix
from ._naming import unique_name


class Variable:
    """A layer weight.

    ``value`` is the NumPy array itself; optimizers update it in place, so references held by
    layers and caches stay valid. ``grad`` holds the gradient from the last backward pass.

    Made directly, it is Keras's ``keras.Variable(initializer, shape=None, dtype=None,
    trainable=True, autocast=True, aggregation="none", synchronization="auto", name=None)``
    (``autocast``, ``aggregation`` and ``synchronization`` are accepted and have no effect
    here); a layer's ``add_weight`` passes the path, regularizer and constraint as well.

    Parameters
    ----------
    initializer : array-like, or an initializer (a name such as ``"zeros"``, or a callable
        taking ``(shape, dtype)``) used with ``shape``. A Python float becomes ``floatx()``.
    shape : tuple, the shape an initializer fills.
    dtype : the dtype (default: the value's, ``floatx()`` for an initializer or a Python float).
    name : str, the weight's name in its layer (``kernel``, ``recurrent_kernel``, ``bias``, …);
        default ``variable``, ``variable_1``, … as Keras.
    trainable : bool
    path : str, ``layer_name/weight_name`` as Keras 3 shows it (default: the name).
    regularizer : Regularizer, optional: the weight's penalty (see ``rnncore.regularizers``).
    constraint : Constraint, optional: applied after each optimizer step
        (see ``rnncore.constraints``).
    """

    __slots__ = ("value", "name", "trainable", "path", "grad", "regularizer", "constraint",
                 "__weakref__")

    def __init__(self, initializer=None, shape=None, dtype=None, trainable=True, autocast=True,
                 aggregation="none", synchronization="auto", name=None, path=None,
                 regularizer=None, constraint=None):
        if isinstance(initializer, str) or callable(initializer):
            if shape is None:
                raise ValueError("When creating a Variable from an initializer, the `shape` "
                                 "argument should be specified. Received: "
                                 f"initializer={initializer!r} and shape=None")
            dtype = dtype or _config.floatx()
            initializer = initializers.get(initializer)(tuple(shape), dtype=dtype)
        elif dtype is None and isinstance(initializer, float):
            dtype = _config.floatx()
        if name is None:
            name = unique_name("variable")
        self.value = np.array(initializer, dtype=dtype, order="C")  # the kernels need C order
        self.name = name
        self.trainable = trainable
        self.path = path or path_prefix() + name
        self.grad = None
        self.regularizer = regularizer  # an rnncore.regularizers.Regularizer, or None
        self.constraint = constraint  # an rnncore.constraints.Constraint, or None

    def __getstate__(self):
        # the last backward's gradient is scratch of one step: a copy starts without it
        return {name: getattr(self, name) for name in self.__slots__
                if name not in ("grad", "__weakref__") and hasattr(self, name)}

    def __setstate__(self, state):
        self.grad = None
        for name, value in state.items():
            setattr(self, name, value)

    @property
    def shape(self):
        return self.value.shape

    @property
    def dtype(self):
        return self.value.dtype

    @property
    def ndim(self):
        return self.value.ndim

    def numpy(self):
        return self.value.copy()

    def checked(self, value):
        """`value` as an array this variable can take (real numbers of its shape), or a
        ValueError naming the variable."""
        value = np.asarray(value)
        if value.dtype == object or not (np.issubdtype(value.dtype, np.number)
                                         or value.dtype == np.bool_) or \
                np.issubdtype(value.dtype, np.complexfloating):
            raise ValueError(f"Variable {self.path!r}: cannot assign a value of dtype "
                             f"{value.dtype}, expected real numbers")
        if value.shape != self.value.shape:
            raise ValueError(f"Variable {self.path!r}: cannot assign a value of shape "
                             f"{value.shape}, expected {self.value.shape}")
        return value

    def assign(self, value):
        self.value[...] = self.checked(value)
        return self

    def assign_add(self, delta):
        self.value += delta
        return self

    def assign_sub(self, delta):
        self.value -= delta
        return self

    def __array__(self, dtype=None, copy=None):
        return self.value if dtype is None else self.value.astype(dtype)

    def __float__(self):
        # a metric's result() may return its variable itself (Keras's guide's
        # CategoricalTruePositives): the logs read it as a number
        return float(self.value)

    def __int__(self):
        return int(self.value)

    def __repr__(self):
        return f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype.name}>"


def _operator(name):
    # Keras's variables take part in arithmetic as tensors do (``x @ self.kernel + self.b``):
    # the operator is rnncore.ops's, which, inside a recorded step, records the read so the
    # gradient reaches the variable
    def method(self, *args):
        from .ops import _core

        return _core.OPERATORS[name](self, *args)
    method.__name__ = name
    return method


for _name in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
              "__truediv__", "__rtruediv__", "__pow__", "__rpow__", "__matmul__", "__rmatmul__",
              "__neg__", "__getitem__", "__lt__", "__le__", "__gt__", "__ge__"):
    setattr(Variable, _name, _operator(_name))
# NumPy hands ``array * variable`` to the variable's operator instead of converting it (NumPy's
# functions, ``np.square(variable)``, still see the array)
Variable.__array_priority__ = 100
