"""Layer (de)serialisation by class name: only rnncore's own layer classes can be rebuilt."""


def _classes():
    from . import __all__ as names
    from .. import layers

    return {n: getattr(layers, n) for n in names
            if isinstance(getattr(layers, n), type)}


def serialize(layer):
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def deserialize(config):
    """Rebuild a layer from ``{"class_name": ..., "config": {...}}``."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"layer config must be a dict with 'class_name', got {config!r}")
    cls = _classes().get(config["class_name"])
    if cls is None and config["class_name"] in ("Functional", "Sequential", "Model"):
        from .. import models  # a model used as a layer of another

        cls = getattr(models, "Functional" if config["class_name"] == "Model" else
                      config["class_name"], None)
    if cls is None:
        raise ValueError(f"unknown layer class {config['class_name']!r}; rnncore can rebuild "
                         f"{sorted(_classes())}")
    return cls.from_config(dict(config.get("config", {})))
