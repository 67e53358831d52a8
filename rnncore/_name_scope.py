"""Keras's ``keras.name_scope``: a context in which new variables' paths start with the
scope's name (``with name_scope("block"):`` makes a Dense's kernel ``block/dense/kernel``)."""
import threading

_local = threading.local()


def _stack():
    if not hasattr(_local, "names"):
        _local.names = []
    return _local.names


def path_prefix():
    """``"outer/inner/"`` inside nested scopes, ``""`` outside any."""
    return "".join(f"{name}/" for name in _stack())


class name_scope:
    """Context manager: variables made inside it get ``name/`` in front of their path.
    Scopes nest; the scope's ``name`` is as given. Keras's other keyword arguments
    (``caller``, ``deduplicate``, ``override_parent``) are accepted."""

    def __init__(self, name, **kwargs):
        if not isinstance(name, str) or "/" in name:
            raise ValueError("Argument `name` must be a string and cannot contain character "
                             f"`/`. Received: name={name}")
        self.name = name
        self._entered = False

    def __enter__(self):
        _stack().append(self.name)
        self._entered = True
        return self

    def __exit__(self, *exc_info):
        if self._entered:
            _stack().pop()
            self._entered = False
