"""Argument checks shared by the public recurrent ops (SimpleRNN, LSTM, GRU and their backward).

The kernels trust their inputs: a recurrent kernel with too few rows reads past its end, a
mask of the wrong length is read as a different one. So every public function checks every
argument here, once per call, before anything reaches a kernel, and says which argument is
wrong, what it got and what it expected (``"<argument> must ..., got ..."``, the form used
throughout rnncore). Each check is a few shape comparisons and, for masks, one pass over
(batch, timesteps) values: small next to one step of the recurrence.
"""
import numbers

import numpy as np

_NUMERIC_KINDS = "biuf"  # bool, signed and unsigned ints, floats


def as_numeric(a, argument):
    """``np.asarray(a)``, which must be a numeric (bool, integer or float) array."""
    try:
        arr = np.asarray(a)
    except (ValueError, TypeError) as e:  # ragged nested lists
        raise ValueError(f"{argument} must be a numeric array, got {type(a).__name__} that "
                         f"NumPy cannot make one array of ({e})") from None
    if arr.dtype.kind not in _NUMERIC_KINDS:
        raise ValueError(f"{argument} must be a numeric array, got dtype {arr.dtype}")
    return arr


def compute_dtype(kernel):
    """The one float dtype of a call, from the kernel: float32 for float16/float32 weights,
    float64 for float64, integer or bool ones (what ``np.result_type(kernel, float32)`` gives
    for those; wider floats are computed in float64)."""
    kernel = as_numeric(kernel, "kernel")
    if kernel.dtype in (np.float16, np.float32):
        return np.dtype(np.float32), kernel
    return np.dtype(np.float64), kernel


def weight(a, argument, shape, dtype, expected=None, note=""):
    """A weight as a C-contiguous array of `dtype` and exactly `shape` (no copy when it is one
    already). `expected` is how the message writes the shape, e.g. "(units, 4 * units)"."""
    arr = as_numeric(a, argument)
    if arr.shape != tuple(shape):
        what = f"{expected} = {tuple(shape)}" if expected else f"{tuple(shape)}"
        raise ValueError(f"{argument} must have shape {what}{note}, got {arr.shape}")
    return np.ascontiguousarray(arr, dtype=dtype)


def recurrent_weights(x_features, kernel, recurrent_kernel, bias, gates, dtype, bias_shape=None,
                      bias_note=""):
    """kernel (F, G·H), recurrent_kernel (H, G·H), bias (G·H,) or `bias_shape` (GRU's), each
    as C-contiguous `dtype`. H comes from the recurrent kernel, which must have a unit."""
    g = "" if gates == 1 else f"{gates} * "
    u = as_numeric(recurrent_kernel, "recurrent_kernel")
    if u.ndim != 2 or u.shape[0] < 1 or u.shape[1] != gates * u.shape[0]:
        raise ValueError(f"recurrent_kernel must have shape (units, {g}units), got {u.shape}"
                         + (" (units must be at least 1)" if u.ndim == 2 and not u.shape[0]
                            else ""))
    H = u.shape[0]
    recurrent_kernel = np.ascontiguousarray(u, dtype=dtype)
    kernel = weight(kernel, "kernel", (x_features, gates * H), dtype,
                    f"(input_dim, {g}units)")
    if bias is not None:
        if bias_shape is None:
            bias = weight(bias, "bias", (gates * H,), dtype, f"({g}units,)")
        else:
            bias = weight(bias, "bias", bias_shape(H), dtype, note=bias_note)
    return kernel, recurrent_kernel, bias, H


def inputs(x):
    """x (batch, timesteps, features) with at least one timestep: a numeric array, or an
    ``ops.Lookup`` (checked when made). Returns (x, B, T, F)."""
    from ._recurrent import Lookup  # _recurrent imports this module

    if not isinstance(x, Lookup):
        x = as_numeric(x, "x")
        if x.ndim != 3:
            raise ValueError(f"x must be 3D (batch, timesteps, features), got shape {x.shape}")
    B, T, F = x.shape
    if T == 0:
        # Keras's layers fail on zero timesteps too: there is no output step to return
        raise ValueError(f"x must have at least one timestep, got shape {tuple(x.shape)}")
    return x, B, T, F


def states(value, argument, n, B, H, dtype):
    """An initial state (or the gradient of the final one): None, an array (batch, units)
    when the cell has one state, or a list/tuple of `n` such arrays (entries may be None).
    Returns a list of `n` C-contiguous `dtype` arrays or Nones, or None for None."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{argument} must be a list of {n} array(s) of shape ({B}, {H}), "
                             f"got a {type(value).__name__} of {len(value)}")
        items = list(value)
    elif n == 1:
        items = [value]
    else:
        raise ValueError(f"{argument} must be a list of {n} arrays of shape ({B}, {H}) "
                         f"(h and c), got {type(value).__name__}")
    out = []
    for i, s in enumerate(items):
        name = argument if n == 1 and not isinstance(value, (list, tuple)) else f"{argument}[{i}]"
        if s is None:
            out.append(None)
            continue
        arr = as_numeric(s, name)
        if arr.shape != (B, H):
            raise ValueError(f"{name} must have shape (batch, units) = ({B}, {H}), "
                             f"got {arr.shape}")
        out.append(np.ascontiguousarray(arr, dtype=dtype))
    return out


def step_mask(mask, B, T):
    """Keras's mask (batch, timesteps): booleans, or numbers that are all 0 or 1."""
    if mask is None:
        return None
    m = as_numeric(mask, "mask")
    if m.shape != (B, T):
        raise ValueError(f"mask must have shape (batch, timesteps) = ({B}, {T}), got {m.shape}")
    if m.dtype != np.bool_:
        if not ((m == 0) | (m == 1)).all():
            raise ValueError(f"mask must hold booleans (or 0 and 1), got values such as "
                             f"{m[(m != 0) & (m != 1)].flat[0]!r}")
        m = m != 0
    return m


def check_dropout_mask(mask, argument, shape, gates, dtype, gate_names=None):
    """A dropout mask as (1, *shape) (one for every gate) or (G, *shape) (one per gate), as a
    C-contiguous `dtype` array; None for None. `gates` = 1 allows the shared form only."""
    if mask is None:
        return None
    m = as_numeric(mask, argument)
    shape = tuple(shape)
    if m.shape == shape:
        return np.ascontiguousarray(m, dtype=dtype)[None]
    if gates > 1 and m.shape == (gates, *shape):
        return np.ascontiguousarray(m, dtype=dtype)
    if gates == 1:
        expected = f"{shape}"
    else:
        expected = f"{shape} or {(gates, *shape)} (one per gate {gate_names})"
    raise ValueError(f"{argument} has the wrong shape: dropout masks must have shape "
                     f"{expected}, got {m.shape}")


def flag(value, argument):
    """A True/False argument (Python or NumPy bool)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{argument} must be True or False, got {value!r}")
    return bool(value)


def check_n_threads(value):
    """None (rnncore's setting) or a positive number of threads."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) \
            or value < 1:
        raise ValueError(f"n_threads must be a positive integer or None, got {value!r}")
    return int(value)


def check_workspace(value):
    from ._recurrent import Workspace

    if value is not None and not isinstance(value, Workspace):
        raise ValueError("workspace must be an rnncore.recurrent._recurrent.Workspace or None, got "
                         f"{type(value).__name__}")
    return value


def check_cache(value, cls, forward):
    """The cache of the last `forward` call made with its workspace."""
    if not isinstance(value, cls):
        raise ValueError(f"cache must be the third value returned by {forward}, got "
                         f"{type(value).__name__}")
    if value.forward_number != value.workspace.forwards:
        raise ValueError(f"cache is stale: a later {forward} call with the same workspace "
                         "overwrote the arrays backward needs; run backward before the next "
                         "forward call, or give each call its own workspace")
    return value


def stamp(c, ws):
    """Mark cache `c` as the one of the latest forward call with workspace `ws`."""
    ws.forwards = getattr(ws, "forwards", 0) + 1
    c.forward_number, c.workspace = ws.forwards, ws


def output_grad(d_output, c, H):
    """The gradient of a forward call's output: None, or an array of the output's shape."""
    if d_output is None:
        return None
    d = as_numeric(d_output, "d_output")
    T, B = c.z.shape[:2]
    expected = (B, T, H) if c.return_sequences else (B, H)
    if d.shape != expected:
        raise ValueError(f"d_output must have the forward output's shape {expected} "
                         f"({'batch, timesteps, units' if c.return_sequences else 'batch, units'}"
                         f"), got {d.shape}")
    return d


class Checked:
    """The arguments of one forward call, checked and converted (see :func:`forward_arguments`)."""

    __slots__ = ("x", "kernel", "recurrent_kernel", "bias", "initial_state", "mask",
                 "dropout_mask", "recurrent_dropout_mask", "return_sequences", "go_backwards",
                 "zero_output_for_mask", "n_threads", "workspace", "dtype", "B", "T", "F", "H")


def forward_arguments(x, kernel, recurrent_kernel, bias, initial_state, *, gates, n_states,
                      gate_names, mask, dropout_mask, recurrent_dropout_mask, return_sequences,
                      go_backwards, zero_output_for_mask, n_threads, workspace,
                      bias_shape=None, bias_note=""):
    """What every cell's forward checks, in one place. `gates` is G (1, 4 or 3), `n_states`
    the number of states (2 for LSTM), `gate_names` the gates a per-gate dropout mask is
    for (None: one shared mask only), `bias_shape(H)` a bias shape other than (G·H,)."""
    a = Checked()
    a.dtype, kernel = compute_dtype(kernel)
    a.x, a.B, a.T, a.F = inputs(x)
    a.kernel, a.recurrent_kernel, a.bias, a.H = recurrent_weights(
        a.F, kernel, recurrent_kernel, bias, gates, a.dtype, bias_shape, bias_note)
    a.initial_state = states(initial_state, "initial_state", n_states, a.B, a.H, a.dtype)
    a.mask = step_mask(mask, a.B, a.T)
    n = gates if gate_names else 1
    a.dropout_mask = check_dropout_mask(dropout_mask, "dropout_mask", (a.B, a.F), n, a.dtype,
                                  gate_names)
    a.recurrent_dropout_mask = check_dropout_mask(recurrent_dropout_mask, "recurrent_dropout_mask",
                                            (a.B, a.H), n, a.dtype, gate_names)
    a.return_sequences = flag(return_sequences, "return_sequences")
    a.go_backwards = flag(go_backwards, "go_backwards")
    a.zero_output_for_mask = flag(zero_output_for_mask, "zero_output_for_mask")
    a.n_threads = check_n_threads(n_threads)
    a.workspace = check_workspace(workspace)
    return a
