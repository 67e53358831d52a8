"""Keras configs from a file, checked and rebuilt as rnncore models.

:func:`check_safe` first refuses anything that would mean running code or naming a class
rnncore does not have; then Keras 3 configs (and Keras 2 / tf.keras ones from legacy ``.h5``
files) become rnncore configs -- through ``_cloning``'s translation of Keras's JSON, plus the
legacy forms, nested models and the mask ops Keras records in a functional graph.
"""
import copy


class UnsafeConfig(ValueError):
    pass


_OP_MODULES = ("keras.src.ops", "keras.ops")
_PLAIN = ("__keras_tensor__", "__tuple__", "__numpy__")


def _known_classes():
    from ..layers._registry import _classes, custom_classes

    return (set(_classes()) | {"Functional", "Sequential", "Model"} | set(custom_classes())) \
        - {"Layer", "RNNBase"}


def _layer_name(entry):
    config = entry.get("config") if isinstance(entry, dict) else None
    name = entry.get("name") if isinstance(entry, dict) else None
    if isinstance(config, dict) and isinstance(config.get("name"), str):
        name = config["name"]
    return name


# the ops Keras 3 records in a functional graph to compute a Masking layer's mask (a legacy
# .h5 config names them without a module)
_MASK_OPS = ("NotEqual", "Any", "ConvertToTensor", "Cast", "Equal", "LogicalAnd", "All")
_LAYER_KEYS = ("layer", "backward_layer", "cell", "cells", "layers")


def _is_op(entry):
    from ..layers._op_config import legacy_op_module

    module = entry.get("module")
    if isinstance(module, str):
        return module.startswith(_OP_MODULES)
    return entry.get("class_name") in _MASK_OPS or legacy_op_module(entry) is not None


def _legacy_op_modules(config):
    """Op entries of a legacy ``.h5`` config get back the module Keras left out."""
    from ..layers._op_config import legacy_op_module

    for entry in config.get("layers", []):
        module = legacy_op_module(entry)
        if module is not None:
            entry["module"] = module


def _how_to_give(name, registered=None):
    """How a program hands rnncore one of its own classes, as Keras asks it to."""
    package = registered.split(">")[0] if isinstance(registered, str) and ">" in registered \
        else "my_package"
    return (f"pass it to load_model as custom_objects={{{name!r}: {name}}}, or decorate the "
            f"class with @keras.saving.register_keras_serializable(package={package!r}) "
            "before loading")


def user_classes(config, custom_objects=None):
    """The program's classes a config names, by class name: each object whose registered
    name (else class name) is a key of `custom_objects` or of the registry of
    ``register_keras_serializable`` (Keras's lookup), or whose class name is a key of
    `custom_objects`."""
    from ..utils._registration import get_registered_object

    custom_objects = dict(custom_objects or {})
    found = {}

    def visit(value):
        if isinstance(value, list):
            for item in value:
                visit(item)
        elif isinstance(value, dict):
            name = value.get("class_name")
            if isinstance(name, str) and isinstance(value.get("config"), dict):
                registered = value.get("registered_name")
                cls = get_registered_object(registered if isinstance(registered, str) else
                                            name, custom_objects) or custom_objects.get(name)
                if isinstance(cls, type):
                    found.setdefault(name, cls)
            for item in value.values():
                visit(item)

    visit(config)
    return found


def check_safe(config, where, safe_mode=True):
    """Refuse a config that would need code to run or names a class rnncore does not have.

    A ``Lambda`` (marshalled Python bytecode), Keras's serialized functions (``__lambda__``,
    ``function`` with a non-Keras module) and user classes (``registered_name`` such as
    ``"my_package>MyLayer"``, a ``module`` outside Keras) are refused with a ValueError naming
    the layer, whatever ``safe_mode`` says: rnncore never runs code stored in a file. Classes
    of the running program -- passed as ``custom_objects`` or registered with
    ``register_keras_serializable``, put in ``custom_object_scope`` by :func:`user_classes` --
    are accepted by name, as in Keras.
    """
    from ..layers._registry import custom_classes

    known = _known_classes()
    custom = set(custom_classes()) - {"Lambda"}

    def refuse(message):
        raise UnsafeConfig(f"{where}: {message}")

    def check_object(value, layer):
        name = value.get("class_name")
        module = value.get("module")
        if name in ("Lambda", "__lambda__"):
            refuse(f"layer {layer!r} is a Lambda, which holds Python bytecode; rnncore never "
                   "runs code stored in a file (Keras's safe_mode; rnncore has no "
                   "safe_mode=False). Build that layer in code and load the weights with "
                   "load_weights")
        if name == "function" and module not in (None, "builtins") and not str(
                module).startswith("keras"):
            refuse(f"layer {layer!r} names the function {value.get('config')!r} of module "
                   f"{module!r}; rnncore rebuilds Keras's own functions only")
        if name in custom:  # the caller's own class, handed over or registered
            return
        registered = value.get("registered_name")
        if registered not in (None, name) and not str(module).startswith("keras"):
            refuse(f"layer {layer!r} uses class {registered!r} registered by user code, "
                   f"which this program has not registered; {_how_to_give(name, registered)}")
        if isinstance(module, str) and not module.startswith("keras") and \
                module != "builtins" and name not in _PLAIN:
            refuse(f"layer {layer!r} names class {name!r} of module {module!r}; rnncore "
                   f"rebuilds Keras's own classes and the program's own: "
                   f"{_how_to_give(name, registered)}")

    def visit(value, layer, key=None, in_graph=False):
        if isinstance(value, list):
            for item in value:
                visit(item, layer, key, in_graph)
            return
        if not isinstance(value, dict):
            return
        if isinstance(value.get("class_name"), str) and "config" in value:
            if key in _LAYER_KEYS:
                layer = _layer_name(value)
            check_object(value, layer)
            name = value["class_name"]
            if key in _LAYER_KEYS and name not in known and not (in_graph and _is_op(value)):
                refuse(f"layer {layer!r} is of class {name!r}, which rnncore cannot rebuild; "
                       f"it rebuilds {sorted(known - {'Lambda'})}")
        graph = isinstance(value.get("config"), dict) and "input_layers" in value["config"]
        for k, item in value.items():
            if k == "config" and isinstance(item, dict):
                for k2, item2 in item.items():
                    visit(item2, layer, k2, graph)
            elif k != "class_name":
                visit(item, layer, k, in_graph)

    if isinstance(config, dict) and config.get("class_name") == "Lambda":
        check_object(config, _layer_name(config))
    visit(config, _layer_name(config) if isinstance(config, dict) else None)


def _keras_history(item):
    if isinstance(item, dict) and item.get("class_name") == "__keras_tensor__":
        return item["config"]["keras_history"][0]
    return None


def _walk_tensors(value):
    if isinstance(value, list):
        for item in value:
            yield from _walk_tensors(item)
    elif isinstance(value, dict):
        name = _keras_history(value)
        if name is not None:
            yield name
        else:
            for item in value.values():
                yield from _walk_tensors(item)


def _tensor_items(value):
    """The ``__keras_tensor__`` objects anywhere in `value`."""
    if isinstance(value, list):
        for item in value:
            yield from _tensor_items(item)
    elif isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            yield value
        else:
            for item in value.values():
                yield from _tensor_items(item)


def _mask_sources(layers):
    """The tensors a Masking layer or an Embedding with ``mask_zero`` reads: the roots of the
    masks those layers make, which rnncore's layers carry themselves."""
    sources = set()
    for entry in layers:
        if not isinstance(entry, dict):
            continue
        config = entry.get("config") if isinstance(entry.get("config"), dict) else {}
        if entry.get("class_name") == "Masking" or (
                entry.get("class_name") == "Embedding" and config.get("mask_zero")):
            for node in entry.get("inbound_nodes", []):
                if isinstance(node, dict):
                    sources |= {tuple(t["config"]["keras_history"])
                                for t in _tensor_items(node.get("args", []))}
    return sources


def _roots(value, ops):
    """The tensors (not op results) the op results in `value` are computed from."""
    found = set()
    for t in _tensor_items(value):
        ref = tuple(t["config"]["keras_history"])
        if ref[0] in ops:
            found |= _roots(ops[ref[0]].get("inbound_nodes", []), ops)
        else:
            found.add(ref)
    return found


def strip_mask_ops(config, where):
    """Keras 3 records each mask a layer receives (a Masking layer's, an Embedding's with
    ``mask_zero``, passed on through the graph) as op nodes (``NotEqual``, ``Any``,
    ``ConvertToTensor``) fed to the layer as ``mask=``. rnncore's layers carry those masks
    themselves, so such ``mask=`` arguments, and the ops that feed nothing else, are dropped.
    A mask computed by ops from other tensors (``LSTM(2)(x, mask=ops.not_equal(ids, 0))``) and
    the ops whose results a layer, another kept op or the model's outputs read (``x + y``,
    ``x[:, -1]``, ``ops.mean``...) stay, to be rebuilt; an op rnncore cannot rebuild is refused
    here by name."""
    from ..layers._op_config import check_op_entry

    layers = config.get("layers")
    if not isinstance(layers, list):
        return
    ops = {e.get("name"): e for e in layers if isinstance(e, dict) and _is_op(e)}
    if not ops:
        return
    sources = _mask_sources(layers)
    used = {name for name in _walk_tensors([{"class_name": "__keras_tensor__",
                                             "config": {"keras_history": r}}
                                            for r in _refs(config.get("output_layers"))])
            if name in ops}
    for entry in layers:
        if not isinstance(entry, dict) or entry.get("name") in ops:
            continue
        for node in entry.get("inbound_nodes", []):
            if not isinstance(node, dict):
                continue
            kwargs = node.get("kwargs", {})
            mask = kwargs.get("mask")
            if mask is not None and set(_walk_tensors(mask)) & set(ops) and \
                    _roots(mask, ops) <= sources:  # a carried mask, as Keras records it
                if not set(_walk_tensors(mask)) <= set(ops):
                    raise ValueError(f"{where}: layer {entry.get('name')!r} is called with a "
                                     "mask that mixes op results and tensors, which rnncore "
                                     "does not rebuild")
                del kwargs["mask"]
            used |= (set(_walk_tensors(node.get("args", []))) |
                     set(_walk_tensors(kwargs))) & set(ops)
    todo = list(used)
    while todo:  # the ops a kept op reads are kept too
        entry = ops[todo.pop()]
        for name in set(_walk_tensors(entry.get("inbound_nodes", []))) & set(ops):
            if name not in used:
                used.add(name)
                todo.append(name)
    for name in sorted(used):
        check_op_entry(ops[name], where)
    config["layers"] = [e for e in layers
                        if not (isinstance(e, dict) and e.get("name") in set(ops) - used)]


def _refs(value):
    if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
        return [value]
    return [r for r in value or [] if isinstance(r, list) and r and isinstance(r[0], str)]


def plain(value):
    """Keras's ``__tuple__`` wrappers as lists; ``module``/``registered_name``/
    ``build_config``/``shared_object_id`` dropped from every object but graph tensors."""
    if isinstance(value, list):
        return [plain(v) for v in value]
    if not isinstance(value, dict):
        return value
    if value.get("class_name") == "__tuple__" and isinstance(value.get("config"), dict):
        return plain(value["config"].get("value", []))
    if value.get("class_name") == "__keras_tensor__":
        return value
    skip = ("module", "registered_name", "build_config", "shared_object_id", "compile_config")
    if str(value.get("module")).startswith("keras.src.ops."):
        skip = skip[1:]  # an op node is known by its module (Add the op, not the layer)
    return {k: plain(v) for k, v in value.items() if k not in skip}


def _legacy_sequential(config):
    """Keras 2: a Sequential's first layer carries ``batch_input_shape`` (and an Embedding
    ``input_length``) instead of an InputLayer entry."""
    layers = config.get("layers")
    if not isinstance(layers, list) or not layers:
        return
    for entry in layers:
        inner = entry.get("config") if isinstance(entry, dict) else None
        if not isinstance(inner, dict):
            continue
        shape = inner.pop("batch_input_shape", None)
        if entry is layers[0] and shape is not None and entry.get("class_name") != "InputLayer":
            config.setdefault("build_input_shape", list(shape))
        if entry.get("class_name") == "InputLayer" and shape is not None:
            inner.setdefault("batch_shape", list(shape))
        inner.pop("input_length", None)
        inner.pop("input_dim", None) if entry.get("class_name") != "Embedding" else None


def _legacy_nodes(config):
    """Keras 2 functional nodes ``[[["layer", node, tensor, {kwargs}], ...]]`` in Keras 3's
    ``{"args": [...], "kwargs": {...}}`` form; an InputLayer's ``batch_input_shape`` as
    ``batch_shape``."""
    for entry in config.get("layers", []):
        inner = entry.get("config")
        if entry.get("class_name") == "InputLayer" and isinstance(inner, dict):
            shape = inner.pop("batch_input_shape", None)
            if shape is not None:
                inner.setdefault("batch_shape", list(shape))
        elif isinstance(inner, dict):
            inner.pop("batch_input_shape", None)
            if entry.get("class_name") == "Embedding":
                inner.pop("input_length", None)
        nodes = []
        for node in entry.get("inbound_nodes", []):
            if isinstance(node, list) and node and isinstance(node[0], list):
                refs = [list(t[:3]) for t in node]
                kwargs = dict(node[0][3]) if len(node[0]) > 3 and isinstance(
                    node[0][3], dict) else {}
                kts = [{"class_name": "__keras_tensor__", "config": {"keras_history": r}}
                       for r in refs]
                nodes.append({"args": [kts if len(kts) > 1 else kts[0]], "kwargs": kwargs})
            else:
                nodes.append(node)
        entry["inbound_nodes"] = nodes


_MODELS = ("Sequential", "Functional", "Model")


def _nested_entries(inner):
    for entry in inner.get("layers", []):
        if isinstance(entry, dict) and entry.get("class_name") in _MODELS and \
                isinstance(entry.get("config"), dict):
            yield entry["class_name"], entry["config"]


def _prepare(name, inner, where):
    """The steps on a model's raw Keras config, for it and every model used as its layer."""
    if name == "Sequential":
        _legacy_sequential(inner)
    else:
        _legacy_nodes(inner)
        _legacy_op_modules(inner)
        strip_mask_ops(inner, where)
        outputs = inner.get("output_layers")
        if "output_structure" not in inner and isinstance(outputs, list) and outputs and \
                isinstance(outputs[0], list):
            # Keras lists several outputs as a list of references; rnncore keeps the list
            inner["output_structure"] = list(range(len(outputs)))
    for nested in _nested_entries(inner):
        _prepare(*nested, where)


def _finish(name, inner):
    """The steps on a model's config once in rnncore's terms, nested models included."""
    from ._cloning import _keras_graph

    if name == "Sequential":
        layers = inner.get("layers", [])
        if layers and layers[0].get("class_name") == "InputLayer":
            inner.setdefault("build_input_shape", layers[0]["config"].get("batch_shape"))
    else:
        _keras_graph(inner)
        inner.pop("trainable", None)
    for nested in _nested_entries(inner):
        _finish(*nested)


def from_keras(config, where):
    """Rebuild an rnncore model from a Keras config (``{"class_name", "config", ...}``)."""
    from ..layers import deserialize
    from ._cloning import _from_keras

    if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
        raise ValueError(f"{where}: the model config must be an object with \"class_name\" "
                         f"and \"config\", found {repr(config)[:80]}")
    name = config.get("class_name")
    if name not in _MODELS:
        return _subclassed(config, where)
    inner = copy.deepcopy(config["config"])
    _prepare(name, inner, where)
    config = _from_keras(plain({"class_name": name, "config": inner}))
    _finish(name, config["config"])
    return deserialize(config)


def _subclassed(config, where):
    """A model of the program's own class (subclassed): made by its ``from_config`` (which
    ``cls(**config)`` is by default), then built for the input shape the file records, so
    that its weights exist to be read, as Keras's ``deserialize_keras_object`` does."""
    from ..layers._registry import custom_classes
    from ._cloning import _from_keras
    from ._model import Model

    name = config.get("class_name")
    cls = custom_classes().get(name)
    if cls is None:
        registered = config.get("registered_name")
        shown = registered if isinstance(registered, str) else name
        raise ValueError(f"{where}: the model is of class {shown!r}, which is not one of "
                         f"rnncore's models and which this program has not given; "
                         f"{_how_to_give(name, registered)}")
    if not issubclass(cls, Model):
        raise ValueError(f"{where}: the file holds a {name!r}, which is a "
                         f"{cls.__mro__[1].__name__} subclass, not a model")
    inner = _from_keras(plain(config["config"]))
    try:
        model = cls.from_config(inner)
    except TypeError as exc:
        raise TypeError(f"{cls} could not be rebuilt from its config: its from_config (by "
                        f"default cls(**config)) does not take config={inner}. When "
                        "get_config is overridden, it must return every argument __init__ "
                        "takes, or the class must define from_config. Exception encountered: "
                        f"{exc}") from exc
    build_config = config.get("build_config")
    if isinstance(build_config, dict) and build_config and not model.built:
        if "build_from_config" in dir(cls):  # the class says how it is built
            model.build_from_config(build_config)
        elif build_config.get("input_shape") is not None:
            model.build(_shape(build_config["input_shape"]))
    if not model.built:
        raise ValueError(f"{where}: the file records no input shape to build model "
                         f"{model.name!r} ({name}) with, so its weights cannot be read into "
                         "it; give the class a build_from_config(config) that makes its "
                         "weights")
    return model


def _shape(shape):
    """A build_config's input shape: a shape (list of dims) or a list of shapes."""
    if isinstance(shape, list) and shape and all(isinstance(s, list) for s in shape):
        return [tuple(s) for s in shape]
    return tuple(shape)
