"""Model-level speed: one training step and one predict call, per engine.

The models of ``python -m rnncore bench`` (the seeds' models, ``rnncore._cli.bench.MODELS``)
built by ``rnncore._cli._engines`` for each engine; ids name the engine (``rnncore``,
``keras`` for Keras on TensorFlow, ``jax`` for Keras on JAX, ``torch``) so that
``--benchmark-group-by=param:case`` puts them side by side::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \\
        .venv/bin/python -m pytest benchmarks/test_bench_models.py --benchmark-group-by=param:case

Keras's backend is chosen once per process, by ``KERAS_BACKEND`` (default tensorflow here):
run the file again with ``KERAS_BACKEND=jax`` for the ``jax`` rows. All engines share this one
process, so this suite is for tracking each engine's speed over time; ``python -m rnncore
bench`` gives the cross-engine numbers (one process each). A missing engine is skipped.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import pytest

from rnncore._cli._engines import KERAS_BACKENDS, ModelSpec, make_engine, missing
from rnncore._cli._worker import bench_data
from rnncore._cli.bench import BATCH, MODELS

#: the Keras engine this process can run: Keras on the backend KERAS_BACKEND names
KERAS = {backend: engine for engine, backend in KERAS_BACKENDS.items()}.get(
    os.environ["KERAS_BACKEND"], "keras")
ENGINES = ("rnncore", KERAS, "torch")


@pytest.fixture(scope="module", params=list(MODELS))
def case(request):
    return request.param


@pytest.fixture(params=ENGINES)
def engine(request, case):
    if missing(request.param):
        pytest.skip(missing(request.param))
    return make_engine(request.param, ModelSpec(**MODELS[case]))


def test_train_step(benchmark, engine, case):
    """One optimizer step (forward, backward, update) on a batch of 64."""
    x, y = engine.prepare(*bench_data(engine.spec, BATCH, 1, seed=0))
    for _ in range(3):  # Keras traces and compiles its train step here
        engine.train_batch(x, y)
    benchmark.extra_info["samples_per_call"] = BATCH
    benchmark(engine.train_batch, x, y)


def test_predict(benchmark, engine, case):
    """``predict`` over 8 batches of 64."""
    x = engine.prepare(bench_data(engine.spec, BATCH, 8, seed=1)[0])
    engine.predict(x, BATCH)
    benchmark.extra_info["samples_per_call"] = 8 * BATCH
    benchmark(engine.predict, x, BATCH)
