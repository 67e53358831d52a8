"""model.summary(): Keras 3's table (layer, output shape, parameter count, memory).

A functional model that is not a plain chain (several inputs, a layer taking several tensors,
branches, shared layers) gets Keras's fourth column, "Connected to": each input tensor of the
layer's calls as ``layer_name[node_index][tensor_index]``. Widths and wrapping are those Keras's
table (rich) has on an 80-column terminal: cells wrap at spaces, a word too long for its cell
ends in "…".
"""
import numpy as np

from ..layers._core import InputLayer
from ..layers._registry import keras_class_name

_WIDTHS = (33, 24, 15)
_CONNECTED_WIDTHS = (21, 19, 12, 19)


def _memory(n_bytes):
    units = ["B", "KB", "MB", "GB", "TB"]
    size = float(n_bytes)
    for unit in units:
        if size < 1024 or unit == units[-1]:
            return f"{size:.2f} {unit}"
        size /= 1024


def _shape_text(shape):
    if shape is None:
        return "?"
    if isinstance(shape, list):  # a layer's several outputs, listed as Keras prints a list
        return "[" + ", ".join(_shape_text(s) for s in shape) + "]"
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + (
        ",)" if len(shape) == 1 else ")")


def _flat(x):
    if isinstance(x, (list, tuple)):
        return [t for item in x for t in _flat(item)]
    if isinstance(x, dict):
        return [t for item in x.values() for t in _flat(item)]
    return [] if x is None else [x]


def _sequential_like(model):
    """Keras's test: one input, and each call takes one tensor, the previous call's output,
    with no layer called twice."""
    if not hasattr(model, "_nodes"):
        return True
    if len(_flat(model._inputs)) != 1:
        return False
    previous, layers = _flat(model._inputs), set()
    for node in model._nodes:
        inputs = _flat(node.inputs)
        if len(inputs) != 1 or len(previous) != 1 or inputs[0] is not previous[0] \
                or id(node.layer) in layers:
            return False
        layers.add(id(node.layer))
        previous = _flat(node.outputs)
    return True


def _connections(layer, nodes):
    names = []
    for node in nodes:
        # a layer may show the tensors its call was given rather than all the graph
        # feeds it (MultiHeadAttention(q, v): its key is v again)
        shown = getattr(node, "shown_inputs", None)
        for t in _flat(node.inputs if shown is None else shown):
            source, node_index, tensor_index = t._keras_history
            names.append(f"{source.name}[{node_index}][{tensor_index}]")
    return ", ".join(names) or "-"


def _rows(model, connected=False):
    """(name (type), output shape text, params text[, connected to]) for each layer."""
    rows = []
    if hasattr(model, "_nodes"):
        layers = model.operations  # op nodes (x + y, x[:, -1]) get rows, as in Keras
        if connected:  # one row per layer in the graph's order, its shape from its last call
            calls = {}
            for node in model._nodes:
                calls.setdefault(id(node.layer), []).append(node)
            for layer in layers:
                if isinstance(layer, InputLayer):
                    rows.append((layer, _shape_text(layer.batch_shape), []))
                elif id(layer) in calls:
                    outs = calls[id(layer)][-1].outputs
                    shape = [o.shape for o in outs] if isinstance(outs, list) else outs.shape
                    rows.append((layer, _shape_text(shape), calls[id(layer)]))
        else:
            rows += [(layer, _shape_text(layer.batch_shape), []) for layer in layers
                     if isinstance(layer, InputLayer)]
            for node in model._nodes:
                outs = node.outputs
                shape = [o.shape for o in outs] if isinstance(outs, list) else outs.shape
                rows.append((node.layer, _shape_text(shape), [node]))
    else:
        # a subclassed model has no graph to read the shapes off: "?" as in Keras
        shapes = getattr(model, "_shapes", None) if model.built else None
        for i, layer in enumerate(model.layers):
            rows.append((layer, _shape_text(shapes[i + 1]) if shapes else "?", []))
    out = []
    for layer, shape, nodes in rows:
        params = f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"
        kind = getattr(layer, "keras_class_name", None) or keras_class_name(type(layer))
        row = (f"{layer.name} ({kind})", shape, params)
        out.append(row + (_connections(layer, nodes),) if connected else row)
    return out


def _wrap(text, width):
    """rich's folding of a cell: words (split at spaces) fill lines greedily; a word longer
    than the cell is cut to ``width - 1`` characters and "…"."""
    lines = []
    for word in text.split(" "):
        if len(word) > width:
            word = word[:width - 1] + "…"
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def _line(widths, left, mid, right, fill):
    return left + mid.join(fill * w for w in widths) + right


def _cells(texts, widths, sep, aligns):
    """The table lines of one row, each cell wrapped to its width."""
    wrapped = [_wrap(text, width - 2) for text, width in zip(texts, widths)]
    lines = []
    for i in range(max(len(w) for w in wrapped)):
        parts = []
        for cell, width, align in zip(wrapped, widths, aligns):
            text, inner = (cell[i] if i < len(cell) else ""), width - 2
            parts.append(" " + (text.rjust(inner) if align == ">" else text.ljust(inner)) + " ")
        lines.append(sep + sep.join(parts) + sep)
    return lines


def _optimizer_params(model, itemsize):
    """(count, bytes) of the optimizer's variables once it has made them (Keras's "Optimizer
    params" line, also counted in the total), or (None, 0): the step counter is an int64,
    the learning rate and the slots take the weights' float size."""
    optimizer = getattr(model, "optimizer", None) if getattr(model, "compiled", False) else None
    if optimizer is None or not getattr(optimizer, "built", False):
        return None, 0
    variables = optimizer.variables
    count = sum(np.size(v) for v in variables)
    return count, 8 + (count - 1) * itemsize


def print_summary(model, line_length=None, print_fn=None):
    print_fn = print_fn or print
    connected = not _sequential_like(model)
    widths = _CONNECTED_WIDTHS if connected else _WIDTHS
    header = ("Layer (type)", "Output Shape", "Param #") + (("Connected to",) if connected
                                                           else ())
    aligns = ("<", "<", ">", "<")
    lines = [f'Model: "{model.name}"', _line(widths, "┏", "┳", "┓", "━"),
             *_cells(header, widths, "┃", aligns), _line(widths, "┡", "╇", "┩", "━")]
    rows = _rows(model, connected)
    for i, row in enumerate(rows):
        lines += _cells(row, widths, "│", aligns)
        if i < len(rows) - 1:
            lines.append(_line(widths, "├", "┼", "┤", "─"))
    lines.append(_line(widths, "└", "┴", "┘", "─"))
    built_layers = [layer for layer in model.layers if layer.built]
    # a weight held by two layers (a cell stepped directly and inside its RNN) counts once,
    # as Keras's count_params counts unique weights
    trainable = sum(w.value.size for w in {id(w): w for layer in built_layers
                                           for w in layer.trainable_weights}.values())
    non_trainable = sum(w.value.size for w in {id(w): w for layer in built_layers
                                               for w in layer.non_trainable_weights}.values())
    itemsize = 4 if not built_layers else max(
        (w.value.itemsize for layer in built_layers for w in layer.weights), default=4)
    opt_count, opt_bytes = _optimizer_params(model, itemsize)
    total = trainable + non_trainable + (opt_count or 0)
    total_bytes = (trainable + non_trainable) * itemsize + opt_bytes
    lines.append(f" Total params: {total:,} ({_memory(total_bytes)})")
    lines.append(f" Trainable params: {trainable:,} ({_memory(trainable * itemsize)})")
    lines.append(f" Non-trainable params: {non_trainable:,} ({_memory(non_trainable * itemsize)})")
    if opt_count is not None:
        lines.append(f" Optimizer params: {opt_count:,} ({_memory(opt_bytes)})")
    for line in lines:
        print_fn(line)
