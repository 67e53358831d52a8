"""Keras's ``keras.utils.Config``: a dict of settings read and written as attributes."""
import difflib
import json


class Config:
    """Settings as attributes (``config.learning_rate``) or items (``config["epochs"]``),
    which :meth:`freeze` makes read-only.

    >>> config = Config(learning_rate=0.1)
    >>> config.epochs = 3
    >>> config.as_dict()
    {'learning_rate': 0.1, 'epochs': 3}
    """

    _OWN = ("_config", "_frozen")

    def __init__(self, **kwargs):
        object.__setattr__(self, "_config", dict(kwargs))
        object.__setattr__(self, "_frozen", False)

    @property
    def frozen(self):
        return self._frozen

    def freeze(self):
        """Refuse every change from now on (until :meth:`unfreeze`)."""
        object.__setattr__(self, "_frozen", True)

    def unfreeze(self):
        object.__setattr__(self, "_frozen", False)

    def _check_unfrozen(self):
        if self._frozen:
            raise ValueError("Cannot mutate attribute(s) because the config is frozen.")

    def as_dict(self):
        return dict(self._config)

    def to_json(self):
        return json.dumps(self._config)

    def keys(self):
        return self._config.keys()

    def values(self):
        return self._config.values()

    def items(self):
        return self._config.items()

    def get(self, keyname, value=None):
        return self._config.get(keyname, value)

    def pop(self, *args):
        self._check_unfrozen()
        return self._config.pop(*args)

    def update(self, *args, **kwargs):
        self._check_unfrozen()
        return self._config.update(*args, **kwargs)

    def __getattr__(self, name):
        # only called for names that are not the class's own: the settings
        config = self.__dict__.get("_config", {})
        if name in config:
            return config[name]
        message = f"Unknown attribute: '{name}'."
        close = difflib.get_close_matches(name, config.keys(), n=1, cutoff=0.7)
        if close:
            message += f" Did you mean '{close[0]}'?"
        raise AttributeError(message)

    def __setattr__(self, name, value):
        if name in self._OWN or hasattr(type(self), name):
            object.__setattr__(self, name, value)
            return
        self._check_unfrozen()
        self._config[name] = value

    def __getitem__(self, key):
        return self._config[key]

    def __setitem__(self, key, value):
        self._check_unfrozen()
        self._config[key] = value

    def __delitem__(self, key):
        self._check_unfrozen()
        del self._config[key]

    def __contains__(self, key):
        return key in self._config

    def __iter__(self):  # Keras iterates the keys sorted
        return iter(sorted(self._config))

    def __len__(self):
        return len(self._config)

    def __repr__(self):
        return f"<Config {self._config}>"
