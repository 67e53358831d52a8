"""The demo's data sets, as arrays ready for all three engines.

- ``synthetic``: :mod:`rnncore.datasets.synthetic_reviews` with ``num_words=500``, padded to
  100 steps: IMDB's shapes and encoding, generated (not real text), no download.
- ``imdb``: Keras's real ``imdb.npz`` through :mod:`rnncore.datasets.imdb` (read from Keras's
  cache; never downloaded), ``num_words=500``, padded to 100 steps, as in seed 001.
- ``digits``: scikit-learn's 8x8 digits, each image 8 steps of 8 pixel rows, 10 classes.

Reviews: training samples are the first ``samples`` of the training split, validation
samples the first ``samples // 4`` (at least 64) of the test split: seed 001's 80/20 ratio.
"""
import dataclasses

import numpy as np

DATASETS = ("synthetic", "digits", "imdb")
NUM_WORDS = 500
MAXLEN = 100
IMDB_TRAIN = 25000
DIGITS_TRAIN = 1437  # rnncore.datasets.digits.load_data() with test_split=0.2


class DataError(Exception):
    """The data set cannot be loaded (missing file, missing package); the message says why."""


@dataclasses.dataclass
class DemoData:
    name: str
    description: str
    synthetic: bool
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    timesteps: int
    vocab: int | None
    features: int | None
    classes: int

    def arrays(self):
        return {"x_train": self.x_train, "y_train": self.y_train, "x_val": self.x_val,
                "y_val": self.y_val}


def max_samples(name):
    """Most training samples a data set has (None: any number)."""
    return {"synthetic": None, "imdb": IMDB_TRAIN, "digits": DIGITS_TRAIN}[name]


def _val_count(samples):
    return max(samples // 4, 64)


def _reviews(name, samples):
    from ..preprocessing.sequence import pad_sequences

    n_val = _val_count(samples)
    if name == "synthetic":
        from ..datasets import synthetic_reviews

        (x, y), (xv, yv) = synthetic_reviews.load_data(num_words=NUM_WORDS, num_train=samples,
                                                       num_test=n_val)
        description = (f"synthetic reviews from rnncore.datasets.synthetic_reviews, "
                       f"num_words={NUM_WORDS}, padded to {MAXLEN} steps: GENERATED in IMDB's "
                       f"format, not real reviews, so the accuracies say nothing about IMDB "
                       f"(--dataset imdb reads Keras's real imdb.npz)")
    else:
        from ..datasets import imdb

        try:
            (x, y), (xv, yv) = imdb.load_data(num_words=NUM_WORDS)
        except (FileNotFoundError, ValueError) as exc:
            raise DataError(f"--dataset imdb: {exc}") from exc
        x, y, xv, yv = x[:samples], y[:samples], xv[:n_val], yv[:n_val]
        description = (f"IMDB movie reviews (Keras's imdb.npz, real data), "
                       f"num_words={NUM_WORDS}, padded to {MAXLEN} steps")
    return DemoData(
        name=name, description=description, synthetic=name == "synthetic",
        x_train=pad_sequences(x, maxlen=MAXLEN), y_train=np.asarray(y, dtype=np.float32),
        x_val=pad_sequences(xv, maxlen=MAXLEN), y_val=np.asarray(yv, dtype=np.float32),
        timesteps=MAXLEN, vocab=NUM_WORDS, features=None, classes=2)


def _digits(samples):
    from ..datasets import digits

    try:
        (x, y), (xv, yv) = digits.load_data()
    except ImportError as exc:
        raise DataError(f"--dataset digits: {exc}") from exc
    return DemoData(
        name="digits", synthetic=False,
        description=("scikit-learn's handwritten digits (real data): 8x8 images read as "
                     "8 steps of 8 pixel rows, 10 classes"),
        x_train=x[:samples], y_train=y[:samples], x_val=xv, y_val=yv, timesteps=8,
        vocab=None, features=8, classes=10)


def load(name, samples):
    """The data set ``name`` with ``samples`` training samples."""
    if name == "digits":
        return _digits(samples)
    if name in ("synthetic", "imdb"):
        return _reviews(name, samples)
    raise ValueError(f"unknown data set {name!r}; expected one of {DATASETS}")
