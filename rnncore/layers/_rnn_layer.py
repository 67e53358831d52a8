"""Keras's ``RNN(cell)`` layer, run on rnncore's fused recurrent kernels.

``RNN(LSTMCell(8))`` runs the cell's fused LSTM layer over the whole sequence: the same
compiled kernel as ``LSTM(8)``, no Python loop over steps. A stack of cells
(``RNN([cell1, cell2])`` or ``RNN(StackedRNNCells(...))``) runs one fused layer per cell, each
returning its whole sequence to the next, which is the stacked step unrolled in the other
order: for every cell, step t only needs step t of the cell below and step t-1 of itself.
"""
import numpy as np

from ..recurrent import _checks
from ._base import Layer
from ._cell_rnn import CellRNN, rnn_config, takes_custom_path
from ._cells import StackedRNNCells, check_cell, deserialize_cell
from ._rnn import check_sequence_input, check_state_arrays


def _flatten(states):
    """Keras's nested initial_state ([[h1, c1], h2], ...) as a flat list; None stays None."""
    if states is None:
        return None
    if not isinstance(states, (list, tuple)):
        return [states]
    flat = []
    for s in states:
        flat.extend(_flatten(s) if isinstance(s, (list, tuple)) else [s])
    return flat


class RNN(Layer):
    """Keras's base recurrent layer over a cell (``keras.layers.RNN``).

    Parameters
    ----------
    cell : SimpleRNNCell, LSTMCell, GRUCell, a StackedRNNCells of them, or a list of cells
        (stacked, as Keras does), run on the fused kernels; or a user-defined cell (a layer
        with ``state_size`` and ``call(inputs, states)``, optionally ``output_size`` and
        ``get_initial_state``), alone or among the cells of a stack, run step by step
        through its recorded ops with every option below (see ``_cell_rnn.CellRNN``).
    return_sequences : return the output of every step (batch, timesteps, units), else the
        last one (batch, units).
    return_state : also return the final states. For one cell ``[output, *states]`` (LSTMCell:
        ``[output, h, c]``); for stacked cells Keras's structure ``[output, states of cell 1,
        states of cell 2, ...]``, each entry a list (``[h, c]`` for an LSTMCell, ``[h]`` for
        the others), or a bare ``h`` where the call's initial state gave that cell's state
        bare (Keras's final states take the nesting of the initial state). Inside a
        functional graph each state is its own output tensor.
    go_backwards : process the sequence in reverse (outputs come in processing order).
    stateful : carry the final states of a batch into the next one (``reset_states()``).
    unroll : accepted and ignored: the fused kernels are faster than an unrolled graph.
    zero_output_for_mask : masked steps output zeros instead of the last output.

    Call with ``initial_state`` (a list of arrays (batch, units), flat or nested per cell as
    Keras), ``mask`` (batch, timesteps) and ``training``.

    Weights: the cell's (``rnn/lstm_cell/kernel``, ``rnn/lstm_cell/recurrent_kernel``,
    ``rnn/lstm_cell/bias``; stacked: ``rnn/stacked_rnn_cells/lstm_cell/kernel`` ...), in
    Keras's ``get_weights()`` order.

    Example
    -------
    >>> import numpy as np, rnncore
    >>> cells = [rnncore.layers.LSTMCell(8), rnncore.layers.GRUCell(4)]
    >>> y, (h1, c1), (h2,) = rnncore.layers.RNN(cells, return_state=True)(
    ...     np.zeros((32, 10, 3), "float32"))
    >>> y.shape, c1.shape, h2.shape
    ((32, 4), (32, 8), (32, 4))
    """

    input_ndim = 3

    def __new__(cls, cell=None, *args, **kwargs):
        # a user-defined cell runs step by step through its recorded ops (see _cell_rnn)
        if cls is RNN and takes_custom_path(cell):
            layer = super().__new__(CellRNN)
            layer.__init__(cell, *args, **kwargs)
            return layer
        return super().__new__(cls)

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, zero_output_for_mask=False, **kwargs):
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(list(cell))
        check_cell(cell)
        cells = cell.cells if isinstance(cell, StackedRNNCells) else [cell]
        for c in cells:
            if c._is_view:
                # running it would reconfigure (return_sequences, ...) the layer it belongs to
                raise ValueError(f"{c!r} is the cell of layer {c._layer.name!r}: give RNN a cell "
                                 f"of its own, e.g. {type(c).__name__}.from_config("
                                 "layer.cell.get_config())")
        dtype = kwargs.pop("dtype", None)
        if dtype is None:
            dtypes = {c.dtype for c in cells}
            if len(dtypes) > 1:
                raise ValueError(f"the cells of an RNN must share one dtype, got {sorted(dtypes)}")
            dtype = cells[0].dtype
        super().__init__(dtype=dtype, **kwargs)
        for c in cells:
            if c.dtype != self.dtype:
                if c.built:
                    raise ValueError(f"RNN {self.name!r} has dtype {self.dtype!r}, but its cell "
                                     f"{c.name!r} was built with dtype {c.dtype!r}")
                c.dtype = c._layer.dtype = self.dtype  # no weights yet: made in the RNN's dtype
        self.cell = cell
        self._cells = cells
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.supports_masking = True
        # an Embedding may hand the first cell's kernel its rows as an ops.Lookup
        self.accepts_lookup = True
        self._had_initial_state = False

    # ---- weights and sizes ---------------------------------------------------------------
    @property
    def _layers(self):
        return [c._layer for c in self._cells]

    def _fused_parts(self):
        # a recorded call restores their caches before this layer's backward (a cell may
        # also be stepped directly in the same call)
        return self._layers

    @property
    def trainable_weights(self):
        return self.cell.trainable_weights if self.trainable else []

    @property
    def non_trainable_weights(self):
        return self.cell.non_trainable_weights if self.trainable else self.cell.weights

    @property
    def state_size(self):
        """Keras's ``RNN.state_size``: a list, one entry per state (per cell when stacked)."""
        size = self.cell.state_size
        return list(size) if isinstance(size, list) else [size]

    def get_initial_state(self, batch_size):
        """Keras's ``RNN.get_initial_state``: the cell's initial state (its
        ``get_initial_state`` when it has one, else zeros of each ``state_size``), as a
        list."""
        make = getattr(self.cell, "get_initial_state", None)
        if make is None:
            return [np.zeros((int(batch_size), d), self.dtype) for d in self.state_size]
        state = make(batch_size=int(batch_size))
        return list(state) if isinstance(state, (list, tuple)) else [state]

    @property
    def _n_states(self):
        return [c._n_states for c in self._cells]

    def _state_units(self):
        return [c.units for c in self._cells for _ in range(c._n_states)]

    def _nest(self, states, initial_state=None):
        """The flat list of final states in Keras's structure (see ``return_state``): for
        stacked cells one list per cell, or the bare state of a one-state cell whose initial
        state was given bare (Keras's states take the initial state's nesting)."""
        if not isinstance(self.cell, StackedRNNCells):
            return list(states)
        given = (initial_state if isinstance(initial_state, (list, tuple))
                 and len(initial_state) == len(self._cells) else [[]] * len(self._cells))
        nested, i = [], 0
        for c, g in zip(self._cells, given):
            n = c._n_states
            group = list(states[i:i + n])
            nested.append(group[0] if n == 1 and not isinstance(g, (list, tuple)) else group)
            i += n
        return nested

    # ---- shapes --------------------------------------------------------------------------
    def build(self, input_shape):
        if isinstance(input_shape, list):
            input_shape = input_shape[0]
        self.input_dim = int(input_shape[-1])
        self.cell._maybe_build((input_shape[0], self.input_dim))
        # Keras's paths: rnn/lstm_cell/kernel, rnn/stacked_rnn_cells/lstm_cell/kernel
        prefix = self.name + ("/" + self.cell.name if isinstance(self.cell, StackedRNNCells)
                              else "")
        for c in self._cells:
            for var in c.weights:
                var.path = f"{prefix}/{c.name}/{var.name}"
        self.built = True

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, list):
            input_shape = input_shape[0]
        batch, steps = input_shape[0], input_shape[1]
        units = self._cells[-1].units
        out = (batch, steps, units) if self.return_sequences else (batch, units)
        if not self.return_state:
            return out
        if not isinstance(self.cell, StackedRNNCells):
            return (out,) + tuple((batch, u) for u in self._state_units())
        # Keras's structure: per cell a list of its states' shapes, or the bare shape of a
        # one-state cell (an int state_size)
        per_cell = [[(batch, c.units)] * c._n_states for c in self._cells]
        return (out,) + tuple(group if len(group) > 1 else group[0] for group in per_cell)

    def compute_mask(self, inputs, mask=None):
        out = mask if self.return_sequences else None
        return [out] + [None] * sum(self._n_states) if self.return_state else out

    # ---- calling -------------------------------------------------------------------------
    def check_input(self, x):
        return check_sequence_input(self, x)

    def check_initial_state(self, initial_state, batch):
        """A call-time initial state (flat, or nested per cell as Keras) as a flat list of
        arrays (batch, units), checked; None for None."""
        if initial_state is None:
            return None
        flat = _flatten(initial_state)
        units = self._state_units()
        if len(flat) != len(units):
            raise ValueError(f"RNN {self.name!r}: initial_state must hold {len(units)} array(s) "
                             f"of shapes {[(batch, u) for u in units]}, got {len(flat)}")
        return check_state_arrays(f"RNN {self.name!r}", flat, [(batch, u) for u in units],
                                  self.dtype)

    def _eager_call(self, inputs, training=False, mask=None, initial_state=None, **kwargs):
        if kwargs:
            raise TypeError(f"RNN() got unexpected arguments {sorted(kwargs)}")
        if (isinstance(inputs, (list, tuple)) and initial_state is None and len(inputs) > 1
                and np.ndim(inputs[0]) == 3):
            inputs, initial_state = inputs[0], list(inputs[1:])  # Keras's [inputs, *states]
        x = self.check_input(inputs)
        self._maybe_build(x.shape)
        states = self.check_initial_state(initial_state, x.shape[0])
        mask = _checks.step_mask(mask, *x.shape[:2])
        out = self.forward(x, training=bool(training), mask=mask, initial_state=states)
        return [out[0], *self._nest(out[1:], initial_state)] if self.return_state else out

    def _symbolic_call(self, inputs, initial_state=None, **kwargs):
        if isinstance(inputs, (list, tuple)) and initial_state is None and len(inputs) > 1:
            inputs, initial_state = inputs[0], list(inputs[1:])  # [sequence, *states]
        states = _flatten(initial_state) or []
        units = self._state_units()
        if states:
            if len(states) != len(units):
                raise ValueError(f"RNN {self.name!r}: initial_state must hold {len(units)} "
                                 f"tensor(s) of widths {units}, got {len(states)}")
            for i, (s, u) in enumerate(zip(states, units)):
                shape = tuple(getattr(s, "shape", np.shape(s)))
                if len(shape) != 2 or shape[1] not in (None, u):
                    raise ValueError(f"RNN {self.name!r}: initial_state[{i}] must have shape "
                                     f"(batch, {u}), got {shape}")
        # the graph's node holds one flat output per state; the caller gets Keras's nesting
        out = super()._symbolic_call([inputs, *states] if states else inputs, **kwargs)
        return [out[0], *self._nest(out[1:], initial_state)] if self.return_state else out

    # ---- training protocol ---------------------------------------------------------------
    def _configure(self):
        """Set the sequence arguments of the cells' fused layers: all but the last return
        their sequence to the next; the first reads the input backwards when go_backwards
        (its output, in processing order, is what the next reads forwards); every layer
        returns its states."""
        layers = self._layers
        for i, layer in enumerate(layers):
            last = i == len(layers) - 1
            layer.return_sequences = self.return_sequences if last else True
            layer.return_state = True
            layer.go_backwards = self.go_backwards and i == 0
            layer.stateful = self.stateful
            # Keras zeroes the stack's output only; a cell above skips masked steps anyway
            layer.zero_output_for_mask = self.zero_output_for_mask and last
        return layers

    def _split_states(self, flat):
        parts, i = [], 0
        for n in self._n_states:
            parts.append(None if flat is None else list(flat[i:i + n]))
            i += n
        return parts

    def forward(self, inputs, training=False, mask=None, initial_state=None):
        if isinstance(inputs, list):
            # a functional model's [sequence, *initial_state]
            inputs, initial_state = inputs[0], self.check_initial_state(inputs[1:],
                                                                        inputs[0].shape[0])
        layers = self._configure()
        self._had_initial_state = initial_state is not None
        initial = self._split_states(initial_state)
        # the layers after the first read its output in processing order: so does their mask
        later_mask = mask
        if mask is not None and self.go_backwards:
            later_mask = np.ascontiguousarray(np.asarray(mask)[:, ::-1])
        x, states = inputs, []
        for i, layer in enumerate(layers):
            layer.input_grad_needed = self.input_grad_needed or i > 0
            x, *s = layer.forward(x, training=training, mask=mask if i == 0 else later_mask,
                                  initial_state=initial[i])
            states.extend(s)
        return [x, *states] if self.return_state else x

    def backward(self, d_outputs):
        if self.return_state and isinstance(d_outputs, (list, tuple)):
            d, *d_states = d_outputs
        else:
            d, d_states = d_outputs, None
        d_states = self._split_states(d_states)
        layers = self._layers
        d_initial = [None] * len(layers)
        for i in reversed(range(len(layers))):
            layer = layers[i]
            layer.input_grad_needed = self.input_grad_needed or i > 0
            ds = d_states[i] or [None] * layer.N_STATES
            d = layer.backward([d, *ds])
            if layer._had_initial_state:
                d, *d_initial[i] = d
        if self._had_initial_state:
            return [d, *(g for part in d_initial for g in part)]
        return d

    # ---- stateful use --------------------------------------------------------------------
    @property
    def states(self):
        """The carried states of a stateful RNN (None before its first batch), in Keras's
        structure: a flat list for one cell, one list per cell for stacked cells."""
        if any(layer.states is None for layer in self._layers):
            return None
        if isinstance(self.cell, StackedRNNCells):
            return [list(layer.states) for layer in self._layers]
        return list(self._layers[0].states)

    def reset_states(self, states=None):
        """Zero the carried states of a stateful RNN (or set them to `states`, flat or
        nested per cell)."""
        if not self.stateful:
            raise AttributeError(f"Layer {self.name!r} is not stateful: reset_states needs "
                                 "stateful=True")
        if states is None:
            for layer in self._layers:
                layer.stateful = True
                layer.reset_states()
            return
        flat = _flatten(states)
        batch = np.asarray(flat[0]).shape[0]
        for layer, part in zip(self._layers, self._split_states(
                self.check_initial_state(flat, batch))):
            layer.stateful = True
            layer.reset_states(part)

    reset_state = reset_states

    # ---- configuration -------------------------------------------------------------------
    def get_config(self):
        return rnn_config(self, super().get_config())

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        cell = deserialize_cell(config.pop("cell"))
        return cls(cell, **config)
