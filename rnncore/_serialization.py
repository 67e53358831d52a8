"""Keras's ``serialize_keras_object`` / ``deserialize_keras_object`` and its custom-object
scope, over rnncore's classes.

An object serializes to Keras's dict ``{"module", "class_name", "config", "registered_name"}``
(``module`` names Keras's public module, ``keras.layers`` …, so a dict written by either
library reads in the other); functions to ``class_name="function"`` with their name as
config; NumPy arrays to Keras's ``"__numpy__"`` form. Deserializing looks a class up, in
order, in the ``custom_objects`` given, the active :class:`CustomObjectScope`\\ s, the
registered objects (``register_keras_serializable`` / ``get_custom_objects()``), and then
rnncore's module for the ``module`` named (any of them when none is). It never imports code
named by a config.
"""
import contextlib
import functools
import threading

import numpy as np

_scopes = threading.local()

# Keras's public module for each of rnncore's, as Keras writes it in ``module``
_KERAS_MODULES = {"layers": "keras.layers", "losses": "keras.losses",
                  "optimizers": "keras.optimizers", "metrics": "keras.metrics",
                  "initializers": "keras.initializers", "regularizers": "keras.regularizers",
                  "constraints": "keras.constraints", "activations": "keras.activations",
                  "models": "keras.models", "random": "keras.random"}


class CustomObjectScope:
    """Make classes and functions known by name while deserializing, as Keras's
    ``CustomObjectScope`` (also ``custom_object_scope``)::

        with rnncore.saving.custom_object_scope({"MyLayer": MyLayer}):
            layer = rnncore.layers.deserialize(config)

    Parameters
    ----------
    *custom_objects : dicts ``{name: class or function}`` (None entries are skipped).
    """

    def __init__(self, *custom_objects):
        self.custom_objects = {}
        for objects in custom_objects:
            if objects is None:
                continue
            if not isinstance(objects, dict):
                raise TypeError("custom_object_scope takes dicts of {name: class or "
                                f"function}}; received {objects!r}")
            self.custom_objects.update(objects)
        self._stack = None

    def __enter__(self):
        from .layers._registry import custom_object_scope as layer_scope

        self._stack = contextlib.ExitStack()
        self._stack.enter_context(layer_scope(self.custom_objects))
        _active().append(self.custom_objects)
        return self

    def __exit__(self, *exc):
        _active().pop()
        self._stack.close()


custom_object_scope = CustomObjectScope


def _active():
    if not hasattr(_scopes, "stack"):
        _scopes.stack = []
    return _scopes.stack


def scope_objects():
    """The objects of the active scopes, the innermost winning."""
    merged = {}
    for objects in _active():
        merged.update(objects)
    return merged


def with_custom_objects(from_config):
    """Give a ``from_config(cls, config)`` Keras's ``custom_objects=`` argument: the config
    is read inside a :class:`CustomObjectScope` of them."""
    @functools.wraps(from_config)
    def wrapper(cls, config, custom_objects=None):
        with CustomObjectScope(custom_objects):
            return from_config(cls, config)
    return wrapper


# ---- serializing --------------------------------------------------------------------------
def _keras_module(obj_or_cls):
    cls = obj_or_cls if isinstance(obj_or_cls, type) else type(obj_or_cls)
    parts = cls.__module__.split(".")
    if parts[0] == "rnncore":
        if parts[1:3] == ["optimizers", "schedules"]:
            return "keras.optimizers.schedules"
        for part in parts[1:]:
            if part in _KERAS_MODULES:
                return _KERAS_MODULES[part]
        return "keras"
    return None if cls.__module__ == "__main__" else cls.__module__


def _registered_name(obj):
    # the class's own registration, not one inherited from a registered base class
    own = obj.__dict__.get("_registered_name") if isinstance(obj, type) else getattr(
        obj, "_registered_name", None)
    return own or getattr(obj, "__name__", type(obj).__name__)


def serialize_keras_object(obj):
    """``obj`` as Keras's serialized form (see the module notes); plain Python values pass
    through, lists and dicts are serialized item by item."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (np.generic,)):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return {"class_name": "__numpy__",
                "config": {"value": obj.tolist(), "dtype": obj.dtype.name}}
    if isinstance(obj, (list, tuple)):
        items = [serialize_keras_object(x) for x in obj]
        return items if isinstance(obj, list) else tuple(items)
    if isinstance(obj, dict):
        return {k: serialize_keras_object(v) for k, v in obj.items()}
    if isinstance(obj, type):
        return {"module": _keras_module(obj), "class_name": obj.__name__, "config": None,
                "registered_name": _registered_name(obj) if _keras_module(obj) else None}
    if callable(obj) and hasattr(obj, "__name__") and not hasattr(obj, "get_config"):
        # Keras writes its own functions (activations, losses, metrics) this way
        own = str(getattr(obj, "__module__", "")).split(".")[0] in ("rnncore", "keras")
        return {"module": "builtins" if own else getattr(obj, "__module__", None),
                "class_name": "function", "config": obj.__name__,
                "registered_name": "function" if own else _registered_name(obj)}
    if not hasattr(obj, "get_config"):
        raise TypeError(f"Cannot serialize {obj!r}: it has no get_config() method.")
    module = _keras_module(obj)
    own = module is not None and module.startswith("keras")
    config = serialize_keras_object(obj.get_config())
    return {"module": module, "class_name": type(obj).__name__, "config": config,
            "registered_name": None if own else _registered_name(type(obj))}


# ---- deserializing ------------------------------------------------------------------------
def _module_objects(module):
    """rnncore's classes and functions for Keras's ``module`` (all of them for None)."""
    from . import activations, constraints, initializers, layers, losses, metrics, models
    from . import optimizers, regularizers

    by_module = {"layers": layers, "losses": losses, "optimizers": optimizers,
                 "metrics": metrics, "initializers": initializers,
                 "regularizers": regularizers, "constraints": constraints,
                 "activations": activations, "models": models}
    names = [m for m in by_module if module and f".{m}" in "." + module.replace("src.", "")]
    chosen = [by_module[m] for m in names] or list(by_module.values())
    table = {}
    for mod in reversed(chosen):
        for name in getattr(mod, "__all__", dir(mod)):
            obj = getattr(mod, name, None)
            if obj is not None and callable(obj):
                table[name] = obj
    if "optimizers" in names:  # and keras.optimizers.schedules' classes
        for name in optimizers.schedules.__all__:
            obj = getattr(optimizers.schedules, name)
            if isinstance(obj, type):
                table.setdefault(name, obj)
    if "optimizers" in names:  # Keras matches optimizer names case-insensitively
        table.update({k.lower(): v for k, v in list(table.items()) if isinstance(v, type)})
    table["Model"] = models.Model
    table["Functional"] = models.Functional
    return table


def _lookup(name, registered, custom_objects, module):
    from .utils._registration import get_custom_objects

    for table in (custom_objects or {}, scope_objects(), get_custom_objects()):
        for key in (registered, name):
            if key and key in table:
                return table[key]
    objects = _module_objects(module)
    found = objects.get(name)
    if found is None and module and "optimizers" in module:
        found = objects.get(str(name).lower())
    return found


def deserialize_keras_object(config, custom_objects=None, safe_mode=True, **kwargs):
    """Inverse of :func:`serialize_keras_object`: the object (a new instance, from its
    class's ``from_config``) for a serialized dict.

    Parameters
    ----------
    config : dict, list, or a plain value (returned as it is).
    custom_objects : dict ``{name: class or function}``, optional.
    safe_mode : bool. Accepted for Keras's signature; rnncore never rebuilds code (a lambda)
        from a config.
    """
    if config is None or isinstance(config, (bool, int, float, str)):
        return config
    if isinstance(config, (list, tuple)):
        items = [deserialize_keras_object(c, custom_objects, safe_mode) for c in config]
        return items if isinstance(config, list) else tuple(items)
    if not isinstance(config, dict):
        raise TypeError(f"Could not parse config: {config!r}")
    if "class_name" not in config or "config" not in config:
        return {k: deserialize_keras_object(v, custom_objects, safe_mode)
                for k, v in config.items()}
    name, inner = config["class_name"], config["config"]
    if name == "__numpy__":
        return np.array(inner["value"], dtype=inner["dtype"])
    if name == "__tuple__":
        return tuple(deserialize_keras_object(v, custom_objects, safe_mode)
                     for v in inner["value"])
    registered, module = config.get("registered_name"), config.get("module")
    if name == "function":
        fn = _lookup(inner, registered if registered != "function" else None, custom_objects,
                     module if module != "builtins" else None)
        if fn is None:
            raise TypeError(f"Could not locate function {inner!r}. Make sure custom functions "
                            "are registered with @register_keras_serializable() or passed in "
                            f"custom_objects. Full object config: {config}")
        return fn
    cls = _lookup(name, registered, custom_objects, module)
    if cls is None:
        raise TypeError(f"Could not locate class {name!r}. Make sure custom classes are "
                        "decorated with @register_keras_serializable() or passed in "
                        f"custom_objects. Full object config: {config}")
    if inner is None:  # a class, not an instance
        return cls
    with CustomObjectScope(custom_objects):
        # nested objects (a layer's initializers, an RNN's cell) are rebuilt by the class's
        # from_config, inside the scope, so custom ones resolve too
        if isinstance(inner, dict):
            # a dict Keras wrote: dtype policies as names, tuples as lists, the options of
            # newer Keras releases that are unset dropped, as model_from_json reads them
            from .models._cloning import _from_keras
            from .models._keras_reading import plain

            inner = plain(_from_keras({"class_name": name, "config": inner})["config"])
        obj = cls.from_config(inner)
    shape = (config.get("build_config") or {}).get("input_shape")
    if shape is not None and getattr(obj, "built", True) is False and hasattr(obj, "build"):
        obj.build(tuple(shape))
    return obj
