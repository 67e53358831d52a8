"""Where Keras 3 keeps each weight inside ``model.weights.h5`` (``.keras`` and ``.weights.h5``).

Keras walks the model as a tree of saveable objects (``keras/src/saving/saving_lib.py``): each
object with variables writes a group ``<path>/vars`` (attribute ``name`` = the object's name)
holding its *own* variables as datasets ``0``, ``1``, ... (trainable ones first); its children
follow under the attribute that holds them. A list of children (a model's ``layers``, a
``StackedRNNCells``' ``cells``) names each child by its class name in snake case, numbered
``_1``, ``_2``, ... within the list -- never by the layer's own name, which is not
reproducible. So Embedding -> LSTM -> Dense is::

    vars                      (the model; no datasets)
    layers/embedding/vars/0   embeddings
    layers/lstm/vars          (the layer; its weights belong to its cell)
    layers/lstm/cell/vars/0   kernel, /1 recurrent_kernel, /2 bias
    layers/dense/vars/0, /1   kernel, bias
    optimizer/vars/0, 1, ...  iterations, learning rate, then the slots

A Bidirectional holds ``forward_layer`` and ``backward_layer``, a TimeDistributed its
``layer``, an RNN its ``cell``, a model used as a layer its own ``layers``. A Sequential's
layers leave out its InputLayer; a functional model's include theirs.
"""
from .._naming import snake_case  # noqa: F401  (the paths' rule, used by the savers)


def _is_model(obj):
    from ._model import Model

    return isinstance(obj, Model)


def model_layers(model):
    """The layers Keras lists as ``model.layers``: a Sequential's without its InputLayer."""
    from ..layers import InputLayer
    from ._sequential import Sequential

    layers = list(model.layers)
    if isinstance(model, Sequential):
        layers = [layer for layer in layers if not isinstance(layer, InputLayer)]
    return layers


def _is_layerish(value):
    from ..layers import Layer

    if isinstance(value, Layer):
        return True
    if isinstance(value, dict):
        value = list(value.values())
    return isinstance(value, (list, tuple)) and any(isinstance(v, Layer) for v in value)


def _name_key(name):
    return f"~{name}" if name.startswith("_") else name  # Keras visits private names last


def _user_children(obj):
    """A user-defined layer or model (issue 15's subclasses): Keras visits its attributes in
    sorted order, private ones last, each layer or list of layers under its attribute's name;
    a subclassed model's ``layers`` list among them (so layers that no attribute reached
    first land under ``layers/``)."""
    from ._functional import Functional
    from ._sequential import Sequential

    items = {k: v for k, v in vars(obj).items() if not k.startswith("__") and _is_layerish(v)}
    if _is_model(obj) and not isinstance(obj, (Sequential, Functional)):
        items["layers"] = list(obj.layers)
    out = []
    for name in sorted(items, key=_name_key):
        value = items[name]
        if isinstance(value, dict):
            value = list(value.values())
        out.append((name, list(value) if isinstance(value, (list, tuple)) else value))
    return out


def _children(obj):
    """``[(attribute, child or list of children)]`` of a layer, in Keras's sorted order."""
    from ._functional import Functional
    from ._sequential import Sequential

    if isinstance(obj, (Sequential, Functional)):
        return [("layers", model_layers(obj))]
    if not type(obj).__module__.startswith("rnncore."):
        return _user_children(obj)
    if hasattr(obj, "keras_children"):  # a layer whose weights Keras keeps in sub-layers
        return obj.keras_children()
    out = []
    for attr in ("backward_layer", "cell", "cells", "forward_layer", "layer"):
        try:
            child = getattr(obj, attr, None)
        except Exception:  # a property that needs a built layer
            child = None
        if attr == "cells" and isinstance(child, (list, tuple)):
            out.append((attr, list(child)))
        elif child is not None and hasattr(child, "weights") and child is not obj:
            out.append((attr, child))
    return out


def _own_variables(obj, children):
    below = set()
    for _, child in children:
        for c in (child if isinstance(child, list) else [child]):
            below.update(id(v) for v in c.weights)
    mine = [v for v in obj.weights if id(v) not in below]
    return [v for v in mine if v.trainable] + [v for v in mine if not v.trainable]


def objects(model):
    """``[(path, object)]`` for every saveable object of `model`, in Keras's walk order."""
    found = []
    _walk(model, lambda obj, where: found.append((where, obj)))
    return found


def object_at(model, path):
    """The object whose ``vars`` group sits at `path` (as :func:`entries` names it)."""
    return dict(objects(model)).get(path)


def entries(model):
    """``[(path, name, [variables])]`` for every saveable object of `model` in Keras's walk
    order; ``path`` is where its ``vars`` group sits ("" for the model itself)."""
    out = []
    _walk(model, lambda obj, path: out.append(
        (path, getattr(obj, "name", None), _own_variables(obj, _children(obj)))))
    return out


def _walk(model, visit_one):
    from ..layers._registry import keras_class_name

    seen, alive = set(), []

    def visit(obj, path):
        if id(obj) in seen:  # a shared layer is saved once, where Keras first meets it
            return
        seen.add(id(obj))
        alive.append(obj)  # a layer's cell may be made on access: keep each id taken
        visit_one(obj, path)
        for attr, child in _children(obj):
            base = f"{path}/{attr}" if path else attr
            if isinstance(child, list):
                used = {}
                for item in child:
                    if not hasattr(item, "weights"):
                        continue
                    key = snake_case(keras_class_name(type(item)))
                    if key in used:
                        used[key] += 1
                        key = f"{key}_{used[key]}"
                    else:
                        used[key] = 0
                    visit(item, f"{base}/{key}")
            else:
                visit(child, base)

    visit(model, "")


def vars_path(path):
    return f"{path}/vars" if path else "vars"
