"""Bidirectional wrapper: one recurrent layer forward in time, a copy backward, merged."""
import numpy as np

from .._indexed_slices import IndexedSlices
from ..recurrent import _checks
from ._base import Layer
from ._conv_lstm import ConvLSTM
from ._rnn import RNNBase

MERGE_MODES = ("concat", "sum", "mul", "ave", None)


def _copy(layer, **changes):
    """A new layer of `layer`'s class and configuration with `changes`, holding the same
    activation objects (a user's function need not be registered to be copied)."""
    config = layer.get_config()
    config.update(changes)
    for key in ("activation", "recurrent_activation"):
        if key in config:
            config[key] = getattr(layer, key)
    return type(layer).from_config(config)


def _fused_equivalent(layer):
    """An ``RNN`` over one built-in cell as the SimpleRNN / LSTM / GRU layer it runs (same
    arguments, same weights in the same order); anything else as it is."""
    from ._rnn_layer import RNN, StackedRNNCells

    if not isinstance(layer, RNN) or isinstance(layer.cell, StackedRNNCells):
        return layer
    return _copy(layer.cell._layer, name=layer.name, return_sequences=layer.return_sequences,
                 return_state=layer.return_state, go_backwards=layer.go_backwards,
                 stateful=layer.stateful, zero_output_for_mask=layer.zero_output_for_mask)


class Bidirectional(Layer):
    """Runs ``layer`` forward and a copy of it with ``go_backwards`` flipped, then merges.

    The backward layer's sequence output is flipped back into input order before merging, as
    Keras does. Weights: the forward layer's, then the backward layer's.

    Parameters
    ----------
    layer : SimpleRNN, LSTM, GRU or ConvLSTM1D/2D/3D, or an RNN over one of the first three's
        cells (run as that layer); an RNN over a user-defined cell runs step by step
        (``_cell_bidirectional``).
    merge_mode : 'concat' (default), 'sum', 'mul', 'ave' or None (a list of both outputs).
    backward_layer : optional explicit backward layer.
    """

    input_ndim = 3

    def __new__(cls, layer=None, *args, **kwargs):
        # an RNN over a user-defined cell runs step by step (see _cell_bidirectional)
        from ._cell_bidirectional import CellBidirectional
        from ._cell_rnn import CellRNN

        if cls is Bidirectional and isinstance(layer, CellRNN):
            wrapper = super().__new__(CellBidirectional)
            wrapper.__init__(layer, *args, **kwargs)
            return wrapper
        return super().__new__(cls)

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        layer = _fused_equivalent(layer)
        backward_layer = _fused_equivalent(backward_layer)
        if not isinstance(layer, (RNNBase, ConvLSTM)):
            raise ValueError(f"layer must be a SimpleRNN, LSTM, GRU or ConvLSTM layer, got "
                             f"{layer!r}")
        if merge_mode not in MERGE_MODES:
            raise ValueError(f"merge_mode must be one of {MERGE_MODES}, got {merge_mode!r}")
        super().__init__(**kwargs)
        self.forward_layer = _copy(layer, name="forward_" + layer.name)
        if backward_layer is None:
            backward_layer = _copy(layer, name="backward_" + layer.name,
                                   go_backwards=not layer.go_backwards)
        elif not isinstance(backward_layer, (RNNBase, ConvLSTM)):
            raise ValueError(f"backward_layer must be a recurrent layer, got {backward_layer!r}")
        self.backward_layer = backward_layer
        if self.forward_layer.return_sequences != self.backward_layer.return_sequences:
            raise ValueError("forward and backward layers must agree on return_sequences")
        self.merge_mode = merge_mode
        self.input_ndim = self.forward_layer.input_ndim  # a ConvLSTM's sequences have frames
        self.return_sequences = self.forward_layer.return_sequences
        self.return_state = self.forward_layer.return_state
        self.stateful = self.forward_layer.stateful
        self.supports_masking = True
        # an Embedding may hand both directions its rows as an ops.Lookup (see Embedding.forward)
        self.accepts_lookup = True
        for sub in (self.forward_layer, self.backward_layer):
            # Keras zeroes masked outputs of both directions when returning sequences
            sub.zero_output_for_mask = sub.return_sequences
        self._layer_config = {"class_name": type(layer).__name__, "config": layer.get_config()}
        if weights is not None:
            self._initial_weights = weights

    def build(self, input_shape):
        fresh = [layer for layer in (self.forward_layer, self.backward_layer)
                 if not layer.built]
        self.forward_layer._maybe_build(input_shape)
        self.backward_layer._maybe_build(input_shape)
        for layer in fresh:
            # Keras's paths: bidirectional/forward_lstm/lstm_cell/kernel
            for var in layer.weights:
                var.path = f"{self.name}/{var.path}"
        self.built = True
        if getattr(self, "_initial_weights", None) is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    @property
    def _variables_all(self):
        return self.forward_layer.weights + self.backward_layer.weights

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return self.forward_layer.trainable_weights + self.backward_layer.trainable_weights

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return self._variables_all
        return self.forward_layer.non_trainable_weights + self.backward_layer.non_trainable_weights

    def check_input(self, x):
        return self.forward_layer.check_input(x)

    def _sublayers(self):
        return [self.forward_layer, self.backward_layer]

    def compute_output_shape(self, input_shape):
        out = self.forward_layer.compute_output_shape(input_shape)
        states = []
        if self.return_state:
            out, *states = out
            states = states * 2
        if self.merge_mode == "concat":
            out = tuple(out[:-1]) + (out[-1] * 2,)
        elif self.merge_mode is None:
            return [out, out] + states
        return [out] + states if self.return_state else out

    def compute_mask(self, inputs, mask=None):
        out = mask if self.return_sequences else None
        if self.merge_mode is None:
            out = [out, out]
        if self.return_state:
            n = self.forward_layer.N_STATES * 2
            return (out if isinstance(out, list) else [out]) + [None] * n
        return out

    def _split(self, y, layer):
        if layer.return_state:
            return y[0], y[1:]
        return y, []

    def forward(self, inputs, training=False, mask=None, initial_state=None):
        fw_init = bw_init = None
        self._input_shape = inputs[0].shape if isinstance(inputs, list) else inputs.shape
        if initial_state is not None:
            n = self.forward_layer.N_STATES
            fw_init, bw_init = initial_state[:n], initial_state[n:]
        outs = []
        for layer, init in ((self.forward_layer, fw_init), (self.backward_layer, bw_init)):
            out = layer.forward(inputs, training, mask, init)
            layer._record_activity(out)  # the wrapped layer's own activity_regularizer
            outs.append(self._split(out, layer))
        (yf, sf), (yb, sb) = outs
        if self.return_sequences:
            yb = yb[:, ::-1]
        self._yf, self._yb = yf, yb
        if self.merge_mode == "concat":
            out = np.concatenate([yf, yb], axis=-1)
        elif self.merge_mode == "sum":
            out = yf + yb
        elif self.merge_mode == "mul":
            out = yf * yb
        elif self.merge_mode == "ave":
            out = (yf + yb) / 2
        else:
            out = [yf, np.ascontiguousarray(yb)]
        if self.return_state:
            return (out if isinstance(out, list) else [out]) + list(sf) + list(sb)
        return out

    def backward(self, d_outputs):
        n_out = 2 if self.merge_mode is None else 1
        if self.return_state or self.merge_mode is None:
            d_out, d_states = list(d_outputs[:n_out]), list(d_outputs[n_out:])
        else:
            d_out, d_states = [d_outputs], []
        yf, yb = self._yf, self._yb
        if self.merge_mode == "concat":
            units = yf.shape[-1]
            dyf, dyb = d_out[0][..., :units], d_out[0][..., units:]
        elif self.merge_mode == "sum":
            dyf = dyb = d_out[0]
        elif self.merge_mode == "mul":
            dyf, dyb = d_out[0] * yb, d_out[0] * yf
        elif self.merge_mode == "ave":
            dyf = dyb = d_out[0] / 2
        else:
            dyf, dyb = d_out
        if self.return_sequences and dyb is not None:
            dyb = dyb[:, ::-1]
        n = self.forward_layer.N_STATES
        for layer in (self.forward_layer, self.backward_layer):
            layer.input_grad_needed = self.input_grad_needed
        fl, bl = self.forward_layer, self.backward_layer
        if self.return_state:
            dsf = d_states[:n] if d_states else [None] * n
            dsb = d_states[n:] if d_states else [None] * n
            dxf = fl.backward(fl._with_activity_grad([dyf, *dsf]))
            dxb = bl.backward(bl._with_activity_grad([dyb, *dsb]))
        else:
            dxf = fl.backward(fl._with_activity_grad(dyf))
            dxb = bl.backward(bl._with_activity_grad(dyb))
        if isinstance(dxf, list):
            return [self._sum_input_grads(dxf[0], dxb[0]), *dxf[1:], *dxb[1:]]
        return self._sum_input_grads(dxf, dxb)

    def _sum_input_grads(self, dxf, dxb):
        """The two directions' input gradients, summed per position. From an Embedding's
        lookup each is the table's IndexedSlices in its own processing order: over whole
        windows they are summed into one slice per id occurrence in time-major order; with
        truncated windows both are laid out as (batch, steps, features) and summed, and the
        Embedding slices that. Either way one slice per occurrence of the sum, as Keras's gather
        gradient of the shared input (slices of both directions kept apart would square-sum
        differently in a sparse optimizer)."""
        if dxf is None:
            return None
        if not isinstance(dxf, IndexedSlices) and not isinstance(dxb, IndexedSlices):
            return dxf + dxb
        B, T = self._input_shape[:2]
        if isinstance(dxf, IndexedSlices) and isinstance(dxb, IndexedSlices) and \
                dxf.values.shape[0] == dxb.values.shape[0] == T * B:
            # whole windows: one pass, in time-major order (a lookup's own gradient's order)
            vf, ids = self._input_order(dxf, self.forward_layer, T, B)
            vb, _ = self._input_order(dxb, self.backward_layer, T, B)
            return IndexedSlices(ids, (vf + vb).reshape(T * B, vf.shape[2]), dxf.dense_shape)
        return self._by_position(dxf, self.forward_layer) + \
            self._by_position(dxb, self.backward_layer)

    @staticmethod
    def _input_order(dx, layer, T, B):
        """A lookup's whole-window IndexedSlices as (T, B, F) values and their (T·B,) ids, both
        in input time order (`layer` processed them reversed when it goes backwards)."""
        # sizes written out: -1 cannot be inferred for an empty batch
        values, ids = dx.values.reshape(T, B, dx.values.shape[1]), dx.indices.reshape(T, B)
        if layer.go_backwards:
            values, ids = values[::-1], ids[::-1]
        return values, ids.reshape(-1)

    def _by_position(self, dx, layer):
        """An input gradient as (batch, steps, features); IndexedSlices from a lookup hold one
        row per (step, batch row) of `layer`'s BPTT window, in its processing order."""
        if not isinstance(dx, IndexedSlices):
            return dx
        B, T = self._input_shape[:2]
        F = dx.values.shape[1]
        steps = dx.values.shape[0] // B if B else 0
        out = np.zeros((T, B, F), dx.values.dtype)
        out[T - steps:] = dx.values.reshape(steps, B, F)
        if layer.go_backwards:
            out = out[::-1]
        return out.transpose(1, 0, 2)

    def _eager_call(self, inputs, training=False, mask=None, initial_state=None, **kwargs):
        if kwargs:
            raise TypeError(f"Bidirectional() got unexpected arguments {sorted(kwargs)}")
        x = self.check_input(inputs)
        self._maybe_build(x.shape)
        if initial_state is not None:
            # Keras's order: the forward layer's states, then the backward layer's
            n = self.forward_layer.N_STATES
            if not isinstance(initial_state, (list, tuple)) or len(initial_state) != 2 * n:
                got = (f"a list of {len(initial_state)}"
                       if isinstance(initial_state, (list, tuple)) else type(initial_state).__name__)
                units = getattr(self.forward_layer, "units", None)  # a ConvLSTM has filters
                shape = "" if units is None else f" of shape (batch, {units})"
                raise ValueError(f"Bidirectional {self.name!r}: initial_state must be a list of "
                                 f"{2 * n} arrays{shape} (the forward layer's states, then the "
                                 f"backward layer's), got {got}")
            initial_state = (
                self.forward_layer.check_initial_state(list(initial_state[:n]), x.shape[0])
                + self.backward_layer.check_initial_state(list(initial_state[n:]), x.shape[0]))
        mask = _checks.step_mask(mask, *x.shape[:2])
        return self.forward(x, training=bool(training), mask=mask, initial_state=initial_state)

    def reset_states(self, states=None):
        self.forward_layer.reset_states()
        self.backward_layer.reset_states()

    reset_state = reset_states

    def get_config(self):
        # the backward layer is written too, as Keras writes it: Keras 3.15 rebuilding a
        # Bidirectional without one serializes the wrapped layer twice inside its loading
        # scope, and in a file with two Bidirectionals a freed layer's reused address can hand
        # the second one an earlier layer (forward and backward then both run forwards)
        config = super().get_config()
        config.update({"layer": self._layer_config, "merge_mode": self.merge_mode,
                       "backward_layer": {"class_name": type(self.backward_layer).__name__,
                                          "config": self.backward_layer.get_config()}})
        return config

    @classmethod
    def from_config(cls, config):
        from . import deserialize

        config = dict(config)
        layer = deserialize(config.pop("layer"))
        if isinstance(config.get("backward_layer"), dict):  # Keras writes both layers
            config["backward_layer"] = deserialize(config["backward_layer"])
        return cls(layer, **config)
