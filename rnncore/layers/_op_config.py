"""An op node's entry in a functional model's config, in Keras 3's form, and back.

Keras writes ``ops.mean(x, axis=1)`` as an entry of the model's ``layers`` with module
``keras.src.ops.numpy``, class ``Mean``, the op's constructor arguments as its ``config``
(``{"name": "mean", "axis": 1, "keepdims": false}``) and one inbound node whose ``args`` hold the
arguments of its ``call``: tensors as ``__keras_tensor__`` references, and constants as
JSON (Python numbers, ``__slice__`` / ``__ellipsis__`` in a ``get_item`` key, NumPy arrays as
``__numpy__``). Which argument goes where is Keras's per op, in
:mod:`rnncore.layers._keras_op_table`; rnncore's own ``get_config`` writes op nodes in the same
form, so one reader serves both.
"""
import inspect
import re

import numpy as np

from ._keras_op_table import KERAS_OPS

OP_MODULE = "keras.src.ops."


def _snake(class_name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", class_name).lower()


# (module, class) -> the function a file's op entry is rebuilt with: the one named like the
# class where several make it (abs and absolute make Absolute; swish and silu make Silu)
_BY_CLASS = {}
for _function, _row in KERAS_OPS.items():
    _key = (OP_MODULE + _row[1], _row[0])
    if _key not in _BY_CLASS or _snake(_row[0]) == _function:
        _BY_CLASS[_key] = _function


_MODULE_OF = {row[0]: OP_MODULE + row[1] for row in KERAS_OPS.values()}


def is_op_entry(entry):
    """Whether a functional config's layer entry is an op node (Keras's Operation)."""
    return isinstance(entry, dict) and str(entry.get("module")).startswith(OP_MODULE)


def legacy_op_module(entry):
    """The module of an op entry Keras wrote to a legacy ``.h5`` config, which drops every
    entry's module (``Add`` is then the op or the layer): an op's config has no
    ``trainable``, which every layer's has. None for anything else."""
    if not isinstance(entry, dict) or entry.get("module") is not None:
        return None
    config = entry.get("config")
    if not isinstance(config, dict) or "trainable" in config:
        return None
    return _MODULE_OF.get(entry.get("class_name"))


def keras_class(op_name):
    """Keras's class of the op made by ``keras.ops.<op_name>`` (``abs`` -> ``Absolute``,
    ``swish`` -> ``Silu``), which the summary shows and the file names."""
    row = KERAS_OPS.get(op_name)
    if row is not None:
        return row[0]
    return "".join(part.capitalize() for part in op_name.split("_"))


def keras_node_name(op_name):
    """The name Keras gives such a node before numbering it (its class in snake case)."""
    return _snake(KERAS_OPS[op_name][0]) if op_name in KERAS_OPS else op_name


def rebuildable():
    """The Keras op classes rnncore rebuilds from a config, sorted."""
    return sorted({row[0] for row in KERAS_OPS.values()})


# ---------------------------------------------------------------------------------------------
# writing


def _bind(layer, params):
    """The op call's arguments by the names of Keras's function."""
    names = [p for p, _ in params]
    if len(layer.op_args) > len(names):
        raise ValueError(f"op node {layer.name!r} (ops.{layer.op_name}): called with "
                         f"{len(layer.op_args)} positional arguments, Keras's takes {names}")
    named = dict(zip(names, layer.op_args))
    for key, value in layer.op_kwargs.items():
        if key not in names:
            raise ValueError(f"op node {layer.name!r} (ops.{layer.op_name}): Keras's "
                             f"ops.{layer.op_name} has no argument {key!r} (it takes {names}), "
                             "so the model's config cannot hold it")
        named[key] = value
    return named


def _to_json(value, tensor_json, where):
    """A call's argument as Keras's ``serialize_keras_object`` writes it."""
    from ._base import SymbolicTensor

    if isinstance(value, SymbolicTensor):
        if tensor_json is None:
            raise ValueError(f"{where}: a symbolic tensor where Keras's op takes a constant")
        return tensor_json(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_to_json(v, tensor_json, where) for v in value]
    if isinstance(value, dict):
        return {str(k): _to_json(v, tensor_json, where) for k, v in value.items()}
    if isinstance(value, slice):
        return {"class_name": "__slice__",
                "config": {"start": _to_json(value.start, None, where),
                           "stop": _to_json(value.stop, None, where),
                           "step": _to_json(value.step, None, where)}}
    if value is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return np.dtype(value).name
    if isinstance(value, np.generic) or (isinstance(value, np.ndarray) and value.ndim == 0):
        return value.item()
    if isinstance(value, np.ndarray):
        return {"class_name": "__numpy__",
                "config": {"value": value.tolist(), "dtype": value.dtype.name}}
    raise ValueError(f"{where}: the argument {value!r} (a {type(value).__name__}) has no form in "
                     "a Keras config")


def op_entry(layer, tensor_json):
    """The op node's entry of a functional config, with its one inbound node; `tensor_json`
    writes a symbolic tensor as a ``__keras_tensor__`` reference."""
    row = KERAS_OPS.get(layer.op_name)
    if row is None:
        raise ValueError(
            f"op node {layer.name!r} (ops.{layer.op_name}): rnncore cannot write this op to a "
            f"model config; it writes the ops {sorted(KERAS_OPS)}. Save the weights "
            "(save_weights) and rebuild the model in code")
    class_name, module, params, init, call = row
    named = _bind(layer, params)
    defaults = dict(params)
    where = f"op node {layer.name!r} (ops.{layer.op_name})"
    config = {"name": layer.name}
    for p in init:
        config[p] = _to_json(named.get(p, defaults[p]), None, f"{where}, argument {p!r}")
    args = [_to_json(named.get(p, defaults[p]), tensor_json, where) for p in call]
    return {"module": OP_MODULE + module, "class_name": class_name, "config": config,
            "registered_name": class_name, "name": layer.name,
            "inbound_nodes": [{"args": args, "kwargs": {}}]}


# ---------------------------------------------------------------------------------------------
# reading


def _is_tensor_json(value):
    return isinstance(value, dict) and value.get("class_name") == "__keras_tensor__"


def tensor_refs(node):
    """The (layer, call, output) references of the tensors an op's node reads."""
    found = []

    def walk(value):
        if _is_tensor_json(value):
            found.append(tuple(value["config"]["keras_history"]))
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v)

    walk([node.get("args", []), node.get("kwargs", {})])
    return found


def _from_json(value, tensor_of, as_tuples=False):
    if _is_tensor_json(value):
        return tensor_of(tuple(value["config"]["keras_history"]))
    if isinstance(value, (list, tuple)):  # JSON's lists; a config dict's tuples
        items = [_from_json(v, tensor_of, as_tuples) for v in value]
        return tuple(items) if as_tuples or isinstance(value, tuple) else items
    if not isinstance(value, dict):
        return value
    kind, config = value.get("class_name"), value.get("config")
    if kind == "__slice__":
        return slice(config.get("start"), config.get("stop"), config.get("step"))
    if kind == "__ellipsis__":
        return Ellipsis
    if kind in ("__numpy__", "__tensor__"):
        return np.array(config["value"], dtype=config["dtype"])
    if kind == "__tuple__":
        return tuple(_from_json(v, tensor_of, as_tuples) for v in config["value"])
    return {k: _from_json(v, tensor_of, as_tuples) for k, v in value.items()}


def _same(value, default):
    return value is default or (type(value) is type(default) and value == default)


def check_op_entry(entry, where):
    """Refuse, by name, an op entry rnncore cannot rebuild; its Keras function's name."""
    name = entry.get("name")
    key = (entry.get("module"), entry.get("class_name"))
    function = _BY_CLASS.get(key)
    if function is None:
        raise ValueError(f"{where}: operation {name!r} is keras.ops' {key[1]} "
                         f"({key[0]}), which rnncore cannot rebuild; it rebuilds the ops "
                         f"{rebuildable()}")
    _, _, params, init, call = KERAS_OPS[function]
    config = entry.get("config") or {}
    unknown = sorted(set(config) - set(init) - {"name"})
    nodes = entry.get("inbound_nodes") or []
    for node in nodes:
        args, kwargs = node.get("args", []), node.get("kwargs", {})
        if len(args) > len(call):
            unknown.append(f"{len(args)} positional arguments")
        unknown += sorted(set(kwargs) - {p for p, _ in params})
    if unknown:
        raise ValueError(f"{where}: operation {name!r} ({key[1]}) has arguments rnncore's "
                         f"ops.{function} does not know: {unknown}")
    if len(nodes) != 1:
        raise ValueError(f"{where}: operation {name!r} ({key[1]}) has {len(nodes)} calls; "
                         "an op node is called once")
    return function


def rebuild_op(entry, tensor_of, where="from_config"):
    """The output tensor(s) of an op entry, made by calling rnncore's op on the tensors
    `tensor_of` gives for each (layer, call, output) reference; the node keeps the entry's
    name."""
    from .. import ops
    from ..ops._core import getitem
    from ._op_layer import symbolic_op

    function = check_op_entry(entry, where)
    _, _, params, init, call = KERAS_OPS[function]
    config = entry.get("config") or {}
    (node,) = entry["inbound_nodes"]
    named = {p: _from_json(config[p], None, as_tuples=True) for p in init if p in config}
    for p, value in zip(call, node.get("args", [])):
        named[p] = _from_json(value, tensor_of)
    for p, value in node.get("kwargs", {}).items():
        named[p] = _from_json(value, tensor_of)
    if function == "get_item" and isinstance(named.get("key"), list):
        named["key"] = tuple(named["key"])  # Keras's GetItem takes a list key as a tuple
    # the tensors' parameters first, by position; the op's settings by name
    args, kwargs = [], {}
    for p, default in params:
        if p in call and not kwargs:
            args.append(named.get(p, default))
        elif p in named:
            kwargs[p] = named[p]
    op = getitem if function == "get_item" else getattr(ops, function)
    op = getattr(op, "__wrapped_op__", op)
    signature = inspect.signature(op).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in signature.values()):
        # Keras's settings that rnncore's op lacks (elu's alpha, round's decimals) are
        # accepted at Keras's default values only
        defaults = dict(params)
        extra = {p: v for p, v in kwargs.items() if p not in signature}
        refused = {p: v for p, v in extra.items() if not _same(v, defaults[p])}
        if refused:
            raise ValueError(f"{where}: operation {entry.get('name')!r} "
                             f"({entry.get('class_name')}) has {refused}, which rnncore's "
                             f"ops.{function} does not take")
        kwargs = {p: v for p, v in kwargs.items() if p not in extra}
    return symbolic_op(op, function, args, kwargs, name=entry.get("name"))
