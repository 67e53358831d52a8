"""model.summary(): Keras 3's table (layer, output shape, parameter count, memory)."""
from ..layers._core import InputLayer

_WIDTHS = (33, 24, 15)


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
    if isinstance(shape, list):
        return ", ".join(_shape_text(s) for s in shape)
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + (
        ",)" if len(shape) == 1 else ")")


def _rows(model):
    """(name (type), output shape text, params text) for each layer."""
    rows = []
    if hasattr(model, "_nodes"):
        for layer in model.layers:
            if isinstance(layer, InputLayer):
                rows.append((layer, _shape_text(layer.batch_shape)))
        for node in model._nodes:
            outs = node.outputs
            shape = [o.shape for o in outs] if isinstance(outs, list) else outs.shape
            rows.append((node.layer, _shape_text(shape)))
    else:
        shapes = model._shapes if model.built else None
        for i, layer in enumerate(model.layers):
            rows.append((layer, _shape_text(shapes[i + 1]) if shapes else "?"))
    out = []
    for layer, shape in rows:
        params = f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"
        out.append((f"{layer.name} ({type(layer).__name__})", shape, params))
    return out


def _line(left, mid, right, fill):
    return left + mid.join(fill * w for w in _WIDTHS) + right


def _cells(texts, sep, aligns):
    parts = []
    for text, width, align in zip(texts, _WIDTHS, aligns):
        inner = width - 2
        parts.append(" " + (text.rjust(inner) if align == ">" else text.ljust(inner)) + " ")
    return sep + sep.join(parts) + sep


def print_summary(model, line_length=None, print_fn=None):
    print_fn = print_fn or print
    aligns = ("<", "<", ">")
    lines = [f'Model: "{model.name}"', _line("┏", "┳", "┓", "━"),
             _cells(("Layer (type)", "Output Shape", "Param #"), "┃", aligns),
             _line("┡", "╇", "┩", "━")]
    rows = _rows(model)
    for i, row in enumerate(rows):
        lines.append(_cells(row, "│", aligns))
        if i < len(rows) - 1:
            lines.append(_line("├", "┼", "┤", "─"))
    lines.append(_line("└", "┴", "┘", "─"))
    built_layers = [layer for layer in model.layers if layer.built]
    trainable = sum(w.value.size for layer in built_layers for w in layer.trainable_weights)
    non_trainable = sum(w.value.size for layer in built_layers
                        for w in layer.non_trainable_weights)
    itemsize = 4 if not built_layers else max(
        (w.value.itemsize for layer in built_layers for w in layer.weights), default=4)
    total = trainable + non_trainable
    lines.append(f" Total params: {total:,} ({_memory(total * itemsize)})")
    lines.append(f" Trainable params: {trainable:,} ({_memory(trainable * itemsize)})")
    lines.append(f" Non-trainable params: {non_trainable:,} ({_memory(non_trainable * itemsize)})")
    for line in lines:
        print_fn(line)
