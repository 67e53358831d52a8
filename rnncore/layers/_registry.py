"""Layer (de)serialisation by class name: rnncore's own layer classes, and the classes a caller
hands ``load_model``/``model_from_json`` as ``custom_objects`` (code of the running program,
never code from a file)."""
import contextlib
import threading

_custom = threading.local()


@contextlib.contextmanager
def custom_object_scope(objects):
    """While loading: layer classes given by name, as Keras's ``custom_objects``."""
    saved = getattr(_custom, "objects", None)
    _custom.objects = {**(saved or {}), **dict(objects or {})}
    try:
        yield
    finally:
        _custom.objects = saved


def custom_classes():
    return {k: v for k, v in (getattr(_custom, "objects", None) or {}).items()
            if isinstance(v, type)}


def _registered_class(config):
    """A class registered with ``register_keras_serializable``: by the config's
    ``registered_name``, else by its class name when one registered class has it (a model's
    config written by rnncore names its layers by class only)."""
    from ..utils._registration import get_custom_objects

    table, name = get_custom_objects(), config["class_name"]
    found = table.get(config.get("registered_name") or name)
    if found is None:
        matches = [obj for key, obj in table.items() if key.split(">")[-1] == name]
        found = matches[0] if len(matches) == 1 else None
    return found if isinstance(found, type) else None


def _classes():
    from . import __all__ as names
    from .. import layers

    return {n: getattr(layers, n) for n in names
            if isinstance(getattr(layers, n), type)}


def serialize(layer):
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def deserialize(config, custom_objects=None):
    """Rebuild a layer from ``{"class_name": ..., "config": {...}}``; ``custom_objects``
    (``{name: class}``) and registered classes resolve names rnncore does not have."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"layer config must be a dict with 'class_name', got {config!r}")
    if custom_objects:
        with custom_object_scope(custom_objects):
            return deserialize(config)
    cls = _classes().get(config["class_name"]) or custom_classes().get(config["class_name"])
    if cls is None:
        cls = _registered_class(config)
    if cls is None and config["class_name"] in ("Functional", "Sequential", "Model"):
        from .. import models  # a model used as a layer of another

        cls = getattr(models, "Functional" if config["class_name"] == "Model" else
                      config["class_name"], None)
    if cls is None:
        raise ValueError(f"unknown layer class {config['class_name']!r}; rnncore can rebuild "
                         f"{sorted(_classes())}")
    return cls.from_config(dict(config.get("config", {})))
