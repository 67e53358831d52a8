"""ConvLSTM1D, ConvLSTM2D and ConvLSTM3D: Keras's convolutional LSTM layers, forward and
backward through time over :mod:`._conv_lstm_ops`."""
import numbers

import numpy as np

from .. import activations as _activations
from .. import constraints as _constraints
from .. import initializers as _initializers
from .. import regularizers as _regularizers
from .._random import generator
from ..ops._conv import standardize_data_format, standardize_tuple
from ..recurrent import _recurrent as R
from . import _conv_lstm_ops as ops
from ._arguments import ActivationAttribute
from ._base import Layer, as_float_array, unique_name
from ._conv_nd import standardize_padding
from ._rnn import check_state_arrays, eager_sequence_call


class ConvLSTMCell:
    """Keras's ``layer.cell`` of a ConvLSTM layer (named ``conv_lstm_cell``, as Keras's): its
    weights, which the layer owns, and its arguments, read from the layer. Keras's saved files
    keep the weights under it (``layers/conv_lstm2d/cell/vars/0``)."""

    name = "conv_lstm_cell"
    _SHARED = frozenset((
        "filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate",
        "activation", "recurrent_activation", "use_bias", "unit_forget_bias", "kernel",
        "recurrent_kernel", "bias", "kernel_initializer", "recurrent_initializer",
        "bias_initializer", "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
        "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout",
        "recurrent_dropout", "seed", "dtype", "trainable", "built", "trainable_weights",
        "non_trainable_weights"))

    def __init__(self, layer):
        self._layer = layer

    def __getattr__(self, attribute):
        if attribute not in self._SHARED:
            raise AttributeError(f"{type(self).__name__} has no attribute {attribute!r}")
        return getattr(self._layer, attribute)

    @property
    def rank(self):
        return self._layer.RANK

    @property
    def weights(self):
        return self._layer.weights

    @property
    def state_size(self):
        return -1  # as Keras's: the states have a spatial shape, not a width


class ConvLSTM(Layer):
    """What ConvLSTM1D/2D/3D share; a subclass sets ``RANK``.

    Inputs ``(batch, steps, *spatial, channels)`` (channels_last) or ``(batch, steps, channels,
    *spatial)`` (channels_first). The output is the last state ``h``
    ``(batch, *new_spatial, filters)``, the whole sequence ``(batch, steps, *new_spatial,
    filters)`` with ``return_sequences``, followed by ``h`` and ``c`` with ``return_state``
    (the filters before the spatial axes for channels_first). ``new_spatial`` is the input
    convolution's: ``ceil(n / strides)`` for 'same', ``(n - dilation·(k-1) - 1) // strides + 1``
    for 'valid'.

    Weights (``conv_lstm2d/conv_lstm_cell/kernel`` ... as Keras's), gate blocks i, f, c, o on
    the last axis: ``kernel (*kernel_size, channels, 4·filters)``, ``recurrent_kernel
    (*kernel_size, filters, 4·filters)``, ``bias (4·filters,)``.
    """

    RANK = None
    N_STATES = 2  # h and c
    activation = ActivationAttribute()
    recurrent_activation = ActivationAttribute()

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, zero_output_for_mask=False,
                 **kwargs):
        rank = self.RANK
        if kwargs.get("name") is None:
            kwargs["name"] = unique_name(f"conv_lstm{rank}d")  # Keras's, not conv_lst_m2_d
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if not isinstance(filters, numbers.Integral) or isinstance(filters, bool) or \
                filters <= 0:
            raise ValueError("Invalid value for argument `filters`. Expected a strictly "
                             f"positive value. Received filters={filters!r}.")
        self.filters = int(filters)
        self.kernel_size = standardize_tuple(kernel_size, rank, "kernel_size")
        self.strides = standardize_tuple(strides, rank, "strides")
        self.padding = standardize_padding(padding, {"valid", "same"})
        self.data_format = standardize_data_format(data_format)
        self.dilation_rate = standardize_tuple(dilation_rate, rank, "dilation_rate")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError("Specifying `strides > 1` is not compatible with "
                             "`dilation_rate > 1`. Please provide `strides=1` or "
                             f"`dilation_rate=1`. Received: strides={self.strides} and "
                             f"dilation_rate={self.dilation_rate}")
        self.activation = activation
        self.recurrent_activation = recurrent_activation
        for argument, value in (("use_bias", use_bias), ("unit_forget_bias", unit_forget_bias)):
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"Argument `{argument}` must be a bool. Received: "
                                f"{argument}={value!r}")
        self.use_bias, self.unit_forget_bias = bool(use_bias), bool(unit_forget_bias)
        self._weight_options(
            kernel=(kernel_initializer, kernel_regularizer, kernel_constraint),
            recurrent=(recurrent_initializer, recurrent_regularizer, recurrent_constraint),
            bias=(bias_initializer, bias_regularizer, bias_constraint))
        for argument, value in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not isinstance(value, numbers.Real) or isinstance(value, bool):
                raise ValueError(f"Argument `{argument}` must be a float between 0 and 1. "
                                 f"Received: {argument}={value!r}")
        # Keras clips the rates into [0, 1]
        self.dropout = min(1.0, max(0.0, float(dropout)))
        self.recurrent_dropout = min(1.0, max(0.0, float(recurrent_dropout)))
        self.seed = seed
        self._rng = generator(seed) if seed is not None else None
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)  # accepted: the loop is the same either way
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.supports_masking = True
        self.input_ndim = rank + 3
        self.states = None
        self.kernel = self.recurrent_kernel = self.bias = None
        self._cache = None
        self._had_initial_state = False

    @property
    def cell(self):
        return ConvLSTMCell(self)

    # ---- shapes ---------------------------------------------------------------------------
    def _split_shape(self, shape):
        """(spatial, channels) of a step's shape (batch and steps left out)."""
        if self.data_format == "channels_first":
            return tuple(shape[1:]), shape[0]
        return tuple(shape[:-1]), shape[-1]

    def _state_shape(self, spatial):
        out = tuple(None for _ in spatial) if None in spatial else ops.conv_output_shape(
            spatial, self.kernel_size, self.strides, self.padding, self.dilation_rate)
        if any(n is not None and n <= 0 for n in out):
            raise ValueError(f"{type(self).__name__} {self.name!r}: frames of shape {spatial} "
                             f"are smaller than the kernel's span (kernel_size="
                             f"{self.kernel_size}, dilation_rate={self.dilation_rate}) with "
                             f"padding='valid'; the output would have shape {out}")
        return (self.filters, *out) if self.data_format == "channels_first" else \
            (*out, self.filters)

    def build(self, input_shape):
        if isinstance(input_shape, list):
            input_shape = input_shape[0]
        input_shape = tuple(input_shape)
        spatial, channels = self._split_shape(input_shape[2:])
        if None in spatial:
            raise ValueError("ConvLSTM layers only support static input shapes for the "
                             "spatial dimension. Received invalid input shape: "
                             f"input_shape={input_shape}")
        if channels is None:
            raise ValueError("The channel dimension of the inputs (last axis) should be "
                             "defined. Found None. Full input shape received: "
                             f"input_shape={input_shape}")
        self.input_dim = int(channels)
        self._spatial = tuple(int(n) for n in spatial)
        F = self.filters
        self.kernel = self.add_weight((*self.kernel_size, self.input_dim, 4 * F),
                                      self.kernel_initializer, "kernel")
        self.recurrent_kernel = self.add_weight((*self.kernel_size, F, 4 * F),
                                                self.recurrent_initializer, "recurrent_kernel")
        if self.use_bias:
            base = self.bias_initializer
            if self.unit_forget_bias:
                # Keras: the forget gate's block starts at one, the others from bias_initializer
                def init(shape, dtype="float32"):
                    return np.concatenate([base((F,), dtype=dtype), np.ones(F, dtype),
                                           base((2 * F,), dtype=dtype)])
            else:
                init = base
            self.bias = self.add_weight((4 * F,), init, "bias")
        for var in self.weights:
            var.path = f"{self.name}/{ConvLSTMCell.name}/{var.name}"
        self.built = True

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, list):
            input_shape = input_shape[0]
        batch, steps = input_shape[0], input_shape[1]
        state = (batch, *self._state_shape(self._split_shape(tuple(input_shape[2:]))[0]))
        out = (batch, steps, *state[1:]) if self.return_sequences else state
        return [out, state, state] if self.return_state else out

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        out = mask if self.return_sequences else None
        return [out, None, None] if self.return_state else out

    def get_initial_state(self, batch_size):
        """Keras's ``get_initial_state``: ``[h, c]``, zeros of the states' shape."""
        if not self.built:
            raise ValueError(f"{type(self).__name__} {self.name!r}: build the layer (call it "
                             "once) before asking for its initial state")
        shape = (int(batch_size), *self._state_shape(self._spatial))
        return [np.zeros(shape, self.dtype) for _ in range(2)]

    # ---- calling --------------------------------------------------------------------------
    def check_input(self, x):
        x = as_float_array(x, "inputs", self.dtype)
        if x.ndim != self.RANK + 3:
            layout = ("(batch, steps, channels, *spatial)" if self.data_format ==
                      "channels_first" else "(batch, steps, *spatial, channels)")
            raise ValueError(f"{type(self).__name__} {self.name!r}: inputs must be "
                             f"{self.RANK + 3}D {layout}, got shape {x.shape}")
        spatial, channels = self._split_shape(x.shape[2:])
        if self.built and channels != self.input_dim:
            raise ValueError(f"{type(self).__name__} {self.name!r}: inputs have {channels} "
                             f"channels, but the layer was built for {self.input_dim}")
        if x.shape[1] == 0:
            raise ValueError(f"{type(self).__name__} {self.name!r}: inputs must have at least "
                             f"one timestep, got shape {x.shape}")
        self._state_shape(spatial)
        return x

    def check_initial_state(self, initial_state, batch):
        """A call-time initial state: ``[h, c]``, each ``(batch, *new_spatial, filters)``
        (channels_first: ``(batch, filters, *new_spatial)``) for the frames the layer was
        built for."""
        if initial_state is None:
            return None
        if not isinstance(initial_state, (list, tuple)) or len(initial_state) != 2:
            got = len(initial_state) if isinstance(initial_state, (list, tuple)) else 1
            raise ValueError(f"{type(self).__name__} {self.name!r}: initial_state must be a "
                             f"list of 2 arrays [h, c], got {got}")
        shape = (batch, *self._state_shape(self._spatial))
        return check_state_arrays(f"{type(self).__name__} {self.name!r}", initial_state,
                                  [shape, shape], self.dtype)

    def _eager_call(self, inputs, training=False, mask=None, initial_state=None, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}() got unexpected arguments {sorted(kwargs)}")
        return eager_sequence_call(self, inputs, training, mask, initial_state, self.RANK + 3)

    def _symbolic_call(self, inputs, initial_state=None, **kwargs):
        if initial_state is not None:
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) else \
                [initial_state]
            if len(states) != 2:
                raise ValueError(f"{type(self).__name__} {self.name!r}: initial_state must be "
                                 f"a list of 2 tensors [h, c], got {len(states)}")
            return super()._symbolic_call([inputs, *states], **kwargs)
        return super()._symbolic_call(inputs, **kwargs)

    # ---- training protocol ----------------------------------------------------------------
    def _to_last(self, a):
        """An array (..., channels, *spatial) with the channels moved last (channels_first)."""
        if self.data_format == "channels_last":
            return a
        return np.moveaxis(a, -self.RANK - 1, -1)

    def _to_format(self, a):
        if self.data_format == "channels_last":
            return a
        return np.ascontiguousarray(np.moveaxis(a, -1, -self.RANK - 1))

    def _dropout_masks(self, rate, shape, training):
        # Keras's cell drops only for 0 < rate < 1, one mask per gate, the same at every step
        if not training or not 0.0 < rate < 1.0:
            return None
        keep = (self._rng or generator()).random((4, *shape)) >= rate
        return (keep / (1.0 - rate)).astype(self.dtype)

    @R.single_threaded_blas
    def forward(self, inputs, training=False, mask=None, initial_state=None):
        if isinstance(inputs, list):
            # a functional model's [sequence, *initial_state]
            inputs, initial_state = inputs[0], self.check_initial_state(inputs[1:],
                                                                        inputs[0].shape[0])
        x = self._to_last(inputs)
        B = x.shape[0]
        state_shape = (*ops.conv_output_shape(x.shape[2:-1], self.kernel_size, self.strides,
                                              self.padding, self.dilation_rate), self.filters)
        self._had_initial_state = initial_state is not None
        if initial_state is None and self.stateful:
            if self.states is not None and self.states[0].shape[0] != B:
                raise ValueError("If an RNN is stateful, the batch size of the input sequences "
                                 "must be the same as the batch size of the initial state. \n"
                                 f"- Expected batch size: {self.states[0].shape[0]}\n"
                                 f"- Received batch size: {B}")
            initial_state = self.states
        if initial_state is None:
            h0 = c0 = np.zeros((B, *state_shape), self.dtype)
        else:
            h0, c0 = (np.ascontiguousarray(self._to_last(np.asarray(s, self.dtype)))
                      for s in initial_state)
        if mask is not None:
            mask = np.asarray(mask, bool)
        if self.go_backwards:
            x = x[:, ::-1]
            mask = None if mask is None else mask[:, ::-1]
        outputs, h, c, self._cache = ops.forward(
            x, self.kernel.value, self.recurrent_kernel.value,
            self.bias.value if self.use_bias else None, h0, c0, strides=self.strides,
            dilation_rate=self.dilation_rate, padding=self.padding,
            activation=self.activation, recurrent_activation=self.recurrent_activation,
            mask=mask, dropout_masks=self._dropout_masks(self.dropout, x[:, 0].shape, training),
            recurrent_dropout_masks=self._dropout_masks(self.recurrent_dropout, h0.shape,
                                                        training),
            zero_output_for_mask=self.zero_output_for_mask)
        h, c = self._to_format(h), self._to_format(c)
        if self.stateful:
            self.states = [h.copy(), c.copy()]
        if self.return_sequences:
            output = self._to_format(np.swapaxes(outputs, 0, 1))
        else:
            output = self._to_format(outputs[-1])
        if self.return_state:
            return [np.ascontiguousarray(output), h, c]
        return np.ascontiguousarray(output)

    @R.single_threaded_blas
    def backward(self, d_outputs):
        d_h = d_c = None
        if self.return_state and isinstance(d_outputs, (list, tuple)):
            d_output, d_h, d_c = (list(d_outputs) + [None, None])[:3]
        else:
            d_output = d_outputs
        T = self._cache["x_shape"][1]
        d_steps = None
        if d_output is not None:
            d_output = self._to_last(np.asarray(d_output, self.dtype))
            if self.return_sequences:
                d_steps = np.ascontiguousarray(np.swapaxes(d_output, 0, 1))
            else:
                d_steps = np.zeros((T, *d_output.shape), self.dtype)
                d_steps[-1] = d_output
        grads = ops.backward(self._cache, d_steps,
                             None if d_h is None else self._to_last(np.asarray(d_h)),
                             None if d_c is None else self._to_last(np.asarray(d_c)),
                             need_dx=self.input_grad_needed or self._had_initial_state)
        if self.trainable:
            for var in self.trainable_weights:
                var.grad = grads[var.name]
        dx = grads["x"]
        if dx is not None:
            if self.go_backwards:
                dx = dx[:, ::-1]
            dx = self._to_format(dx)
        if self._had_initial_state:
            return [dx, self._to_format(grads["h0"]), self._to_format(grads["c0"])]
        return dx

    def reset_states(self, states=None):
        """Zero the carried states of a stateful layer (or set them to `states`, ``[h, c]``)."""
        if not self.stateful:
            raise AttributeError(f"Layer {self.name!r} is not stateful: reset_states needs "
                                 "stateful=True")
        if states is None:
            self.states = None if self.states is None else [np.zeros_like(s)
                                                            for s in self.states]
            return
        if not isinstance(states, (list, tuple)) or len(states) != 2:
            raise ValueError(f"{type(self).__name__} {self.name!r}: states must be a list of 2 "
                             f"arrays [h, c], got {states!r:.80}")
        batch = np.shape(states[0])[0]
        shape = (batch, *self._state_shape(self._spatial))
        self.states = check_state_arrays(f"{type(self).__name__} {self.name!r}", states,
                                         [shape, shape], self.dtype)

    reset_state = reset_states

    # ---- configuration --------------------------------------------------------------------
    def get_config(self):
        config = super().get_config()
        config.update({
            "return_sequences": self.return_sequences, "return_state": self.return_state,
            "go_backwards": self.go_backwards, "stateful": self.stateful,
            "unroll": self.unroll, "zero_output_for_mask": self.zero_output_for_mask,
            "filters": self.filters, "kernel_size": self.kernel_size, "strides": self.strides,
            "padding": self.padding, "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": _activations.serialize(self.activation),
            "recurrent_activation": _activations.serialize(self.recurrent_activation),
            "use_bias": self.use_bias,
            "kernel_initializer": _initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": _initializers.serialize(self.recurrent_initializer),
            "bias_initializer": _initializers.serialize(self.bias_initializer),
            "unit_forget_bias": self.unit_forget_bias,
            "kernel_regularizer": _regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": _regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": _regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": _regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": _constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": _constraints.serialize(self.recurrent_constraint),
            "bias_constraint": _constraints.serialize(self.bias_constraint),
            "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed})
        return config


class ConvLSTM1D(ConvLSTM):
    """1D convolutional LSTM over ``(batch, steps, length, channels)``; see :class:`ConvLSTM`.

    >>> ConvLSTM1D(4, 3, padding="same")(np.zeros((2, 5, 8, 3), "float32")).shape
    (2, 8, 4)
    """

    RANK = 1


class ConvLSTM2D(ConvLSTM):
    """2D convolutional LSTM over ``(batch, steps, rows, cols, channels)`` (Shi et al., 2015,
    without the peephole connections, as Keras's); see :class:`ConvLSTM`.

    >>> y, h, c = ConvLSTM2D(8, 3, padding="same", return_sequences=True, return_state=True)(
    ...     np.zeros((4, 10, 16, 16, 3), "float32"))
    >>> y.shape, h.shape
    ((4, 10, 16, 16, 8), (4, 16, 16, 8))
    """

    RANK = 2


class ConvLSTM3D(ConvLSTM):
    """3D convolutional LSTM over ``(batch, steps, depth, rows, cols, channels)``; see
    :class:`ConvLSTM`.

    >>> ConvLSTM3D(2, 3)(np.zeros((1, 4, 5, 5, 5, 1), "float32")).shape
    (1, 3, 3, 3, 2)
    """

    RANK = 3
