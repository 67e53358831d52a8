"""The recurrent cells the ops and layer tests run over: SimpleRNN (tanh and relu), LSTM, and
GRU in both of Keras's variants. A test takes ``cell`` from ``CELLS`` and reaches the cell's
public functions and layer through it, so that one test body serves every cell."""
from dataclasses import dataclass, field

import numpy as np
import pytest

import rnncore


@dataclass(frozen=True)
class Cell:
    id: str
    layer_name: str        # rnncore.layers / keras.layers class name
    op_name: str           # rnncore.recurrent.<op_name>_forward / _backward / <op_name>
    gates: int             # G: gate blocks in kernel's last axis
    n_states: int          # 1 (h) or 2 (h, c)
    options: dict = field(default_factory=dict)   # this variant's layer and ops arguments

    def __repr__(self):
        return self.id

    @property
    def gated(self):
        """Has a recurrent_activation, per-gate dropout masks, implementation and use_cudnn."""
        return self.gates > 1

    @property
    def state_names(self):
        return ["h0", "c0"][:self.n_states]

    def bias_shape(self, units):
        """Keras's bias shape: GRU with reset_after keeps an input and a recurrent bias."""
        if self.options.get("reset_after"):
            return (2, self.gates * units)
        return (self.gates * units,)

    # ---- ops ---------------------------------------------------------------------------
    def forward(self, x, kernel, recurrent_kernel, bias=None, initial_state=None, **kwargs):
        """``ops.<cell>_forward`` with this variant's options: (output, [states], cache)."""
        kwargs = {**self.options, **kwargs}
        fn = getattr(rnncore.recurrent, f"{self.op_name}_forward")
        y, states, cache = fn(x, kernel, recurrent_kernel, bias, initial_state, **kwargs)
        return y, (list(states) if isinstance(states, (list, tuple)) else [states]), cache

    def backward(self, cache, d_output, d_states=None, need_dx=True):
        """``ops.<cell>_backward``; the gradient w.r.t. the initial state comes back as a list."""
        fn = getattr(rnncore.recurrent, f"{self.op_name}_backward")
        g = dict(fn(cache, d_output, d_states, need_dx=need_dx))
        s = g.pop("initial_state")
        g["initial_state"] = list(s) if isinstance(s, (list, tuple)) else [s]
        return g

    def forward_only(self, *args, **kwargs):
        return getattr(rnncore.recurrent, self.op_name)(*args, **{**self.options, **kwargs})

    # ---- layers ------------------------------------------------------------------------
    def layer(self, units, lib=None, **kwargs):
        """The layer of this variant (rnncore's, or Keras's with ``lib=keras``)."""
        lib = lib or rnncore
        return getattr(lib.layers, self.layer_name)(units, **{**self.options, **kwargs})


CELLS = [
    Cell("simple_rnn-tanh", "SimpleRNN", "simple_rnn", 1, 1),
    Cell("simple_rnn-relu", "SimpleRNN", "simple_rnn", 1, 1, {"activation": "relu"}),
    Cell("lstm", "LSTM", "lstm", 4, 2),
    Cell("gru-reset_after", "GRU", "gru", 3, 1, {"reset_after": True}),
    Cell("gru-reset_before", "GRU", "gru", 3, 1, {"reset_after": False}),
]
BY_ID = {c.id: c for c in CELLS}
GATED = [c for c in CELLS if c.gated]

over_cells = pytest.mark.parametrize("cell", CELLS, ids=[c.id for c in CELLS])
over_gated_cells = pytest.mark.parametrize("cell", GATED, ids=[c.id for c in GATED])


def cell_params(rows, cells=CELLS):
    """pytest params of (cell, *row) for every cell and row: ``rows`` is a list of tuples, or a
    function of the cell giving that cell's rows (so that rows can depend on its shapes)."""
    out = []
    for cell in cells:
        for i, row in enumerate(rows(cell) if callable(rows) else rows):
            row = row if isinstance(row, tuple) else (row,)
            name = row[0] if isinstance(row[0], str) else str(i)
            out.append(pytest.param(cell, *row, id=f"{cell.id}-{name}"))
    return out


def step_mask(rng, B, T):
    """A (B, T) step mask: an empty sequence, a post-padded and a pre-padded one (for T = 5:
    [1, 1, 1, 0, 0] and [0, 0, 1, 1, 1]), any further rows random."""
    mask = rng.random((B, T)) > 0.3
    mask[0, :] = False
    if B > 1:
        mask[1] = np.arange(T) < (T + 1) // 2
    if B > 2:
        mask[2] = np.arange(T) >= T // 2
    return mask


def dropout_multipliers(rng, shape):
    """Inverted-dropout multipliers at rate 0.3, as a layer draws them."""
    return (rng.random(shape) > 0.3) / 0.7


# ---- ops problems -----------------------------------------------------------------------
OPS_SHAPE = (3, 5, 2, 3)  # B, T, I, H: small enough for finite differences of every entry


def ops_problem(rng, cell, dtype=np.float64, shape=OPS_SHAPE):
    """Random inputs, weights (a non-zero bias) and initial states for ``cell``'s ops, by
    parameter name: x, kernel, recurrent_kernel, bias, h0 (and c0)."""
    batch, steps, features, units = shape
    G = cell.gates
    p = {"x": rng.standard_normal((batch, steps, features)),
         "kernel": rng.standard_normal((features, G * units)) * 0.6,
         "recurrent_kernel": rng.standard_normal((units, G * units)) * 0.5,
         "bias": rng.standard_normal(cell.bias_shape(units)) * 0.3}
    for name in cell.state_names:
        p[name] = rng.standard_normal((batch, units))
    return {k: v.astype(dtype) for k, v in p.items()}


def ops_param_names(cell):
    return ["x", "kernel", "recurrent_kernel", "bias"] + cell.state_names


def ops_forward(cell, p, bias=True, **kw):
    """``cell.forward`` on an ops_problem; one kernel thread unless asked: finite differences
    make hundreds of tiny calls, and threading is the kernel tests' subject."""
    kw.setdefault("n_threads", 1)
    return cell.forward(p["x"], p["kernel"], p["recurrent_kernel"], p["bias"] if bias else None,
                        [p[n] for n in cell.state_names], **kw)

def built_layer(rng, cell, units, input_dim, scale=1.0, **kwargs):
    """A built rnncore layer of `cell` with random weights, a non-zero bias too (uniform in
    ±0.7·scale, the bias in ±0.5)."""
    layer = cell.layer(units, **kwargs)
    layer.build((None, None, input_dim))
    for v in layer.weights:
        bound = 0.5 if v.name == "bias" else 0.7 * scale
        v.assign(rng.uniform(-bound, bound, v.shape).astype(layer.dtype))
    return layer


def keras_twin(keras, cell, layer, input_shape, **overrides):
    """The Keras layer with the rnncore layer's arguments and weights."""
    config = dict(units=layer.units, activation=layer.activation, use_bias=layer.use_bias,
                  return_sequences=layer.return_sequences, return_state=layer.return_state,
                  go_backwards=layer.go_backwards, stateful=layer.stateful,
                  dropout=layer.dropout, recurrent_dropout=layer.recurrent_dropout,
                  zero_output_for_mask=layer.zero_output_for_mask)
    if cell.gated:
        config["recurrent_activation"] = layer.recurrent_activation
        config["implementation"] = layer.implementation
    if cell.layer_name == "GRU":
        config["reset_after"] = layer.reset_after
    config.update(overrides)
    k = getattr(keras.layers, cell.layer_name)(**config)
    k.build(input_shape)
    k.set_weights(layer.get_weights())
    return k
