"""plot_model: a model's layer graph as a Graphviz picture, as Keras draws it."""
import os
import shutil
import subprocess


def model_to_dot_text(model, show_shapes=False, show_dtype=False, show_layer_names=True,
                      rankdir="TB", show_layer_activations=False, show_trainable=False):
    """The model's graph in Graphviz's DOT language: one box per layer ("name (Class)" and,
    as asked, its output shape, dtype, activation and trainability), an edge for each tensor
    that one layer hands another."""
    if rankdir not in ("TB", "LR"):
        raise ValueError(f"rankdir must be 'TB' or 'LR', got {rankdir!r}")
    lines = ["digraph G {", f"  rankdir={rankdir};", "  concentrate=true;",
             '  node [shape=record, fontname="Helvetica"];']
    layers = model.layers
    shapes = getattr(model, "_shapes", None)  # a built Sequential's shapes, input first
    for k, layer in enumerate(layers):
        label = f"{layer.name} ({type(layer).__name__})" if show_layer_names else \
            type(layer).__name__
        parts = [label]
        if show_shapes:
            shape = _output_shape(layer, shapes, k)
            parts.append(f"output: {shape}")
        if show_dtype:
            parts.append(f"dtype: {getattr(layer, 'dtype', '?')}")
        if show_layer_activations and isinstance(getattr(layer, "activation", None), str):
            parts.append(f"activation: {layer.activation}")
        if show_trainable:
            parts.append(f"trainable: {layer.trainable}")
        text = "|".join(p.replace('"', "'").replace("{", "(").replace("}", ")")
                        .replace("<", "&lt;").replace(">", "&gt;") for p in parts)
        lines.append(f'  n{k} [label="{{{text}}}"];')
    index = {id(layer): k for k, layer in enumerate(layers)}
    for k, layer in enumerate(layers):
        for source in _sources(model, layer, k):
            if id(source) in index:
                lines.append(f"  n{index[id(source)]} -> n{k};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _output_shape(layer, shapes, k):
    if shapes is not None and k + 1 < len(shapes):
        return shapes[k + 1]
    nodes = getattr(layer, "_inbound_nodes", None)
    if nodes:
        outs = nodes[0].outputs
        return [o.shape for o in outs] if isinstance(outs, list) else outs.shape
    return getattr(layer, "batch_shape", "?")


def _sources(model, layer, k):
    """The layers whose outputs `layer` reads in `model`."""
    if not hasattr(model, "_nodes"):  # a Sequential: the chain
        return [model.layers[k - 1]] if k else []
    found = []
    for node in model._nodes:
        if node.layer is layer:
            inputs = node.inputs if isinstance(node.inputs, (list, tuple)) else [node.inputs]
            found += [t._keras_history[0] for t in inputs]
    return found


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False,
               show_layer_names=True, rankdir="TB", expand_nested=False, dpi=200,
               show_layer_activations=False, show_trainable=False, **kwargs):
    """Draw the model's layer graph into `to_file`, as Keras's ``keras.utils.plot_model``.

    A ``.dot`` file gets the graph's DOT text; any other extension (``.png``, ``.svg``,
    ``.pdf``...) is drawn by Graphviz's ``dot`` program, which must be installed (Debian's
    ``graphviz`` package): without it this raises ImportError, as Keras does without pydot
    and graphviz. ``expand_nested`` is accepted; nested models are drawn as one box.
    """
    text = model_to_dot_text(model, show_shapes, show_dtype, show_layer_names, rankdir,
                             show_layer_activations, show_trainable)
    to_file = os.fspath(to_file)
    extension = os.path.splitext(to_file)[1][1:].lower() or "png"
    if extension == "dot":
        with open(to_file, "w") as f:
            f.write(text)
        return None
    dot = shutil.which("dot")
    if dot is None:
        raise ImportError("You must install graphviz (its `dot` program, e.g. `apt-get install "
                          "graphviz`) for plot_model to draw a picture; plot_model(model, "
                          "'model.dot') writes the graph's DOT text without it.")
    result = subprocess.run([dot, f"-T{extension}", f"-Gdpi={int(dpi)}", "-o", to_file],
                            input=text, text=True, capture_output=True)
    if result.returncode:
        raise ValueError(f"plot_model: Graphviz could not draw {to_file!r}: "
                         f"{result.stderr.strip()}")
    return None
