"""Keras's ``keras.random``: seeded random draws (see :mod:`._draws` for the seeding rules)."""
from ._draws import (beta, binomial, categorical, dropout, gamma, normal, randint, shuffle,
                     truncated_normal, uniform)
from ._seed_generator import SeedGenerator

__all__ = ["SeedGenerator", "beta", "binomial", "categorical", "dropout", "gamma", "normal",
           "randint", "shuffle", "truncated_normal", "uniform"]
