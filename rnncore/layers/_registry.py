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


def keras_class_name(cls):
    """The name Keras knows `cls` by (in a config, and in a weights file's paths)."""
    # a class standing in for a Keras one (RNN over a user's cell) names it in
    # ``_keras_class_name``
    return getattr(cls, "_keras_class_name", None) or cls.__name__


def user_class_keys(cls):
    """How Keras names a user's class in a config: its ``module`` (None for ``__main__``) and
    the name it is registered under (its class name if it is not); {} for rnncore's own."""
    from ..utils._registration import get_registered_name

    if cls.__module__.startswith("rnncore."):
        return {}
    return {"module": None if cls.__module__ == "__main__" else cls.__module__,
            "registered_name": get_registered_name(cls)}


def serialize(layer):
    keys = user_class_keys(type(layer))
    out = {"class_name": keras_class_name(type(layer)), "config": layer.get_config()}
    return {"module": keys["module"], **out, "registered_name": keys["registered_name"]} \
        if keys else out


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
