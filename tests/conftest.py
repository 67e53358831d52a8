"""Fixtures shared by the whole suite. Keep them small and generic."""
import importlib
import os

import numpy as np
import pytest


def _import_keras():
    # TF_CPP_MIN_LOG_LEVEL must be set before TensorFlow is first imported.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    keras = pytest.importorskip("keras")
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    return keras


@pytest.fixture(scope="session")
def keras():
    """Keras 3 on TensorFlow, imported once and only by the tests that ask for it."""
    return _import_keras()


@pytest.fixture(scope="session")
def tf(keras):
    """TensorFlow (imported by the ``keras`` fixture, quietly)."""
    return importlib.import_module("tensorflow")


@pytest.fixture
def rng():
    """A seeded NumPy generator, fresh for every test."""
    return np.random.default_rng(1234)


@pytest.fixture(autouse=True)
def _seeded_rnncore():
    """rnncore's own random draws (initial weights, dropout masks) seeded afresh for every
    test: unseeded, they came from fresh entropy at every run, and a tolerance that held for
    most draws could fail for one (a lookup-vs-gathered comparison after three RMSprop steps
    did, once, by 5e-6 on a Dense bias)."""
    import rnncore

    rnncore.utils.set_random_seed(1234)


@pytest.fixture(autouse=True)
def _seeded_keras(request):
    """Keras's own random draws (initial weights, dropout) seeded afresh for every test that
    uses Keras, so that a Keras-parity test sees the same numbers at every run: its
    tolerance then holds or fails for good, not one run in twenty."""
    if "keras" in request.fixturenames:
        request.getfixturevalue("keras").utils.set_random_seed(1234)
