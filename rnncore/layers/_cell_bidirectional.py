"""Keras's ``Bidirectional`` over ``RNN(cell)`` with a user-defined cell: both directions run
step by step through their recorded ops (see ``_cell_rnn``), then merge."""
from .. import ops
from ._base import unique_name
from ._cell_rnn import CellRNN, StatesFlatInGraphs, _flat, _like
from ._cells import StackedRNNCells

MERGE_MODES = ("concat", "sum", "mul", "ave", None)


def clone_cell(cell):
    """A fresh cell of `cell`'s class and configuration (a stack's cells each cloned), no
    weights shared: Keras rebuilds the layers it wraps from their config."""
    if isinstance(cell, StackedRNNCells):
        config = cell.get_config()
        config.pop("cells")
        return StackedRNNCells([clone_cell(c) for c in cell.cells], **config)
    try:
        return type(cell).from_config(cell.get_config())
    except TypeError as exc:
        raise TypeError(f"Bidirectional rebuilds its layer from the config, as Keras does: cell "
                        f"{cell.name!r} ({type(cell).__name__}) could not be rebuilt from "
                        f"get_config() ({exc}); give the class a get_config() that returns "
                        "its constructor's arguments") from exc


def clone_rnn(layer, **changes):
    """A CellRNN of `layer`'s configuration and a cloned cell, with `changes` applied."""
    config = layer.get_config()
    config.pop("cell")
    config.update(changes)
    return CellRNN(clone_cell(layer.cell), **config)


def _unprefixed(name, prefix):
    return name[len(prefix):] if name.startswith(prefix) else name


class CellBidirectional(StatesFlatInGraphs):
    """``Bidirectional(RNN(cell))`` for a user-defined cell (made by ``Bidirectional``): a
    copy of the layer forward, one with ``go_backwards=True``, the backward outputs flipped
    back into input order, merged by ``merge_mode``. With ``return_state``: the merged output,
    then the forward layer's final states, then the backward one's (each in Keras's
    nesting). ``initial_state`` is the forward states followed by the backward ones.
    Weights: the forward layer's, then the backward layer's."""

    input_ndim = 3
    _keras_class_name = "Bidirectional"

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None,
                 **kwargs):
        if merge_mode not in MERGE_MODES:
            raise ValueError(f"merge_mode must be one of {MERGE_MODES}, got {merge_mode!r}")
        if not isinstance(layer, CellRNN) or not (backward_layer is None or
                                                  isinstance(backward_layer, CellRNN)):
            raise ValueError(f"Bidirectional over a user-defined cell needs RNN(cell) layers, "
                             f"got layer={layer!r}, backward_layer={backward_layer!r}")
        if not kwargs.get("name"):
            kwargs["name"] = unique_name("bidirectional")
        super().__init__(**kwargs)
        self.forward_layer = clone_rnn(layer, name="forward_" + _unprefixed(layer.name,
                                                                            "forward_"))
        self.backward_layer = backward_layer if backward_layer is not None else clone_rnn(
            layer, name="backward_" + _unprefixed(layer.name, "backward_"), go_backwards=True)
        if self.forward_layer.go_backwards == self.backward_layer.go_backwards:
            raise ValueError("the forward and backward layers must differ in go_backwards, got "
                             f"{self.forward_layer.go_backwards} for both")
        for name in ("stateful", "return_sequences", "return_state"):
            if getattr(self.forward_layer, name) != getattr(self.backward_layer, name):
                raise ValueError(f"the forward and backward layers must agree on {name}, got "
                                 f"{getattr(self.forward_layer, name)} and "
                                 f"{getattr(self.backward_layer, name)}")
        for sub in (self.forward_layer, self.backward_layer):
            # Keras zeroes the masked outputs of both directions when returning sequences
            sub.zero_output_for_mask = sub.return_sequences
        self.merge_mode = merge_mode
        self.stateful = layer.stateful
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.supports_masking = True
        self._initial_weights = weights

    def build(self, input_shape):
        self.forward_layer._maybe_build(input_shape)
        self.backward_layer._maybe_build(input_shape)
        self.built = True
        if self._initial_weights is not None:
            # Keras's `weights`: the forward layer's, then the backward layer's
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def _outputs_count(self):
        return 1 if self.merge_mode is not None else 2

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, list) and not isinstance(input_shape[0], (int, type(None))):
            input_shape = input_shape[0]
        shape = self.forward_layer.compute_output_shape(input_shape)
        out, states = (shape[0], shape[1:]) if self.return_state else (shape, [])
        if self.merge_mode == "concat":
            out = out[:-1] + (2 * out[-1],)
        outs = [out] * self._outputs_count()
        if self.return_state:
            return outs + states + states
        return outs if len(outs) > 1 else outs[0]

    def compute_mask(self, inputs, mask=None):
        out = mask if self.return_sequences else None
        outs = [out] * self._outputs_count()
        if self.return_state:
            return outs + [None] * (2 * len(_flat(self.forward_layer.state_size)))
        return outs if len(outs) > 1 else out

    def reset_states(self, states=None):
        """Zero the carried states of both directions (stateful layers)."""
        half = None if states is None else len(states) // 2
        self.forward_layer.reset_states(None if states is None else states[:half])
        self.backward_layer.reset_states(None if states is None else states[half:])

    reset_state = reset_states

    def call(self, inputs, training=None, mask=None, initial_state=None):
        if isinstance(inputs, (list, tuple)):
            # a functional graph's [sequence, *states], the states flat
            inputs, flat = inputs[0], list(inputs[1:])
            if flat:
                nesting = self._given or [*self.forward_layer._structure(),
                                          *self.backward_layer._structure()]
                initial_state = _like(nesting, flat)
        forward_state = backward_state = None
        if initial_state is not None:
            half = len(initial_state) // 2
            forward_state, backward_state = initial_state[:half], initial_state[half:]
        y = self.forward_layer(inputs, initial_state=forward_state, mask=mask,
                               training=training)
        y_rev = self.backward_layer(inputs, initial_state=backward_state, mask=mask,
                                    training=training)
        states = []
        if self.return_state:
            states = _flat(y[1:]) + _flat(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = ops.flip(y_rev, axis=1)
        if self.merge_mode == "concat":
            outputs = [ops.concatenate([y, y_rev], axis=-1)]
        elif self.merge_mode == "sum":
            outputs = [y + y_rev]
        elif self.merge_mode == "ave":
            outputs = [(y + y_rev) / 2]
        elif self.merge_mode == "mul":
            outputs = [y * y_rev]
        else:
            outputs = [y, y_rev]
        flat = outputs + states
        return flat if len(flat) > 1 else flat[0]

    def _nest(self, flat, initial_state):
        if not self.return_state:
            return flat
        n = self._outputs_count()
        half = None if initial_state is None else len(initial_state) // 2
        forward = self.forward_layer._structure(
            None if initial_state is None else initial_state[:half])
        backward = self.backward_layer._structure(
            None if initial_state is None else initial_state[half:])
        return flat[:n] + _like(forward + backward, flat[n:])

    def get_config(self):
        from ._registry import serialize

        # Keras's entries (both layers written); Bidirectional.from_config reads them
        config = super().get_config()
        config.update({"merge_mode": self.merge_mode, "layer": serialize(self.forward_layer),
                       "backward_layer": serialize(self.backward_layer)})
        return config
