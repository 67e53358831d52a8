"""Layers written as Keras writes them, ``build`` + ``call``, run on rnncore's training protocol.

``forward`` runs ``call``: in training with the ops recorded (the inputs are leaf tensors, the
Variables the call reads become leaves as it reads them), otherwise on plain arrays.
``backward`` replays that record in reverse (``rnncore.ops._tape``) and leaves each Variable's
gradient in ``variable.grad``. A layer called inside a recorded ``call``: a custom one runs its
``call`` into the same record; a built-in one runs its own ``forward`` and becomes one node of
the record whose gradient is the layer's own fused ``backward``.
"""
import inspect

import numpy as np

from .._indexed_slices import IndexedSlices
from ..ops._tape import (Tensor, active_gradients, backward as replay, is_recording,
                         make_many, recording, value_of)


def has_call(layer):
    """Whether the layer's class (or a base below rnncore's) defines Keras's ``call``."""
    return getattr(type(layer), "_rnncore_call", None) is not None


def _call_arguments(layer):
    cls = type(layer)
    cached = cls.__dict__.get("_call_args")
    if cached is None:
        params = inspect.signature(cls.call).parameters
        anything = any(p.kind == p.VAR_KEYWORD for p in params.values())
        cached = frozenset(n for n in ("training", "mask") if n in params or anything)
        cls._call_args = cached
    return cached


def takes_mask(layer):
    """Whether the layer's ``call`` takes ``mask`` (Keras then hands it the inputs' mask)."""
    return has_call(layer) and "mask" in _call_arguments(layer)


def run_call(layer, inputs, training, mask, kwargs=None, args=()):
    """``layer.call`` with the arguments its signature takes; the result checked."""
    accepted = _call_arguments(layer)
    kwargs = dict(kwargs or {})
    if "training" in accepted and "training" not in kwargs:
        kwargs["training"] = bool(training)
    if "mask" in accepted and mask is not None:
        kwargs["mask"] = mask
    return _checked_call(layer, inputs, args, kwargs)


def _checked_call(layer, inputs, args, kwargs):
    layer._in_call = True
    try:
        out = layer.call(inputs, *args, **kwargs)
    finally:
        layer._in_call = False
    _check_output(layer, out)
    return out


def _arrays(inputs, dtype):
    if isinstance(inputs, (list, tuple)):
        return [_arrays(x, dtype) for x in inputs]
    x = np.asarray(value_of(inputs))
    if x.dtype == object or x.dtype.kind not in "biuf":
        raise ValueError(f"inputs must be numeric arrays, got dtype {x.dtype}")
    return x.astype(dtype) if x.dtype.kind == "f" and x.dtype != dtype else x


def eager_call(layer, inputs, args, kwargs):
    """``layer(inputs, ...)`` on arrays, outside any recorded step: built on first use, the
    call run unrecorded unless ``training=True``."""
    kwargs = dict(kwargs)
    training = kwargs.pop("training", False)
    mask = kwargs.pop("mask", None)
    x = _arrays(inputs, layer.dtype)
    layer._maybe_build(_shapes(x))
    return forward(layer, x, training=bool(training), mask=mask, args=args, kwargs=kwargs)


def _check_output(layer, out):
    items = out if isinstance(out, (list, tuple)) else [out]
    for item in items:
        if isinstance(item, (list, tuple)):
            _check_output(layer, item)
        elif not isinstance(item, (Tensor, np.ndarray, np.generic, float, int)) or \
                isinstance(item, bool) or (isinstance(item, np.ndarray) and item.dtype == object):
            raise TypeError(f"Layer {layer.name!r}: call() must return an array (or a list or "
                            f"tuple of arrays) computed with rnncore.ops, got "
                            f"{type(item).__name__}: {item!r:.80}")


def _leaves(inputs):
    if isinstance(inputs, (list, tuple)):
        return [_leaves(x) for x in inputs]
    return Tensor(np.asarray(inputs))


def _flat(x):
    if isinstance(x, (list, tuple)):
        return [v for item in x for v in _flat(item)]
    return [x]


def _values(out, dtype):
    if isinstance(out, (list, tuple)):
        return [_values(o, dtype) for o in out]
    v = np.asarray(value_of(out))
    return v.astype(dtype) if v.dtype.kind == "f" and v.dtype != dtype else v


def forward(layer, inputs, training=False, mask=None, args=(), kwargs=None):
    """The layer's ``call`` on arrays; recorded for ``backward`` when training."""
    if not training:
        layer._record = None
        with recording(False):
            return _values(run_call(layer, inputs, False, mask, kwargs, args), layer.dtype)
    new_record()
    with recording(True):
        leaves = _leaves(inputs)
        out = run_call(layer, leaves, True, mask, kwargs, args)
    layer._record = (leaves, out)
    return _values(out, layer.dtype)


def backward(layer, d_outputs):
    """Gradients of the last recorded ``forward``: each Variable's into ``variable.grad``;
    returns the inputs' (zeros where nothing flowed)."""
    if getattr(layer, "_record", None) is None:
        raise RuntimeError(f"Layer {layer.name!r}: backward() needs a forward(training=True) "
                           "first")
    leaves, out = layer._record
    layer._record = None
    outs, seeds = _flat(out), _flat(d_outputs) if isinstance(out, (list, tuple)) else [d_outputs]
    grads = replay(outs, seeds)
    for v in layer.trainable_weights:
        g = grads.variables.get(id(v), (v, None))[1]
        v.grad = np.zeros_like(v.value) if g is None else (
            g if isinstance(g, IndexedSlices) else np.asarray(g, v.value.dtype))
    return _input_grads(leaves, grads)


def _input_grads(leaves, grads):
    if isinstance(leaves, list):
        return [_input_grads(t, grads) for t in leaves]
    g = grads.of(leaves)
    return np.zeros_like(leaves.value) if g is None else np.asarray(g, leaves.value.dtype)


def call_inside(layer, inputs, args, kwargs):
    """A layer called on recorded tensors from inside another layer's recorded ``call``
    (Keras's training flag flows in: ``training`` is True unless the call says otherwise)."""
    kwargs = dict(kwargs)
    mask = kwargs.pop("mask", None)
    if has_call(layer):
        training = kwargs.pop("training", True)
        layer._maybe_build(_shapes(inputs))
        return run_call(layer, inputs, training, mask, kwargs, args)
    training = args[0] if args else kwargs.pop("training", True)
    if kwargs.get("initial_state") is not None:
        # the states join the inputs, as a functional graph hands them to the layer
        states = kwargs.pop("initial_state")
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        return _builtin_node(layer, [inputs] + states, training, mask, kwargs)
    return _builtin_node(layer, inputs, training, mask, kwargs)


def _shapes(inputs):
    if isinstance(inputs, (list, tuple)):
        return [np.shape(value_of(x)) for x in inputs]
    return np.shape(value_of(inputs))


def _builtin_node(layer, inputs, training, mask, kwargs, fresh_workspace=False):
    """A built-in layer's forward as one recorded node; its backward is the node's gradient.
    A layer called several times in one record gets back, before each backward, what its
    matching forward left (a recurrent layer's workspace is reused, so it runs once)."""
    flat_in = _flat(inputs)
    values = [np.asarray(value_of(x)) for x in flat_in]
    structured = values if isinstance(inputs, (list, tuple)) else values[0]
    if isinstance(inputs, (list, tuple)) and any(isinstance(x, (list, tuple)) for x in inputs):
        raise NotImplementedError(f"Layer {layer.name!r}: nested lists of inputs inside a "
                                  "custom call are not supported")
    if layer.activity_regularizer is not None:
        raise NotImplementedError(
            f"Layer {layer.name!r} has an activity_regularizer and is called inside a custom "
            "call; rnncore does not add that penalty from inside a call yet. Put the layer in "
            "a Sequential or functional model, or drop activity_regularizer")
    if mask is None and layer.supports_masking:
        mask = getattr(flat_in[0], "_keras_mask", None)
    uses = getattr(layer, "_record_uses", None)
    if fresh_workspace:
        # each call keeps its own scratch arrays, which its cache points into
        layer._workspace = type(layer._workspace)()
    elif uses is not None and uses[0] is _current_record() and hasattr(layer, "_workspace"):
        raise NotImplementedError(
            f"Layer {layer.name!r} is called more than once in one recorded call; rnncore's "
            "recurrent layers reuse their workspace between calls, so use one layer per call")
    layer._record_uses = (_current_record(), 0)
    out = layer._eager_call(structured, training=training, mask=mask, **kwargs)
    out_mask = getattr(out, "_keras_mask", None)
    outs = out if isinstance(out, list) else [out]
    saved = dict(layer.__dict__)

    def vjp(g):
        layer.__dict__.update(saved)
        gs = g if isinstance(g, list) else [g]
        gs = [np.zeros_like(o) if d is None else np.asarray(d, np.asarray(o).dtype)
              for d, o in zip(gs, outs)]
        node = results[0].node
        if node.fused:
            extra = layer.preactivation_activity_grad()
            d_in = layer.backward_preactivation(gs[0] if extra is None else gs[0] + extra)
        else:
            d_in = layer.backward(gs if isinstance(out, list) else gs[0])
        acc = active_gradients()
        for v in layer.trainable_weights:
            if v.grad is not None:
                acc.add_variable(v, v.grad)
        return list(d_in) if isinstance(inputs, (list, tuple)) else [d_in]
    results = make_many([np.asarray(o) for o in outs], flat_in, vjp, layer.name)
    if isinstance(results[0], Tensor):
        results[0].node.layer = layer
    if out_mask is not None:
        for r in results:
            if isinstance(r, Tensor):
                r._keras_mask = out_mask
    return results if isinstance(out, list) else results[0]


def cell_step(cell, inputs, states, training):
    """One step of a built-in cell (LSTMCell, ...) called on recorded tensors inside a custom
    call (a decoder's loop): the cell's fused layer runs one timestep with the states as its
    initial state, recorded as one node whose gradient is that layer's fused backward."""
    from ..ops import _core

    shape = np.shape(value_of(inputs))
    if len(shape) != 2:
        raise ValueError(f"{type(cell).__name__} {cell.name!r}: inputs must be 2D (batch, "
                         f"features), one step, got shape {shape}")
    cell._maybe_build(shape)
    bare = states is not None and not isinstance(states, (list, tuple))
    if states is None:
        states = cell.get_initial_state(shape[0])
    states = [states] if bare else list(states)
    layer = cell._layer
    layer.return_sequences, layer.return_state = False, True
    layer.go_backwards, layer.stateful = False, False
    out = _builtin_node(layer, [_core.expand_dims(inputs, 1), *states], training, None, {},
                        fresh_workspace=True)
    new = list(out[1:])
    return out[0], (new[0] if bare and len(new) == 1 else new)


_RECORD_ID = [0]


def _current_record():
    return _RECORD_ID[0]


def new_record():
    _RECORD_ID[0] += 1


def output_layer(layer):
    """The built-in layer whose single output is the recorded ``call``'s output (a model's
    last Dense), or None."""
    record = getattr(layer, "_record", None)
    out = None if record is None else record[1]
    node = out.node if isinstance(out, Tensor) else None
    if node is None or node.layer is None or node.n_out != 1:
        return None
    return node.layer


def mark_fused(layer):
    """The gradient of the recorded call's output arrives at its layer's pre-activation."""
    layer._record[1].node.fused = True


def output_shape_by_running(layer, input_shape):
    """Keras's default ``compute_output_shape`` for a layer with ``call``: run it (here on
    zeros, batch 2, nothing recorded) and read the shape."""
    def zeros(shape):
        if isinstance(shape, list):
            return [zeros(s) for s in shape]
        return np.zeros([2 if d is None else d for d in shape], layer.dtype)
    with recording(False):
        out = run_call(layer, zeros(input_shape), False, None)
    if isinstance(out, (list, tuple)):
        return [(input_shape[0] if not isinstance(input_shape, list) else input_shape[0][0],)
                + np.shape(value_of(o))[1:] for o in out]
    batch = input_shape[0][0] if isinstance(input_shape, list) else input_shape[0]
    return (batch,) + np.shape(value_of(out))[1:]


def is_recorded(inputs):
    if not is_recording():
        return False
    if isinstance(inputs, dict):
        inputs = list(inputs.values())
    return any(isinstance(x, Tensor) or (isinstance(x, dict) and is_recorded(x))
               for x in _flat(inputs))
