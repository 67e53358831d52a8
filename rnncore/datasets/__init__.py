"""Data sets with Keras's loaders' conventions (``keras.datasets``); nothing is downloaded.

- `imdb`: Keras's IMDB reviews, read from Keras's cache or a given path.
- `synthetic_reviews`: a generated, IMDB-shaped stand-in (not real data).
- `digits`: scikit-learn's 8x8 handwritten digits as 8-step sequences.
"""
from . import digits, imdb, synthetic_reviews

__all__ = ["digits", "imdb", "synthetic_reviews"]
