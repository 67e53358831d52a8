"""What rnncore's small configurable objects share (regularizers, constraints): a Keras-style
config, and lookup from the identifiers Keras accepts (None, a name, a config dict, a class,
an instance)."""


class Configurable:
    """``get_config`` / ``from_config`` / ``repr`` from the constructor's keyword arguments."""

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def serialize(obj):
    """``{"class_name": ..., "config": ...}``, or None for None."""
    if obj is None:
        return None
    return {"class_name": type(obj).__name__, "config": obj.get_config()}


def deserialize(config, classes, kind):
    cls = classes.get(config.get("class_name"))
    if cls is None:
        raise ValueError(f"{kind}: unknown class_name {config.get('class_name')!r}; expected "
                         f"one of {sorted(classes)}")
    return cls.from_config(config.get("config", {}))


NOT_RESOLVED = object()


def resolve(identifier, base, classes, names, kind, argument):
    """The object for `identifier`, or NOT_RESOLVED for anything but None, an instance of
    `base`, a config dict, a name in `names` or a subclass of `base`."""
    if identifier is None or isinstance(identifier, base):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier, classes, kind)
    if isinstance(identifier, str):
        cls = names.get(identifier)
        if cls is None:
            raise ValueError(f"{argument}: could not interpret {kind} identifier "
                             f"{identifier!r}; expected one of {sorted(names)}, a config dict "
                             f"or a {base.__name__}")
        return cls()
    if isinstance(identifier, type) and issubclass(identifier, base):
        return identifier()
    return NOT_RESOLVED
