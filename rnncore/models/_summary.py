"""model.summary(): Keras 3's table (layer, output shape, parameter count, memory).

A functional model that is not a plain chain (several inputs, a layer taking several tensors,
branches, shared layers) gets Keras's fourth column, "Connected to": each input tensor of the
layer's calls as ``layer_name[node_index][tensor_index]``. Widths and wrapping are those Keras's
table (rich) has on an 80-column terminal: cells wrap at spaces, a word too long for its cell
ends in "…".
"""
import re
import shutil

import numpy as np

from ..layers._core import InputLayer
from ..layers._registry import keras_class_name
from ..utils._progbar import is_interactive_logging_enabled, print_msg

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
    # Keras joins the sizes without a tuple's trailing comma: (None) for one axis
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


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


def _layer_rows(model, connected=False):
    """(layer, output shape text, its nodes) for each row of the table."""
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
    return rows


def _fields(layer, shape, prefix, connections, show_trainable):
    """The texts of one row: name (type), output shape, parameters[, connected to]
    [, trainable]."""
    params = f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"
    kind = getattr(layer, "keras_class_name", None) or keras_class_name(type(layer))
    fields = [f"{prefix}{layer.name} ({kind})", shape, params]
    if connections is not None:
        fields.append(connections)
    if show_trainable:
        fields.append("-" if not layer.weights else "Y" if layer.trainable else "N")
    return fields


_WORD = re.compile(r"\s*\S+\s*")


def _wrap(text, width):
    """rich's folding of a cell: words (with the spaces before the first one and after each)
    fill lines greedily, a word going to a new line when its visible part does not fit; a word
    longer than the cell is cut to ``width - 1`` characters and "…"."""
    lines, used = [""], 0
    for word in _WORD.findall(text) or [text]:
        visible = len(word.rstrip())
        if used + visible <= width:
            lines[-1] += word
            used += len(word)
            continue
        if visible > width:
            word = word.rstrip()[:width - 1] + "…"
        if lines[-1]:
            lines.append("")
        lines[-1] = word
        used = len(word)
    return [line.rstrip() for line in lines]


def _line(widths, left, mid, right, fill):
    return left + mid.join(fill * w for w in widths) + right


def _aligned(text, width, align):
    if align == ">":
        return text.rjust(width)
    if align == "^":
        left = (width - len(text)) // 2
        return " " * left + text + " " * (width - len(text) - left)
    return text.ljust(width)


def _cells(texts, widths, sep, aligns, bottom=False):
    """The table lines of one row, each cell wrapped to its width; a cell of fewer lines
    than the row's tallest is padded below (`bottom`: above, as rich does the header's)."""
    wrapped = [_wrap(text, width - 2) for text, width in zip(texts, widths)]
    height = max(len(w) for w in wrapped)
    if bottom:
        wrapped = [[""] * (height - len(w)) + w for w in wrapped]
    lines = []
    for i in range(height):
        parts = []
        for cell, width, align in zip(wrapped, widths, aligns):
            text = cell[i] if i < len(cell) else ""
            parts.append(" " + _aligned(text, width - 2, align) + " ")
        lines.append(sep + sep.join(parts) + sep)
    return lines


def _column_widths(line_length, positions):
    """Each column's width, its padding included, as Keras's table has them: Keras asks rich
    for columns of ``positions`` (fractions of ``line_length``) inside a table of
    ``line_length``; the columns' padding and the borders then do not fit, and rich takes the
    excess off the columns evenly, left to right, each share rounded (half to even)."""
    widths, current = [], 0
    for pos in positions:
        width = int(pos * line_length) - current
        if width < 4:
            raise ValueError("Insufficient console width to print summary. Received: "
                             f"line_length={line_length}, positions={list(positions)}")
        widths.append(width + 2)
        current += width
    excess = sum(widths) - (line_length - len(widths) - 1)
    shares = len(widths)
    reduced = []
    for width in widths:
        cut = min(width, round(excess / shares)) if excess > 0 else 0
        reduced.append(width - cut)
        excess -= cut
        shares -= 1
    return reduced


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


def _in_range(rows, layer_range):
    """Keras's ``layer_range``: the rows from the first layer whose name matches
    ``layer_range[0]`` to the last one matching ``layer_range[1]`` (regular expressions)."""
    if layer_range is None:
        return rows
    if not isinstance(layer_range, (list, tuple)) or len(layer_range) != 2:
        raise ValueError("layer_range must be a list or tuple of length 2. Received: "
                         f"layer_range={layer_range!r}")
    if not all(isinstance(name, str) for name in layer_range):
        raise ValueError(f"layer_range should contain strings only. Received: {layer_range!r}")
    names = [row[0].name for row in rows]
    low = [i for i, name in enumerate(names) if re.match(layer_range[0], name)]
    high = [i for i, name in enumerate(names) if re.match(layer_range[1], name)]
    if not low or not high:
        raise ValueError("Passed layer_names do not match the layer names in the model. "
                         f"Received: {layer_range!r}")
    if min(low) > max(high):
        return rows[min(high):max(low) + 1]
    return rows[min(low):max(high) + 1]


def _nested_rows(model, level, connected):
    """The rows of the layers of a model inside the model (``expand_nested``), their names
    indented as Keras's, recursively."""
    shapes = {id(layer): shape for layer, shape, _ in _layer_rows(model, False)}
    rows = []
    for layer in model.layers:
        prefix = "   " * level + "└ "
        rows.append((layer, shapes.get(id(layer), "?"), prefix, "-" if connected else None))
        if getattr(layer, "layers", None):
            rows += _nested_rows(layer, level + 1, connected)
    return rows


def print_summary(model, line_length=None, positions=None, print_fn=None,
                  expand_nested=False, show_trainable=False, layer_range=None):
    connected = not _sequential_like(model)
    if connected:
        default_length, default_positions = 108, [0.3, 0.56, 0.74, 1.0]
    else:
        default_length, default_positions = 88, [0.45, 0.80, 1.0]
    positions = list(positions or default_positions)
    header = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if connected
                                                           else [])
    aligns = ["<", "<", ">", "<"][:len(header)]
    if show_trainable:
        default_length += 12
        positions = [p * 0.90 for p in positions] + [1.0]
        header.append("Trainable")
        aligns.append("^")
    if len(positions) != len(header):
        raise ValueError(f"positions must hold {len(header)} column positions for this "
                         f"table ({header}), got {positions}")
    console_width = shutil.get_terminal_size().columns
    line_length = line_length or min(default_length, console_width - 4)
    widths = _column_widths(line_length, positions)
    lines = [f'Model: "{model.name}"', _line(widths, "┏", "┳", "┓", "━"),
             *_cells(header, widths, "┃", aligns, bottom=True), _line(widths, "┡", "╇", "┩", "━")]
    rows = []
    for layer, shape, nodes in _in_range(_layer_rows(model, connected), layer_range):
        rows.append((layer, shape, "", _connections(layer, nodes) if connected else None))
        if expand_nested and getattr(layer, "layers", None):
            rows += _nested_rows(layer, 1, connected)
    for i, (layer, shape, prefix, connections) in enumerate(rows):
        lines += _cells(_fields(layer, shape, prefix, connections, show_trainable), widths,
                        "│", aligns)
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
    # Keras's console crops what is wider than the terminal, and hands print_fn the whole text
    text = "".join(line[:console_width] + "\n" for line in lines)
    if print_fn is None and not is_interactive_logging_enabled():
        print_msg(text, line_break=False)  # to logging, as Keras
    elif print_fn is None:
        print(text, end="")
    else:
        print_fn(text)
