"""The recurrent cells the ops and layer tests run over: SimpleRNN (tanh and relu), LSTM, and
GRU in both of Keras's variants. A test takes ``cell`` from ``CELLS`` and reaches the cell's
public functions and layer through it, so that one test body serves every cell."""
from dataclasses import dataclass, field

import pytest

import rnncore


@dataclass(frozen=True)
class Cell:
    id: str
    layer_name: str        # rnncore.layers / keras.layers class name
    op_name: str           # rnncore.ops.<op_name>_forward / _backward / <op_name>
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
        fn = getattr(rnncore.ops, f"{self.op_name}_forward")
        y, states, cache = fn(x, kernel, recurrent_kernel, bias, initial_state, **kwargs)
        return y, (list(states) if isinstance(states, (list, tuple)) else [states]), cache

    def backward(self, cache, d_output, d_states=None, need_dx=True):
        """``ops.<cell>_backward``; the gradient w.r.t. the initial state comes back as a list."""
        fn = getattr(rnncore.ops, f"{self.op_name}_backward")
        g = dict(fn(cache, d_output, d_states, need_dx=need_dx))
        s = g.pop("initial_state")
        g["initial_state"] = list(s) if isinstance(s, (list, tuple)) else [s]
        return g

    def forward_only(self, *args, **kwargs):
        return getattr(rnncore.ops, self.op_name)(*args, **{**self.options, **kwargs})

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
    """A (B, T) step mask with an empty sequence, a post-padded and a pre-padded one."""
    mask = rng.random((B, T)) > 0.3
    mask[0, :] = False
    if B > 1:
        mask[1, T // 2:] = False
    if B > 2:
        mask[2, :T // 2] = False
    return mask
