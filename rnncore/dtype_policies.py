"""Keras's ``keras.dtype_policies``: the dtype policy classes and their ``get`` /
``serialize`` / ``deserialize``. The policies themselves live in ``rnncore.mixed_precision``
(see there for what rnncore runs: float32 and float64; the mixed policies in float32)."""
from .mixed_precision import DTypePolicy

__all__ = ["DTypePolicy", "FloatDTypePolicy", "get", "serialize", "deserialize"]


class FloatDTypePolicy(DTypePolicy):
    """Keras's other name for :class:`DTypePolicy` (a subclass with nothing added)."""


def serialize(dtype_policy):
    """Keras's config dict of a policy: ``{'module': 'keras', 'class_name': 'DTypePolicy',
    'config': {'name': ...}, 'registered_name': None}``."""
    if not isinstance(dtype_policy, DTypePolicy):
        raise TypeError(f"serialize: dtype_policy must be a DTypePolicy. Received: "
                        f"dtype_policy={dtype_policy!r}")
    return {"module": "keras", "class_name": type(dtype_policy).__name__,
            "config": dtype_policy.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """The policy of a config made by :func:`serialize`."""
    if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
        raise ValueError(f"deserialize: config must be a dict made by serialize(), such as "
                         f"{{'class_name': 'DTypePolicy', 'config': {{'name': 'float32'}}}}. "
                         f"Received: config={config!r}")
    classes = {"DTypePolicy": DTypePolicy, "FloatDTypePolicy": FloatDTypePolicy,
               **(custom_objects or {})}
    name = config.get("class_name")
    if name not in classes:
        raise ValueError(f"deserialize: unknown dtype policy class {name!r}; rnncore has "
                         f"{sorted(classes)}")
    return classes[name].from_config(config["config"])


def get(identifier):
    """A policy from a policy, its name (``'float32'``, ``'mixed_float16'``) or its config."""
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        return DTypePolicy(identifier)
    raise ValueError("Cannot interpret `dtype` argument. Expected a string or an instance of "
                     f"DTypePolicy. Received: dtype={identifier!r}")
