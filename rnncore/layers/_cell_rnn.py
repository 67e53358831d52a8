"""``RNN(cell)`` for a cell written by the user: its ``call`` run step by step.

A cell is Keras's: ``state_size`` (an int, or a list of ints or of lists), optionally
``output_size`` and ``get_initial_state(batch_size)``, ``build(input_shape)`` with
``input_shape = (batch, features)``, and ``call(inputs, states[, training]) -> (output,
new_states)`` written with :mod:`rnncore.ops`; or a StackedRNNCells (or list) with such a cell
among built-in ones. The layer loops over the timesteps in Python; in training every step's
ops are recorded, and the backward pass replays them in reverse (backpropagation through time
by the same define-by-run mechanism as a custom layer). Correct first: a built-in cell
(``LSTMCell``, ...) alone runs on the fused kernels instead and is many times faster.
"""
import numpy as np

from .. import ops
from ..ops._tape import value_of
from ._base import Layer, Node, SymbolicTensor, _is_symbolic, unique_name
from . import _recorded
from ._cells import StackedRNNCells, is_custom_cell, output_size_of


def _check_sizes(state_size, where="the cell's state_size"):
    sizes = state_size if isinstance(state_size, (list, tuple)) else [state_size]
    if not sizes:
        raise ValueError(f"{where} must be a positive int or a list of them, got {state_size!r}")
    for s in sizes:
        if isinstance(s, (list, tuple)):
            _check_sizes(s, where)
        elif not isinstance(s, (int, np.integer)) or isinstance(s, bool) or s <= 0:
            raise ValueError(f"{where} must be a positive int or a (nested) list of them, "
                             f"got {state_size!r}")


def _flat(x):
    if isinstance(x, (list, tuple)):
        return [v for item in x for v in _flat(item)]
    return [x]


def _like(template, flat):
    """The items of `flat`, in order, nested as `template` is (lists for its lists)."""
    items = iter(flat)

    def build(t):
        return [build(i) for i in t] if isinstance(t, (list, tuple)) else next(items)
    return build(template)


def _zip_map(fn, a, b):
    if isinstance(a, (list, tuple)):
        return [_zip_map(fn, x, y) for x, y in zip(a, b)]
    return fn(a, b)


def rnn_config(layer, config):
    """Keras's ``RNN`` entries of `layer`'s config (an RNN over built-in cells, or over custom
    ones), added to its Layer `config`."""
    from ._registry import serialize

    config.update({"return_sequences": layer.return_sequences,
                   "return_state": layer.return_state, "go_backwards": layer.go_backwards,
                   "stateful": layer.stateful, "unroll": layer.unroll,
                   "zero_output_for_mask": layer.zero_output_for_mask,
                   "cell": serialize(layer.cell)})
    return config


class StatesFlatInGraphs(Layer):
    """A recorded-call layer whose outputs are an output and states that may nest (Keras's
    structure): ``call`` returns them flat, one per output of a functional graph's node
    (which also takes the initial states flat after the sequence); a caller gets them nested
    by ``_nest``. A subclass defines ``_nest(flat, initial_state)`` and, for the flat
    states coming in, reads the nesting the caller gave in ``self._given`` (None: its own
    default)."""

    _rnncore_call = True
    _given = None

    def _nest(self, flat, initial_state):
        raise NotImplementedError

    def __call__(self, inputs, *args, **kwargs):
        given = kwargs.get("initial_state")
        if given is not None and not _is_symbolic([inputs, given]) and \
                not _recorded.is_recorded([inputs, given]):
            # on arrays the states join the inputs, so that backward returns their gradients
            kwargs = dict(kwargs, initial_state=None)
            inputs = [inputs, *_flat(given)]
        self._given = None if given is None else _zip_map(lambda *_: None, given, given)
        try:
            out = super().__call__(inputs, *args, **kwargs)
        finally:
            self._given = None
        if not isinstance(out, list) or isinstance(out[0], SymbolicTensor):
            return out
        return self._nest(out, given)

    def _symbolic_call(self, inputs, initial_state=None, **kwargs):
        if isinstance(inputs, (list, tuple)) and initial_state is None and len(inputs) > 1:
            inputs, initial_state = inputs[0], list(inputs[1:])  # [sequence, *states]
        states = [] if initial_state is None else _flat(initial_state)
        self.check_input_shape(inputs.shape)
        self._maybe_build(inputs.shape)
        shapes = _flat_shapes(self.compute_output_shape(inputs.shape))
        index = len(self._inbound_nodes)
        outputs = [SymbolicTensor(s, self.dtype, self, index, i, name=self.name)
                   for i, s in enumerate(shapes)]
        outputs = outputs if len(outputs) > 1 else outputs[0]
        self._inbound_nodes.append(Node(self, [inputs, *states] if states else inputs,
                                        outputs, kwargs))
        return self._nest(outputs, initial_state) if isinstance(outputs, list) else outputs


class CellRNN(StatesFlatInGraphs):
    """Keras's ``RNN(cell)`` over a user-defined cell, or a StackedRNNCells (or list) with one
    among its cells (made by ``RNN`` for such a cell).

    Arguments as ``RNN``'s: ``return_sequences``, ``return_state``, ``go_backwards``,
    ``stateful`` (the final states carried into the next batch, ``reset_states()``),
    ``zero_output_for_mask``; ``unroll`` is accepted and changes nothing (the loop is Python's
    either way). Weights: the cell's.

    The states are Keras's structure: a list with one entry per entry of ``state_size`` (for
    stacked cells one per cell, a list for a cell of several states), from the cell's
    ``get_initial_state(batch_size=...)`` where it has one, else zeros. With ``return_state``
    the final states follow the output in that structure.
    """

    input_ndim = 3
    _keras_class_name = "RNN"

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, zero_output_for_mask=False, **kwargs):
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(list(cell))
        if not hasattr(cell, "state_size"):
            raise ValueError(f"cell must have a state_size attribute (an int or a list of "
                             f"ints), got {cell!r}")
        _check_sizes(cell.state_size)
        if not kwargs.get("name"):
            kwargs["name"] = unique_name("rnn")  # Keras's name: this is its RNN layer
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.supports_masking = True
        self.states = None

    @property
    def state_size(self):
        """Keras's ``RNN.state_size``: a list, one entry per state (an entry per cell, itself
        a list for a cell of several states, when stacked)."""
        size = self.cell.state_size
        return list(size) if isinstance(size, (list, tuple)) else [size]

    def build(self, input_shape):
        if isinstance(input_shape, list) and not isinstance(input_shape[0], (int, type(None))):
            input_shape = input_shape[0]
        step_shape = (input_shape[0], input_shape[-1])
        if not self.cell.built:
            self.cell._maybe_build(step_shape)
            self.cell.built = True
        # Keras's paths: rnn/minimal_cell/kernel, rnn/stacked_rnn_cells/minimal_cell/kernel
        prefix = self.name + ("/" + self.cell.name if isinstance(self.cell, StackedRNNCells)
                              else "")
        for var in self.cell.weights:
            if not var.path.startswith(prefix + "/"):
                var.path = f"{prefix}/{var.path}"
        if self.stateful and self.states is None and input_shape[0] is not None:
            # Keras makes a stateful layer's zero states when a static batch size builds it
            self._initial_states(int(input_shape[0]), None)
        self.built = True

    def _state_shapes(self, batch):
        return _zip_map(lambda size, _: (batch, size), self.state_size, self.state_size)

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, list) and not isinstance(input_shape[0], (int, type(None))):
            input_shape = input_shape[0]
        batch, steps = input_shape[0], input_shape[1]
        units = output_size_of(self.cell)
        out = (batch, steps, units) if self.return_sequences else (batch, units)
        if self.return_state:
            return [out] + self._state_shapes(batch)
        return out

    def compute_mask(self, inputs, mask=None):
        out = mask if self.return_sequences else None
        # one entry per output of the graph's node (the states flat)
        return [out] + [None] * len(_flat(self.state_size)) if self.return_state else out

    # ---- the states ----------------------------------------------------------------------
    def get_initial_state(self, batch_size):
        """The cell's ``get_initial_state(batch_size=...)`` as a list, else zeros for each
        entry of ``state_size``."""
        make = getattr(self.cell, "get_initial_state", None)
        if make is None:
            return _zip_map(lambda size, _: np.zeros((batch_size, size), self.dtype),
                            self.state_size, self.state_size)
        states = make(batch_size=batch_size)
        return list(states) if isinstance(states, (list, tuple)) else [states]

    def _structure(self, initial_state=None):
        """The nesting of the states (None at each leaf): the initial state's, as Keras's
        final states take it."""
        if initial_state is None:
            initial_state = self.get_initial_state(1)
        elif not isinstance(initial_state, (list, tuple)):
            initial_state = [initial_state]
        return _zip_map(lambda *_: None, list(initial_state), list(initial_state))

    def _initial_states(self, batch, initial_state):
        if initial_state is not None:
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) else \
                [initial_state]
            want = _flat(self.state_size)
            if len(_flat(states)) != len(want):
                raise ValueError(f"RNN {self.name!r}: initial_state must hold {len(want)} "
                                 f"array(s) of widths {want}, got {len(_flat(states))}")
            return states
        if not self.stateful:
            return self.get_initial_state(batch)
        if self.states is None:
            self.states = [np.asarray(value_of(s)) for s in _flat(self.get_initial_state(batch))]
            self.states = _like(self._structure(), self.states)
        carried = _flat(self.states)[0].shape[0]
        if carried != batch:
            raise ValueError(f"RNN {self.name!r} is stateful with batch size {carried}: every "
                             f"batch must have {carried} sequences, got {batch} (give "
                             "predict/fit that batch_size, or call reset_states())")
        return self.states

    def reset_states(self, states=None):
        """Zero the carried states of a stateful RNN (or set them to `states`, in the
        structure of ``state_size``)."""
        if not self.stateful:
            raise AttributeError(f"Layer {self.name!r} is not stateful: reset_states needs "
                                 "stateful=True")
        if states is not None:
            flat = [np.asarray(value_of(s), self.dtype) for s in _flat(states)]
            if len(flat) != len(_flat(self.state_size)):
                raise ValueError(f"RNN {self.name!r}: states must hold "
                                 f"{len(_flat(self.state_size))} arrays, got {len(flat)}")
            self.states = _like(self._structure(), flat)
        elif self.states is not None:
            self.states = _zip_map(lambda s, _: np.zeros_like(s), self.states, self.states)

    reset_state = reset_states

    # ---- calling -------------------------------------------------------------------------
    def call(self, inputs, training=None, mask=None, initial_state=None):
        if isinstance(inputs, (list, tuple)):
            # a functional graph's [sequence, *states], the states flat
            inputs, flat = inputs[0], list(inputs[1:])
            initial_state = _like(self._given or self._structure(), flat) if flat else None
        batch, steps = ops.shape(inputs)[:2]
        states = self._initial_states(batch, initial_state)
        keep = None if mask is None else np.asarray(value_of(mask)).astype(bool)
        order = range(steps - 1, -1, -1) if self.go_backwards else range(steps)
        # the timesteps as one op: its gradient stacks the steps' gradients once
        step_inputs = ops.unstack(inputs, axis=1)
        outputs, last = [], None
        for t in order:
            out, new = self.cell(step_inputs[t], states, training=training)
            new = list(new) if isinstance(new, (list, tuple)) else [new]
            if keep is not None:
                # a masked step keeps the states and repeats the last output (or zeros)
                m = keep[:, t:t + 1]
                if last is None:
                    last = out * 0.0
                new = _zip_map(lambda n, s: ops.where(m, n, s), new, states)
                out = ops.where(m, out, out * 0.0 if self.zero_output_for_mask else last)
            last, states = out, new
            outputs.append(out)
        if self.stateful:
            self.states = _zip_map(lambda s, _: np.array(value_of(s)), states, states)
        y = ops.stack(outputs, axis=1) if self.return_sequences else outputs[-1]
        return [y, *_flat(states)] if self.return_state else y

    def _nest(self, flat, initial_state):
        if not self.return_state:
            return flat
        return [flat[0], *_like(self._structure(initial_state), flat[1:])]

    def get_config(self):
        return rnn_config(self, super().get_config())

    @classmethod
    def from_config(cls, config):
        from ._cells import deserialize_cell

        config = dict(config)
        return cls(deserialize_cell(config.pop("cell")), **config)


def _flat_shapes(shape):
    """A shape tuple, or nested lists of them, as a flat list of the tuples."""
    if isinstance(shape, tuple):
        return [shape]
    return [t for s in shape for t in _flat_shapes(s)]


def takes_custom_path(cell):
    """Whether ``RNN(cell)`` runs step by step: a user-defined cell, or a stack (a list or a
    StackedRNNCells) with one among its cells."""
    if isinstance(cell, (list, tuple)):
        return any(is_custom_cell(c) for c in cell)
    if isinstance(cell, StackedRNNCells):
        return cell.has_custom_cells
    return is_custom_cell(cell)
