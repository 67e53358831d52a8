"""RNNBase: what SimpleRNN, LSTM and GRU layers share (arguments, state, masks, dropout).

A subclass sets ``GATES`` and ``N_STATES``, builds its weights in ``build`` and runs the
whole sequence through its ``rnncore.recurrent`` pair in ``_forward_op`` / ``_backward_op``.
"""
import numbers

import numpy as np

from .. import activations as _activations
from .. import constraints as _constraints
from .. import initializers as _initializers
from .. import regularizers as _regularizers
from .._random import generator
from ..recurrent import _checks
from ..recurrent import _recurrent as R
from ._arguments import ActivationAttribute
from ._base import Layer, as_float_array


def check_state_arrays(owner, states, shapes, dtype):
    """``states`` as float arrays of ``dtype``, each checked against its entry of ``shapes``;
    ``owner`` (the layer's kind and name) starts the error message. The count is the caller's
    to check: its message says what form of initial_state the layer takes."""
    checked = []
    for i, (s, shape) in enumerate(zip(states, shapes)):
        s = as_float_array(s, f"initial_state[{i}]", dtype)
        if s.shape != shape:
            raise ValueError(f"{owner}: initial_state[{i}] must have shape {shape}, got "
                             f"{s.shape}")
        checked.append(s)
    return checked


def eager_sequence_call(layer, inputs, training, mask, initial_state, input_ndim):
    """The eager call RNNBase and ConvLSTM share: Keras's list form ``[inputs,
    *initial_state]`` (told from a nested list of numbers by its first entry's rank,
    `input_ndim`), the inputs checked and the layer built, the states and the step mask
    checked, then the layer's ``forward``."""
    if (isinstance(inputs, (list, tuple)) and initial_state is None and len(inputs) > 1
            and np.ndim(inputs[0]) == input_ndim):
        inputs, initial_state = inputs[0], list(inputs[1:])
    x = layer.check_input(inputs)
    layer._maybe_build(x.shape)
    states = layer.check_initial_state(initial_state, x.shape[0])
    mask = _checks.step_mask(mask, *x.shape[:2])
    return layer.forward(x, training=bool(training), mask=mask, initial_state=states)


def check_sequence_input(layer, x):
    """A recurrent layer's eager input (a SimpleRNN/LSTM/GRU or an RNN over cells): a float
    array (batch, timesteps, features) with the features the layer was built for."""
    x = as_float_array(x, "inputs", layer.dtype)
    if x.ndim != 3:
        raise ValueError(f"{type(layer).__name__} {layer.name!r}: inputs must be 3D "
                         f"(batch, timesteps, features), got shape {x.shape}")
    if layer.built and x.shape[2] != layer.input_dim:
        raise ValueError(f"{type(layer).__name__} {layer.name!r}: inputs have {x.shape[2]} "
                         f"features, but the layer was built for {layer.input_dim}")
    if x.shape[1] == 0:
        # as Keras's layers, which fail there too: there is no step to output
        raise ValueError(f"{type(layer).__name__} {layer.name!r}: inputs must have at least "
                         f"one timestep, got shape {x.shape}")
    return x

class RNNBase(Layer):
    GATES = 1
    N_STATES = 1
    CELL_NAME = "simple_rnn_cell"  # Keras's layer owns a cell of that name, which owns the weights
    input_ndim = 3
    _in_cell = False  # the fused layer of a SimpleRNNCell, LSTMCell or GRUCell (see _cells)
    # a built-in's name (the kernels run tanh, relu, sigmoid, hard_sigmoid and linear; any
    # other, 'gelu' or a user's function, runs the steps in NumPy: recurrent/_any_activation)
    activation = ActivationAttribute()

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, unroll=False,
                 seed=None, truncate_gradient=-1, zero_output_for_mask=False, **kwargs):
        if kwargs.pop("time_major", False):  # Keras 2's argument: batch-major (False) only
            raise ValueError(f"{type(self).__name__}: time_major=True is not supported; give "
                             "inputs as (batch, timesteps, features)")
        super().__init__(**kwargs)
        if (not isinstance(units, numbers.Integral) or isinstance(units, bool) or units <= 0):
            raise ValueError(f"units must be a positive integer, got {units!r}")
        self.units = int(units)
        self.accepts_lookup = True
        self.activation = activation
        self.use_bias = bool(use_bias)
        self._weight_options(
            kernel=(kernel_initializer, kernel_regularizer, kernel_constraint),
            recurrent=(recurrent_initializer, recurrent_regularizer, recurrent_constraint),
            bias=(bias_initializer, bias_regularizer, bias_constraint))
        self.activity_regularizer = _regularizers.get(activity_regularizer,
                                                      "activity_regularizer")
        for argument, value in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not isinstance(value, numbers.Real):
                raise ValueError(f"{argument} must be a float in [0, 1], got {value!r}")
        # Keras clips the rates into [0, 1]
        self.dropout = min(1.0, max(0.0, float(dropout)))
        self.recurrent_dropout = min(1.0, max(0.0, float(recurrent_dropout)))
        if (not isinstance(truncate_gradient, numbers.Integral) or isinstance(truncate_gradient, bool)
                or (truncate_gradient < 1 and truncate_gradient != -1)):
            raise ValueError("truncate_gradient must be -1 (full BPTT) or a positive number of "
                             f"steps, got {truncate_gradient!r}")
        self.truncate_gradient = int(truncate_gradient)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.seed = seed
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.supports_masking = True
        self.states = None
        self._cache = None
        self._had_initial_state = False
        self._workspace = R.Workspace()
        self._rng = generator(seed) if seed is not None else None

    @property
    def cell(self):
        """Keras's ``layer.cell``: a SimpleRNNCell, LSTMCell or GRUCell reading this layer's
        arguments and weights (``lstm.cell.units``, ``lstm.cell.kernel``)."""
        from ._cells import cell_of

        return cell_of(self)

    # ---- shapes ------------------------------------------------------------------------
    @property
    def state_size(self):
        return [self.units] * self.N_STATES

    def get_initial_state(self, batch_size):
        """Keras's ``RNN.get_initial_state``: a list of zero states, one array
        ``(batch_size, units)`` per state (one for GRU and SimpleRNN, ``[h, c]`` for LSTM)."""
        return [np.zeros((int(batch_size), self.units), self.dtype)
                for _ in range(self.N_STATES)]

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, list):
            input_shape = input_shape[0]
        batch, steps = input_shape[0], input_shape[1]
        out = (batch, steps, self.units) if self.return_sequences else (batch, self.units)
        if self.return_state:
            return [out] + [(batch, self.units)] * self.N_STATES
        return out

    def compute_mask(self, inputs, mask=None):
        out = mask if self.return_sequences else None
        return [out] + [None] * self.N_STATES if self.return_state else out

    # ---- calling -----------------------------------------------------------------------
    def check_input(self, x):
        return check_sequence_input(self, x)

    def check_initial_state(self, initial_state, batch):
        """Validate a call-time initial state: a list of N_STATES arrays (batch, units)."""
        if initial_state is None:
            return None
        if not isinstance(initial_state, (list, tuple)):
            initial_state = [initial_state]
        if len(initial_state) != self.N_STATES:
            raise ValueError(f"{type(self).__name__} {self.name!r}: initial_state must be a list "
                             f"of {self.N_STATES} array(s) of shape (batch, {self.units}), got "
                             f"{len(initial_state)}")
        return check_state_arrays(f"{type(self).__name__} {self.name!r}", initial_state,
                                  [(batch, self.units)] * self.N_STATES, self.dtype)

    def _eager_call(self, inputs, training=False, mask=None, initial_state=None, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}() got unexpected arguments {sorted(kwargs)}")
        return eager_sequence_call(self, inputs, training, mask, initial_state, 3)

    def _symbolic_call(self, inputs, initial_state=None, **kwargs):
        if initial_state is not None:
            states = initial_state if isinstance(initial_state, (list, tuple)) else [initial_state]
            if len(states) != self.N_STATES:
                raise ValueError(f"{type(self).__name__} {self.name!r}: initial_state must be a "
                                 f"list of {self.N_STATES} tensor(s) of shape (batch, "
                                 f"{self.units}), got {len(states)}")
            for i, s in enumerate(states):
                shape = tuple(getattr(s, "shape", np.shape(s)))
                if len(shape) != 2 or shape[1] not in (None, self.units):
                    raise ValueError(f"{type(self).__name__} {self.name!r}: initial_state[{i}] "
                                     f"must have shape (batch, {self.units}), got {shape}")
            return super()._symbolic_call([inputs, *states], **kwargs)
        return super()._symbolic_call(inputs, **kwargs)

    def build(self, input_shape):
        if isinstance(input_shape, list):
            input_shape = input_shape[0]
        self.input_dim = int(input_shape[-1])
        self._build_weights(self.input_dim)
        if not self._in_cell:
            # Keras's paths: lstm/lstm_cell/kernel (a cell's own: lstm_cell/kernel)
            for var in self.weights:
                var.path = f"{self.name}/{self.CELL_NAME}/{var.name}"
        self.built = True

    # ---- training protocol -------------------------------------------------------------
    def _dropout_mask(self, rate, shape, training):
        if not training or rate <= 0:
            return None
        rng = self._rng or generator()
        if rate >= 1:
            return np.zeros(shape, dtype=self.dtype)
        keep = rng.random(shape) >= rate
        return (keep / (1.0 - rate)).astype(self.dtype)

    def forward(self, inputs, training=False, mask=None, initial_state=None):
        if isinstance(inputs, list):
            # a functional model's [sequence, *initial_state]: an Input of width None or a
            # wrong batch must not broadcast silently into the kernels' state arrays
            inputs, initial_state = inputs[0], self.check_initial_state(inputs[1:],
                                                                        inputs[0].shape[0])
        x = inputs
        B = x.shape[0]
        self._had_initial_state = initial_state is not None
        if initial_state is None and self.stateful:
            if self.states is None or self.states[0].shape[0] != B:
                if self.states is not None:
                    raise ValueError(f"{type(self).__name__} {self.name!r} is stateful with batch "
                                     f"size {self.states[0].shape[0]}, got a batch of {B}")
                self.states = [np.zeros((B, self.units), self.dtype) for _ in range(self.N_STATES)]
            initial_state = self.states
        dp = self._dropout_mask(self.dropout, (B, x.shape[2]), training)
        rdp = self._dropout_mask(self.recurrent_dropout, (B, self.units), training)
        output, states, self._cache = self._forward_op(x, initial_state, mask, dp, rdp)
        if self.stateful:
            self.states = [s.copy() for s in states]
        if self.return_state:
            return [output, *states]
        return output

    def backward(self, d_outputs):
        d_states = None
        if self.return_state and isinstance(d_outputs, (list, tuple)):
            d_output, *d_states = d_outputs
            if all(d is None for d in d_states):
                d_states = None
        else:
            d_output = d_outputs
        grads = self._backward_op(self._cache, d_output, d_states)
        for var in self.trainable_weights:
            var.grad = grads[var.name]
        if self._had_initial_state:
            d_init = grads["initial_state"]
            return [grads["x"], *(d_init if isinstance(d_init, list) else [d_init])]
        return grads["x"]

    def reset_states(self, states=None):
        """Zero the carried state of a stateful layer (or set it to `states`)."""
        if not self.stateful:
            raise AttributeError(f"Layer {self.name!r} is not stateful: reset_states needs "
                                 "stateful=True")
        if states is None:
            self.states = None if self.states is None else [np.zeros_like(s) for s in self.states]
        else:
            batch = np.asarray(states[0] if isinstance(states, (list, tuple)) else states).shape[0]
            self.states = self.check_initial_state(states, batch)

    reset_state = reset_states

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units, "activation": _activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": _initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": _initializers.serialize(self.recurrent_initializer),
            "bias_initializer": _initializers.serialize(self.bias_initializer),
            "kernel_regularizer": _regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": _regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": _regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": _constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": _constraints.serialize(self.recurrent_constraint),
            "bias_constraint": _constraints.serialize(self.bias_constraint),
            "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout,
            "return_sequences": self.return_sequences, "return_state": self.return_state,
            "go_backwards": self.go_backwards, "stateful": self.stateful,
            "unroll": self.unroll, "seed": self.seed,
            "truncate_gradient": self.truncate_gradient,
            "zero_output_for_mask": self.zero_output_for_mask,
        })
        return config

    def _forward_op(self, x, initial_state, mask, dropout_mask, recurrent_dropout_mask):
        raise NotImplementedError

    def _backward_op(self, cache, d_output, d_states):
        raise NotImplementedError

    def _build_weights(self, input_dim):
        raise NotImplementedError


class GatedRNNBase(RNNBase):
    """RNNBase plus what LSTM and GRU share: a ``recurrent_activation`` for the gates, Keras's
    ``use_cudnn`` and ``implementation`` switches (checked and kept; rnncore has one CPU
    implementation), and Keras's per-gate dropout masks."""

    recurrent_activation = ActivationAttribute()

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_cudnn="auto", implementation=2, **kwargs):
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = recurrent_activation
        if use_cudnn not in ("auto", True, False):
            raise ValueError(f"use_cudnn must be 'auto', True or False, got {use_cudnn!r}")
        self.use_cudnn = use_cudnn
        if implementation not in (0, 1, 2) or isinstance(implementation, bool):
            raise ValueError(f"implementation must be 0, 1 or 2, got {implementation!r}")
        # Keras 2's implementation=0 (in old configs) runs as 2 in Keras 3
        self.implementation = 2 if implementation == 0 else int(implementation)

    def _dropout_mask(self, rate, shape, training):
        # Keras's LSTM and GRU cells apply dropout only for 0 < rate < 1, and draw one mask per
        # gate whenever they run implementation 1 (always so with recurrent dropout).
        if rate >= 1:
            return None
        if self.implementation == 1 or self.recurrent_dropout > 0:
            shape = (self.GATES, *shape)
        return super()._dropout_mask(rate, shape, training)

    def get_config(self):
        config = super().get_config()
        config.update({"recurrent_activation": _activations.serialize(self.recurrent_activation),
                       "use_cudnn": self.use_cudnn, "implementation": self.implementation})
        return config
