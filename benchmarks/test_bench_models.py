"""Model-level speed: one training step and one predict call, per engine.

The seeds' models (see ``rnncore/_cli/bench.py`` for the matrix) built by
``rnncore._cli._engines`` for each engine; ids name the engine (``rnncore``, ``keras``,
``torch``) so that ``--benchmark-group-by=param:case`` puts the three side by side::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \\
        .venv/bin/python -m pytest benchmarks/test_bench_models.py --benchmark-group-by=param:case

All engines share this one process here, so this suite is for tracking each engine's speed
over time; ``python -m rnncore bench`` gives the cross-engine numbers (one process each).
A missing engine (TensorFlow, PyTorch) is skipped.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np
import pytest

from rnncore._cli._engines import ModelSpec, make_engine

BATCH = 64
CASES = {
    # seed 001: Embedding(500, 16) -> LSTM(8) / GRU(8) -> Dense(1, sigmoid)
    "lstm-8": ModelSpec(cell="lstm", units=8),
    "gru-8": ModelSpec(cell="gru", units=8),
    # seed 000: Embedding(10000, 64) -> SimpleRNN(32)
    "rnn-32": ModelSpec(cell="rnn", units=32, vocab=10000, embed_dim=64),
    # seed 004: LSTM(64)
    "lstm-64": ModelSpec(cell="lstm", units=64, vocab=10000, embed_dim=64),
    # large: 2 x LSTM(256) on 128 features
    "lstm-large": ModelSpec(cell="lstm", units=256, layers=2, vocab=None, embed_dim=None,
                            features=128),
}
ENGINES = ("rnncore", "keras", "torch")
_MODULES = {"keras": "keras", "torch": "torch"}


def _data(spec, n):
    rng = np.random.default_rng(0)
    if spec.vocab:
        x = rng.integers(1, spec.vocab, size=(n, spec.timesteps)).astype(np.int32)
    else:
        x = rng.standard_normal((n, spec.timesteps, spec.features)).astype(np.float32)
    return x, rng.integers(0, 2, size=(n, 1)).astype(np.float32)


@pytest.fixture(scope="module", params=list(CASES))
def case(request):
    return request.param


@pytest.fixture(params=ENGINES)
def engine(request, case):
    if request.param in _MODULES:
        pytest.importorskip(_MODULES[request.param])
    return make_engine(request.param, CASES[case])


def test_train_step(benchmark, engine, case):
    """One optimizer step (forward, backward, RMSprop update) on a batch of 64."""
    x, y = engine.prepare(*_data(CASES[case], BATCH))
    for _ in range(3):  # Keras traces and compiles its train step here
        engine.train_batch(x, y)
    benchmark.extra_info["samples_per_call"] = BATCH
    benchmark(engine.train_batch, x, y)


def test_predict(benchmark, engine, case):
    """``predict`` over 8 batches of 64."""
    x = engine.prepare(_data(CASES[case], 8 * BATCH)[0])
    engine.predict(x, BATCH)
    benchmark.extra_info["samples_per_call"] = 8 * BATCH
    benchmark(engine.predict, x, BATCH)
