"""``RNN(cell)`` for a cell written by the user: its ``call`` run step by step.

A cell is Keras's: ``state_size`` (an int or a list of ints), ``build(input_shape)`` with
``input_shape = (batch, features)``, and ``call(inputs, states) -> (output, new_states)`` written
with :mod:`rnncore.ops`. The layer loops over the timesteps in Python; in training every step's
ops are recorded, and the backward pass replays them in reverse (backpropagation through time
by the same define-by-run mechanism as a custom layer). Correct first: a built-in cell
(``LSTMCell``, ...) runs on the fused kernels instead and is many times faster.
"""
import numpy as np

from .. import ops
from ..ops._tape import value_of
from ._base import Layer
from . import _recorded


def _sizes(state_size):
    sizes = list(state_size) if isinstance(state_size, (list, tuple)) else [state_size]
    for s in sizes:
        if not isinstance(s, (int, np.integer)) or s <= 0:
            raise ValueError(f"the cell's state_size must be a positive int or a list of them, "
                             f"got {state_size!r}")
    return [int(s) for s in sizes]


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


class CellRNN(Layer):
    """Keras's ``RNN(cell)`` over a user-defined cell (made by ``RNN`` for such a cell).

    Arguments as ``RNN``'s: ``return_sequences``, ``return_state``, ``go_backwards``,
    ``zero_output_for_mask``; ``stateful`` and ``unroll`` are refused / ignored. Weights: the
    cell's.
    """

    # the layer's own call, recorded as a custom layer's is
    _rnncore_call = True
    input_ndim = 3

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, zero_output_for_mask=False, **kwargs):
        if not hasattr(cell, "state_size"):
            raise ValueError(f"cell must have a state_size attribute (an int or a list of "
                             f"ints), got {cell!r}")
        if stateful:
            raise NotImplementedError("RNN(cell, stateful=True) with a user-defined cell is not "
                                      "supported by rnncore yet; expected stateful=False")
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = False
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.supports_masking = True

    @property
    def state_size(self):
        return _sizes(self.cell.state_size)

    def build(self, input_shape):
        if isinstance(input_shape, list):
            input_shape = input_shape[0]
        step_shape = (input_shape[0], input_shape[-1])
        if not self.cell.built:
            self.cell.build(step_shape)
            self.cell.built = True
        self.built = True

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, list):
            input_shape = input_shape[0]
        batch, steps = input_shape[0], input_shape[1]
        units = getattr(self.cell, "output_size", None) or self.state_size[0]
        out = (batch, steps, units) if self.return_sequences else (batch, units)
        if self.return_state:
            return [out] + [(batch, s) for s in self.state_size]
        return out

    def compute_mask(self, inputs, mask=None):
        out = mask if self.return_sequences else None
        return [out] + [None] * len(self.state_size) if self.return_state else out

    def call(self, inputs, training=None, mask=None, initial_state=None):
        if isinstance(inputs, (list, tuple)):
            inputs, initial_state = inputs[0], list(inputs[1:])
        batch, steps = ops.shape(inputs)[:2]
        sizes = self.state_size
        if initial_state is None:
            states = [np.zeros((batch, s), self.dtype) for s in sizes]
        else:
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) else \
                [initial_state]
            if len(states) != len(sizes):
                raise ValueError(f"RNN {self.name!r}: initial_state must hold {len(sizes)} "
                                 f"array(s) of widths {sizes}, got {len(states)}")
        keep = None if mask is None else np.asarray(value_of(mask)).astype(bool)
        order = range(steps - 1, -1, -1) if self.go_backwards else range(steps)
        # the timesteps as one op: its gradient stacks the steps' gradients once
        step_inputs = ops.unstack(inputs, axis=1)
        outputs, last = [], None
        for t in order:
            out, new = self.cell(step_inputs[t], states, training=training) \
                if _takes_training(self.cell) else self.cell(step_inputs[t], states)
            new = list(new) if isinstance(new, (list, tuple)) else [new]
            if keep is not None:
                m = keep[:, t:t + 1]
                if last is None:
                    last = out * 0.0
                new = [ops.where(m, n, s) for n, s in zip(new, states)]
                out = ops.where(m, out, out * 0.0 if self.zero_output_for_mask else last)
            last, states = out, new
            outputs.append(out)
        y = ops.stack(outputs, axis=1) if self.return_sequences else outputs[-1]
        return [y, *states] if self.return_state else y

    def get_config(self):
        return rnn_config(self, super().get_config())


class _CellStack(Layer):
    """Keras's stacking of cells given to ``RNN`` as a list, for user-defined cells: each
    cell's output is the next one's input; the states are the cells' one after another."""

    _rnncore_call = True

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        self.cells = list(cells)

    @property
    def state_size(self):
        return [s for c in self.cells for s in _sizes(c.state_size)]

    @property
    def output_size(self):
        last = self.cells[-1]
        return getattr(last, "output_size", None) or _sizes(last.state_size)[0]

    def build(self, input_shape):
        shape = tuple(input_shape)
        for cell in self.cells:
            if not cell.built:
                cell.build(shape)
                cell.built = True
            width = getattr(cell, "output_size", None) or _sizes(cell.state_size)[0]
            shape = shape[:-1] + (width,)
        self.built = True

    def call(self, inputs, states, training=None):
        new, i = [], 0
        for cell in self.cells:
            n = len(_sizes(cell.state_size))
            own = list(states[i:i + n])
            i += n
            inputs, out_states = cell(inputs, own, training=training) \
                if _takes_training(cell) else cell(inputs, own)
            new.extend(out_states if isinstance(out_states, (list, tuple)) else [out_states])
        return inputs, new


def _takes_training(cell):
    return "training" in _recorded._call_arguments(cell) if _recorded.has_call(cell) else False


def stack_of_custom_cells(cells):
    """A list of cells with a user-defined one among them, stacked for ``CellRNN`` (every
    cell then runs step by step, built-in ones through their own step); None otherwise."""
    if isinstance(cells, (list, tuple)) and any(is_custom_cell(c) for c in cells):
        return _CellStack(cells)
    return None


def is_custom_cell(cell):
    """Whether `cell` is a user-defined cell: a layer with its own ``call`` and a state_size,
    built on ``Layer`` itself (a subclass of a built-in cell runs that cell's fused kernels,
    which its own ``call`` cannot change)."""
    if not (_recorded.has_call(cell) and hasattr(cell, "state_size")):
        return False
    return all(not c.__module__.startswith("rnncore.") for c in type(cell).__mro__
               if issubclass(c, Layer) and c is not Layer)
