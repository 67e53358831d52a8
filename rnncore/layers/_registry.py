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


def _classes():
    from . import __all__ as names
    from .. import layers

    return {n: getattr(layers, n) for n in names
            if isinstance(getattr(layers, n), type)}


def serialize(layer):
    # a class standing in for a Keras one (RNN over a user-defined cell) writes Keras's name
    name = getattr(type(layer), "_keras_class_name", None) or type(layer).__name__
    return {"class_name": name, "config": layer.get_config()}


def deserialize(config):
    """Rebuild a layer from ``{"class_name": ..., "config": {...}}``."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"layer config must be a dict with 'class_name', got {config!r}")
    cls = _classes().get(config["class_name"]) or custom_classes().get(config["class_name"])
    if cls is None and config["class_name"] in ("Functional", "Sequential", "Model"):
        from .. import models  # a model used as a layer of another

        cls = getattr(models, "Functional" if config["class_name"] == "Model" else
                      config["class_name"], None)
    if cls is None:
        raise ValueError(f"unknown layer class {config['class_name']!r}; rnncore can rebuild "
                         f"{sorted(_classes())}")
    return cls.from_config(dict(config.get("config", {})))
