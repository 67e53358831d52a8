"""Keras 3's automatic config of a user's layer or model class.

A class written by a user that does not override ``get_config`` still saves in Keras 3: when
an instance is made, the arguments its ``__init__`` was called with are kept (defaults filled
in), and ``get_config`` returns them -- provided every one is a plain value (str, int, float,
bool, None, or lists/tuples/dicts of them), which ``cls(**config)`` can give back. Otherwise
``get_config`` raises ``NotImplementedError`` saying to write one (Keras's
``Operation.__new__``/``get_config``). rnncore keeps the arguments for classes outside rnncore
only: its own layers all write their config.

(Two departures, both so that the file rebuilds what was saved: the Layer's own keys
(``trainable``, ``dtype``) are written only where ``__init__`` takes them back; and for a
``Model`` subclass, where Keras 3.15 loses the arguments on the way through ``Model.__new__``
and records the ``__init__`` defaults instead, rnncore records the arguments given. A file
rnncore writes loads in Keras either way.)
"""
import inspect
import textwrap

_PLAIN = (str, int, float, bool, type(None))
# why no config could be kept (the message get_config gives)
POSITIONAL, NOT_PLAIN = "positional", "not-plain"


def _plain(value):
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return isinstance(value, _PLAIN)


def capture(cls, args, kwargs):
    """The config an instance of `cls` made with ``cls(*args, **kwargs)`` gets: a dict of its
    ``__init__`` arguments (``name`` left out, ``get_config`` adds it), or POSITIONAL /
    NOT_PLAIN when they cannot be one."""
    try:
        signature = inspect.signature(cls.__init__)
        bound = signature.bind(None, *args, **kwargs)
    except (TypeError, ValueError):
        return NOT_PLAIN
    params = list(signature.parameters.values())
    if any(p.kind is p.POSITIONAL_ONLY for p in params[1:]):
        return POSITIONAL
    bound.apply_defaults()
    arguments = dict(bound.arguments)
    arguments.pop(params[0].name)
    config = {}
    for p in params[1:]:
        if p.name not in arguments:
            continue
        if p.kind is p.VAR_POSITIONAL:
            if arguments[p.name]:
                return POSITIONAL
        elif p.kind is p.VAR_KEYWORD:
            config.update(arguments[p.name])
        else:
            config[p.name] = arguments[p.name]
    config.pop("name", None)
    return config if _plain(config) else NOT_PLAIN


def _takes(obj, key):
    """Whether ``__init__`` can be given `key` back (by name or through ``**kwargs``)."""
    params = inspect.signature(obj.__init__).parameters.values()
    return any(p.name == key or p.kind is p.VAR_KEYWORD for p in params)


_EXAMPLE = """
    class CustomLayer(keras.layers.Layer):
        def __init__(self, arg1, arg2, **kwargs):
            super().__init__(**kwargs)
            self.arg1 = arg1
            self.arg2 = arg2

        def get_config(self):
            config = super().get_config()
            config.update({"arg1": self.arg1, "arg2": self.arg2})
            return config"""


def apply(obj, base, captured):
    """`base` (the Layer's own config) completed with the captured arguments, as Keras's
    default ``get_config`` returns it; NotImplementedError with Keras's advice when there are
    none to use."""
    name = type(obj).__name__
    if captured == POSITIONAL:
        raise NotImplementedError(
            f"Object {name} was created by passing positional only or variadic positional "
            "arguments (e.g., `*args`) to `__init__()`, which is not supported by the "
            "automatic config generation. Please remove all positional only and variadic "
            "arguments from `__init__()` or override `get_config()` and `from_config()` to "
            "make the object serializable.\n\nExample:\n"
            + textwrap.dedent(_EXAMPLE))
    if not isinstance(captured, dict):
        raise NotImplementedError(
            f"Object {name} was created by passing non-serializable argument values in "
            "`__init__()`, and therefore the object must override `get_config()` in order "
            "to be serializable. Please implement `get_config()`.\n\nExample:\n"
            + textwrap.dedent(_EXAMPLE))
    # the Layer's own keys (name, trainable, dtype) only where __init__ takes them back: Keras
    # writes trainable and dtype always, and then cannot rebuild a class whose __init__ takes
    # neither
    config = {"name": base["name"]} if _takes(obj, "name") else {}
    config.update(captured)
    config.update({k: v for k, v in base.items() if k != "name" and _takes(obj, k)})
    return config
