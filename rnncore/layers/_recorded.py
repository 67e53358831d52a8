"""Layers written as Keras writes them, ``build`` + ``call``, run on rnncore's training protocol.

``forward`` runs ``call``: in training with the ops recorded (the inputs are leaf tensors, the
Variables the call reads become leaves as it reads them), otherwise on plain arrays.
``backward`` replays that record in reverse (``rnncore.ops._tape``) and leaves each Variable's
gradient in ``variable.grad``. A layer called inside a recorded ``call``: a custom one runs its
``call`` into the same record; a built-in one runs its own ``forward`` and becomes one node of
the record whose gradient is the layer's own fused ``backward``.

Terms a call adds with ``add_loss`` (and the activity penalties of the layers it calls, which
Keras adds the same way) are kept with the record: ``backward`` seeds each with ones, as the
total loss is their sum.
"""
import collections
import inspect
import threading

import numpy as np

from .._indexed_slices import IndexedSlices
from .._variable import Variable
from ..ops._tape import (Tensor, active_gradients, as_recorded, backward as replay,
                         is_recording, make, make_many, recording, value_of)


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


def _unpack(layer, inputs, args, kwargs, mask):
    structure = getattr(layer, "_call_structure", None)
    if structure is None or args or not isinstance(inputs, list) or \
            len(inputs) != 1 + structure[0] + len(structure[1]):
        return inputs, args, kwargs, mask
    n, names = structure
    kwargs = dict(kwargs, **dict(zip(names, inputs[1 + n:])))
    # Keras hands ``mask`` only to a call of one tensor argument
    return inputs[0], tuple(inputs[1:1 + n]), kwargs, None


def run_call(layer, inputs, training, mask, kwargs=None, args=()):
    """``layer.call`` with the arguments its signature takes; the result checked."""
    accepted = _call_arguments(layer)
    kwargs = dict(kwargs or {})
    inputs, args, kwargs, mask = _unpack(layer, inputs, args, kwargs, mask)
    if "training" in accepted and "training" not in kwargs:
        kwargs["training"] = bool(training)
    if "mask" in accepted and mask is not None:
        kwargs["mask"] = mask
    return _checked_call(layer, inputs, args, kwargs)


_scopes = threading.local()


def note_created(variable):
    """A weight just made (``Layer.add_weight``): while a layer's ``call`` runs, it belongs to
    that call's name scope (see :func:`_checked_call`)."""
    frames = getattr(_scopes, "frames", None)
    if frames:
        frames[-1].append(variable)


def _checked_call(layer, inputs, args, kwargs):
    layer._in_call = True
    _added.depth = getattr(_added, "depth", 0) + 1
    frames = _scopes.__dict__.setdefault("frames", [])
    frames.append([])
    try:
        # a call's arithmetic on plain arrays (inference) is NumPy's own: inf and nan come
        # silently, as from TensorFlow (the masking guide's softmax divides 0 by 0 on padding)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = layer.call(inputs, *args, **kwargs)
    finally:
        layer._in_call = False
        _added.depth -= 1
        # Keras runs a call in the layer's name scope: weights its sublayers make there get
        # the layer's name in front of their paths (m/block/dense/kernel), nested calls
        # adding theirs first
        created = frames.pop()
        own = {id(v) for v in getattr(layer, "_variables", ())}
        for var in created:
            if id(var) not in own:
                var.path = f"{layer.name}/{var.path}"
        if frames:
            frames[-1].extend(created)
    out = _variables_read(out)
    _check_output(layer, out)
    return out


def _variables_read(out):
    """A call may return a Variable (Keras's guide returns a running total): its value now,
    recorded as a leaf while training."""
    if isinstance(out, Variable):
        read = as_recorded(out)
        return read.copy() if isinstance(read, np.ndarray) else read
    if isinstance(out, (list, tuple)) and any(isinstance(o, Variable) for o in out):
        return type(out)(_variables_read(o) for o in out)
    if isinstance(out, dict) and any(isinstance(o, Variable) for o in out.values()):
        return type(out)((k, _variables_read(o)) for k, o in out.items())
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
    mask, previous = call_mask(layer, inputs, args, kwargs)
    x = _arrays(inputs, layer.dtype)
    layer._maybe_build(_shapes(x))
    out = forward(layer, x, training=bool(training), mask=mask, args=args, kwargs=kwargs)
    if layer.activity_regularizer is not None:
        _add_activity_penalty(layer, out)
    return set_output_masks(layer, inputs, out, previous)


def carried_mask(x, symbolic=False):
    """The mask Keras attaches to a layer's output (``_keras_mask``), as an array (a
    symbolic tensor's: its shape); for a list of inputs the list of theirs (None when none
    has one)."""
    if isinstance(x, (list, tuple)):
        masks = [carried_mask(v, symbolic) for v in x]
        return None if all(m is None for m in masks) else masks
    m = getattr(x, "_keras_mask", None)
    return None if m is None else m if symbolic else np.asarray(value_of(m))


def call_mask(layer, inputs, args, kwargs):
    """Keras's ``Layer.__call__`` rule for masks, popping ``mask`` from `kwargs`: the mask the
    call gets (the one passed, else, when the call takes ``mask`` and `inputs` is its only
    tensor argument, the mask `inputs` carries) and the one its output mask is computed from
    (the one passed, else the one `inputs` carries)."""
    mask = kwargs.pop("mask", None)
    carried = carried_mask(inputs)
    if mask is None and takes_mask(layer) and not any(
            is_array(a) for a in list(args) + list(kwargs.values())):
        mask = carried
    return mask, (mask if mask is not None else carried)


def _carrying(inputs, mask):
    """The inputs of a call carrying `mask` (a list's inputs each their own), as Keras's
    inputs carry theirs, for the layers the call runs on them."""
    if mask is None:
        return inputs
    if isinstance(inputs, list):
        masks = mask if isinstance(mask, list) else [mask] + [None] * (len(inputs) - 1)
        return [x if m is None or getattr(x, "_keras_mask", None) is not None else
                _with_mask(x, np.asarray(value_of(m))) for x, m in zip(inputs, masks)]
    if isinstance(inputs, (Tensor, np.ndarray)) and isinstance(mask, list):
        return inputs
    if getattr(inputs, "_keras_mask", None) is not None:
        return inputs
    return _with_mask(inputs, np.asarray(value_of(mask)))


def _with_mask(x, mask):
    if isinstance(x, Tensor):
        x._keras_mask = mask
        return x
    from ._base import _with_keras_mask
    return _with_keras_mask(x, mask)


def set_output_masks(layer, inputs, out, previous_mask):
    """Keras's ``Layer._set_mask_metadata``: a layer that supports masking gives each output
    that carries no mask yet the mask ``compute_mask`` computes for it."""
    if not layer.supports_masking:
        return out
    flat = flat_outputs(out)
    if all(getattr(o, "_keras_mask", None) is not None for o in flat):
        return out
    masks = layer.compute_mask(inputs, previous_mask)
    if masks is None:
        return out
    masks = list(masks) if isinstance(masks, (list, tuple)) else [masks]
    marked = [o if m is None or getattr(o, "_keras_mask", None) is not None else
              _with_mask(o, np.asarray(value_of(m))) for o, m in zip(flat, masks)]
    marked += flat[len(marked):]
    if not isinstance(out, (list, tuple, dict)):
        return marked[0]
    if isinstance(out, dict):
        return type(out)(zip(output_keys(out), marked)) if isinstance(
            out, collections.OrderedDict) else {k: v for k, v in zip(output_keys(out), marked)}
    if all(not isinstance(o, (list, tuple)) for o in out):
        return type(out)(marked)
    return out  # nested outputs keep what they carry


def _check_output(layer, out):
    if isinstance(out, dict) and layer._dict_outputs:
        out = list(out.values())
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


def output_keys(out):
    """The keys of a dict of outputs in Keras's order (its tree flattening): sorted, an
    OrderedDict's in their order."""
    return list(out) if isinstance(out, collections.OrderedDict) else sorted(out)


def flat_outputs(out):
    """A call's outputs as a flat list (a dict's values in ``output_keys`` order)."""
    if isinstance(out, dict):
        return [out[k] for k in output_keys(out)]
    return _flat(out) if isinstance(out, (list, tuple)) else [out]


def _values(out, dtype):
    if isinstance(out, dict):
        return {k: _values(v, dtype) for k, v in out.items()}
    if isinstance(out, tuple):  # kept a tuple, as Keras returns what call returned
        return tuple(_values(o, dtype) for o in out)
    if isinstance(out, list):
        return [_values(o, dtype) for o in out]
    v = np.asarray(value_of(out))
    return v.astype(dtype) if v.dtype.kind == "f" and v.dtype != dtype else v


def forward(layer, inputs, training=False, mask=None, args=(), kwargs=None):
    """The layer's ``call`` on arrays; recorded for ``backward`` when training. As Keras, a
    call from outside any other call clears the terms the layer and its sub-layers added
    before."""
    if not in_call():
        layer._clear_losses()
    if not training:
        layer._record = None
        with recording(False):
            inputs = _carrying(inputs, mask)
            return _values(run_call(layer, inputs, False, mask, kwargs, args), layer.dtype)
    new_record()
    stack = _added.__dict__.setdefault("stack", [])
    stack.append([])
    try:
        with recording(True):
            leaves = _carrying(_leaves(inputs), mask)
            out = run_call(layer, leaves, True, mask, kwargs, args)
    finally:
        terms = stack.pop()
    layer._record = (leaves, out, terms)
    return _values(out, layer.dtype)


_added = threading.local()


def in_call():
    """Whether some layer's ``call`` is running (Keras's call context)."""
    return getattr(_added, "depth", 0) > 0


def note_added_losses(terms):
    """``add_loss`` terms made while a recorded call runs: the innermost record keeps them,
    for its backward to seed."""
    stack = getattr(_added, "stack", None)
    if stack and is_recording():
        stack[-1].extend(t for t in terms if isinstance(t, Tensor))


def has_added_losses(layer):
    """Whether the layer's last recorded call added loss terms (its backward then has work
    even when no gradient reaches its outputs)."""
    record = getattr(layer, "_record", None)
    return record is not None and bool(record[2])


def _add_activity_penalty(layer, outputs):
    """Keras's ``Layer.__call__``: each output's ``activity_regularizer`` value divided by the
    output's batch size (0 for an empty batch), in the output's dtype, added with
    ``add_loss`` (the rule graph models apply in ``Layer._record_activity``)."""
    reg = layer.activity_regularizer
    for out in flat_outputs(outputs):
        y = np.asarray(value_of(out))
        batch = y.dtype.type(y.shape[0] if y.ndim else 1)
        if batch:
            value = y.dtype.type(reg(y)) / batch
            grad = reg.gradient(y).astype(y.dtype, copy=False) / batch
        else:
            value, grad = y.dtype.type(0), np.zeros_like(y)
        layer.add_loss(make(np.asarray(value), [out], lambda g, grad=grad: [g * grad],
                            "activity_regularizer"))


def backward(layer, d_outputs):
    """Gradients of the last recorded ``forward``: each Variable's into ``variable.grad``;
    returns the inputs' (zeros where nothing flowed)."""
    if getattr(layer, "_record", None) is None:
        raise RuntimeError(f"Layer {layer.name!r}: backward() needs a forward(training=True) "
                           "first")
    leaves, out, terms = layer._record
    layer._record = None
    outs = flat_outputs(out)
    seeds = _flat(d_outputs) if isinstance(out, (list, tuple, dict)) else [d_outputs]
    # the total loss is the sum of the terms (of each term's elements, as Keras sums them)
    grads = replay(outs + terms, seeds + [np.ones_like(t.value) for t in terms])
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
    if has_call(layer):
        training = kwargs.pop("training", True)
        mask, previous = call_mask(layer, inputs, args, kwargs)
        layer._maybe_build(_shapes(inputs))
        out = run_call(layer, inputs, training, mask, kwargs, args)
        if layer.activity_regularizer is not None:
            _add_activity_penalty(layer, out)
        return set_output_masks(layer, inputs, out, previous)
    mask = kwargs.pop("mask", None)
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
    if mask is None and layer.supports_masking:
        # Keras hands a layer the mask its (first) input carries, in training as outside it
        mask = carried_mask(flat_in[0])
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
    outs = out if isinstance(out, list) else [out]
    out_masks = _builtin_output_masks(layer, structured, mask, len(outs))
    # what the forward left for the backward, in the layer and in the fused layers it runs
    # (an RNN's cells' layers, which a custom call may also step through directly: the
    # FeedBack model of TensorFlow's time-series tutorial)
    saved = [(part, dict(part.__dict__)) for part in [layer] + list(_fused_parts(layer))]

    def vjp(g):
        for part, state in saved:
            part.__dict__.update(state)
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
    for r, m in zip(results, out_masks):
        if isinstance(r, Tensor) and m is not None:
            r._keras_mask = np.asarray(m)
    made = results if isinstance(out, list) else results[0]
    if layer.activity_regularizer is not None:
        _add_activity_penalty(layer, made)
    return made


def _fused_parts(layer):
    """The fused layers a built-in layer runs besides itself (RNN: its cells' layers)."""
    parts = getattr(type(layer), "_fused_parts", None)
    return parts(layer) if parts is not None else []


def _builtin_output_masks(layer, inputs, mask, n):
    """The masks a built-in layer's `n` outputs carry (as its eager call attaches them: the
    first output gets a single mask, a list is matched to the outputs)."""
    try:
        masks = layer.compute_mask(inputs, mask)
    except Exception:  # a mask rnncore cannot work out eagerly is one Keras programs lack
        return [None] * n
    masks = list(masks) if isinstance(masks, (list, tuple)) else [masks]
    return (masks + [None] * n)[:n]


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


def output_layer(layer, i=0):
    """The built-in layer whose single output is output `i` of the recorded ``call`` (a
    model's last Dense), or None; None too when that output also feeds something else of
    the record (another output, an added loss term), whose gradient is not at the layer's
    pre-activation."""
    record = getattr(layer, "_record", None)
    if record is None:
        return None
    outs = flat_outputs(record[1])
    out = outs[i]
    node = out.node if isinstance(out, Tensor) else None
    if node is None or node.layer is None or node.n_out != 1:
        return None
    if (len(outs) > 1 or record[2]) and _feeds_others(outs + record[2], out):
        return None
    return node.layer


def _feeds_others(roots, tensor):
    """Whether `tensor` is more than one of `roots` or an input of a node they come from."""
    if sum(t is tensor for t in roots) > 1:
        return True
    seen, stack = set(), [t.node for t in roots if isinstance(t, Tensor) and t.node is not None]
    while stack:
        node = stack.pop()
        if node.seq in seen:
            continue
        seen.add(node.seq)
        for p in node.parents:
            if p is tensor:
                return True
            if type(p) is Tensor and p.node is not None:
                stack.append(p.node)
    return False


def mark_fused(layer, i=0):
    """The gradient of the recorded call's output `i` arrives at its layer's pre-activation."""
    flat_outputs(layer._record[1])[i].node.fused = True


def is_array(x):
    """Whether `x` is an array a call computes (a recorded Tensor or a NumPy value)."""
    return isinstance(x, (Tensor, np.ndarray, np.generic)) and not isinstance(x, np.bool_)


def is_recorded(inputs):
    if not is_recording():
        return False
    if isinstance(inputs, dict):
        inputs = list(inputs.values())
    return any(isinstance(x, Tensor) or (isinstance(x, dict) and is_recorded(x))
               for x in _flat(inputs))
