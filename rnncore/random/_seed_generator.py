"""Keras's ``keras.random.SeedGenerator``: a seed whose state advances at each draw."""
import numpy as np

from .. import _random
from .._variable import Variable


def _auto_name(cls):
    import re

    return re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()


class SeedGenerator:
    """The state behind a stream of random draws, as Keras's ``SeedGenerator``.

    Its ``state`` is a non-trainable variable ``[seed, counter]``; every draw that takes the
    generator as ``seed=`` uses the state as it is and then advances the counter, so repeated
    calls give new numbers while two generators made with the same seed give the same
    sequence. Give a layer its own generator (``self.seed_generator = SeedGenerator(1337)``)
    and pass it to the ``rnncore.random`` functions it calls.

    Parameters
    ----------
    seed : int, optional. None: a seed drawn from rnncore's generator (reproducible after
        ``keras.utils.set_random_seed``).
    name : str, optional.

    Example
    -------
    >>> gen = SeedGenerator(42)
    >>> a = rnncore.random.normal((2, 3), seed=gen)   # (2, 3) float32
    >>> b = rnncore.random.normal((2, 3), seed=gen)   # different numbers, same stream
    """

    def __init__(self, seed=None, name=None, **kwargs):
        kwargs.pop("backend", None)
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments: {kwargs}")
        self.name = name or _auto_name(type(self))
        self._initial_seed = seed
        if seed is None:
            seed = int(_random.generator().integers(1, 10**9))
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
            raise ValueError(f"Argument `seed` must be an integer. Received: seed={seed!r}")
        self.state = Variable(np.array([int(seed) % 2**32, 0], np.uint32),
                              name="seed_generator_state", trainable=False,
                              path=f"{self.name}/seed_generator_state")

    def next(self, ordered=True):
        """The current state (a copy), then advance it."""
        current = self.state.value.copy()
        if ordered:
            self.state.value[1] += np.uint32(1)
        else:
            self.state.assign((current.astype(np.uint64) + 1) * 5387 % 933199)
        return current

    def get_config(self):
        return {"seed": self._initial_seed, "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def draw_generator(seed):
    """The NumPy Generator for one draw: a SeedGenerator's next state, an int's own fixed
    stream (the same numbers each call, and the first draw of ``SeedGenerator(seed)``), or
    rnncore's shared generator for None."""
    if isinstance(seed, SeedGenerator):
        return np.random.default_rng([int(s) for s in seed.next()])
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return np.random.default_rng([int(seed) % 2**32, 0])
    if seed is None:
        return _random.generator()
    raise ValueError("Argument `seed` must be either an integer or an instance of "
                     f"`SeedGenerator`. Received: seed={seed!r} (of type {type(seed)})")
