"""Forward + backward of one SimpleRNN batch (B=64, T=100, I=64, H=32, float32, many-to-one).

Every engine computes the same thing from the same weights: the last output of a tanh
SimpleRNN and the gradients of <w, output> w.r.t. kernel, recurrent kernel, bias and input.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python -m pytest \
        benchmarks/test_bench_simple_rnn.py

Engines: ``rnncore`` (compiled kernel, default threads), ``numpy`` (rnncore's NumPy twin),
``keras`` (keras.layers.SimpleRNN under tf.GradientTape inside tf.function, as ``fit`` runs it),
``keras-eager`` (the same tape run eagerly, as a hand-written training loop without
tf.function runs it),
``torch`` (torch.nn.RNN, skipped when torch is not importable). The ``threads`` group runs
rnncore with 1 and 2 kernel threads (``rnncore.set_num_threads``).

As a script it prints a side-by-side table (wall and CPU time) and can write JSON;
``--one-thread`` puts every engine on one thread, so that CPU time measures the work even on a
busy machine:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python -m \
        benchmarks.test_bench_simple_rnn [--one-thread] [--json out.json]
"""
import os
import time

import numpy as np
import pytest

import rnncore
from rnncore import ops
from rnncore.layers import SimpleRNN

B, T, I, H = 64, 100, 64, 32


def make_problem():
    """(layer, x, w): a built rnncore layer with a random bias, an input batch and the
    weights of the linear functional whose gradients every engine computes."""
    rng = np.random.default_rng(0)
    layer = SimpleRNN(H)
    layer.build((B, T, I))
    layer.bias.assign(rng.uniform(-0.1, 0.1, H).astype(np.float32))
    x = rng.standard_normal((B, T, I)).astype(np.float32)
    w = rng.standard_normal((B, H)).astype(np.float32)
    return layer, x, w


@pytest.fixture(scope="module")
def problem():
    return make_problem()


def _rnncore(problem):
    layer, x, w = problem

    def step():
        y = layer(x)
        dx = layer.backward(w)
        return y, [v.grad for v in layer.trainable_weights] + [dx]
    return step


def _numpy(problem):
    layer, x, w = problem
    kernel, recurrent, bias = (v.value for v in layer.weights)

    def step():
        y, _, cache = ops.simple_rnn_forward(x, kernel, recurrent, bias, engine="numpy")
        g = ops.simple_rnn_backward(cache, w)
        return y, [g["kernel"], g["recurrent_kernel"], g["bias"], g["x"]]
    return step


def _keras(problem, compiled=True):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    keras = pytest.importorskip("keras")
    import tensorflow as tf

    layer, x, w = problem
    k = keras.layers.SimpleRNN(H)
    k.build((B, T, I))
    k.set_weights(layer.get_weights())
    xt, wt = tf.constant(x), tf.constant(w)

    def train_step(xt):
        with tf.GradientTape() as tape:
            tape.watch(xt)
            y = k(xt)
            loss = tf.reduce_sum(y * wt)
        return y, tape.gradient(loss, list(k.trainable_weights) + [xt])

    if compiled:
        train_step = tf.function(train_step)

    def step():
        y, grads = train_step(xt)
        return y.numpy(), [g.numpy() for g in grads]
    return step


def _torch(problem):
    torch = pytest.importorskip("torch")
    layer, x, w = problem
    kernel, recurrent, bias = (v.value for v in layer.weights)
    rnn = torch.nn.RNN(I, H, nonlinearity="tanh", batch_first=True)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.from_numpy(kernel.T.copy()))
        rnn.weight_hh_l0.copy_(torch.from_numpy(recurrent.T.copy()))
        rnn.bias_ih_l0.copy_(torch.from_numpy(bias))
        rnn.bias_hh_l0.zero_()
    xt, wt = torch.from_numpy(x), torch.from_numpy(w)

    def step():
        xg = xt.detach().requires_grad_(True)
        rnn.zero_grad()
        out, _ = rnn(xg)
        y = out[:, -1]
        (y * wt).sum().backward()
        grads = [rnn.weight_ih_l0.grad.T, rnn.weight_hh_l0.grad.T, rnn.bias_ih_l0.grad, xg.grad]
        return y.detach().numpy(), [g.numpy() for g in grads]
    return step


ENGINES = {"rnncore": _rnncore, "numpy": _numpy, "keras": _keras,
           "keras-eager": lambda problem: _keras(problem, compiled=False), "torch": _torch}


def _check_against_rnncore(problem, y, grads):
    """Benchmark only engines that compute the same numbers."""
    y_ref, g_ref = _rnncore(problem)()
    np.testing.assert_allclose(y, y_ref, atol=1e-4)
    for a, b in zip(grads, g_ref):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3 * np.abs(b).max())


@pytest.mark.benchmark(group="simple_rnn B=64 T=100 I=64 H=32 forward+backward")
@pytest.mark.parametrize("engine", list(ENGINES), ids=list(ENGINES))
def test_simple_rnn_forward_backward(benchmark, problem, engine):
    step = ENGINES[engine](problem)
    _check_against_rnncore(problem, *step())  # also the warm-up (tf.function tracing)
    benchmark.extra_info["engine"] = engine
    benchmark(step)


@pytest.mark.benchmark(group="simple_rnn B=64 T=100 I=64 H=32 rnncore threads")
@pytest.mark.parametrize("n_threads", [1, 2], ids=["rnncore-1thread", "rnncore-2threads"])
def test_simple_rnn_threads(benchmark, problem, n_threads):
    step = _rnncore(problem)
    before = rnncore._config._state["num_threads"]  # None: the default, all CPUs
    rnncore.set_num_threads(n_threads)
    try:
        step()
        benchmark.extra_info["n_threads"] = n_threads
        benchmark(step)
    finally:
        rnncore.set_num_threads(before)


# ---- side-by-side table (see the module docstring) ------------------------------------------
def _measure(step, rounds):
    wall, cpu = [], []
    for _ in range(rounds):
        w0, c0 = time.perf_counter(), time.process_time()
        step()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return {"wall_min_ms": 1e3 * min(wall), "wall_median_ms": 1e3 * float(np.median(wall)),
            "cpu_median_ms": 1e3 * float(np.median(cpu))}


def _limit_to_one_thread():
    """Every engine on one thread: CPU time then measures work, whatever else the machine runs."""
    rnncore.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(1)
    except ImportError:
        print("threadpoolctl missing: BLAS keeps its threads")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import tensorflow as tf
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except ImportError:
        pass
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        pass


def main(argv=None):
    import argparse
    import json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one-thread", action="store_true", help="run every engine on 1 thread")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args(argv)
    if args.one_thread:
        _limit_to_one_thread()
    problem = make_problem()
    results = {}
    for name, make in ENGINES.items():
        try:
            step = make(problem)
        except pytest.skip.Exception as exc:
            print(f"{name}: skipped ({exc})")
            continue
        _check_against_rnncore(problem, *step())
        slow = name in ("numpy", "keras-eager")
        results[name] = _measure(step, max(3, args.rounds // 10) if slow else args.rounds)
    ref = results["rnncore"]["wall_median_ms"]
    overrides = [v for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if v in os.environ]
    print(f"SimpleRNN B={B} T={T} I={I} H={H} float32 forward+backward"
          f"{' (one thread each)' if args.one_thread else ''}; OpenBLAS overrides: {overrides}")
    print(f"{'engine':10s} {'wall min':>10s} {'wall median':>12s} {'cpu median':>11s} "
          f"{'median / rnncore':>17s}")
    for name, r in results.items():
        print(f"{name:10s} {r['wall_min_ms']:8.2f}ms {r['wall_median_ms']:10.2f}ms "
              f"{r['cpu_median_ms']:9.2f}ms {r['wall_median_ms'] / ref:16.1f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"shape": {"B": B, "T": T, "I": I, "H": H}, "one_thread": args.one_thread,
                       "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
