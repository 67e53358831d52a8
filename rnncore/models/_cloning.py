"""``clone_model`` and ``model_from_json``, as ``keras.models``."""
import json

from ._functional import Functional
from ._model import Model
from ._sequential import Sequential


def clone_model(model, input_tensors=None, clone_function=None, call_function=None,
                recursive=False, **kwargs):
    """A new model with ``model``'s architecture and new weights, as ``keras.models.clone_model``.

    Every layer is rebuilt from its config (``layer.__class__.from_config(layer.get_config())``,
    Keras's default), so its weights are drawn afresh by its initializers; names are kept.
    ``clone_model(m)`` followed by ``set_weights(m.get_weights())`` reproduces ``m``. A
    Sequential or functional clone of a compiled model is compiled as it was (a fresh
    optimizer of the same settings), as Keras 3 does.

    Parameters
    ----------
    model : Sequential or functional Model (or a subclassed model with ``get_config`` and
        ``from_config``).
    clone_function : callable, optional, Sequential only: ``layer -> new layer``.

    ``input_tensors`` and ``call_function`` (Keras's ways of rewiring a functional graph) are
    not supported: rnncore raises NotImplementedError when they are given.
    """
    if not isinstance(model, Model):
        raise ValueError(f"Expected `model` argument to be a `Model` instance. Received: "
                         f"model={model!r}")
    if input_tensors is not None:
        raise NotImplementedError("clone_model: rnncore does not rewire a model onto new "
                                  f"tensors; received input_tensors={input_tensors!r}")
    if call_function is not None:
        raise NotImplementedError("clone_model: rnncore does not support call_function; "
                                  f"received call_function={call_function!r}")
    if kwargs:
        raise ValueError(f"Unexpected keyword argument(s) for clone_model: {sorted(kwargs)}")
    if clone_function is not None and not callable(clone_function):
        raise ValueError(f"Expected `clone_function` argument to be a callable. Received: "
                         f"clone_function={clone_function!r}")
    if isinstance(model, Sequential):
        if clone_function is None:
            return _compiled_like(model, Sequential.from_config(model.get_config()))
        config = model.get_config()
        clone = Sequential([clone_function(layer) for layer in model.layers], name=model.name)
        shape = config.get("build_input_shape")
        if shape is not None and not clone.built:
            clone.build(tuple(shape))
        return _compiled_like(model, clone)
    if clone_function is not None:
        raise NotImplementedError("clone_model: clone_function is supported for Sequential "
                                  f"models only; received a {type(model).__name__} model")
    if isinstance(model, Functional):
        return _compiled_like(model, Functional.from_config(model.get_config()))
    try:
        return type(model).from_config(model.get_config())
    except NotImplementedError:
        raise
    except Exception as exc:
        raise ValueError(f"clone_model: the subclassed model {type(model).__name__} cannot be "
                         f"rebuilt from its config ({type(exc).__name__}: {exc}); define "
                         "get_config and from_config") from exc


def _compiled_like(model, clone):
    if model.compiled:
        clone.compile_from_config(model.get_compile_config())
    return clone


def model_from_json(json_string, custom_objects=None):
    """A model (uncompiled, new weights) from ``model.to_json()``'s string, rnncore's or Keras's.

    Parameters
    ----------
    json_string : str, ``{"class_name": "Sequential" | "Functional" | "Model", "config": …}``.
    custom_objects : dict, the program's own layer classes by name, as in Keras.

    As loading a file, it never runs code: a ``Lambda`` or a class rnncore does not have is
    refused with a ValueError naming the layer.
    """
    from ..layers._registry import custom_object_scope
    from ._keras_reading import check_safe, from_keras

    if not isinstance(json_string, (str, bytes)):
        raise TypeError(f"model_from_json: expected a JSON string, received "
                        f"json_string={json_string!r:.80}")
    try:
        config = json.loads(json_string)
    except json.JSONDecodeError as exc:
        raise ValueError(f"model_from_json: json_string is not valid JSON ({exc})") from None
    if not isinstance(config, dict) or config.get("class_name") not in (
            "Sequential", "Functional", "Model"):
        got = config.get("class_name") if isinstance(config, dict) else config
        raise ValueError("model_from_json: expected the JSON of a Sequential or functional "
                         f"model (class_name 'Sequential', 'Functional' or 'Model'), got "
                         f"{got!r:.80}")
    with custom_object_scope(custom_objects):
        check_safe(config, "model_from_json")
        return from_keras(config, "model_from_json")


def _is_keras_tensor(item):
    return isinstance(item, dict) and item.get("class_name") == "__keras_tensor__"


def _keras_graph(config):
    """A Keras 3 functional config's graph in rnncore's terms: each call's tensors, written by
    Keras as ``__keras_tensor__`` entries with their ``keras_history`` (layer, call, output),
    become rnncore's [layer, call, output] references; a recurrent layer's ``initial_state``
    joins its inputs, as rnncore's graph holds them; a single output reference (Keras writes
    a bare triple) becomes a list of one. Op nodes keep Keras's form, which rnncore's
    ``from_config`` reads."""
    from ..layers._op_config import is_op_entry

    def ref(item):
        return list(item["config"]["keras_history"])

    for entry in config.get("layers", []):
        if is_op_entry(entry):  # an op node's arguments stay in Keras's form, constants and all
            continue
        nodes = []
        for node in entry.get("inbound_nodes", []):
            args = node.get("args", []) if isinstance(node, dict) else None
            if not args or not (_is_keras_tensor(args[0]) or (
                    isinstance(args[0], list) and args[0] and _is_keras_tensor(args[0][0]))):
                nodes.append(node)  # rnncore's own form
                continue
            kwargs = dict(node.get("kwargs", {}))
            first = args[0]
            refs = [ref(t) for t in first] if isinstance(first, list) else [ref(first)]
            is_list = isinstance(first, list)
            if entry.get("class_name") == "MultiHeadAttention":
                # MultiHeadAttention(query, value, key=, attention_mask=): its inputs in
                # rnncore's graph are [query, value, key (value when absent), mask]
                value = args[1] if len(args) > 1 else kwargs.pop("value", None)
                refs += [ref(value)] if _is_keras_tensor(value) else []
                key = kwargs.pop("key", None)
                mask_arg = kwargs.pop("attention_mask", None)
                refs.append(ref(key) if _is_keras_tensor(key) else refs[-1])
                if _is_keras_tensor(mask_arg):
                    refs.append(ref(mask_arg))
                is_list = True
            states = kwargs.pop("initial_state", None)
            if states is not None:
                refs += [ref(t) for t in (states if isinstance(states, list) else [states])]
                is_list = True
            mask = kwargs.get("mask")
            if _is_keras_tensor(mask):
                kwargs["mask"] = {"keras_tensor": ref(mask)}
            elif isinstance(mask, list):
                kwargs["mask"] = [{"keras_tensor": ref(m)} if _is_keras_tensor(m) else None
                                  for m in mask]
            nodes.append({"args": refs, "is_list": is_list, "kwargs": kwargs})
        entry["inbound_nodes"] = nodes
    for key in ("input_layers", "output_layers"):
        value = config.get(key)
        if isinstance(value, list) and value and isinstance(value[0], str):
            config[key] = [value]


_UNSET_OPTIONS = ("input_axes", "output_axes", "quantization_config")
_RECURRENT = ("SimpleRNN", "LSTM", "GRU")


def _legacy_recurrent(config):
    """Keras 2 configs: ``time_major`` (False: the only layout Keras 3 and rnncore have) and
    ``implementation=0`` (Keras 3 runs it as 2)."""
    if config.pop("time_major", False):
        raise ValueError(f"model_from_json: layer {config.get('name')!r} has time_major=True; "
                         "Keras 3 and rnncore take batch-major inputs only")
    if config.get("implementation") == 0:
        config["implementation"] = 2


def _from_keras(entry):
    """Keras's JSON in rnncore's terms: a dtype policy (``{"class_name": "DTypePolicy", …}``)
    becomes its dtype name; InputLayer loses ``ragged`` and ``optional`` (Keras 3.6+ writes
    both, False for every tensor an rnncore model takes); the options of newer Keras releases
    that rnncore has not (``input_axes``/``output_axes`` of an initializer, a layer's
    ``quantization_config``) are dropped when unset."""
    if isinstance(entry, list):
        return [_from_keras(item) for item in entry]
    if isinstance(entry, dict):
        if entry.get("class_name") in ("DTypePolicy", "FloatDTypePolicy") and isinstance(
                entry.get("config"), dict):
            return entry["config"].get("name")
        entry = {key: _from_keras(value) for key, value in entry.items()}
        config = entry.get("config")
        if entry.get("class_name") == "InputLayer" and isinstance(config, dict):
            for flag in ("ragged", "optional"):
                if config.pop(flag, False):
                    raise ValueError(f"model_from_json: InputLayer {config.get('name')!r} "
                                     f"has {flag}=True, which rnncore does not support")
        if entry.get("class_name") in _RECURRENT and isinstance(config, dict):
            _legacy_recurrent(config)
        if isinstance(config, dict):
            for option in _UNSET_OPTIONS:
                if option in config and config[option] is None:
                    del config[option]
    return entry
