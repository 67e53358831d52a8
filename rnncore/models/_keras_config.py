"""A model's config in Keras 3's schema, as ``config.json`` (and a legacy ``.h5``'s
``model_config``) hold it; ``_keras_reading`` goes the other way.

rnncore's ``get_config`` already uses Keras's keys; this adds what Keras's
``deserialize_keras_object`` reads (``module``, ``registered_name``, ``build_config``,
``compile_config``), writes a Sequential's input as an InputLayer entry, a functional model's
calls as Keras 3's ``__keras_tensor__`` arguments, a model used as a layer in the same form and
a subclassed model as its class, ``get_config()`` and build input shape, and leaves out
rnncore's own options where they hold their defaults (a non-default ``truncate_gradient``
stays: Keras then refuses the file by naming it, which is better than silently training
another model).
"""
import copy

_MODULES = (("layers", "keras.layers"), ("initializers", "keras.initializers"),
            ("regularizers", "keras.regularizers"), ("constraints", "keras.constraints"),
            ("optimizers", "keras.optimizers"), ("losses", "keras.losses"),
            ("metrics", "keras.metrics"))
_KEY_KINDS = {"_initializer": "initializers", "_regularizer": "regularizers",
              "_constraint": "constraints"}
# rnncore's own options, left out of a Keras config while they hold these values
_RNNCORE_DEFAULTS = {"truncate_gradient": -1}
# what a recurrent layer of Keras 3 takes; rnncore writes the value Keras would use anyway
_KERAS_RECURRENT_DROP = {"SimpleRNN": ("use_cudnn", "implementation"),
                         "GRU": ("implementation",), "LSTM": ("implementation",)}


def _kind_of(key):
    if key is None:
        return None
    for suffix, kind in _KEY_KINDS.items():
        if key.endswith(suffix):
            return kind
    if key in ("layer", "layers", "backward_layer", "cell", "cells"):
        return "layers"
    return None


def _module(class_name, kind):
    """Keras's module for one of rnncore's classes; None for a class of the user's own (a
    custom layer), which Keras writes with ``module`` None and the class name registered."""
    import rnncore

    modules = dict(_MODULES)
    for name in ([kind] if kind is not None else []) + list(modules):
        if isinstance(getattr(getattr(rnncore, name), class_name, None), type):
            return modules[name]
    if isinstance(getattr(rnncore.optimizers.schedules, class_name, None), type):
        return "keras.optimizers.schedules"
    return None


def _decorate(value, key=None):
    """rnncore's nested ``{"class_name", "config"}`` objects with Keras's ``module`` and
    ``registered_name``; rnncore's own options at their defaults left out."""
    if isinstance(value, list):
        return [_decorate(item, key) for item in value]
    if not isinstance(value, dict):
        return value
    if str(value.get("class_name")).startswith("__") or \
            str(value.get("module")).startswith("keras.src.ops."):
        return value  # graph tensors, slices, arrays and op nodes: already Keras's form
    if "class_name" in value and isinstance(value.get("config"), dict):
        name = value["class_name"]
        config = {k: _decorate(v, k) for k, v in value["config"].items()
                  if not (k in _RNNCORE_DEFAULTS and v == _RNNCORE_DEFAULTS[k])}
        for option in _KERAS_RECURRENT_DROP.get(name, ()):
            config.pop(option, None)
        module = value.get("module") or _module(name, _kind_of(key))
        registered = value.get("registered_name") or (name if module is None else None)
        out = {"module": module, "class_name": name, "config": config,
               "registered_name": registered}
        out.update({k: v for k, v in value.items() if k not in out and k != "config"})
        return out
    return {k: _decorate(v, k) for k, v in value.items()}


def _tensor(t):
    from ..layers import InputLayer

    layer, node_index, tensor_index = t._keras_history
    return layer, node_index, tensor_index, isinstance(layer, InputLayer)


def _functional_nodes(model, config):
    """Rewrite each ``inbound_nodes`` entry of a functional config in Keras 3's form."""
    from ..layers import RNN, Bidirectional, RNNBase
    from ..layers._op_layer import OpLayer
    from ._functional import _flat, _mask_tensor

    shapes = {}  # rnncore ref (name, call, index) -> (shape, dtype)
    call_index, seen = {}, {}
    for node in model._nodes:
        call_index[id(node)] = seen.get(id(node.layer), 0)
        seen[id(node.layer)] = call_index[id(node)] + 1

    def ref_of(t):
        layer, node_index, tensor_index, is_input = _tensor(t)
        call = 0 if is_input else call_index[id(layer._inbound_nodes[node_index])]
        shapes[(layer.name, call, tensor_index)] = (list(t.shape), t.dtype)
        return [layer.name, call, tensor_index]

    def kt(t):
        ref = ref_of(t)
        shape, dtype = shapes[tuple(ref)]
        return {"class_name": "__keras_tensor__",
                "config": {"shape": shape, "dtype": dtype, "keras_history": ref}}

    by_name = {entry["name"]: entry for entry in config["layers"]}
    done = {name: 0 for name in by_name}
    for node in model._nodes:
        if isinstance(node.layer, OpLayer):  # written in Keras's form by get_config
            continue
        entry = by_name[node.layer.name]
        k = done[node.layer.name]
        done[node.layer.name] += 1
        old = entry["inbound_nodes"][k]
        kwargs = {key: value for key, value in old.get("kwargs", {}).items() if key != "mask"}
        inputs = _flat(node.inputs)
        recurrent = isinstance(node.layer, (RNNBase, RNN, Bidirectional))
        if recurrent and len(inputs) > 1:
            args = [kt(inputs[0])]
            kwargs["initial_state"] = [kt(t) for t in inputs[1:]]
        elif hasattr(node.layer, "keras_call_arguments"):  # MultiHeadAttention's (q, v, key=)
            args, named = node.layer.keras_call_arguments(inputs)
            args = [kt(t) for t in args]
            kwargs.update({key: kt(t) for key, t in named.items()})
        elif old.get("is_list"):
            args = [[kt(t) for t in inputs]]
        else:
            args = [kt(inputs[0])] if inputs else []
        mask = _mask_tensor(node)
        if isinstance(mask, list):
            kwargs["mask"] = [None if m is None else kt(m) for m in mask]
        elif mask is not None:
            kwargs["mask"] = kt(mask)
        entry["inbound_nodes"][k] = {"args": args, "kwargs": kwargs}
    for key in ("input_layers", "output_layers"):
        refs = config[key]
        config[key] = refs[0] if len(refs) == 1 else refs


def _nested_models(model, config):
    """A model used as a layer gets the whole Keras form of its own config."""
    from ._model import Model

    by_name = {layer.name: layer for layer in model.layers}
    for entry in config.get("layers", []):
        inner = entry.get("config") if isinstance(entry.get("config"), dict) else {}
        layer = by_name.get(entry.get("name", inner.get("name")))
        if isinstance(layer, Model):
            entry.update(model_config(layer))


def model_config(model):
    """``model``'s architecture as Keras 3's ``config.json`` holds it (without the compile
    settings, see :func:`compile_config`)."""
    from ..layers import InputLayer
    from ._functional import Functional
    from ._sequential import Sequential

    config = copy.deepcopy(model.get_config())
    _nested_models(model, config)
    if isinstance(model, Sequential):
        shape = config.get("build_input_shape")
        layers = config["layers"]
        if shape is not None and not (layers and layers[0]["class_name"] == "InputLayer"):
            dtype = "float32"
            inputs = getattr(model, "inputs", None)
            if inputs:
                dtype = getattr(inputs[0], "dtype", dtype)
            first = model._layers[0] if model._layers else None
            name = first.name if isinstance(first, InputLayer) else "input_layer"
            layers.insert(0, {"class_name": "InputLayer",
                              "config": {"batch_shape": list(shape), "dtype": dtype,
                                         "sparse": False, "ragged": False, "name": name}})
        out = {"module": "keras", "class_name": "Sequential",
               "config": _decorate(config), "registered_name": None,
               "build_config": {"input_shape": shape}}
        _layer_build_configs(model, out["config"]["layers"])
    elif isinstance(model, Functional):
        config["trainable"] = model.trainable
        _functional_nodes(model, config)
        out = {"module": "keras.src.models.functional", "class_name": "Functional",
               "config": _decorate(config), "registered_name": "Functional",
               "build_config": {"input_shape": None}}
    else:
        out = subclassed_config(model, config)
    return out


def _layer_build_configs(model, entries):
    """Each built layer's input shape as Keras writes it in a Sequential's config: Keras
    builds the layers of the model it loads from these, before the model itself (so that,
    as in Keras, their weights' paths do not start with the model's name)."""
    shapes = getattr(model, "_shapes", None)
    if not model.built or not shapes:
        return
    layers = [e for e in entries if e.get("class_name") != "InputLayer"]
    for entry, shape in zip(layers, shapes):
        entry.setdefault("build_config", {"input_shape": list(shape)})


def subclassed_config(model, config):
    """A subclassed model as Keras writes one: its class by module and registered name, its
    ``get_config()`` (Keras's automatic one where the class writes none), and the input shape
    it was built for, which loading builds it with before the weights are read."""
    from ..layers._registry import user_class_keys

    keys = user_class_keys(type(model))
    entry = {"module": keys["module"], "class_name": type(model).__name__,
             "config": _decorate(config), "registered_name": keys["registered_name"]}
    shape = getattr(model, "_build_shape", None)
    if isinstance(shape, list):
        shape = [list(s) for s in shape]
    elif shape is not None:
        shape = list(shape)
    entry["build_config"] = {"input_shape": shape}
    return entry


def compile_settings(model):
    """A compiled model's settings: optimizer and losses serialized, metrics by name (an
    instance of a built-in metric class serialized, as Keras writes it, so that its arguments
    survive: ``MeanIoU(num_classes=3)``), one entry per output for several outputs (None when
    the model is not compiled)."""
    if not model.compiled:
        return None
    from .. import losses, metrics, optimizers

    def plain(m):
        if isinstance(m, str):
            return m
        if type(m) in metrics._CLASSES:
            return metrics.serialize(m)
        return getattr(m, "name", None)

    def names(ids):
        return [m for m in map(plain, ids) if m is not None]

    heads = model._heads
    if len(heads) == 1:
        return {"optimizer": optimizers.serialize(model.optimizer),
                "loss": losses.serialize(heads[0].loss_obj),
                "loss_weights": heads[0].weight,
                "metrics": names(heads[0].metric_ids),
                "weighted_metrics": names(heads[0].weighted_metric_ids)}
    # several outputs: one entry per output, in output order
    return {"optimizer": optimizers.serialize(model.optimizer),
            "loss": [None if h.loss_obj is None else losses.serialize(h.loss_obj)
                     for h in heads],
            "loss_weights": [h.weight for h in heads],
            "metrics": [names(h.metric_ids) for h in heads],
            "weighted_metrics": [names(h.weighted_metric_ids) for h in heads]}


def compile_config(model):
    """Keras 3's ``compile_config`` of a compiled model (None when it is not compiled)."""
    c = compile_settings(model)
    if c is None:
        return None
    out = _decorate({"optimizer": c["optimizer"]})
    loss = c["loss"]
    out["loss"] = _decorate(loss, "loss") if isinstance(loss, (dict, list)) else loss
    single = not isinstance(c["loss"], list)
    out["loss_weights"] = None if single and c["loss_weights"] in (None, 1, 1.0) else \
        c["loss_weights"]
    for key in ("metrics", "weighted_metrics"):
        value = c[key]
        out[key] = (value or None) if single else value
    out.update(run_eagerly=False, steps_per_execution=1, jit_compile=False)
    return out
