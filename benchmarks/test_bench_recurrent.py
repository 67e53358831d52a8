"""Forward + backward of one recurrent-layer batch (float32, many-to-one), per cell and size.

Cells: SimpleRNN, LSTM, and GRU in both Keras variants (``gru``: ``reset_after=True``, Keras's
default; ``gru_reset_before``). Sizes (B, T, I, H): ``8`` = (64, 100, 16, 8), the tutorials'
LSTM(8); ``32`` = (64, 100, 64, 32), seed 000's SimpleRNN(32) behind Embedding(., 64);
``256`` = (64, 100, 128, 256).

Every engine computes the same thing from the same weights: the last output of the layer and
the gradients of <w, output> w.r.t. kernel, recurrent kernel, bias and input; each engine's
numbers are checked against rnncore's before it is timed.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python -m pytest \
        benchmarks/test_bench_recurrent.py -k "lstm and 256"

Engines (the ids): ``rnncore`` (the layer: compiled kernel, default threads), ``numpy``
(rnncore's NumPy twin), ``keras`` (the Keras layer under tf.GradientTape inside tf.function,
as ``fit`` runs it), ``keras-eager`` (the same tape run eagerly, as a hand-written loop without
tf.function runs it), ``torch`` (torch.nn.RNN/LSTM/GRU; PyTorch's GRU is Keras's
``reset_after=True`` variant only). A missing framework is skipped. The ``threads`` groups run
rnncore's ops with 1 and 2 kernel threads, forced (a small recurrence otherwise runs as one
block). The ``sgemm`` groups time the gemms one forward+backward makes, with the same shapes,
as rnncore issues them through the kernels' BLAS: the throughput reference
(``extra_info["gflop"]`` / time = GFLOP/s).

As a script it prints a side-by-side table (wall and CPU time) for one cell and size and can
write JSON; ``--one-thread`` puts every engine on one thread, so that CPU time measures the
work even on a busy machine:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python -m \
        benchmarks.test_bench_recurrent --cell simple_rnn --size 32 [--one-thread] [--json F]
"""
import os
import time

import numpy as np
import pytest

import rnncore
from rnncore import layers, recurrent
from rnncore._cli._engines import _torch_gate_order
from rnncore.recurrent import _recurrent as R
from rnncore.recurrent._blas_threads import single_threaded_blas

SIZES = {"8": (64, 100, 16, 8), "32": (64, 100, 64, 32), "256": (64, 100, 128, 256)}
#: name -> (ops function prefix, Keras layer name, options, gate blocks)
CELLS = {
    "simple_rnn": ("simple_rnn", "SimpleRNN", {}, 1),
    "lstm": ("lstm", "LSTM", {}, 4),
    "gru": ("gru", "GRU", {"reset_after": True}, 3),
    "gru_reset_before": ("gru", "GRU", {"reset_after": False}, 3),
}
_TORCH = {"simple_rnn": ("RNN", "rnn"), "lstm": ("LSTM", "lstm"), "gru": ("GRU", "gru")}

_PROBLEMS = {}


def problem_for(cell, size):
    """(cell, layer, x, w): a built rnncore layer with a random bias, an input batch and the
    weights of the linear functional whose gradients every engine computes."""
    if (cell, size) not in _PROBLEMS:
        B, T, I, H = SIZES[size]
        _, name, options, _ = CELLS[cell]
        rng = np.random.default_rng(0)
        layer = getattr(layers, name)(H, **options)
        layer.build((B, T, I))
        layer.bias.assign(layer.bias.value
                          + rng.uniform(-0.1, 0.1, layer.bias.shape).astype(np.float32))
        x = rng.standard_normal((B, T, I)).astype(np.float32)
        w = rng.standard_normal((B, H)).astype(np.float32)
        _PROBLEMS[cell, size] = cell, layer, x, w
    return _PROBLEMS[cell, size]


def _rnncore(problem):
    _, layer, x, w = problem

    def step():
        y = layer(x)
        dx = layer.backward(w)
        return y, [v.grad for v in layer.trainable_weights] + [dx]
    return step


def _ops(problem, **options):
    """Forward and backward through ``rnncore.recurrent`` (``engine="numpy"``: the NumPy twin)."""
    cell, layer, x, w = problem
    prefix, _, cell_options, _ = CELLS[cell]
    forward, backward = getattr(ops, f"{prefix}_forward"), getattr(ops, f"{prefix}_backward")
    kernel, recurrent, bias = (v.value for v in layer.weights)

    def step():
        y, _, cache = forward(x, kernel, recurrent, bias, **cell_options, **options)
        g = backward(cache, w)
        return y, [g["kernel"], g["recurrent_kernel"], g["bias"], g["x"]]
    return step


def _keras(problem, compiled=True):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    keras = pytest.importorskip("keras")
    tf = pytest.importorskip("tensorflow")
    if keras.backend.backend() != "tensorflow":
        pytest.skip(f"Keras runs on {keras.backend.backend()} here, not TensorFlow")

    cell, layer, x, w = problem
    _, name, options, _ = CELLS[cell]
    k = getattr(keras.layers, name)(layer.units, **options)
    k.build(x.shape)
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
    cell, layer, x, w = problem
    if cell == "gru_reset_before":
        pytest.skip("torch.nn.GRU has only the reset_after=True variant")
    module, gates = _TORCH[cell]
    kernel, recurrent, bias = (v.value for v in layer.weights)
    order = _torch_gate_order(gates, layer.units)  # Keras's gate blocks -> PyTorch's
    back = np.argsort(order)
    rnn = getattr(torch.nn, module)(x.shape[2], layer.units, batch_first=True)
    bias_ih, bias_hh = (bias[0], bias[1]) if bias.ndim == 2 else (bias, 0 * bias)
    with torch.no_grad():
        for name, value in (("weight_ih_l0", kernel[:, order].T), ("bias_ih_l0", bias_ih[order]),
                            ("weight_hh_l0", recurrent[:, order].T),
                            ("bias_hh_l0", bias_hh[order])):
            getattr(rnn, name).copy_(torch.from_numpy(np.ascontiguousarray(value)))
    xt, wt = torch.from_numpy(x), torch.from_numpy(w)

    def step():
        xg = xt.detach().requires_grad_(True)
        rnn.zero_grad()
        out, _ = rnn(xg)
        y = out[:, -1]
        (y * wt).sum().backward()
        d_bias = rnn.bias_ih_l0.grad.numpy()[back]
        if bias.ndim == 2:
            d_bias = np.stack([d_bias, rnn.bias_hh_l0.grad.numpy()[back]])
        grads = [rnn.weight_ih_l0.grad.T.numpy()[:, back],
                 rnn.weight_hh_l0.grad.T.numpy()[:, back], d_bias, xg.grad.numpy()]
        return y.detach().numpy(), grads
    return step


ENGINES = {"rnncore": _rnncore, "numpy": lambda problem: _ops(problem, engine="numpy"),
           "keras": _keras, "keras-eager": lambda problem: _keras(problem, compiled=False),
           "torch": _torch}


def _check_against_rnncore(problem, y, grads):
    """Benchmark only engines that compute the same numbers."""
    y_ref, g_ref = _rnncore(problem)()
    np.testing.assert_allclose(y, y_ref, atol=1e-4)
    for a, b in zip(grads, g_ref):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3 * np.abs(b).max())


@pytest.mark.parametrize("engine", list(ENGINES), ids=list(ENGINES))
@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("cell", list(CELLS))
def test_forward_backward(benchmark, cell, size, engine):
    problem = problem_for(cell, size)
    step = ENGINES[engine](problem)
    _check_against_rnncore(problem, *step())  # also the warm-up (tf.function tracing)
    benchmark.group = f"{cell} {size} B,T,I,H={SIZES[size]} forward+backward"
    benchmark.extra_info.update(engine=engine, gflop=gemm_flops(cell, size) / 1e9)
    benchmark(step)


@pytest.mark.parametrize("n_threads", [1, 2], ids=["rnncore-1thread", "rnncore-2threads"])
@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("cell", list(CELLS))
def test_threads(benchmark, cell, size, n_threads):
    """The kernels' batch blocks, forced: by default a small recurrence runs as one block."""
    step = _ops(problem_for(cell, size), n_threads=n_threads, workspace=R.Workspace())
    step()
    benchmark.group = f"{cell} {size} rnncore threads"
    benchmark.extra_info["n_threads"] = n_threads
    benchmark(step)


# ---- the throughput reference --------------------------------------------------------------
def _gemm_shapes(cell, size):
    """(m, n, k, count) of every gemm of one forward+backward, as rnncore makes them."""
    B, T, I, H = SIZES[size]
    G = CELLS[cell][3] * H
    if cell == "gru_reset_before":  # z, r from h; then (r*h)·U_h; and the backward of both
        per_step = [(B, 2 * H, H, T), (B, H, H, T), (B, H, H, T), (B, H, 2 * H, T)]
    else:
        per_step = [(B, G, H, T), (B, H, G, T)]  # h·U and dz·Uᵀ, every step
    return per_step + [(T * B, G, I, 1),        # x·W
                       (H, G, T * B, 1),        # dU
                       (I, G, T * B, 1),        # dW
                       (T * B, I, G, 1)]        # dX


def gemm_flops(cell, size):
    return sum(2 * m * n * k * c for m, n, k, c in _gemm_shapes(cell, size))


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("cell", list(CELLS))
def test_sgemm_same_shapes(benchmark, cell, size):
    """The gemms alone (no activations, no Python between them) through the kernels' BLAS, as
    rnncore issues them: SciPy's OpenBLAS at one thread, the per-step products one after
    another, the big ones split over rnncore's threads (``_recurrent.gemm``). Meaningful for
    the large size; for the small ones Python's call overhead per product dominates."""
    rng = np.random.default_rng(0)
    products = []
    for m, n, k, count in _gemm_shapes(cell, size):
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((k, n)).astype(np.float32)
        products.append((a, b, np.empty((m, n), np.float32), count))

    @single_threaded_blas
    def step():
        for a, b, c, count in products:
            for _ in range(count):
                R.gemm(a, b, c, n_threads=1 if count > 1 else None)
    step()
    benchmark.group = f"{cell} {size} sgemm of the same shapes"
    benchmark.extra_info["gflop"] = gemm_flops(cell, size) / 1e9
    benchmark(step)


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

    from rnncore._cli._machine import UNSET_VARS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", choices=list(CELLS), default="simple_rnn")
    parser.add_argument("--size", choices=list(SIZES), default="32")
    parser.add_argument("--one-thread", action="store_true", help="run every engine on 1 thread")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args(argv)
    if args.one_thread:
        _limit_to_one_thread()
    problem = problem_for(args.cell, args.size)
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
    overrides = [v for v in UNSET_VARS if v in os.environ]
    print(f"{args.cell} B,T,I,H={SIZES[args.size]} float32 forward+backward"
          f"{' (one thread each)' if args.one_thread else ''}; OpenBLAS overrides: {overrides}")
    print(f"{'engine':12s} {'wall min':>10s} {'wall median':>12s} {'cpu median':>11s} "
          f"{'median / rnncore':>17s}")
    for name, r in results.items():
        print(f"{name:12s} {r['wall_min_ms']:8.2f}ms {r['wall_median_ms']:10.2f}ms "
              f"{r['cpu_median_ms']:9.2f}ms {r['wall_median_ms'] / ref:16.1f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"cell": args.cell, "shape": dict(zip("BTIH", SIZES[args.size])),
                       "one_thread": args.one_thread, "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
