"""Keras's RNN cells: SimpleRNNCell, LSTMCell, GRUCell and StackedRNNCells.

In Keras a cell does one step and ``RNN`` owns the loop. rnncore never loops over steps in
Python: a built-in cell holds the fused recurrent layer of its kind (``cell._layer``, a
SimpleRNN, LSTM or GRU built from the cell's arguments), whose weights are the cell's weights,
and ``RNN(cell)`` runs that layer's compiled kernel over the whole sequence. Calling a cell on
one step (``cell(x_t, states)``) runs the same kernel with one timestep, for inference and
inspection.

A user-defined cell (a Layer with ``state_size`` and its own ``call``), alone or in a
StackedRNNCells with built-in ones, runs step by step through its recorded ops instead (see
``_cell_rnn``); a subclass of a built-in cell that overrides its step is refused.
"""
import numpy as np

from .. import recurrent
from ..ops._tape import value_of
from . import _recorded
from ._base import Layer, _is_symbolic, as_float_array
from ._gru import GRU
from ._lstm import LSTM
from ._simple_rnn import SimpleRNN

CUSTOM_CELL_MESSAGE = ("rnncore runs a user-defined cell written as a Layer with state_size and "
                       "call(inputs, states); a subclass of a built-in cell (LSTMCell, ...) "
                       "that overrides its step is not supported: subclass Layer instead")

# what a cell reads from its fused layer (Keras's cell attributes); the weights too, once built
_ATTRIBUTES = ("units", "activation", "use_bias", "kernel_initializer",
               "recurrent_initializer", "bias_initializer", "kernel_regularizer",
               "recurrent_regularizer", "bias_regularizer", "kernel_constraint",
               "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout", "seed")
_GATED_ATTRIBUTES = ("recurrent_activation", "implementation")
_WEIGHTS = ("kernel", "recurrent_kernel", "bias")


def _from_layer(name):
    def get(self):
        return getattr(self._layer, name)
    return property(get, doc=f"The cell's ``{name}`` (its fused layer's).")


def _weight(name):
    def get(self):
        if not self._layer.built:
            raise AttributeError(f"{type(self).__name__} {self.name!r} is not built yet: its "
                                 f"{name!r} exists once the cell (or its RNN) has been called "
                                 "on data or built")
        return getattr(self._layer, name)
    return property(get, doc=f"The cell's ``{name}`` weight (a Variable), once built.")


class _Cell(Layer):
    """What the three built-in cells share: a fused layer of ``_LAYER``'s class holding the
    weights, the configuration and the one-step call."""

    _LAYER = None  # SimpleRNN, LSTM or GRU
    _CONFIG = _ATTRIBUTES  # Keras's config keys after the base ones, in Keras's order
    _is_view = False  # True for the ``cell`` of a SimpleRNN, LSTM or GRU layer

    def __init__(self, units, layer_kwargs, **kwargs):
        super().__init__(**kwargs)
        # The fused layer validates the arguments (its messages name them) and owns the
        # weights; RNN sets its sequence arguments (return_sequences, go_backwards, ...)
        # before each run. Named as the cell, so that no layer name is taken from the counter.
        self._layer = self._LAYER(units, **layer_kwargs, name=self.name, dtype=self.dtype,
                                  trainable=self.trainable)
        self._layer._in_cell = True
        self._variables = self._layer._variables  # one list: the cell's weights are the layer's

    @classmethod
    def _of(cls, layer):
        """The cell view of a SimpleRNN, LSTM or GRU layer (Keras's ``layer.cell``): it reads
        the layer's arguments and weights, nothing copied."""
        cell = cls.__new__(cls)
        Layer.__init__(cell, name=cls._NAME, dtype=layer.dtype, trainable=layer.trainable)
        cell._layer = layer
        cell._variables = layer._variables
        cell.built = layer.built
        cell._is_view = True
        return cell

    @property
    def state_size(self):
        return self.units

    @property
    def output_size(self):
        return self.units

    @property
    def _n_states(self):
        return self._layer.N_STATES

    def build(self, input_shape):
        """Create the weights for steps of ``input_shape`` (batch, features)."""
        shape = tuple(input_shape[0] if isinstance(input_shape, list) else input_shape)
        self._layer._maybe_build((shape[0], None, shape[-1]))
        self.built = True

    def get_initial_state(self, batch_size=None):
        return [np.zeros((batch_size, self.units), self.dtype) for _ in range(self._n_states)]

    # ---- one step ------------------------------------------------------------------------
    def __call__(self, inputs, states=None, training=None):
        """One step: ``inputs`` (batch, features), ``states`` the cell's states (a list of
        arrays of shape (batch, units); None for zeros). Returns ``(output, new_states)`` as
        Keras's cells: ``new_states`` a list, or a bare array when a one-state cell was given
        a bare array. ``training`` None: True inside a training step's recorded call (as
        Keras's call context gives it), False otherwise."""
        if _is_symbolic(inputs) or _is_symbolic(states):
            raise NotImplementedError(f"{type(self).__name__} {self.name!r}: calling a cell on "
                                      "symbolic tensors is not supported in rnncore; wrap it in "
                                      "RNN(cell) to run it over sequences")
        if _recorded.is_recorded([inputs, states]):  # a step inside a recorded custom call
            return _recorded.cell_step(self, inputs, states,
                                       True if training is None else bool(training))
        return self.call(inputs, states, training=bool(training))

    def call(self, inputs, states=None, training=False):
        x = as_float_array(inputs, "inputs", self.dtype)
        if x.ndim != 2:
            raise ValueError(f"{type(self).__name__} {self.name!r}: inputs must be 2D (batch, "
                             f"features), one step, got shape {x.shape}")
        B = x.shape[0]
        self._maybe_build(x.shape)
        if self._layer.input_dim != x.shape[1]:
            raise ValueError(f"{type(self).__name__} {self.name!r}: inputs have {x.shape[1]} "
                             f"features, but the cell was built for {self._layer.input_dim}")
        bare = states is not None and not isinstance(states, (list, tuple))
        states = self._layer.check_initial_state(states, B) or self.get_initial_state(B)
        layer = self._layer
        dp = layer._dropout_mask(layer.dropout, (B, x.shape[1]), training)
        rdp = layer._dropout_mask(layer.recurrent_dropout, (B, self.units), training)
        output, new_states = self._step(x[:, None, :], states, dp, rdp)
        return output, (new_states[0] if bare and len(new_states) == 1 else new_states)

    def _step(self, x, states, dropout_mask, recurrent_dropout_mask):
        raise NotImplementedError

    def _weights_args(self):
        layer = self._layer
        return (layer.kernel.value, layer.recurrent_kernel.value,
                layer.bias.value if layer.use_bias else None)

    # ---- configuration -----------------------------------------------------------------
    def get_config(self):
        config = super().get_config()
        layer_config = self._layer.get_config()
        config.update({key: layer_config[key] for key in self._CONFIG})
        return config

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, units={self.units}, built={self.built}>"


for _name in _ATTRIBUTES:
    setattr(_Cell, _name, _from_layer(_name))
for _name in _WEIGHTS:
    setattr(_Cell, _name, _weight(_name))


class SimpleRNNCell(_Cell):
    """Keras's ``SimpleRNNCell``: one step ``h_t = activation(x_t·kernel + h_{t-1}·
    recurrent_kernel + bias)``. Run it over sequences with ``RNN(cell)``, which uses
    rnncore's fused SimpleRNN kernel. Arguments and weights are those of
    :class:`~rnncore.layers.SimpleRNN` (``kernel (input_dim, units)``,
    ``recurrent_kernel (units, units)``, ``bias (units,)``).

    Example
    -------
    >>> import numpy as np, rnncore
    >>> rnn = rnncore.layers.RNN(rnncore.layers.SimpleRNNCell(4), return_sequences=True)
    >>> rnn(np.zeros((32, 10, 8), "float32")).shape
    (32, 10, 4)
    """

    _LAYER = SimpleRNN
    _NAME = "simple_rnn_cell"

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 **kwargs):
        super().__init__(units, dict(
            activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
            dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed), **kwargs)

    def _step(self, x, states, dropout_mask, recurrent_dropout_mask):
        output, h, _ = recurrent.simple_rnn_forward(
            x, *self._weights_args(), states[0], activation=self.activation,
            dropout_mask=dropout_mask, recurrent_dropout_mask=recurrent_dropout_mask)
        return output, [h]


class LSTMCell(_Cell):
    """Keras's ``LSTMCell``: one LSTM step (the equations of :class:`~rnncore.layers.LSTM`),
    states ``[h, c]``. ``RNN(cell)`` runs rnncore's fused LSTM kernel over the sequence.
    Arguments (``unit_forget_bias`` included) and weights (``kernel (input_dim, 4·units)``,
    ``recurrent_kernel (units, 4·units)``, ``bias (4·units,)``, gates i, f, c, o) are
    :class:`~rnncore.layers.LSTM`'s.

    Example
    -------
    >>> import numpy as np, rnncore
    >>> rnn = rnncore.layers.RNN(rnncore.layers.LSTMCell(4), return_state=True)
    >>> y, h, c = rnn(np.zeros((32, 10, 8), "float32"))
    >>> y.shape, h.shape, c.shape
    ((32, 4), (32, 4), (32, 4))
    """

    _LAYER = LSTM
    _NAME = "lstm_cell"
    _CONFIG = ("units", "activation", "recurrent_activation", "use_bias", "unit_forget_bias",
               "kernel_initializer", "recurrent_initializer", "bias_initializer",
               "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
               "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout",
               "recurrent_dropout", "seed")

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, implementation=2, **kwargs):
        super().__init__(units, dict(
            activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            unit_forget_bias=unit_forget_bias, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed, implementation=implementation),
            **kwargs)

    @property
    def state_size(self):
        return [self.units, self.units]

    unit_forget_bias = _from_layer("unit_forget_bias")

    def _step(self, x, states, dropout_mask, recurrent_dropout_mask):
        output, new_states, _ = recurrent.lstm_forward(
            x, *self._weights_args(), states, activation=self.activation,
            recurrent_activation=self.recurrent_activation, dropout_mask=dropout_mask,
            recurrent_dropout_mask=recurrent_dropout_mask)
        return output, new_states


class GRUCell(_Cell):
    """Keras's ``GRUCell``: one GRU step (the equations of :class:`~rnncore.layers.GRU`,
    ``reset_after`` True by default). ``RNN(cell)`` runs rnncore's fused GRU kernel over the
    sequence. Arguments and weights (``kernel (input_dim, 3·units)``,
    ``recurrent_kernel (units, 3·units)``, ``bias (2, 3·units)`` with reset_after, else
    ``(3·units,)``) are :class:`~rnncore.layers.GRU`'s.

    Example
    -------
    >>> import numpy as np, rnncore
    >>> rnn = rnncore.layers.RNN(rnncore.layers.GRUCell(4))
    >>> rnn(np.zeros((32, 10, 8), "float32")).shape
    (32, 4)
    """

    _LAYER = GRU
    _NAME = "gru_cell"
    _CONFIG = ("units", "activation", "recurrent_activation", "use_bias", "kernel_initializer",
               "recurrent_initializer", "bias_initializer", "kernel_regularizer",
               "recurrent_regularizer", "bias_regularizer", "kernel_constraint",
               "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout",
               "reset_after", "seed")

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, reset_after=True,
                 seed=None, implementation=2, **kwargs):
        super().__init__(units, dict(
            activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
            dropout=dropout, recurrent_dropout=recurrent_dropout, reset_after=reset_after,
            seed=seed, implementation=implementation), **kwargs)

    reset_after = _from_layer("reset_after")

    def _step(self, x, states, dropout_mask, recurrent_dropout_mask):
        output, new_states, _ = recurrent.gru_forward(
            x, *self._weights_args(), states[0], activation=self.activation,
            recurrent_activation=self.recurrent_activation, reset_after=self.reset_after,
            dropout_mask=dropout_mask, recurrent_dropout_mask=recurrent_dropout_mask)
        return output, new_states


for _cls in (LSTMCell, GRUCell):
    for _name in _GATED_ATTRIBUTES:
        setattr(_cls, _name, _from_layer(_name))

_BUILTIN = {"SimpleRNNCell": SimpleRNNCell, "LSTMCell": LSTMCell, "GRUCell": GRUCell}
_OF_LAYER = ((LSTM, LSTMCell), (GRU, GRUCell), (SimpleRNN, SimpleRNNCell))


def cell_of(layer):
    """Keras's ``layer.cell`` of a SimpleRNN, LSTM or GRU layer: a cell sharing its weights."""
    for layer_class, cell_class in _OF_LAYER:
        if isinstance(layer, layer_class):
            return cell_class._of(layer)
    raise AttributeError(f"{type(layer).__name__} {layer.name!r} has no cell")


def is_custom_cell(cell):
    """Whether `cell` is a user-defined cell: a layer with its own ``call`` and a state_size,
    built on ``Layer`` itself (a subclass of a built-in cell runs that cell's fused kernels,
    which its own ``call`` cannot change)."""
    if not (_recorded.has_call(cell) and hasattr(cell, "state_size")):
        return False
    return all(not c.__module__.startswith("rnncore.") for c in type(cell).__mro__
               if issubclass(c, Layer) and c is not Layer)


def output_size_of(cell):
    """Keras's width of a cell's output: its ``output_size``, else its (first) state size."""
    size = getattr(cell, "output_size", None)
    if size is not None:
        return size
    size = cell.state_size
    return size[0] if isinstance(size, (list, tuple)) else size


def check_cell(cell, argument="cell"):
    """`cell` if it is a built-in cell (or a StackedRNNCells of them): rnncore runs those on
    its fused kernels. A subclass of a built-in cell is a NotImplementedError, anything else
    a ValueError naming `argument`."""
    if isinstance(cell, StackedRNNCells) and type(cell)._step_impl is StackedRNNCells._step_impl \
            and not cell.has_custom_cells:
        return cell
    builtin = next((c for c in _BUILTIN.values() if isinstance(cell, c)), None)
    if builtin is not None and all(getattr(type(cell), m) is getattr(builtin, m)
                                   for m in ("__call__", "call", "build", "_step")):
        return cell
    if builtin is not None or _recorded.has_call(cell) or hasattr(cell, "state_size"):
        raise NotImplementedError(f"{argument}={cell!r}: {CUSTOM_CELL_MESSAGE}")
    raise ValueError(f"{argument} must be an RNN cell (SimpleRNNCell, LSTMCell, GRUCell, "
                     f"StackedRNNCells) or a list of cells, got {cell!r}")


class StackedRNNCells(Layer):
    """Keras's ``StackedRNNCells``: a list of cells run as one, each cell's output the next
    one's input. ``RNN(StackedRNNCells(cells))`` (or ``RNN(cells)``) runs one fused kernel per
    cell over the whole sequence; with a user-defined cell among them, the stack runs step by
    step (each step: every cell in turn, its states its own entry of ``states``). Weights:
    each cell's in order.

    Example
    -------
    >>> import numpy as np, rnncore
    >>> cells = [rnncore.layers.LSTMCell(8), rnncore.layers.LSTMCell(4)]
    >>> rnncore.layers.RNN(rnncore.layers.StackedRNNCells(cells))(
    ...     np.zeros((32, 10, 3), "float32")).shape
    (32, 4)
    """

    def __init__(self, cells, **kwargs):
        if not isinstance(cells, (list, tuple)) or not cells:
            raise ValueError(f"cells must be a non-empty list of RNN cells, got {cells!r}")
        for i, cell in enumerate(cells):
            if isinstance(cell, StackedRNNCells):
                raise NotImplementedError(f"cells[{i}] is a StackedRNNCells: rnncore stacks "
                                          "cells one level deep; list the cells themselves")
            if not is_custom_cell(cell):
                check_cell(cell, f"cells[{i}]")
        super().__init__(**kwargs)
        self.cells = list(cells)

    @property
    def has_custom_cells(self):
        """Whether a user-defined cell is among the cells (the stack then runs step by
        step)."""
        return any(is_custom_cell(c) for c in self.cells)

    @property
    def state_size(self):
        return [c.state_size for c in self.cells]

    @property
    def output_size(self):
        return output_size_of(self.cells[-1])

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return [w for c in self.cells for w in c.trainable_weights]

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return [w for c in self.cells for w in c.weights]
        return [w for c in self.cells for w in c.non_trainable_weights]

    def build(self, input_shape):
        batch, features = input_shape[0], input_shape[-1]
        for cell in self.cells:
            cell._maybe_build((batch, features))
            features = output_size_of(cell)
        self.built = True

    def get_initial_state(self, batch_size=None):
        """One entry per cell: its ``get_initial_state(batch_size)`` where it has one (a list
        for the built-in cells), else zeros, bare for an int ``state_size``, as Keras."""
        states = []
        for cell in self.cells:
            if hasattr(cell, "get_initial_state"):
                states.append(cell.get_initial_state(batch_size=batch_size))
            elif isinstance(cell.state_size, (list, tuple)):
                states.append([np.zeros((batch_size, d), self.dtype) for d in cell.state_size])
            else:
                states.append(np.zeros((batch_size, cell.state_size), self.dtype))
        return states

    def __call__(self, inputs, states=None, training=None):
        """One step of every cell: ``states`` one entry per cell (as Keras: a list for
        LSTMCell, an array or a list of one for the others; None for zeros). Returns
        ``(output, new_states)``, one entry per cell."""
        return self._step_impl(inputs, states, training)

    call = __call__

    def _step_impl(self, inputs, states, training):
        if states is None:
            # zeros (a built-in cell makes its own from None)
            states = self.get_initial_state(np.shape(value_of(inputs))[0]) \
                if self.has_custom_cells else [None] * len(self.cells)
        if not isinstance(states, (list, tuple)) or len(states) != len(self.cells):
            raise ValueError(f"StackedRNNCells {self.name!r}: states must be a list with one "
                             f"entry per cell ({len(self.cells)}), got {states!r}")
        new_states = []
        for cell, s in zip(self.cells, states):
            # Keras: a cell always gets a list; it hands back its states in the nesting given
            as_list = isinstance(s, (list, tuple))
            if is_custom_cell(cell) and s is not None:
                s = list(s) if as_list else [s]
            inputs, s = cell(inputs, s, training=training)
            if is_custom_cell(cell) and not as_list and isinstance(s, (list, tuple)) \
                    and len(s) == 1:
                s = s[0]
            new_states.append(s)
        return inputs, new_states

    def get_config(self):
        from ._registry import serialize

        config = super().get_config()
        config["cells"] = [serialize(c) for c in self.cells]
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        cells = [deserialize_cell(c) for c in config.pop("cells")]
        return cls(cells, **config)


def _registered_class(config):
    """The class a Keras program registered (``register_keras_serializable``) for `config`."""
    from ..utils._registration import get_custom_objects

    registered = get_custom_objects()
    cls = registered.get(config.get("registered_name"))
    if cls is None:
        cls = next((c for c in registered.values()
                    if isinstance(c, type) and c.__name__ == config["class_name"]), None)
    return cls


def deserialize_cell(config):
    """A cell from ``{"class_name": ..., "config": {...}}``: rnncore's own cell classes, or a
    user-defined one handed in ``custom_objects`` (as Keras, which needs it registered)."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"cell config must be a dict with 'class_name', got {config!r}")
    from ._registry import custom_classes

    name = config["class_name"]
    cls = {**_BUILTIN, "StackedRNNCells": StackedRNNCells}.get(name) or \
        custom_classes().get(name) or _registered_class(config)
    if cls is None:
        raise ValueError(f"unknown RNN cell class {name!r}; rnncore can rebuild "
                         f"{sorted(_BUILTIN) + ['StackedRNNCells']}, and a user-defined cell "
                         "class given in custom_objects")
    return cls.from_config(dict(config.get("config", {})))
