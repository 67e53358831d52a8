"""Keras's registry of user classes (``keras.saving.register_keras_serializable``).

A Keras program decorates its custom layers, models and losses so that Keras can name them in
a saved file; on rnncore the decorator registers the class the same way (under
``"package>name"``) and returns it unchanged, so such a program runs as written.
"""
_REGISTERED = {}


def register_keras_serializable(package="Custom", name=None):
    """Register the decorated class or function under ``f"{package}>{name}"`` (``name``
    defaults to its ``__name__``)."""
    def decorator(obj):
        key = f"{package}>{name or obj.__name__}"
        if "get_config" not in dir(obj) and isinstance(obj, type):
            raise ValueError(f"Cannot register a class that does not have a get_config() "
                             f"method: {obj!r}")
        _REGISTERED[key] = obj
        obj._registered_name = key
        return obj
    return decorator


def get_custom_objects():
    """The registered objects by name (Keras's ``get_custom_objects``)."""
    return _REGISTERED


def get_registered_name(obj):
    """The name `obj` is registered under, else its ``__name__`` (a subclass of a registered
    class is not registered by that, as in Keras)."""
    owned = vars(obj).get("_registered_name") if isinstance(obj, type) else \
        getattr(obj, "_registered_name", None)
    return owned or getattr(obj, "__name__", type(obj).__name__)


def get_registered_object(name, custom_objects=None, module_objects=None):
    """The object registered under `name`, looked up in `custom_objects`, the objects of a
    ``custom_object_scope`` in force, the registry, then `module_objects`; None if none."""
    from ..layers._registry import custom_classes

    for table in (custom_objects or {}, custom_classes(), _REGISTERED, module_objects or {}):
        if name in table:
            return table[name]
    return None
